"""Emulator of a Zebra decoder speaking SSI over a pty: checksummed packets, ACK/NAK handshaking,
retransmission.

This module owns the scanner side of SSI as the programmer's guide describes it: it sends DECODE_DATA (split
into continuation packets when long) and waits for the host's ACK, retransmitting with the retransmit bit on
NAK RESEND or silence; it ACKs good host commands, NAKs RESEND a packet whose checksum fails and NAKs
BAD_CONTEXT an opcode it does not know; START_SESSION decodes the next queued code. It can corrupt a packet on
purpose. It must never import the driver (drivers.scanners): packet bytes are built here independently, so the
two check each other.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from drivers.transport import Closing, PtyPair

DECODER, HOST = 0x00, 0x04
RETRANSMIT, CONTINUATION = 0x01, 0x02
ACK, NAK, DECODE_DATA, REPLY_REVISION = 0xD0, 0xD1, 0xF3, 0xA4
START_SESSION, STOP_SESSION, BEEP = 0xE4, 0xE5, 0xE6
LED_ON, LED_OFF, SCAN_ENABLE, SCAN_DISABLE = 0xE7, 0xE8, 0xE9, 0xEA
PARAM_SEND, REQUEST_REVISION, SLEEP, FLUSH_QUEUE = 0xC6, 0xA3, 0xEB, 0xD2
AIM_OFF, AIM_ON, PARAM_REQUEST, PARAM_DEFAULTS = 0xC4, 0xC5, 0xC7, 0xC8
NAK_RESEND, NAK_BAD_CONTEXT, NAK_DENIED = 0x01, 0x02, 0x06
KNOWN_COMMANDS = {
    ACK, NAK, START_SESSION, STOP_SESSION, BEEP, LED_ON, LED_OFF, SCAN_ENABLE, SCAN_DISABLE, PARAM_SEND,
    REQUEST_REVISION, SLEEP, FLUSH_QUEUE, AIM_OFF, AIM_ON, PARAM_REQUEST, PARAM_DEFAULTS,
}
CODE_TYPES = {
    "code39": 0x01, "code128": 0x03, "ean13": 0x0B, "gs1-128": 0x0F, "datamatrix": 0x1B, "qrcode": 0x1C,
}
REVISION = b"EMU-SSI 1.0 carrier-tracker"


def packet(opcode: int, data: bytes = b"", status: int = 0, source: int = DECODER) -> bytes:
    """Length byte counts itself, opcode, source, status and data; the checksum makes the byte sum 0 mod
    2^16.
    """
    head = bytes([4 + len(data), opcode, source, status]) + data
    total = sum(head)
    check = (0x10000 - total % 0x10000) % 0x10000
    return head + bytes([check >> 8, check & 0xFF])


@dataclass(slots=True)
class _Outgoing:
    packets: list[bytes]
    index: int = 0
    tries: int = 0
    deadline: float = 0.0


class SsiScannerEmulator(Closing):
    """An SSI decoder on a pty. `pull_trigger(code)` decodes now; `queue(code)` waits for a START_SESSION.

    Observed behaviour is kept for tests: `acks_received`, `naks_received`, `commands` (opcodes the host sent,
    in order), `beeps`, `params`, `retransmissions`, `delivered` (codes the host ACKed), `lost` (gave up on).
    """

    def __init__(
        self,
        *,
        link: Path | str | None = None,
        ack_timeout: float = 0.3,
        max_tries: int = 4,
        max_data: int = 200,
    ) -> None:
        self.pty = PtyPair(link)
        self.ack_timeout = ack_timeout
        self.max_tries = max_tries
        self.max_data = max_data
        self.scanning_enabled = True
        self.corrupt_next = 0  # how many of the next transmissions to corrupt (checksum flipped)
        self.ignore_acks = 0  # how many of the host's next ACKs to "lose" on the wire
        self.acks_received = 0
        self.naks_received = 0
        self.retransmissions = 0
        self.commands: list[int] = []
        self.beeps: list[int] = []
        self.params: dict[int, int] = {}
        self.delivered: list[str] = []
        self.lost: list[str] = []
        self._queued: deque[tuple[str, str]] = deque()
        self._outbox: deque[tuple[str, _Outgoing]] = deque()
        self._current: tuple[str, _Outgoing] | None = None
        self._rx = bytearray()
        self._rx_at = 0.0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ssi-emulator", daemon=True)
        self._thread.start()

    @property
    def device(self) -> str:
        return self.pty.device

    # -- what a person does with the scanner -----------------------------------------------------------------
    def pull_trigger(self, code: str, symbology: str = "code128") -> None:
        """The operator scans `code`: the decoder sends it now (after any decode still waiting for its
        ACK).
        """
        if self.scanning_enabled:
            self._enqueue(code, symbology)

    def queue(self, code: str, symbology: str = "code128") -> None:
        """A label under the scanner, decoded when the host starts a session."""
        with self._lock:
            self._queued.append((code, symbology))

    def wait_idle(self, timeout: float = 3.0) -> bool:
        """Wait until every decode is ACKed or given up on."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._current is None and not self._outbox:
                    return True
            time.sleep(0.005)
        return False

    # -- wire ------------------------------------------------------------------------------------------------
    def _enqueue(self, code: str, symbology: str) -> None:
        data = code.encode()
        kind = CODE_TYPES.get(symbology, 0x03)
        chunks = [data[i : i + self.max_data] for i in range(0, len(data), self.max_data)] or [b""]
        packets = [
            packet(DECODE_DATA, bytes([kind]) + chunk, CONTINUATION if i < len(chunks) - 1 else 0)
            for i, chunk in enumerate(chunks)
        ]
        with self._lock:
            self._outbox.append((code, _Outgoing(packets)))
            self._pump()

    def _transmit(self, out: _Outgoing) -> None:
        data = out.packets[out.index]
        if out.tries:
            data = packet(data[1], data[4:-2], data[3] | RETRANSMIT)
            self.retransmissions += 1
        if self.corrupt_next:
            self.corrupt_next -= 1
            data = data[:-1] + bytes([data[-1] ^ 0x5A])
        out.tries += 1
        out.deadline = time.monotonic() + self.ack_timeout
        self._write(data)

    def _pump(self) -> None:
        if self._current is None and self._outbox:
            self._current = self._outbox.popleft()
            self._transmit(self._current[1])

    def _write(self, data: bytes) -> None:
        try:
            self.pty.write(data)
        except OSError:
            pass  # unplugged: the packet is lost on the wire, as on a real cable

    def _run(self) -> None:
        while not self._stop.is_set():
            data = self.pty.read(4096, timeout=0.01)
            with self._lock:
                if data:
                    self._rx += data
                    self._rx_at = time.monotonic()
                    self._parse()
                elif self._rx and time.monotonic() - self._rx_at > 0.25:
                    self._rx.clear()  # a packet stopped half-way: ask for it again
                    self._write(packet(NAK, bytes([NAK_RESEND])))
                self._check_timeout()

    def _check_timeout(self) -> None:
        if self._current is not None and time.monotonic() >= self._current[1].deadline:
            self._resend()

    def _resend(self) -> None:
        """Send the current packet again, or — once it has had `max_tries` — count the scan lost and move on to
        the next, as a scanner does whether the host stayed silent or NAKed."""
        assert self._current is not None
        code, out = self._current
        if out.tries >= self.max_tries:
            self.lost.append(code)
            self._current = None
            self._pump()
        else:
            self._transmit(out)

    def _parse(self) -> None:
        rx = self._rx
        while rx:
            if rx[0] == 0x00:  # wake-up byte
                del rx[0]
                continue
            if rx[0] < 4:
                del rx[0]
                continue
            if len(rx) < rx[0] + 2:
                return
            size = rx[0] + 2
            raw = bytes(rx[:size])
            del rx[:size]
            if sum(raw[:-2]) + int.from_bytes(raw[-2:], "big") & 0xFFFF:
                self._write(packet(NAK, bytes([NAK_RESEND])))
                continue
            self._command(raw[1], raw[3], raw[4:-2])

    def _command(self, opcode: int, status: int, data: bytes) -> None:
        self.commands.append(opcode)
        if opcode == ACK:
            self.acks_received += 1
            if self.ignore_acks:
                self.ignore_acks -= 1
                return
            if self._current is not None:
                code, out = self._current
                out.index += 1
                out.tries = 0
                if out.index >= len(out.packets):
                    self.delivered.append(code)
                    self._current = None
                    self._pump()
                else:
                    self._transmit(out)
            return
        if opcode == NAK:
            self.naks_received += 1
            if self._current is not None and data[:1] == bytes([NAK_RESEND]):
                self._resend()
            return
        if opcode not in KNOWN_COMMANDS:
            self._write(packet(NAK, bytes([NAK_BAD_CONTEXT])))
            return
        if opcode == REQUEST_REVISION:
            self._write(packet(REPLY_REVISION, REVISION))
            return
        if opcode == BEEP:
            if len(data) != 1 or data[0] > 0x19:
                self._write(packet(NAK, bytes([NAK_DENIED])))
                return
            self.beeps.append(data[0])
        elif opcode == PARAM_SEND:
            pairs = data[1:]
            if len(pairs) % 2:
                self._write(packet(NAK, bytes([NAK_DENIED])))
                return
            for i in range(0, len(pairs), 2):
                self.params[pairs[i]] = pairs[i + 1]
        elif opcode == SCAN_ENABLE:
            self.scanning_enabled = True
        elif opcode == SCAN_DISABLE:
            self.scanning_enabled = False
        self._write(packet(ACK))
        if opcode == START_SESSION and self._queued and self.scanning_enabled:
            code, symbology = self._queued.popleft()
            self._enqueue(code, symbology)

    # -- cable -----------------------------------------------------------------------------------------------
    def unplug(self) -> None:
        with self._lock:
            self.pty.unplug()
            self._rx.clear()

    def plug(self) -> None:
        with self._lock:
            self.pty.plug()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        self.pty.close()
