"""The counter's work without the screen: jobs in, feedback out, on a real demo register."""

from __future__ import annotations

from typing import Any

from tracker.demo import badge, place
from tui.desk import CarryOut, ClearParty, Desk, Mode, Reset, Scan, SetMode, SignParty


def desk(ui: Any, operator: str = "clerk") -> Desk:
    actor = ui.sign(operator)
    return Desk(ui.store, lambda: actor)


def test_waiting_carriers_are_lent_once_the_borrower_signs(ui: Any) -> None:
    items = ui.carriers(lambda v: v.classification == "internal" and v.status == "in_store")[:2]
    d = desk(ui)
    out = d.run(Scan(1, items[0].code)) + d.run(Scan(2, badge("reader_important")))
    assert [f.tone for f in out] == ["waiting", "waiting"] and out[-1].state.waiting == (items[0].code,)
    out = d.run(SignParty("482916", row=2))
    assert [(f.row, f.tone) for f in out] == [(2, "ok"), (1, "ok")]
    out = d.run(Scan(3, items[1].code.lower() + "  "))  # scanners add case and whitespace noise
    assert out[0].tone == "ok" and out[0].carrier is not None and out[0].carrier.holder == badge("reader_important")
    assert ui.carrier(items[0].code).status == "on_loan"


def test_wrong_pin_keeps_the_party_unsigned(ui: Any) -> None:
    d = desk(ui)
    d.run(Scan(1, badge("reader_core")))
    out = d.run(SignParty("0000"))
    assert out[0].tone == "error" and "wrong PIN" in out[0].title
    assert d.state.party is not None and d.state.party.signed is None
    d.run(ClearParty())
    assert d.state.party is None


def test_bad_codes_are_red_and_name_the_problem(ui: Any) -> None:
    d = desk(ui)
    code = ui.carriers(lambda v: True)[0].code
    wrong_check = code[:-1] + ("0" if code[-1] != "0" else "1")
    out = d.run(Scan(1, wrong_check))[0]
    assert out.tone == "error" and out.bell
    out = d.run(Scan(2, "hello"))[0]
    assert out.tone == "error" and "not a carrier, badge or place" in out.title
    out = d.run(Scan(3, "LOC-BJ-NOPE" + "X"))[0]
    assert out.tone == "error"


def test_check_in_to_a_scanned_place_and_lookup(ui: Any) -> None:
    lent = ui.carriers(lambda v: v.status == "on_loan" and v.classification != "top_secret")[0]
    d = desk(ui)
    d.run(SetMode(Mode.CHECK_IN))
    target = place(lent.code[:2], "R2C2S3")
    assert d.run(Scan(1, target))[0].tone == "info"
    out = d.run(Scan(2, lent.code))[0]  # nobody has said who returns it: it waits
    assert out.tone == "waiting" and out.carrier is not None and out.carrier.status == "on_loan"
    assert lent.holder is not None
    d.run(Scan(4, lent.holder))  # the fast path: the holder's badge, then their PIN
    out = next(f for f in d.run(SignParty("482916")) if f.code == lent.code)
    assert out.tone == "ok" and out.carrier is not None and out.carrier.location == target
    assert any(lent.holder in line for line in out.lines)
    d.run(SetMode(Mode.LOOKUP))
    out = d.run(Scan(3, lent.code))[0]
    assert out.tone == "info" and out.carrier is not None and out.carrier.status == "in_store"
    d.run(Reset())
    assert d.state.place is None and d.state.mode == Mode.LOOKUP


def test_carry_out_of_top_secret_needs_a_second_person(ui: Any) -> None:
    ts = ui.carriers(lambda v: v.classification == "top_secret" and v.status == "in_store"
                     and "办公室" in (v.scope or ""))[0]
    ui.grant("carry_out", [ts.code], grantee="officer")
    d = desk(ui)
    d.run(Scan(1, badge("officer")))
    d.run(SignParty("482916"))
    due = ui.clock() + __import__("datetime").timedelta(days=2)
    out = d.run(CarryOut(2, ts.code, due, "meeting"))[0]
    assert out.tone == "refused" and "R-93" in out.rules
    out = d.run(CarryOut(3, ts.code, due, "meeting", companion=badge("admin"), companion_pin="482916"))[0]
    assert out.tone == "ok", out
    assert ui.carrier(ts.code).status == "carried_out"


def test_carry_out_refused_for_want_of_approval_offers_a_request(ui: Any) -> None:
    from datetime import timedelta

    from tracker.services import approvals
    from tui.desk import RaiseRequest

    secret = ui.carriers(lambda v: v.classification == "secret" and v.status == "in_store"
                         and "办公室" in (v.scope or ""))[0]
    d = desk(ui)
    d.run(Scan(1, badge("officer")))
    d.run(SignParty("482916"))
    due = ui.clock() + timedelta(days=2)
    out = d.run(CarryOut(2, secret.code, due, "meeting"))[0]
    assert out.tone == "refused" and "R-92" in out.rules and out.request == "carry_out"
    assert any("Ctrl+R" in line for line in out.lines)
    until = ui.clock() + timedelta(hours=8)
    raised = d.run(RaiseRequest(3, "carry_out", (secret.code,), badge("officer"), until, "meeting"))[0]
    assert raised.tone == "waiting", raised
    pending = approvals.views(ui.store.uow(readonly=True), status="pending")
    mine = [v for v in pending if v.carriers == [secret.code]]
    assert [(v.purpose, v.requester, v.grantee, v.note) for v in mine] == [
        ("carry_out", badge("clerk"), badge("officer"), "meeting")]
    # While it waits, the counter sends the clerk to the approver rather than to a second, duplicate request.
    out = d.run(CarryOut(4, secret.code, due, "meeting"))[0]
    assert out.tone == "refused" and out.request is None and any("F11" in line for line in out.lines)
    # A refusal a request cannot mend (no return deadline) offers none.
    internal = ui.carriers(lambda v: v.classification == "internal" and v.status == "in_store")[0]
    out = d.run(CarryOut(5, internal.code, ui.clock() - timedelta(hours=1), "meeting"))[0]
    assert out.tone == "refused" and out.rules == ("R-92",) and out.request is None
    assert not any("Ctrl+R" in line for line in out.lines)


def test_the_counter_names_no_command_line_options(ui: Any) -> None:
    ts = ui.carriers(lambda v: v.classification == "top_secret" and v.status == "in_store"
                     and "技术处" in (v.scope or ""))[0]
    ui.grant("loan", [ts.code], grantee="reader_core")
    d = desk(ui)
    d.run(Scan(1, badge("reader_core")))
    d.run(SignParty("482916"))
    out = d.run(Scan(2, ts.code))[0]  # no reading place scanned first
    assert out.tone == "refused" and out.rules == ("R-67",) and out.request is None
    assert not any("--" in line for line in out.lines), out.lines
    assert any("reading place's code" in line for line in out.lines)


def test_a_granted_approval_is_used_before_a_newer_pending_request(ui: Any) -> None:
    from datetime import timedelta

    from tracker.services import approvals

    secret = ui.carriers(lambda v: v.classification == "secret" and v.status == "in_store"
                         and "法规处" in (v.scope or ""))[0]
    granted = ui.grant("loan", [secret.code], grantee="reader_important")
    approvals.request(ui.store.uow(), ui.sign("clerk"), "loan", [secret.code], ui.clock() + timedelta(hours=4),
                      grantee=badge("reader_important"))
    d = desk(ui)
    d.run(Scan(1, badge("reader_important")))
    d.run(SignParty("482916"))
    out = d.run(Scan(2, secret.code))[0]
    assert out.tone == "ok" and f"Approval #{granted}" in out.lines, out


def test_a_proxy_returns_only_with_the_holders_countersignature(ui: Any) -> None:
    lent = ui.carriers(lambda v: v.status == "on_loan" and v.holder == badge("reader_core")
                       and v.classification in ("secret", "confidential", "internal"))[0]
    d = desk(ui)
    d.run(SetMode(Mode.CHECK_IN))
    d.run(Scan(1, badge("reader_important")))  # another reader brings it back
    d.run(SignParty("482916", row=1))
    out = d.run(Scan(2, lent.code))[0]
    assert out.tone == "waiting" and out.state.holder_badge == badge("reader_core")
    assert ui.carrier(lent.code).status == "on_loan"  # nothing yet: a proxy alone is 代交
    out = d.run(Scan(3, badge("reader_core")))[0]  # the holder countersigns
    assert out.tone == "waiting" and out.state.holder is not None
    out = d.run(SignParty("482916", row=3))
    back = next(f for f in out if f.code == lent.code)
    assert back.tone == "ok" and back.state.holder is None
    assert ui.carrier(lent.code).status == "in_store"
