"""The Textual application: login first, then the counter; handover, register, alerts, approvals, the audit log and
the ledger one key away.

`run(settings, lang)` is the entry point `tracker tui` calls. The app owns the register's threads: `db`, one thread
on which every write from the counter runs in order, and `reads`, a small pool for searches and screens' reads, so
no database call ever runs on the UI thread. It owns the idle lock too (the policy's `idle_lock_minutes`, measured from
the last key or click). It never decides a rule and never opens a second store.

It also owns the devices of the `[devices]` table (from the same file as the settings): the wedge entry's gap and
layout shape every scan field, and the other devices run on their own threads (`tui.devices`). A device read is
delivered exactly as a keyboard-wedge scan is — to the focused scan field of the screen on top, else to the counter
— on the UI loop and in arrival order, so wedge and device scans share one queue and none overtakes another.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import importlib.util
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from textual import events
from textual._time import get_time
from textual.app import App
from textual.binding import Binding
from textual.screen import ModalScreen, Screen

from drivers.device_config import ConfigError, DeviceConfig
from drivers.reads import DeviceState, DeviceStatus, Read
from drivers.scanners.config import load_devices
from tracker.config import Settings
from tracker.domain import DomainError
from tracker.services.common import Signed
from tracker.store import Store
from tui import i18n, literal
from tui.context import AppContext
from tui.devices import DeviceHub
from tui.i18n import N_, translate_bindings
from tui.lookups import PersonView
from tui.screens.login import LoginScreen
from tui.widgets.scan_field import ScanField

IDLE_CHECK_SECONDS = 5.0
ALARM_POLL_SECONDS = 0.5  # a gate's alarm on every counter well within a second of the first read (issue 23)


FRAMES_PER_SECOND = 120


def _faster_frames() -> None:
    """Repaint up to 120 times a second (Textual's default is 60) unless TEXTUAL_FPS says otherwise: a scan's answer
    waits for the next frame, and half a 60 Hz frame is a third of the counter's latency budget."""
    import textual.screen

    if "TEXTUAL_FPS" not in os.environ:
        textual.screen.UPDATE_PERIOD = min(textual.screen.UPDATE_PERIOD, 1 / FRAMES_PER_SECOND)  # type: ignore[misc]


class TrackerApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "carrier-tracker"
    ENABLE_COMMAND_PALETTE = False
    # Not priority bindings: a screen may give one of these keys its own meaning (the scan fields bind none of them).
    BINDINGS = [  # noqa: RUF012
        Binding("f5", "open('handover')", N_("Handover")),
        Binding("f9", "open('register')", N_("Register")),
        Binding("f10", "open('alerts')", N_("Alerts")),
        Binding("f11", "open('approvals')", N_("Approvals")),
        Binding("ctrl+g", "open('audit')", N_("Audit")),
        Binding("ctrl+l", "open('ledger')", N_("Ledger")),
        Binding("ctrl+t", "open('stocktake')", N_("Stock-take")),
        Binding("ctrl+y", "open('destruction')", N_("Destruction"), show=False),  # the scan at the site (issue 18)
        # Meetings (issue 21): not Ctrl+E, which every Input binds to "end" and would swallow at the scan field.
        Binding("ctrl+b", "open('meeting')", N_("Meeting desk"), show=False),
        Binding("ctrl+p", "open('registers')", N_("Registers"), show=False),  # 台账报表 (issue 19)
        # Gates and cabinets (issue 23). Not Ctrl+W: a scan field (Textual Input) takes it as "delete word left";
        # Ctrl+B is the meeting desk's.
        Binding("ctrl+f", "open('watch')", N_("Watch"), show=False),
        # Priority: a focused scan field (an Input) would otherwise take Ctrl+K as "delete to the end of the line".
        Binding("ctrl+k", "open('courier')", N_("Courier"), show=False, priority=True),  # 机要交通 (issue 20)
        Binding("ctrl+o", "lock", N_("Lock")),
        Binding("f12", "toggle_theme", N_("Light/dark"), show=False),
        Binding("ctrl+q", "quit", N_("Quit"), priority=True, show=False),
    ]

    def __init__(self, ctx: AppContext, *, monotonic: Callable[[], float] = time.monotonic,
                 wedge_gap: float = 0.030, cursor_blink: bool = True, devices: Sequence[DeviceConfig] = (),
                 device_error: str | None = None) -> None:
        super().__init__()
        _faster_frames()
        literal.install()  # stored text is shown as characters, never acted on by the terminal
        self.cursor_blink = cursor_blink
        translate_bindings(self)
        self.ctx = ctx
        self.monotonic = monotonic
        self.wedge: DeviceConfig | None = next((d for d in devices if d.kind == "wedge"), None)
        self.wedge_gap = self.wedge.gap_ms / 1000 if self.wedge is not None else wedge_gap
        self.device_error = device_error
        self.hub = DeviceHub(devices, self._from_device)
        ctx.devices = {d.name: ("opening", "") for d in self.hub.configs}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._device_context: contextvars.Context | None = None
        self.db = ThreadPoolExecutor(1, thread_name_prefix="register-write")
        self.reads = ThreadPoolExecutor(2, thread_name_prefix="register-read")
        self.last_input = monotonic()
        self.counter: Screen[Any] | None = None
        from tui.screens.watch import AlarmPoller

        self.alarms = AlarmPoller(ctx.store)

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.push_screen(LoginScreen(self.ctx))
        self.set_interval(IDLE_CHECK_SECONDS, self.lock_if_idle)
        self.set_interval(ALARM_POLL_SECONDS, self.announce_alarms)
        self._loop = asyncio.get_running_loop()
        self._device_context = contextvars.copy_context()  # Textual finds its app through context variables
        for warning in self.ctx.store.warnings:  # a register file other local users can read: say so at every start
            self.notify(warning.message(self.ctx.lang), title=i18n.pick("Register file", "登记库文件"),
                        severity="warning", timeout=60, markup=False)
        if self.device_error:
            self.notify(self.device_error, title=i18n.pick("Devices", "设备"), severity="error", timeout=30,
                        markup=False)  # names and OS messages from tracker.toml and drivers: shown as written
        self.hub.start()

    async def on_unmount(self) -> None:
        self.hub.stop()
        self.db.shutdown(wait=False, cancel_futures=True)
        self.reads.shutdown(wait=False, cancel_futures=True)

    # -- devices ---------------------------------------------------------------------------------------------------

    def _from_device(self, event: Read | DeviceStatus) -> None:
        """Called on a device's thread: hand the event to the UI loop without waiting for it (FIFO keeps order)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self.device_event, event, context=self._device_context)
        except RuntimeError:  # the loop closed between the check and the call: the app is ending
            pass

    def device_event(self, event: Read | DeviceStatus) -> None:
        """On the UI loop: a status updates the top bar (and says so once when a device drops); a read is a scan."""
        if isinstance(event, DeviceStatus):
            old = self.ctx.devices.get(event.device, ("", ""))[0]
            self.ctx.devices[event.device] = (event.state.value, event.detail)
            self._refresh_topbars()
            if event.state is not DeviceState.CONNECTED and old in ("connected", "opening"):
                detail = f": {event.detail}" if event.detail else ""
                self.notify(i18n.pick(f"{event.device} is {event.state.value}{detail}",
                                      f"{event.device} {_STATE_ZH.get(event.state.value, event.state.value)}{detail}"),
                            title=i18n.pick("Devices", "设备"), severity="warning", markup=False)
            return
        self.device_scan(event.code.strip())

    def device_scan(self, code: str) -> None:
        """Deliver a device's code where a keyboard-wedge scan of it would go."""
        if not code:
            return
        now = get_time()
        focused = self.focused
        if isinstance(focused, ScanField) and focused.screen is self.screen:
            focused.post_message(ScanField.Scanned(focused, code, now, now))
            return
        counter = self.counter
        if self.ctx.actor is None or isinstance(self.screen, LoginScreen) or counter is None \
                or not hasattr(counter, "submit_scan"):
            return  # nobody signed in (or locked): a scan must not act at the counter
        counter.submit_scan(code, "scan", now)

    def _refresh_topbars(self) -> None:
        from tui.widgets.topbar import TopBar

        for bar in self.screen.query(TopBar):
            bar.refresh_bar()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown | events.Paste):
            self.last_input = self.monotonic()
        await super().on_event(event)

    async def signed_in(self, actor: Signed, who: PersonView | None, login: LoginScreen) -> None:
        """Called by the login screen: the same operator unlocking resumes, anyone else starts afresh."""
        resume = login.locked_by is not None and self.ctx.actor is not None and self.ctx.actor.badge == actor.badge
        self.ctx.actor = actor
        self.ctx.operator_name = who.name if who else ""
        self.ctx.operator_roles = who.roles if who else frozenset()
        self.last_input = self.monotonic()
        if resume:
            self.pop_screen()
            return
        from tui.screens.counter import CounterScreen

        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.counter = CounterScreen(self.ctx)
        self.switch_screen(self.counter)

    # -- idle lock -------------------------------------------------------------------------------------------------

    async def announce_alarms(self) -> None:
        """Gate and cabinet alarms recorded by `tracker watch run` appear on this counter, whatever screen is open."""
        from tui.screens.watch import alarm_text
        from tui.workers import off_ui

        try:
            new = await off_ui(self.reads, self.alarms.poll)
        except DomainError:
            return  # the register not answering is reported by the screens that write; the next poll tries again
        for e in new:
            self.notify(alarm_text(e), title=i18n.pick("Gate / cabinet alarm", "通道门/智能柜报警"), severity="error",
                        timeout=30, markup=False)
            self.bell()

    def lock_if_idle(self) -> bool:
        """Lock the counter when nobody has touched it for `idle_lock_minutes`; returns True if it locked."""
        minutes = self.ctx.store.policy.idle_lock_minutes
        if minutes <= 0 or self.ctx.actor is None or isinstance(self.screen, LoginScreen):
            return False
        if self.monotonic() - self.last_input < minutes * 60:
            return False
        self.action_lock(idle=True)
        return True

    def action_lock(self, idle: bool = False) -> None:
        """Lock the counter: Ctrl+O by the operator, or the idle timer (`idle`), which the lock screen says."""
        if self.ctx.actor is None or isinstance(self.screen, LoginScreen):
            return
        while isinstance(self.screen, ModalScreen):
            self.pop_screen()
        counter = self.counter
        if counter is not None and hasattr(counter, "submit"):
            from tui.desk import ClearParty

            counter.submit(ClearParty())  # a signature must not outlive the lock
        self.push_screen(LoginScreen(self.ctx, locked_by=self.ctx.actor.badge, idle=idle))

    def action_toggle_theme(self) -> None:
        """Dark and light themes: the level chips keep their colours, everything else follows the theme."""
        self.theme = "textual-light" if self.theme != "textual-light" else "textual-dark"

    # -- navigation ------------------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open", "lock") and (self.ctx.actor is None or isinstance(self.screen, LoginScreen)):
            return False
        if action == "open" and parameters and parameters[0] == "stocktake" and _stocktake_screen() is None:
            return False
        return True

    def action_open(self, name: str) -> None:
        """Show one of the screens above the counter (never more than one deep)."""
        if self.ctx.actor is None or isinstance(self.screen, ModalScreen | LoginScreen):
            return
        if getattr(self.screen, "screen_name", None) == name:
            return
        factory = self._screens().get(name)
        if factory is None:
            return
        while self.counter is not None and self.screen is not self.counter and len(self.screen_stack) > 2:
            self.pop_screen()
        if name == "counter":
            return
        self.push_screen(factory())

    def _screens(self) -> dict[str, Callable[[], Screen[Any]]]:
        from tui.screens.alerts import AlertsScreen
        from tui.screens.approvals import ApprovalsScreen
        from tui.screens.audit import AuditScreen
        from tui.screens.courier import CourierScreen
        from tui.screens.destruction import DestructionScreen
        from tui.screens.handover import HandoverScreen
        from tui.screens.ledger import LedgerScreen
        from tui.screens.meeting import MeetingScreen
        from tui.screens.register import RegisterScreen
        from tui.screens.registers import RegistersScreen
        from tui.screens.watch import WatchScreen

        out: dict[str, Callable[[], Screen[Any]]] = {
            "counter": lambda: self.counter,  # type: ignore[return-value,dict-item]
            "handover": lambda: HandoverScreen(self.ctx),
            "register": lambda: RegisterScreen(self.ctx),
            "alerts": lambda: AlertsScreen(self.ctx),
            "watch": lambda: WatchScreen(self.ctx),
            "ledger": lambda: LedgerScreen(self.ctx),
            "approvals": lambda: ApprovalsScreen(self.ctx),
            "audit": lambda: AuditScreen(self.ctx),
            "destruction": lambda: DestructionScreen(self.ctx),
            "meeting": lambda: MeetingScreen(self.ctx),
            "registers": lambda: RegistersScreen(self.ctx),
            "courier": lambda: CourierScreen(self.ctx),
        }
        stocktake = _stocktake_screen()
        if stocktake is not None:
            out["stocktake"] = lambda: stocktake(self.ctx)
        return out

    # -- scans outside the counter ---------------------------------------------------------------------------------

    def on_scan_field_scanned(self, event: ScanField.Scanned) -> None:
        """A scan nobody on the current screen wanted (e.g. while a dialog is open) still reaches the counter."""
        counter = self.counter
        if counter is not None and hasattr(counter, "submit_scan"):
            counter.submit_scan(event.code, "scan", event.ended)


def _stocktake_screen() -> Callable[[AppContext], Screen[Any]] | None:
    """The stock-take screen lives in `tui.screens.stocktake` (another module's work): used when present."""
    if importlib.util.find_spec("tui.screens.stocktake") is None:
        return None
    module = importlib.import_module("tui.screens.stocktake")
    screen = getattr(module, "StocktakeScreen", None)
    return screen if callable(screen) else None


_STATE_ZH = {"connected": "已连接", "reconnecting": "正在重连", "disconnected": "已断开", "error": "故障"}


def configured_devices(settings: Settings) -> tuple[list[DeviceConfig], str | None]:
    """The `[devices]` of the settings' own file; a broken table leaves the counter on the keyboard wedge with the
    reason shown, rather than refusing to open the counter."""
    if settings.config_path is None:
        return [], None
    try:
        return load_devices(settings.config_path), None
    except ConfigError as e:
        return [], i18n.pick(f"Devices not started — configuration error: {e}", f"设备未启动——配置错误：{e}")


def make_app(store: Store, settings: Settings, lang: str | None = None, **kwargs: Any) -> TrackerApp:
    chosen = i18n.set_language(lang or settings.lang)
    ctx = AppContext(store=store, settings=settings, lang=chosen,
                     output_dir=_output_dir(settings))
    return TrackerApp(ctx, **kwargs)


def _output_dir(settings: Settings) -> Path:
    """Receipts and label PDFs go next to an SQLite register, else into ./var/out."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / "out"
    return Path("var") / "out"


def run(settings: Settings, lang: str | None = None, devices: bool = True) -> None:
    """Open the counter on the register named by `settings` (login screen first); `devices=False` leaves the
    configured scanners and readers closed (another program has them, or the counter is being tried out)."""
    store = Store(settings.database_url, terminal=settings.terminal)
    try:
        store.ensure_schema()
        i18n.set_language(lang or settings.lang)  # a device configuration error is shown in the operator's language
        configs, error = configured_devices(settings) if devices else ([], None)
        make_app(store, settings, lang, devices=configs, device_error=error).run()
    except DomainError as e:  # e.g. an outdated schema: a sentence for the operator, not a traceback
        raise SystemExit(e.message(lang or settings.lang)) from None
    finally:
        store.dispose()
