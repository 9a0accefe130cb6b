"""MagicRF M100 / QM100 serial UHF modules (R200, JRD-4035, YRM100 and their clones): `BB … 7E` frames.

This module owns the M100 byte protocol — frame layout `BB Type Cmd PL(2, MSB first) Params Checksum 7E` with
the checksum the low byte of the sum from Type to the last parameter — the commands we send (single and
multi-poll inventory, stop, transmit power, region), the tag notification layout (RSSI, PC, EPC, tag CRC),
and a small driver on top. Framing and parsing are pure functions of bytes; a frame whose checksum, end byte
or tag CRC is wrong never becomes a read. It must never import `tracker` or `tui`.
"""

from __future__ import annotations

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
from drivers.rfid.crc import checksum8, crc16_gen2
from drivers.rfid.session import Clock, SessionReader, utc_now

HEADER = 0xBB
END = 0x7E
TYPE_COMMAND = 0x00
TYPE_RESPONSE = 0x01
TYPE_NOTICE = 0x02

CMD_SINGLE_POLL = 0x22
CMD_MULTI_POLL = 0x27
CMD_STOP_MULTI = 0x28
CMD_SET_REGION = 0x07
CMD_SET_POWER = 0xB6
CMD_GET_POWER = 0xB7
CMD_ERROR = 0xFF

ERR_INVENTORY_FAIL = 0x15  # "no tag answered" after a poll, per the M100 manual's error-code table
MAX_PARAMS = 255  # no M100 frame carries more; a bigger length field is line noise, not a frame to wait for

REGIONS = {"CN900": 0x01, "US": 0x02, "EU": 0x03, "CN800": 0x04, "KR": 0x06}


@dataclass(frozen=True, slots=True)
class Frame:
    type: int
    command: int
    params: bytes
    raw: bytes


def encode(command: int, params: bytes = b"", frame_type: int = TYPE_COMMAND) -> bytes:
    if len(params) > 0xFFFF:
        raise ValueError("M100 parameters are at most 65535 bytes")
    body = bytes((frame_type, command, len(params) >> 8, len(params) & 0xFF)) + params
    return bytes((HEADER,)) + body + bytes((sum(body) & 0xFF, END))


def single_poll() -> bytes:
    return encode(CMD_SINGLE_POLL)


def multi_poll(count: int) -> bytes:
    """Poll `count` rounds (1..65535); the module streams one notification per tag per round."""
    if not 1 <= count <= 0xFFFF:
        raise ValueError(f"multi-poll count must be 1..65535, not {count}")
    return encode(CMD_MULTI_POLL, bytes((0x22, count >> 8, count & 0xFF)))


def stop_multi_poll() -> bytes:
    return encode(CMD_STOP_MULTI)


def set_power(dbm: float) -> bytes:
    """Transmit power in dBm (the module takes hundredths: 20 dBm is 07 D0)."""
    return encode(CMD_SET_POWER, centi_dbm(dbm, 33, "transmit power"))


def set_region(region: str | int) -> bytes:
    return encode(CMD_SET_REGION, bytes((region_code(region, REGIONS),)))


def _frame(raw: bytes) -> Frame:
    return Frame(raw[1], raw[2], raw[5:-2], raw)


FRAMING = PrefixedFraming(
    header=HEADER,
    length_at=3,
    length_size=2,
    overhead=7,
    checksum=checksum8,
    checksum_size=1,
    build=_frame,
    end=END,
    max_length=MAX_PARAMS,
)


def split_frames(buf: bytes) -> tuple[list[Frame], bytes, int]:
    """Whole, checksum-valid frames in `buf`, the unfinished tail, and how many bytes were skipped."""
    return split_prefixed(FRAMING, buf)


def parse_tag(frame: Frame) -> TagRead | None:
    """The tag in an inventory notification; None for any other frame.

    Raises FrameError when the notification is malformed or its tag CRC does not match PC+EPC: the frame
    checksum is only eight bits, the tag CRC catches what it lets through.
    """
    if frame.type != TYPE_NOTICE or frame.command != CMD_SINGLE_POLL:
        return None
    p = frame.params
    if len(p) < 5:
        raise FrameError(f"tag notification too short ({len(p)} bytes)")
    pc = (p[1] << 8) | p[2]
    epc = p[3:-2]
    if epc_words(pc) * 2 != len(epc):
        raise FrameError(f"PC says {epc_words(pc)} EPC words, frame carries {len(epc)} bytes")
    if crc16_gen2(p[1:-2]) != (p[-2] << 8) | p[-1]:
        raise FrameError("tag CRC does not match PC+EPC")
    rssi = p[0] - 256 if p[0] > 127 else p[0]
    return TagRead(epc.hex().upper(), rssi=float(rssi), antenna=1, pc=pc, raw=frame.raw)


def error_code(frame: Frame) -> int | None:
    if frame.type == TYPE_RESPONSE and frame.command == CMD_ERROR and frame.params:
        return frame.params[0]
    return None


def parse_tags(frame: Frame) -> list[TagRead]:
    """`parse_tag` as a list, the shape `tags_in` takes: an M100 notification carries one tag at most."""
    tag = parse_tag(frame)
    return [] if tag is None else [tag]


def decode(buf: bytes) -> tuple[list[TagRead], bytes, int]:
    """Tags in a byte stream, the unfinished tail, and the count of rejected bytes and frames."""
    return decode_with(split_frames, parse_tags, buf)


class MagicRfReader(SessionReader[Frame]):
    """An M100-family module on a serial port (USB-serial adapters show up as /dev/ttyUSB*)."""

    def __init__(
        self,
        url: str,
        *,
        device: str | None = None,
        baudrate: int = 115200,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(url, split_frames, device=device, baudrate=baudrate, clock=clock)
        self.rejected = 0

    def _tags(self, frames: list[Frame]) -> list[TagRead]:
        tags, rejected = tags_in(frames, parse_tags)
        self.rejected += rejected
        return tags

    def _command(self, data: bytes, command: int, what: str) -> Frame:
        frame = self.session.request(
            data, lambda f: f.type == TYPE_RESPONSE and f.command in (command, CMD_ERROR), what=what
        )
        code = error_code(frame)
        if code is not None:
            raise RfidError(f"{self.device}: {what} refused by the module (error 0x{code:02X})")
        if frame.params[:1] not in (b"\x00", b""):
            raise RfidError(f"{self.device}: {what} failed (status 0x{frame.params[0]:02X})")
        return frame

    def single_poll(self, idle: float = 0.05) -> list[TagRead]:
        """One inventory round: the tags that answered (an empty list when none did)."""
        self.session.send(single_poll())
        frames = self.session.collect(lambda f: error_code(f) is not None, timeout=2.0, idle=idle)
        return self._tags(frames)

    def multi_poll(self, rounds: int, idle: float = 0.1) -> Iterator[TagRead]:
        """Tags from `rounds` inventory rounds as they arrive; ends when the module falls quiet."""
        self.session.send(multi_poll(rounds))
        while True:
            frames = self.session.collect(timeout=0.5, idle=idle)
            if not frames:
                return
            yield from self._tags(frames)

    def stop(self) -> None:
        self._command(stop_multi_poll(), CMD_STOP_MULTI, "stop multi-poll")

    def set_power(self, dbm: float) -> None:
        self._command(set_power(dbm), CMD_SET_POWER, f"set power {dbm:g} dBm")

    def set_region(self, region: str | int) -> None:
        self._command(set_region(region), CMD_SET_REGION, f"set region {region}")

    def reads(self, rounds: int = 1) -> Iterator[Read]:
        for tag in self.multi_poll(rounds):
            yield tag.to_read(self.device, self._clock())


class MagicRfStream:
    """The M100 as a continuous reader for `RfidStream`: multi-poll, re-issued whenever the module stops."""

    def __init__(self, rounds: int = 0xFFFF, restart_after: float = 0.5) -> None:
        self.rounds = rounds
        self.restart_after = restart_after
        self._buf = b""
        self.rejected = 0

    def start(self) -> bytes:
        return multi_poll(self.rounds)

    def stop(self) -> bytes:
        return stop_multi_poll()

    def reset(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> tuple[list[TagRead], bytes]:
        tags, self._buf, bad = decode(self._buf + data)
        self.rejected += bad
        return tags, b""
