"""The bulk writer of stock-take reads: raw reads cut into per-batch columns and stretches, keys already stored
dropped, and rows inserted with the statement shapes measured fastest on SQLite (plain INSERTs, grouped rows,
stretches of one code) or copied on PostgreSQL.

It owns only how rows reach `stocktake_reads`; deciding which reads are acceptable and where each was taken is
`tracker.stocktake.ingest`'s. Its docstrings record the measurements behind each choice: keep them, and run
`bench/bench_stocktake.py` before changing anything here. It must never commit (the caller's unit of work does).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, groupby, repeat
from operator import itemgetter
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from tracker.domain import DomainError
from tracker.prepared import driver
from tracker.schema_stocktake import (
    StocktakeBatch,
)
from tracker.stocktake.upload import RawRead
from tracker.store import UnitOfWork


def _err(en: str, zh: str) -> DomainError:
    return DomainError(en, zh)


_COLUMNS = ("session_id", "batch_id", "seq", "kind", "code", "at_us", "rssi", "antenna", "loc_id", "holder_id")


# A stored row as ingest builds it: every column but the session's id, which is the same for the whole ingest and is
# bound once per statement rather than once per read.
Row = tuple[int, int, str, str, int | None, float | None, int | None, int | None, int | None]


_BATCH_OF = itemgetter(0, 1)


class _Stretch:
    """Carrier reads of one batch scanned one after another in one place, with no RSSI or antenna: the bulk of a
    handheld upload. They travel from the parser to the writer as the column slices they already are, so the hot
    path never builds a row tuple per read only to take it apart again."""

    __slots__ = ("ats", "bid", "codes", "holder", "kinds", "loc", "seqs")

    def __init__(self, bid: int, loc: int | None, holder: int | None, seqs: Sequence[int], kinds: Sequence[str],
                 codes: Sequence[str], ats: Sequence[int | None]) -> None:
        self.bid, self.loc, self.holder = bid, loc, holder
        self.seqs, self.kinds, self.codes, self.ats = seqs, kinds, codes, ats

    def __len__(self) -> int:
        return len(self.seqs)

    def part(self, lo: int, hi: int) -> _Stretch:
        return _Stretch(self.bid, self.loc, self.holder, self.seqs[lo:hi], self.kinds[lo:hi], self.codes[lo:hi],
                        self.ats[lo:hi])

    def rows(self) -> Iterator[Row]:
        return zip(repeat(self.bid), self.seqs, self.kinds, self.codes, self.ats, repeat(None), repeat(None),
                   repeat(self.loc), repeat(self.holder))


Piece = Row | _Stretch


def _rows(pieces: list[Piece]) -> list[Row]:
    out: list[Row] = []
    for p in pieces:
        if isinstance(p, _Stretch):
            out.extend(p.rows())
        else:
            out.append(p)
    return out


def _split(pieces: list[Piece], size: int) -> tuple[list[Piece], list[Piece]]:
    """The first `size` reads of `pieces` and the rest, cutting a stretch where the boundary falls in it."""
    taken = 0
    for k, p in enumerate(pieces):
        n = len(p) if isinstance(p, _Stretch) else 1
        if taken + n >= size:
            if taken + n == size:
                return pieces[:k + 1], pieces[k + 1:]
            assert isinstance(p, _Stretch)
            cut = size - taken
            return [*pieces[:k], p.part(0, cut)], [p.part(cut, n), *pieces[k + 1:]]
        taken += n
    return pieces, []


class _Batches:
    """(device, batch) → batch id for one session; new batches are created in bulk, and only batches that existed
    before this ingest can already hold reads (so only they are checked for duplicates or resumed)."""

    def __init__(self, uow: UnitOfWork, sid: int) -> None:
        self.uow, self.sid = uow, sid
        self.ids: dict[tuple[str, str], int] = {
            (str(d), str(b)): int(i) for i, d, b in uow.session.execute(select(
                StocktakeBatch.id, StocktakeBatch.device, StocktakeBatch.batch).where(
                StocktakeBatch.session_id == sid))}
        self.old = set(self.ids.values())

    def create(self, keys: Iterable[tuple[str, str]]) -> None:
        new = sorted({k for k in keys if k not in self.ids})
        for device, batch in new:
            if not device or not batch or len(device) > 64 or len(batch) > 64:
                raise _err(f"Device and batch ids are 1–64 characters ({device!r}, {batch!r}).",
                           f"设备号和批次号须为 1–64 个字符（{device!r}，{batch!r}）。")
        if not new:
            return
        ins = sqlite.insert(StocktakeBatch) if self.uow.dialect == "sqlite" else postgresql.insert(StocktakeBatch)
        self.uow.session.execute(ins.on_conflict_do_nothing(index_elements=["session_id", "device", "batch"]),
                                 [{"session_id": self.sid, "device": d, "batch": b} for d, b in new])
        wanted = set(new)
        rows = self.uow.session.execute(select(StocktakeBatch.id, StocktakeBatch.device, StocktakeBatch.batch)
                                        .where(StocktakeBatch.session_id == self.sid))
        for i, d, b in rows:
            key = (str(d), str(b))
            if key in wanted:
                self.ids[key] = int(i)

    def get(self, device: str, batch: str) -> int:
        key = (device, batch)
        if key not in self.ids:
            self.create([key])
        return self.ids[key]


# A run's reads as columns: seq, kind, code, time, rssi, antenna.
Columns = tuple[Sequence[Any], ...]


Run = tuple[tuple[str, str], Columns]


_ZIP_LIMIT = 4096


def _columns(run: Sequence[RawRead]) -> Columns:
    """A run's reads as columns. `zip(*run)` transposes a run of a few thousand reads fastest, but slows down badly
    on a huge one (a million iterators in lockstep), which is transposed a column at a time instead."""
    if len(run) > _ZIP_LIMIT:
        return tuple(list(map(itemgetter(k), run)) for k in range(2, 8))
    _, _, *cols = zip(*run, strict=True)
    return tuple(cols)


def _runs(reads: Iterable[RawRead], batches: _Batches) -> Iterable[Run]:
    """The input cut into runs of one (device, batch), each as columns (no per-read Python: the cut, its count and
    the transposition run in C). All new batches of a list are created with one statement; a stream is cut as it
    comes."""
    cut = ((key, _columns(list(group))) for key, group in groupby(reads, key=_BATCH_OF))
    if not isinstance(reads, list | tuple):
        return cut
    runs = list(cut)
    batches.create(key for key, _ in runs)
    return runs


# Rows per INSERT on SQLite: the session id is bound once (?1) and each row adds 9 parameters, so a statement stays
# under 999, the oldest limit on parameters. SQLite then parses, binds and resets once per group instead of per read.
_GROUP = 110


_INSERT = f"INSERT INTO stocktake_reads ({', '.join(_COLUMNS)}) VALUES "  # noqa: S608 (fixed columns)


_ROW = "(?1" + ", ?" * (len(_COLUMNS) - 1) + ")"


_INSERT_ONE = _INSERT + _ROW


_INSERT_GROUP = _INSERT + ", ".join([_ROW] * _GROUP)


# Most reads are carrier codes scanned one after another in one batch and one place, with no RSSI or antenna: such
# a stretch binds its batch, place and holder once (?2-?4) and four values per read, half the binding work of a
# general row. Stretches go in statements of these sizes (largest first), so only a handful of statements exist.
_STRETCH_SIZES = (128, 64, 32, 16, 8, 4, 2, 1)


_INSERT_STRETCH = {
    n: _INSERT + ", ".join(f"(?1, ?2, ?{5 + 4 * k}, ?{6 + 4 * k}, ?{7 + 4 * k}, ?{8 + 4 * k}, NULL, NULL, ?3, ?4)"
                           for k in range(n))
    for n in _STRETCH_SIZES}


# A stretch numbered without gaps and of one kind (a handheld's usual batch) also binds its first number and its kind
# once (?5, ?6): two values per read, its code and time.
_INSERT_EVEN = {
    n: _INSERT + ", ".join(f"(?1, ?2, ?5 + {k}, ?6, ?{7 + 2 * k}, ?{8 + 2 * k}, NULL, NULL, ?3, ?4)" for k in range(n))
    for n in _STRETCH_SIZES}


_STRETCH_KEY = itemgetter(0, 5, 6, 7, 8)  # batch, rssi, antenna, place, holder


def _cuts(size: int) -> Iterator[tuple[int, int]]:
    """Where the statements of a stretch of `size` reads start and how many reads each takes: `_STRETCH_SIZES`,
    largest first."""
    i = 0
    for n in _STRETCH_SIZES:
        while size - i >= n:
            yield i, n
            i += n


def _cut_stretch(execute: Any, head: tuple[Any, ...], seqs: Sequence[int], kinds: Sequence[str],
                 codes: Sequence[str], ats: Sequence[int | None]) -> None:
    """Insert one stretch, each statement with the stretch's `head` (session, batch, place, holder). Its reads'
    values are interleaved by slice assignments, in C."""
    size = len(seqs)
    if seqs[-1] - seqs[0] == size - 1 and kinds.count(kinds[0]) == size:  # seqs only ever increase
        flat: list[Any] = [None] * (2 * size)
        flat[0::2], flat[1::2] = codes, ats
        first, kind = seqs[0], kinds[0]
        for i, n in _cuts(size):
            execute(_INSERT_EVEN[n], (*head, first + i, kind, *flat[2 * i:2 * (i + n)]))
        return
    flat = [None] * (4 * size)
    flat[0::4], flat[1::4], flat[2::4], flat[3::4] = seqs, kinds, codes, ats
    for i, n in _cuts(size):
        execute(_INSERT_STRETCH[n], (*head, *flat[4 * i:4 * (i + n)]))


class _Writer:
    """Bulk insert of read rows, after dropping keys already stored and checking that each holds the same read (the
    same batch id reused for different reads would otherwise lose scans)."""

    def __init__(self, uow: UnitOfWork, sid: int, batches: _Batches) -> None:
        self.uow, self.sid, self.batches = uow, sid, batches
        self.dialect = uow.dialect
        self.added = 0
        self.duplicates = 0

    def write(self, pieces: list[Piece]) -> None:
        if self.dialect == "sqlite" and not self.batches.old:  # nothing stored before: no keys to drop
            self.added += self._insert(pieces)
            return
        rows = self._drop_known(_rows(pieces))
        if not rows:
            return
        added = self._insert(rows) if self.dialect == "sqlite" else self._copy(rows)
        self.added += added
        self.duplicates += len(rows) - added

    def _insert(self, pieces: Sequence[Piece]) -> int:
        """SQLite: plain INSERTs, no ON CONFLICT. Nothing can collide: keys already stored were dropped above, the
        input's own keys are strictly increasing per batch, and BEGIN IMMEDIATE keeps other writers out until commit
        (a collision would still fail the whole ingest, never skip a read).

        Statements run in the input's order, which is key order (batch ids are handed out in the order batches first
        appear), one `execute` each on the driver's cursor: every read then lands at the right-hand edge of the
        table's B-tree, on pages still in the cache. Grouping them by statement shape for `executemany` instead
        made each later shape insert between rows already written, re-reading pages the cache had spilled. Measured
        at a million reads: a quarter less SQLite time in a micro-benchmark; the benchmark's whole ingest took a
        median of 3.22 s against 3.48 s over 12 alternating runs (the driver's `execute` costs a few microseconds a
        statement; SQLAlchemy's would cost tens)."""
        d = driver(self.uow.session)
        execute = d.dbapi.cursor().execute
        try:
            return self._insert_pieces(execute, pieces)
        except d.dialect.loaded_dbapi.Error as e:  # wrapped as SQLAlchemy wraps it, for callers' error handling
            raise DBAPIError.instance("INSERT INTO stocktake_reads", None, e, d.dialect.loaded_dbapi.Error) from e

    def _insert_pieces(self, execute: Any, pieces: Sequence[Piece]) -> int:
        sid = self.sid
        rows: list[Row] = []
        total = 0
        for p in pieces:
            if not isinstance(p, _Stretch):
                rows.append(p)
                continue
            if rows:
                self._insert_rows(execute, rows)
                total += len(rows)
                rows = []
            total += len(p)
            _cut_stretch(execute, (sid, p.bid, p.loc, p.holder), p.seqs, p.kinds, p.codes, p.ats)
        if rows:
            self._insert_rows(execute, rows)
            total += len(rows)
        return total

    def _insert_rows(self, execute: Any, rows: list[Row]) -> None:
        """Rows that came one by one: those of one batch and place without RSSI or antenna go as a stretch, the
        others (RFID reads) `_GROUP` to a statement. A handful (most often the one place scan between two stretches)
        go one statement each: sorting them into stretches would cost several times more (28 µs a place scan, 10,000
        place scans in the benchmark's million reads)."""
        if len(rows) < 4:
            self._insert_loose(execute, rows)
            return
        sid = self.sid
        loose: list[Row] = []
        for (bid, rssi, antenna, loc, holder), group in groupby(rows, key=_STRETCH_KEY):
            if rssi is not None or antenna is not None:
                loose.extend(group)
                continue
            if loose:
                self._insert_loose(execute, loose)
                loose = []
            g = list(group)
            _cut_stretch(execute, (sid, bid, loc, holder), *(list(map(itemgetter(k), g)) for k in (1, 2, 3, 4)))
        if loose:
            self._insert_loose(execute, loose)

    def _insert_loose(self, execute: Any, loose: list[Row]) -> None:
        sid = self.sid
        whole = len(loose) - len(loose) % _GROUP
        for i in range(0, whole, _GROUP):
            execute(_INSERT_GROUP, (sid, *chain.from_iterable(loose[i:i + _GROUP])))
        for r in loose[whole:]:
            execute(_INSERT_ONE, (sid, *r))

    def _copy(self, rows: list[Row]) -> int:
        """PostgreSQL: COPY into a staging table, then one INSERT … SELECT … ON CONFLICT DO NOTHING — a row-by-row
        executemany costs a network round trip per read. The conflict clause only matters when another terminal
        stores the same batch at the same moment; the first one wins and this one counts those reads as duplicates."""
        cols = ", ".join(_COLUMNS[1:])
        conn = self.uow.session.connection()
        raw: Any = conn.connection.driver_connection
        if not self.batches.old and self._copy_direct(raw, rows):
            return len(rows)
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE IF NOT EXISTS st_ingest_rows (batch_id INTEGER, seq INTEGER, kind VARCHAR(8), "
            "code VARCHAR(64), at_us BIGINT, rssi DOUBLE PRECISION, antenna INTEGER, loc_id INTEGER, "
            "holder_id INTEGER) ON COMMIT DELETE ROWS")
        conn.exec_driver_sql("TRUNCATE st_ingest_rows")
        with raw.cursor() as cur, cur.copy(f"COPY st_ingest_rows ({cols}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        result: Any = conn.execute(text(
            f"INSERT INTO stocktake_reads ({', '.join(_COLUMNS)}) SELECT :s, {cols} FROM st_ingest_rows "  # noqa: S608
            "ON CONFLICT (session_id, batch_id, seq) DO NOTHING"), {"s": self.sid})
        return int(result.rowcount)

    def _copy_direct(self, raw: Any, rows: list[Row]) -> bool:
        """Batches new to this ingest hold no reads, so theirs go straight into the reads table by COPY — half the
        server's work of the staging path, which writes every read twice. Only another terminal storing the same
        new batch at the same moment can collide (its batch row was created by both, `on_conflict_do_nothing`):
        then this COPY is undone to a savepoint and the staging path counts those reads as duplicates, as before.
        False when it had to be undone."""
        from psycopg.errors import UniqueViolation

        cols = ", ".join(_COLUMNS)
        sid = self.sid
        with raw.cursor() as cur:
            cur.execute("SAVEPOINT st_copy")
            try:
                with cur.copy(f"COPY stocktake_reads ({cols}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row((sid, *r))
            except UniqueViolation:
                cur.execute("ROLLBACK TO SAVEPOINT st_copy")
                return False
            except raw.Error as e:  # wrapped as SQLAlchemy wraps it, for callers' error handling
                raise DBAPIError.instance("COPY stocktake_reads", None, e, raw.Error) from e
            cur.execute("RELEASE SAVEPOINT st_copy")
        return True

    def _drop_known(self, rows: list[Row]) -> list[Row]:
        old = self.batches.old
        if not old:
            return rows
        ranges: dict[int, list[int]] = {}
        for r in rows:
            if r[0] in old:
                span = ranges.get(r[0])
                if span is None:
                    ranges[r[0]] = [r[1], r[1]]
                elif r[1] > span[1]:
                    span[1] = r[1]
        if not ranges:
            return rows
        stored: dict[tuple[int, int], tuple[Any, ...]] = {}
        for bid, (lo, hi) in ranges.items():
            for row in self.uow.session.execute(text(
                    "SELECT seq, kind, code, at_us, rssi, antenna FROM stocktake_reads WHERE session_id = :s "
                    "AND batch_id = :b AND seq BETWEEN :lo AND :hi"), {"s": self.sid, "b": bid, "lo": lo, "hi": hi}):
                stored[(bid, int(row[0]))] = tuple(row[1:])
        if not stored:
            return rows
        names = {i: k for k, i in self.batches.ids.items()}
        fresh = []
        for r in rows:
            before = stored.get((r[0], r[1]))
            if before is None:
                fresh.append(r)
                continue
            if before != (r[2], r[3], r[4], r[5], r[6]):
                device, batch = names[r[0]]
                raise _err(f"{device}/{batch} read {r[1]} was already stored as {before[1]} and now comes as {r[3]}: "
                           "the batch id was reused for different reads. Give this upload its own batch id.",
                           f"{device}/{batch} 第 {r[1]} 条已存为 {before[1]}，现为 {r[3]}：批次号被重复用于不同读取，"
                           "请为本次上传使用新的批次号。")
            self.duplicates += 1
        return fresh
