"""Storing reads (the tuned ingest): raw reads checked and placed, then written in bulk, idempotently on
(device, batch, sequence), by `ingest` for files and `LiveIngest` for a live driver or a keyboard-wedge scanner.

A location code sets the place for the reads that follow it, a badge sets "with this holder", and an RFID batch is
bound to a place (`_Context`); the writer proper is `tracker.stocktake.writer`. The measurements that chose each
step are in the docstrings below and in the writer's; change nothing here without running
`bench/bench_stocktake.py`. It must never write a read into the ledger, never reconcile, and never change custody.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import compress, repeat
from operator import eq, lt
from typing import Any

from sqlalchemy import func, select, text

from drivers.reads import Read, ReadKind
from labels.codes import classify_code
from tracker.domain import DomainError
from tracker.rules import Action
from tracker.schema import Location, Person
from tracker.schema_stocktake import (
    StocktakeBatch,
    StocktakeBinding,
    StocktakeRead,
    StocktakeScope,
)
from tracker.services.common import Signed, actor_facts
from tracker.stocktake.session import _session
from tracker.stocktake.upload import RawRead, to_us, unreadable
from tracker.stocktake.writer import Columns, Piece, Run, _Batches, _runs, _split, _Stretch, _Writer
from tracker.store import UnitOfWork


def _err(en: str, zh: str) -> DomainError:
    return DomainError(en, zh)


CHUNK = 50_000


@dataclass(frozen=True)
class RefusedRead:
    """A read the register would not take (no place yet, an unknown place or badge), with the reason in both
    languages, so a live pass can show each refusal at the counter while the reads around it are stored."""

    device: str
    batch: str
    seq: int
    code: str
    en: str
    zh: str


@dataclass(frozen=True)
class IngestResult:
    added: int
    duplicates: int
    places: int  # location / badge scans among them
    refused: tuple[RefusedRead, ...] = ()  # only with refuse_each: reads set aside, each with its reason

    @property
    def total(self) -> int:
        return self.added + self.duplicates


# Location and badge codes (the only reads that change the place of the reads after them) by their first letters;
# everything else in a handheld batch is a carrier code and goes through in bulk.
_PLACE_CODE = re.compile("LOC-|B-").match


_PLACE_PREFIXES = ("\nLOC-", "\nB-")


def _place_scans(codes: Sequence[str]) -> list[int]:
    """Positions of the location and badge codes among `codes`. The codes are joined by newlines and `str.find`
    jumps from one place code to the next in C, instead of a match per code (or a regular expression walking every
    character: 0.22 s for a million codes, against 0.09 s); codes with a newline of their own (none come from a
    scanner) are matched one by one."""
    joined = "\n" + "\n".join(codes)
    if joined.count("\n") != len(codes):
        return list(compress(range(len(codes)), map(_PLACE_CODE, codes)))
    starts: list[int] = []
    for prefix in _PLACE_PREFIXES:
        i = joined.find(prefix)
        while i >= 0:
            starts.append(i)
            i = joined.find(prefix, i + 1)
    starts.sort()
    out: list[int] = []
    line, pos = -1, 0
    for i in starts:  # the code starting after the newline at i is number (newlines up to i) - 1
        line += joined.count("\n", pos, i + 1)
        pos = i + 1
        out.append(line)
    return out


class _Context:
    """Turns raw reads into stored rows: the place each read was taken in, checked before anything is written."""

    def __init__(self, uow: UnitOfWork, sid: int, batches: _Batches, refuse_each: bool = False) -> None:
        self.uow, self.sid, self.batches = uow, sid, batches
        self.refuse_each = refuse_each
        self.refused: list[RefusedRead] = []
        self.scope = {str(c): int(i) for c, i in uow.session.execute(select(
            StocktakeScope.code, StocktakeScope.location_id).where(StocktakeScope.session_id == sid))}
        self.bindings = {(d, b, a): int(loc) for d, b, a, loc in uow.session.execute(select(
            StocktakeBinding.device, StocktakeBinding.batch, StocktakeBinding.antenna, StocktakeBinding.loc_id
        ).where(StocktakeBinding.session_id == sid))}
        self.badges: dict[str, int | None] = {}
        self.state: dict[tuple[str, str], tuple[int | None, int | None, int]] = {}
        self.places = 0

    def _resume(self, batch_id: int, seq: int) -> tuple[int | None, int | None, int]:
        """The place set by the last location/badge scan already stored before `seq` (a resumed batch)."""
        if batch_id not in self.batches.old:
            return (None, None, 0)
        row = self.uow.session.execute(text(
            "SELECT loc_id, holder_id FROM stocktake_reads WHERE session_id = :s AND batch_id = :b "
            "AND seq < :q AND kind IN ('location', 'badge') ORDER BY seq DESC LIMIT 1"),
            {"s": self.sid, "b": batch_id, "q": seq}).first()
        return (row[0], row[1], 0) if row else (None, None, 0)

    def _badge(self, code: str) -> int | None:
        if code not in self.badges:
            pid = self.uow.session.execute(select(Person.id).where(Person.badge == code)).scalar_one_or_none()
            self.badges[code] = pid
        return self.badges[code]

    def _where(self, device: str, batch: str, seq: int) -> tuple[str, str]:
        return f"{device}/{batch} read {seq}", f"{device}/{batch} 第 {seq} 条"

    def _refuse(self, device: str, batch: str, seq: int, code: str, why: tuple[str, str]) -> None:
        """An upload is refused whole by its first bad read (the file is fixed and sent again); a live stream
        cannot be sent again, so there the read is set aside with its reason and the place stays as it was."""
        en, zh = self._where(device, batch, seq)
        if not self.refuse_each:
            raise _err(f"{en}: {why[0]}", f"{zh}：{why[1]}")
        self.refused.append(RefusedRead(device, batch, seq, code, f"{en}: {why[0]}", f"{zh}：{why[1]}"))

    def chunks(self, runs: Iterable[Run], size: int) -> Iterator[list[Piece]]:
        """Reads to store, `size` at a time. This is the ingest's hot path, so per-read work is left to C: a run of
        one batch is transposed into columns, its sequence checked with one `map`, and the carrier reads between two
        place scans stay column slices (a `_Stretch`, or rows through `zip` when they carry RSSI or antenna); only
        place scans and RFID reads are looked at one by one."""
        out: list[Piece] = []
        held = 0
        for (device, batch), cols in runs:
            held += self._run(device, batch, cols, out)
            while held >= size:
                chunk, out = _split(out, size)
                held -= size
                yield chunk
        if out:
            yield out

    def _run(self, device: str, batch: str, cols: Columns, out: list[Piece]) -> int:
        """Append the run's acceptable reads to `out`; returns how many."""
        seqs, kinds, codes, ats, rssis, antennas = cols
        bid = self.batches.get(device, batch)
        st = self.state.get((device, batch))
        if st is None:
            st = self._resume(bid, seqs[0])
        loc, holder, last_seq = st
        if seqs[0] <= last_seq or not all(map(lt, seqs, seqs[1:])):
            for seq in seqs:
                if seq <= last_seq:
                    en, zh = self._where(device, batch, seq)
                    raise _err(f"{en}: reads of a batch must come in sequence order (after {last_seq}).",
                               f"{zh}：同一批次的读取须按序号排列（应在 {last_seq} 之后）。")
                last_seq = seq
        n = len(seqs)
        if kinds.count("epc") == n and self._rfid_pass(device, batch, bid, cols, out):
            self.state[(device, batch)] = (loc, holder, seqs[-1])
            return n
        plain = rssis.count(None) == n and antennas.count(None) == n
        before = len(out)
        stretched = 0
        special = _place_scans(codes)
        if "epc" in kinds:
            special = sorted(set(special).union(compress(range(n), map(eq, kinds, repeat("epc")))))
        special.append(n)
        start = 0
        for i in special:
            if i > start and loc is None and holder is None:  # carrier reads before any place scan
                for k in range(start, i):
                    self._refuse(device, batch, seqs[k], codes[k], self._no_place(codes[k]))
            elif i > start and plain:  # carrier reads in the place set before them
                out.append(_Stretch(bid, loc, holder, seqs[start:i], kinds[start:i], codes[start:i], ats[start:i]))
                stretched += i - start - 1
            elif i > start:
                out.extend(zip(repeat(bid), seqs[start:i], kinds[start:i], codes[start:i], ats[start:i],
                               rssis[start:i], antennas[start:i], repeat(loc), repeat(holder)))
            if i == n:
                break
            start = i + 1
            seq, kind, code, at_us, rssi, antenna = seqs[i], kinds[i], codes[i], ats[i], rssis[i], antennas[i]
            if kind == "epc":
                place = self._bound(device, batch, antenna) or loc
                if place is None and holder is None:
                    self._refuse(device, batch, seq, code, (
                        f"RFID reads need a place: bind {device}/{batch} to a location first "
                        "(tracker stocktake bind) or scan a location code before them.",
                        f"RFID 读取须有位置：请先将 {device}/{batch} 绑定到位置，或先扫描位置码。"))
                    continue
                out.append((bid, seq, kind, code, at_us, rssi, antenna, place, None if place is not None else holder))
            elif code[:4] == "LOC-":
                lid = self.scope.get(code)
                if lid is None:
                    self._refuse(device, batch, seq, code, self._unknown_place(code))
                    continue
                loc, holder = lid, None
                self.places += 1
                out.append((bid, seq, "location", code, at_us, rssi, antenna, lid, None))
            elif classify_code(code) == "badge":
                pid = self._badge(code)
                if pid is None:
                    self._refuse(device, batch, seq, code, (f"badge {code} is not a registered person.",
                                                            f"证件 {code} 不是登记人员。"))
                    continue
                loc, holder = None, pid
                self.places += 1
                out.append((bid, seq, "badge", code, at_us, rssi, antenna, None, pid))
            else:  # a "B-…" code that is no badge: an ordinary read
                if loc is None and holder is None:
                    self._refuse(device, batch, seq, code, self._no_place(code))
                    continue
                out.append((bid, seq, kind, code, at_us, rssi, antenna, loc, holder))
        self.state[(device, batch)] = (loc, holder, seqs[-1])
        return len(out) - before + stretched

    def _bound(self, device: str, batch: str, antenna: int | None) -> int | None:
        """The place an RFID batch's antenna is bound to, else the place the whole batch is bound to."""
        return self.bindings.get((device, batch, antenna or 0)) or self.bindings.get((device, batch, 0))

    def _rfid_pass(self, device: str, batch: str, bid: int, cols: Columns, out: list[Piece]) -> bool:
        """A run of RFID reads only, every antenna bound to a place: rows are zipped in C with one dict lookup per
        antenna instead of looking at each read. False (nothing appended) when some antenna has no binding; the
        read-by-read path then places each read by the last place scan, or refuses it."""
        seqs, kinds, codes, ats, rssis, antennas = cols
        where = {a: self._bound(device, batch, a) for a in set(antennas)}
        if None in where.values():
            return False
        out.extend(zip(repeat(bid), seqs, kinds, codes, ats, rssis, antennas, map(where.__getitem__, antennas),
                       repeat(None)))
        return True

    @staticmethod
    def _no_place(code: str) -> tuple[str, str]:
        return (f"{code} was scanned before any location code; scan the shelf's location label first.",
                f"扫描 {code} 之前未扫描位置码，请先扫描所在位置的位置标签。")

    def _unknown_place(self, code: str) -> tuple[str, str]:
        known = self.uow.session.execute(select(Location.id).where(Location.code == code)).first()
        if known:
            return (f"{code} is outside the scope of stock-take #{self.sid}.",
                    f"{code} 不在清查 #{self.sid} 的范围内。")
        return f"{code} is not a location in the register.", f"{code} 不是登记的存放位置。"


def ingest(uow: UnitOfWork, actor: Signed, sid: int, reads: Iterable[RawRead],
           commit_every: int | None = None, refuse_each: bool = False) -> IngestResult:
    """Store reads idempotently. One transaction for the whole input by default, so a bad read anywhere refuses
    it all; with `commit_every`, each chunk of that many reads is committed as it goes (live streams, huge files)
    and a re-sent input simply skips what is already stored. With `refuse_each`, a read the register refuses (no
    place yet, an unknown place or badge) is set aside in the result with its reason and every other read is
    stored: a live pass cannot be sent again, so refusing its good reads with the bad one would lose scans."""
    with uow, _no_cycle_collection():
        return _ingest(uow, actor, sid, reads, commit_every, refuse_each)


def _ingest(uow: UnitOfWork, actor: Signed, sid: int, reads: Iterable[RawRead], commit_every: int | None,
            refuse_each: bool) -> IngestResult:
    """The ingest proper, in a frame of its own: its runs, chunks and statements are freed when it returns, before
    the cycle collector is resumed, which would otherwise walk them all once more."""
    actor_facts(uow, actor, Action.STOCKTAKE)
    _session(uow, sid)
    batches = _Batches(uow, sid)
    runs = _runs(reads, batches)
    ctx = _Context(uow, sid, batches, refuse_each)
    writer = _Writer(uow, sid, batches)
    committed = 0
    for chunk in ctx.chunks(runs, commit_every or CHUNK):
        writer.write(chunk)
        if commit_every:
            _bulk_commit(uow, writer.added - committed, final=False)
            committed = writer.added
    _bulk_commit(uow, writer.added - committed, final=True)
    return IngestResult(writer.added, writer.duplicates, ctx.places, tuple(ctx.refused))


# From this many reads in one transaction, its WAL checkpoint is left to the store's checkpointer thread, so a big
# upload returns once its reads are durable (a million reads: about 0.8 s sooner). A live pass's flushes and small
# uploads commit as every other write does.
BULK_READS = 10_000


def _bulk_commit(uow: UnitOfWork, reads: int, final: bool) -> None:
    if reads >= BULK_READS:
        uow.defer_checkpoint()
    if final:
        uow.commit()
    else:
        uow.session.commit()


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while reads are cut into columns and statements. Those are millions of
    tuples and lists that reference counting frees as soon as they are done with (they form no cycles), but each
    new container counts towards the next collection, and every few collections walks all the process's live
    objects, the caller's list of reads included: measured at a million reads, 0.8 s of a 3.4 s ingest, 1.3 s when
    the process holds a few million more objects. Cycles made meanwhile elsewhere are collected afterwards.
    A reconciliation pauses it too: its coverage roll-up makes tens of thousands of rows and tuples, and the
    collections they triggered were a tenth of a second of a million-carrier reconciliation."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class ReadsRefused(DomainError):
    """`LiveIngest.flush` refused some reads but stored every other read of the chunk (`result`). It is a
    DomainError so a screen that shows a refused scan keeps doing so; unlike other errors here, something was
    written, and `result.refused` names each refused read with its own reason."""

    def __init__(self, result: IngestResult) -> None:
        first, more = result.refused[0], len(result.refused) - 1
        en, zh = first.en, first.zh
        if more:
            en += f" (and {more} more read(s) refused; {result.added} stored)"
            zh += f"（另有 {more} 条被拒绝；已保存 {result.added} 条）"
        super().__init__(en, zh)
        self.result = result


class LiveIngest:
    """Reads from a live driver (or a keyboard-wedge scanner typed into a screen) for one device and batch: numbers
    them, and stores every `flush_every` reads or on `flush()`. Resuming after a crash continues the numbering."""

    def __init__(self, store: Any, actor: Signed, sid: int, device: str, batch: str,
                 flush_every: int = 1) -> None:
        self.store, self.actor, self.sid, self.device, self.batch = store, actor, sid, device, batch
        self.flush_every = flush_every
        with store.uow(readonly=True) as uow:
            last = uow.session.execute(select(func.max(StocktakeRead.seq)).join(
                StocktakeBatch, StocktakeBatch.id == StocktakeRead.batch_id).where(
                StocktakeRead.session_id == sid, StocktakeBatch.device == device,
                StocktakeBatch.batch == batch)).scalar_one_or_none()
        self.next_seq = int(last or 0) + 1
        self.pending: list[RawRead] = []

    def add(self, read: Read) -> IngestResult | None:
        code = read.code.strip().upper()
        kind = "epc" if read.kind is ReadKind.EPC else "barcode"
        self.pending.append((self.device, self.batch, self.next_seq, kind, code, to_us(read.at), read.rssi,
                             read.antenna))
        self.next_seq += 1
        if len(self.pending) >= self.flush_every:
            return self.flush()
        return None

    def flush(self) -> IngestResult:
        """Store the pending reads: every acceptable one, whatever the others are. Raises `ReadsRefused` (after
        storing) when some were refused. A refused read's number stays unused where later reads were stored, so a
        gap in a batch marks exactly where the counter refused a scan; trailing refused numbers are reused, as a
        restart would. When nothing could be stored (the database is unavailable), the reads stay pending for the
        next flush instead of being dropped."""
        pending, self.pending = self.pending, []
        if not pending:
            return IngestResult(0, 0, 0)
        unfit = [RefusedRead(d, b, seq, code, f"{d}/{b} read {seq}: {why[0]}", f"{d}/{b} 第 {seq} 条：{why[1]}")
                 for d, b, seq, _kind, code, *_rest in pending if (why := unreadable(code)) is not None]
        fit = [r for r in pending if r[2] not in {u.seq for u in unfit}] if unfit else pending
        try:
            result = (ingest(self.store.uow(), self.actor, self.sid, fit, refuse_each=True) if fit
                      else IngestResult(0, 0, 0))
        except Exception:
            self.pending = pending + self.pending
            raise
        if unfit:  # the text policy's refusals join the rules' (tracker.text): a code no column holds, ESC…
            result = replace(result, refused=tuple(sorted((*result.refused, *unfit), key=lambda r: r.seq)))
        if result.refused:
            refused = {r.seq for r in result.refused}
            kept = [r[2] for r in pending if r[2] not in refused]
            self.next_seq = max(kept, default=pending[0][2] - 1) + 1
            raise ReadsRefused(result)
        return result
