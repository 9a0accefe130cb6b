"""Running reconciliation's two passes over the bulk by code range in parts, and the temporary tables they use.

The two passes over a million rows (the per-code fold of the reads, then the snapshot against it) take most of a
reconciliation; on a SQLite file they run in parts by code range, at most `PARALLEL`, each on a worker thread with
its own connection filling an in-memory database of its own, which the reconciling connection then attaches
(`_Parts`). On PostgreSQL they are one statement on the reconciling connection (`_FOLD_JOINED`). It owns the
parts, their SQL and the temporary-table helpers; it must never decide a finding (that is
`tracker.stocktake.reconcile`) and never commit.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from tracker.store import attach_for_transaction, sqlite_file

_TEMP_COLUMNS = {
    "st_other": "batch_id INTEGER, seq INTEGER, kind VARCHAR(8), code VARCHAR(64), at_us BIGINT, "
                "rssi DOUBLE PRECISION, antenna INTEGER, loc_id INTEGER, holder_id INTEGER",
    "st_bc": "code VARCHAR(64) PRIMARY KEY, n INTEGER, lo INTEGER, hi INTEGER, bid INTEGER, seq INTEGER",
    "st_epc": "subj VARCHAR(64), carrier_id INTEGER, raw VARCHAR(64)",
    "st_cx": "subj VARCHAR(64) PRIMARY KEY",
    "st_sight": "subj VARCHAR(64), carrier_id INTEGER, raw VARCHAR(64), kind VARCHAR(8), loc_id INTEGER, "
                "holder_id INTEGER, device VARCHAR(64), n INTEGER, peak DOUBLE PRECISION, first_us BIGINT, "
                "last_us BIGINT, last_seq INTEGER, batch_id INTEGER",
    "st_place": "subj VARCHAR(64), carrier_id INTEGER, n INTEGER, loc_id INTEGER, holder_id INTEGER, "
                "method VARCHAR(8), ambiguous INTEGER, peak DOUBLE PRECISION, rf_places INTEGER",
    "st_e": "carrier_id INTEGER, n INTEGER, lo INTEGER, hi INTEGER, found INTEGER",
    "st_j": "code VARCHAR(64), n INTEGER, lo INTEGER, hi INTEGER, bid INTEGER, seq INTEGER, carrier_id INTEGER, "
            "found INTEGER",
    "st_mx": "code VARCHAR(64)",
    "st_x": "carrier_id INTEGER, n INTEGER, lo INTEGER, hi INTEGER",
    "st_visit": "loc_id INTEGER",
    "st_hvisit": "holder_id INTEGER",
}


# Keyed work tables are clustered on their key on SQLite (one B-tree instead of a table plus an index).
_CLUSTERED = ("st_bc", "st_cx")


def analyze(session: Session, table: str, columns: str = "") -> None:
    """PostgreSQL plans with table statistics: a table just filled (or a temporary one, which autovacuum never
    sees) looks empty to the planner, which then picks nested loops that scan it once per row. SQLite's planner
    uses the indexes and needs nothing here. `columns` ("(a, b)") limits the statistics to those the plans use."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {table} {columns}"))


def _create_sql(name: str, sqlite: bool, p: str = "") -> tuple[str, str]:
    """DROP and CREATE of a typed work table: temporary, or in the attached database a `_Part.p` prefix names."""
    table = p + name
    kind = "TABLE" if p else "TEMPORARY TABLE"
    suffix = " WITHOUT ROWID" if name in _CLUSTERED and sqlite else ""
    return f"DROP TABLE IF EXISTS {table}", f"CREATE {kind} {table} ({_TEMP_COLUMNS[name]}){suffix}"


def _create_temp(session: Session, name: str) -> None:
    for sql in _create_sql(name, session.get_bind().dialect.name == "sqlite"):
        session.execute(text(sql))


def _temp(session: Session, name: str, select_sql: str, params: dict[str, Any]) -> None:
    """A typed temporary work table (typed, so SQLite's joins on it can use an index) filled by one INSERT … SELECT."""
    _create_temp(session, name)
    session.execute(text(f"INSERT INTO {name} {select_sql}"), params)
    analyze(session, name)


def _drop_temps(session: Session) -> None:
    for name in _TEMP_COLUMNS:
        session.execute(text(f"DROP TABLE IF EXISTS {name}"))


# A place key is the location id, or minus the holder's id: one integer per read, so MIN = MAX says "one place".
_PLACE_KEY = "CASE WHEN loc_id IS NOT NULL THEN loc_id ELSE -holder_id END"


# Pass 1 over the bulk, people's scans of printed codes, by code range in parts (`_Part`): per code, how often and
# between which place keys, and the key (batch, seq) of its read when it was read once. SQLite folds each read into
# its code's row (an upsert into a table clustered on the code), which costs one B-tree probe a read where GROUP BY
# would first sort a million codes. A code read in one place only by people — the bulk of a stock-take — is placed
# right here. PostgreSQL (which refuses an upsert that touches one row twice) hashes a GROUP BY: `_FOLD_JOINED`.
_BARCODES_SQLITE = f"""
INSERT INTO {{p}}st_bc (code, n, lo, hi, bid, seq)
SELECT code, 1, {_PLACE_KEY}, {_PLACE_KEY}, batch_id, seq FROM stocktake_reads
WHERE session_id = :s AND kind = 'barcode'{{codes}} AND 1 = 1
ON CONFLICT (code) DO UPDATE SET n = st_bc.n + 1, lo = MIN(st_bc.lo, excluded.lo), hi = MAX(st_bc.hi, excluded.hi)
"""  # noqa: S608 (module constants only)


# Pass 2 of a part, over the snapshot carriers whose codes are in its range, in the snapshot's key order (the unary
# plus keeps SQLite off the code index, which would fetch each row again by key): how the carrier's code was read,
# and whether that makes it found — read by people exactly where the register has it, and nowhere else. Carriers
# found with one read, the bulk, are left out: they are the snapshot carriers that end up without a finding. Kept:
# the carriers not found (a few per cent), and those found with several reads, whose count is stored.
_SNAPSHOT_PASS = """
INSERT INTO {p}st_e (carrier_id, n, lo, hi, found)
SELECT carrier_id, n, lo, hi, found FROM (
  SELECT e.carrier_id, q.n, q.lo, q.hi,
         CASE WHEN q.lo = q.hi AND q.lo = COALESCE(e.loc_id, -e.holder_id) THEN 1 ELSE 0 END AS found
  FROM stocktake_expected e LEFT JOIN {p}st_bc q ON q.code = e.code
  WHERE e.session_id = :s{codes}) y
WHERE found = 0 OR n > 1
"""


# PostgreSQL does both passes in one statement: the reads of printed codes, the snapshot's codes and the codes RFID
# heard (st_epc: subjects and raw EPCs), appended, are folded per code in one hash table, and only the codes that
# are not the plain case are kept. The plain case is two rows, a snapshot carrier's and its one read, exactly where
# the register has it; a code RFID heard has a third row, a code outside the snapshot no carrier id. What stays (a
# few per cent: carriers not found or read several times, codes outside the snapshot, codes RFID heard, whose single
# read the sightings fetch by its key) is all the later steps read of st_bc and st_e, which are filled from it.
# Measured at a million carriers × a million reads, on a machine loaded 3-5 by other work: written apart as on SQLite
# (a GROUP BY … ORDER BY code into st_bc, sorted on disk under the server's collation and keyed row by row through
# the small temporary buffers, then the snapshot hash-joined to all of it) the two passes took 5.0-5.6 s. In server
# CPU, the selects alone side by side: the fold of the reads hash-joined to the snapshot 1.65 s, this single fold
# 1.36 s, a bare scan of both tables 0.23 s. Its hash table takes about 230 MB
# (`tracker.stocktake.reconcile.server_settings`): under the server's default work_mem it would spill to disk.
_FOLD_JOINED = f"""
INSERT INTO st_j (code, n, lo, hi, bid, seq, carrier_id, found)
SELECT code, NULLIF(n, 0), lo, hi, bid, seq, carrier_id, found FROM (
  SELECT code, COUNT(bid) AS n, COUNT(*) AS arms, MIN(pk) AS lo, MAX(pk) AS hi, MIN(bid) AS bid, MIN(seq) AS seq,
         MAX(carrier_id) AS carrier_id, CASE WHEN MIN(pk) = MAX(pk) AND MIN(pk) = MAX(ek) THEN 1 ELSE 0 END AS found
  FROM (SELECT code, {_PLACE_KEY} AS pk, batch_id AS bid, seq, NULL AS carrier_id, NULL AS ek
        FROM stocktake_reads WHERE session_id = :s AND kind = 'barcode'
        UNION ALL
        SELECT code, NULL, NULL, NULL, carrier_id, COALESCE(loc_id, -holder_id)
        FROM stocktake_expected WHERE session_id = :s
        UNION ALL SELECT subj, NULL, NULL, NULL, NULL, NULL FROM st_epc
        UNION ALL SELECT raw, NULL, NULL, NULL, NULL, NULL FROM st_epc) u
  GROUP BY code) g
WHERE NOT (arms = 2 AND n = 1 AND found = 1)
"""  # noqa: S608 (module constants only)


_FROM_JOINED = {
    "st_bc": "INSERT INTO st_bc (code, n, lo, hi, bid, seq) SELECT code, n, lo, hi, bid, seq FROM st_j "
             "WHERE n IS NOT NULL",
    "st_e": "INSERT INTO st_e (carrier_id, n, lo, hi, found) SELECT carrier_id, n, lo, hi, found FROM st_j "
            "WHERE carrier_id IS NOT NULL AND (found = 0 OR n > 1)",
}


# The subjects that need the detailed placement: printed codes seen in several places, and whatever RFID saw.
_MULTI_PLACE = "INSERT INTO {p}st_mx (code) SELECT code FROM {p}st_bc WHERE lo <> hi"


# SQLite settings of a reconciling connection: page caches of 256 MiB and a memory map of up to 1 GiB.
_SQLITE_SIZES = {"main.cache_size": -262144, "temp.cache_size": -262144, "mmap_size": 1 << 30}


@contextmanager
def _sized(raw: Any) -> Iterator[None]:
    """The work tables of a big stock-take fit in memory: nothing is written to a temp file or spilled to the WAL
    before commit. The snapshot and the reads are read through a memory map instead of being copied page by page
    into the cache (measured: a few tenths of a second at a million). The connection's own settings come back
    afterwards, whatever happens (it goes back to the pool). A database in memory has no memory map to set."""
    saved: dict[str, int] = {}
    for p, size in _SQLITE_SIZES.items():
        row = raw.execute(f"PRAGMA {p}").fetchone()
        if row is not None:
            saved[p] = int(row[0])
            raw.execute(f"PRAGMA {p} = {size}")
    try:
        yield
    finally:
        for p, size in saved.items():
            raw.execute(f"PRAGMA {p} = {size}")


# The two passes over a million rows (the per-code fold of the reads, then the snapshot against it) take most of a
# reconciliation; on a SQLite file they run in parts by code range, at most `PARALLEL`, each on a worker thread
# with its own connection writing into an in-memory database of its own. A part has at least PART_CARRIERS
# snapshot carriers, so a small stock-take runs in one part, on one worker.
PART_CARRIERS = 200_000


PARALLEL = max(1, min(os.cpu_count() or 1, 4))  # parts at most: one per core, and a few


def parts_for(carriers: int) -> int:
    """How many parts a SQLite-file reconciliation of a snapshot this size runs in."""
    return max(1, min(PARALLEL, carriers // PART_CARRIERS))


@dataclass(frozen=True)
class _Part:
    """Codes in [low, high), and the schema their work tables (st_bc, st_mx and st_e) are in:
    "" for temporary tables of the reconciling connection (PostgreSQL, or a SQLite database no other connection can
    open), else the alias of an in-memory database (`file:/…?vfs=memdb`, shared by the connections of this process
    that attach it)."""

    schema: str = ""
    low: str | None = None
    high: str | None = None

    @property
    def p(self) -> str:
        return f"{self.schema}." if self.schema else ""

    @property
    def uri(self) -> str:
        return f"file:/tracker-{self.schema}?vfs=memdb"

    def codes(self, column: str) -> str:
        return (f" AND {column} >= :low" if self.low is not None else "") + \
            (f" AND {column} < :high" if self.high is not None else "")

    def fill(self, execute: Callable[[str, dict[str, Any]], Any], sid: int, sqlite: bool,
             after: Callable[[str], None] = lambda _table: None) -> None:
        """Create and fill this part's st_bc (the fold), st_mx (codes read in several places, picked out here so
        the reconciling connection does not scan st_bc for them) and st_e (the snapshot pass). On PostgreSQL both
        passes are one statement into st_j (`_FOLD_JOINED`), and st_bc holds only the codes it kept."""
        params = {"s": sid, "low": self.low, "high": self.high}
        for name in ("st_bc", "st_mx", "st_e"):
            for sql in _create_sql(name, sqlite, self.p):
                execute(sql, {})
        if not sqlite:  # one part, on the reconciling connection, after the RFID subjects (st_epc) are known
            for sql in _create_sql("st_j", sqlite):
                execute(sql, {})
            execute(_FOLD_JOINED, params)
            for name in ("st_bc", "st_e"):
                execute(_FROM_JOINED[name], {})
                after(name)
            execute(_MULTI_PLACE.format(p=self.p), {})
            return
        execute(_BARCODES_SQLITE.format(p=self.p, codes=self.codes("code")), params)
        after("st_bc")
        execute(_MULTI_PLACE.format(p=self.p), {})
        execute(_SNAPSHOT_PASS.format(p=self.p, codes=self.codes("+e.code")), params)
        after("st_e")


def _each(template: str, parts: Sequence[_Part]) -> list[str]:
    return [template.format(p=part.p) for part in parts]


class _Parts:
    """The parts of one reconciliation, started on entry so the reconciling connection does its own small steps
    meanwhile; `done` hands them over attached to that connection. Workers read what is committed (WAL readers take
    no lock) while the reconciling transaction holds the write lock, so nothing can commit under them."""

    def __init__(self, session: Session, sid: int, expected: int) -> None:
        self.session, self.sid, self.expected = session, sid, expected
        bind = session.get_bind()
        self.engine = bind if isinstance(bind, Engine) else bind.engine
        self.parts: list[_Part] = []
        self.workers: list[Any] = []
        self.pool: ThreadPoolExecutor | None = None
        self.futures: list[Future[None]] = []

    def __enter__(self) -> _Parts:
        session, sid = self.session, self.sid
        sqlite = self.engine.dialect.name == "sqlite"
        if not sqlite_file(self.engine):
            part = _Part()
            part.fill(lambda sql, params: session.execute(text(sql), params), sid, sqlite,
                      lambda table: analyze(session, table))
            self.parts = [part]
            return self
        n = self.expected
        count = parts_for(n)
        # Bounds at even steps of the snapshot's codes: read codes outside the snapshot fall in some range too.
        bounds: list[str | None] = [None]
        for k in range(1, count):
            code = session.execute(text(
                "SELECT code FROM stocktake_expected WHERE session_id = :s ORDER BY code LIMIT 1 OFFSET :k"),
                {"s": sid, "k": n * k // count}).scalar()
            if code is not None and code != bounds[-1]:
                bounds.append(code)
        bounds.append(None)
        token = secrets.token_hex(6)
        self.parts = [_Part(f"rc_{token}_{k}", bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1)]
        self.pool = ThreadPoolExecutor(max_workers=len(self.parts), thread_name_prefix="reconcile")
        self.futures = [self.pool.submit(self._work, part) for part in self.parts]
        return self

    def _work(self, part: _Part) -> None:
        raw = self.engine.raw_connection()
        self.workers.append(raw)  # list.append is atomic: closed by __exit__ whatever happens here
        con: Any = raw.driver_connection
        con.execute(f"ATTACH DATABASE ? AS {part.schema}", (part.uri,))
        with _sized(con):
            con.execute("BEGIN")
            try:
                part.fill(con.execute, self.sid, True)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def done(self) -> Iterator[_Part]:
        """The parts in code order as each is done, attached to the reconciling connection, so it copies one part's
        results while later workers still run. Code order, not the order they finish: codes follow registration,
        so what reaches `stocktake_found` arrives in key order, appended."""
        if not self.futures:  # one part, on the reconciling connection: already done
            yield from self.parts
            return
        for part, future in zip(self.parts, self.futures, strict=True):
            future.result()
            attach_for_transaction(self.session, part.schema, part.uri)
            yield part

    def __exit__(self, *_exc: object) -> None:
        """Worker connections go back to the pool with their database detached: once the reconciling connection has
        attached it, it lives until that connection is checked in."""
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        for raw in self.workers:
            try:
                for _seq, name, _file in raw.driver_connection.execute("PRAGMA database_list").fetchall():
                    if name.startswith("rc_"):
                        raw.driver_connection.execute(f"DETACH DATABASE {name}")
            finally:
                raw.close()
