"""The command line's surface as a clerk meets it (issue 14): codes never broken in tables, `--json` on every read
command, one option name for the level (old names kept hidden), help on every command, `carrier show` with every
field, a demo of any size whose history is in order, and a simulated scanner scanning codes the demo has."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from tests_support import CLI_ENV, CLI_REGISTER, invoke, use_cli_demo

from tracker.demo import badge


@pytest.fixture
def env(cli_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return use_cli_demo(cli_demo, tmp_path, monkeypatch)


def test_piped_tables_never_break_a_code(env: dict[str, str]) -> None:
    codes = [c["code"] for c in json.loads(invoke("carrier", "find", "BJ-", "--limit", "500", "--json")[1])]
    code, out = invoke("carrier", "find", "BJ-", "--limit", "500")
    assert code == 0 and codes
    assert all(c in out for c in codes), [c for c in codes if c not in out]
    places = [p["code"] for p in json.loads(invoke("location", "list", "--json")[1])]
    out = invoke("location", "list")[1]
    assert all(p in out for p in places)


@pytest.mark.parametrize("argv", [["label", "layouts", "--json"], ["devices", "list", "--json"]])
def test_read_commands_take_json(argv: list[str], env: dict[str, str]) -> None:
    code, out = invoke(*argv)
    assert code == 0, out
    json.loads(out)


def test_every_command_has_help() -> None:
    import typer.main

    from tracker.cli import app

    def walk(command: Any, path: str) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}".strip())
        else:
            assert (command.help or "").strip(), f"`tracker {path}` has no help text"

    walk(typer.main.get_command(app), "")


def test_level_option_has_one_name_and_the_old_one_is_hidden(env: dict[str, str]) -> None:
    code = json.loads(invoke("carrier", "find", "BJ-", "--json")[1])[0]["code"]
    for name in ("--classification", "--level"):  # both reach the service (the clerk may not reclassify: R-25)
        exit_code, out = invoke("carrier", "reclassify", code, name, "secret")
        assert exit_code == 3 and "R-25" in out, out
    help_text = invoke("carrier", "reclassify", "--help")[1]
    assert "--classification" in help_text and "--level" not in help_text
    assert invoke("carrier", "add", "--location", "x", "--level", "secret", "--classification", "internal")[0] == 2


def test_show_gives_every_field(env: dict[str, str]) -> None:
    conn = sqlite3.connect(Path.cwd() / CLI_REGISTER)
    code = conn.execute("SELECT code FROM carriers WHERE pages IS NOT NULL AND issuer IS NOT NULL").fetchone()[0]
    conn.close()
    data = json.loads(invoke("carrier", "show", code, "--json")[1])
    assert data["pages"] and data["issuer"] and data["registered_at"]
    out = invoke("carrier", "show", code)[1]
    for field in ("pages", "issuer", "registered_at", "doc_number", "copy_number", "scope", "period"):
        assert field in out


def test_small_demo_and_its_history_is_in_order(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'small.sqlite'}"
    for n in (30, 1):
        (tmp_path / "small.sqlite").unlink(missing_ok=True)
        code, out = invoke("demo", "--carriers", str(n), **CLI_ENV, TRACKER_DATABASE_URL=url)
        assert code == 0, out
    from tracker.cli.common import state

    if state.store is not None:
        state.store.dispose()
        state.store = None
    code, out = invoke("demo", "--carriers", "30", **CLI_ENV,
                       TRACKER_DATABASE_URL=f"sqlite:///{tmp_path / 'thirty.sqlite'}")
    assert code == 0, out
    conn = sqlite3.connect(tmp_path / "thirty.sqlite")
    early = conn.execute(
        "SELECT e.carrier FROM events e JOIN events r ON r.carrier = e.carrier AND r.type IN ('registered', 'copied') "
        "WHERE e.type = 'checked_out' AND e.seq < r.seq").fetchall()
    lent = conn.execute("SELECT count(*) FROM events WHERE type = 'checked_out'").fetchone()[0]
    reg = conn.execute("SELECT min(registered_at) FROM carriers").fetchone()[0]
    first_loan = conn.execute("SELECT min(at) FROM events WHERE type = 'checked_out'").fetchone()[0]
    conn.close()
    assert lent and not early
    assert reg[:19].replace(" ", "T") < first_loan[:19]


def test_simulated_scanner_scans_demo_codes(env: dict[str, str]) -> None:
    from tracker.cli.devices import _demo_codes

    conn = sqlite3.connect(Path.cwd() / CLI_REGISTER)
    known = {r[0] for t, col in (("carriers", "code"), ("people", "badge"), ("locations", "code"))
             for r in conn.execute(f"SELECT {col} FROM {t}")}
    conn.close()
    assert set(_demo_codes()) <= known, set(_demo_codes()) - known
    assert badge("reader_core") in _demo_codes()


def test_chinese_output_has_no_english_field_names(env: dict[str, str], tmp_path: Path) -> None:
    """`--lang zh`: carrier show's field names and values, status rows, find headers and export CSV headers."""
    from tracker.queries import FIELD_ZH

    english = set(FIELD_ZH) | {"field", "value", "status:", "level:", "marking", "holder/place", "doc no.", "due ("}
    values = {"top_secret", "secret", "confidential", "in_store", "on_loan", "paper", "state"}
    carrier = json.loads(invoke("carrier", "find", "BJ-", "--json")[1])[0]["code"]

    def words(text: str) -> set[str]:
        import re

        return set(re.findall(r"holder/place|doc no\.|due \(|[a-z_]+:?", text))

    code, out = invoke("--lang", "zh", "carrier", "show", carrier)
    assert code == 0 and "密级" in out
    assert not words(out) & (english | values), words(out) & (english | values)
    for argv in (["status"], ["carrier", "find", "BJ-"]):
        code, out = invoke("--lang", "zh", *argv)
        assert code == 0
        assert not words(out) & (english | values), (argv, words(out) & (english | values))
    code, out = invoke("--lang", "zh", "export")
    header = out.splitlines()[0]
    assert code == 0 and "编号" in header and not set(header.split(",")) & english
