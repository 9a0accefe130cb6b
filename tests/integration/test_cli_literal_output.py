"""What is stored is shown literally by the command line (issue 16): text written behind the register's back (or
before the text policy) with terminal control sequences prints them escaped, never as a live ESC/OSC/CSI/BEL, and
file names and values are never read as Rich markup. The output is checked as the bytes the terminal would get."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from tests_support import CLI_REGISTER, use_cli_demo
from typer.testing import CliRunner

from tracker.demo import badge, place

SHELF = place("BJ", "R2C1S1")
OSC_TITLE = "报告\x1b]0;pwned\x07\x9b31m\x1b[2J\u2028end"
CONTROL_BYTES = [b"\x1b", b"\x07", "\x9b".encode(), "\u2028".encode()]


@pytest.fixture
def env(cli_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return use_cli_demo(cli_demo, tmp_path, monkeypatch, TRACKER_TEAM_PIN="482916")


def run(*args: str) -> tuple[int, bytes]:
    from tracker.cli import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout_bytes + result.stderr_bytes


def tamper(tmp_path: Path, sql: str, *params: object) -> None:
    """A write straight into the database file, as someone with file access could make it."""
    from tracker.cli.common import state

    if state.store is not None:
        state.store.dispose()
        state.store = None
    with sqlite3.connect(tmp_path / CLI_REGISTER) as db:
        db.execute(sql, params)


def some_carrier(location: str | None = None) -> str:
    code, out = run("carrier", "find", "BJ-", "--limit", "500", "--json")
    assert code == 0
    return next(c["code"] for c in json.loads(out) if c["status"] == "in_store"
                and (location is None or c["location"] == location))


def assert_literal(out: bytes) -> None:
    for b in CONTROL_BYTES:
        assert b not in out, (b, out)


def test_carrier_show_prints_an_osc_title_escaped(env: dict[str, str], tmp_path: Path) -> None:
    code = some_carrier()
    tamper(tmp_path, "UPDATE carriers SET title = ? WHERE code = ?", OSC_TITLE, code)
    rc, out = run("carrier", "show", code)
    assert rc == 0
    assert_literal(out)
    assert b"\\x1b]0;pwned\\x07\\x9b31m\\x1b[2J\\u2028end" in out
    rc, out = run("carrier", "find", code)
    assert rc == 0
    assert_literal(out)
    rc, out = run("carrier", "show", code, "--json")
    assert rc == 0
    assert_literal(out)
    assert json.loads(out)["title"] == OSC_TITLE  # still valid JSON, the value intact for scripts


def test_markup_in_stored_text_is_shown_as_typed(env: dict[str, str], tmp_path: Path) -> None:
    code = some_carrier()
    tamper(tmp_path, "UPDATE carriers SET title = ? WHERE code = ?", "[bold red]urgent[/] :warning:", code)
    rc, out = run("carrier", "show", code)
    assert rc == 0 and b"[bold red]urgent[/] :warning:" in out


def test_stocktake_findings_and_report_file_names_are_literal(env: dict[str, str], tmp_path: Path) -> None:
    here = some_carrier(SHELF)
    rc, out = run("stocktake", "start", "--scope", SHELF, "--team", badge("clerk"), "--team", badge("auditor"))
    assert rc == 0, out
    rc, out = run("stocktake", "reconcile", "1")
    assert rc == 0, out
    tamper(tmp_path, "UPDATE stocktake_findings SET detail = ?", "gone\x1b[2J\x1b[H")
    tamper(tmp_path, "UPDATE carriers SET title = ? WHERE code = ?", OSC_TITLE, here)
    rc, out = run("stocktake", "findings", "1")
    assert rc == 0, out
    assert_literal(out)
    assert b"\\x1b" in out  # escaped where the table folds it, at whatever width the terminal has
    rc, out = run("stocktake", "findings", "1", "--json")
    assert rc == 0
    assert_literal(out)
    assert any(f["detail"] == "gone\x1b[2J\x1b[H" for f in json.loads(out))
    rc, out = run("stocktake", "report", "1", "--csv", "[bold]evil.csv")
    assert rc == 0, out
    assert (tmp_path / "[bold]evil.csv").exists()
    assert b"[bold]evil.csv" in out


def test_an_error_naming_hostile_input_is_escaped(env: dict[str, str]) -> None:
    rc, out = run("carrier", "add", "--location", "LOC\x1b]0;x\x07", "--classification", "internal")
    assert rc in (2, 3)
    assert_literal(out)
