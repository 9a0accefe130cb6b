"""The serial line scanner driver: a USB-CDC or RS-232 scanner that sends each scan as a line of text.

This module owns wiring the line framer (drivers.scanners.framing) to a reconnecting port and turning frames
into `Read`s, with the AIM identifier split off. It must never write to the scanner (a plain line scanner has
no host protocol; see honeywell.py and ssi.py for scanners that do) and never interpret codes beyond the AIM
prefix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drivers.scanners.base import EventSink, SerialDriver, read_from_text
from drivers.scanners.framing import Frame, Item, LineFramer, LineSettings, Rejected, Reply
from drivers.transport import BY_ID_DIR


class LineScanner(SerialDriver):
    """Reads scans from a line scanner; `rejected` keeps the last refused frames for `tracker devices
    test`.
    """

    def __init__(
        self,
        name: str,
        url: str = "",
        *,
        settings: LineSettings | None = None,
        baudrate: int = 9600,
        by_id: str = "",
        by_id_dir: Path | str = BY_ID_DIR,
        dup_window: float = 1.0,
        on_event: EventSink | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            name, url, baudrate=baudrate, by_id=by_id, by_id_dir=by_id_dir, dup_window=dup_window,
            on_event=on_event, **kwargs,
        )
        self.framer = LineFramer(settings)
        self.rejected: list[Rejected] = []

    def _on_data(self, data: bytes, now: float) -> None:
        self._handle(self.framer.feed(data, now) if data else self.framer.poll(now))

    def _handle(self, items: list[Item]) -> None:
        for item in items:
            if isinstance(item, Frame):
                read = read_from_text(item.text, device=self.name, raw=item.raw)
                self.stream.emit_read(read, item.at)
            elif isinstance(item, Rejected):
                self.rejected = [*self.rejected[-49:], item]
            else:
                self._on_reply(item)

    def _on_reply(self, reply: Reply) -> None:
        """A plain line scanner never answers; subclasses that send commands override this."""

    def _on_lost(self) -> None:
        self._handle(self.framer.reset())
