"""One event appended by the server (PostgreSQL) hashes exactly as the client would, whatever its text holds.

On PostgreSQL `Ledger.append` sends the event's canonical fields and lets the server number it, wrap it with the
sequence and the previous hash, and take the SHA-256 (tracker/ledger.py `_APPEND_SERVER`); `verify` recomputes every
hash in Python. These tests append events whose texts hold what JSON must escape (quotes, backslashes, control
characters), Chinese, characters beyond the BMP and nested payloads, and check each stored hash against
`event_hash` over the stored fields, and the whole chain with `verify`; then several threads append at once and the
chain must still have no gap and verify. On SQLite the same tests run the client-side path.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import text

from tracker.domain import EventType
from tracker.ledger import COLUMNS, EventDraft, event_hash, verify
from tracker.store import Store

AWKWARD = ['plain', 'quote " and \\ backslash', "tab\tnew\nline\rbell\x07esc\x1b", "保密〔2026〕12号", "𝄞 and 😀",
           "\u2028\u2029 and \x7f", "", "}]"]


def _drafts() -> list[EventDraft]:
    out = []
    for i, t in enumerate(AWKWARD):
        out.append(EventDraft(EventType.CHECKED_OUT, carrier=t[:40] or None, actor="B-BJ-00001X",
                              from_location=t[:40], to_holder=None if i % 2 else t[:40],
                              approval_id=i if i % 3 else None,
                              payload={"note": t, "nested": {"list": [t, i, None, 1.5, True]}, "n": i}))
    return out


def test_each_hash_matches_the_clients(store: Store) -> None:
    at = datetime(2026, 12, 6, 9, 30, 0, 123456, tzinfo=UTC)
    with store.uow() as uow:
        recorded = [uow.ledger.append(d, at) for d in _drafts()]
        uow.commit()
    seqs = [r.seq for r in recorded]
    assert seqs == list(range(seqs[0], seqs[0] + len(AWKWARD)))
    with store.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {', '.join(COLUMNS)}, hash FROM events WHERE seq >= :s ORDER BY seq"),
                            {"s": seqs[0]}).all()
        for r, rec in zip(rows, recorded, strict=True):
            assert r[-1] == event_hash(tuple(r[:-1])) == rec.hash
            assert r[-2] == rec.prev_hash
        assert rows[0][-2] != rows[1][-2]
        report = verify(conn, replay=False)  # the chain alone: these events name no real carriers
    assert report.ok, report.message()
    assert report.head_seq == seqs[-1]


def test_concurrent_appends_keep_one_chain(store: Store) -> None:
    """Eight threads, each its own transactions: every event lands once, numbered without a gap, chain intact."""
    at = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
    with store.engine.connect() as conn:
        start = int(conn.execute(text("SELECT seq FROM chain_head")).scalar_one())
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(15):
                with store.uow() as uow:
                    uow.ledger.append(EventDraft(EventType.CHECKED_IN, carrier=f"T{k}-{i}", actor="B-BJ-00001X",
                                                 payload={"k": k, "i": i}), at)
                    uow.commit()
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with store.engine.connect() as conn:
        seqs = [int(s) for s in conn.execute(text("SELECT seq FROM events WHERE seq > :s ORDER BY seq"),
                                             {"s": start}).scalars()]
        carriers = set(conn.execute(text("SELECT carrier FROM events WHERE seq > :s"), {"s": start}).scalars())
        report = verify(conn, replay=False)  # the chain alone: these events name no real carriers
    assert seqs == list(range(start + 1, start + 1 + 8 * 15))
    assert carriers == {f"T{k}-{i}" for k in range(8) for i in range(15)}
    assert report.ok, report.message()
