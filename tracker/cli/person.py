"""`tracker person …` and `tracker departure-check`: people, clearances, roles, PINs and departure (清退).

It turns command lines into calls to `tracker.services.personnel`; it must never check a rule itself (the service
refuses with rule ids) and never echo a PIN.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from tracker.cli.common import (
    EXIT_REFUSED,
    EXIT_USAGE,
    JsonFlag,
    ensure_lang,
    fail,
    list_rows,
    operator,
    out,
    party,
    print_json,
    read_pin,
    run,
    say,
    store,
    table,
)
from tracker.lazy import lazy

if TYPE_CHECKING:
    from tracker import queries
    from tracker.services import personnel
else:
    queries, personnel = lazy("tracker.queries"), lazy("tracker.services.personnel")

person_app = typer.Typer(no_args_is_help=True, help="People, clearances and roles.")
commands = typer.Typer()  # top-level commands: `tracker.cli` mounts them on the main app


@person_app.command("add")
def person_add(
    badge: str, name: str,
    unit: Annotated[str, typer.Option()],
    clearance: Annotated[str, typer.Option(help="none, general, important or core")] = "none",
    role: Annotated[list[str] | None, typer.Option(help="Repeat for several roles.")] = None,
    pin: Annotated[bool, typer.Option(help="Set a one-time PIN now (prompted, or TRACKER_NEW_PIN).")] = True,
    approval: Annotated[int | None, typer.Option(help="Granted request for the roles/clearance "
                                                      "(tracker request-change).")] = None,
) -> None:
    """Add a person (administrator). Roles and a clearance need a granted request for exactly them; the PIN set here
    is one-time: the person replaces it at first sign-in (tracker pin change)."""
    ensure_lang()
    actor = operator()
    new_pin = read_pin(say(f"New PIN for {badge}", f"{badge} 的新PIN"), "TRACKER_NEW_PIN") if pin else None
    run(lambda: personnel.add_person(store().uow(), actor, badge, name, unit, clearance, role or [], new_pin,
                                     approval))
    out.print(Text(say(f"Added {badge}.", f"已添加 {badge}。")))


@person_app.command("list")
def person_list(as_json: JsonFlag = False) -> None:
    """Everyone in the register: badge, name, unit, clearance, roles and status."""
    list_rows(queries.people, ("People", "人员"), ["badge", "name", "unit", "clearance", "roles", "status"], as_json)


@person_app.command("set")
def person_set(
    badge: str,
    clearance: Annotated[str | None, typer.Option()] = None,
    role: Annotated[list[str] | None, typer.Option()] = None,
    unit: Annotated[str | None, typer.Option()] = None,
    reset_pin: Annotated[bool, typer.Option(help="Reset to a one-time PIN (TRACKER_NEW_PIN or prompt).")] = False,
    approval: Annotated[int | None, typer.Option(help="Granted request for the role/clearance change.")] = None,
    witness: Annotated[str | None, typer.Option(help="Badge of the security officer or auditor witnessing a PIN "
                                                     "reset of a privileged person (TRACKER_WITNESS_PIN).")] = None,
) -> None:
    """Change someone else's roles or unit (administrator) or clearance (security officer) with a granted request for
    exactly that change, or reset their PIN to a one-time PIN. Nobody changes their own here."""
    ensure_lang()
    actor = operator()
    new_pin = read_pin(say(f"New PIN for {badge}", f"{badge} 的新PIN"), "TRACKER_NEW_PIN") if reset_pin else None
    seen = party(witness, "witness") if witness else None
    run(lambda: personnel.change_person(store().uow(), actor, badge, clearance, role, new_pin, unit, approval, seen))
    out.print(Text(say(f"Updated {badge}.", f"已更新 {badge}。")))


@person_app.command("depart")
def person_depart(badge: str, start: Annotated[bool, typer.Option(help="Only mark as departing.")] = False) -> None:
    """Departure (清退): `--start` marks departing; without it, marks departed (refused while holding, R-140)."""
    ensure_lang()
    actor = operator()
    if start:
        held = run(lambda: personnel.start_departure(store().uow(), actor, badge))
        out.print(Text(say(f"{badge} is departing; still holds {len(held)}: {', '.join(held)}",
                           f"{badge} 待离岗；仍持有 {len(held)} 件：{', '.join(held)}")))
        return
    run(lambda: personnel.mark_departed(store().uow(), actor, badge))
    out.print(Text(say(f"{badge} departed; PIN and roles revoked.", f"{badge} 已离岗；PIN 和权限已清理。")))


@commands.command("departure-check")
def departure_check(badge: str, as_json: JsonFlag = False) -> None:
    """What a person still holds or has signed for (R-140)."""
    ensure_lang()
    held = run(lambda: personnel.departure_check(store().uow(readonly=True), badge))
    if as_json:  # the same exit code as the table: a script must not read "clear to depart" from exit 0
        print_json({"badge": badge, "holds": held, "clear": not held})
        if held:
            raise typer.Exit(EXIT_REFUSED)
        return
    if not held:
        out.print(Text(say(f"{badge} holds nothing: clear to depart.", f"{badge} 未持有载体，可以办理离岗。")))
        return
    out.print(Text(say(f"{badge} still holds {len(held)} carrier(s):", f"{badge} 仍持有 {len(held)} 件载体：")))
    for code in held:
        out.print(Text(f"  {code}"))
    raise typer.Exit(EXIT_REFUSED)


# --- the secrecy lifecycle: recorded by the security officer ------------------------------------------

def _day(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(EXIT_USAGE, f"Cannot read the date {text!r}: use 2026-11-25.",
             f"无法识别日期 {text!r}：请使用 2026-11-25。")


OnDate = Annotated[str | None, typer.Option("--on", help="The day it happened (default today).")]
Note = Annotated[str, typer.Option(help="Topic, form number or remark.")]


def _record(badge: str, kind: str, on: str | None, result: str | None, note: str) -> None:
    ensure_lang()
    day = _day(on)
    actor = operator()
    n = run(lambda: personnel.record(store().uow(), actor, badge, kind, day, result, note))
    zh = personnel.RECORD_ZH[kind]
    out.print(Text(say(f"Recorded {kind} of {badge} on {day.isoformat()} (record {n}).",
                       f"已登记 {badge} 的{zh}（{day.isoformat()}，记录 {n}）。")))


@person_app.command("vetting")
def person_vetting(badge: str, result: Annotated[str, typer.Option(help="passed or failed")], on: OnDate = None,
                   note: Note = "") -> None:
    """Record the vetting before a classified post (审查, R-161): security officer."""
    _record(badge, "vetting", on, result, note)


@person_app.command("training")
def person_training(badge: str, on: OnDate = None, note: Note = "") -> None:
    """Record a secrecy training attended (R-163: at least two a year)."""
    _record(badge, "training", on, None, note)


@person_app.command("exam")
def person_exam(badge: str, result: Annotated[str, typer.Option(help="passed or failed")], on: OnDate = None,
                note: Note = "") -> None:
    """Record a secrecy exam and its result (R-163: yearly)."""
    _record(badge, "exam", on, result, note)


@person_app.command("pledge")
def person_pledge(badge: str, on: OnDate = None, note: Note = "",
                  leaving: Annotated[bool, typer.Option(help="The pledge on leaving (附表5, R-170).")] = False) -> None:
    """Record the signed pledge: yearly (保密承诺书/责任状, R-163) or on leaving (R-170)."""
    _record(badge, "leave_pledge" if leaving else "pledge", on, None, note)


@person_app.command("leave")
def person_leave(badge: str, cooling_off_until: Annotated[str, typer.Option(
        help="Last day of the 脱密期 (R-166): at least 3 (core), 2 (important), 1 (general) years; "
             "at most 5.")]) -> None:
    """Leave a classified post (R-140, R-167, R-170): everything cleared back and the pledge on leaving recorded;
    no clearance until the 脱密期 ends."""
    ensure_lang()
    until = _day(cooling_off_until)
    actor = operator()
    run(lambda: personnel.leave(store().uow(), actor, badge, until))
    out.print(Text(say(f"{badge} left the post; 脱密期 until {until.isoformat()}; PIN, roles and clearance revoked.",
                       f"{badge} 已离岗；脱密期至 {until.isoformat()}；PIN、权限和涉密资格已撤销。")))


@person_app.command("records")
def person_records(badge: str, as_json: JsonFlag = False) -> None:
    """A person's vetting, trainings, exams and pledges."""
    ensure_lang()
    found = run(lambda: personnel.records(store().uow(readonly=True), badge))
    if as_json:
        print_json([{"id": r.id, "kind": r.kind, "on": r.on.isoformat(), "result": r.result, "note": r.note,
                     "recorded_by": r.recorded_by} for r in found])
        return
    table(say(f"Records of {badge}", f"{badge} 的保密记录"),
          [say("on", "日期"), say("kind", "类型"), say("result", "结果"), say("note", "备注"), say("by", "登记人")],
          [[r.on.isoformat(), say(r.kind, personnel.RECORD_ZH[r.kind]), r.result or "", r.note, r.recorded_by]
           for r in found])
