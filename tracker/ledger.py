"""The custody ledger: append one hash-chained event per state change, and verify the chain end to end.

Each event's hash is SHA-256 over a canonical encoding of all its fields plus the previous event's hash, so changing,
deleting, inserting or reordering any row breaks the chain at a sequence number `verify` can name. Appending locks the
one-row chain head inside the caller's transaction, so concurrent terminals serialise and the chain never forks.
This module never updates or deletes an event; on PostgreSQL a trigger refuses that to anyone else too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from tracker.domain import EventType, utc_iso
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


# One encoder each, built once: `json.dumps` with options builds a new encoder per call, which showed in imports.
_PAYLOAD = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode
_FIELDS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def canonical_payload(payload: dict[str, Any]) -> str:
    return _PAYLOAD(payload)


def event_hash(fields: Sequence[Any]) -> str:
    """SHA-256 over the JSON array of COLUMNS' values in order (UTF-8, no spaces): the whole canonical form."""
    return hashlib.sha256(_FIELDS(list(fields)).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Recorded:
    """Where an appended event landed in the chain (receipts quote it); not an ORM object, so a bulk import of
    100,000 events does not build 100,000 of them."""

    seq: int
    prev_hash: str
    hash: str


_LOCK_HEAD = select(ChainHead.seq, ChainHead.hash).where(ChainHead.id == 1).with_for_update()
_INSERT_EVENT = insert(table(Event))
_SET_HEAD = update(table(ChainHead)).where(table(ChainHead).c.id == 1).values(
    seq=bindparam("seq"), hash=bindparam("hash"))


class Ledger:
    def __init__(self, session: Session, terminal: str | None) -> None:
        self.session = session
        self.terminal = terminal

    def _lock_head(self) -> tuple[int, str]:
        """Read the chain head under a row lock (columns only: no ORM object to keep in step with the update)."""
        seq, hash_ = self.session.execute(_LOCK_HEAD).one()
        return int(seq), str(hash_)

    def append(self, draft: EventDraft, at: datetime) -> Recorded:
        return self.append_many([draft], at)[0]

    def append_many(self, drafts: Iterable[EventDraft], at: datetime) -> list[Recorded]:
        """Append in order under one head lock; bulk imports use this so 100,000 events are one statement.

        Rows go through Core (`insert(table)`), not the ORM's bulk path: the events are never loaded back into this
        session, and the ORM's bookkeeping would cost more than the insert on the counter's hot path.
        """
        seq, prev = self._lock_head()
        when = utc_iso(at)
        rows: list[dict[str, Any]] = []
        for d in drafts:
            seq += 1
            values = [seq, when, d.type.value, d.carrier, d.actor, d.from_holder, d.to_holder, d.from_location,
                      d.to_location, d.witness, d.approval_id, self.terminal, canonical_payload(d.payload), prev]
            prev = event_hash(values)
            row = dict(zip(COLUMNS, values, strict=True))
            row["hash"] = prev
            rows.append(row)
        if rows:
            self.session.execute(_INSERT_EVENT, rows)
            self.session.execute(_SET_HEAD, {"seq": seq, "hash": prev})
        return [Recorded(r["seq"], r["prev_hash"], r["hash"]) for r in rows]

    def head(self) -> tuple[int, str]:
        seq, hash_ = self.session.execute(select(ChainHead.seq, ChainHead.hash).where(ChainHead.id == 1)).one()
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

    def message(self, lang: str = "en") -> str:
        if self.ok:
            return (f"Ledger intact: {self.checked} events, head {self.head_seq}:{self.head_hash}" if lang != "zh"
                    else f"台账完整：共 {self.checked} 条事件，链头 {self.head_seq}:{self.head_hash}")
        return self.problem_zh if lang == "zh" else self.problem_en


def _fail(checked: int, head: tuple[int, str], seq: int, en: str, zh: str) -> VerifyReport:
    return VerifyReport(False, checked, head[0], head[1], seq, en, zh)


def verify(conn: Connection, anchors: Sequence[tuple[int, str]] = (),
           progress: Callable[[int, int], None] | None = None) -> VerifyReport:
    """Walk the whole chain in sequence order and name the first event that breaks it.

    Anchors (from `seal`, on paper or in the seals table) prove the chain still passes through an earlier head even if
    someone rewrote everything after it and recomputed every hash.
    """
    head_row = conn.execute(select(ChainHead.seq, ChainHead.hash).where(ChainHead.id == 1)).one()
    head = (int(head_row[0]), str(head_row[1]))
    wanted = {int(s): h for s, h in anchors}
    for s, h in conn.execute(select(Seal.seq, Seal.hash)):
        wanted.setdefault(int(s), str(h))
    cols = ", ".join((*COLUMNS, "hash"))
    result = conn.execution_options(stream_results=True, yield_per=20000).exec_driver_sql(
        f"SELECT {cols} FROM events ORDER BY seq"  # noqa: S608 (fixed column list)
    )
    expected, prev, checked = 1, GENESIS, 0
    encode, sha = _FIELDS, hashlib.sha256
    for row in result:
        seq = int(row[0])
        if seq != expected:
            return _fail(checked, head, expected,
                         f"Event {expected} is missing: the chain jumps from {expected - 1} to {seq} (deleted).",
                         f"第 {expected} 条事件缺失：链从 {expected - 1} 跳到 {seq}（被删除）。")
        if row[13] != prev:
            return _fail(checked, head, seq,
                         f"Event {seq} does not follow event {seq - 1}: a row was inserted, reordered or replaced.",
                         f"第 {seq} 条事件与第 {seq - 1} 条不衔接：有记录被插入、调序或替换。")
        fields = list(row[:14])
        fields[0] = seq
        digest = sha(encode(fields).encode()).hexdigest()
        if digest != row[14]:
            return _fail(checked, head, seq, f"Event {seq} was altered: its content no longer matches its hash.",
                         f"第 {seq} 条事件被篡改：内容与哈希不符。")
        if seq in wanted and wanted[seq] != digest:
            return _fail(checked, head, seq, f"Event {seq} does not match the sealed anchor {seq}:{wanted[seq]}.",
                         f"第 {seq} 条事件与封存锚点 {seq}:{wanted[seq]} 不符。")
        prev = digest
        checked += 1
        expected += 1
        if progress is not None and checked % 50000 == 0:
            progress(checked, head[0])
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
    if progress is not None:
        progress(checked, head[0])
    return VerifyReport(True, checked, head[0], head[1])
