"""What every RFID codec hands up: one tag observation (`TagRead`), the errors a reader can raise, and the
step from a tag observation to the shared `drivers.reads.Read`.

This module owns the vocabulary shared by the MagicRF, ThingMagic, Chafon, TSL and LLRP codecs so that the
inventory aggregation does not care which reader saw a tag. It must never do I/O and never import `tracker`
or `tui`.
"""

from __future__ import annotations

from collections.abc import Callable
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
