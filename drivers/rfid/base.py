"""What every RFID codec hands up: one tag observation (`TagRead`), the errors a reader can raise, and the
step from a tag observation to the shared `drivers.reads.Read`.

This module owns the vocabulary shared by the MagicRF, ThingMagic, Chafon, TSL and LLRP codecs so that the
inventory aggregation does not care which reader saw a tag. It must never do I/O and never import `tracker`
or `tui`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from drivers.reads import Read, ReadKind

F = TypeVar("F")
SplitFn = Callable[[bytes], tuple[list[F], bytes, int]]


class RfidError(Exception):
    """A reader refused a command, answered with an error, or could not be reached; the message says which."""


class FrameError(ValueError):
    """Bytes that cannot be a frame of the protocol (bad length, bad checksum, unknown layout)."""


@dataclass(frozen=True, slots=True)
class TagRead:
    """One singulation of one tag by one antenna, as the reader reported it.

    `epc` is upper-case hex. `rssi` is in dBm where the reader reports dBm (all the ones here do, except
    Chafon's UHFReader18 which reports none). `pc` is the Gen2 protocol-control word when the reader passes it
    on. `raw` is the frame it came in, kept for disputes.
    """

    epc: str
    rssi: float | None = None
    antenna: int | None = None
    pc: int | None = None
    frequency_khz: int | None = None
    count: int = 1
    raw: bytes = b""

    def to_read(self, device: str, at: datetime) -> Read:
        return Read(
            code=self.epc,
            kind=ReadKind.EPC,
            device=device,
            at=at,
            raw=self.raw,
            rssi=self.rssi,
            antenna=self.antenna,
        )


def epc_words(pc: int) -> int:
    """Length of the EPC in 16-bit words, from bits 15..11 of the Gen2 PC word."""
    return (pc >> 11) & 0x1F


def pc_for(epc: bytes) -> int:
    """The PC word a plain Gen2 tag backscatters for this EPC (length field only, no XPC, no UMI)."""
    return (len(epc) // 2) << 11


def region_code(region: str | int, regions: Mapping[str, int]) -> int:
    """A regulatory region by its name in the reader's own table, or a raw code passed through unchanged, so a
    region the firmware knows and we have not named yet can still be set."""
    if not isinstance(region, str):
        return region
    try:
        return regions[region.upper()]
    except KeyError:
        raise ValueError(f"unknown region {region!r}; known: {', '.join(regions)}") from None


def centi_dbm(dbm: float, maximum: float, what: str) -> bytes:
    """`dbm` as the two big-endian bytes of hundredths of a dBm that M100 and Mercury modules both take,
    refused outside 0..`maximum` before it can reach a transmitter."""
    if not 0 <= dbm <= maximum:
        raise ValueError(f"{what} must be 0..{maximum:g} dBm, not {dbm:g}")
    value = round(dbm * 100)
    return bytes((value >> 8, value & 0xFF))


class Deframer(Generic[F]):
    """Keeps the bytes between chunks for a pure `split` function and counts what it had to throw away.

    `split(buffer) -> (frames, rest, discarded)` must be pure: whole frames out, the unfinished tail back,
    and how many bytes (or frames) it rejected as noise or bad checksums. The buffer is capped so a stream
    of garbage cannot grow it without end.
    """

    def __init__(self, split: SplitFn[F], max_buffer: int = 1 << 16) -> None:
        self._split = split
        self._buf = b""
        self.max_buffer = max_buffer
        self.discarded = 0

    def feed(self, data: bytes) -> list[F]:
        buf = self._buf + data if self._buf else data
        frames, rest, discarded = self._split(buf)
        self.discarded += discarded
        if len(rest) > self.max_buffer:
            self.discarded += len(rest) - self.max_buffer
            rest = rest[-self.max_buffer :]
        self._buf = rest
        return frames

    def reset(self) -> None:
        """Drop a half-received frame, e.g. after a reconnect."""
        self._buf = b""

    @property
    def pending(self) -> int:
        return len(self._buf)


@dataclass(frozen=True, slots=True)
class PrefixedFraming(Generic[F]):
    """The layout of a protocol whose frames open with a fixed header byte and carry their own length, such as
    the MagicRF M100 (`BB … 7E`) and the ThingMagic Mercury (`FF len …`) protocols.

    Such a stream resynchronises the same way whatever the protocol: find the header, trust the length only as
    far as the checksum (and end byte) confirm it, otherwise move on by one byte. Keeping that loop in one place
    means every such codec recovers from line noise identically; only the layout differs.

    `length_at` is the offset of the big-endian length field from the header and `length_size` its width (1 or
    2); `overhead` is every byte the length does not count, so a frame is `overhead + length` bytes long. The
    checksum covers the bytes after the header up to itself and stands big-endian in `checksum_size` bytes,
    followed by the `end` byte where the protocol has one. A length above `max_length` cannot be a frame and is
    skipped at once rather than waited for. `build` turns the bytes of one whole, valid frame into a frame.
    """

    header: int
    length_at: int
    length_size: int
    overhead: int
    checksum: Callable[[bytes], int]
    checksum_size: int
    build: Callable[[bytes], F]
    end: int | None = None
    max_length: int | None = None


_INVALID = -2
_INCOMPLETE = -1


def _prefixed_end(framing: PrefixedFraming[F], buf: bytes, j: int) -> int:
    """Where the frame whose header is at ``j`` ends, ``_INCOMPLETE`` when more bytes are needed to tell, or
    ``_INVALID`` when its length, end byte or checksum shows it is not a frame."""
    n = len(buf)
    if n - j < framing.overhead:
        return _INCOMPLETE
    at = framing.length_at
    length = (buf[j + at] << 8) | buf[j + at + 1] if framing.length_size == 2 else buf[j + at]
    if framing.max_length is not None and length > framing.max_length:
        return _INVALID
    end = j + framing.overhead + length
    if end > n:
        return _INCOMPLETE
    c = end - framing.checksum_size - (framing.end is not None)
    expected = (buf[c] << 8) | buf[c + 1] if framing.checksum_size == 2 else buf[c]
    if (framing.end is not None and buf[end - 1] != framing.end) or framing.checksum(buf[j + 1 : c]) != expected:
        return _INVALID
    return end


def split_prefixed(framing: PrefixedFraming[F], buf: bytes) -> tuple[list[F], bytes, int]:
    """Whole, checksum-valid frames in `buf`, the unfinished tail, and how many bytes were skipped.

    A frame that fails its checks costs one byte: the search resumes just after its header, so a real frame
    hidden behind a stray header byte is still found. A header whose length reaches past the buffer is waited
    for only while no whole, valid frame starts after it: a noise byte that looks like a header and claims a long
    length would otherwise hold back every frame behind it until that many bytes had come (up to 262 bytes, many
    polls). Once a valid frame lies complete behind it, the false start is dropped and that frame is read at once.
    """
    frames: list[F] = []
    skipped = 0
    i = 0
    n = len(buf)
    find = buf.find
    header = bytes((framing.header,))
    overhead = framing.overhead
    at = framing.length_at
    wide_length = framing.length_size == 2
    max_length = framing.max_length
    checksum = framing.checksum
    wide_checksum = framing.checksum_size == 2
    end_byte = framing.end
    trailer = framing.checksum_size + (end_byte is not None)
    build = framing.build
    while True:  # the hot loop of every prefixed codec: kept inline (see bench/bench_rfid.py)
        j = find(header, i)
        if j < 0:
            skipped += n - i
            return frames, b"", skipped
        skipped += j - i
        if n - j < overhead:
            return frames, buf[j:], skipped
        length = (buf[j + at] << 8) | buf[j + at + 1] if wide_length else buf[j + at]
        if max_length is not None and length > max_length:
            skipped += 1
            i = j + 1
            continue
        end = j + overhead + length
        if end > n:
            if not _valid_prefixed_after(framing, buf, j):
                return frames, buf[j:], skipped
            skipped += 1  # a false start: a whole frame lies behind it
            i = j + 1
            continue
        c = end - trailer
        expected = (buf[c] << 8) | buf[c + 1] if wide_checksum else buf[c]
        if (end_byte is not None and buf[end - 1] != end_byte) or checksum(buf[j + 1 : c]) != expected:
            skipped += 1
            i = j + 1
            continue
        frames.append(build(buf[j:end]))
        i = end


def _valid_prefixed_after(framing: PrefixedFraming[F], buf: bytes, j: int) -> bool:
    """Whether a whole, valid frame starts somewhere after ``j`` in ``buf``."""
    header = bytes((framing.header,))
    k = buf.find(header, j + 1)
    while k >= 0 and len(buf) - k >= framing.overhead:
        if _prefixed_end(framing, buf, k) >= 0:
            return True
        k = buf.find(header, k + 1)
    return False


def tags_in(frames: Iterable[F], parse: Callable[[F], Iterable[TagRead]]) -> tuple[list[TagRead], int]:
    """The tags of every frame, and how many frames were rejected as malformed.

    A frame whose content is wrong (`FrameError`, e.g. a tag CRC that does not match) costs only itself: the
    good frames that came in the same chunk still count.
    """
    tags: list[TagRead] = []
    rejected = 0
    for frame in frames:
        try:
            tags.extend(parse(frame))
        except FrameError:
            rejected += 1
    return tags, rejected


def decode_with(
    split: SplitFn[F], parse: Callable[[F], Iterable[TagRead]], buf: bytes
) -> tuple[list[TagRead], bytes, int]:
    """Tags in a byte stream, the unfinished tail, and the count of rejected bytes plus rejected frames."""
    frames, rest, bad = split(buf)
    tags, rejected = tags_in(frames, parse)
    return tags, rest, bad + rejected
