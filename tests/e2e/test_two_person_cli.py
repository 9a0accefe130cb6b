"""The second person's commands end to end, and proof that no client file or variable loosens the policy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tests_support import invoke, use_cli_demo

from tracker.demo import badge


@pytest.fixture
def env(cli_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return use_cli_demo(cli_demo, tmp_path, monkeypatch)


def head() -> int:
    return int(json.loads(invoke("status", "--json")[1])["ledger_head"]["seq"])


def policy() -> dict[str, object]:
    code, out = invoke("policy", "show", "--json")
    assert code == 0, out
    return json.loads(out)  # type: ignore[no-any-return]


WEAK = 'two_person_levels = []\ncarry_out_levels = []\ncarry_out_max_days = 3650\n'


@pytest.mark.parametrize("how", ["TRACKER_POLICY", "policy_file", "[policy]", "[security]"])
def test_no_client_file_or_variable_loosens_the_policy(env: dict[str, str], tmp_path: Path, how: str) -> None:
    (tmp_path / "weak.toml").write_text(WEAK, encoding="utf-8")
    config = tmp_path / "client.toml"  # not ./tracker.toml, which every later command would read too
    extra: dict[str, str] = {}
    if how == "TRACKER_POLICY":
        extra["TRACKER_POLICY"] = str(tmp_path / "weak.toml")
    elif how == "policy_file":
        config.write_text(f'policy_file = "{tmp_path / "weak.toml"}"\n', encoding="utf-8")
    elif how == "[policy]":
        config.write_text("[policy]\n" + WEAK, encoding="utf-8")
    else:
        config.write_text("[security]\npin_attempts = 1000000\nlockout_minutes = 0\n", encoding="utf-8")
    if how != "TRACKER_POLICY":
        extra["TRACKER_CONFIG"] = str(config)
    before = head()
    code, out = invoke("carry-out", "BJ-000001X", "--custodian", badge("reader_core"), "--until", "+3000d", **extra)
    assert code == 2 and "register" in out, out  # refused before anything else: the policy lives in the register
    assert head() == before
    enforced = policy()["policy"]
    assert enforced["two_person_levels"] == ["top_secret"] and enforced["carry_out_max_days"] == 14  # type: ignore[index]
    assert enforced["pin_attempts"] == 5  # type: ignore[index]


def test_policy_change_through_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    assert policy()["version"] == 1
    (tmp_path / "change.toml").write_text("carry_out_max_days = 7\n", encoding="utf-8")
    code, out = invoke("policy", "propose", "change.toml", TRACKER_OPERATOR=badge("clerk"))
    assert code == 3 and "R-25" in out  # only the security officer proposes
    code, out = invoke("policy", "propose", "change.toml", "--note", "一周为限", TRACKER_OPERATOR=badge("officer"))
    assert code == 0, out
    number = re.search(r"#(\d+)", out)
    assert number is not None
    code, out = invoke("approvals", "approve", number.group(1), TRACKER_OPERATOR=badge("officer"))
    assert code == 3 and "R-25" in out  # the proposer does not approve
    assert policy()["version"] == 1
    code, out = invoke("policy", "approve", number.group(1), TRACKER_OPERATOR=badge("approver"))
    assert code == 0 and "granted" in out, out
    shown = policy()
    assert shown["version"] == 2 and shown["policy"]["carry_out_max_days"] == 7  # type: ignore[index]


def test_request_list_approve_deny_and_audit(env: dict[str, str]) -> None:
    code, out = invoke("carrier", "find", "BJ-", "--limit", "500", "--json")
    secret = next(c["code"] for c in json.loads(out) if c["classification"] == "secret" and c["status"] == "in_store"
                  and "法规处" in (c["scope"] or ""))
    code, out = invoke("approvals", "request", "--purpose", "loan", "--carrier", secret, "--for",
                       badge("reader_important"))
    assert code == 0, out
    n = re.search(r"#(\d+)", out)
    assert n is not None
    code, out = invoke("approvals", "list", "--json")
    pending = [r for r in json.loads(out) if r["id"] == int(n.group(1))]
    assert pending and pending[0]["status"] == "pending" and pending[0]["requested_by"] == badge("clerk")
    code, out = invoke("approvals", "deny", n.group(1), "--reason", "不需要", TRACKER_OPERATOR=badge("approver"))
    assert code == 0 and "denied" in out
    code, out = invoke("checkout", secret, "--to", badge("reader_important"), "--approval", n.group(1),
                       TRACKER_BORROWER_PIN="482916")
    assert code == 3 and "R-63" in out
    # The audit log is the security officer's and the auditor's, not the clerk's.
    assert invoke("audit")[0] == 3
    code, out = invoke("audit", "--json", "--rule", "R-63", TRACKER_OPERATOR=badge("auditor"))
    assert code == 0 and any(r["carrier"] == secret for r in json.loads(out)), out
    code, out = invoke("audit", "--json", "--rule", "R-6", TRACKER_OPERATOR=badge("auditor"))
    assert code == 0 and not any("R-63" in r["rules"].split(",") for r in json.loads(out))  # whole ids only


def test_a_world_readable_register_is_reported(env: dict[str, str], tmp_path: Path) -> None:
    register = tmp_path / "r.sqlite"
    register.chmod(0o644)
    code, out = invoke("status")
    assert code == 0 and str(register) in out and "644" in out, out


def test_backup_then_restore_only_after_the_copy_verifies(env: dict[str, str], tmp_path: Path) -> None:
    before = head()
    code, out = invoke("backup", "copy.sqlite")
    assert code == 0 and (tmp_path / "copy.sqlite").is_file(), out
    assert invoke("backup", "copy.sqlite")[0] == 2  # never overwrites
    assert invoke("restore", "missing.sqlite", TRACKER_OPERATOR=badge("officer"))[0] == 4
    assert invoke("restore", "copy.sqlite")[0] == 3  # the clerk may not replace the register
    code, out = invoke("restore", "copy.sqlite", TRACKER_OPERATOR=badge("officer"))
    assert code == 0, out
    assert head() == before


def a_secret_for_reader_important() -> str:
    _, out = invoke("carrier", "find", "BJ-", "--limit", "500", "--json")
    return next(c["code"] for c in json.loads(out) if c["classification"] == "secret" and c["status"] == "in_store"
                and "法规处" in (c["scope"] or ""))


def test_a_pin_reset_gives_a_one_time_pin_replaced_with_pin_change(env: dict[str, str]) -> None:
    admin, clerk2 = badge("admin"), badge("clerk2")
    code, out = invoke("person", "set", clerk2, "--reset-pin", TRACKER_OPERATOR=admin, TRACKER_NEW_PIN="739164")
    assert code == 0, out
    secret = a_secret_for_reader_important()
    as_clerk2 = {"TRACKER_OPERATOR": clerk2, "TRACKER_PIN": "739164"}
    before = head()
    code, out = invoke("approvals", "request", "--purpose", "loan", "--carrier", secret, "--for",
                       badge("reader_important"), **as_clerk2)
    assert code == 3 and "R-25" in out and "pin change" in out, out  # the one-time PIN signs nothing
    assert head() == before
    code, out = invoke("pin", "change", "--badge", clerk2, TRACKER_PIN="739164", TRACKER_NEW_PIN="582931")
    assert code == 0, out
    assert invoke("approvals", "request", "--purpose", "loan", "--carrier", secret, "--for",
                  badge("reader_important"), **as_clerk2)[0] == 3  # the one-time PIN is gone
    code, out = invoke("approvals", "request", "--purpose", "loan", "--carrier", secret, "--for",
                       badge("reader_important"), TRACKER_OPERATOR=clerk2, TRACKER_PIN="582931")
    assert code == 0, out
    # An approver's PIN is reset only before a witness (security officer or auditor), signing with their own PIN.
    code, out = invoke("person", "set", badge("approver"), "--reset-pin", TRACKER_OPERATOR=admin,
                       TRACKER_NEW_PIN="739164")
    assert code == 3 and "R-25" in out and "witness" in out, out
    code, out = invoke("person", "set", badge("approver"), "--reset-pin", "--witness", badge("auditor"),
                       TRACKER_OPERATOR=admin, TRACKER_NEW_PIN="739164", TRACKER_WITNESS_PIN="482916")
    assert code == 0, out
    code, out = invoke("audit", "--json", "--kind", "role_change", "--since", "-1h", TRACKER_OPERATOR=badge("auditor"))
    assert code == 0, out
    assert {json.loads(r["detail"])["badge"] for r in json.loads(out)} == {clerk2, badge("approver")}


def test_the_demo_leaves_a_loan_request_waiting_for_an_approver(env: dict[str, str]) -> None:
    """`make run` opens on this register: the approvals screen (F11) and `approvals list` show a pending request."""
    code, out = invoke("approvals", "list", "--json")
    assert code == 0, out
    loans = [r for r in json.loads(out) if r["purpose"] == "loan"]
    assert loans and all(r["status"] == "pending" for r in loans)
    assert loans[0]["requested_by"] == badge("clerk") and loans[0]["carriers"] and loans[0]["for"], loans[0]


def test_init_makes_four_different_people_with_one_time_pins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """三员分立 from the first minute: administrator, security officer, auditor and approver are four people; one
    badge for two of the three roles is refused and leaves the register empty; the others' PINs are one-time."""
    from tests_support import CLI_ENV

    for k, v in {**CLI_ENV, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite'}"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)
    tmp_path.chmod(0o700)
    admin, officer, auditor, approver = (badge(k) for k in ("admin", "officer", "auditor", "approver"))
    pins = {"TRACKER_PIN": "582931", "TRACKER_OFFICER_PIN": "739164", "TRACKER_AUDITOR_PIN": "739165",
            "TRACKER_APPROVER_PIN": "739166"}

    def init(officer_badge: str, auditor_badge: str) -> tuple[int, str]:
        return invoke("init", "--badge", admin, "--name", "王建国", "--officer-badge", officer_badge,
                      "--officer-name", "李秀英", "--auditor-badge", auditor_badge, "--auditor-name", "周婷",
                      "--approver-badge", approver, "--approver-name", "赵敏", **pins)

    code, out = init(admin, auditor)  # the administrator as his own security officer
    assert code != 0, out
    code, out = invoke("person", "list", "--json")
    assert code == 0 and json.loads(out) == [], out
    code, out = init(officer, auditor)
    assert code == 0, out
    code, out = invoke("person", "list", "--json")
    roles = {p["badge"]: set(p["roles"].split(",")) if isinstance(p["roles"], str) else set(p["roles"])
             for p in json.loads(out)}
    assert roles == {admin: {"admin"}, officer: {"security_officer"}, auditor: {"auditor"},
                     approver: {"approver", "office_leader", "committee"}}
    code, out = invoke("policy", "show", "--json")
    assert code == 0 and json.loads(out)["version"] == 1
    code, out = invoke("audit", TRACKER_OPERATOR=auditor, TRACKER_PIN="739165")
    assert code == 3 and "pin change" in out, out  # the auditor's first PIN is one-time


def test_an_export_of_the_register_is_signed_and_audited(env: dict[str, str]) -> None:
    code, out = invoke("export", "--out", "all.csv")
    assert code == 0, out
    code, out = invoke("export", "--out", "mine.csv", TRACKER_OPERATOR=badge("admin"))
    assert code == 3 and "R-25" in out, out  # the administrator keeps people and places, not the register's content
    code, out = invoke("audit", "--json", "--kind", "export", TRACKER_OPERATOR=badge("auditor"))
    assert code == 0, out
    [entry] = json.loads(out)
    assert entry["actor"] == badge("clerk") and json.loads(entry["detail"])["rows"] > 0
