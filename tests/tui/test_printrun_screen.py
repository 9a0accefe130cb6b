"""Print runs at the print room (Textual pilot on a demo register): F9 then Ctrl+R opens the runs waiting; more copies
than approved are refused in red naming R-29; the approved count registers the numbered copies and the by-products,
and Ctrl+L saves their labels."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tracker.demo import badge, place
from tracker.services import approvals, printruns
from tui.screens.printrun import PrintRunScreen


async def test_completing_an_approved_run_at_the_print_room(ui: Any) -> None:
    data = printruns.RunInput(doc_number="BJ印〔2026〕1号", classification="confidential", copies=2,
                              distribution="法规处:2", location=place("BJ", "R2C1S1"), title="通知", period="5y",
                              scope="办公室;法规处")
    run, approval = printruns.new(ui.store.uow(), ui.sign("clerk"), data, ui.clock() + timedelta(days=1))
    assert approvals.decide(ui.store.uow(), ui.sign("approver"), approval, True) == "granted"
    app = ui.app()
    async with app.run_test(size=(140, 40)) as pilot:
        await ui.login(pilot)
        await pilot.press("f9")
        await ui.on_screen(pilot, "RegisterScreen")
        await pilot.press("ctrl+r")
        await ui.on_screen(pilot, "PrintRunScreen")
        screen = app.screen
        assert isinstance(screen, PrintRunScreen)
        await ui.until(pilot, lambda: [r.id for r in screen.runs] == [run])
        await ui.until(pilot, lambda: app.focused is not None and app.focused.id == "run-copies")
        await ui.type(pilot, "3")
        await ui.scan(pilot, badge("officer"))  # the proof-reader's badge, scanned
        await ui.until(pilot, lambda: app.focused is not None and app.focused.id == "run-byproducts")
        await ui.type(pilot, "sheets=4,plates=1")
        await ui.type(pilot, "文印室")
        await pilot.press("ctrl+s")
        await ui.until(pilot, lambda: "R-29" in str(screen.query_one("#run-result").render()))
        screen.query_one("#run-copies").value = "2"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await ui.until(pilot, lambda: screen.done is not None)
        await pilot.press("ctrl+l")
        await ui.until(pilot, lambda: "label(s) saved" in str(screen.query_one("#run-result").render()))
    done = screen.done
    assert done is not None and (done.first, done.total, len(done.copies)) == (1, 2, 2)
    with ui.store.uow(readonly=True) as uow:
        view = printruns.view(uow, run)
    assert view.status == "completed" and view.proof_reader == badge("officer") and view.print_room == "文印室"
    assert view.byproducts == {"sheets": 4, "plates": 1} and view.byproducts_open
    assert all((app.ctx.output_dir / f"label-{c}.pdf").exists() for c in [*done.copies, done.byproducts])
