"""`tracker campaign …` — clear-back campaigns (清退/收缴): open one over criteria (or the year-end preset), show who
holds what and the stragglers, verify returns by scanning, close it and print the signed report.

Each command identifies the operator and makes one call to `tracker.services.campaigns`; returns themselves are
check-ins (`tracker checkin … --returned-by`). It never checks a rule.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from tracker.cli.common import (
    EXIT_USAGE,
    JsonFlag,
    check_codes,
    ensure_lang,
    fail,
    operator,
    out,
    parse_when,
    print_json,
    run,
    say,
    store,
    table,
    when,
)
from tracker.lazy import lazy

if TYPE_CHECKING:
    from tracker import queries
    from tracker.services import campaigns
else:
    queries, campaigns = lazy("tracker.queries"), lazy("tracker.services.campaigns")
from tracker.domain import utc_iso

campaign_app = typer.Typer(no_args_is_help=True, help="Clear-back campaigns (清退/收缴): open, show, scan, close, "
                                                        "report.")


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(EXIT_USAGE, f"Cannot read the date {text!r} for {option}: use 2026-12-31.",
             f"无法识别 {option} 的日期 {text!r}：请使用 2026-12-31。")


def _json(c: campaigns.CampaignView) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "kind": c.kind, "criteria": c.criteria, "due_at": utc_iso(c.due_at),
            "status": c.status, "created_by": c.created_by, "created_at": utc_iso(c.created_at),
            "closed_by": c.closed_by, "closed_at": utc_iso(c.closed_at) if c.closed_at else None,
            "head": [c.head_seq, c.head_hash] if c.head_seq is not None else None,
            "items": [{"code": i.code, "level": i.level, "holder": i.holder, "status": i.status,
                       "returned_at": utc_iso(i.returned_at) if i.returned_at else None,
                       "returned_by": i.returned_by,
                       "verified_at": utc_iso(i.verified_at) if i.verified_at else None} for i in c.items],
            "stragglers": [i.code for i in c.stragglers]}


@campaign_app.command("new")
def new_cmd(
    due: Annotated[str | None, typer.Option(help="Everything back by then (e.g. 2026-12-20T18:00).")] = None,
    before: Annotated[str | None, typer.Option(help="Carriers registered before this date.")] = None,
    issuer: Annotated[str | None, typer.Option(help="Carriers of this issuer.")] = None,
    level: Annotated[str | None, typer.Option(help="Carriers of this level.")] = None,
    year_end: Annotated[int | None, typer.Option("--year-end", help="The year-end collection of this year "
                                                                   "(R-133).")] = None,
    name: str = "",
) -> None:
    """Open a campaign over the matching carriers that are out now (security officer)."""
    ensure_lang()
    deadline = parse_when(due)
    earlier = _date(before, "--before")
    if year_end is None and deadline is None:
        fail(EXIT_USAGE, "Say when everything is due back (--due), or use --year-end YEAR.",
             "请指定清退截止时间（--due），或使用 --year-end 年份。")
    actor = operator()
    if year_end is not None:
        n = run(lambda: campaigns.year_end(store().uow(), actor, year_end, deadline))
    else:
        assert deadline is not None
        n = run(lambda: campaigns.new(store().uow(), actor, deadline, name=name, before=earlier, issuer=issuer,
                                      level=level))
    c = run(lambda: campaigns.show(store().uow(readonly=True), n))
    out.print(Text(say(f"Campaign #{n} opened: {len(c.items)} carrier(s) to come back by {when(c.due_at, True)}.",
                       f"清退 #{n} 已发起：{len(c.items)} 件载体须于 {when(c.due_at, True)} 前收回。")))


@campaign_app.command("list")
def list_cmd(as_json: JsonFlag = False) -> None:
    """Every campaign with its progress."""
    ensure_lang()
    found = run(lambda: campaigns.listing(store().uow(readonly=True)))
    if as_json:
        print_json([_json(c) for c in found])
        return
    table(say("Campaigns", "清退"), ["#", say("name", "名称"), say("due", "截止"), say("status", "状态"),
                                    say("returned", "已收回"), say("stragglers", "未收回")],
          [[c.id, c.name, when(c.due_at), c.status, len(c.returned), len(c.stragglers)] for c in found])


@campaign_app.command("show")
def show_cmd(number: int, as_json: JsonFlag = False) -> None:
    """Who held what, what came back (and who brought it), and the stragglers."""
    ensure_lang()
    c = run(lambda: campaigns.show(store().uow(readonly=True), number))
    if as_json:
        print_json(_json(c))
        return
    table(say(f"Campaign #{c.id} {c.name} — due {when(c.due_at, True)} ({c.status})",
              f"清退 #{c.id} {c.name} — 截止 {when(c.due_at, True)}（{c.status}）"),
          [say("code", "编号"), say("level", "密级"), say("held by", "原持有人"), say("now", "现状"),
           say("returned", "归还"), say("by", "归还人"), say("verified", "核对")],
          [[i.code, say(i.level, str(queries.value_zh("classification", i.level))),
            f"{i.holder or ''} {i.holder_name or ''}",
            say(i.status, str(queries.value_zh("status", i.status))), when(i.returned_at),
            i.returned_by or "", when(i.verified_at)] for i in c.items])
    names = ", ".join(f"{i.code} ({i.holder or '-'})" for i in c.stragglers) or say("none", "无")
    out.print(Text(say(f"Stragglers: {names}", f"未收回：{names}")))


@campaign_app.command("scan")
def scan_cmd(number: int, codes: list[str]) -> None:
    """Verify carriers back at the registry (核对); each must be on the campaign and checked in."""
    ensure_lang()
    check_codes(*codes)
    actor = operator()
    done = run(lambda: campaigns.scan(store().uow(), actor, number, codes))
    out.print(Text(say(f"Verified {len(done)} carrier(s) for campaign #{number}.",
                       f"清退 #{number} 已核对 {len(done)} 件载体。")))


@campaign_app.command("close")
def close_cmd(number: int, note: str = "",
              pdf: Annotated[Path | None, typer.Option(help="Also write the report to sign.")] = None) -> None:
    """Close a campaign (security officer): the stragglers are fixed in the record with the ledger head."""
    ensure_lang()
    actor = operator()
    c = run(lambda: campaigns.close(store().uow(), actor, number, note))
    if pdf is not None:
        _write(c, pdf)
    out.print(Text(say(f"Campaign #{number} closed: {len(c.returned)} back, {len(c.stragglers)} straggler(s); "
                       f"ledger head {c.head_seq}:{c.head_hash}.",
                       f"清退 #{number} 已办结：收回 {len(c.returned)} 件，未收回 {len(c.stragglers)} 件；"
                       f"台账链头 {c.head_seq}:{c.head_hash}。")))


@campaign_app.command("report")
def report_cmd(number: int, pdf: Annotated[Path, typer.Option(help="Write the PDF here.")]) -> None:
    """The campaign report (清退记录) as PDF, with signature lines; an open campaign prints as a progress sheet."""
    ensure_lang()
    c = run(lambda: campaigns.show(store().uow(readonly=True), number))
    _write(c, pdf)
    out.print(say("Written: ", "已写入：") + str(pdf))


def _write(c: campaigns.CampaignView, pdf: Path) -> None:
    from tracker.reports.campaign_pdf import write_report

    try:
        write_report(c, pdf, store().policy.tz)
    except OSError as e:
        fail(EXIT_USAGE, f"Cannot write the report: {e}", f"无法写入报告：{e}")
