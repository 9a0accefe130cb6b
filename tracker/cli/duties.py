"""`tracker duties` — the duties calendar (RULES §3): what is due, who acts, since when it is late; and the printable
weekly sheet (`--week --pdf FILE`).

It reads `tracker.duties` on a read-only unit of work and prints; it never changes state and never decides a duty.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tracker.cli.common import EXIT_USAGE, JsonFlag, ensure_lang, fail, out, parse_when, print_json, say, store, table
from tracker.lazy import lazy

if TYPE_CHECKING:
    from tracker import duties as calendar
else:
    calendar = lazy("tracker.duties")
from tracker.cli.common import when as local

commands = typer.Typer()  # top-level commands: `tracker.cli` mounts them on the main app


@commands.command("duties")
def duties_cmd(
    at: Annotated[str | None, typer.Option(help="From this moment (e.g. 2027-01-01); default now.")] = None,
    days: Annotated[int, typer.Option(help="Look this many days ahead (0: today).", min=0, max=366)] = 7,
    week: Annotated[bool, typer.Option(help="The whole week (Monday to Sunday) of --at.")] = False,
    pdf: Annotated[Path | None, typer.Option(help="Write the printable sheet here (with --week).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Duties due (overdue returns, 清查, clear-back, reviews, trainings, pledges, 脱密期, incidents, campaigns)."""
    ensure_lang()
    moment = parse_when(at)
    if pdf is not None and not week:
        fail(EXIT_USAGE, "--pdf prints the weekly sheet: add --week.", "--pdf 打印周事项表：请同时使用 --week。")
    s = store()
    with s.uow(readonly=True) as uow:
        start = moment or uow.now()
        monday = start.astimezone(s.policy.tz).date()
        if week:
            monday -= timedelta(days=monday.weekday())
            days = (monday + timedelta(days=6) - start.astimezone(s.policy.tz).date()).days
        found = calendar.compute(uow, start, max(days, 0))
        head = uow.ledger.head()
    if pdf is not None:
        from tracker.reports.duties_pdf import write_week

        try:
            write_week(found, monday, pdf, s.policy.tz, head)
        except OSError as e:
            fail(EXIT_USAGE, f"Cannot write the sheet: {e}", f"无法写入事项表：{e}")
        out.print(say("Written: ", "已写入：") + str(pdf))
        return
    if as_json:
        print_json([d.to_json() for d in found])
        return
    table(say("Duties", "保密工作事项"), [say("due", "截止"), say("duty", "事项"), say("rule", "规则"),
                                         say("who", "责任"), say("late since", "逾期自"), say("what", "内容")],
          [[local(d.due), say(d.kind, calendar.KIND_ZH.get(d.kind, d.kind)), d.rule, d.person or d.responsible,
            local(d.late_since), say(d.en, d.zh)] for d in found])
