"""Stock-take uploads from handhelds: reads keyed by (device, batch, sequence), as rows and as CSV.

A handheld streams or uploads its reads in batches (one per trigger pull or per inventory command). The
stock-take ingests them idempotently by (device, batch, seq), so a re-sent upload changes nothing. This module
owns that key, the iterator the stock-take consumes, and the CSV a handheld upload produces:
`device,batch,seq,epc,rssi,antenna,at` with `at` in ISO 8601 UTC. Reading a CSV back refuses bad rows with the
line number and changes nothing. It must never import `tracker` or `tui`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TextIO

from drivers.reads import Read, ReadKind

CSV_FIELDS = ("device", "batch", "seq", "epc", "rssi", "antenna", "at")


class UploadError(ValueError):
    """An upload file that cannot be ingested; the message names the line and the field."""


class BatchLike(Protocol):
    @property
    def device(self) -> str: ...

    @property
    def batch(self) -> str: ...

    @property
    def reads(self) -> Sequence[Read]: ...


@dataclass(frozen=True, slots=True)
class UploadRow:
    device: str
    batch: str
    seq: int
    epc: str
    rssi: float | None
    antenna: int | None
    at: datetime

    @property
    def key(self) -> tuple[str, str, int]:
        """The idempotency key: the same read uploaded twice has the same key."""
        return (self.device, self.batch, self.seq)

    def to_read(self) -> Read:
        return Read(
            code=self.epc,
            kind=ReadKind.EPC,
            device=self.device,
            at=self.at,
            rssi=self.rssi,
            antenna=self.antenna,
        )


def rows(batches: Iterable[BatchLike]) -> Iterator[UploadRow]:
    """Rows of each batch, numbered 1.. within the batch in the order the handheld reported them."""
    for batch in batches:
        for seq, read in enumerate(batch.reads, start=1):
            if read.kind is not ReadKind.EPC:
                continue
            yield UploadRow(batch.device, batch.batch, seq, read.code, read.rssi, read.antenna, read.at)


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise UploadError(f"read time {at} has no time zone; reads are always UTC")
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def write_csv(items: Iterable[UploadRow], target: Path | TextIO) -> int:
    """Write rows as the upload CSV; returns how many rows were written."""
    if isinstance(target, Path):
        with target.open("w", newline="", encoding="utf-8") as f:
            return write_csv(items, f)
    writer = csv.writer(target, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    n = 0
    for row in items:
        writer.writerow(
            (
                row.device,
                row.batch,
                row.seq,
                row.epc,
                "" if row.rssi is None else f"{row.rssi:g}",
                "" if row.antenna is None else row.antenna,
                _iso(row.at),
            )
        )
        n += 1
    return n


def to_csv(items: Iterable[UploadRow]) -> str:
    buf = io.StringIO()
    write_csv(items, buf)
    return buf.getvalue()


def read_csv(source: Path | TextIO) -> list[UploadRow]:
    """Parse an upload CSV completely before returning, so a bad line refuses the whole file."""
    if isinstance(source, Path):
        with source.open(newline="", encoding="utf-8") as f:
            return read_csv(f)
    reader = csv.reader(source)
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != CSV_FIELDS:
        raise UploadError(f"line 1: header must be {','.join(CSV_FIELDS)}, not {','.join(header or [])}")
    out: list[UploadRow] = []
    seen: set[tuple[str, str, int]] = set()
    for line_no, record in enumerate(reader, start=2):
        if not record:
            continue
        if len(record) != len(CSV_FIELDS):
            raise UploadError(f"line {line_no}: {len(record)} fields, expected {len(CSV_FIELDS)}")
        device, batch, seq_text, epc, rssi_text, antenna_text, at_text = (v.strip() for v in record)
        try:
            seq = int(seq_text)
            rssi = float(rssi_text) if rssi_text else None
            antenna = int(antenna_text) if antenna_text else None
            at = datetime.fromisoformat(at_text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise UploadError(f"line {line_no}: {exc}") from None
        epc = epc.upper()
        if not device or not batch or seq < 1:
            raise UploadError(f"line {line_no}: device and batch are required and seq starts at 1")
        if not epc or len(epc) % 4 or any(c not in "0123456789ABCDEF" for c in epc):
            raise UploadError(f"line {line_no}: EPC {epc!r} is not whole 16-bit words of hex")
        if at.tzinfo is None:
            raise UploadError(f"line {line_no}: time {at_text!r} has no time zone")
        row = UploadRow(device, batch, seq, epc, rssi, antenna, at.astimezone(UTC))
        if row.key in seen:
            raise UploadError(f"line {line_no}: ({device}, {batch}, {seq}) appears twice")
        seen.add(row.key)
        out.append(row)
    return out
