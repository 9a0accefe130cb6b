"""Two-person integrity at the counter (issue 15): a clerk raises a request when a loan is refused for want of an
approval, an approver standing at the counter signs it with badge and PIN, and the loan goes out on the next scan;
denials, self-approval and the audit screen — asserted on the register, not only on the screen."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from tracker.demo import DEMO_PIN, badge
from tracker.domain import DomainError
from tracker.schema import Approval, ApprovalDecision, Event, Person, Refusal
from tracker.services.common import authenticate
from tui.screens.approvals import ApprovalsScreen
from tui.screens.audit import AuditScreen
from tui.widgets.card import FeedbackCard


def card_text(app: Any) -> str:
    return str(app.screen.query_one("#card", FeedbackCard).render())


def shown_whole(widget: Any) -> bool:
    """The widget's text fits inside it (no line cut by its max height) and it sits above the key bar."""
    region = widget.content_region
    needed = widget.get_content_height(region.size, region.size, region.width)
    keybar = widget.screen.query_one(".keybar")
    return needed <= region.height and widget.region.bottom <= keybar.region.y


def secret_carrier(ui: Any) -> Any:
    return ui.carriers(lambda v: v.classification == "secret" and v.status == "in_store"
                       and "法规处" in (v.scope or ""))[0]


async def refused_then_request(ui: Any, pilot: Any, code: str, borrower: str, note: str = "case review") -> int:
    """Sign the borrower in at the counter, scan the carrier (refused R-63), raise a request with Ctrl+R."""
    app = pilot.app
    await ui.scan(pilot, badge(borrower))
    await ui.pin_dialog(pilot)
    await ui.type(pilot, DEMO_PIN)
    await ui.scan(pilot, code)
    await ui.answered(pilot)
    refused = app.counter.feedback[2]
    assert refused.tone == "refused" and "R-63" in refused.rules and refused.request == "loan", refused
    assert "--" not in card_text(app)  # the counter says what to do here, never a command-line option
    await pilot.press("ctrl+r")
    await ui.on_screen(pilot, "RequestDialog")
    dialog = app.screen
    assert dialog.query_one("#codes").value == code and dialog.query_one("#grantee").value == badge(borrower)
    assert dialog.query_one("#until").value.endswith("18:00")  # the end of the working day, local time
    await ui.until(pilot, lambda: app.focused is not None and app.focused.id == "note")
    await ui.type(pilot, note)
    await ui.answered(pilot)
    raised = app.counter.feedback[3]
    assert raised.tone == "waiting", raised
    match = re.search(r"#(\d+)", raised.title)
    assert match is not None
    return int(match.group(1))


async def open_approvals(ui: Any, pilot: Any, number: int) -> ApprovalsScreen:
    app = pilot.app
    await pilot.press("f11")
    await ui.on_screen(pilot, "ApprovalsScreen")
    screen = app.screen
    await ui.until(pilot, lambda: bool(screen.rows) and screen.rows[0].view.id == number)
    return screen  # type: ignore[no-any-return]


async def second_person(ui: Any, pilot: Any, key: str, pin: str = DEMO_PIN) -> None:
    """The person standing at the counter scans their badge in the decision dialog and types their PIN."""
    app = pilot.app
    await ui.on_screen(pilot, "DecisionDialog")
    await ui.until(pilot, lambda: app.focused is not None and app.focused.id == "badge")
    await ui.scan(pilot, badge(key))
    await ui.until(pilot, lambda: app.focused is not None and app.focused.id == "pin")
    await ui.type(pilot, pin)


def request_state(ui: Any, number: int) -> tuple[str, str | None, str | None, list[tuple[str, str, str]]]:
    with ui.store.uow(readonly=True) as uow:
        a = uow.session.get(Approval, number)
        assert a is not None
        people = {p.id: p.badge for p in uow.session.execute(select(Person)).scalars()}
        decided = [(people[d.person_id], d.decision, d.reason) for d in uow.session.execute(
            select(ApprovalDecision).where(ApprovalDecision.approval_id == number)).scalars()]
        return a.status, people.get(a.requester_id or 0), people.get(a.grantee_id or 0), decided


def _last_request(ui: Any) -> tuple[str, str, str | None]:
    """The newest request's purpose, status and for whom (badge)."""
    with ui.store.uow(readonly=True) as uow:
        a = uow.session.execute(select(Approval).order_by(Approval.id.desc()).limit(1)).scalar_one()
        grantee = uow.session.get(Person, a.grantee_id)
        return a.purpose, a.status, grantee.badge if grantee else None


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_request_signed_at_the_counter_then_the_loan_goes_out(ui: Any, lang: str) -> None:
    carrier = secret_carrier(ui)
    app = ui.app(lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        number = await refused_then_request(ui, pilot, carrier.code, "reader_important")
        assert request_state(ui, number) == ("pending", badge("clerk"), badge("reader_important"), [])
        screen = await open_approvals(ui, pilot, number)
        row = screen.query_one("#requests").get_row_at(0)
        assert [str(c) for c in row[-2:]] == ["0/1", "待审批" if lang == "zh" else "pending"]
        assert str(row[5]) == "11-25 18:00"  # local time (Asia/Shanghai), not the UTC the register stores
        await pilot.press("a")
        await second_person(ui, pilot, "approver")
        await ui.until(pilot, lambda: screen.outcome == "granted")
        summary = str(screen.query_one("#approvals-summary").render())
        assert f"#{number}" in summary and badge("approver") in summary
        await pilot.press("escape")
        await ui.on_screen(pilot, "CounterScreen")
        await ui.scan(pilot, carrier.code)  # the same carrier again: no approval number typed anywhere
        await ui.answered(pilot)
        lent = app.counter.feedback[4]
        assert lent.tone == "ok", lent
        assert (f"审批 #{number}" if lang == "zh" else f"Approval #{number}") in lent.lines
    assert request_state(ui, number) == ("granted", badge("clerk"), badge("reader_important"),
                                         [(badge("approver"), "approve", "")])
    after = ui.carrier(carrier.code)
    assert after.status == "on_loan" and after.holder == badge("reader_important")
    with ui.store.uow(readonly=True) as uow:
        last = uow.session.execute(select(Event).where(Event.carrier == carrier.code)
                                   .order_by(Event.seq.desc()).limit(1)).scalar_one()
        assert (last.type, last.actor, last.to_holder, last.approval_id) == (
            "checked_out", badge("clerk"), badge("reader_important"), number)


async def test_a_denial_shows_its_reason_and_the_loan_stays_refused(ui: Any) -> None:
    carrier = secret_carrier(ui)
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        number = await refused_then_request(ui, pilot, carrier.code, "reader_important")
        screen = await open_approvals(ui, pilot, number)
        await pilot.press("d")
        await second_person(ui, pilot, "approver")
        await ui.until(pilot, lambda: app.focused is not None and app.focused.id == "reason")
        await ui.type(pilot, "not on the project")
        await ui.until(pilot, lambda: screen.outcome == "denied")
        await pilot.press("escape")
        await ui.on_screen(pilot, "CounterScreen")
        await ui.scan(pilot, carrier.code)
        await ui.answered(pilot)
        again = app.counter.feedback[4]
        assert again.tone == "refused" and "R-63" in again.rules
        assert f"Approval #{number} was denied." in card_text(app)
        # The clerk's approvals screen, opened afresh, shows the request denied and why.
        screen = await open_approvals(ui, pilot, number)
        assert str(screen.query_one("#requests").get_row_at(0)[-1]) == "denied"
        detail = str(screen.query_one("#request-detail").render())
        assert f"Denied by {badge('approver')} 赵敏: not on the project" in detail
    assert request_state(ui, number)[0] == "denied"
    assert request_state(ui, number)[3] == [(badge("approver"), "deny", "not on the project")]
    assert ui.carrier(carrier.code).status == "in_store"


@pytest.mark.parametrize(("who", "borrower", "says"), [
    ("clerk", "reader_important", "may not approve: it needs the role"),  # the requester, who holds no approver role
    ("approver2", "approver2", "may not approve their own request"),  # the approver the loan is for
])
async def test_nobody_approves_their_own_request_at_the_counter(ui: Any, who: str, borrower: str, says: str) -> None:
    carrier = secret_carrier(ui)
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        number = await refused_then_request(ui, pilot, carrier.code, borrower)
        screen = await open_approvals(ui, pilot, number)
        await pilot.press("a")
        await second_person(ui, pilot, who)
        await ui.until(pilot, lambda: screen.outcome == "refused")
        detail = screen.query_one("#request-detail")
        text = str(detail.render())
        assert "R-25" in text and says in text, text
        assert shown_whole(detail)
    assert request_state(ui, number)[0] == "pending" and request_state(ui, number)[3] == []
    assert ui.carrier(carrier.code).status == "in_store"
    with ui.store.uow(readonly=True) as uow:
        audited = uow.session.execute(select(Refusal).where(Refusal.action == "approve")
                                      .order_by(Refusal.id.desc()).limit(1)).scalar_one()
        assert audited.actor == badge(who) and "R-25" in audited.rules


async def test_an_approver_signed_in_sees_every_pending_request_and_decides(ui: Any) -> None:
    carrier = secret_carrier(ui)
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        number = await refused_then_request(ui, pilot, carrier.code, "reader_important")
        await pilot.press("ctrl+o")
        await ui.on_screen(pilot, "LoginScreen")
        field = app.screen.query_one("#badge")
        field.value = ""
        field.focus()
        await ui.login(pilot, "approver")
        screen = await open_approvals(ui, pilot, number)
        assert len(screen.rows) == 2 and all(r.view.status == "pending" for r in screen.rows)  # the demo's too
        demo = screen.rows[1].view.id
        await pilot.press("a")  # signed in with an approving role: no second person needed
        await ui.until(pilot, lambda: screen.outcome == "granted")
        await ui.until(pilot, lambda: [r.view.id for r in screen.rows] == [demo])
        await pilot.press("d")  # a denial asks only its reason
        await ui.on_screen(pilot, "DecisionDialog")
        assert not app.screen.query("#badge") and app.focused is not None and app.focused.id == "reason"
        await ui.type(pilot, "no project code")
        await ui.until(pilot, lambda: screen.outcome == "denied")
        await ui.until(pilot, lambda: not screen.rows)
        assert f"Request #{demo} denied ({badge('approver')}): no project code" in str(
            screen.query_one("#approvals-summary").render())
    assert request_state(ui, number)[3] == [(badge("approver"), "approve", "")]
    assert request_state(ui, number)[0] == "granted"
    assert request_state(ui, demo)[:1] == ("denied",)
    assert request_state(ui, demo)[3] == [(badge("approver"), "deny", "no project code")]


async def test_matrix_role_and_clearance_refusals_are_shown_whole(ui: Any) -> None:
    from datetime import timedelta

    from tracker.services import approvals

    ts = ui.carriers(lambda v: v.classification == "top_secret" and v.status == "in_store"
                     and "技术处" in (v.scope or ""))[0]
    number = approvals.request(ui.store.uow(), ui.sign("clerk"), "loan", [ts.code], ui.clock() + timedelta(hours=4),
                               grantee=badge("reader_core"), note="review")
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        screen = await open_approvals(ui, pilot, number)
        await pilot.press("a")
        await second_person(ui, pilot, "approver3")  # an approver with 重要 clearance, not the office leader
        await ui.until(pilot, lambda: screen.outcome == "refused")
        detail = screen.query_one("#request-detail")
        text = str(detail.render())
        assert "R-159" in text and "R-63" in text and "office_leader" in text and "needs core" in text, text
        assert shown_whole(detail)
    assert request_state(ui, number)[0] == "pending"


async def test_audit_screen_is_for_the_officer_and_auditor_only(ui: Any) -> None:
    with pytest.raises(DomainError):
        authenticate(ui.store.uow(), badge("clerk2"), "000000")  # a failed sign-in, for the log
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await pilot.press("ctrl+g")
        await ui.on_screen(pilot, "AuditScreen")
        screen = app.screen
        await ui.until(pilot, lambda: screen.refused is not None)
        summary = screen.query_one("#audit-summary")
        assert "R-25" in str(summary.render()) and not screen.entries and screen.query_one("#audit").row_count == 0
        assert shown_whole(summary)
        await pilot.press("ctrl+o")
        await ui.on_screen(pilot, "LoginScreen")
        field = app.screen.query_one("#badge")
        field.value = ""
        field.focus()
        await ui.login(pilot, "auditor")
        await pilot.press("ctrl+g")
        await ui.on_screen(pilot, "AuditScreen")
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        await ui.until(pilot, lambda: bool(screen.entries))
        kinds = [(e.kind, e.actor, e.action) for e in screen.entries]
        assert kinds[0] == ("refused", badge("clerk"), "audit")  # newest first: the clerk's attempt just now
        assert ("signin_failed", badge("clerk2"), "sign_in") in kinds
        detail = screen.query_one("#audit-detail")
        assert "R-25" in str(detail.render()) and "10:00:00" in str(detail.render())  # local time, to the second
        failed = next(i for i, e in enumerate(screen.entries) if e.kind == "signin_failed")
        for _ in range(failed):
            await pilot.press("down")  # the filter keeps the focus; ↑/↓ walk the rows
        await ui.until(pilot, lambda: "wrong PIN" in str(detail.render()))
        await ui.type(pilot, "signin_failed", enter=False)
        await ui.until(pilot, lambda: screen.last_filter == "signin_failed" and bool(screen.entries)
                       and all(e.kind == "signin_failed" for e in screen.entries))
        screen.query_one("#audit-filter").value = ""
        await ui.type(pilot, "r-25", enter=True)
        await ui.until(pilot, lambda: screen.last_filter == "r-25" and bool(screen.entries)
                       and all("R-25" in e.rules.split(",") for e in screen.entries))
        assert screen.query_one("#audit").row_count == len(screen.entries)


async def test_an_approver_reads_what_a_clearance_change_asks_before_signing(ui: Any) -> None:
    from tracker.services import personnel

    number = personnel.request_change(ui.store.uow(), ui.sign("officer"), badge("reader_general"),
                                      clearance="important", note="new post")
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot, "approver")
        screen = await open_approvals(ui, pilot, number)
        detail = str(screen.query_one("#request-detail").render())
        assert f"Asks for: badge={badge('reader_general')}, clearance=important" in detail, detail
        assert "Note: new post" in detail and shown_whole(screen.query_one("#request-detail"))


async def _send_request_for(ui: Any, pilot: Any, dialog: Any, who: str) -> None:
    """In the request dialog: the person's badge scanned into "for whom", then through "until" and "note" to the
    end; the counter has answered when this returns."""
    await ui.scan(pilot, badge(who))
    await ui.until(pilot, lambda: dialog.query_one("#grantee").value == badge(who))
    await pilot.press("enter", "enter", "enter")
    await ui.on_screen(pilot, "CounterScreen")
    await ui.answered(pilot)


async def test_a_loan_request_names_for_whom(ui: Any) -> None:
    carrier = secret_carrier(ui)
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await ui.look_up(pilot, carrier.code)  # no counter-party: the request cannot guess for whom
        await pilot.press("ctrl+r")
        await ui.on_screen(pilot, "RequestDialog")
        dialog = app.screen
        assert dialog.query_one("#codes").value == carrier.code and dialog.query_one("#grantee").value == ""
        await ui.until(pilot, lambda: app.focused is dialog.query_one("#grantee"))
        await pilot.press("enter", "enter", "enter")  # through "until" and "note" to the end, for nobody
        await ui.until(pilot, lambda: "Name for whom" in str(dialog.query_one("#dialog-message").render()))
        assert app.screen is dialog and app.focused is dialog.query_one("#grantee")
        await _send_request_for(ui, pilot, dialog, "reader_important")
    assert _last_request(ui) == ("loan", "pending", badge("reader_important"))


async def test_the_clerk_chooses_the_purpose_of_a_request(ui: Any) -> None:
    """F2 in the request dialog walks the carrier purposes: a loan refused at the counter is asked for as a
    carry-out, and the register records a carry-out request for the same carrier and person."""
    carrier = secret_carrier(ui)
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await ui.look_up(pilot, carrier.code)
        await pilot.press("ctrl+r")
        await ui.on_screen(pilot, "RequestDialog")
        dialog = app.screen
        title = dialog.query_one("#request-title")
        assert "loan" in str(title.render())
        await pilot.press("f2")
        await ui.until(pilot, lambda: "carry out" in str(title.render()))
        await _send_request_for(ui, pilot, dialog, "reader_important")
    assert _last_request(ui) == ("carry_out", "pending", badge("reader_important"))
