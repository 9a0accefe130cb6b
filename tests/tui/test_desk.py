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
    out = d.run(Scan(2, lent.code))[0]
    assert out.tone == "ok" and out.carrier is not None and out.carrier.location == target
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
