"""`tracker` — the command line, and the composition root for command-line use.

It reads settings, opens the store, identifies the operator (badge + PIN, prompted, or TRACKER_OPERATOR/TRACKER_PIN for
scripts), calls the same services the TUI calls, and prints results with Rich (`--json` on read commands).
Exit codes: 0 ok, 1 `devices test` saw no read, 2 bad input or usage, 3 refused by a rule (rule ids printed) or failed
identification, 4 not found, 5 a label printer failed or is not ready, 130 interrupted (Ctrl-C).
User data is printed as plain text, never as markup. PINs are never echoed or logged.
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import OperationalError

from tracker import queries
from tracker.config import Settings, load_settings
from tracker.domain import DomainError
from tracker.ledger import verify
from tracker.services import approvals, circulation, incidents, personnel, registry, seals
from tracker.services.common import AuthError, NotFound, Refused, Signed, authenticate, configure_hasher
from tracker.store import Store, UnitOfWork

app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                  help="Register of classified carriers (涉密载体登记): custody ledger, circulation, stock-take, "
                       "labels.")
person_app = typer.Typer(no_args_is_help=True, help="People, clearances and roles.")
location_app = typer.Typer(no_args_is_help=True, help="Storage places: site → room → safe/cabinet → shelf.")
carrier_app = typer.Typer(no_args_is_help=True, help="Carriers: register, import, show, find, history, move.")
ledger_app = typer.Typer(no_args_is_help=True, help="The custody ledger: verify and seal.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(person_app, name="person")
app.add_typer(location_app, name="location")
app.add_typer(carrier_app, name="carrier")
app.add_typer(ledger_app, name="ledger")
app.add_typer(db_app, name="db")

for _module, _attr, _name in (("tracker.cli_label", "label_app", "label"),
                              ("tracker.cli_devices", "devices_app", "devices"),
                              ("tracker.cli_stocktake", "stocktake_app", "stocktake")):
    if importlib.util.find_spec(_module) is not None:
        app.add_typer(getattr(importlib.import_module(_module), _attr), name=_name)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_USAGE, EXIT_REFUSED, EXIT_NOT_FOUND = 2, 3, 4
T = TypeVar("T")

# Options many commands take, spelled once so their flags and help cannot drift apart between commands.
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of a table.")]
ApprovalNumber = Annotated[int | None, typer.Option(help="Approval number (审批号) from `tracker approve`.")]


class _State:
    settings: Settings | None = None
    store: Store | None = None
    lang: str = "en"


state = _State()


def settings() -> Settings:
    if state.settings is None:
        try:
            state.settings = load_settings()
        except DomainError as e:
            fail(EXIT_USAGE, e.en, e.zh)
        configure_hasher(state.settings.argon2_time_cost, state.settings.argon2_memory_kib)
        state.lang = state.lang or state.settings.lang
    return state.settings


def store() -> Store:
    if state.store is None:
        s = settings()
        state.store = Store(s.database_url, terminal=s.terminal, policy=s.policy)
        try:
            state.store.ensure_schema()
        except DomainError as e:
            fail(EXIT_USAGE, e.en, e.zh)
        except OperationalError as e:
            fail(EXIT_USAGE, f"Cannot open the register at {_safe_url(s.database_url)}: {e.orig}",
                 f"无法打开登记库 {_safe_url(s.database_url)}：{e.orig}")
    return state.store


def _safe_url(url: str) -> str:
    """Never print a database password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def say(en: str, zh: str) -> str:
    return zh if state.lang == "zh" else en


def fail(code: int, en: str, zh: str) -> NoReturn:
    err.print(Text(say(en, zh)), style="bold red")
    raise typer.Exit(code)


def run(fn: Callable[[], T]) -> T:
    """Turn the register's errors into the documented exit codes and bilingual messages (never a traceback)."""
    try:
        return fn()
    except Refused as e:
        err.print(Text(say("Refused", "拒绝") + f" [{', '.join(e.rules)}]"), style="bold red")
        for v in e.violations:
            err.print(Text(v.message(state.lang)))
        raise typer.Exit(EXIT_REFUSED) from None
    except NotFound as e:
        fail(EXIT_NOT_FOUND, e.en, e.zh)
    except AuthError as e:
        fail(EXIT_REFUSED, e.en, e.zh)
    except DomainError as e:
        fail(EXIT_USAGE, e.en, e.zh)


# --- identification -----------------------------------------------------------------------------------------------


def _read_pin(prompt: str, env_name: str) -> str:
    pin = os.environ.get(env_name)
    if pin is not None:
        return pin
    if not sys.stdin.isatty():
        fail(EXIT_USAGE, f"{prompt}: no terminal to ask on; set {env_name}.",
             f"{prompt}：无法提示输入，请设置 {env_name}。")
    return str(typer.prompt(prompt, hide_input=True))


def operator() -> Signed:
    """The operator signs every change (badge + PIN)."""
    badge = os.environ.get("TRACKER_OPERATOR")
    if not badge:
        if not sys.stdin.isatty():
            fail(EXIT_USAGE, "No operator: set TRACKER_OPERATOR and TRACKER_PIN.",
                 "未指定操作员：请设置 TRACKER_OPERATOR 和 TRACKER_PIN。")
        badge = str(typer.prompt(say("Operator badge", "操作员工号")))
    pin = _read_pin(say(f"PIN for {badge}", f"{badge} 的PIN"), "TRACKER_PIN")
    s = settings()
    return run(lambda: authenticate(store().uow(), badge, pin, s.pin_attempts, s.lockout_minutes))


def party(badge: str, role: str) -> Signed:
    """A counter-party signs too (borrower, giver, taker, companion): TRACKER_<ROLE>_PIN for scripts."""
    pin = _read_pin(say(f"PIN for {role} {badge}", f"{role} {badge} 的PIN"), f"TRACKER_{role.upper()}_PIN")
    s = settings()
    return run(lambda: authenticate(store().uow(), badge, pin, s.pin_attempts, s.lockout_minutes))


def parse_when(text: str | None) -> datetime | None:
    """ISO date-time (local time of the unit when no zone is given), or +Nh / +Nd from now."""
    if not text:
        return None
    t = text.strip()
    now = datetime.now(UTC)
    if t.startswith("+") and t[-1] in "hdm" and t[1:-1].isdigit():
        n = int(t[1:-1])
        return now + {"h": timedelta(hours=n), "d": timedelta(days=n), "m": timedelta(minutes=n)}[t[-1]]
    try:
        moment = datetime.fromisoformat(t)
    except ValueError:
        fail(EXIT_USAGE, f"Cannot read the time {text!r}: use 2026-11-25T17:00 or +4h / +2d.",
             f"无法识别时间 {text!r}：请使用 2026-11-25T17:00 或 +4h / +2d。")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=settings().policy.tz)
    return moment


@app.callback()
def main_callback(lang: Annotated[str | None, typer.Option(help="Language: en or zh.")] = None) -> None:
    # One invocation, one fresh state (tests and embedding call the app repeatedly in one process).
    if state.store is not None:
        state.store.dispose()
    state.settings, state.store = None, None
    if lang is not None:
        if lang not in ("en", "zh"):
            raise typer.BadParameter("--lang is en or zh")
        state.lang = lang
    else:
        state.lang = ""


def _lang() -> None:
    if not state.lang:
        state.lang = settings().lang


# --- printing -----------------------------------------------------------------------------------------------------


def print_json(data: Any) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False, default=str))


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    t = Table(title=title, title_justify="left")
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*[Text("" if v is None else str(v)) for v in r])
    out.print(t)


def list_rows(fetch: Callable[[UnitOfWork], list[dict[str, Any]]], title: tuple[str, str], columns: list[str],
              as_json: bool) -> None:
    """A register list read in one read-only transaction: JSON for scripts, else a table whose columns follow the
    rows' keys in order (so `columns` only names them for people)."""
    _lang()
    with store().uow(readonly=True) as uow:
        rows = fetch(uow)
    if as_json:
        print_json(rows)
        return
    table(say(*title), columns, [list(r.values()) for r in rows])


def carrier_rows(views: list[queries.CarrierView]) -> list[list[Any]]:
    return [[v.code, v.marking, v.kind, v.title, v.doc_number, v.status, v.holder or v.location,
             f"{v.due_at:%Y-%m-%d %H:%M}" if v.due_at else ""] for v in views]


CARRIER_COLUMNS = ["code", "marking", "kind", "title", "doc no.", "status", "holder/place", "due"]


# --- setup --------------------------------------------------------------------------------------------------------


@app.command()
def init(
    badge: Annotated[str, typer.Option(help="Badge code of the first administrator.")],
    name: Annotated[str, typer.Option(help="Name of the first administrator.")],
    unit: Annotated[str, typer.Option(help="Unit (department).")] = "保密办",
) -> None:
    """Create the register and its first administrator (security officer + admin)."""
    _lang()
    pin = _read_pin(say("New PIN", "新PIN"), "TRACKER_PIN")
    run(lambda: personnel.add_person(store().uow(), None, badge, name, unit, "core", ["admin", "security_officer"],
                                     pin))
    out.print(Text(say(f"Register ready; administrator {badge} added.", f"登记库已建立；已添加管理员 {badge}。")))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to this version (Alembic)."""
    _lang()
    s = settings()
    st = Store(s.database_url, terminal=s.terminal)
    st.upgrade()
    out.print(Text(say(f"Schema at {st.current_revision()}.", f"数据库结构版本：{st.current_revision()}。")))


@app.command()
def demo(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if the register has people.")] = False,
    carriers: Annotated[int, typer.Option(help="How many carriers to register.")] = 500,
) -> None:
    """Fill an empty register with realistic demo data (PIN 1234 for everyone; never on a real register)."""
    _lang()
    from tracker.demo import DEMO_PIN, PEOPLE, badge, build_demo

    st = store()
    with st.uow(readonly=True) as uow:
        has_people = bool(queries.people(uow))
    if has_people:
        if if_empty:
            return
        fail(EXIT_USAGE, "The register is not empty: the demo only fills an empty one.",
             "登记库非空：演示数据只能写入空库。")
    counts = run(lambda: build_demo(st, carriers=carriers))
    out.print(Text(say(f"Demo register: {counts}. Every PIN is {DEMO_PIN}.",
                       f"演示登记库：{counts}。所有人的PIN均为 {DEMO_PIN}。")))
    table(say("Demo people", "演示人员"), ["badge", "name", "clearance", "roles"],
          [[badge(p.key), p.name, p.clearance, ",".join(p.roles)] for p in PEOPLE])


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Summary of the register: carriers by status and level, overdue loans, ledger head."""
    _lang()
    with store().uow(readonly=True) as uow:
        data = queries.summary(uow)
    if as_json:
        print_json(data)
        return
    table(say("Register", "登记库"), [say("what", "项目"), say("count", "数量")],
          [[say("carriers", "载体"), data["carriers"]], [say("people", "人员"), data["people"]],
           [say("locations", "存放位置"), data["locations"]], [say("overdue", "逾期"), data["overdue"]]]
          + [[f"status: {k}", v] for k, v in sorted(data["by_status"].items())]
          + [[f"level: {k}", v] for k, v in sorted(data["by_level"].items())])
    head = data["ledger_head"]
    out.print(Text(say(f"Ledger head {head['seq']}:{head['hash']}", f"台账链头 {head['seq']}:{head['hash']}")))


@app.command()
def tui(lang: Annotated[str | None, typer.Option(help="en or zh")] = None,
        devices: Annotated[bool, typer.Option("--devices/--no-devices",
                                              help="Open the scanners and RFID readers of [devices].")] = True,
        ) -> None:
    """Open the counter (terminal UI)."""
    _lang()
    from tui.app import run as run_tui

    store()  # upgrade an empty register before the UI opens
    run_tui(settings(), lang or state.lang, devices=devices)


# --- people and places --------------------------------------------------------------------------------------------


@person_app.command("add")
def person_add(
    badge: str, name: str,
    unit: Annotated[str, typer.Option()],
    clearance: Annotated[str, typer.Option(help="none, general, important or core")] = "none",
    role: Annotated[list[str] | None, typer.Option(help="Repeat for several roles.")] = None,
    pin: Annotated[bool, typer.Option(help="Set a PIN now (prompted, or TRACKER_NEW_PIN).")] = True,
) -> None:
    _lang()
    actor = operator()
    new_pin = _read_pin(say(f"New PIN for {badge}", f"{badge} 的新PIN"), "TRACKER_NEW_PIN") if pin else None
    run(lambda: personnel.add_person(store().uow(), actor, badge, name, unit, clearance, role or [], new_pin))
    out.print(Text(say(f"Added {badge}.", f"已添加 {badge}。")))


@person_app.command("list")
def person_list(as_json: JsonFlag = False) -> None:
    list_rows(queries.people, ("People", "人员"), ["badge", "name", "unit", "clearance", "roles", "status"], as_json)


@person_app.command("set")
def person_set(
    badge: str,
    clearance: Annotated[str | None, typer.Option()] = None,
    role: Annotated[list[str] | None, typer.Option()] = None,
    unit: Annotated[str | None, typer.Option()] = None,
    reset_pin: Annotated[bool, typer.Option(help="Set a new PIN (TRACKER_NEW_PIN or prompt).")] = False,
) -> None:
    _lang()
    actor = operator()
    new_pin = _read_pin(say(f"New PIN for {badge}", f"{badge} 的新PIN"), "TRACKER_NEW_PIN") if reset_pin else None
    run(lambda: personnel.change_person(store().uow(), actor, badge, clearance, role, new_pin, unit))
    out.print(Text(say(f"Updated {badge}.", f"已更新 {badge}。")))


@person_app.command("depart")
def person_depart(badge: str, start: Annotated[bool, typer.Option(help="Only mark as departing.")] = False) -> None:
    """Departure (清退): `--start` marks departing; without it, marks departed (refused while holding, R-140)."""
    _lang()
    actor = operator()
    if start:
        held = run(lambda: personnel.start_departure(store().uow(), actor, badge))
        out.print(Text(say(f"{badge} is departing; still holds {len(held)}: {', '.join(held)}",
                           f"{badge} 待离岗；仍持有 {len(held)} 件：{', '.join(held)}")))
        return
    run(lambda: personnel.mark_departed(store().uow(), actor, badge))
    out.print(Text(say(f"{badge} departed; PIN and roles revoked.", f"{badge} 已离岗；PIN 和权限已清理。")))


@app.command("departure-check")
def departure_check(badge: str, as_json: JsonFlag = False) -> None:
    """What a person still holds or has signed for (R-140)."""
    _lang()
    held = run(lambda: personnel.departure_check(store().uow(readonly=True), badge))
    if as_json:
        print_json({"badge": badge, "holds": held})
        return
    if not held:
        out.print(Text(say(f"{badge} holds nothing: clear to depart.", f"{badge} 未持有载体，可以办理离岗。")))
        return
    out.print(Text(say(f"{badge} still holds {len(held)} carrier(s):", f"{badge} 仍持有 {len(held)} 件载体：")))
    for code in held:
        out.print(Text(f"  {code}"))
    raise typer.Exit(EXIT_REFUSED)


@location_app.command("add")
def location_add(
    code: str, name: str,
    kind: Annotated[str, typer.Option(help="site, room, safe, cabinet or shelf")],
    max_level: Annotated[str, typer.Option(help="Highest level it may store.")],
    parent: Annotated[str | None, typer.Option()] = None,
    reading_place: Annotated[bool, typer.Option(help="A designated reading place (R-67).")] = False,
) -> None:
    _lang()
    actor = operator()
    run(lambda: registry.add_location(store().uow(), actor, code, name, kind, max_level, parent, reading_place))
    out.print(Text(say(f"Added {code}.", f"已添加 {code}。")))


@location_app.command("list")
def location_list(as_json: JsonFlag = False) -> None:
    list_rows(queries.locations, ("Places", "存放位置"),
              ["code", "name", "kind", "parent", "max level", "reading place"], as_json)


# --- carriers -----------------------------------------------------------------------------------------------------


PrintFlag = Annotated[bool, typer.Option("--print", help="Print the labels on $TRACKER_LABEL_PRINTER afterwards "
                                                         "(`tracker label print` for more options).")]
RfidFlag = Annotated[bool, typer.Option("--rfid", help="Print and encode RFID labels (implies --print).")]


@carrier_app.command("add")
def carrier_add(
    location: Annotated[str, typer.Option(help="Storage place code.")],
    classification: Annotated[str, typer.Option(help="top_secret/secret/confidential/internal/unclassified or 绝密…")],
    kind: Annotated[str, typer.Option()] = "paper",
    regime: Annotated[str, typer.Option(help="state or company")] = "state",
    period: Annotated[str | None, typer.Option(help="10y, 2030-12-31 or long")] = None,
    scope: Annotated[str | None, typer.Option(help="Units; @badge for people; separated by ;")] = None,
    title: Annotated[str, typer.Option()] = "",
    doc_number: Annotated[str | None, typer.Option()] = None,
    issuer: Annotated[str | None, typer.Option()] = None,
    copy: Annotated[str | None, typer.Option(help="Copy n/N, e.g. 3/5 (required for 绝密 and 机密).")] = None,
    code: Annotated[str | None, typer.Option(help="Existing label code; generated when omitted.")] = None,
    epc: Annotated[str | None, typer.Option()] = None,
    pages: Annotated[int | None, typer.Option()] = None,
    print_label: PrintFlag = False,
    rfid: RfidFlag = False,
) -> None:
    """Register one carrier (登记); with --print, its label comes out of the label printer straight away."""
    _lang()
    n = total = None
    if copy:
        try:
            a, b = copy.split("/")
            n, total = int(a), int(b)
        except ValueError:
            fail(EXIT_USAGE, "--copy is n/N, e.g. 3/5.", "--copy 格式为 n/N，例如 3/5。")
    actor = operator()
    data = registry.CarrierInput(location=location, classification=classification, kind=kind, regime=regime,
                                 period=period, scope=scope, title=title, doc_number=doc_number, issuer=issuer,
                                 copy_number=n, copy_total=total, code=code, epc=epc, pages=pages)
    new = run(lambda: registry.register(store().uow(), actor, data, site=settings().site))
    out.print(Text(say(f"Registered {new}.", f"已登记 {new}。")))
    if print_label or rfid:
        _print_labels([new], rfid)


@carrier_app.command("import")
def carrier_import(path: Path, print_label: PrintFlag = False, rfid: RfidFlag = False) -> None:
    """Import carriers from CSV: all rows or none (columns: see README); --print sends their labels as one batch."""
    _lang()
    actor = operator()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        fail(EXIT_USAGE, f"Cannot read {path}: {e.strerror}", f"无法读取 {path}：{e.strerror}")
    codes = run(lambda: registry.import_csv(store().uow(), actor, text, site=settings().site))
    out.print(Text(say(f"Imported {len(codes)} carriers.", f"已导入 {len(codes)} 件载体。")))
    if print_label or rfid:
        _print_labels(codes, rfid)


def _print_labels(codes: list[str], rfid: bool) -> None:
    """Labels for carriers just registered, through `tracker label print` with its defaults ($TRACKER_LABEL_PRINTER…).

    The registration is already committed: a printer fault exits 5 and the labels can be printed again later."""
    from tracker.cli_label import print_codes

    print_codes(codes=codes, rfid=rfid)


@carrier_app.command("show")
def carrier_show(code: str, as_json: JsonFlag = False) -> None:
    _lang()
    with store().uow(readonly=True) as uow:
        v = queries.carrier(uow, code) or queries.carrier_by_epc(uow, code)
    if v is None:
        fail(EXIT_NOT_FOUND, f"No carrier {code!r}.", f"没有载体 {code!r}。")
    if as_json:
        print_json(v.to_json())
        return
    table(v.code, [say("field", "字段"), say("value", "值")], [[k, val] for k, val in v.to_json().items()])


@carrier_app.command("find")
def carrier_find(text: str, limit: int = 50, as_json: JsonFlag = False) -> None:
    """Search code, title, document number, holder and place."""
    _lang()
    with store().uow(readonly=True) as uow:
        found = queries.find(uow, text, limit)
    if as_json:
        print_json([v.to_json() for v in found])
        return
    table(say(f"{len(found)} found", f"找到 {len(found)} 件"), CARRIER_COLUMNS, carrier_rows(found))


@carrier_app.command("history")
def carrier_history(code: str, as_json: JsonFlag = False) -> None:
    """Every ledger event of one carrier, in order."""
    _lang()
    with store().uow(readonly=True) as uow:
        if queries.carrier(uow, code) is None:
            fail(EXIT_NOT_FOUND, f"No carrier {code!r}.", f"没有载体 {code!r}。")
        events = queries.history(uow, code)
    if as_json:
        print_json([e.__dict__ for e in events])
        return
    table(code, ["seq", "at", "event", "actor", "from", "to", "witness", "approval"],
          [[e.seq, e.at, e.type, e.actor, e.from_holder or e.from_location, e.to_holder or e.to_location, e.witness,
            e.approval_id] for e in events])


@carrier_app.command("move")
def carrier_move(code: str, to: Annotated[str, typer.Option("--to")], reason: str = "") -> None:
    _lang()
    actor = operator()
    run(lambda: registry.move(store().uow(), actor, code, to, reason))
    out.print(Text(say(f"{code} moved to {to}.", f"{code} 已移至 {to}。")))


@carrier_app.command("reclassify")
def carrier_reclassify(
    code: str,
    level: Annotated[str, typer.Option()],
    approval: ApprovalNumber = None,
    period: Annotated[str | None, typer.Option()] = None,
    scope: Annotated[str | None, typer.Option()] = None,
    basis: Annotated[str, typer.Option(help="定密依据")] = "",
) -> None:
    """Change level, period or scope (a 定密 act: approval needed, R-08; media never go down, R-103)."""
    _lang()
    actor = operator()
    run(lambda: registry.reclassify(store().uow(), actor, code, level, period, scope, approval, basis))
    out.print(Text(say(f"{code} reclassified.", f"{code} 密级已变更。")))


# --- circulation --------------------------------------------------------------------------------------------------


@app.command()
def checkout(
    code: str,
    to: Annotated[str, typer.Option("--to", help="Borrower's badge; the borrower signs with their PIN.")],
    approval: ApprovalNumber = None,
    due: Annotated[str | None, typer.Option(help="Return time; default end of the working day.")] = None,
    reading_place: Annotated[str | None, typer.Option(help="Required for 绝密 (R-67).")] = None,
) -> None:
    """Lend a carrier to a person (借阅)."""
    _lang()
    when = parse_when(due)  # bad input is refused before anyone types a PIN
    actor = operator()
    borrower = party(to, "borrower")
    r = run(lambda: circulation.check_out(store().uow(), actor, code, borrower, when, approval, reading_place))
    out.print(Text(say(f"{r.carrier} checked out to {r.holder}, due {r.due:%Y-%m-%d %H:%M %Z} (event {r.event_seq}).",
                       f"{r.carrier} 已借给 {r.holder}，应于 {r.due:%Y-%m-%d %H:%M %Z} 归还（事件 {r.event_seq}）。")))


@app.command()
def checkin(code: str, to: Annotated[str | None, typer.Option("--to", help="Place; default where it came from.")]
            = None) -> None:
    """Take a carrier back and close its loan (归还)."""
    _lang()
    actor = operator()
    seq = run(lambda: circulation.check_in(store().uow(), actor, code, to))
    out.print(Text(say(f"{code} checked in (event {seq}).", f"{code} 已归还（事件 {seq}）。")))


@app.command()
def handover(
    codes: list[str],
    giver: Annotated[str, typer.Option("--from", help="Giver's badge (signs with PIN).")],
    taker: Annotated[str, typer.Option("--to", help="Taker's badge (signs with PIN).")],
) -> None:
    """Hand carriers from holder to holder, both parties signing (手递手交接)."""
    _lang()
    actor = operator()
    g, t = party(giver, "giver"), party(taker, "taker")
    seqs = run(lambda: circulation.handover(store().uow(), actor, codes, g, t))
    out.print(Text(say(f"Handed over {len(seqs)} carrier(s) from {giver} to {taker}.",
                       f"已由 {giver} 交接 {len(seqs)} 件载体给 {taker}。")))


@app.command("carry-out")
def carry_out(
    code: str,
    custodian: Annotated[str, typer.Option(help="Who carries it (signs).")],
    until: Annotated[str, typer.Option(help="Return deadline.")],
    approval: ApprovalNumber = None,
    companion: Annotated[str | None, typer.Option(help="Second person (required for 绝密, R-93).")] = None,
    destination: Annotated[str, typer.Option()] = "",
) -> None:
    """Carry a carrier outside the unit (携带外出) with approval (R-92)."""
    _lang()
    deadline = parse_when(until)
    assert deadline is not None
    actor = operator()
    c = party(custodian, "custodian")
    second = party(companion, "companion") if companion else None
    seq = run(lambda: circulation.carry_out(store().uow(), actor, code, c, deadline, approval, second, destination))
    out.print(Text(say(f"{code} carried out by {custodian} (event {seq}).",
                       f"{code} 已由 {custodian} 携带外出（事件 {seq}）。")))


@app.command("copy")
def copy_cmd(code: str, approval: ApprovalNumber = None,
             count: Annotated[int, typer.Option()] = 1) -> None:
    """Register copies of a carrier; they inherit level, period and scope (R-77)."""
    _lang()
    actor = operator()
    codes = run(lambda: registry.copy(store().uow(), actor, code, count, approval, site=settings().site))
    out.print(Text(say(f"Copies registered: {', '.join(codes)}", f"已登记复制件：{', '.join(codes)}")))


@app.command()
def approve(
    purpose: Annotated[str, typer.Option(help="loan, copy, carry_out, destruction, scope_extension, reclassify")],
    carrier: Annotated[list[str], typer.Option(help="Repeat for each carrier.")],
    until: Annotated[str, typer.Option(help="Valid until (e.g. +4h).")] = "+8h",
    grantee: Annotated[str | None, typer.Option("--for", help="Badge of the person it is for.")] = None,
    issuer_approved: Annotated[bool, typer.Option(help="The issuing authority approved (绝密 copies, R-74).")] = False,
    copies: Annotated[int | None, typer.Option(help="Most copies allowed.")] = None,
    note: str = "",
    requested_by: Annotated[str | None, typer.Option(help="Badge of who asked (default: --for).")] = None,
) -> None:
    """Record an approval; the operator is the approver (审批)."""
    _lang()
    valid = parse_when(until)
    assert valid is not None
    actor = operator()
    n = run(lambda: approvals.grant(store().uow(), actor, purpose, carrier, valid, grantee, issuer_approved, copies,
                                    note, requested_by))
    out.print(Text(say(f"Approval #{n} recorded.", f"审批 #{n} 已记录。")))


@app.command()
def missing(code: str, note: str = "") -> None:
    """Report a carrier missing (下落不明): starts the R-155 clock."""
    _lang()
    actor = operator()
    deadline = run(lambda: incidents.report_missing(store().uow(), actor, code, note))
    limit = f"{deadline:%Y-%m-%d}" if deadline else "-"
    out.print(Text(say(f"{code} reported missing; leak-incident deadline {limit}.",
                       f"{code} 已报告下落不明；泄密事件期限 {limit}。")))


@app.command()
def found(code: str, to: Annotated[str, typer.Option("--to")], note: str = "") -> None:
    """A missing carrier is back: put it in a place."""
    _lang()
    actor = operator()
    days = run(lambda: incidents.found(store().uow(), actor, code, to, note))
    out.print(Text(say(f"{code} found after {days} day(s).", f"{code} 已找回（下落不明 {days} 天）。")))


@app.command()
def alerts(as_json: JsonFlag = False) -> None:
    """Overdue loans, 绝密 not back, losses with their R-155 clock, departing holders."""
    _lang()
    with store().uow(readonly=True) as uow:
        found_alerts = queries.alerts(uow, os.environ.get("TRACKER_OPERATOR"))
    if as_json:
        print_json([a.__dict__ for a in found_alerts])
        return
    table(say("Alerts", "提醒"), ["kind", "carrier", "person", "message"],
          [[a.kind, a.carrier, a.person, say(a.en, a.zh)] for a in found_alerts])


# --- ledger and export --------------------------------------------------------------------------------------------


@ledger_app.command("verify")
def ledger_verify(
    anchor: Annotated[list[str] | None, typer.Option(help="SEQ:HASH from a sealed paper record; repeatable.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check the whole chain; names the first altered, deleted, inserted or reordered event."""
    _lang()
    anchors = []
    for a in anchor or []:
        seq, _, digest = a.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            fail(EXIT_USAGE, f"Anchor {a!r} is not SEQ:HASH.", f"锚点 {a!r} 格式应为 序号:哈希。")
        anchors.append((int(seq), digest))
    with store().engine.connect() as conn:
        report = verify(conn, anchors)
    if as_json:
        print_json(report.__dict__)
    else:
        (out if report.ok else err).print(Text(report.message(state.lang)), style=None if report.ok else "bold red")
    if not report.ok:
        raise typer.Exit(EXIT_REFUSED)


@ledger_app.command("seal")
def ledger_seal() -> None:
    """Print the chain head (sequence + hash) for the paper record, and keep it as an anchor (security officer or
    auditor, R-25)."""
    _lang()
    actor = operator()
    seq, digest = run(lambda: seals.seal(store().uow(), actor))
    out.print(Text(f"{seq}:{digest}"))


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx")] = "csv",
    output: Annotated[Path | None, typer.Option("--out", help="File; CSV goes to stdout when omitted.")] = None,
) -> None:
    """Export the register (current state of every carrier)."""
    _lang()
    with store().uow(readonly=True) as uow:
        views = queries.export_rows(uow)
    fields = list(views[0].to_json()) if views else ["code"]
    if fmt == "csv":
        with _open_out(output) as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            for v in views:
                w.writerow({k: _xlsx_safe(x) for k, x in v.to_json().items()})
    elif fmt == "xlsx":
        if output is None:
            fail(EXIT_USAGE, "--out is required for xlsx.", "导出 xlsx 须指定 --out。")
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("carriers")
        ws.append(fields)
        for v in views:
            ws.append([_xlsx_safe(x) for x in v.to_json().values()])
        wb.save(output)
    else:
        fail(EXIT_USAGE, "--format is csv or xlsx.", "--format 只能是 csv 或 xlsx。")
    if output is not None:
        out.print(Text(say(f"Exported {len(views)} carriers to {output}.", f"已导出 {len(views)} 件载体到 {output}。")))


def _xlsx_safe(value: Any) -> Any:
    """Spreadsheet formula injection (CSV and XLSX): a value starting with = + - @ is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


@contextmanager
def _open_out(path: Path | None) -> Iterator[Any]:
    if path is None:
        yield sys.stdout
        return
    with path.open("w", newline="", encoding="utf-8") as fh:
        yield fh


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    finally:
        if state.store is not None:  # closes the register, after any checkpoint a bulk write left to its thread
            state.store.dispose()
