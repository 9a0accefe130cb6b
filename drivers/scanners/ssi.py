"""The Zebra SSI scanner driver: decodes arrive as checksummed packets that the host must ACK; the host can
start and stop decode sessions, beep and switch the LED.

This module owns the host side of the conversation: ACK every good packet, NAK RESEND every bad one,
reassemble multi-packet decodes, drop a retransmission of a decode already delivered (its ACK was lost), and
run one command at a time, waiting for the scanner's ACK with retries. It must never deliver a decode whose
checksum failed, and never block the reader thread waiting for an answer — commands wait on the caller's
thread.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from drivers.scanners import aim
from drivers.scanners.base import ScannerCommandError, SerialDriver, read_from_text
from drivers.scanners.ssi_packets import (
    BARCODE_TYPES,
    BEEP_NONE,
    PARAM_DECODE_PACKET_FORMAT,
    PARAM_SOFTWARE_HANDSHAKING,
    BadPacket,
    Nak,
    Op,
    Packet,
    SsiFramer,
    ack,
    encode,
    nak,
)
from drivers.transport import Transport


@dataclass(slots=True)
class _Pending:
    opcode: int
    answers: frozenset[int]
    done: threading.Event = field(default_factory=threading.Event)
    reply: Packet | None = None


class SsiScanner(SerialDriver):
    """A scanner speaking SSI (Zebra/Symbol decoders, most Zebra scanners set to "SSI over USB CDC" or
    RS-232).

    `naks_sent` and `acks_sent` count the host's answers, for the device log and for tests.
    """

    def __init__(self, name: str, url: str = "", *, configure: bool = True, **kwargs: Any) -> None:
        super().__init__(name, url, **kwargs)
        self.framer = SsiFramer()
        self.configure = configure
        self.acks_sent = 0
        self.naks_sent = 0
        self._segments: list[bytes] = []
        self._raw: list[bytes] = []
        self._segment_type = 0
        self._last_delivered: bytes | None = None
        self._pending: _Pending | None = None
        self._setup_answer_until = 0.0  # the set-up PARAM_SEND's ACK is due before this (monotonic)
        self._command_lock = threading.Lock()

    # -- commands (caller's thread) --------------------------------------------------------------------------
    def command(
        self, opcode: Op, data: bytes = b"", *, timeout: float = 1.0, retries: int = 2,
        answers: frozenset[int] = frozenset({Op.CMD_ACK}),
    ) -> Packet:
        """Send one command and wait for its answer; re-sent (retransmit bit set) after NAK RESEND or
        silence.
        """
        with self._command_lock:
            pending = _Pending(int(opcode), answers | {Op.CMD_NAK})
            self._pending = pending
            try:
                for attempt in range(retries + 1):
                    pending.done.clear()
                    packet = encode(opcode, data, status=0x01 if attempt else 0)
                    if not self.write(packet):
                        raise ScannerCommandError(f"{self.name}: cannot send {opcode.name}: not connected")
                    if not pending.done.wait(timeout):
                        continue
                    reply = pending.reply
                    assert reply is not None
                    if reply.opcode != Op.CMD_NAK:
                        return reply
                    reason = reply.data[0] if reply.data else 0
                    if reason != Nak.RESEND:
                        name = Nak(reason).name if reason in Nak._value2member_map_ else f"0x{reason:02X}"
                        raise ScannerCommandError(f"{self.name}: scanner refused {opcode.name} (NAK {name})")
                raise ScannerCommandError(
                    f"{self.name}: no answer to {opcode.name} after {retries + 1} tries; "
                    "check that the scanner is in SSI mode and its baud rate matches"
                )
            finally:
                self._pending = None

    def start_decode(self) -> None:
        """Start a decode session, as if the trigger were pulled (scanner trigger mode must allow host
        triggering).
        """
        self.command(Op.START_SESSION)

    def stop_decode(self) -> None:
        self.command(Op.STOP_SESSION)

    def beep(self, code: int = 0x00) -> None:
        """Sound a beep pattern (0x00 one short high … 0x19, see the scanner guide): the counter's
        "accepted".
        """
        if not 0 <= code <= 0x19:
            raise ValueError(f"beep code {code} is outside 0..25")
        self.command(Op.BEEP, bytes([code]))

    def led(self, on: bool) -> None:
        self.command(Op.LED_ON if on else Op.LED_OFF, b"\x01")  # LED 1, the decode LED

    def enable_scanning(self, enabled: bool) -> None:
        """Stop the operator's trigger from scanning (e.g. while a refusal is on screen), and allow it
        again.
        """
        self.command(Op.SCAN_ENABLE if enabled else Op.SCAN_DISABLE)

    def revision(self) -> str:
        reply = self.command(Op.REQUEST_REVISION, answers=frozenset({Op.REPLY_REVISION}))
        return reply.data.decode("ascii", "replace").strip()

    # -- reader thread ---------------------------------------------------------------------------------------
    def _on_connect(self, port: Transport) -> None:
        # Wake the decoder (a lone 0x00), then ask for packeted decode data with host ACKs, until power-down;
        # the answer is read by the normal loop. A scanner already set up this way just ACKs.
        if self.configure:
            port.write(b"\x00")
            params = bytes([BEEP_NONE, PARAM_DECODE_PACKET_FORMAT, 0x01, PARAM_SOFTWARE_HANDSHAKING, 0x01])
            self._setup_answer_until = time.monotonic() + 1.0
            port.write(encode(Op.PARAM_SEND, params))

    def _on_lost(self) -> None:
        self.framer.reset()
        self._setup_answer_until = 0.0
        self._segments.clear()
        self._raw.clear()

    def _on_data(self, data: bytes, now: float) -> None:
        for item in self.framer.feed(data, now):
            if isinstance(item, BadPacket):
                self.naks_sent += 1  # counted before it goes out, as in `_on_packet`
                self.write(nak(Nak.RESEND))
            else:
                self._on_packet(item, now)

    def _on_packet(self, packet: Packet, now: float) -> None:
        pending = self._pending
        if packet.opcode in (Op.CMD_ACK, Op.CMD_NAK, Op.REPLY_REVISION):
            if packet.opcode != Op.REPLY_REVISION and self._setup_answer_until:
                # SSI answers in order: the first ACK/NAK after connecting answers our set-up, not a command.
                late = now > self._setup_answer_until
                self._setup_answer_until = 0.0
                if not late:
                    return
            if pending is not None and packet.opcode in pending.answers:
                pending.reply = packet
                pending.done.set()
            return
        # Each answer is counted before it goes out: whoever sees the decoder react to it then sees the count too.
        if packet.opcode == Op.DECODE_DATA:
            self.acks_sent += 1
            self.write(ack())
            self._decode(packet, now)
            return
        if packet.opcode == Op.EVENT:
            self.acks_sent += 1
            self.write(ack())
            return
        self.naks_sent += 1
        self.write(nak(Nak.BAD_CONTEXT))

    def _decode(self, packet: Packet, now: float) -> None:
        if not packet.data:
            return
        if not self._segments:
            self._segment_type = packet.data[0]
        self._segments.append(packet.data[1:])
        self._raw.append(packet.raw)
        if packet.continuation:
            return
        payload = b"".join(self._segments)
        raw = b"".join(self._raw)
        self._segments.clear()
        self._raw.clear()
        if packet.retransmit and payload == self._last_delivered:
            return  # our ACK was lost and the scanner sent it again: already delivered
        self._last_delivered = payload
        symbology = BARCODE_TYPES.get(self._segment_type)
        text = payload.decode("utf-8", "replace")
        sent_aim, rest = aim.split_aim(text)
        if sent_aim is not None:  # the scanner is set to transmit AIM ids: more specific than the type byte
            read = read_from_text(rest, device=self.name, raw=raw, aim_id=sent_aim)
        else:
            default_aim = aim.aim_for(symbology) if symbology else None
            read = read_from_text(
                text, device=self.name, raw=raw, symbology=symbology, aim_id=default_aim, split=False
            )
        self.stream.emit_read(read, now)
