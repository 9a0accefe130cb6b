"""ThingMagic Mercury serial protocol (M6E Nano, Micro, M6E): `FF len opcode … CRC` frames, continuous read.

This module owns the Mercury framing — host to module `FF Len Op Data CRC`, module to host `FF Len Op
Status(2) Data CRC`, `Len` counting data bytes only, and the CRC from `crc16_thingmagic` over Len to the last
data byte, high byte first — the continuous-read start/stop commands, the streamed tag records with their
metadata (read count, RSSI, antenna, frequency, timestamp, phase, protocol, embedded data, GPIO) and the
keep-alives the module sends while reading. Pure functions of bytes, plus a thin driver. A frame whose CRC or
tag CRC is wrong never becomes a read. It must never import `tracker` or `tui`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from drivers.reads import Read
from drivers.rfid.base import (
    FrameError,
    PrefixedFraming,
    RfidError,
    TagRead,
    centi_dbm,
    decode_with,
    epc_words,
    region_code,
    split_prefixed,
    tags_in,
)
from drivers.rfid.crc import crc16_gen2, crc16_thingmagic
from drivers.rfid.session import Clock, SessionReader, utc_now

HEADER = 0xFF

OP_VERSION = 0x03
OP_READ_TAG_ID_MULTIPLE = 0x22
OP_MULTI_PROTOCOL_TAG_OP = 0x2F
OP_SET_ANTENNA_PORT = 0x91
OP_SET_READ_TX_POWER = 0x92
OP_SET_TAG_PROTOCOL = 0x93
OP_SET_REGION = 0x97
OP_SET_READER_OPTIONAL_PARAMS = 0x9A

STATUS_OK = 0x0000
STATUS_NO_TAGS_FOUND = 0x0400  # sent with an empty 0x22 frame once a second during continuous read
STATUS_TEMPERATURE_THROTTLE = 0x0504

PROTOCOL_GEN2 = 0x05

# Metadata flag bits, in the order their fields follow each other in a tag record (serial_reader_imp.h).
META_READCOUNT = 0x0001
META_RSSI = 0x0002
META_ANTENNA = 0x0004
META_FREQUENCY = 0x0008
META_TIMESTAMP = 0x0010
META_PHASE = 0x0020
META_PROTOCOL = 0x0040
META_DATA = 0x0080
META_GPIO = 0x0100
META_ALL = 0x01FF
OPTION_METADATA = 0x10

REGIONS = {
    "IN": 0x04,
    "JP": 0x05,
    "PRC": 0x06,
    "EU3": 0x08,
    "KR2": 0x09,
    "AU": 0x0B,
    "NZ": 0x0C,
    "NA2": 0x0D,
    "OPEN": 0xFF,
}


@dataclass(frozen=True, slots=True)
class Frame:
    """A module-to-host frame (`status` set) or a host-to-module command (`status` None)."""

    opcode: int
    status: int | None
    data: bytes
    raw: bytes


def encode(opcode: int, data: bytes = b"") -> bytes:
    if len(data) > 0xFF:
        raise ValueError("Mercury commands carry at most 255 data bytes")
    body = bytes((len(data), opcode)) + data
    crc = crc16_thingmagic(body)
    return b"\xff" + body + bytes((crc >> 8, crc & 0xFF))


def encode_response(opcode: int, status: int, data: bytes = b"") -> bytes:
    """A module-to-host frame; the emulator speaks with it."""
    if len(data) > 0xFF:
        raise ValueError("Mercury responses carry at most 255 data bytes")
    body = bytes((len(data), opcode, status >> 8, status & 0xFF)) + data
    crc = crc16_thingmagic(body)
    return b"\xff" + body + bytes((crc >> 8, crc & 0xFF))


def start_continuous_read(metadata: int = META_ALL, search_flags: int = 0x001B, timeout_ms: int = 1000) -> bytes:
    """The multi-protocol tag op that starts continuous Gen2 reading, as the Universal Reader Assistant sends
    it (an embedded 0x22 read-tag-multiple with metadata)."""
    embedded = bytes(
        (
            OP_READ_TAG_ID_MULTIPLE,
            OPTION_METADATA,
            search_flags >> 8,
            search_flags & 0xFF,
            timeout_ms >> 8,
            timeout_ms & 0xFF,
            metadata >> 8,
            metadata & 0xFF,
        )
    )
    return encode(
        OP_MULTI_PROTOCOL_TAG_OP,
        bytes((0x00, 0x00, 0x01, OP_READ_TAG_ID_MULTIPLE, 0x00, 0x00, PROTOCOL_GEN2, len(embedded) - 1)) + embedded,
    )


def stop_continuous_read() -> bytes:
    return encode(OP_MULTI_PROTOCOL_TAG_OP, b"\x00\x00\x02")


def set_read_power(dbm: float) -> bytes:
    return encode(OP_SET_READ_TX_POWER, centi_dbm(dbm, 30, "read power"))


def set_region(region: str | int) -> bytes:
    return encode(OP_SET_REGION, bytes((region_code(region, REGIONS),)))


def version() -> bytes:
    return encode(OP_VERSION)


def _response(raw: bytes) -> Frame:
    return Frame(raw[2], (raw[3] << 8) | raw[4], raw[5:-2], raw)


def _command(raw: bytes) -> Frame:
    return Frame(raw[2], None, raw[3:-2], raw)


# `Len` counts data bytes only: the header, Len, opcode, CRC and — module to host — the status are overhead.
RESPONSES = PrefixedFraming(
    header=HEADER, length_at=1, length_size=1, overhead=7, checksum=crc16_thingmagic, checksum_size=2, build=_response
)
COMMANDS = PrefixedFraming(
    header=HEADER, length_at=1, length_size=1, overhead=5, checksum=crc16_thingmagic, checksum_size=2, build=_command
)


def split_responses(buf: bytes) -> tuple[list[Frame], bytes, int]:
    """Module-to-host frames in `buf`, the unfinished tail, and bytes skipped as noise or bad CRC."""
    return split_prefixed(RESPONSES, buf)


def split_commands(buf: bytes) -> tuple[list[Frame], bytes, int]:
    """Host-to-module frames (what an emulated module receives)."""
    return split_prefixed(COMMANDS, buf)


def is_keepalive(frame: Frame) -> bool:
    return (
        frame.opcode == OP_READ_TAG_ID_MULTIPLE
        and not frame.data
        and frame.status is not None
        and (frame.status in (STATUS_NO_TAGS_FOUND, STATUS_TEMPERATURE_THROTTLE))
    )


def encode_tag_record(
    epc: bytes,
    *,
    rssi: int,
    antenna: int = 1,
    frequency_khz: int = 915250,
    timestamp_ms: int = 0,
    read_count: int = 1,
    metadata: int = META_ALL,
    search_flags: int = 0x001B,
    pc: int | None = None,
    tag_crc: int | None = None,
) -> bytes:
    """The data of a streamed 0x22 tag frame (used by the emulator and by property tests)."""
    pc = (len(epc) // 2) << 11 if pc is None else pc
    tag = pc.to_bytes(2, "big") + epc
    crc = crc16_gen2(tag) if tag_crc is None else tag_crc
    meta = b""
    if metadata & META_READCOUNT:
        meta += bytes((read_count,))
    if metadata & META_RSSI:
        meta += bytes((rssi & 0xFF,))
    if metadata & META_ANTENNA:
        meta += bytes(((antenna << 4) | antenna,))
    if metadata & META_FREQUENCY:
        meta += frequency_khz.to_bytes(3, "big")
    if metadata & META_TIMESTAMP:
        meta += timestamp_ms.to_bytes(4, "big")
    if metadata & META_PHASE:
        meta += b"\x00\x00"
    if metadata & META_PROTOCOL:
        meta += bytes((PROTOCOL_GEN2,))
    if metadata & META_DATA:
        meta += b"\x00\x00"
    if metadata & META_GPIO:
        meta += b"\x0f"
    bits = (len(tag) + 2) * 8
    return (
        bytes((OPTION_METADATA,))
        + search_flags.to_bytes(2, "big")
        + metadata.to_bytes(2, "big")
        + b"\x01"
        + meta
        + bits.to_bytes(2, "big")
        + tag
        + crc.to_bytes(2, "big")
    )


def parse_tags(frame: Frame) -> list[TagRead]:
    """Tags in a read-tag-multiple frame (streamed during continuous read); [] for any other frame.

    Raises FrameError when a record is truncated or a tag CRC does not match PC+EPC.
    """
    if frame.opcode != OP_READ_TAG_ID_MULTIPLE or frame.status != STATUS_OK or not frame.data:
        return []
    d = frame.data
    if len(d) < 6 or not d[0] & OPTION_METADATA:
        raise FrameError("tag frame without the metadata option is not what continuous read sends")
    flags = (d[3] << 8) | d[4]
    count = d[5]
    pos = 6
    tags = []
    try:
        for _ in range(count):
            rssi = antenna = freq = None
            reads = 1
            if flags & META_READCOUNT:
                reads = d[pos]
                pos += 1
            if flags & META_RSSI:
                rssi = d[pos] - 256 if d[pos] > 127 else d[pos]
                pos += 1
            if flags & META_ANTENNA:
                antenna = d[pos] >> 4
                pos += 1
            if flags & META_FREQUENCY:
                freq = int.from_bytes(d[pos : pos + 3], "big")
                pos += 3
            if flags & META_TIMESTAMP:
                pos += 4
            if flags & META_PHASE:
                pos += 2
            if flags & META_PROTOCOL:
                pos += 1
            if flags & META_DATA:
                bits = (d[pos] << 8) | d[pos + 1]
                pos += 2 + (bits + 7) // 8
            if flags & META_GPIO:
                pos += 1
            nbytes = ((d[pos] << 8) | d[pos + 1]) // 8
            pos += 2
            tag = d[pos : pos + nbytes]
            if len(tag) != nbytes or nbytes < 4:
                raise FrameError("tag record shorter than its EPC length says")
            pos += nbytes
            pc = (tag[0] << 8) | tag[1]
            epc = tag[2:-2]
            if epc_words(pc) * 2 != len(epc):
                raise FrameError(f"PC says {epc_words(pc)} EPC words, record carries {len(epc)} bytes")
            if crc16_gen2(tag[:-2]) != (tag[-2] << 8) | tag[-1]:
                raise FrameError("tag CRC does not match PC+EPC")
            tags.append(
                TagRead(
                    epc.hex().upper(),
                    rssi=None if rssi is None else float(rssi),
                    antenna=antenna,
                    pc=pc,
                    frequency_khz=freq,
                    count=reads,
                    raw=frame.raw,
                )
            )
    except IndexError:
        raise FrameError("tag record truncated") from None
    return tags


def decode(buf: bytes) -> tuple[list[TagRead], bytes, int]:
    """Tags in a module-to-host byte stream, the unfinished tail, and the count of rejected bytes/frames."""
    return decode_with(split_responses, parse_tags, buf)


def stream_tags(frames: list[Frame]) -> tuple[list[TagRead], int, int]:
    """Tags in frames streamed during continuous read, the keep-alives among them, and the frames rejected.

    Keep-alives are counted apart because they are how a quiet module shows it is still reading.
    """
    keepalives = sum(1 for frame in frames if is_keepalive(frame))
    tags, rejected = tags_in(frames, parse_tags)
    return tags, keepalives, rejected


class ThingMagicReader(SessionReader[Frame]):
    """A Mercury module on a serial port: set-up commands and continuous reading with keep-alives."""

    def __init__(self, url: str, *, device: str | None = None, baudrate: int = 115200, clock: Clock = utc_now) -> None:
        super().__init__(url, split_responses, device=device, baudrate=baudrate, clock=clock)
        self.rejected = 0
        self.keepalives = 0

    def command(self, data: bytes, what: str, timeout: float = 2.0) -> Frame:
        opcode = data[2]
        frame = self.session.request(data, lambda f: f.opcode == opcode, timeout=timeout, what=what)
        if frame.status != STATUS_OK:
            raise RfidError(f"{self.device}: {what} refused by the module (status 0x{frame.status:04X})")
        return frame

    def version(self) -> bytes:
        return self.command(version(), "version").data

    def set_region(self, region: str | int) -> None:
        self.command(set_region(region), f"set region {region}")

    def set_read_power(self, dbm: float) -> None:
        self.command(set_read_power(dbm), f"set read power {dbm:g} dBm")

    def continuous(self, duration: float, until_quiet: float | None = None) -> Iterator[TagRead]:
        """Tags streamed for up to `duration` seconds — or until no tag came for `until_quiet` seconds (keep-
        alives do not count) — then reading is stopped and the module's acknowledgement awaited."""
        self.command(start_continuous_read(), "start continuous read")
        start = last_tag = time.monotonic()
        deadline = start + duration
        while (now := time.monotonic()) < deadline:
            if until_quiet is not None and now - last_tag > until_quiet:
                break
            frames = self.session.collect(timeout=min(0.05, max(0.0, deadline - now)))
            tags = self._tags(frames)
            if tags:
                last_tag = time.monotonic()
            yield from tags
        self.session.send(stop_continuous_read())
        frames = self.session.collect(lambda f: f.opcode == OP_MULTI_PROTOCOL_TAG_OP, timeout=2.0)
        yield from self._tags(frames)

    def _tags(self, frames: list[Frame]) -> list[TagRead]:
        tags, keepalives, rejected = stream_tags(frames)
        self.keepalives += keepalives
        self.rejected += rejected
        return tags

    def reads(self, duration: float, until_quiet: float | None = None) -> Iterator[Read]:
        for tag in self.continuous(duration, until_quiet):
            yield tag.to_read(self.device, self._clock())


class ThingMagicStream:
    """Continuous read for `RfidStream`. Keep-alives count as life: only real silence restarts reading."""

    def __init__(self, restart_after: float = 3.0) -> None:
        self.restart_after = restart_after
        self._buf = b""
        self.rejected = 0
        self.keepalives = 0

    def start(self) -> bytes:
        return start_continuous_read()

    def stop(self) -> bytes:
        return stop_continuous_read()

    def reset(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> tuple[list[TagRead], bytes]:
        frames, self._buf, bad = split_responses(self._buf + data)
        tags, keepalives, rejected = stream_tags(frames)
        self.keepalives += keepalives
        self.rejected += bad + rejected
        return tags, b""
