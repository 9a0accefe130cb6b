"""The Honeywell serial scanner driver: scans arrive as lines; the host triggers, acknowledges scans and reads
menu settings.

Honeywell (Hand Held Products / Metrologic) scanners in RS-232 or USB serial mode accept `SYN T CR` to start a
scan and `SYN U CR` to stop it, and menu commands `SYN M CR` + `TagSubTagData[,SubTagData][;TagSubTagData]` +
`.` (saved) or `!` (until power-down). They answer by echoing the command with a status byte — ACK good, ENQ
unknown tag, NAK value out of range — before each `,` `;` and the final `.`/`!`. In ACK/NAK mode (menu
`232ACK1`) the scanner waits for the host's ACK after each scan and sends it again on NAK. This module owns
those exchanges; scans are framed by the line framer exactly as for a plain line scanner. It must never treat
a menu reply as a scan.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from drivers.scanners.base import ScannerCommandError
from drivers.scanners.framing import Frame, LineFramer, Rejected, Reply
from drivers.scanners.serial_line import LineScanner

SYN = b"\x16"
TRIGGER = SYN + b"T\r"
UNTRIGGER = SYN + b"U\r"
MENU = SYN + b"M\r"
ACK, ENQ, NAK = "\x06", "\x05", "\x15"
STATUS_NAMES = {ACK: "ok", ENQ: "unknown tag", NAK: "value out of range"}


@dataclass(frozen=True, slots=True)
class MenuItem:
    """One command of a reply: its echo (for a query, with the current value) and the scanner's verdict."""

    echo: str
    status: str  # "ok", "unknown tag" or "value out of range"

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True, slots=True)
class MenuReply:
    text: str
    items: tuple[MenuItem, ...]
    storage: str  # "." saved, "!" volatile

    @property
    def ok(self) -> bool:
        return all(item.ok for item in self.items)


def parse_menu_reply(text: str) -> MenuReply:
    """Split `232BAD5<ACK>,WRD2<NAK>.` into items; raises ValueError if it is not a menu reply."""
    if not text or text[-1] not in ".!":
        raise ValueError(f"not a menu reply (no final . or !): {text!r}")
    items: list[MenuItem] = []
    start = 0
    for i, ch in enumerate(text):
        if ch in STATUS_NAMES:
            if i + 1 >= len(text) or text[i + 1] not in ",;.!":
                raise ValueError(f"status byte not followed by a separator at {i}: {text!r}")
            items.append(MenuItem(text[start:i], STATUS_NAMES[ch]))
            start = i + 2
    if not items:
        raise ValueError(f"menu reply without a status byte: {text!r}")
    return MenuReply(text, tuple(items), text[-1])


class HoneywellScanner(LineScanner):
    """A Honeywell scanner on a serial port: scans as for `LineScanner`, plus `trigger()` and `menu()`."""

    def __init__(self, name: str, url: str = "", *, ack_mode: bool = False, **kwargs: Any) -> None:
        super().__init__(name, url, **kwargs)
        self.ack_mode = ack_mode
        self.framer = LineFramer(self.framer.settings, reply_marks=(ACK + ENQ + NAK).encode())
        self._command_lock = threading.Lock()
        self._reply_ready = threading.Event()
        self._reply: Reply | None = None

    def trigger(self) -> None:
        """Start a scan, as if the trigger were pulled (the scanner must be in manual/serial trigger mode)."""
        if not self.write(TRIGGER):
            raise ScannerCommandError(f"{self.name}: cannot trigger: not connected")

    def untrigger(self) -> None:
        if not self.write(UNTRIGGER):
            raise ScannerCommandError(f"{self.name}: cannot stop the scan: not connected")

    def menu(self, command: str, *, save: bool = False, timeout: float = 1.0) -> MenuReply:
        """Send a menu command (e.g. `BEPBEP1`, `232BAD?`, `BEPBEP0;TRGMOD0`) and return the parsed reply.

        `save=False` applies it until power-down (`!`), which is what a counter session wants: the scanner
        returns to its own settings when unplugged. Raises ScannerCommandError if the scanner does not answer.
        """
        if not command or any(ch in command for ch in "\r\n.!\x16"):
            raise ValueError(f"menu command {command!r} is empty or contains a line end, '.', '!' or SYN")
        with self._command_lock:
            self._reply = None
            self._reply_ready.clear()
            data = MENU + command.encode("ascii") + (b"." if save else b"!")
            if not self.write(data):
                raise ScannerCommandError(f"{self.name}: cannot send menu command {command}: not connected")
            if not self._reply_ready.wait(timeout):
                raise ScannerCommandError(
                    f"{self.name}: no answer to menu command {command}; "
                    "check the scanner is set to an RS-232/USB serial interface"
                )
            assert self._reply is not None
            return parse_menu_reply(self._reply.text)

    def set(self, setting: str, value: str, *, save: bool = False) -> None:
        """Set one menu setting (`set("BEPBEP", "0")`); raises ScannerCommandError if it is refused."""
        reply = self.menu(setting + value, save=save)
        if not reply.ok:
            raise ScannerCommandError(f"{self.name}: {setting}={value} refused: {reply.items[0].status}")

    def query(self, setting: str) -> str:
        """The current value of one setting (`query("232BAD")` -> `"5"`)."""
        reply = self.menu(setting + "?")
        item = reply.items[0]
        if not item.ok:
            raise ScannerCommandError(f"{self.name}: cannot read {setting}: {item.status}")
        return item.echo[len(setting) :]

    def _on_data(self, data: bytes, now: float) -> None:
        items = self.framer.feed(data, now) if data else self.framer.poll(now)
        if self.ack_mode:
            # ACK/NAK mode (menu 232ACK1): the scanner holds each scan until the host answers; NAK asks again.
            for item in items:
                if isinstance(item, Frame):
                    self.write(ACK.encode())
                elif isinstance(item, Rejected):
                    self.write(NAK.encode())
        self._handle(items)

    def _on_reply(self, reply: Reply) -> None:
        self._reply = reply
        self._reply_ready.set()
