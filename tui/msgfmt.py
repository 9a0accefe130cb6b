"""Compile the counter's gettext catalogs (`.po` → `.mo`) with the standard library only.

`python -m tui.msgfmt` rewrites every `tui/locale/*/LC_MESSAGES/*.mo` from its `.po`, and the command line's
(`tracker/locale/*/LC_MESSAGES/tracker_cli.mo`, see `tracker.cli.i18n`); `python -m tui.msgfmt --check`
exits 1 when a committed `.mo` differs from what its `.po` compiles to (CI runs the same check as a test). The
output is byte-for-byte deterministic (entries sorted, GNU .mo layout as in CPython's Tools/i18n/msgfmt.py) so the
committed file only changes when a translation does. Fuzzy and untranslated entries are left out, as msgfmt does.
It reads and writes catalog files only.
"""

from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path

import tracker
from tui.i18n import LOCALE_DIR

CLI_LOCALE_DIR = Path(tracker.__file__).resolve().parent / "locale"


class PoError(ValueError):
    pass


def parse_po(text: str, source: str = "<po>") -> dict[str, str]:
    """Translations of a .po file as {msgid: msgstr}; the header is the entry with the empty msgid."""
    entries: dict[str, str] = {}
    msgid: list[str] | None = None
    msgstr: list[str] | None = None
    section = ""
    fuzzy = False

    def flush() -> None:
        nonlocal msgid, msgstr, fuzzy
        if msgid is not None and msgstr is not None:
            key, value = "".join(msgid), "".join(msgstr)
            if value and not fuzzy:
                if key in entries:
                    raise PoError(f"{source}: duplicate msgid {key!r}")
                entries[key] = value
        msgid, msgstr, fuzzy = None, None, False

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#,") and "fuzzy" in line:
            flush()
            fuzzy = True
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgid "):
            fz = fuzzy
            flush()
            fuzzy = fz
            msgid, section = [], "id"
            line = line[6:].strip()
        elif line.startswith("msgstr "):
            if msgid is None:
                raise PoError(f"{source}:{number}: msgstr without msgid")
            msgstr, section = [], "str"
            line = line[7:].strip()
        if not (line.startswith('"') and line.endswith('"') and len(line) >= 2):
            raise PoError(f"{source}:{number}: expected a quoted string, got {raw!r}")
        value = ast.literal_eval(line)
        if not isinstance(value, str):
            raise PoError(f"{source}:{number}: not a string")
        if section == "id" and msgid is not None:
            msgid.append(value)
        elif section == "str" and msgstr is not None:
            msgstr.append(value)
        else:
            raise PoError(f"{source}:{number}: string outside an entry")
    flush()
    return entries


def compile_mo(entries: dict[str, str]) -> bytes:
    """GNU .mo bytes (little endian, no hash table) for the entries, sorted by msgid."""
    keys = sorted(entries)
    ids = [k.encode("utf-8") for k in keys]
    strs = [entries[k].encode("utf-8") for k in keys]
    n = len(keys)
    key_start = 7 * 4 + 16 * n
    offsets: list[tuple[int, int, int, int]] = []
    id_blob = b""
    str_blob = b""
    for i, s in zip(ids, strs, strict=True):
        offsets.append((len(id_blob), len(i), len(str_blob), len(s)))
        id_blob += i + b"\0"
        str_blob += s + b"\0"
    value_start = key_start + len(id_blob)
    key_table: list[int] = []
    value_table: list[int] = []
    for o1, l1, o2, l2 in offsets:
        key_table += [l1, o1 + key_start]
        value_table += [l2, o2 + value_start]
    header = struct.pack("Iiiiiii", 0x950412DE, 0, n, 7 * 4, 7 * 4 + n * 8, 0, 0)
    return (header + struct.pack(f"{len(key_table)}i", *key_table)
            + struct.pack(f"{len(value_table)}i", *value_table) + id_blob + str_blob)


def catalogs(root: Path = LOCALE_DIR) -> list[Path]:
    return sorted(root.glob("*/LC_MESSAGES/*.po"))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    stale = []
    for po in catalogs() + catalogs(CLI_LOCALE_DIR):
        mo = po.with_suffix(".mo")
        data = compile_mo(parse_po(po.read_text(encoding="utf-8"), str(po)))
        if check:
            if not mo.is_file() or mo.read_bytes() != data:
                stale.append(mo)
        else:
            mo.write_bytes(data)
            print(f"{po} -> {mo}")
    for mo in stale:
        print(f"{mo} is out of date: run python -m tui.msgfmt", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())


def extract_messages(root: Path | None = None) -> list[str]:
    """Every string literal passed to `_()` or `N_()` in the tui package, in first-seen order."""
    base = root or Path(__file__).parent
    seen: dict[str, None] = {}
    for path in sorted(base.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                seen.setdefault(node.args[0].value, None)
    return list(seen)
