"""Emulator of a Honeywell serial scanner: line output, serial trigger (SYN T/U CR) and menu commands (SYN
M CR).

This module owns the scanner side: a small menu table with values, defaults and ranges; the reply format (the
command echoed with ACK, ENQ or NAK before each `,` `;` `.` `!`, queries answered with the value); and a
trigger that scans the next label queued under the scanner. It must never import the driver
(drivers.scanners).
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from drivers.emulators.scanner_line import LineScannerEmulator

SYN, CR = 0x16, 0x0D
ACK, ENQ, NAK = "\x06", "\x05", "\x15"
ACK_BYTE, NAK_BYTE = b"\x06", b"\x15"


@dataclass(slots=True)
class Setting:
    value: str
    default: str
    allowed: str  # a regex the value must match in full
    shown_range: str  # what a `*` query answers


def default_menu() -> dict[str, Setting]:
    """Tag+SubTag -> setting, for the settings a counter touches."""
    return {
        "232BAD": Setting("5", "5", "[0-9]", "0-9"),  # baud rate index (5 = 9600)
        "BEPBEP": Setting("1", "1", "[01]", "0-1"),  # beeper on good read
        "BEPLVL": Setting("3", "3", "[0-3]", "0-3"),  # beeper volume
        "TRGMOD": Setting("0", "0", "[0389]", "0|3|8|9"),  # 0 manual/serial trigger, 3 presentation
        "TRGSTO": Setting("30000", "30000", "[0-9]{1,6}", "0-300000"),  # serial trigger time-out, ms
        "232ACK": Setting("0", "0", "[01]", "0-1"),  # ACK/NAK mode: each scan waits for the host's ACK
        # suffix for all symbologies: 99 (all) + hex bytes
        "SUFBK2": Setting("990D", "990D", "(99[0-9A-F]{2}){0,10}", "0-20 hex digits"),
    }


class HoneywellScannerEmulator(LineScannerEmulator):
    """A Honeywell scanner on a pty. `queue(code)` puts a label under it for the next serial trigger;
    `pull_trigger(code)` is the operator pressing the trigger. `menu_commands`, `triggers` record what the
    host sent.
    """

    def __init__(
        self,
        *,
        link: Path | str | None = None,
        aim: bool = False,
        terminator: str = "cr",
        ack_timeout: float = 0.3,
        ack_retries: int = 3,
    ) -> None:
        super().__init__(terminator=terminator, aim=aim, link=link)
        self.ack_timeout = ack_timeout
        self.ack_retries = ack_retries
        self.host_acks = 0
        self.corrupt_next = 0  # how many of the next transmissions get line noise in the middle
        self.host_naks = 0
        self.resends = 0
        self.unacknowledged: list[str] = []
        self._answer = threading.Event()
        self._answer_byte = b""
        self._outbox: queue.Queue[tuple[str, str]] = queue.Queue()
        self.menu = default_menu()
        self.saved: dict[str, str] = {}
        self.menu_commands: list[str] = []
        self.triggers = 0
        self.untriggers = 0
        self.scanning = False
        self._queued: deque[tuple[str, str]] = deque()
        self._rx = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="honeywell-emulator", daemon=True)
        self._thread.start()
        self._sender = threading.Thread(target=self._send_loop, name="honeywell-sender", daemon=True)
        self._sender.start()

    def queue(self, code: str, symbology: str = "code128") -> None:
        with self._lock:
            self._queued.append((code, symbology))

    def pull_trigger(self, code: str, symbology: str = "code128") -> None:
        self._outbox.put((code, symbology))

    @property
    def ack_mode(self) -> bool:
        return self.menu["232ACK"].value == "1"

    def wait_sent(self, timeout: float = 3.0) -> bool:
        """Wait until every scan has gone out (and, in ACK/NAK mode, been answered or given up on)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._outbox.unfinished_tasks == 0:
                return True
            time.sleep(0.005)
        return False

    def _send_loop(self) -> None:
        while not self._stop.is_set():
            try:
                code, symbology = self._outbox.get(timeout=0.05)
            except queue.Empty:
                continue
            try:
                self._send_one(code, symbology)
            finally:
                self._outbox.task_done()

    def _send_one(self, code: str, symbology: str) -> None:
        if not self.ack_mode:
            self.scan(code, symbology)
            return
        for attempt in range(self.ack_retries + 1):
            self._answer.clear()
            if attempt:
                self.resends += 1
            if self.corrupt_next:
                self.corrupt_next -= 1
                frame = self.frame(code, symbology)
                self.send(frame[:3] + b"\x00\xff" + frame[3:])
            else:
                self.scan(code, symbology)
            if self._answer.wait(self.ack_timeout) and self._answer_byte == ACK_BYTE:
                return
        self.unacknowledged.append(code)

    def _run(self) -> None:
        while not self._stop.is_set():
            data = self.pty.read(4096, timeout=0.01)
            if data:
                with self._lock:
                    self._rx += data
                    self._parse()

    def _parse(self) -> None:
        rx = self._rx
        while rx:
            start = rx.find(bytes([SYN]))
            for byte in rx[: start if start >= 0 else len(rx)]:
                if byte in (ACK_BYTE[0], NAK_BYTE[0]):  # the host answering a scan (ACK/NAK mode)
                    if byte == ACK_BYTE[0]:
                        self.host_acks += 1
                    else:
                        self.host_naks += 1
                    self._answer_byte = bytes([byte])
                    self._answer.set()
            if start < 0:
                rx.clear()
                return
            del rx[:start]
            if len(rx) < 3:
                return
            kind, sep = rx[1:2], rx[2]
            if sep != CR:
                del rx[0]
                continue
            if kind == b"T":
                del rx[:3]
                self._trigger()
            elif kind == b"U":
                del rx[:3]
                self.untriggers += 1
                self.scanning = False
            elif kind == b"M":
                end = next((i for i in range(3, len(rx)) if rx[i] in b".!"), -1)
                if end < 0:
                    return
                body = bytes(rx[3:end]).decode("ascii", "replace")
                storage = chr(rx[end])
                del rx[: end + 1]
                self._write_reply(self._menu(body, storage))
            else:
                del rx[0]

    def _trigger(self) -> None:
        self.triggers += 1
        self.scanning = True
        if self._queued:
            code, symbology = self._queued.popleft()
            self.scanning = False
            self._outbox.put((code, symbology))

    def _write_reply(self, data: bytes) -> None:
        try:
            self.pty.write(data)
        except OSError:
            pass

    def _menu(self, body: str, storage: str) -> bytes:
        """Apply a command sequence and build the echo: each command, its status byte, its separator."""
        self.menu_commands.append(body + storage)
        groups = []
        for group in body.split(";"):
            tag = group[:3].upper()
            items = []
            for k, rest in enumerate(group[3:].split(",")):
                echo, status = self._apply(tag, rest, storage)
                items.append((group[:3] if k == 0 else "") + echo + status)
            groups.append(",".join(items))
        return (";".join(groups) + storage).encode()

    def _apply(self, tag: str, rest: str, storage: str) -> tuple[str, str]:
        sub, data = rest[:3].upper(), rest[3:]
        setting = self.menu.get(tag + sub)
        if setting is None:
            return rest, ENQ
        if data == "?":
            return sub + setting.value, ACK
        if data == "^":
            return sub + setting.default, ACK
        if data == "*":
            return sub + setting.shown_range, ACK
        if not re.fullmatch(setting.allowed, data) or (tag + sub == "TRGSTO" and int(data) > 300000):
            return rest, NAK
        setting.value = data
        if storage == ".":
            self.saved[tag + sub] = data
        return rest, ACK

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        self._sender.join(1.0)
        super().close()

