"""Handheld batch files: the scans a stock-take team's batch scanner stored and uploads later.

Formats read: * Opticon `SCANNED.TXT` (OPN-2001/2004/2005/2006 and relatives):
`code,serial,hh:mm:ss,dd/mm/yyyy` per line, or `code,quantity,serial,hh:mm:ss,dd/mm/yyyy` when the scanner's
output format has a quantity field. * Zebra CS4070 `Barcode.txt` (the `Scanned Barcodes` folder of its USB
drive): one decode per line, no time stamp. * plain lists: one code per line (a spreadsheet column saved as
text, a file from another tool).

This module owns parsing those into `Read`s, each with a stable idempotency key `(device, batch, sequence)`,
so the same upload ingested twice — or a file uploaded again after more scans were appended to it — books each
scan once. It must never guess at a damaged line: a line it cannot read is reported as a problem with its line
number, and a final line without its line end (an upload cut short) is held back, not imported truncated.

Keys. `device` is the scanner's serial (from the file for Opticon, else given by the caller). `batch` is a
fingerprint of that device's *first* record (its time and code, or its code for formats without time), so it
stays the same while the file grows; pass `batch_id` explicitly when the caller has a better one (the CS4070
and plain lists have no time stamp, so two different lists that begin with the same code would otherwise share
a batch): `content_batch_id` is one, a fingerprint of the file's reads — never of its bytes, which change when a
file is merely saved again with other line ends or blank lines. `sequence` counts that device's records in the
file from 1.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Literal

from drivers.reads import Read, ReadKind
from drivers.scanners.aim import split_aim, symbology_for

BatchFormat = Literal["opticon", "cs4070", "plain"]
# Exact widths: strptime alone would take a date cut to "01/12/202" as the year 202.
_HMS = re.compile(r"\d{2}:\d{2}:\d{2}")
_DMY = re.compile(r"\d{2}/\d{2}/\d{4}")
FORMATS: tuple[BatchFormat, ...] = ("opticon", "cs4070", "plain")


class BatchFileError(ValueError):
    """The file cannot be read as a batch at all (wrong format, not text); the message says what was
    expected.
    """


@dataclass(frozen=True, slots=True, order=True)
class BatchKey:
    """The idempotency key of one batch read: ingest keyed on it and a repeated upload changes nothing."""

    device: str
    batch: str
    sequence: int


@dataclass(frozen=True, slots=True)
class BatchRecord:
    read: Read
    key: BatchKey
    line: int
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class BatchProblem:
    line: int
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class Batch:
    format: BatchFormat
    records: tuple[BatchRecord, ...]
    problems: tuple[BatchProblem, ...]
    truncated: bool  # the last line had no line end and was held back

    @property
    def reads(self) -> list[Read]:
        return [r.read for r in self.records]


def _text(data: bytes) -> str:
    """Handhelds and the PCs they are unloaded on write UTF-8 or, on Chinese Windows, GB18030."""
    if b"\x00" in data:
        raise BatchFileError("this is not a text file (it contains NUL bytes)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BatchFileError("the file is neither UTF-8 nor GB18030 text")


def _lines(data: bytes) -> tuple[list[tuple[int, str]], tuple[int, str] | None]:
    """Numbered non-empty lines, and the numbered final line if it had no line end (else None)."""
    text = _text(data)
    parts = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    tail = parts.pop()
    numbered = [(i + 1, line) for i, line in enumerate(parts) if line.strip()]
    return numbered, ((len(parts) + 1, tail) if tail.strip() else None)


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def content_lines(text: str | bytes) -> list[str]:
    """The reads of an upload as its lines say them: line ends of any kind, a byte-order mark, trailing spaces and
    blank lines do not count, so re-saving a file (CRLF on Windows, one more empty line) changes none of them."""
    if isinstance(text, bytes):
        text = _text(text)
    text = text.removeprefix("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [line.rstrip() for line in lines if line.strip()]


def content_batch_id(text: str | bytes) -> str:
    """The batch id of an upload that names none: a fingerprint of its reads (``content_lines``), not of its
    bytes, so the same list saved again is the same batch and ingest books each read once. A file of clean
    ``\n``-ended lines gets the id its raw text had before (``sha-`` and 16 hex digits of SHA-256), so batches
    already stored keep their identity."""
    canonical = "".join(line + "\n" for line in content_lines(text))
    return "sha-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _read(code: str, device: str, at: datetime, raw: str) -> Read:
    aim_id, code = split_aim(code)
    return Read(code=code, kind=ReadKind.BARCODE, symbology=symbology_for(aim_id), aim_id=aim_id, device=device,
                at=at, raw=raw.encode())


def _opticon_fields(line: str, quantity: bool) -> tuple[str, int, str, str, str]:
    parts = line.rsplit(",", 4 if quantity else 3)
    if len(parts) != (5 if quantity else 4):
        raise ValueError(f"expected {'5' if quantity else '4'} comma-separated fields")
    if quantity:
        code, qty, serial, hms, dmy = parts
        if not qty.strip().isdigit():
            raise ValueError(f"quantity {qty!r} is not a number")
        return code, int(qty), serial.strip(), hms.strip(), dmy.strip()
    code, serial, hms, dmy = parts
    return code, 1, serial.strip(), hms.strip(), dmy.strip()


def _opticon_has_quantity(lines: list[tuple[int, str]]) -> bool:
    """A quantity file has five fields on every line, the second (fourth from the end) a number."""
    if not lines:
        return False
    for _, line in lines:
        parts = line.rsplit(",", 4)
        if len(parts) != 5 or not parts[1].strip().isdigit():
            return False
    return True


def parse_opticon(
    data: bytes, *, tz: tzinfo | None = None, batch_id: str | None = None, quantity: bool | None = None
) -> Batch:
    """Opticon SCANNED.TXT. Times are the scanner's local clock, read in `tz` (default: this computer's
    zone).
    """
    lines, tail = _lines(data)
    complete = list(lines)
    truncated = False
    if tail is not None:
        # Opticon ends every record with CRLF; a last line without it is kept only if it parses completely.
        complete.append(tail)
    if quantity is None:
        quantity = _opticon_has_quantity(complete)
    zone = tz or datetime.now().astimezone().tzinfo or UTC
    records: list[BatchRecord] = []
    problems: list[BatchProblem] = []
    firsts: dict[str, str] = {}
    counts: dict[str, int] = {}
    for number, line in complete:
        is_tail = tail is not None and number == tail[0]
        try:
            code, qty, serial, hms, dmy = _opticon_fields(line, quantity)
            if not code:
                raise ValueError("empty bar code")
            if not serial:
                raise ValueError("empty serial number")
            if not (_HMS.fullmatch(hms) and _DMY.fullmatch(dmy)):
                raise ValueError(f"time/date {hms!r} {dmy!r} is not hh:mm:ss dd/mm/yyyy")
            local = datetime.strptime(f"{dmy} {hms}", "%d/%m/%Y %H:%M:%S")
        except ValueError as exc:
            if is_tail:
                truncated = True
                problems.append(BatchProblem(number, line, "last line is incomplete (upload cut short?)"))
            else:
                problems.append(BatchProblem(number, line, str(exc)))
            continue
        at = local.replace(tzinfo=zone).astimezone(UTC)
        batch = batch_id or firsts.setdefault(serial, _fingerprint("opticon", serial, at.isoformat(), code))
        counts[serial] = counts.get(serial, 0) + 1
        read = _read(code, serial, at, line)
        records.append(BatchRecord(read, BatchKey(serial, batch, counts[serial]), number, qty))
    return Batch("opticon", tuple(records), tuple(problems), truncated)


def _untimed(
    kind: BatchFormat, data: bytes, device: str, batch_id: str | None, uploaded_at: datetime | None,
    accept_unterminated: bool,
) -> Batch:
    if not device:
        raise BatchFileError(f"a {kind} file does not name its scanner: give the device serial")
    lines, tail = _lines(data)
    problems: list[BatchProblem] = []
    truncated = False
    if tail is not None:
        if accept_unterminated:
            lines.append(tail)
        else:
            truncated = True
            problems.append(BatchProblem(*tail, "last line has no line end (upload cut short?): not imported"))
    at = uploaded_at or datetime.now(UTC)
    records: list[BatchRecord] = []
    batch = batch_id
    for number, line in lines:
        code = line.strip()
        if any(ord(ch) < 0x20 and ch not in "\x1d\x1e\x04\x1c" for ch in code):
            problems.append(BatchProblem(number, line, "control characters in the code"))
            continue
        if batch is None:
            batch = _fingerprint(kind, device, code)
        records.append(BatchRecord(_read(code, device, at, line), BatchKey(device, batch, len(records) + 1), number))
    return Batch(kind, tuple(records), tuple(problems), truncated)


def parse_cs4070(
    data: bytes, *, device: str, batch_id: str | None = None, uploaded_at: datetime | None = None,
    accept_unterminated: bool = False,
) -> Batch:
    """Zebra CS4070 Barcode.txt. The file has no time stamps: every read gets `uploaded_at` (default now)."""
    return _untimed("cs4070", data, device, batch_id, uploaded_at, accept_unterminated)


def parse_plain(
    data: bytes, *, device: str, batch_id: str | None = None, uploaded_at: datetime | None = None,
    accept_unterminated: bool = True,
) -> Batch:
    """One code per line. A missing final line end is accepted by default: such lists are made by people."""
    return _untimed("plain", data, device, batch_id, uploaded_at, accept_unterminated)


def detect_format(name: str, data: bytes) -> BatchFormat:
    """From the file name the scanners use, else from the first line's shape."""
    lower = Path(name).name.lower()
    if lower == "scanned.txt":
        return "opticon"
    if lower == "barcode.txt":
        return "cs4070"
    lines, tail = _lines(data)
    first = lines[0][1] if lines else (tail[1] if tail else "")
    parts = first.rsplit(",", 2)
    if len(parts) == 3:
        try:
            datetime.strptime(f"{parts[2].strip()} {parts[1].strip()}", "%d/%m/%Y %H:%M:%S")
            return "opticon"
        except ValueError:
            pass
    return "plain"


def parse_batch_file(
    path: Path | str, *, format: BatchFormat | None = None, device: str = "", batch_id: str | None = None,
    tz: tzinfo | None = None,
) -> Batch:
    """Read a batch file from disk, detecting its format from the name or content unless `format` is given."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BatchFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    kind = format or detect_format(path.name, data)
    parsers: dict[str, Callable[[], Batch]] = {
        "opticon": lambda: parse_opticon(data, tz=tz, batch_id=batch_id),
        "cs4070": lambda: parse_cs4070(data, device=device, batch_id=batch_id),
        "plain": lambda: parse_plain(data, device=device, batch_id=batch_id),
    }
    if kind not in parsers:
        raise BatchFileError(f"unknown batch format {kind!r}; use one of {', '.join(FORMATS)}")
    return parsers[kind]()
