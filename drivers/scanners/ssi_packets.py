"""Zebra SSI (Simple Serial Interface) packets: encoding, checksum, and a framer that cuts a byte stream
into them.

A packet is `length, opcode, source, status, data…, checksum-high, checksum-low`, where `length` counts every
byte but the two checksum bytes and the checksum is the 16-bit two's complement of the sum of those bytes.
This module owns those bytes only; it is pure (bytes and times in, packets out) and must never talk to a port
or decide what to answer — ssi.py does that.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from drivers.scanners import aim

SOURCE_DECODER = 0x00
SOURCE_HOST = 0x04

STATUS_RETRANSMIT = 0x01
STATUS_CONTINUATION = 0x02
STATUS_PERMANENT = 0x08  # PARAM_SEND: store the change permanently (clear = until power-down)

HEADER = 4  # length, opcode, source, status
MAX_LENGTH = 0xFF


class Op(enum.IntEnum):
    AIM_OFF = 0xC4
    AIM_ON = 0xC5
    PARAM_SEND = 0xC6
    PARAM_REQUEST = 0xC7
    PARAM_DEFAULTS = 0xC8
    REQUEST_REVISION = 0xA3
    REPLY_REVISION = 0xA4
    CMD_ACK = 0xD0
    CMD_NAK = 0xD1
    FLUSH_QUEUE = 0xD2
    START_SESSION = 0xE4
    STOP_SESSION = 0xE5
    BEEP = 0xE6
    LED_ON = 0xE7
    LED_OFF = 0xE8
    SCAN_ENABLE = 0xE9
    SCAN_DISABLE = 0xEA
    SLEEP = 0xEB
    DECODE_DATA = 0xF3
    EVENT = 0xF6


class Nak(enum.IntEnum):
    RESEND = 0x01  # checksum or framing error: send the packet again
    BAD_CONTEXT = 0x02  # unknown or unexpected opcode
    DENIED = 0x06  # understood, but refused (e.g. a bad parameter value)
    CANCEL = 0x0A


_OPCODES = frozenset(int(op) for op in Op)

# PARAM_SEND parameter numbers the driver uses.
PARAM_DECODE_PACKET_FORMAT = 0xEE  # 1 = decode data in SSI packets (0 = raw ASCII, which the host cannot ACK)
PARAM_SOFTWARE_HANDSHAKING = 0x9F  # 1 = the host ACKs/NAKs every packet
PARAM_TRIGGER_MODE = 0x8A  # 0x08 = host: decode sessions start with START_SESSION
BEEP_NONE = 0xFF  # PARAM_SEND's beep-code byte: change the parameter silently

# DECODE_DATA barcode type byte -> symbology name (Zebra SSI programmer's guide, DECODE_DATA code types).
BARCODE_TYPES: dict[int, str] = {
    0x01: aim.CODE39,
    0x02: aim.CODABAR,
    0x03: aim.CODE128,
    0x06: aim.ITF,
    0x07: aim.CODE93,
    0x0A: aim.EAN8,
    0x0B: aim.EAN13,
    0x0F: aim.GS1_128,
    0x11: aim.PDF417,
    0x1B: aim.DATAMATRIX,
    0x1C: aim.QRCODE,
    0x2D: aim.AZTEC,
    0xC1: aim.GS1_DATAMATRIX,
    0xC2: aim.GS1_QRCODE,
}


def checksum(body: bytes) -> int:
    """The 16-bit two's complement of the byte sum: adding it to the sum gives zero."""
    return -sum(body) & 0xFFFF


def encode(opcode: int, data: bytes = b"", *, source: int = SOURCE_HOST, status: int = 0) -> bytes:
    """One packet; raises ValueError if `data` does not fit in one (SSI lengths are a single byte)."""
    length = HEADER + len(data)
    if length > MAX_LENGTH:
        raise ValueError(f"SSI packet data is {len(data)} bytes; one packet holds {MAX_LENGTH - HEADER}")
    body = bytes([length, opcode, source, status]) + data
    return body + checksum(body).to_bytes(2, "big")


def ack(source: int = SOURCE_HOST) -> bytes:
    return encode(Op.CMD_ACK, source=source)


def nak(reason: Nak = Nak.RESEND, source: int = SOURCE_HOST) -> bytes:
    return encode(Op.CMD_NAK, bytes([reason]), source=source)


@dataclass(frozen=True, slots=True)
class Packet:
    opcode: int
    source: int
    status: int
    data: bytes
    raw: bytes

    @property
    def retransmit(self) -> bool:
        return bool(self.status & STATUS_RETRANSMIT)

    @property
    def continuation(self) -> bool:
        return bool(self.status & STATUS_CONTINUATION)

    @property
    def name(self) -> str:
        try:
            return Op(self.opcode).name
        except ValueError:
            return f"0x{self.opcode:02X}"


@dataclass(frozen=True, slots=True)
class BadPacket:
    """Bytes that had a packet's shape but failed its checksum, or stopped half-way: the host answers NAK
    RESEND.
    """

    raw: bytes
    reason: str


class SsiFramer:
    """Incremental SSI framer. A byte that cannot start a packet (length below 4, unknown opcode, source
    neither decoder nor host) is skipped, which also drops the 0x00 wake-up bytes. A packet-shaped run that
    fails its checksum is dropped whole and reported once as `BadPacket`; a packet left half-way for
    `incomplete_after` seconds is reported the same way by `poll`.
    """

    def __init__(self, incomplete_after: float = 0.25) -> None:
        self.incomplete_after = incomplete_after
        self.skipped = 0
        self._buf = bytearray()
        self._last = 0.0

    def reset(self) -> None:
        self._buf.clear()

    def poll(self, now: float) -> list[Packet | BadPacket]:
        if self._buf and now - self._last >= self.incomplete_after:
            raw = bytes(self._buf)
            self._buf.clear()
            return [BadPacket(raw, f"incomplete packet: {len(raw)} of {raw[0] + 2} bytes")]
        return []

    def feed(self, data: bytes, now: float) -> list[Packet | BadPacket]:
        if not data:
            return self.poll(now)
        out: list[Packet | BadPacket] = self.poll(now)
        self._last = now
        buf = self._buf
        buf += data
        i = 0
        n = len(buf)
        while i < n:
            length = buf[i]
            if (
                length < HEADER
                or (i + 1 < n and buf[i + 1] not in _OPCODES)
                or (i + 2 < n and buf[i + 2] not in (SOURCE_DECODER, SOURCE_HOST))
            ):
                i += 1
                self.skipped += 1
                continue
            end = i + length + 2
            if end > n:
                break
            raw = bytes(buf[i:end])
            if int.from_bytes(raw[-2:], "big") == checksum(raw[:-2]):
                out.append(Packet(raw[1], raw[2], raw[3], raw[HEADER:-2], raw))
            else:
                out.append(BadPacket(raw, "checksum mismatch"))
            i = end
        del buf[:i]
        return out

