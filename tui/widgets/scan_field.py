"""An input field that tells a keyboard-wedge scan from typing and never loses a key.

Every key goes through the wedge burst detector (`drivers.scanners.wedge`): a burst of characters less than `gap`
apart ending in Enter is posted as one `ScanField.Scanned` message and never lands in the field; anything else is
typing and is put into the field in the order it came (printable keys by us, other keys by the Input as usual). The
key's own timestamp (taken when the terminal delivered it) decides, not the time we get round to it, so a busy UI
cannot turn a scan into typing. The field does no lookups: the screen decides what a code means.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import events
from textual.message import Message
from textual.widgets import Input

from drivers.scanners.wedge import Typed, WedgeBurstDetector, WedgeScan

POLL_SECONDS = 0.02
# A lone typed key is shown once this long has passed with no next key; longer than the burst gap so that keys still
# queued behind a busy event loop are judged by their own timestamps first.
RELEASE_AFTER = 0.08


class ScanField(Input):
    class Scanned(Message):
        """A scan arrived (keyboard wedge burst). `started` is the time of its first key."""

        def __init__(self, field: ScanField, code: str, started: float, ended: float) -> None:
            super().__init__()
            self.field = field
            self.code = code
            self.started = started
            self.ended = ended

        @property
        def control(self) -> ScanField:
            return self.field

    def __init__(self, *, gap: float = 0.030, min_length: int = 4, accept: Callable[[str], bool] | None = None,
                 **kwargs: object) -> None:
        """`accept` decides which bursts are scans; others are typed into the field (a PIN typed fast, or by a
        keyboard macro, must land in the PIN field and never travel anywhere as a "scan")."""
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.detector = WedgeBurstDetector(gap=gap, min_length=min_length)
        self.accept = accept
        self._burst_start: float | None = None

    def on_mount(self) -> None:
        wedge = getattr(self.app, "wedge", None)
        if wedge is not None and (wedge.layout or wedge.prefix or wedge.suffix):
            # The configured wedge scanner's layout and framing apply to every field it can type into.
            self.detector = WedgeBurstDetector(gap=self.detector.gap, min_length=self.detector.min_length,
                                               prefix=wedge.prefix, suffix=wedge.suffix, layout=wedge.layout or None)
        self.set_interval(POLL_SECONDS, self._poll)
        if not getattr(self.app, "cursor_blink", True):
            self.cursor_blink = False  # screenshots and snapshot tests must not depend on the blink phase

    def _poll(self) -> None:
        from textual._time import get_time

        for result in self.detector.poll(get_time() - RELEASE_AFTER):
            if isinstance(result, Typed):
                self._type(result.keys)

    def _type(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            char = " " if key == "space" else key
            if len(char) == 1 and char.isprintable():
                if not self.selection.is_empty:  # typing over a selected (pre-filled) value replaces it
                    start, end = sorted(self.selection)
                    self.replace(char, start, end)
                else:
                    self.insert_text_at_cursor(char)

    async def _on_key(self, event: events.Key) -> None:
        key = event.character if event.is_printable and event.character else event.key
        was_holding = self.detector.holding
        results = self.detector.feed(key, event.time)
        if self.detector.holding and (not was_holding or results):
            self._burst_start = event.time  # this key starts a new burst
        current_released = bool(results) and isinstance(results[-1], Typed) and not self.detector.holding
        for i, result in enumerate(results):
            if isinstance(result, WedgeScan) and self.accept is not None and not self.accept(result.code):
                self._type(result.keys[:-1])
                return  # the Enter that ended the burst submits the field as usual
            if isinstance(result, WedgeScan):
                started = self._burst_start if self._burst_start is not None else event.time
                self.post_message(self.Scanned(self, result.code, started, event.time))
            elif i == len(results) - 1 and current_released:
                self._type(result.keys[:-1])
            else:
                self._type(result.keys)
        if current_released and not (event.is_printable and event.character):
            # Enter, Backspace, arrows…: the Input (and the bindings) handle the key as usual.
            return
        if current_released:
            self._type((key,))
        event.stop()
        event.prevent_default()


def is_code(code: str) -> bool:
    """For PIN fields: a burst that is a register code (badge, carrier, place, tag) is a scan, to be routed to the
    counter; anything else that comes fast — digits — is a PIN being typed, and stays in the field."""
    from labels.codes import classify_code

    return classify_code(code) != "unknown"
