"""What every full screen of the counter shares: the app context, and key labels in the operator's language.

The key bar reads the bindings' descriptions as soon as the screen composes, so they are translated in the
constructor, before anything else a screen sets up; doing it here once keeps a new screen from showing English keys
to a Chinese operator because one line was forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input

from tracker.domain import DomainError
from tracker.services.common import Signed, authenticate
from tui import lookups
from tui.context import AppContext
from tui.desk import Feedback
from tui.i18n import N_, _, pick, translate_bindings
from tui.lookups import PersonView
from tui.screens.dialogs import PinDialog
from tui.widgets.card import FeedbackCard
from tui.widgets.scan_field import ScanField
from tui.workers import off_ui

# Escape leads back to the counter from every screen one key away from it, so an operator always has the same way home.
TO_COUNTER = Binding("escape", "app.open('counter')", N_("Counter"))


@dataclass
class Signer:
    """A party scanned at a scan desk (giver, taker, second courier); `signed` once they typed their PIN."""

    person: PersonView
    signed: Signed | None = None


class DeskScreen(Screen[None]):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        translate_bindings(self)
        self.ctx = ctx


class ScanDeskScreen(DeskScreen):
    """A screen worked from one scan field (`scan_id`): a scanner burst or a typed line, Enter, becomes one `take`,
    and register work runs off the UI thread (`_run`). The handover, the courier, the meeting desk and the
    destruction site all read codes this way; each says only what a code means to it."""

    scan_id = "scan"

    async def take(self, text: str) -> None:
        raise NotImplementedError

    @property
    def card(self) -> FeedbackCard:
        """The feedback card of a screen that has one (`#card`): the handover's and the courier's."""
        return self.query_one("#card", FeedbackCard)

    def _fail(self, message: str) -> None:
        self.card.show(Feedback("error", message))
        self.app.bell()

    def ask_signature(self, badge: str, name: str, role: str) -> None:
        """The party scanned signs with their PIN (a dialog); `signed` gets the signature, a wrong PIN a red card.
        The handover and the courier hop sign each party this way."""
        self.card.show(Feedback("waiting", f"{role}: {badge} {name}",
                                (_("{name}: type your PIN and press Enter.").format(name=name),)))
        self.app.push_screen(PinDialog(_("Signature"), f"{role}: {name}"), lambda pin: self._sign(badge, pin))

    def _sign(self, badge: str, pin: str | None) -> None:
        if pin:
            self.run_worker(self._sign_async(badge, pin), group=getattr(self, "screen_name", "desk"))

    async def _sign_async(self, badge: str, pin: str) -> None:
        try:
            signature = await self._run(authenticate, self.ctx.store.uow(), badge, pin)
        except DomainError as e:
            self._fail(pick(e.en, e.zh))
            return
        self.signed(badge, signature)

    def signed(self, badge: str, signature: Signed) -> None:
        raise NotImplementedError

    @staticmethod
    def sign_in(parties: Iterable[Signer | None], badge: str, signature: Signed) -> None:
        """Give `signature` to the parties scanned with `badge`."""
        for party in parties:
            if party is not None and party.person.badge == badge:
                party.signed = signature

    async def scanned_person(self, badge: str) -> PersonView | None:
        """The person a scanned badge names, or None after a red card saying the register has nobody by it."""
        store = self.ctx.store

        def read() -> PersonView | None:
            with store.uow(readonly=True) as uow:
                return lookups.person(uow, badge)

        who: PersonView | None = await self._run(read)
        if who is None:
            self._fail(_("No person with badge {badge} in the register.").format(badge=badge))
        return who

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await off_ui(self.app.db, fn, *args)  # type: ignore[attr-defined]

    @on(ScanField.Scanned)
    async def _scanned(self, event: ScanField.Scanned) -> None:
        if event.control.id != self.scan_id:
            return
        event.stop()
        await self.take(event.code)

    @on(Input.Submitted)
    async def _typed(self, event: Input.Submitted) -> None:
        if event.input.id != self.scan_id:
            return
        event.stop()
        text = event.value.strip()
        event.input.value = ""
        if text:
            await self.take(text)
