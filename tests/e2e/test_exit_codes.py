"""The exit-code contract (README "Exit codes"), checked over every command of the Typer app.

The commands are enumerated from the app itself, so a new command without a row in `CASES` fails
`test_every_command_has_a_row`. Each row gives a bad-input case (exit 2) and, where a command looks something up, a
not-found case (exit 4); every case runs on its own copy of the demo register and must change nothing.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import typer.main
from tests_support import CLI_REGISTER, invoke, use_cli_demo

from labels.codes import make_badge_code, make_carrier_code, make_package_code
from tracker.demo import badge, place

ABSENT = make_carrier_code("BJ", 999999)  # a well-formed code no carrier has
BAD_CHECK = "BJ-000002X"  # BJ-000002's check character is Q
ABSENT_PLACE = place("BJ", "NOWHERE")
ABSENT_BADGE = make_badge_code("BJ", "99999")
SHELF = place("BJ", "R2C1S1")
PINS = {"TRACKER_BORROWER_PIN": "482916", "TRACKER_GIVER_PIN": "482916", "TRACKER_TAKER_PIN": "482916",
        "TRACKER_CUSTODIAN_PIN": "482916", "TRACKER_NEW_PIN": "482916", "TRACKER_TEAM_PIN": "482916",
        "TRACKER_RETURNER_PIN": "482916", "TRACKER_COURIER_PIN": "482916", "TRACKER_COMPANION_PIN": "482916",
        "TRACKER_LEADER_PIN": "482916"}
ABSENT_PACKAGE = make_package_code("BJ", 999999)
REGISTRY, SH_REGISTRY = place("BJ", "R1"), place("SH", "R1")
_PARTIES = ["--giver", badge("courier"), "--taker", badge("clerk")]

# Placeholders filled per test: {secret} an in-store 机密 carrier, {loaned} one on loan, {tmp} the test's directory.
Case = tuple[list[str], str | None]  # argv, operator key (None: the clerk)
CASES: dict[str, tuple[Case | None, Case | None]] = {
    # command: (bad input -> 2, not found -> 4)
    "approvals list": ((["approvals", "list", "--status", "maybe"], None), None),
    "approvals show": ((["approvals", "show", "first"], None), (["approvals", "show", "99999"], None)),
    "approvals request": ((["approvals", "request", "--purpose", "lending", "--carrier", "{secret}"], None),
                          (["approvals", "request", "--purpose", "loan", "--carrier", ABSENT, "--for",
                            badge("reader_core")], None)),
    "approvals approve": ((["approvals", "approve", "first"], "approver"),
                          (["approvals", "approve", "99999"], "approver")),
    "approvals deny": ((["approvals", "deny", "1"], "approver"),
                       (["approvals", "deny", "99999", "--reason", "x"], "approver")),
    "policy show": ((["policy", "show", "--no-such-option"], None), None),
    "policy propose": ((["policy", "propose", "{tmp}/no-such-file.toml"], "officer"), None),
    "policy approve": ((["policy", "approve", "first"], "approver"), (["policy", "approve", "99999"], "approver")),
    "policy deny": ((["policy", "deny", "1"], "approver"), (["policy", "deny", "99999", "--reason", "x"], "approver")),
    "audit": ((["audit", "--since", "whenever"], "auditor"), None),
    "pin change": ((["pin", "change", "--no-such-option"], None), None),
    "request-change": ((["request-change", badge("reader_core"), "--clearance", "ultra"], "admin"), None),
    "backup": ((["backup", "{tmp}"], None), None),
    "restore": ((["restore", "{tmp}/r.sqlite", "--anchor", "junk"], "officer"),
                (["restore", "{tmp}/no-such-backup.sqlite"], "officer")),
    "print-run new": ((["print-run", "new", "--doc", "D1", "--level", "ultra", "--copies", "1", "--distribution",
                        "办公室:1", "--location", SHELF], None),
                      (["print-run", "new", "--doc", "D1", "--level", "internal", "--copies", "1", "--distribution",
                        "办公室:1", "--location", ABSENT_PLACE], None)),
    "print-run approve": ((["print-run", "approve", "first"], "approver"),
                          (["print-run", "approve", "99999"], "approver")),
    "print-run complete": ((["print-run", "complete", "1", "--copies", "1", "--proof-reader", badge("officer"),
                             "--byproducts", "sheets=many"], None),
                           (["print-run", "complete", "99999", "--copies", "1", "--proof-reader", badge("officer"),
                             "--byproducts", "sheets=1"], None)),
    "print-run show": ((["print-run", "show", "first"], None), (["print-run", "show", "99999"], None)),
    "print-run list": ((["print-run", "list", "--status", "maybe"], None), None),
    "meeting new": ((["meeting", "new", "--venue", SHELF, "--level", "ultra", "--attendee", badge("reader_core")],
                     None),
                    (["meeting", "new", "--venue", ABSENT_PLACE, "--level", "secret", "--attendee",
                      badge("reader_core")], None)),
    "meeting issue": ((["meeting", "issue", "first", "{secret}", "--to", badge("reader_core")], None), None),
    "meeting collect": ((["meeting", "collect", "1", BAD_CHECK], None),
                        (["meeting", "collect", "99999", "{secret}"], None)),
    "meeting keep": ((["meeting", "keep", "1", BAD_CHECK], None), (["meeting", "keep", "99999", "{secret}"], None)),
    "meeting missing": ((["meeting", "missing", "1", BAD_CHECK], None),
                        (["meeting", "missing", "99999", "{secret}"], None)),
    "meeting close": ((["meeting", "close", "1"], None), (["meeting", "close", "99999", "--venue-check", "ok"], None)),
    "meeting show": ((["meeting", "show", "first"], None), (["meeting", "show", "99999"], None)),
    "meeting list": ((["meeting", "list", "--status", "maybe"], None), None),
    "meeting record": ((["meeting", "record", "1"], None), (["meeting", "record", "99999", "--pdf", "{tmp}/m.pdf"],
                                                            None)),
    "destruction new": ((["destruction", "new", "--no-such-option"], None), None),
    "destruction add": ((["destruction", "add", "first", ABSENT], None), None),
    "destruction remove": ((["destruction", "remove", "first", ABSENT], None), None),
    "destruction list": ((["destruction", "list", "--no-such-option"], None), None),
    "destruction show": ((["destruction", "show", "first"], None), None),
    "destruction submit": ((["destruction", "submit", "first"], None), None),
    "destruction approve": ((["destruction", "approve", "first"], "approver"), None),
    "destruction reopen": ((["destruction", "reopen", "first"], None), None),
    "destruction scan": ((["destruction", "scan", "first", ABSENT], None), None),
    "destruction set-aside": ((["destruction", "set-aside", "first", ABSENT, "--reason", "x"], None), None),
    "destruction complete": ((["destruction", "complete", "first", "--site", "x"], None), None),
    "destruction certificate": ((["destruction", "certificate", "first", "--pdf", "{tmp}/c.pdf"], None), None),
    "destruction register": ((["destruction", "register", "--from", "whenever"], None), None),
    "incident list": ((["incident", "list", "--no-such-option"], "officer"), None),
    "incoming register": ((["incoming", "register", "--location", SHELF, "--sender", "X", "--classification", "ultra",
                            "--copy", "1/1", "--pages", "3"], None),
                          (["incoming", "register", "--location", ABSENT_PLACE, "--sender", "X", "--classification",
                            "internal", "--copy", "1/1", "--pages", "3"], None)),
    "incoming deliver": ((["incoming", "deliver", BAD_CHECK, "--to", badge("approver")], None),
                         (["incoming", "deliver", ABSENT, "--to", badge("approver")], None)),
    "incoming proxy": ((["incoming", "proxy", badge("clerk")], None), (["incoming", "proxy", ABSENT_BADGE], None)),
    "incoming list": ((["incoming", "list", "--since", "whenever"], None), None),
    "incoming report": ((["incoming", "report", "{tmp}/r.txt"], None), None),
    "package new": ((["package", "new", "--kind", "crate"], None), None),
    "package pack": ((["package", "pack", "first", "{secret}"], None), (["package", "pack", ABSENT_PACKAGE,
                                                                         "{secret}"], None)),
    "package seal": ((["package", "seal", "first", "--seal", "1"], None),
                     (["package", "seal", ABSENT_PACKAGE, "--seal", "1"], None)),
    "package open": ((["package", "open", "first", "--seal", "1"], None),
                     (["package", "open", ABSENT_PACKAGE, "--seal", "1"], None)),
    "package show": ((["package", "show", "first"], None), (["package", "show", ABSENT_PACKAGE], None)),
    "transit dispatch": ((["transit", "dispatch", "{secret}", "--from", REGISTRY, "--to", SH_REGISTRY, "--courier",
                           badge("courier"), "--due", "whenever"], None),
                         (["transit", "dispatch", "{secret}", "--from", REGISTRY, "--to", ABSENT_PLACE, "--courier",
                           badge("courier")], None)),
    "transit hop": ((["transit", "hop", "first", *_PARTIES], None), (["transit", "hop", "99999", *_PARTIES], None)),
    "transit receive": ((["transit", "receive", "first", *_PARTIES], None),
                        (["transit", "receive", "99999", *_PARTIES], None)),
    "transit list": ((["transit", "list", "--no-such-option"], None), None),
    "transit show": ((["transit", "show", "first"], None), (["transit", "show", "99999"], None)),
    "transit receipt": ((["transit", "receipt", "first", "{tmp}/r.pdf"], None),
                        (["transit", "receipt", "99999", "{tmp}/r.pdf"], None)),
    "transit register": ((["transit", "register", "{tmp}/r.txt"], None), None),
    "incident show": ((["incident", "show", "first"], "officer"), (["incident", "show", "99999"], "officer")),
    "incident report": ((["incident", "report", "--kind", "ufo", "--summary", "x"], None),
                        (["incident", "report", "--kind", "other", "--summary", "x", "--place", ABSENT_PLACE], None)),
    "incident measure": ((["incident", "measure", "first", "x"], "officer"),
                         (["incident", "measure", "99999", "x"], "officer")),
    "incident close": ((["incident", "close", "1", "--outcome", "maybe", "--resolution", "x"], "officer"),
                       (["incident", "close", "99999", "--outcome", "other", "--resolution", "x"], "officer")),
    "register": ((["register", "borrowing", "--from", "whenever", "--to", "2026-12-31"], "auditor"),
                 (["register", "borrowing", "--from", "2026-01-01", "--to", "2026-12-31", "--unit", "不存在处",
                   "--out", "{tmp}/r.pdf"], "auditor")),
    "archive": ((["archive", BAD_CHECK, "--to", SHELF], None), (["archive", ABSENT, "--to", SHELF], None)),
    "archive-access": ((["archive-access", BAD_CHECK, "--no-such-option"], None),
                       (["archive-access", ABSENT, "--visitor", "v", "--unit", "u", "--letter", "l", "--parts", "p",
                         "--room", place("BJ", "R2")], None)),
    "return-to-issuer": ((["return-to-issuer", BAD_CHECK, "--no-such-option"], None),
                         (["return-to-issuer", ABSENT, "--receiver", "r", "--receipt", "1", "--unit", "u"], None)),
    "transfer-out": ((["transfer-out", BAD_CHECK, "--no-such-option"], None),
                     (["transfer-out", ABSENT, "--unit", "u", "--receiver", "r", "--receipt", "1", "--leader",
                       badge("approver")], None)),
    "repair": ((["repair", BAD_CHECK, "--no-such-option"], None),
               (["repair", ABSENT, "--repairer", "in-house", "--custodian", badge("officer"), "--storage", "kept"],
                None)),
    "certify": ((["certify", BAD_CHECK, "--product", "p", "--certificate", "c"], None),
                (["certify", ABSENT, "--product", "p", "--certificate", "c"], None)),
    "retire": ((["retire", BAD_CHECK, "--reason", "broken"], None), (["retire", ABSENT, "--reason", "broken"], None)),
    "init": ((["init", "--badge", "X"], None), None),
    "demo": ((["demo", "--carriers", "-1"], None), None),
    "status": ((["status", "--no-such-option"], None), None),
    "tui": ((["tui", "--lang", "fr"], None), None),
    "departure-check": ((["departure-check"], None), (["departure-check", ABSENT_BADGE], None)),
    "checkout": ((["checkout", "{secret}", "--to", badge("reader_core"), "--due", "tomorrowish"], None),
                 (["checkout", ABSENT, "--to", badge("reader_core")], None)),
    "checkin": ((["checkin", BAD_CHECK, "--returned-by", badge("clerk")], None),
                (["checkin", "{loaned}", "--to", ABSENT_PLACE, "--returned-by", badge("clerk")], None)),
    "handover": ((["handover", BAD_CHECK, "--from", badge("reader_core"), "--to", badge("courier")], "courier"),
                 (["handover", ABSENT, "--from", badge("reader_core"), "--to", badge("courier")], "courier")),
    "carry-out": ((["carry-out", "{secret}", "--custodian", badge("reader_core"), "--until", "someday"], None),
                  (["carry-out", ABSENT, "--custodian", badge("reader_core"), "--until", "+2h"], None)),
    "copy": ((["copy", BAD_CHECK], None), (["copy", ABSENT], None)),
    "approve": ((["approve", "--purpose", "loan", "--carrier", "{secret}", "--until", "whenever"], "approver"),
                (["approve", "--purpose", "loan", "--carrier", ABSENT, "--for", badge("reader_core")], "approver")),
    "missing": ((["missing", BAD_CHECK], None), (["missing", ABSENT], None)),
    "found": ((["found", BAD_CHECK, "--to", SHELF], None), (["found", ABSENT, "--to", SHELF], None)),
    "alerts": ((["alerts", "--no-such-option"], None), None),
    "export": ((["export", "--format", "pdf"], None), None),
    "person add": ((["person", "add", make_badge_code("BJ", "777"), "新人", "--unit", "法规处", "--clearance",
                     "ultra"], "admin"), None),
    "person list": ((["person", "list", "--no-such-option"], None), None),
    "person set": ((["person", "set", badge("reader_core"), "--clearance", "ultra"], "officer"),
                   (["person", "set", ABSENT_BADGE, "--clearance", "core"], "admin")),
    "person depart": ((["person", "depart"], "officer"), (["person", "depart", ABSENT_BADGE], "officer")),
    "location add": ((["location", "add", place("BJ", "NEW1"), "新柜", "--kind", "cabinet", "--max-level", "ultra",
                       "--parent", place("BJ", "R2")], "admin"),
                     (["location", "add", place("BJ", "NEW1"), "新柜", "--kind", "cabinet", "--max-level", "secret",
                       "--parent", ABSENT_PLACE], "admin")),
    "location list": ((["location", "list", "--no-such-option"], None), None),
    "gate add": ((["gate", "add", "GATE-1", "--device", "g", "--inside", place("BJ", "R2"), "--outside",
                   place("BJ", "SITE"), "--antenna", "1=sideways"], "admin"),
                 (["gate", "add", "GATE-1", "--device", "g", "--inside", place("BJ", "R2"), "--outside",
                   ABSENT_PLACE, "--antenna", "1=inside", "--antenna", "2=outside"], "admin")),
    "gate list": ((["gate", "list", "--no-such-option"], "admin"), None),
    "cabinet add": ((["cabinet", "add", place("BJ", "R2"), "--device", "c"], "admin"),
                    (["cabinet", "add", ABSENT_PLACE, "--device", "c"], "admin")),
    "cabinet list": ((["cabinet", "list", "--no-such-option"], "admin"), None),
    "watch log": ((["watch", "log", "--limit", "0"], "officer"), None),
    "watch run": ((["watch", "run", "--door", "nonsense"], "officer"), None),
    "carrier add": ((["carrier", "add", "--location", SHELF, "--classification", "ultra"], None),
                    (["carrier", "add", "--location", ABSENT_PLACE, "--classification", "internal"], None)),
    "carrier import": ((["carrier", "import", "{tmp}/no-such-file.csv"], None),
                       (["carrier", "import", "{tmp}/unknown-place.csv"], None)),
    "carrier show": ((["carrier", "show", BAD_CHECK], None), (["carrier", "show", ABSENT], None)),
    "carrier find": ((["carrier", "find", "BJ", "--limit", "many"], None), None),
    "carrier history": ((["carrier", "history", BAD_CHECK], None), (["carrier", "history", ABSENT], None)),
    "carrier move": ((["carrier", "move", BAD_CHECK, "--to", SHELF], None),
                     (["carrier", "move", "{secret}", "--to", ABSENT_PLACE], None)),
    "carrier reclassify": ((["carrier", "reclassify", "{secret}", "--level", "ultra"], "officer"),
                           (["carrier", "reclassify", ABSENT, "--level", "secret"], "officer")),
    "ledger verify": ((["ledger", "verify", "--anchor", "junk"], None), None),
    "ledger seal": ((["ledger", "seal", "--no-such-option"], "officer"), None),
    "db upgrade": ((["db", "upgrade", "--no-such-option"], None), None),
    "label layouts": ((["label", "layouts", "--no-such-option"], None), None),
    "label preview": ((["label", "preview", BAD_CHECK], None), None),
    "label print": ((["label", "print", BAD_CHECK, "--printer", "file://{tmp}/out.zpl"], None), None),
    "label sheet": ((["label", "sheet", BAD_CHECK, "--out", "{tmp}/sheet.pdf"], None), None),
    "label calibrate": ((["label", "calibrate", "--sheet", "no-such-sheet", "--out", "{tmp}/c.pdf"], None), None),
    "label status": ((["label", "status", "--printer", "gopher://nowhere"], None), None),
    "label emulate": ((["label", "emulate", "--port", "not-a-port"], None), None),
    "devices list": ((["devices", "list", "--no-such-option"], None), None),
    "devices test": ((["devices", "test", "x", "--count", "many"], None), (["devices", "test", "nosuch"], None)),
    "devices simulate": ((["devices", "simulate", "no-such-kind"], None), None),
    "stocktake start": ((["stocktake", "start", "--scope", place("BJ", "R2"), "--team", badge("clerk"), "--team",
                          badge("clerk2"), "--level", "ultra"], None),
                        (["stocktake", "start", "--scope", ABSENT_PLACE, "--team", badge("clerk"), "--team",
                          badge("clerk2")], None)),
    "stocktake list": ((["stocktake", "list", "--no-such-option"], None), None),
    "stocktake bind": ((["stocktake", "bind", "x", "--device", "d", "--batch", "b", "--location", SHELF], None),
                       (["stocktake", "bind", "999", "--device", "d", "--batch", "b", "--location", SHELF], None)),
    "stocktake upload": ((["stocktake", "upload", "1", "{tmp}/no-such-file.txt", "--device", "h1"], None),
                         (["stocktake", "upload", "999", "{tmp}/reads.txt", "--device", "h1"], None)),
    "stocktake reconcile": ((["stocktake", "reconcile", "x"], None), (["stocktake", "reconcile", "999"], None)),
    "stocktake progress": ((["stocktake", "progress", "x"], None), (["stocktake", "progress", "999"], None)),
    "stocktake findings": ((["stocktake", "findings", "1", "--kind", "no-such-kind"], None),
                           (["stocktake", "findings", "999"], None)),
    "stocktake resolve-all": ((["stocktake", "resolve-all", "1", "no_such_kind", "acknowledge", "--reason", "x"],
                               None),
                              (["stocktake", "resolve-all", "999", "missing", "acknowledge", "--reason", "x"], None)),
    "stocktake resolve": ((["stocktake", "resolve", "1", "no-such-kind", "X", "found", "--reason", "r"], None),
                          (["stocktake", "resolve", "999", "missing", "{secret}", "found", "--reason", "r"], None)),
    "stocktake close": ((["stocktake", "close", "x"], None), (["stocktake", "close", "999"], None)),
    "stocktake report": ((["stocktake", "report", "999"], None),
                         (["stocktake", "report", "999", "--csv", "{tmp}/r.csv"], None)),
    "duties": ((["duties", "--at", "whenever"], None), None),
    "campaign new": ((["campaign", "new", "--due", "+30d", "--before", "last-year"], "officer"), None),
    "campaign list": ((["campaign", "list", "--no-such-option"], None), None),
    "campaign show": ((["campaign", "show", "first"], None), (["campaign", "show", "99999"], None)),
    "campaign scan": ((["campaign", "scan", "1", BAD_CHECK], None), (["campaign", "scan", "99999", "{secret}"], None)),
    "campaign close": ((["campaign", "close", "first"], "officer"), (["campaign", "close", "99999"], "officer")),
    "campaign report": ((["campaign", "report", "first", "--pdf", "{tmp}/c.pdf"], None),
                        (["campaign", "report", "99999", "--pdf", "{tmp}/c.pdf"], None)),
    "person vetting": ((["person", "vetting", badge("reader_core"), "--result", "maybe"], "officer"),
                       (["person", "vetting", ABSENT_BADGE, "--result", "passed"], "officer")),
    "person training": ((["person", "training", badge("reader_core"), "--on", "someday"], "officer"),
                        (["person", "training", ABSENT_BADGE], "officer")),
    "person exam": ((["person", "exam", badge("reader_core"), "--result", "maybe"], "officer"),
                    (["person", "exam", ABSENT_BADGE, "--result", "passed"], "officer")),
    "person pledge": ((["person", "pledge", badge("reader_core"), "--on", "someday"], "officer"),
                      (["person", "pledge", ABSENT_BADGE], "officer")),
    "person leave": ((["person", "leave", badge("reader_core"), "--cooling-off-until", "later"], "officer"),
                     (["person", "leave", ABSENT_BADGE, "--cooling-off-until", "2029-12-31"], "officer")),
    "person records": ((["person", "records", badge("reader_core"), "--no-such-option"], None),
                       (["person", "records", ABSENT_BADGE], None)),
    "stocktake live": ((["stocktake", "live", "999", "--device", "d", "--duration", "-1"], None),
                       (["stocktake", "live", "999", "--device", "nosuch"], None)),
}


def command_paths() -> list[str]:
    """Every runnable command of the app, as the words that name it (`carrier show`)."""
    from tracker.cli import app

    found: list[str] = []

    def walk(command: Any, path: list[str]) -> None:
        if hasattr(command, "commands"):  # a group (typer may carry its own click)
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        else:
            found.append(" ".join(path))

    walk(typer.main.get_command(app), [])
    return sorted(found)


def test_every_command_has_a_row() -> None:
    missing = [c for c in command_paths() if c not in CASES]
    assert not missing, f"add a row to CASES for: {missing}"
    assert not [c for c in CASES if c not in command_paths()], "a row names a command that no longer exists"


@pytest.fixture
def env(cli_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = use_cli_demo(cli_demo, tmp_path, monkeypatch, **PINS)
    (tmp_path / "unknown-place.csv").write_text(f"classification,location\ninternal,{ABSENT_PLACE}\n",
                                                encoding="utf-8")
    (tmp_path / "reads.txt").write_text(f"{SHELF}\n", encoding="utf-8")
    return values


def _fill(argv: list[str], tmp_path: Path) -> list[str]:
    conn = sqlite3.connect(tmp_path / CLI_REGISTER)
    try:
        secret = conn.execute("SELECT code FROM carriers WHERE classification='secret' AND status='in_store' "
                              "ORDER BY code").fetchone()[0]
        loaned = conn.execute("SELECT code FROM carriers WHERE status='on_loan' ORDER BY code").fetchone()[0]
    finally:
        conn.close()
    return [a.format(secret=secret, loaned=loaned, tmp=tmp_path) for a in argv]


def _state(tmp_path: Path) -> tuple[object, ...]:
    """What a refused command must leave as it was: the ledger, the carriers, people and places."""
    conn = sqlite3.connect(tmp_path / CLI_REGISTER)
    try:
        return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                     for t in ("events", "carriers", "people", "locations"))
    finally:
        conn.close()


def _cases(which: int) -> list[tuple[str, Case]]:
    out: list[tuple[str, Case]] = []
    for command, pair in sorted(CASES.items()):
        case = pair[which]
        if case is not None:
            out.append((command, case))
    return out


def _run(case: Case, tmp_path: Path) -> tuple[int, str]:
    argv, who = case
    extra = {"TRACKER_OPERATOR": badge(who)} if who else {}
    return invoke(*_fill(argv, tmp_path), **extra)


@pytest.mark.parametrize(("command", "case"), _cases(0), ids=[c for c, _ in _cases(0)])
def test_bad_input_exits_2(command: str, case: Case, env: dict[str, str], tmp_path: Path) -> None:
    before = _state(tmp_path)
    code, out = _run(case, tmp_path)
    assert code == 2, f"{command}: exit {code}\n{out}"
    assert "Traceback" not in out
    assert _state(tmp_path) == before


@pytest.mark.parametrize(("command", "case"), _cases(1), ids=[c for c, _ in _cases(1)])
def test_not_found_exits_4(command: str, case: Case, env: dict[str, str], tmp_path: Path) -> None:
    before = _state(tmp_path)
    code, out = _run(case, tmp_path)
    assert code == 4, f"{command}: exit {code}\n{out}"
    assert "Traceback" not in out
    assert _state(tmp_path) == before


def test_departure_check_exits_alike_with_and_without_json(env: dict[str, str], tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / CLI_REGISTER)
    holder = conn.execute("SELECT p.badge FROM carriers c JOIN people p ON p.id = c.holder_id").fetchone()[0]
    conn.close()
    table_code, _ = invoke("departure-check", holder)
    json_code, out = invoke("departure-check", holder, "--json")
    assert table_code == json_code == 3
    assert json.loads(out)["holds"] and json.loads(out)["clear"] is False
    assert invoke("departure-check", badge("auditor"), "--json")[0] == 0


def test_wrong_check_character_is_named(env: dict[str, str]) -> None:
    code, out = invoke("carrier", "show", BAD_CHECK)
    assert code == 2 and "'X'" in out and "No carrier" not in out
    code, out = invoke("--lang", "zh", "carrier", "show", BAD_CHECK)
    assert code == 2 and "校验位 'X'" in out


def test_unknown_level_and_unreadable_period_are_bad_input(env: dict[str, str]) -> None:
    code, out = invoke("carrier", "add", "--location", SHELF, "--classification", "secret", "--period",
                       "2030-13-01", "--scope", "法规处", "--copy", "1/1")
    assert code == 2 and "R-02" in out


@pytest.mark.parametrize("extra", [["--period", "2020-01-01"], ["--scope", "不存在处"], ["--pages", "-5"]])
def test_bad_entry_exits_2(extra: list[str], env: dict[str, str], tmp_path: Path) -> None:
    args = {"--period": "10y", "--scope": "法规处", "--pages": "3"} | dict(zip(extra[::2], extra[1::2], strict=True))
    before = _state(tmp_path)
    code, out = invoke("carrier", "add", "--location", SHELF, "--classification", "confidential",
                       *[x for kv in args.items() for x in kv])
    assert code == 2 and extra[1] in out, out
    assert _state(tmp_path) == before
