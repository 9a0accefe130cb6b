"""Handheld upload files and driver reads turned into raw reads (`RawRead`), the one shape every source of reads
becomes before ingest.

It owns parsing: a scanner batch file (`drivers.scanners.batch`), an RFID upload CSV (`drivers.rfid.upload`), or a
plain list of codes, each read numbered (device, batch, seq) so a re-sent file is idempotent; `to_us` turns read
times into microseconds since the epoch (UTC only). It must never touch the database: a parsed upload is stored by
`tracker.stocktake.ingest`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from drivers.reads import Read, ReadKind
from drivers.rfid import upload as rfid_upload
from drivers.scanners import batch as scanner_batch
from labels.codes import CodeError, classify_code, parse_badge_code, parse_carrier_code, parse_location_code
from tracker.domain import DomainError
from tracker.text import LIMITS, clean


def _err(en: str, zh: str) -> DomainError:
    return DomainError(en, zh)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# (device, batch, seq, kind, code, at_us, rssi, antenna): what every source of reads becomes before ingest.
RawRead = tuple[str, str, int, str, str, int | None, float | None, int | None]


def to_us(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise _err(f"Read time {moment} has no time zone; reads are UTC.", f"读取时间 {moment} 缺少时区，须为UTC。")
    return (moment - EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class Upload:
    """A parsed handheld file: its format, its reads ready for `ingest`, and lines held back (an unfinished last
    line of a scanner file: it is read next time, when the file has grown)."""

    format: str  # plain | cs4070 | opticon | csv | rfid
    reads: list[RawRead]
    held_back: tuple[str, ...] = ()


_HEX = set("0123456789ABCDEF")


def _kind_of(code: str) -> str:
    return "epc" if len(code) == 24 and set(code) <= _HEX else "barcode"


_PARSERS = {"carrier": parse_carrier_code, "location": parse_location_code, "badge": parse_badge_code}


def _misread(code: str) -> tuple[str, str] | None:
    """Why a scanned or typed code cannot be a read (English, Chinese), or None. A read is a carrier, location or
    badge code whose check character is right, or an EPC: the register holds no other code (R-18), so anything else
    is a misread, a typing slip or a foreign label, and storing it would only resurface as an unknown code."""
    kind = classify_code(code)
    if kind == "epc":
        return None
    parse = _PARSERS.get(kind)
    if parse is None:
        return (f"{code!r} is not a carrier, location or badge code, nor an EPC",
                f"{code!r} 不是载体、位置或证件编码，也不是 EPC")
    try:
        parse(code)
    except CodeError as e:
        return (e.message_en, e.message_zh)
    return None


def _read_key(r: RawRead) -> tuple[str, str, int]:
    return (r[0], r[1], r[2])


def _decode(data: str | bytes) -> str:
    if isinstance(data, str):
        return data
    for encoding in ("utf-8-sig", "gb18030"):  # handhelds unloaded on Chinese Windows write GB18030
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _err("The upload is neither UTF-8 nor GB18030 text.", "上传文件既不是 UTF-8 也不是 GB18030 文本。")


def parse_upload(data: str | bytes, device: str | None = None, batch: str | None = None, name: str = "",
                 tz: tzinfo | None = None) -> Upload:
    """Read a handheld upload: the RFID inventory export of `drivers.rfid.upload`, a CSV with `code` (and optionally
    time/device/batch/seq/rssi/antenna), or a handheld batch file read by `drivers.scanners.batch` (Opticon
    SCANNED.TXT, Zebra CS4070 Barcode.txt, or a plain list of codes). A bad line refuses the whole file, and so does
    a device or batch name the text policy refuses (`tracker.text`): they are stored and shown in the reports."""
    upload = _parse_upload(data, device, batch, name, tz)
    for dev, bat in {(r[0], r[1]) for r in upload.reads}:
        clean("device", dev)
        clean("batch", bat)
    if upload.reads and max(map(len, (r[4] for r in upload.reads))) > LIMITS["read"]:
        r = next(r for r in upload.reads if len(r[4]) > LIMITS["read"])
        clean("code", r[4], where=(f"{r[0]}/{r[1]} read {r[2]}", f"{r[0]}/{r[1]} 第 {r[2]} 条"), limit=LIMITS["read"])
    return upload


def unreadable(code: str) -> tuple[str, str] | None:
    """Why the text policy refuses a code read live (a control character, or longer than a read's column), in
    English and Chinese, or None. Live reads are not held to `_misread` (a foreign label is recorded as an unknown
    code), but what is stored must still be text the register can hold on both databases."""
    try:
        clean("code", code, limit=LIMITS["read"])
    except DomainError as e:
        return e.en, e.zh
    return None


def _parse_upload(data: str | bytes, device: str | None, batch: str | None, name: str,
                  tz: tzinfo | None) -> Upload:
    text = _decode(data)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    header = [h.strip().lower() for h in first.split(",")]
    if tuple(header) == rfid_upload.CSV_FIELDS:
        try:
            rows = rfid_upload.read_csv(io.StringIO(text))
        except rfid_upload.UploadError as e:
            raise _err(f"RFID upload: {e}", f"RFID 上传文件有误：{e}") from None
        return Upload("rfid", sorted(((r.device, r.batch, r.seq, "epc", r.epc, to_us(r.at), r.rssi, r.antenna)
                                      for r in rows), key=_read_key))
    if "code" in header and len(header) > 1:
        # A batch's own sequence is the order its reads were taken in, whatever order the file lists them.
        return Upload("csv", sorted(_parse_csv(text, device, batch), key=_read_key))
    return _parse_batch_file(text.encode(), device, batch, name, tz)


def _parse_batch_file(raw: bytes, device: str | None, batch: str | None, name: str, tz: tzinfo | None) -> Upload:
    dev = (device or "").strip()
    try:
        kind = scanner_batch.detect_format(name or "upload.txt", raw)
        if kind == "opticon":
            parsed = scanner_batch.parse_opticon(raw, tz=tz, batch_id=batch)
        elif not dev:
            raise _err(f"A {'plain list of codes' if kind == 'plain' else kind + ' file'} does not name its "
                       "scanner: give the device (--device).", "该文件未注明扫描设备，请指定设备（--device）。")
        elif kind == "cs4070":
            parsed = scanner_batch.parse_cs4070(raw, device=dev, batch_id=batch)
        else:  # lists made by people: one batch per distinct content unless named
            parsed = scanner_batch.parse_plain(raw, device=dev, batch_id=batch or scanner_batch.content_batch_id(raw))
    except scanner_batch.BatchFileError as e:
        raise _err(f"Upload: {e}", f"上传文件有误：{e}") from None
    bad = [(p.line, p.reason, p.reason) for p in parsed.problems
           if not (parsed.truncated and p.reason.startswith("last line"))]
    for rec in parsed.records:
        why = _misread(rec.read.code.strip().upper())
        if why is not None:
            bad.append((rec.line, *why))
    if bad:
        bad.sort()
        shown = "; ".join(f"line {line}: {en}" for line, en, _ in bad[:5])
        shown_zh = "；".join(f"第 {line} 行：{zh}" for line, _, zh in bad[:5])
        raise _err(f"The upload has {len(bad)} unreadable line(s), nothing was stored: {shown}.",
                   f"上传文件有 {len(bad)} 行无法读取，未保存任何内容：{shown_zh}。")
    timed = parsed.format == "opticon"
    reads: list[RawRead] = []
    for rec in parsed.records:
        code = rec.read.code.strip().upper()
        reads.append((rec.key.device, rec.key.batch, rec.key.sequence, _kind_of(code), code,
                      to_us(rec.read.at) if timed else None, None, None))
    if not reads:
        raise _err("The upload holds no codes.", "上传文件中没有编号。")
    held = tuple(f"line {p.line}: {p.reason}" for p in parsed.problems)  # only a cut-short last line is left
    return Upload(parsed.format, reads, held)


def _csv_rows(reader: csv.DictReader[str]) -> Iterator[dict[str | Any, Any]]:
    """The reader's rows; a line the csv module cannot read (a bare carriage return inside a field, say) refuses the
    upload with its line number, as every other bad line does, instead of escaping as the module's own error."""
    try:
        yield from reader
    except csv.Error as e:
        raise _err(f"line {reader.line_num}: not readable as CSV ({e}).",
                   f"第 {reader.line_num} 行：无法按 CSV 读取（{e}）。") from None


def _parse_csv(data: str, device: str | None, batch: str | None) -> Iterator[RawRead]:
    reader = csv.DictReader(io.StringIO(data))
    try:
        names = reader.fieldnames or []
    except csv.Error as e:
        raise _err(f"line 1: not readable as CSV ({e}).", f"第 1 行：无法按 CSV 读取（{e}）。") from None
    fields = {f.strip().lower(): f for f in names}
    known = {"code", "time", "at", "device", "batch", "seq", "rssi", "antenna", "kind"}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise _err(f"Unknown CSV column(s) {', '.join(unknown)}; use {', '.join(sorted(known))}.",
                   f"无法识别的列 {', '.join(unknown)}；可用列：{', '.join(sorted(known))}。")
    default_batch = batch or scanner_batch.content_batch_id(data)
    seen: set[tuple[str, str, int]] = set()
    n = 0
    for raw in _csv_rows(reader):
        line = reader.line_num
        r = {k: (raw.get(v) or "").strip() for k, v in fields.items()}
        if not any(r.values()) and not any((v or "").strip() for v in raw.get(None) or []):  # type: ignore[call-overload]
            continue  # a line of spaces is a blank line: re-saving a file must not change its reads (issue 17)
        n += 1  # reads are numbered as content_batch_id counts them: blank lines take no number
        code = r.get("code", "").upper()
        if not code:
            raise _err(f"line {line}: the code is empty.", f"第 {line} 行：编号为空。")
        dev = r.get("device") or (device or "").strip()
        if not dev:
            raise _err(f"line {line}: no device column and no --device given.",
                       f"第 {line} 行：没有 device 列，也未指定 --device。")
        try:
            seq = int(r["seq"]) if r.get("seq") else n
            when = r.get("time") or r.get("at")
            at = datetime.fromisoformat(when.replace("Z", "+00:00")) if when else None
            rssi = float(r["rssi"]) if r.get("rssi") else None
            antenna = int(r["antenna"]) if r.get("antenna") else None
        except ValueError as e:
            raise _err(f"line {line}: {e}", f"第 {line} 行：{e}") from None
        if at is not None and at.tzinfo is None:
            raise _err(f"line {line}: time {when!r} has no time zone (add Z or +08:00).",
                       f"第 {line} 行：时间 {when!r} 缺少时区（请加 Z 或 +08:00）。")
        kind = r.get("kind") or _kind_of(code)
        if kind not in ("barcode", "epc"):
            raise _err(f"line {line}: kind must be barcode or epc, not {kind!r}.",
                       f"第 {line} 行：kind 须为 barcode 或 epc，而不是 {kind!r}。")
        why = _misread(code) if kind == "barcode" else None
        if why is not None:
            raise _err(f"line {line}: {why[0]}; nothing was stored.", f"第 {line} 行：{why[1]}；未保存任何内容。")
        b = r.get("batch") or default_batch
        key = (dev, b, seq)
        if key in seen:
            raise _err(f"line {line}: ({dev}, {b}, {seq}) appears twice.", f"第 {line} 行：({dev}, {b}, {seq}) 重复。")
        seen.add(key)
        yield (dev, b, seq, kind, code, to_us(at), rssi, antenna)


def reads_from_driver(reads: Iterable[Read], device: str, batch: str, first_seq: int = 1) -> Iterator[RawRead]:
    """Number a driver's reads within one batch, in arrival order."""
    for seq, r in enumerate(reads, start=first_seq):
        code = r.code.strip().upper()
        kind = "epc" if r.kind is ReadKind.EPC else "barcode"
        yield (r.device or device, batch, seq, kind, code, to_us(r.at), r.rssi, r.antenna)
