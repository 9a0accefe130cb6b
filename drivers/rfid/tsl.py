"""Technology Solutions (TSL) handheld readers speaking ASCII 2.0 over Bluetooth serial (`/dev/rfcomm*`).

This module owns the ASCII 2.0 line protocol as far as stock-taking needs it: commands such as `.iv -c on -pc
on -r on` (inventory with tag CRC, PC word and RSSI), the answer blocks they produce (`CS:` command started,
`EP:` EPC, `PC:`, `CR:` tag CRC, `RI:` RSSI, `OK:` or `ER:` ending the block, `ME:` messages) and the trigger:
a pull reported as `SW:` that runs the inventory bound to it, so the same block arrives unasked. Each block is
one batch of a stock-take upload. Lines become records by pure functions; a transponder whose EPC is not hex,
or whose `CR:` does not match PC+EPC, never becomes a read. It must never import `tracker` or `tui`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from drivers.reads import Read
from drivers.rfid.base import RfidError, TagRead
from drivers.rfid.crc import crc16_gen2
from drivers.rfid.session import Clock, SessionReader, utc_now

EOL = b"\r\n"
MAX_LINE = 512
INVENTORY = ".iv -c on -pc on -r on"
_HEX = frozenset("0123456789ABCDEF")


def split_lines(buf: bytes) -> tuple[list[str], bytes, int]:
    """Complete lines (without CR LF), the unfinished tail, and bytes dropped as non-ASCII or over-long.

    A dropped line leaves an empty string in its place (blank lines give none): the block assembler must know a
    line was lost there, or the transponder record it cut would be completed from the next tag's fields."""
    lines: list[str] = []
    dropped = 0
    start = 0
    while True:
        end = buf.find(b"\n", start)
        if end < 0:
            rest = buf[start:]
            if len(rest) > MAX_LINE:
                lines.append("")
                return lines, b"", dropped + len(rest)
            return lines, rest, dropped
        raw = buf[start:end].rstrip(b"\r")
        start = end + 1
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            dropped += len(raw) + 1
            lines.append("")
            continue
        if len(raw) > MAX_LINE:
            dropped += len(raw) + 1
            lines.append("")
            continue
        if text:
            lines.append(text)


@dataclass(frozen=True, slots=True)
class Block:
    """One answer: the command that started it, its transponders, and how it ended."""

    command: str
    tags: tuple[TagRead, ...]
    ok: bool
    error: str | None = None
    rejected: int = 0
    triggered: bool = False
    messages: tuple[str, ...] = ()


@dataclass
class _Pending:
    fields: dict[str, str] = field(default_factory=dict)


def _tag(fields: dict[str, str]) -> TagRead | None:
    epc = fields.get("EP", "").strip().upper()
    if not epc or len(epc) % 4 or not set(epc) <= _HEX:
        return None
    pc_text = fields.get("PC")
    pc = None
    if pc_text is not None:
        pc_text = pc_text.strip().upper()
        if len(pc_text) != 4 or not set(pc_text) <= _HEX:
            return None
        pc = int(pc_text, 16)
    crc_text = fields.get("CR")
    if crc_text is not None:
        crc_text = crc_text.strip().upper()
        if pc is None or len(crc_text) != 4 or not set(crc_text) <= _HEX:
            return None
        if crc16_gen2(pc.to_bytes(2, "big") + bytes.fromhex(epc)) != int(crc_text, 16):
            return None
    rssi: float | None = None
    if "RI" in fields:
        try:
            rssi = float(int(fields["RI"].strip()))
        except ValueError:
            return None
    raw = "\r\n".join(f"{k}: {v}" for k, v in fields.items()).encode("ascii")
    return TagRead(epc, rssi=rssi, antenna=1, pc=pc, raw=raw)


def _well_formed(head: str, value: str) -> bool:
    """Whether a transponder field's value has its field's form (hex EPC in whole words, 4-hex PC and CRC, an
    integer RSSI); fields we do not read are taken as they come."""
    v = value.upper()
    if head == "EP":
        return bool(v) and len(v) % 4 == 0 and set(v) <= _HEX
    if head in ("PC", "CR"):
        return len(v) == 4 and set(v) <= _HEX
    if head == "RI":
        return v.removeprefix("-").isdigit()
    return True


class BlockAssembler:
    """Turns lines into `Block`s. Transponder fields may come in any order; a repeated field starts the next
    transponder, which is how a record without a closing marker is recognised."""

    TAG_FIELDS = frozenset({"EP", "PC", "CR", "RI", "IX", "TD", "DT"})

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._command = ""
        self._tags: list[TagRead] = []
        self._rejected = 0
        self._current: dict[str, str] = {}
        self._triggered = False
        self._messages: list[str] = []
        self._open = False

    def _flush_tag(self) -> None:
        if self._current:
            tag = _tag(self._current)
            if tag is None:
                self._rejected += 1
            else:
                self._tags.append(tag)
            self._current = {}

    def _drop_tag(self) -> None:
        """A garbled line (noise, or a line cut short and run into the next one) drops the transponder record it
        interrupts: its fields may belong to two tags, and a record completed from them could be a false read or
        spoil the next tag's record (issue 17: the next valid record must come through whole)."""
        if self._current:
            self._rejected += 1
            self._current = {}

    def feed(self, line: str) -> Block | None:
        head, sep, value = line.partition(":")
        if not sep or len(head) != 2 or not head.isalpha() or not head.isupper():
            self._drop_tag()
            return None
        value = value.strip()
        if head in self.TAG_FIELDS and not _well_formed(head, value):
            self._drop_tag()
            return None
        if head == "SW":
            self._triggered = self._triggered or value.lower() in ("single", "double", "on")
            return None
        if head == "CS":
            self._flush_tag()
            triggered = self._triggered
            self._reset()
            self._command, self._open, self._triggered = value, True, triggered
            return None
        if head in self.TAG_FIELDS:
            if head in self._current:
                self._flush_tag()
            self._current[head] = value
            self._open = True
            return None
        if head == "ME":
            self._messages.append(value)
            return None
        if head in ("OK", "ER"):
            self._flush_tag()
            block = Block(
                self._command,
                tuple(self._tags),
                head == "OK",
                value if head == "ER" else None,
                self._rejected,
                self._triggered,
                tuple(self._messages),
            )
            self._reset()
            return block
        return None


def parse_blocks(data: bytes) -> list[Block]:
    """Every complete answer block in a captured byte stream (pure; for replays and tests)."""
    lines, _, _ = split_lines(data)
    assembler = BlockAssembler()
    return [b for b in (assembler.feed(line) for line in lines) if b is not None]


def encode_block(command: str, tags: list[TagRead], *, error: str | None = None, trigger: bool = False) -> bytes:
    """An answer block as the handheld writes it (used by the emulator and the property tests)."""
    out = []
    if trigger:
        out.append("SW: single")
    out.append(f"CS: {command}")
    for tag in tags:
        epc = bytes.fromhex(tag.epc)
        pc = tag.pc if tag.pc is not None else (len(epc) // 2) << 11
        out.append(f"PC: {pc:04X}")
        out.append(f"EP: {tag.epc}")
        out.append(f"CR: {crc16_gen2(pc.to_bytes(2, 'big') + epc):04X}")
        if tag.rssi is not None:
            out.append(f"RI: {int(tag.rssi)}")
    out.append(f"ER: {error}" if error else "OK:")
    return ("\r\n".join(out) + "\r\n").encode("ascii")


@dataclass(frozen=True, slots=True)
class Batch:
    """One trigger pull or one `.iv`: the unit a stock-take ingests idempotently as (device, batch, seq)."""

    device: str
    batch: str
    started: datetime
    reads: tuple[Read, ...]
    triggered: bool
    rejected: int = 0


class TslHandheld(SessionReader[str]):
    """A TSL handheld (1128, 1153, 1166 …) on its Bluetooth serial port."""

    def __init__(
        self,
        url: str,
        *,
        device: str | None = None,
        baudrate: int = 115200,
        clock: Clock = utc_now,
        batch_prefix: str | None = None,
    ) -> None:
        super().__init__(url, split_lines, device=device, baudrate=baudrate, clock=clock)
        self._assembler = BlockAssembler()
        self._batches = 0
        self._prefix = batch_prefix

    def _batch_id(self, at: datetime) -> str:
        self._batches += 1
        prefix = self._prefix or at.strftime("%Y%m%dT%H%M%S")
        return f"{prefix}-{self._batches:04d}"

    def _to_batch(self, block: Block) -> Batch:
        at = self._clock()
        reads = tuple(tag.to_read(self.device, at) for tag in block.tags)
        return Batch(self.device, self._batch_id(at), at, reads, block.triggered, block.rejected)

    def _next_block(self, timeout: float, idle: float | None = None) -> Block | None:
        found: list[Block] = []

        def on_line(line: str) -> None:
            block = self._assembler.feed(line)
            if block is not None:
                found.append(block)

        self.session.collect(lambda _l: bool(found), timeout=timeout, idle=idle, on_frame=on_line)
        return found[0] if found else None

    def command(self, text: str, timeout: float = 3.0) -> Block:
        self.session.send(text.encode("ascii") + EOL)
        block = self._next_block(timeout)
        if block is None:
            raise RfidError(f"{self.device}: no answer to {text!r} within {timeout:g} s")
        return block

    def inventory(self, command: str = INVENTORY) -> Batch:
        block = self.command(command)
        if not block.ok:
            raise RfidError(f"{self.device}: inventory failed with error {block.error}")
        return self._to_batch(block)

    def batches(self, duration: float, on_batch: Callable[[Batch], None] | None = None) -> Iterator[Batch]:
        """Batches the operator triggers during `duration` seconds: each trigger pull is one batch."""
        deadline = time.monotonic() + duration
        while (left := deadline - time.monotonic()) > 0:
            block = self._next_block(timeout=left)
            if block is None:
                return
            if block.ok:
                batch = self._to_batch(block)
                if on_batch is not None:
                    on_batch(batch)
                yield batch
