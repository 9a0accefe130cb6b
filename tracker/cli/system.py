"""`tracker init`, `tracker db upgrade`, `tracker demo`, `tracker status`, `tracker tui`: setting a register up, its
schema, a demo register, the summary, and the way into the counter screen.

It owns the commands that act on the register as a whole; it must never hold a business rule (the services do) and
imports the demo builder and the TUI only inside their commands, so `tracker --help` stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from tracker.cli.common import (
    EXIT_USAGE,
    JsonFlag,
    cannot_open,
    ensure_lang,
    fail,
    out,
    print_json,
    read_pin,
    run,
    say,
    settings,
    state,
    store,
    table,
)
from tracker.lazy import lazy

if TYPE_CHECKING:
    from tracker import queries
    from tracker.services import personnel
else:
    queries, personnel = lazy("tracker.queries"), lazy("tracker.services.personnel")

commands = typer.Typer()  # top-level commands: `tracker.cli` mounts them on the main app
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")


@commands.command()
def init(
    badge: Annotated[str, typer.Option(help="Badge code of the first administrator.")],
    name: Annotated[str, typer.Option(help="Name of the first administrator.")],
    officer_badge: Annotated[str, typer.Option(help="Badge of the security officer (保密办).")],
    officer_name: Annotated[str, typer.Option(help="Name of the security officer.")],
    auditor_badge: Annotated[str, typer.Option(help="Badge of the auditor (审计员).")],
    auditor_name: Annotated[str, typer.Option(help="Name of the auditor.")],
    approver_badge: Annotated[str, typer.Option(help="Badge of the first approver (主管领导).")],
    approver_name: Annotated[str, typer.Option(help="Name of the first approver.")],
    unit: Annotated[str, typer.Option(help="Unit (department).")] = "保密办",
) -> None:
    """Create the register: the packaged policy, the GS1 prefix(es) of $TRACKER_GS1_PREFIX, and four different
    people — administrator, security officer, auditor (三员分立) and a first approver (who is also on the secrecy
    committee, so roles and clearances can be approved from day one). The administrator's PIN is prompted (or
    TRACKER_PIN); the others get one-time PINs (TRACKER_OFFICER_PIN, TRACKER_AUDITOR_PIN, TRACKER_APPROVER_PIN)
    that they replace at their first sign-in."""
    from tracker.epc_scope import configured_prefixes

    ensure_lang()
    pin = read_pin(say("New PIN", "新PIN"), "TRACKER_PIN")
    others = [(officer_badge, officer_name, ("security_officer",), "TRACKER_OFFICER_PIN"),
              (auditor_badge, auditor_name, ("auditor",), "TRACKER_AUDITOR_PIN"),
              (approver_badge, approver_name, ("approver", "office_leader", "committee"), "TRACKER_APPROVER_PIN")]
    people = [personnel.NewPerson(badge, name, unit, "core", ("admin",), pin)]
    for who, called, roles, env in others:
        once = read_pin(say(f"One-time PIN for {who}", f"{who} 的一次性PIN"), env)
        people.append(personnel.NewPerson(who, called, unit, "core", roles, once, one_time_pin=True))
    prefixes = run(lambda: configured_prefixes())
    run(lambda: personnel.bootstrap(store().uow(), people, prefixes))  # one transaction: all or nothing
    out.print(Text(say(f"Register ready: administrator {badge}, security officer {officer_badge}, auditor "
                       f"{auditor_badge}, approver {approver_badge}.",
                       f"登记库已建立：管理员 {badge}，保密办 {officer_badge}，审计员 {auditor_badge}，"
                       f"主管领导 {approver_badge}。")))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to this version (Alembic)."""
    from sqlalchemy.exc import DBAPIError

    from tracker.store import Store

    ensure_lang()
    s = settings()
    st = Store(s.database_url, terminal=s.terminal)
    try:
        st.upgrade()
        revision = st.current_revision()
    except DBAPIError as e:
        cannot_open(s.database_url, e)
    finally:
        st.dispose()
    out.print(Text(say(f"Schema at {revision}.", f"数据库结构版本：{revision}。")))


@commands.command()
def demo(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if the register has people.")] = False,
    carriers: Annotated[int, typer.Option(help="How many carriers to register.")] = 500,
) -> None:
    """Fill an empty register with realistic demo data (PIN 482916 for everyone; never on a real register)."""
    ensure_lang()
    if carriers < 0:
        fail(EXIT_USAGE, "--carriers must not be negative.", "--carriers 不能为负数。")
    from tracker.demo import DEMO_PIN, PEOPLE, badge, build_demo

    st = store()
    with st.uow(readonly=True) as uow:
        has_people = bool(queries.people(uow))
    if has_people:
        if if_empty:
            return
        fail(EXIT_USAGE, "The register is not empty: the demo only fills an empty one.",
             "登记库非空：演示数据只能写入空库。")
    counts = run(lambda: build_demo(st, carriers=carriers, end_of_life=True))
    out.print(Text(say(f"Demo register: {counts}. Every PIN is {DEMO_PIN}.",
                       f"演示登记库：{counts}。所有人的PIN均为 {DEMO_PIN}。")))
    table(say("Demo people", "演示人员"), ["badge", "name", "clearance", "roles"],
          [[badge(p.key), p.name, p.clearance, ",".join(p.roles)] for p in PEOPLE])


@commands.command()
def status(as_json: JsonFlag = False) -> None:
    """Summary of the register: carriers by status and level, overdue loans, ledger head."""
    ensure_lang()
    from tracker.epc_scope import company_prefixes
    from tracker.policy import version_in_force

    with store().uow(readonly=True) as uow:
        data = queries.summary(uow)
        data["company_prefixes"] = list(company_prefixes(uow))
        data["policy_version"] = version_in_force(uow.session)
    if as_json:
        print_json(data)
        return
    table(say("Register", "登记库"), [say("what", "项目"), say("count", "数量")],
          [[say("carriers", "载体"), data["carriers"]], [say("people", "人员"), data["people"]],
           [say("locations", "存放位置"), data["locations"]], [say("overdue", "逾期"), data["overdue"]],
           [say("policy version", "策略版本"), data["policy_version"]],
           [say("GS1 company prefixes", "GS1 厂商识别代码"), ", ".join(data["company_prefixes"]) or "-"]]
          + [[say(f"status: {k}", f"状态：{queries.value_zh('status', k)}"), v]
             for k, v in sorted(data["by_status"].items())]
          + [[say(f"level: {k}", f"密级：{queries.value_zh('classification', k)}"), v]
             for k, v in sorted(data["by_level"].items())])
    head = data["ledger_head"]
    out.print(Text(say(f"Ledger head {head['seq']}:{head['hash']}", f"台账链头 {head['seq']}:{head['hash']}")))


@commands.command()
def tui(lang: Annotated[str | None, typer.Option(help="en or zh")] = None,
        devices: Annotated[bool, typer.Option("--devices/--no-devices",
                                              help="Open the scanners and RFID readers of [devices].")] = True,
        ) -> None:
    """Open the counter (terminal UI)."""
    if lang is not None and lang not in ("en", "zh"):
        fail(EXIT_USAGE, "--lang is en or zh.", "--lang 只能是 en 或 zh。")
    ensure_lang()
    from tui.app import run as run_tui

    store()  # upgrade an empty register before the UI opens
    run_tui(settings(), lang or state.lang, devices=devices)
