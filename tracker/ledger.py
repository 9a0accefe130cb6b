"""The custody ledger: append one hash-chained event per state change, and verify the chain end to end.

Each event's hash is SHA-256 over a canonical encoding of all its fields plus the previous event's hash, so changing,
deleting, inserting or reordering any row breaks the chain at a sequence number `verify` can name. Appending locks the
one-row chain head inside the caller's transaction, so concurrent terminals serialise and the chain never forks.
This module never updates or deletes an event; on PostgreSQL a trigger refuses that to anyone else too.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, String, bindparam, column, insert, select, text, update
from sqlalchemy.orm import Session

from tracker.bulk import insert_rows
from tracker.domain import EventType, utc_iso
from tracker.prepared import Pending, Prepared, driver
from tracker.replay import Difference, driver_rows, replay_and_compare, summary
from tracker.schema import ChainHead, Event, Seal, table

GENESIS = "0" * 64
COLUMNS = ("seq", "at", "type", "carrier", "actor", "from_holder", "to_holder", "from_location", "to_location",
           "witness", "approval_id", "terminal", "payload", "prev_hash")


@dataclass(frozen=True)
class EventDraft:
    """What a service wants recorded; the ledger adds sequence, time, terminal and hashes."""

    type: EventType
    carrier: str | None = None
    actor: str | None = None
    from_holder: str | None = None
    to_holder: str | None = None
    from_location: str | None = None
    to_location: str | None = None
    witness: str | None = None
    approval_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def _encoder(**options: Any) -> Callable[[Any], str]:
    """`json.JSONEncoder(**options).encode` with its C encoder built once, not on every call.

    `JSONEncoder.encode` builds a fresh C encoder per document (in `iterencode`), which cost about a third of encoding
    an import's 200,000 small documents, and of hashing a million events in `verify`. This calls the same C function
    with the same options, so the text is the same byte for byte (tests/unit/test_ledger_encoding.py); the one
    difference is that no circular reference is looked for, as ledger documents are trees a service just built (a
    cycle would fail with RecursionError instead of ValueError). Without the C accelerator: the plain `encode`.
    """
    encoder = json.JSONEncoder(**options)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None or encoder.indent is not None:
        return encoder.encode
    strings = json.encoder.encode_basestring_ascii if encoder.ensure_ascii else json.encoder.encode_basestring
    chunks = make(None, encoder.default, strings, None, encoder.key_separator, encoder.item_separator,
                  encoder.sort_keys, encoder.skipkeys, encoder.allow_nan)
    return lambda document: "".join(chunks(document, 0))


_PAYLOAD = _encoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
_FIELDS = _encoder(ensure_ascii=False, separators=(",", ":"))


def canonical_payload(payload: dict[str, Any]) -> str:
    return _PAYLOAD(payload)


def event_hash(fields: Sequence[Any]) -> str:
    """SHA-256 over the JSON array of COLUMNS' values in order (UTF-8, no spaces): the whole canonical form."""
    return hashlib.sha256(_FIELDS(list(fields)).encode()).hexdigest()


class Recorded:
    """Where an appended event landed in the chain (receipts quote it); not an ORM object, so a bulk import of
    100,000 events does not build 100,000 of them. An event appended on PostgreSQL inside a `prepared.batch` block is
    numbered by the server when the batch runs, so its place is read from the statement's result the first time it
    is asked for (after the batch, without another round trip)."""

    __slots__ = ("_hash", "_pending", "_prev_hash", "_seq")

    def __init__(self, seq: int = 0, prev_hash: str = "", hash: str = "",
                 pending: Pending | None = None) -> None:
        self._seq, self._prev_hash, self._hash, self._pending = seq, prev_hash, hash, pending

    def _resolve(self) -> None:
        if self._pending is not None:
            row = self._pending.one()
            self._seq, self._prev_hash, self._hash, self._pending = int(row.seq), str(row.prev_hash), str(row.hash), \
                None

    @property
    def seq(self) -> int:
        self._resolve()
        return self._seq

    @property
    def prev_hash(self) -> str:
        self._resolve()
        return self._prev_hash

    @property
    def hash(self) -> str:
        self._resolve()
        return self._hash

    def __repr__(self) -> str:
        return f"Recorded(seq={self.seq}, prev_hash={self.prev_hash!r}, hash={self.hash!r})"


_HEAD = select(ChainHead.seq, ChainHead.hash).where(ChainHead.id == 1)
# Every state change at the counter appends one event: the head and the one-row insert run on the driver's cursor.
_LOCK_HEAD = Prepared(_HEAD.with_for_update())
_EVENTS = table(Event)
_ROW = (*COLUMNS, "hash")
_INSERT_ONE = Prepared(insert(_EVENTS).values({c: bindparam(c) for c in _ROW}))
_SET_HEAD = Prepared(update(table(ChainHead)).where(table(ChainHead).c.id == 1).values(
    seq=bindparam("seq"), hash=bindparam("hash")))
# On PostgreSQL one event is appended by one statement that locks the head, numbers the event, hashes it and moves
# the head, all on the server: the client sends the canonical text of the event's own fields (`_FIELDS` of every
# column but the first and the last two, without the brackets) and the server wraps it with the sequence number and
# the previous hash exactly as `event_hash` does — `[seq,<fields>,"prev"]`, a hex digest needing no JSON escaping —
# then takes its SHA-256. So the head is never read by the client: a check-out's writes, its event and its COMMIT go
# in one round trip, and the head stays locked only while the server runs the statement and commits, not for a
# round trip to the counter and back (issue 22: with eight counters the head lock held over a round trip was what
# every counter queued for). `verify` recomputes every hash in Python, so a difference between the two encodings
# would show as a broken chain at once (tests/integration/test_ledger_server_hash.py). SQLite, with no round trips to
# save and no data-changing statements in a WITH, runs the two statements above after `_lock_head`.
_APPEND_SERVER = Prepared(text(
    "WITH head AS (SELECT seq, hash FROM chain_head WHERE id = 1 FOR UPDATE), "
    "ev AS (INSERT INTO events (seq, at, type, carrier, actor, from_holder, to_holder, from_location, to_location, "
    "witness, approval_id, terminal, payload, prev_hash, hash) "
    "SELECT head.seq + 1, CAST(:at AS VARCHAR), CAST(:type AS VARCHAR), CAST(:carrier AS VARCHAR), "
    "CAST(:actor AS VARCHAR), CAST(:from_holder AS VARCHAR), CAST(:to_holder AS VARCHAR), "
    "CAST(:from_location AS VARCHAR), CAST(:to_location AS VARCHAR), CAST(:witness AS VARCHAR), "
    "CAST(:approval_id AS INTEGER), CAST(:terminal AS VARCHAR), CAST(:payload AS TEXT), head.hash, "
    "encode(sha256(convert_to('[' || (head.seq + 1) || ',' || CAST(:fields AS TEXT) || ',\"' || head.hash "
    "|| '\"]', 'UTF8')), 'hex') FROM head RETURNING seq, prev_hash, hash) "
    "UPDATE chain_head SET seq = ev.seq, hash = ev.hash FROM ev WHERE chain_head.id = 1 "
    "RETURNING ev.seq, ev.prev_hash, ev.hash").columns(
        column("seq", BigInteger), column("prev_hash", String), column("hash", String)))
_SERVER_COLUMNS = COLUMNS[1:-1]


def _own_fields(d: EventDraft, when: str, terminal: str | None) -> tuple[Any, ...]:
    """An event's own fields in the order of COLUMNS, between its sequence number and the previous hash."""
    return (when, d.type.value, d.carrier, d.actor, d.from_holder, d.to_holder, d.from_location, d.to_location,
            d.witness, d.approval_id, terminal, canonical_payload(d.payload))


class Ledger:
    def __init__(self, session: Session, terminal: str | None) -> None:
        self.session = session
        self.terminal = terminal

    def _lock_head(self) -> tuple[int, str]:
        """Read the chain head under a row lock (columns only: no ORM object to keep in step with the update)."""
        seq, hash_ = _LOCK_HEAD.one(self.session)
        return int(seq), str(hash_)

    def append(self, draft: EventDraft, at: datetime) -> Recorded:
        return self.append_many([draft], at)[0]

    def append_many(self, drafts: Iterable[EventDraft], at: datetime) -> list[Recorded]:
        """Append in order under one head lock; bulk imports hand all their events (100,000 and more) to one call.

        Several rows go as tuples to the driver in multi-row INSERTs (`tracker.bulk`): the events are never loaded
        back into this session, and a parameter dictionary per row (ORM or Core) cost more than hashing it (issue 2).
        """
        when, terminal = utc_iso(at), self.terminal
        drafts = list(drafts)
        if len(drafts) == 1 and driver(self.session).dialect.name == "postgresql":
            own = _own_fields(drafts[0], when, terminal)
            params = dict(zip(_SERVER_COLUMNS, own, strict=True))
            params["fields"] = _FIELDS(list(own))[1:-1]
            return [Recorded(pending=_APPEND_SERVER.send(self.session, params))]
        seq, prev = self._lock_head()
        rows: list[tuple[Any, ...]] = []
        for d in drafts:
            seq += 1
            fields = (seq, *_own_fields(d, when, terminal), prev)
            prev = event_hash(fields)
            rows.append((*fields, prev))
        if len(rows) == 1:
            _INSERT_ONE.execute(self.session, dict(zip(_ROW, rows[0], strict=True)))
        elif rows:
            insert_rows(self.session, _EVENTS, _ROW, rows)
        if rows:
            _SET_HEAD.execute(self.session, {"seq": seq, "hash": prev})
        return [Recorded(r[0], r[13], r[14]) for r in rows]

    def head(self) -> tuple[int, str]:
        seq, hash_ = self.session.execute(_HEAD).one()
        return int(seq), str(hash_)


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    bad_seq: int | None = None
    problem_en: str = ""
    problem_zh: str = ""
    # What the replay found (`tracker.replay`): the first MAX_DIFFERENCES, and how many in all. Empty when the chain
    # is broken (a rewritten ledger implies nothing worth comparing) or when the replay was not asked for.
    differences: tuple[Difference, ...] = ()
    difference_count: int = 0
    replayed: bool = False

    def message(self, lang: str = "en") -> str:
        if self.ok:
            also_en = "; the tables match what it implies" if self.replayed else ""
            also_zh = "；数据表与台账推演结果一致" if self.replayed else ""
            return (f"Ledger intact: {self.checked} events, head {self.head_seq}:{self.head_hash}{also_en}"
                    if lang != "zh" else
                    f"台账完整：共 {self.checked} 条事件，链头 {self.head_seq}:{self.head_hash}{also_zh}")
        return self.problem_zh if lang == "zh" else self.problem_en


def _fail(checked: int, head: tuple[int, str], seq: int, en: str, zh: str) -> VerifyReport:
    return VerifyReport(False, checked, head[0], head[1], seq, en, zh)


def _driver_rows(conn: Connection, sql: str, batch: int = 20000) -> Iterator[tuple[Any, ...]]:
    return driver_rows(conn, sql, "ledger_verify", batch)


@dataclass(frozen=True)
class _Walk:
    """How far a walk over consecutive events got: the next sequence number expected, the last hash, how many
    events checked, the recorded previous hash of the first row (for joining walks), and the first problem."""

    expected: int
    prev: str | None
    checked: int
    first_prev: str | None = None
    fail: tuple[int, str, str] | None = None


def _missing(seq: int, next_seq: int | None) -> tuple[int, str, str]:
    """Event `seq` is absent; `next_seq` is the next one present, when the walk has seen it."""
    if next_seq is None:
        return (seq, f"Event {seq} is missing: the chain jumps from {seq - 1} past it (deleted).",
                f"第 {seq} 条事件缺失：链从 {seq - 1} 处断开（被删除）。")
    return (seq, f"Event {seq} is missing: the chain jumps from {seq - 1} to {next_seq} (deleted).",
            f"第 {seq} 条事件缺失：链从 {seq - 1} 跳到 {next_seq}（被删除）。")


def _unlinked(seq: int) -> tuple[int, str, str]:
    return (seq, f"Event {seq} does not follow event {seq - 1}: a row was inserted, reordered or replaced.",
            f"第 {seq} 条事件与第 {seq - 1} 条不衔接：有记录被插入、调序或替换。")


def _walk(rows: Iterable[tuple[Any, ...]], expected: int, prev: str | None, wanted: dict[int, str],
          progress: Callable[[int], None] | None = None) -> _Walk:
    """Check consecutive events from `expected` on. `prev=None` starts mid-chain: the first row's recorded previous
    hash is taken as given and returned, so the caller can join this walk to the one before it."""
    encode, sha = _FIELDS, hashlib.sha256
    checked, first_prev = 0, None
    for row in rows:
        seq = int(row[0])
        if seq != expected:
            return _Walk(expected, prev, checked, first_prev, _missing(expected, seq))
        if prev is None:
            first_prev = row[13]
        elif row[13] != prev:
            return _Walk(expected, prev, checked, first_prev, _unlinked(seq))
        digest = sha(encode(row[:14]).encode()).hexdigest()
        if digest != row[14]:
            return _Walk(expected, prev, checked, first_prev, (
                seq, f"Event {seq} was altered: its content no longer matches its hash.",
                f"第 {seq} 条事件被篡改：内容与哈希不符。"))
        if seq in wanted and wanted[seq] != digest:
            return _Walk(expected, prev, checked, first_prev, (
                seq, f"Event {seq} does not match the sealed anchor {seq}:{wanted[seq]}.",
                f"第 {seq} 条事件与封存锚点 {seq}:{wanted[seq]} 不符。"))
        prev = digest
        checked += 1
        expected += 1
        if progress is not None and checked % 50000 == 0:
            progress(checked)
    return _Walk(expected, prev, checked, first_prev)


_SELECT_EVENTS = f"SELECT {', '.join(_ROW)} FROM events"  # noqa: S608 (fixed column list)
PARALLEL_FROM = 200_000  # events; below this, starting worker processes costs more than it saves


def _walk_range(url: str, lo: int, hi: int, wanted: dict[int, str]) -> _Walk:
    """One worker's share: events lo..hi on a connection of its own (runs in a separate process)."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            sql = f"{_SELECT_EVENTS} WHERE seq BETWEEN {int(lo)} AND {int(hi)} ORDER BY seq"
            walk = _walk(_driver_rows(conn, sql), lo, None, wanted)
    finally:
        engine.dispose()
    if walk.fail is None and walk.expected <= hi:
        n = walk.expected
        return _Walk(n, walk.prev, walk.checked, walk.first_prev, _missing(n, None))
    return walk


def _walk_parallel(conn: Connection, last_seq: int, wanted: dict[int, str], workers: int, chunk: int,
                   progress: Callable[[int], None] | None) -> _Walk:
    """The same walk split into ranges checked by worker processes and joined in order.

    Each row carries its predecessor's hash, so a range can be checked without the ones before it; joining compares
    each range's first recorded previous hash with the hash the range before it ended on. The first problem in
    sequence order is reported, exactly as the single walk would."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    url = conn.engine.url.render_as_string(hide_password=False)
    ranges = [(lo, min(lo + chunk - 1, last_seq)) for lo in range(1, last_seq + 1, chunk)]
    expected, prev, checked = 1, GENESIS, 0
    prev_: str | None = prev
    # forkserver: workers fork from a clean single-threaded server, never from the TUI's threads
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tracker.ledger"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        for (lo, _hi), part in zip(ranges, pool.map(_walk_range, [url] * len(ranges), *zip(*ranges, strict=True),
                                                    [wanted] * len(ranges)), strict=True):
            if part.first_prev is not None and part.first_prev != prev_:
                return _Walk(expected, prev_, checked, None, _unlinked(lo))
            checked += part.checked
            if part.fail is not None:
                return _Walk(part.expected, part.prev, checked, None, part.fail)
            expected, prev_ = part.expected, part.prev
            if progress is not None:
                progress(checked)
    return _Walk(expected, prev_, checked)


def _snapshot(conn: Connection) -> None:
    """Read the chain and the tables in one snapshot, so a check-out committed meanwhile is not a difference:
    PostgreSQL at REPEATABLE READ; SQLite in a deferred (read) transaction, which in WAL mode is a snapshot and,
    unlike the store's BEGIN IMMEDIATE, does not hold the counters' write lock for the length of the walk. A caller
    whose transaction is already open keeps its own."""
    if conn.in_transaction():
        return
    if conn.dialect.name == "postgresql":
        conn.execution_options(isolation_level="REPEATABLE READ")
    else:
        conn.execution_options(tracker_readonly=True)


def verify(conn: Connection, anchors: Sequence[tuple[int, str]] = (),
           progress: Callable[[int, int], None] | None = None, workers: int | None = None,
           chunk: int = 125_000, replay: bool = True) -> VerifyReport:
    """Walk the whole chain in sequence order and name the first event that breaks it; then replay the chain into
    the state it implies and name every way the tables differ from it (`tracker.replay`).

    Anchors (from `seal`, on paper or in the seals table) prove the chain still passes through an earlier head even if
    someone rewrote everything after it and recomputed every hash. A long chain on a database other processes can
    open (a file or a server) is checked by `workers` processes (default: one per core), in ranges of `chunk` events.
    """
    _snapshot(conn)
    head_row = conn.execute(_HEAD).one()
    head = (int(head_row[0]), str(head_row[1]))
    # One hash per sequence number is walked; a second, different one for the same number (a paper anchor beside
    # the seals table's, or two anchors given) is held against the walked chain afterwards: it must never be dropped.
    wanted: dict[int, str] = {}
    also: list[tuple[int, str]] = []
    for s, h in [*anchors, *((int(q), str(d)) for q, d in conn.execute(select(Seal.seq, Seal.hash)))]:
        if wanted.setdefault(int(s), str(h)) != str(h):
            also.append((int(s), str(h)))
    tick = (lambda done: progress(done, head[0])) if progress is not None else None
    last_seq = int(conn.exec_driver_sql("SELECT coalesce(max(seq), 0) FROM events").scalar_one())
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if last_seq >= PARALLEL_FROM else 1
    shared = conn.dialect.name == "postgresql" or conn.engine.url.database not in (None, "", ":memory:")
    walk = None
    if workers > 1 and shared and last_seq > chunk:
        try:
            walk = _walk_parallel(conn, last_seq, wanted, workers, chunk, tick)
        except (BrokenProcessPool, OSError):
            walk = None  # no worker processes here (e.g. a caller's script without a __main__ guard): walk alone
    if walk is None:
        walk = _walk(_driver_rows(conn, f"{_SELECT_EVENTS} ORDER BY seq"), 1, GENESIS, wanted, tick)
    expected, prev, checked = walk.expected, walk.prev, walk.checked
    if walk.fail is not None:
        return _fail(checked, head, *walk.fail)
    last = expected - 1
    if last > head[0]:
        return _fail(checked, head, head[0] + 1,
                     f"Event {head[0] + 1} lies beyond the recorded head {head[0]}: rows were inserted after it.",
                     f"第 {head[0] + 1} 条事件位于链头 {head[0]} 之后：有记录被追加插入。")
    if last < head[0] or (head[0] > 0 and prev != head[1]):
        return _fail(checked, head, last + 1,
                     f"The chain ends at {last} but the head records {head[0]}: event {last + 1} onwards was deleted "
                     "or the head was altered.",
                     f"链止于第 {last} 条，但链头记录为第 {head[0]} 条：第 {last + 1} 条起被删除或链头被篡改。")
    for s in wanted:
        if s > last:
            return _fail(checked, head, s, f"Sealed anchor {s} is beyond the end of the chain ({last}).",
                         f"封存锚点 {s} 超出链尾（第 {last} 条）。")
    for s, h in also:  # the chain is intact up to `last` here, so its stored hash at `s` is the walked one
        if conn.execute(select(Event.hash).where(Event.seq == s)).scalar_one() != h:
            return _fail(checked, head, s, f"Event {s} does not match the sealed anchor {s}:{h}.",
                         f"第 {s} 条事件与封存锚点 {s}:{h} 不符。")
    if progress is not None:
        progress(checked, head[0])
    if not replay:
        return VerifyReport(True, checked, head[0], head[1])
    found = replay_and_compare(conn, last)
    if found.count:
        en, zh = summary(found)
        return VerifyReport(False, checked, head[0], head[1], None, en, zh, tuple(found.findings), found.count, True)
    return VerifyReport(True, checked, head[0], head[1], replayed=True)
