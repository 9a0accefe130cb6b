"""Chafon desktop counter readers: the UHFReader18 family (CF-RU5102 and alike) and the UHFReader288 family
(CF-RU5202, CF-RU6403 and the many counter pads sold on its firmware), both `Len Adr Cmd Data CRC16` frames.

The two share framing, commands and status codes and differ in the inventory: UHFReader18 takes an empty 0x01
command and answers `Num (Len EPC)*`; UHFReader288 takes `Q Session MaskMem MaskAdr(2) MaskLen Target Ant
ScanTime` and answers `Ant Num (Len EPC RSSI)*`, with Ant a bit mask (1, 2, 4, 8 for antennas 1-4). Read with
the wrong layout a 288 answer is refused as malformed, so the protocol is configured (`uhfreader18`,
`uhfreader288`) or detected from the reader-information answer: 8 data bytes from a UHFReader18, 12 from a
UHFReader288 (it adds antenna, beeper, output and antenna-check bytes).

This module owns that byte protocol — host command `Len Adr Cmd Data CRC`, reader answer `Len Adr
reCmd Status Data CRC`, `Len` counting every byte after itself, CRC-16 (poly 0x8408, preset 0xFFFF) over Len
to the last data byte sent low byte first — the EPC inventory (0x01) and its tag list (status 0x03 says
another frame follows), reader information (0x21), transmit power (0x2F), and the frames a reader in active
mode pushes on its own (reCmd 0xEE). Polling the inventory in answer mode is what lets a counter pad read a
carrier laid on it with no trigger. There is no start byte, so resynchronisation trusts only a CRC-valid frame
with a known answer code, and never waits on a claimed length while a valid frame lies whole behind it. A frame
with a bad CRC never becomes a read. It must never import `tracker` or `tui`.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.rfid.base import FrameError, RfidError, TagRead, decode_with
from drivers.rfid.crc import crc16_mcrf4xx
from drivers.rfid.session import Clock, SessionReader, utc_now

CMD_INVENTORY = 0x01
CMD_READER_INFO = 0x21
CMD_SET_POWER = 0x2F
CMD_SET_WORK_MODE = 0x35
RECMD_ACTIVE = 0xEE  # frames a reader in active (scan) mode sends without being asked

STATUS_OK = 0x00
STATUS_INVENTORY_DONE = 0x01  # "return before inventory finished": the whole list is in this frame
STATUS_SCAN_TIME_OVERFLOW = 0x02
STATUS_MORE_DATA = 0x03  # the list continues in the next frame
STATUS_FLASH_FULL = 0x04
STATUS_NO_TAG = 0xFB
BROADCAST = 0xFF
POLL_INTERVAL = 0.05  # seconds between answer-mode inventories: a tag laid on a pad shows within a tenth of a second

KNOWN_ANSWERS = frozenset(
    {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0F, 0x21, 0x22, 0x24, 0x25, 0x28, 0x2F, 0x35, 0x36, 0xEE, 0x00}
)
TAG_LIST_STATUSES = frozenset({STATUS_INVENTORY_DONE, STATUS_SCAN_TIME_OVERFLOW, STATUS_MORE_DATA, STATUS_FLASH_FULL})


@dataclass(frozen=True, slots=True)
class Frame:
    """A reader answer (`status` set) or a host command (`status` None)."""

    address: int
    command: int
    status: int | None
    data: bytes
    raw: bytes


def encode(command: int, data: bytes = b"", address: int = 0x00) -> bytes:
    if len(data) > 250:
        raise ValueError("UHFReader18 commands carry at most 250 data bytes")
    body = bytes((len(data) + 4, address, command)) + data
    crc = crc16_mcrf4xx(body)
    return body + bytes((crc & 0xFF, crc >> 8))


def encode_response(command: int, status: int, data: bytes = b"", address: int = 0x00) -> bytes:
    if len(data) > 250:
        raise ValueError("UHFReader18 answers carry at most 250 data bytes")
    body = bytes((len(data) + 5, address, command, status)) + data
    crc = crc16_mcrf4xx(body)
    return body + bytes((crc & 0xFF, crc >> 8))


UHFREADER18 = "uhfreader18"
UHFREADER288 = "uhfreader288"
AUTO = "auto"
PROTOCOLS = (UHFREADER18, UHFREADER288)
READER_INFO_18_BYTES = 8
READER_INFO_288_BYTES = 12
ANTENNA_BITS = {0x01: 1, 0x02: 2, 0x04: 3, 0x08: 4}


def inventory(address: int = 0x00) -> bytes:
    """The UHFReader18 inventory: no parameters."""
    return encode(CMD_INVENTORY, b"", address)


def inventory_288(
    address: int = 0x00, *, q: int = 4, session: int = 0, antenna: int = 1, scan_time_100ms: int = 10
) -> bytes:
    """The UHFReader288 inventory: Q, session, an empty EPC mask, target A, one antenna, and the scan time."""
    if not 0 <= q <= 15 or not 0 <= session <= 3:
        raise ValueError(f"Q must be 0..15 and session 0..3, not {q} and {session}")
    if antenna not in ANTENNA_BITS.values():
        raise ValueError(f"antenna must be 1..4, not {antenna}")
    if not 3 <= scan_time_100ms <= 255:
        raise ValueError(f"scan time must be 3..255 (x100 ms), not {scan_time_100ms}")
    mask = bytes((0x01, 0x00, 0x00, 0x00))  # EPC bank, address 0, length 0: no mask
    tail = bytes((0x00, 0x80 + antenna - 1, scan_time_100ms))  # target A, antenna, scan time
    return encode(CMD_INVENTORY, bytes((q, session)) + mask + tail, address)


def inventory_for(protocol: str, address: int = 0x00) -> bytes:
    return inventory_288(address) if protocol == UHFREADER288 else inventory(address)


def protocol_from_info(data: bytes) -> str | None:
    """The protocol a reader-information answer shows, from its length; None for a length neither family sends."""
    if len(data) == READER_INFO_18_BYTES:
        return UHFREADER18
    if len(data) == READER_INFO_288_BYTES:
        return UHFREADER288
    return None


def reader_info(address: int = 0x00) -> bytes:
    return encode(CMD_READER_INFO, b"", address)


def set_power(dbm: int, address: int = 0x00) -> bytes:
    if not 0 <= dbm <= 30:
        raise ValueError(f"transmit power must be 0..30 dBm, not {dbm}")
    return encode(CMD_SET_POWER, bytes((dbm,)), address)


def _frame_end(buf: bytes, i: int, overhead: int, answers: bool) -> int:
    """Where the frame starting at ``i`` ends, -1 when more bytes are needed to tell, -2 when it is not one."""
    n = len(buf)
    if n - i < overhead:
        return -1
    length = buf[i]
    if length + 1 < overhead or (answers and buf[i + 2] not in KNOWN_ANSWERS):
        return -2
    end = i + length + 1
    if end > n:
        return -1
    if crc16_mcrf4xx(buf[i : end - 2]) != buf[end - 2] | (buf[end - 1] << 8):
        return -2
    return end


def _valid_frame_after(buf: bytes, i: int, overhead: int, answers: bool) -> bool:
    return any(_frame_end(buf, k, overhead, answers) >= 0 for k in range(i + 1, len(buf) - overhead + 1))


def _split(buf: bytes, overhead: int, answers: bool) -> tuple[list[Frame], bytes, int]:
    # With no start byte, any byte may be a length. A "length" that reaches past the buffer is waited for only
    # while no whole, CRC-valid frame lies after it: a noise byte claiming 200 bytes must not hold back the frames
    # behind it (it used to, for 256 more bytes: tens of polls of a pad gone blind).
    frames: list[Frame] = []
    skipped = 0
    i = 0
    n = len(buf)
    while n - i >= overhead:
        end = _frame_end(buf, i, overhead, answers)
        if end == -1:
            if not _valid_frame_after(buf, i, overhead, answers):
                break
            end = -2
        if end == -2:
            i += 1
            skipped += 1
            continue
        if answers:
            frames.append(Frame(buf[i + 1], buf[i + 2], buf[i + 3], buf[i + 4 : end - 2], buf[i:end]))
        else:
            frames.append(Frame(buf[i + 1], buf[i + 2], None, buf[i + 3 : end - 2], buf[i:end]))
        i = end
    return frames, buf[i:], skipped


def split_responses(buf: bytes) -> tuple[list[Frame], bytes, int]:
    """Reader answers in `buf`, the unfinished tail, and the bytes skipped as noise or bad CRC."""
    return _split(buf, 6, True)


def split_commands(buf: bytes) -> tuple[list[Frame], bytes, int]:
    """Host commands in `buf` (what an emulated reader receives)."""
    return _split(buf, 5, False)


def encode_tag_list(epcs: list[bytes]) -> bytes:
    """UHFReader18 inventory answer data: Num, then each EPC as its byte length and bytes."""
    out = bytearray((len(epcs),))
    for epc in epcs:
        out.append(len(epc))
        out += epc
    return bytes(out)


def encode_tag_list_288(tags: list[tuple[bytes, int]], antenna: int = 1) -> bytes:
    """UHFReader288 inventory answer data: the antenna bit, Num, then each EPC's length, bytes and RSSI byte."""
    bit = next(b for b, n in ANTENNA_BITS.items() if n == antenna)
    out = bytearray((bit, len(tags)))
    for epc, rssi in tags:
        out.append(len(epc))
        out += epc
        out.append(rssi & 0xFF)
    return bytes(out)


def _tag_list_288(frame: Frame) -> list[TagRead]:
    # The RSSI byte is a relative strength whose scale the vendor does not give in dBm: it is not passed on as
    # dBm (the floors are dBm), rather than invented.
    d = frame.data
    if len(d) < 2:
        raise FrameError("UHFReader288 inventory answer without antenna and tag count")
    antenna = ANTENNA_BITS.get(d[0])
    if antenna is None:
        raise FrameError(f"UHFReader288 inventory answer names antenna bits 0x{d[0]:02X}")
    pos = 2
    tags = []
    for _ in range(d[1]):
        if pos >= len(d):
            raise FrameError("inventory answer lists more tags than it carries")
        size = d[pos]
        epc = d[pos + 1 : pos + 1 + size]
        if len(epc) != size or size == 0 or size % 2 or pos + 1 + size >= len(d):
            raise FrameError("inventory answer has a truncated or odd-length EPC")
        tags.append(TagRead(epc.hex().upper(), antenna=antenna, raw=frame.raw))
        pos += 2 + size
    if pos != len(d):
        raise FrameError("inventory answer carries bytes after its tag list")
    return tags


def parse_tags(frame: Frame, protocol: str = UHFREADER18) -> list[TagRead]:
    """Tags in an inventory answer (in `protocol`'s layout) or an active-mode frame; [] for any other frame.

    UHFReader18 reports neither RSSI nor antenna, so both stay unknown rather than invented.
    """
    if frame.status is None:
        return []
    if frame.command == RECMD_ACTIVE and frame.status == STATUS_OK:
        if not frame.data or len(frame.data) % 2:
            raise FrameError(f"active-mode frame with {len(frame.data)} data bytes is not a word-aligned EPC")
        return [TagRead(frame.data.hex().upper(), antenna=1, raw=frame.raw)]
    if frame.command != CMD_INVENTORY or frame.status not in TAG_LIST_STATUSES:
        return []
    if protocol == UHFREADER288:
        return _tag_list_288(frame)
    d = frame.data
    if not d:
        raise FrameError("inventory answer without a tag count")
    pos = 1
    tags = []
    for _ in range(d[0]):
        if pos >= len(d):
            raise FrameError("inventory answer lists more tags than it carries")
        size = d[pos]
        epc = d[pos + 1 : pos + 1 + size]
        if len(epc) != size or size == 0 or size % 2:
            raise FrameError("inventory answer has a truncated or odd-length EPC")
        tags.append(TagRead(epc.hex().upper(), antenna=1, raw=frame.raw))
        pos += 1 + size
    if pos != len(d):
        raise FrameError("inventory answer carries bytes after its tag list")
    return tags


def decode(buf: bytes) -> tuple[list[TagRead], bytes, int]:
    return decode_with(split_responses, parse_tags, buf)


def decode_288(buf: bytes) -> tuple[list[TagRead], bytes, int]:
    return decode_with(split_responses, lambda f: parse_tags(f, UHFREADER288), buf)


@dataclass(frozen=True, slots=True)
class ReaderInfo:
    version: str
    reader_type: int
    protocols: int
    max_freq: int
    min_freq: int
    power_dbm: int
    scan_time_100ms: int
    protocol: str = UHFREADER18
    antennas: int | None = None  # UHFReader288: the antenna bit mask in use


def parse_reader_info(d: bytes) -> ReaderInfo:
    protocol = protocol_from_info(d)
    if protocol is None:
        raise FrameError(
            f"reader information has {len(d)} bytes: neither a UHFReader18 ({READER_INFO_18_BYTES}) "
            f"nor a UHFReader288 ({READER_INFO_288_BYTES})"
        )
    antennas = d[8] if protocol == UHFREADER288 else None
    return ReaderInfo(f"{d[0]}.{d[1]:02d}", d[2], d[3], d[4], d[5], d[6], d[7], protocol, antennas)


def check_protocol(protocol: str) -> str:
    if protocol not in (*PROTOCOLS, AUTO):
        raise ValueError(f"Chafon protocol must be {', '.join(PROTOCOLS)} or {AUTO}, not {protocol!r}")
    return protocol


class ChafonReader(SessionReader[Frame]):
    """A Chafon reader on a serial port, 57600 baud by default. `protocol="auto"` asks the reader's information
    before the first inventory and takes the protocol its length shows."""

    def __init__(
        self,
        url: str,
        *,
        device: str | None = None,
        address: int = 0x00,
        baudrate: int = 57600,
        protocol: str = AUTO,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(url, split_responses, device=device, baudrate=baudrate, clock=clock)
        self.address = address
        self.protocol = check_protocol(protocol)
        self.rejected = 0

    def _answer(self, data: bytes, command: int, what: str) -> Frame:
        frame = self.session.request(data, lambda f: f.command == command, what=what)
        if frame.status not in (STATUS_OK, *TAG_LIST_STATUSES, STATUS_NO_TAG):
            raise RfidError(f"{self.device}: {what} refused by the reader (status 0x{frame.status:02X})")
        return frame

    def inventory(self, timeout: float = 3.0) -> list[TagRead]:
        """One answer-mode inventory: every tag in the field, following 'more data' frames to the end."""
        if self.protocol == AUTO:
            self.protocol = self.reader_info().protocol
        self.session.send(inventory_for(self.protocol, self.address))
        tags: list[TagRead] = []
        while True:
            frames = self.session.collect(lambda f: f.command == CMD_INVENTORY, timeout=timeout)
            if not frames or frames[-1].command != CMD_INVENTORY:
                raise RfidError(f"{self.device}: no inventory answer within {timeout:g} s")
            last = frames[-1]
            for frame in frames:
                try:
                    tags.extend(parse_tags(frame, self.protocol))
                except FrameError:
                    self.rejected += 1
            if last.status != STATUS_MORE_DATA:
                if last.status not in (*TAG_LIST_STATUSES, STATUS_NO_TAG):
                    raise RfidError(f"{self.device}: inventory failed (status 0x{last.status:02X})")
                return tags

    def reader_info(self) -> ReaderInfo:
        d = self._answer(reader_info(self.address), CMD_READER_INFO, "reader information").data
        try:
            return parse_reader_info(d)
        except FrameError as exc:
            raise RfidError(f"{self.device}: {exc}") from None

    def set_power(self, dbm: int) -> None:
        self._answer(set_power(dbm, self.address), CMD_SET_POWER, f"set power {dbm} dBm")


class ChafonPolling:
    """Answer-mode polling for `RfidStream`: the next inventory goes out `poll_interval` after a tag list ends.

    An empty field answers at once, so asking again the moment an answer ends is thousands of polls a second
    and a busy core for nothing. Instead the answer shortens `restart_after` to `poll_interval`, and
    `RfidStream` sends the next poll after that much quiet; while a poll is out, `restart_after` is the longer
    time-out for an answer that never comes. `poll_interval=0` asks again at once.

    Active-mode frames are read too, so a reader left in scan mode by its vendor tool still works. With
    `protocol="auto"` the first thing sent is a reader-information request; its answer settles the protocol, and
    polling starts in it (until then no inventory answer is read in a layout that may be the wrong one).
    """

    def __init__(
        self,
        address: int = 0x00,
        restart_after: float = 0.5,
        poll_interval: float = POLL_INTERVAL,
        protocol: str = AUTO,
    ) -> None:
        self.address = address
        self.configured = check_protocol(protocol)
        self.protocol = self.configured
        self.answer_timeout = restart_after
        self.restart_after = restart_after
        self.poll_interval = poll_interval
        self._buf = b""
        self.rejected = 0
        self.polls = 0

    def start(self) -> bytes:
        self.restart_after = self.answer_timeout
        if self.protocol == AUTO:
            return reader_info(self.address)
        self.polls += 1
        return inventory_for(self.protocol, self.address)

    def stop(self) -> bytes:
        return b""

    def reset(self) -> None:
        self._buf = b""
        self.restart_after = self.answer_timeout
        self.protocol = self.configured  # a reconnect may be a different reader on the same port

    def feed(self, data: bytes) -> tuple[list[TagRead], bytes]:
        frames, self._buf, bad = split_responses(self._buf + data)
        self.rejected += bad
        tags: list[TagRead] = []
        reply = b""
        for frame in frames:
            if frame.command == CMD_READER_INFO and frame.status == STATUS_OK and self.protocol == AUTO:
                detected = protocol_from_info(frame.data)
                if detected is None:
                    self.rejected += 1
                    continue
                self.protocol = detected
                reply += self.start()
                continue
            if self.protocol == AUTO and frame.command != RECMD_ACTIVE:
                continue
            try:
                tags.extend(parse_tags(frame, self.protocol))
            except FrameError:
                self.rejected += 1
            if frame.command == CMD_INVENTORY and frame.status != STATUS_MORE_DATA:
                if self.poll_interval > 0:
                    self.restart_after = self.poll_interval  # the next poll goes out after this much quiet
                else:
                    reply += self.start()
        return tags, reply
