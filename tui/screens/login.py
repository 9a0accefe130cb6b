"""Login and lock: the operator's badge (scanned or typed) and PIN.

Wrong PINs are counted by the register (`services.common.authenticate`): after the policy's `pin_attempts` wrong
PINs the badge is locked for its `lockout_minutes` (policy data in the register). Every failure reads the same here;
the reason goes to the audit log. The same screen serves as the idle lock; unlocking as the same operator
returns to where they were, another operator starts afresh. The PIN is never shown, logged or kept.

A one-time PIN (an administrator's reset, or `tracker init`'s for the officer, auditor and approver) signs nothing:
this screen asks for a new PIN twice and changes it (`services.common.change_own_pin`, one ledger event) before the
counter opens, so nobody is sent to the command line and the administrator who typed the one-time PIN cannot use it.
The one-time PIN is held only until that change is made or abandoned.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from labels.codes import CodeError, classify_code, parse_badge_code
from tracker.domain import DomainError
from tracker.services.common import Refused, Signed, authenticate, change_own_pin
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
        # While a one-time PIN is being replaced: (badge, one-time PIN) and the first entry of the new PIN.
        self.replacing: tuple[str, str] | None = None
        self.first_new: str | None = None

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
            yield Label(_("PIN"), id="pin-label")
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
        if self.replacing is not None:
            await self._new_pin()
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
        if isinstance(signed, Signed) and signed.must_change_pin:
            self.replacing, self.first_new = (badge, pin), None
            badge_field.disabled = True
            self._ask_new(_("Your PIN was reset to a one-time PIN. Choose your own PIN (at least {n} digits).")
                          .format(n=store.policy.pin_min_length))
            self.who = who
            return
        await self.app.signed_in(signed, who, self)  # type: ignore[attr-defined]

    def _ask_new(self, message: str, error: bool = False) -> None:
        self.first_new = None
        self.query_one("#pin-label", Label).update(_("New PIN"))
        self._say(message, error=error)
        self.query_one("#pin", ScanField).focus()

    async def _new_pin(self) -> None:
        """The new PIN typed twice, then changed in the register; a refused PIN (too short, trivial, the same) is
        asked again with the register's reason."""
        assert self.replacing is not None
        pin_field = self.query_one("#pin", ScanField)
        typed, pin_field.value = pin_field.value, ""
        if self.first_new is None:
            self.first_new = typed
            self.query_one("#pin-label", Label).update(_("New PIN again"))
            self._say(_("Type the new PIN again."))
            return
        if typed != self.first_new:
            self._ask_new(_("The two entries differ. Type the new PIN again, twice."), error=True)
            return
        badge, one_time = self.replacing
        self.busy = True
        self._say(_("Checking…"))
        store = self.ctx.store

        def change() -> Signed:
            return change_own_pin(store.uow(), badge, one_time, typed)

        try:
            signed = await off_ui(self.app.db, change)  # type: ignore[attr-defined]
        except Refused as e:
            self.busy = False
            self._ask_new(e.message(self.ctx.lang), error=True)
            return
        except DomainError as e:
            self.busy = False
            self._ask_new(pick(e.en, e.zh), error=True)
            return
        self.busy = False
        self.replacing = self.first_new = None
        await self.app.signed_in(signed, self.who, self)  # type: ignore[attr-defined]

    def _say(self, message: str, error: bool = False) -> None:
        box = self.query_one("#login-message", Static)
        box.update(Text(message))
        box.set_class(error, "error")
        if error:
            self.app.bell()
