"""End-to-end flows through the counter on a real SQLite demo register: what an operator types and scans, what the
screen answers, and what the register then holds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from tracker import queries
from tracker.demo import badge, place
from tracker.schema import Event, Refusal
from tracker.services import circulation, registry
from tui.screens.alerts import AlertsScreen
from tui.screens.login import LoginScreen
from tui.screens.register import CarrierScreen, RegisterScreen
from tui.widgets.card import FeedbackCard


def bells(app: Any) -> list[int]:
    rung: list[int] = []
    app.bell = lambda: rung.append(1)
    return rung


def card_text(app: Any) -> str:
    return str(app.screen.query_one("#card", FeedbackCard).render())


async def test_login_locks_after_five_wrong_pins(ui: Any) -> None:
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, LoginScreen)
        screen = app.screen
        await ui.type(pilot, badge("clerk"))
        await ui.type(pilot, "9999")
        await ui.until(pilot, lambda: "Sign-in failed" in str(screen.query_one("#login-message").render()))
        for _ in range(4):  # the same through the form's own submit, without typing every key
            screen.query_one("#badge").value = badge("clerk")
            screen.query_one("#pin").value = "9999"
            await screen.attempt()
        def last_reason() -> str | None:
            with ui.store.uow(readonly=True) as uow:
                return uow.session.execute(select(Refusal.detail).where(Refusal.action == "sign_in")
                                           .order_by(Refusal.id.desc()).limit(1)).scalar()

        assert last_reason() == "wrong PIN; now locked"
        await ui.type(pilot, "482916")  # the right PIN, but the badge is locked now
        # The audit log has the reason for the security officer …
        await ui.until(pilot, lambda: last_reason() == "locked")
        # … while the screen says only that sign-in failed: nothing about which badges exist or are locked.
        assert "Sign-in failed" in str(app.screen.query_one("#login-message").render())
        assert isinstance(app.screen, LoginScreen) and app.ctx.actor is None
        ui.clock.advance(minutes=ui.store.policy.lockout_minutes + 1)
        await ui.login(pilot)
        assert app.ctx.actor is not None and app.ctx.actor.badge == badge("clerk")


async def test_check_out_confidential_to_cleared_person(ui: Any) -> None:
    carrier = ui.carriers(lambda v: v.classification == "confidential" and v.status == "in_store"
                          and "法规处" in (v.scope or ""))[0]
    approval = ui.grant("loan", [carrier.code], grantee="reader_general")
    extra = ui.carriers(lambda v: v.classification == "internal" and v.status == "in_store")[0]
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        rung = bells(app)
        await ui.login(pilot)
        await ui.scan(pilot, carrier.code)  # before the borrower: waits in the queue
        await ui.scan(pilot, badge("reader_general"))
        await ui.pin_dialog(pilot)
        await ui.scan(pilot, extra.code)  # scanned while the PIN dialog is open: still queued, never typed in
        await ui.until(pilot, lambda: app.counter.submitted == 3)
        assert app.screen.query_one("#pin").value == ""
        await ui.type(pilot, "482916")
        await ui.answered(pilot)
        assert app.counter.feedback[3].tone == "ok" and app.counter.feedback[3].code == extra.code
        fb = app.counter.feedback[1]
        assert fb.tone == "ok" and fb.carrier is not None and fb.carrier.holder == badge("reader_general")
        assert f"Approval #{approval}" in fb.lines
        assert "Checked out to 孙丽" in card_text(app) or "Checked out" in str(app.counter.feedback[1].title)
        assert not rung
    after = ui.carrier(carrier.code)
    assert after.status == "on_loan" and after.holder == badge("reader_general")
    with ui.store.uow(readonly=True) as uow:
        last = uow.session.execute(select(Event).where(Event.carrier == carrier.code)
                                   .order_by(Event.seq.desc()).limit(1)).scalar_one()
        got = (last.type, last.carrier, last.to_holder, last.approval_id)
    assert got == ("checked_out", carrier.code, badge("reader_general"), approval)


async def test_top_secret_to_general_person_is_refused_with_rule(ui: Any) -> None:
    carrier = ui.carriers(lambda v: v.classification == "top_secret" and v.status == "in_store")[0]
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        rung = bells(app)
        await ui.login(pilot)
        await ui.scan(pilot, badge("reader_general"))
        await ui.pin_dialog(pilot)
        await ui.scan(pilot, "482916")  # a PIN typed as fast as a scanner types stays a PIN, never a "scan"
        await ui.until(pilot, lambda: app.counter.state.party is not None and app.counter.state.party.signed)
        await ui.scan(pilot, place(carrier.code[:2], "R1"))  # the reading room, so only the clearance is wrong
        await ui.scan(pilot, carrier.code)
        await ui.answered(pilot)
        answers = {r: (f.code, f.source, f.tone, f.title) for r, f in app.counter.feedback.items()}
        assert all("482916" not in (f.code or "") for f in app.counter.feedback.values()), answers
        assert set(answers) == {1, 2, 3}, answers
        fb = app.counter.feedback[3]
        assert fb.tone == "refused" and "R-159" in fb.rules
        text = card_text(app)
        assert "R-159" in text and "needs core" in text
        assert rung
    assert ui.carrier(carrier.code).status == "in_store"
    with ui.store.uow(readonly=True) as uow:
        audit = [(a.action, a.rules) for a in
                 uow.session.execute(select(Refusal).where(Refusal.carrier == carrier.code)).scalars()]
    assert [a for a, _r in audit] == ["check_out"] and "R-159" in audit[0][1]


async def test_check_in_returns_to_its_place(ui: Any) -> None:
    lent = ui.carriers(lambda v: v.status == "on_loan")[0]
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await pilot.press("f3")
        await ui.scan(pilot, lent.code)
        await ui.answered(pilot)
        assert app.counter.feedback[1].tone == "waiting"  # who returns it signs first
        await ui.scan(pilot, lent.holder)
        await ui.pin_dialog(pilot)
        await ui.type(pilot, "482916")
        await ui.until(pilot, lambda: app.counter.feedback[1].tone != "waiting")
        fb = app.counter.feedback[1]
        assert fb.tone == "ok", fb
    back = ui.carrier(lent.code)
    assert back.status == "in_store" and back.holder is None and back.location is not None
    with ui.store.uow(readonly=True) as uow:
        last = uow.session.execute(select(Event.payload).where(Event.carrier == lent.code)
                                   .order_by(Event.seq.desc())).scalars().first()
    assert last is not None and json.loads(last)["returned_by"] == lent.holder


async def test_handover_with_both_parties_and_receipt(ui: Any) -> None:
    lent = ui.carriers(lambda v: v.status == "on_loan" and v.holder == badge("reader_core"))[0]
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        screen = await ui.open_handover(pilot, "reader_core", "courier")
        await ui.scan(pilot, lent.code)
        await ui.until(pilot, lambda: len(screen.carriers) == 1)
        await pilot.press("ctrl+s")
        await ui.until(pilot, lambda: bool(screen.events))
        await pilot.press("ctrl+p")
        await ui.until(pilot, lambda: screen.receipt_path is not None)
        with open(screen.receipt_path, "rb") as fh:
            assert fh.read(5) == b"%PDF-"
    after = ui.carrier(lent.code)
    assert after.holder == badge("courier") and after.status == "in_transit"
    with ui.store.uow(readonly=True) as uow:
        ev = uow.session.execute(select(Event).where(Event.seq == screen.events[0])).scalar_one()
        got = (ev.type, ev.from_holder, ev.to_holder)
    assert got == ("handed_over", badge("reader_core"), badge("courier"))


async def test_search_and_carrier_timeline(ui: Any) -> None:
    target = ui.carriers(lambda v: v.status == "on_loan")[0]
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await pilot.press("f9")
        await ui.until(pilot, lambda: isinstance(app.screen, RegisterScreen))
        screen = app.screen
        field = screen.query_one("#search")
        field.value = target.title.split()[0]  # a title word (Chinese arrives through the IME, not as keys)
        await ui.until(pilot, lambda: screen.last_query == field.value and len(screen.results) > 1)
        assert all(field.value in v.title for v in screen.results)
        field.value = ""
        await ui.type(pilot, target.code[:6], enter=False)  # typed, incremental: the code's prefix
        await ui.until(pilot, lambda: screen.last_query == target.code[:6])
        await ui.type(pilot, target.code[6:], enter=False)
        await ui.until(pilot, lambda: [v.code for v in screen.results] == [target.code])
        await pilot.press("enter")
        await ui.until(pilot, lambda: isinstance(app.screen, CarrierScreen) and app.screen.history)
        kinds = [e.type for e in app.screen.history]
        assert kinds[0] == "registered" and "checked_out" in kinds
        assert app.screen.query_one("#timeline").row_count == len(kinds)


async def test_overdue_loan_appears_in_alerts(ui: Any) -> None:
    free = ui.carriers(lambda v: v.classification == "internal" and v.status == "in_store")[0]
    circulation.check_out(ui.store.uow(), ui.sign("clerk"), free.code, ui.sign("reader_general"))
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await pilot.press("f10")
        await ui.until(pilot, lambda: isinstance(app.screen, AlertsScreen))
        assert free.code not in [a.carrier for a in app.screen.alerts]
        ui.clock.advance(days=3)
        await pilot.press("r")
        await ui.until(pilot, lambda: free.code in [a.carrier for a in app.screen.alerts])
        alert = next(a for a in app.screen.alerts if a.carrier == free.code)
        assert alert.kind == "overdue" and alert.person == badge("reader_general")


async def test_user_data_is_shown_literally(ui: Any) -> None:
    code = registry.register(ui.store.uow(), ui.sign("clerk"), registry.CarrierInput(
        location=place("BJ", "R2C1S1"), classification="internal", title="[red]not markup[/red] [b]",
        doc_number="[link=x]1[/link]"))
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await ui.look_up(pilot, code)
        text = card_text(app)
        assert "[red]not markup[/red] [b]" in text and "[link=x]1[/link]" in text


async def test_idle_lock_and_unlock_resumes(ui: Any) -> None:
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        counter = app.counter
        await ui.scan(pilot, badge("reader_core"))
        await ui.pin_dialog(pilot)
        await ui.type(pilot, "482916")
        await ui.answered(pilot)
        assert counter.state.party is not None and counter.state.party.signed is not None
        ui.monotonic.now += 9 * 60
        assert not app.lock_if_idle()
        ui.monotonic.now += 2 * 60
        assert app.lock_if_idle()
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen) and app.screen.locked_by == badge("clerk")
        await ui.type(pilot, "482916")  # the badge is filled in; the PIN field has focus
        await ui.until(pilot, lambda: app.screen is counter)
        await ui.answered(pilot)
        assert counter.state.party is None  # the counter-party's signature did not survive the lock
        assert counter.query_one("#queue").row_count == 1


async def test_report_missing_starts_the_clock(ui: Any) -> None:
    target = ui.carriers(lambda v: v.classification == "secret" and v.status == "in_store")[0]
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await ui.look_up(pilot, target.code)
        await pilot.press("f8")
        await ui.on_screen(pilot, "MissingDialog")
        await ui.type(pilot, "shelf empty")
        await ui.answered(pilot)
        fb = app.counter.feedback[2]
        assert fb.title == "Reported missing" and "2027-01-24" in " ".join(fb.lines)
    assert ui.carrier(target.code).status == "missing"
    with ui.store.uow(readonly=True) as uow:
        found = [a for a in queries.alerts(uow) if a.carrier == target.code]
    assert found and found[0].kind == "missing" and "R-155" in found[0].en


async def test_copy_with_approval(ui: Any) -> None:
    original = ui.carriers(lambda v: v.classification == "confidential" and v.status == "in_store")[0]
    ui.grant("copy", [original.code], copies=2)
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await ui.look_up(pilot, original.code)
        await pilot.press("f7")
        await ui.on_screen(pilot, "CountDialog")
        await pilot.press("backspace")
        await ui.type(pilot, "2")
        await ui.answered(pilot)
        fb = app.counter.feedback[2]
        assert fb.tone == "ok", fb
        new_codes = fb.lines[-2].split(": ")[1].split(", ")
    assert len(new_codes) == 2 and all(ui.carrier(c).doc_number == original.doc_number for c in new_codes)


async def test_register_form_shows_rules_then_registers(ui: Any) -> None:
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await pilot.press("f9")
        await ui.until(pilot, lambda: isinstance(app.screen, RegisterScreen))
        await pilot.press("ctrl+n")
        await ui.on_screen(pilot, "NewCarrierScreen")
        screen = app.screen
        await ui.type(pilot, place("BJ", "R2C1S1"))
        await ui.type(pilot, "机密")
        await pilot.press("ctrl+s")
        await ui.until(pilot, lambda: screen.query_one("#card").feedback.tone == "refused")
        assert {"R-02", "R-30"} <= set(screen.query_one("#card").feedback.rules)
        for key, value in (("period", "10y"), ("scope", "法规处"), ("title", "Test plan"), ("copy", "1/2")):
            screen.query_one(f"#f-{key}").value = value
        await pilot.press("ctrl+s")
        await ui.until(pilot, lambda: screen.registered is not None)
        await pilot.press("ctrl+p")
        await ui.until(pilot, lambda: screen.query_one("#card").feedback.title == "Label saved")
    made = ui.carrier(screen.registered)
    assert (made.classification, made.copy_number, made.copy_total) == ("secret", 1, 2)


@pytest.mark.parametrize(("who", "may_seal"), [("officer", True), ("clerk", False)])
async def test_ledger_verify_and_seal_by_role(ui: Any, who: str, may_seal: bool) -> None:
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot, who)
        await pilot.press("ctrl+l")
        await ui.on_screen(pilot, "LedgerScreen")
        screen = app.screen
        rung = bells(app)
        await pilot.press("v")
        await ui.until(pilot, lambda: screen.report is not None)
        assert screen.report.ok and screen.report.checked == screen.report.head_seq
        await pilot.press("s")
        if may_seal:
            await ui.until(pilot, lambda: screen.sealed is not None)
            assert screen.sealed[0] == screen.report.head_seq and not rung
        else:  # sealing attests the chain: not a counter clerk's duty
            await ui.until(pilot, lambda: bool(rung))
            assert screen.sealed is None and "R-25" in str(screen.query_one("#ledger-result").render())


async def test_chinese_counter(ui: Any) -> None:
    carrier = ui.carriers(lambda v: v.classification == "top_secret" and v.status == "in_store")[0]
    app = ui.app("zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await ui.scan(pilot, badge("reader_general"))
        await ui.pin_dialog(pilot)
        await ui.type(pilot, "482916")
        await ui.scan(pilot, carrier.code)
        await ui.answered(pilot)
        text = card_text(app)
        assert "拒绝" in text and "R-159" in text and "不得持有绝密载体" in text
        assert "借出" in str(app.counter.query_one("#desk-state").render())



async def test_approver_sees_unused_approvals_and_light_theme(ui: Any) -> None:
    carrier = ui.carriers(lambda v: v.classification == "secret" and v.status == "in_store"
                          and "法规处" in (v.scope or ""))[0]
    approval = ui.grant("loan", [carrier.code], grantee="reader_important")
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot, "approver")
        await pilot.press("f10")
        await ui.until(pilot, lambda: isinstance(app.screen, AlertsScreen) and bool(app.screen.alerts))
        mine = [a for a in app.screen.alerts if a.kind == "approval"]
        assert sum(f"#{approval} " in a.en for a in mine) == 1
        await pilot.press("f12")
        assert app.theme == "textual-light"


async def test_typing_and_scanning_are_told_apart(ui: Any) -> None:
    lent = ui.carriers(lambda v: v.status == "on_loan")[:2]
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await pilot.press("f3")
        await ui.scan(pilot, badge("clerk"))  # the registry takes them back itself, the clerk signing
        await ui.pin_dialog(pilot)
        await ui.type(pilot, "482916")
        await ui.answered(pilot)
        signed = set(app.counter.feedback)
        field = app.counter.query_one("#scan")
        await ui.type(pilot, lent[0].code[:4], enter=False)  # the operator starts typing a code by hand…
        await ui.scan(pilot, lent[1].code)  # …when a scan arrives
        await ui.answered(pilot)
        assert field.value == lent[0].code[:4]  # the scan never mixed into the typed text
        await ui.type(pilot, lent[0].code[4:])  # finishing the typed code and pressing Enter
        await ui.answered(pilot)
        answers = [app.counter.feedback[r] for r in sorted(app.counter.feedback) if r not in signed]
        assert [(f.code, f.source, f.tone) for f in answers] == [(lent[1].code, "scan", "ok"),
                                                                 (lent[0].code, "typed", "ok")]
        assert field.value == ""


async def test_another_operator_unlocking_starts_afresh(ui: Any) -> None:
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        first = app.counter
        await pilot.press("f9")
        await ui.until(pilot, lambda: isinstance(app.screen, RegisterScreen))
        await pilot.press("ctrl+o")
        await ui.until(pilot, lambda: isinstance(app.screen, LoginScreen))
        field = app.screen.query_one("#badge")
        field.value = ""
        field.focus()
        await ui.login(pilot, "officer")
        assert app.counter is not first and app.screen is app.counter
        assert app.ctx.actor is not None and app.ctx.actor.badge == badge("officer")
        assert len(app.screen_stack) == 2
