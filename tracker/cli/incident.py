"""`tracker incident …` — incidents (R-154–R-156): list and show them, report one, record measures, close one with
its resolution. A loss is reported with `tracker missing CODE`, which opens its incident.

Each command identifies the operator and makes one call to `tracker.services.incidents`; it never checks a rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from tracker.cli.common import (
    JsonFlag,
    ensure_lang,
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
    from tracker.services import incidents
else:
    incidents = lazy("tracker.services.incidents")
from tracker.domain import IncidentKind, IncidentOutcome, utc_iso

incident_app = typer.Typer(no_args_is_help=True, help="Incidents (事件): losses, broken seals, alarms — report, "
                                                        "work, close.")


def _kind(v: str) -> str:
    try:
        k = IncidentKind(v)
    except ValueError:
        return v
    return say(k.value, k.zh)


def _outcome(v: str | None) -> str:
    if v is None:
        return ""
    try:
        o = IncidentOutcome(v)
    except ValueError:
        return v
    return say(o.value, o.zh)


def _json(v: incidents.IncidentView) -> dict[str, Any]:
    return {"id": v.id, "kind": v.kind, "status": v.status, "level": v.level, "opened_at": utc_iso(v.opened_at),
            "opened_by": v.opened_by, "source": v.source,
            "discovered_at": utc_iso(v.discovered_at) if v.discovered_at else None, "place": v.place,
            "summary": v.summary, "deadline": utc_iso(v.deadline) if v.deadline else None,
            "carriers": list(v.carriers), "still_missing": list(v.still_missing), "measures": list(v.measures),
            "evidence": v.evidence, "outcome": v.outcome, "resolution": v.resolution,
            "closed_at": utc_iso(v.closed_at) if v.closed_at else None, "closed_by": v.closed_by}


@incident_app.command("list")
def list_cmd(include_closed: Annotated[bool, typer.Option("--all", help="Closed incidents too.")] = False,
             as_json: JsonFlag = False) -> None:
    """Open incidents, oldest first (security officer, auditor)."""
    ensure_lang()
    actor = operator()
    rows = run(lambda: incidents.listing(store().uow(), actor, include_closed))
    if as_json:
        print_json([_json(v) for v in rows])
        return
    table(say("Incidents", "事件"),
          [say("No.", "编号"), say("Kind", "类型"), say("Status", "状态"), say("Opened", "发生/报告时间"),
           say("Carriers", "载体"), say("Deadline", "期限"), say("Summary", "经过")],
          [[f"#{v.id}", _kind(v.kind), say(v.status, "未结" if v.status == "open" else "已结"),
            when(v.opened_at), " ".join(v.carriers), when(v.deadline) if v.deadline else "", v.summary]
           for v in rows])


@incident_app.command("show")
def show_cmd(number: Annotated[int, typer.Argument(help="The incident's number.")], as_json: JsonFlag = False) -> None:
    """Every field of one incident, with its measures and resolution."""
    ensure_lang()
    actor = operator()
    v = run(lambda: incidents.view(store().uow(), actor, number))
    if as_json:
        print_json(_json(v))
        return
    rows: list[list[Any]] = [
        [say("Kind", "类型"), _kind(v.kind)], [say("Status", "状态"), v.status],
        [say("Level", "密级"), v.level or ""], [say("Opened", "登记时间"), when(v.opened_at, zone=True)],
        [say("Opened by", "报告人"), v.opened_by or say("(device)", "（设备）")],
        [say("Source", "来源"), v.source or ""],
        [say("Discovered", "发现时间"), when(v.discovered_at, zone=True) if v.discovered_at else ""],
        [say("Place", "地点"), v.place or ""], [say("Summary", "经过"), v.summary],
        [say("Carriers", "载体"), " ".join(v.carriers)],
        [say("Still missing", "仍下落不明"), " ".join(v.still_missing)],
        [say("Leak deadline (R-155)", "泄密事件期限（R-155）"), when(v.deadline, zone=True) if v.deadline else ""],
        *[[say("Measure", "措施"), f"{when(m['at'])} {m['by']}: {m['text']}"] for m in v.measures],
        [say("Outcome", "结果"), _outcome(v.outcome)], [say("Resolution", "处理结果"), v.resolution or ""],
        [say("Closed", "结案"), f"{when(v.closed_at, zone=True)} {v.closed_by}" if v.closed_at else ""],
    ]
    table(say(f"Incident #{v.id}", f"事件 #{v.id}"), [say("Field", "项目"), say("Value", "内容")], rows)


@incident_app.command("report")
def report_cmd(kind: Annotated[str, typer.Option(help="seal_broken, seal_mismatch, contents_mismatch, gate_alarm, "
                                                      "cabinet_alarm or other.")],
               summary: Annotated[str, typer.Option(help="What happened.")],
               carrier: Annotated[list[str] | None, typer.Option(help="A carrier or code concerned (repeatable).")]
               = None,
               place: Annotated[str | None, typer.Option(help="Where it happened (a place code).")] = None,
               discovered: Annotated[str | None, typer.Option(help="When it was discovered, if earlier than now.")]
               = None) -> None:
    """Report an incident (R-154: immediately; anyone may). A loss: use `tracker missing CODE`."""
    ensure_lang()
    actor = operator()
    at = parse_when(discovered)
    n = run(lambda: incidents.report(store().uow(), actor, kind, summary, carrier or [], place, at))
    out.print(Text(say(f"Incident #{n} reported.", f"事件 #{n} 已报告。")))


@incident_app.command("measure")
def measure_cmd(number: Annotated[int, typer.Argument(help="The incident's number.")],
                text: Annotated[str, typer.Argument(help="The measure taken or the step of the tracing.")]) -> None:
    """Record a remedial measure or a step of the tracing (security officer)."""
    ensure_lang()
    actor = operator()
    run(lambda: incidents.add_measure(store().uow(), actor, number, text))
    out.print(Text(say(f"Measure recorded on incident #{number}.", f"已记录事件 #{number} 的措施。")))


@incident_app.command("close")
def close_cmd(number: Annotated[int, typer.Argument(help="The incident's number.")],
              outcome: Annotated[str, typer.Option(help="recovered, leak_reported, unfounded or other.")],
              resolution: Annotated[str, typer.Option(help="The resolution, written down (R-156).")]) -> None:
    """Close an incident with its outcome and resolution (security officer)."""
    ensure_lang()
    actor = operator()
    run(lambda: incidents.close(store().uow(), actor, number, outcome, resolution))
    out.print(Text(say(f"Incident #{number} closed.", f"事件 #{number} 已结案。")))
