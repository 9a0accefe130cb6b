"""Login and lock: the operator's badge (scanned or typed) and PIN.

Wrong PINs are counted by the register (`services.common.authenticate`): after the policy's `pin_attempts` wrong
PINs the badge is locked for its `lockout_minutes` (policy data in the register). Every failure reads the same here;
the reason goes to the audit log. The same screen serves as the idle lock; unlocking as the same operator
returns to where they were, another operator starts afresh. The PIN is never shown, logged or kept.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from labels.codes import CodeError, classify_code, parse_badge_code
from tracker.domain import DomainError
from tracker.services.common import authenticate
from tui import lookups
from tui.context import AppContext
from tui.i18n import _, pick
from tui.lookups import PersonView
from tui.screens.base import DeskScreen
from tui.widgets.keybar import KeyBar
from tui.widgets.scan_field import ScanField, is_code
from tui.widgets.topbar import TopBar
from tui.workers import off_ui


class LoginScreen(DeskScreen):
    BINDINGS = []  # noqa: RUF012

    def __init__(self, ctx: AppContext, *, locked_by: str | None = None, idle: bool = False) -> None:
        super().__init__(ctx)
        self.locked_by = locked_by
        self.idle = idle
        self.busy = False

    def compose(self) -> ComposeResult:
        title = _("Locked") if self.locked_by else _("Sign in")
        yield TopBar(self.ctx, _("Carrier register — counter"))
        with Vertical(id="login-box"):
            yield Label(title, id="login-title")
            if self.locked_by:
                why = _("The counter was locked after being idle. Sign in to continue.") if self.idle else \
                    _("The counter is locked. Sign in to continue.")
                yield Static(Text(why), markup=False, id="lock-reason")
            yield Label(_("Badge (scan or type)"))
            yield ScanField(placeholder="B-BJ-00001A", id="badge", gap=self.app_gap())
            yield Label(_("PIN"))
            yield ScanField(placeholder="••••", password=True, id="pin", gap=self.app_gap(), accept=is_code)
            yield Static("", id="login-message", markup=False)
        yield KeyBar()

    def app_gap(self) -> float:
        return float(getattr(self.app, "wedge_gap", 0.030))

    def on_mount(self) -> None:
        badge = self.query_one("#badge", ScanField)
        if self.locked_by:
            badge.value = self.locked_by
            self.query_one("#pin", ScanField).focus()
        else:
            badge.focus()

    @on(ScanField.Scanned)
    def _scanned(self, event: ScanField.Scanned) -> None:
        event.stop()
        if classify_code(event.code) == "badge":
            self.query_one("#badge", ScanField).value = event.code.strip().upper()
            self.query_one("#pin", ScanField).focus()
        else:
            self._say(_("That is not a badge. Scan your staff badge."), error=True)

    @on(Input.Submitted, "#badge")
    def _badge_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#pin", ScanField).focus()

    @on(Input.Submitted, "#pin")
    async def _pin_done(self, event: Input.Submitted) -> None:
        event.stop()
        await self.attempt()

    async def attempt(self) -> None:
        if self.busy:
            return
        badge_field = self.query_one("#badge", ScanField)
        pin_field = self.query_one("#pin", ScanField)
        text, pin = badge_field.value.strip(), pin_field.value
        pin_field.value = ""
        try:
            badge = parse_badge_code(text).text
        except CodeError as e:
            self._say(pick(e.message_en, e.message_zh), error=True)
            badge_field.focus()
            return
        self.busy = True
        self._say(_("Checking…"))
        store = self.ctx.store

        def sign_in() -> tuple[object, PersonView | None]:
            signed = authenticate(store.uow(), badge, pin)
            with store.uow(readonly=True) as uow:
                return signed, lookups.person(uow, badge)

        try:
            signed, who = await off_ui(self.app.db, sign_in)  # type: ignore[attr-defined]
        except DomainError as e:
            self.busy = False
            self._say(pick(e.en, e.zh), error=True)
            pin_field.focus()
            return
        self.busy = False
        await self.app.signed_in(signed, who, self)  # type: ignore[attr-defined]

    def _say(self, message: str, error: bool = False) -> None:
        box = self.query_one("#login-message", Static)
        box.update(Text(message))
        box.set_class(error, "error")
        if error:
            self.app.bell()
