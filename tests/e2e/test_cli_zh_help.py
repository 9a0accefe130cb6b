"""`--lang zh` is Chinese in the command line's own words too: every `--help` page and every usage error.

The app is walked at test time (every command and group), so a command added later whose help has no entry in
`tracker/locale/zh/LC_MESSAGES/tracker_cli.po` fails `test_every_message_the_cli_shows_has_a_chinese_entry`, which
prints the entries to add; each page is then rendered in Chinese and must hold no English sentence.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator

import pytest
import typer.main
from tests_support import invoke

from tracker.cli import app
from tracker.cli.i18n import FRAMEWORK, LOCALE_DIR, Catalog, messages, walk, wrap
from tui.msgfmt import compile_mo, parse_po

PO = LOCALE_DIR / "zh" / "LC_MESSAGES" / "tracker_cli.po"
CJK = re.compile("[\u2e80-\u9fff\uff00-\uffef]")
# Three English words in a row is a sentence left in English; command lines in `backticks` and 'quoted' user values
# are kept as they are typed, and the usage line is syntax.
PROSE = re.compile(r"[A-Za-z]{2,}(?:[ ,;]+[A-Za-z]{2,}){2,}")


def _english_prose(output: str) -> list[str]:
    found: list[str] = []
    for line in output.splitlines():
        if line.startswith("用法："):
            continue
        found += PROSE.findall(re.sub(r"`[^`]*`|'[^']*'", "", line))
    return found


def _po_entry(msgid: str, where: str) -> str:
    quoted = msgid.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'#: {where}\nmsgid "{quoted}"\nmsgstr ""\n'


def test_every_message_the_cli_shows_has_a_chinese_entry() -> None:
    translated = parse_po(PO.read_text(encoding="utf-8"))
    shown = messages(typer.main.get_command(app))
    missing = {m: where for m, where in shown.items() if not CJK.search(translated.get(m, ""))}
    entries = "\n".join(_po_entry(m, w) for m, w in missing.items())
    assert not missing, (f"{len(missing)} help texts without Chinese: add these to {PO} (msgstr in Chinese), then "
                         f"run .venv/bin/python -m tui.msgfmt\n\n{entries}")
    for msgid, msgstr in translated.items():
        assert sorted(re.findall(r"\{\w+\}", msgid)) == sorted(re.findall(r"\{\w+\}", msgstr)), \
            f"placeholders differ: {msgid!r} -> {msgstr!r}"
    assert set(FRAMEWORK) <= set(shown)


def test_committed_mo_is_compiled_from_the_po() -> None:
    assert PO.with_suffix(".mo").read_bytes() == compile_mo(parse_po(PO.read_text(encoding="utf-8"))), \
        f"{PO.with_suffix('.mo')} is stale: run .venv/bin/python -m tui.msgfmt"


def _pages() -> Iterator[tuple[tuple[str, ...], str]]:
    """Every help page in Chinese, through the app's own entry (one command tree, re-localised per call as the
    console script does: building a tree per page costs 20 s on CI for the same code path)."""
    root = typer.main.get_command(app)
    for path, _command in walk(root):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = root.main(["--lang", "zh", *path, "--help"], prog_name="tracker", standalone_mode=False)
        assert code == 0, f"tracker --lang zh {' '.join(path)} --help: exit {code}"
        yield path, buffer.getvalue()


def test_every_help_page_is_chinese() -> None:
    catalog = Catalog(parse_po(PO.read_text(encoding="utf-8")))
    english = [m for m in catalog.entries if " " in m and "{" not in m]
    pages = dict(_pages())
    assert len(pages) > 50 and () in pages and ("carrier", "add") in pages
    for path, page in pages.items():
        where = " ".join(("tracker", *path))
        assert page.startswith(f"用法：{where} "), page
        assert "选项：" in page and "显示此帮助并退出。" in page, page
        assert not _english_prose(page), f"{where} --help has English: {_english_prose(page)}\n{page}"
        assert not [m for m in english if m in page], f"{where} --help shows an English help text\n{page}"
        assert "Usage:" not in page and "Options" not in page and "default:" not in page and "required" not in page


def test_help_follows_the_configured_language_and_lang_overrides_it() -> None:
    code, out = invoke("carrier", "add", "--help", TRACKER_LANG="zh")
    assert code == 0 and re.match(r"用法：\S+ carrier add ", out) and "存放位置编号。" in out and "[必填]" in out
    code, out = invoke("--lang", "en", "carrier", "add", "--help", TRACKER_LANG="zh")
    assert code == 0 and re.match(r"Usage: \S+ carrier add ", out) and "Storage place code." in out
    assert "[required]" in out and "Show this message and exit." in out and "存放位置编号" not in out
    code, out = invoke("--lang=zh", "--help")
    assert code == 0 and "涉密载体登记：保管台账、流转、清查、标签。" in out and "命令：" in out
    assert "  checkout          将载体借给某人（借阅）\n" in out  # the commands list: first sentence, aligned


@pytest.mark.parametrize(("argv", "chinese", "english"), [
    (["carrier", "show"], "错误：缺少参数 'code'。", "Error: Missing argument 'code'."),
    (["carrier", "add", "--classification", "secret"], "错误：缺少选项 '--location'。",
     "Error: Missing option '--location'."),
    (["carrier", "show", "--bogus", "x"], "错误：没有此选项：--bogus", "Error: No such option: --bogus"),
    (["carrier", "find", "BJ", "--limit", "many"], "错误：'--limit' 的值无效：应为整数，无法将该字符串识别为整数",
     "Error: Invalid value for '--limit': Input should be a valid integer"),
    (["label", "print", "BJ-000001", "--copies", "0"], "错误：'--copies' 的值无效：应大于或等于 1",
     "Error: Invalid value for '--copies': Input should be greater than or equal to 1"),
    (["carrier", "find", "--limit"], "错误：选项 '--limit' 需要一个值。",
     "Error: Option '--limit' requires an argument."),
    (["status", "extra"], "错误：多余的参数（extra）", "Error: Got unexpected extra argument(s) (extra)"),
    (["stauts"], "错误：没有此命令 'stauts'。您是否要找 'status'？",
     "Error: No such command 'stauts'. Did you mean 'status'?"),
], ids=["missing-argument", "missing-option", "no-such-option", "not-an-integer", "below-minimum",
        "option-without-value", "extra-argument", "no-such-command"])
def test_usage_errors_are_chinese_and_exit_2(argv: list[str], chinese: str, english: str) -> None:
    code, out = invoke("--lang", "zh", *argv)
    assert code == 2, out
    assert chinese in out, out
    assert "Error" not in out and "Usage" not in out and "Try" not in out and not _english_prose(out), out
    en_code, en_out = invoke("--lang", "en", *argv)
    assert en_code == 2 and english in en_out and "错误" not in en_out, en_out
    if en_out.startswith("Usage: "):  # the usage line and the hint, where Click gives them
        assert out.startswith("用法：") and "请运行 '" in out and "查看帮助。" in out, out


def test_a_prompt_ended_by_ctrl_d_says_so_in_chinese() -> None:
    from typer.testing import CliRunner

    from tracker.cli.i18n import LocalizedGroup

    tiny = typer.Typer(cls=LocalizedGroup, rich_markup_mode=None)  # as the app

    @tiny.callback()
    def main(lang: str = "en") -> None:
        pass

    @tiny.command()
    def ask() -> None:
        typer.prompt("badge")

    result = CliRunner().invoke(tiny, ["--lang", "zh", "ask"], input="")
    assert result.exit_code == 1 and "已中止！" in result.output and "Aborted" not in result.output
    result = CliRunner().invoke(tiny, ["--lang", "en", "ask"], input="")
    assert result.exit_code == 1 and "Aborted!" in result.output


def test_catalog_patterns_keep_values_and_translate_nested_messages() -> None:
    catalog = Catalog(parse_po(PO.read_text(encoding="utf-8")))
    assert catalog.message("No such option: --x (Possible options: --xx, --xy)") == \
        "没有此选项：--x（可用的选项：--xx, --xy）"
    assert catalog.message("Invalid value for '--n': Input should be less than or equal to 9") == \
        "'--n' 的值无效：应小于或等于 9"
    assert catalog.message("Something no catalog knows") == "Something no catalog knows"


def test_wrap_keeps_latin_words_whole_and_fits_the_width() -> None:
    text = "之后在 $TRACKER_LABEL_PRINTER 上打印标签（更多选项见 `tracker label print`）。绝密载体必填（R-67）。"
    lines = wrap(text, 24).splitlines()
    assert all(sum(2 if CJK.match(c) else 1 for c in line) <= 24 or " " not in line.strip() for line in lines)
    assert "$TRACKER_LABEL_PRINTER" in lines[1] and "R-67" in "".join(lines)
    assert not any(line.startswith(("，", "。", "）", "：")) for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    opening = wrap("其他人获得一次性PIN（TRACKER_OFFICER_PIN、TRACKER_AUDITOR_PIN），首次登录时须更换。", 24)
    assert not any(line.endswith("（") for line in opening.splitlines()), opening
