"""Watch (监控): the security officer's live panel of the exit gates and smart cabinets — each cabinet's count as last
read against the register, and the latest passes, alarms, take-outs and put-backs. Also the app-wide alarm poller
that puts a gate or cabinet alarm on every counter as a notification, whatever screen is open.

Both read the register (`watch_log`, written by `tracker watch run` on the machine the readers hang on) on a worker
thread, every two seconds (the panel) and every half second (the poller): a gate's alarm reaches the counter within the
watcher's own latency plus one poll. This module only reads; it never acknowledges an alarm (that is closing its
incident, `tracker incident close`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text
from sqlalchemy import func, select
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from tracker.domain import DomainError
from tracker.rules import Action
from tracker.schema import WatchEntry
from tracker.services.common import Refused, Signed, actor_facts
from tracker.store import Store
from tracker.watch import places
from tracker.watch.cabinets import expected_counts
from tui.context import AppContext
from tui.i18n import N_, _, pick
from tui.screens.base import TO_COUNTER, DeskScreen
from tui.widgets.keybar import KeyBar
from tui.widgets.topbar import TopBar
from tui.workers import off_ui

KIND_STYLES = {"alarm": "bold #ffffff on #c00000", "silent": "bold #000000 on #ffd700",
               "door_open": "bold #000000 on #ffd700",
               "misplaced": "bold #000000 on #ffd700", "foreign": "#000000 on #9ec5e8",
               "unknown": "#000000 on #9ec5e8", "taken": "bold #000000 on #9be39b", "put_back": "#000000 on #9be39b"}


ANNOUNCED = ("alarm", "silent", "door_open")  # what the app notifies as it happens; the rest waits on the panel


def kind_label(kind: str) -> str:
    return {"alarm": _("ALARM"), "pass": _("Pass"), "foreign": _("Foreign tag"), "unknown": _("Unknown tag"),
            "taken": _("Taken out"), "put_back": _("Put back"), "silent": _("Silent tag"), "door_open": _("Door open"),
            "misplaced": _("Misplaced"), "inventory": _("Inventory")}.get(kind, kind)


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    at: datetime
    place: str
    kind: str
    what: str
    person: str
    direction: str
    incident: int | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CabinetRow:
    code: str
    read: int | None
    register: int
    at: datetime | None


def _entry(e: WatchEntry) -> Entry:
    try:
        detail = json.loads(e.detail or "{}")
    except ValueError:
        detail = {}
    return Entry(e.id, e.at, e.place, e.kind, e.carrier or e.epc or "", e.person or "", e.direction or "",
                 e.incident, detail if isinstance(detail, dict) else {})


def read_panel(store: Store, actor: Signed) -> tuple[list[CabinetRow], list[Entry]]:
    """The cabinets (last inventory against the register) and the latest 40 entries that are not inventories; the
    security officer's and the auditor's panel (R-25: what the gates saw is audit data)."""
    with store.uow(readonly=True) as uow:
        actor_facts(uow, actor, Action.AUDIT)
    _, cabinets = places.load(store.uow(readonly=True))
    with store.uow(readonly=True) as uow:
        counts = expected_counts(uow, cabinets)
        rows = []
        for cab in cabinets:
            last = uow.session.execute(select(WatchEntry).where(WatchEntry.place == cab.code,
                                                                WatchEntry.kind == "inventory")
                                       .order_by(WatchEntry.id.desc()).limit(1)).scalar_one_or_none()
            read = _entry(last).detail.get("read") if last is not None else None
            rows.append(CabinetRow(cab.code, read if isinstance(read, int) else None, counts[cab.code],
                                   last.at if last is not None else None))
        entries = [_entry(e) for e in uow.session.execute(
            select(WatchEntry).where(WatchEntry.kind != "inventory").order_by(WatchEntry.id.desc()).limit(40)
        ).scalars()]
        return rows, entries


class AlarmPoller:
    """New alarms since the last poll, for the app's notifications; starts after the newest alarm at start-up, so
    old alarms are on the Watch panel and the incident list, not re-announced."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.last: int | None = None

    def poll(self) -> list[Entry]:
        with self.store.uow(readonly=True) as uow:
            if self.last is None:
                self.last = int(uow.session.execute(select(func.coalesce(func.max(WatchEntry.id), 0))).scalar_one())
                return []
            rows = [_entry(e) for e in uow.session.execute(
                select(WatchEntry).where(WatchEntry.id > self.last, WatchEntry.kind.in_(ANNOUNCED))
                .order_by(WatchEntry.id).limit(20)).scalars()]
            newest = uow.session.execute(select(func.max(WatchEntry.id))).scalar_one()
            self.last = max(self.last, int(newest or 0))
            return rows


def alarm_text(e: Entry) -> str:
    rules = e.detail.get("rules") or []
    why = pick(str(e.detail.get("en", "")), str(e.detail.get("zh", ""))) if e.detail.get("en") else ""
    head = _("{place}: {what}").format(place=e.place, what=e.what)
    who = f" ({e.person})" if e.person else ""
    inc = _(" — incident #{n}").format(n=e.incident) if e.incident else ""
    return f"{head}{who} {' '.join(str(r) for r in rules)}{inc}\n{why}".strip()


class WatchScreen(DeskScreen):
    screen_name = "watch"
    # 80×24: the summary, up to four cabinets, and the log in the rest (at least twelve rows).
    DEFAULT_CSS = """
    WatchScreen #watch-cabinets { height: auto; max-height: 6; }
    WatchScreen #watch-log { height: 1fr; }
    """
    BINDINGS = [  # noqa: RUF012
        Binding("r", "refresh", N_("Refresh")),
        TO_COUNTER,
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.cabinets: list[CabinetRow] = []
        self.entries: list[Entry] = []

    def compose(self) -> ComposeResult:
        yield TopBar(self.ctx, _("Watch"))
        yield Static("", id="watch-summary", markup=False)
        cabinets: DataTable[Any] = DataTable(id="watch-cabinets", cursor_type="row", zebra_stripes=True)
        yield cabinets
        log: DataTable[Any] = DataTable(id="watch-log", cursor_type="row", zebra_stripes=True)
        yield log
        yield KeyBar()

    async def on_mount(self) -> None:
        cabinets = self.query_one("#watch-cabinets", DataTable)
        cabinets.add_column(_("Cabinet"), key="cabinet", width=18)
        cabinets.add_column(_("Read"), key="read", width=6)
        cabinets.add_column(_("Register"), key="register", width=8)
        cabinets.add_column(_("Last inventory"), key="at")
        log = self.query_one("#watch-log", DataTable)
        # 80 columns: time, place, what, carrier or tag, who — the reason is in the notification and the incident.
        log.add_column(_("Time"), key="at", width=8)
        log.add_column(_("Place"), key="place", width=14)
        log.add_column(_("What"), key="kind", width=12)
        log.add_column(_("Carrier / tag"), key="what", width=16)
        log.add_column(_("Person"), key="person", width=11)
        log.add_column(_("Dir."), key="dir", width=4)
        log.focus()
        self.set_interval(2, self.action_refresh)
        await self.action_refresh()

    async def action_refresh(self) -> None:
        actor = self.ctx.actor
        if actor is None:
            return
        try:
            self.cabinets, self.entries = await off_ui(self.app.reads, read_panel,  # type: ignore[attr-defined]
                                                       self.ctx.store, actor)
        except DomainError as e:
            self.query_one("#watch-summary", Static).update(Text(pick(e.en, e.zh), style="bold red"))
            return
        except Refused as e:  # the panel is the security officer's and the auditor's
            self.query_one("#watch-summary", Static).update(
                Text("\n".join(v.message(self.ctx.lang) for v in e.violations), style="bold red"))
            return
        self._fill()

    def _fill(self) -> None:
        tz = self.ctx.store.policy.tz
        cabinets = self.query_one("#watch-cabinets", DataTable)
        cabinets.clear()
        for c in self.cabinets:
            short = c.read is not None and c.read < c.register
            cabinets.add_row(Text(c.code), Text("-" if c.read is None else str(c.read),
                                                style="bold red" if short else ""),
                             Text(str(c.register)), Text(f"{c.at.astimezone(tz):%m-%d %H:%M:%S}" if c.at else ""),
                             key=c.code)
        log = self.query_one("#watch-log", DataTable)
        log.clear()
        for e in self.entries:
            log.add_row(Text(f"{e.at.astimezone(tz):%H:%M:%S}"), Text(e.place),
                        Text(f" {kind_label(e.kind)} ", style=KIND_STYLES.get(e.kind, "")), Text(e.what),
                        Text(e.person), Text({"out": "→", "in": "←"}.get(e.direction, "")), key=str(e.id))
        alarms = sum(1 for e in self.entries if e.kind == "alarm")
        summary = _("{g} cabinet(s); {a} alarm(s) among the last {n} entries.").format(
            g=len(self.cabinets), a=alarms, n=len(self.entries))
        self.query_one("#watch-summary", Static).update(Text(summary, style="bold red" if alarms else "bold"))
