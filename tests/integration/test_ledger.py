"""The custody ledger against tampering done directly in the database, on SQLite and PostgreSQL.

An attacker with database access first has to get past the append-only triggers; these tests do that (drop or disable
the trigger) and then check that `verify` names the sequence number that was altered, deleted, inserted or reordered.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from tracker.demo import place
from tracker.ledger import event_hash, verify
from tracker.services import registry
from tracker.services.common import Signed
from tracker.store import Store


@pytest.fixture
def chain(store: Store, people: dict[str, Signed]) -> Store:
    """A register whose ledger holds the demo's people and places plus 20 registrations."""
    rows = [registry.CarrierInput(location=place("BJ", "R2C1S1"), classification="confidential", period="10y",
                                  scope="法规处", title=f"doc {i}") for i in range(20)]
    registry.import_rows(store.uow(), people["clerk"], rows)
    return store


def _untrigger(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))
    else:
        conn.execute(text("DROP TRIGGER events_no_update"))
        conn.execute(text("DROP TRIGGER events_no_delete"))


@pytest.fixture(params=["one walk", "parallel"])
def walkers(request: pytest.FixtureRequest) -> dict[str, int]:
    """Every tampering test runs twice: the single walk, and the parallel one cut into ranges of 7 events, so that
    changes fall inside ranges and on their boundaries."""
    return {"workers": 1} if request.param == "one walk" else {"workers": 2, "chunk": 7}


_walkers: dict[str, int] = {}


@pytest.fixture(autouse=True)
def _use_walkers(walkers: dict[str, int]) -> None:
    _walkers.clear()
    _walkers.update(walkers)


def _report(store: Store, anchors: list[tuple[int, str]] | None = None):  # type: ignore[no-untyped-def]
    with store.engine.connect() as conn:
        return verify(conn, anchors or [], **_walkers)


def test_intact_chain_verifies(chain: Store) -> None:
    r = _report(chain)
    assert r.ok and r.checked == r.head_seq > 60


def test_update_and_delete_refused_by_trigger(chain: Store) -> None:
    for sql in ("UPDATE events SET actor = 'x' WHERE seq = 5", "DELETE FROM events WHERE seq = 5"):
        with pytest.raises(DBAPIError), chain.engine.begin() as conn:
            conn.execute(text(sql))
    assert _report(chain).ok


def test_altered_event_is_named(chain: Store) -> None:
    with chain.engine.begin() as conn:
        _untrigger(conn)
        conn.execute(text("UPDATE events SET to_location = 'LOC-ELSEWHERE' WHERE seq = 40"))
    r = _report(chain)
    assert not r.ok and r.bad_seq == 40 and "altered" in r.problem_en


def test_altered_payload_is_named(chain: Store) -> None:
    with chain.engine.begin() as conn:
        _untrigger(conn)
        conn.execute(text("UPDATE events SET payload = '{\"classification\":\"internal\"}' WHERE seq = 55"))
    assert _report(chain).bad_seq == 55


def test_deleted_event_is_named(chain: Store) -> None:
    with chain.engine.begin() as conn:
        _untrigger(conn)
        conn.execute(text("DELETE FROM events WHERE seq = 33"))
    r = _report(chain)
    assert not r.ok and r.bad_seq == 33 and "missing" in r.problem_en


def test_deleted_tail_is_named(chain: Store) -> None:
    head = _report(chain).head_seq
    with chain.engine.begin() as conn:
        _untrigger(conn)
        conn.execute(text(f"DELETE FROM events WHERE seq > {head - 3}"))
    r = _report(chain)
    assert not r.ok and r.bad_seq == head - 2


def test_inserted_event_is_named(chain: Store) -> None:
    """A forged event with a correct hash appended after the head is still caught by the head."""
    head = _report(chain)
    with chain.engine.begin() as conn:
        _untrigger(conn)
        values = [head.head_seq + 1, "2026-11-25T03:00:00.000000Z", "checked_in", "BJ-000001X", "x", None, None,
                  None, "LOC-X", None, None, "t", "{}", head.head_hash]
        cols = ("seq, at, type, carrier, actor, from_holder, to_holder, from_location, to_location, witness, "
                "approval_id, terminal, payload, prev_hash, hash")
        params = dict(zip([c.strip() for c in cols.split(",")], [*values, event_hash(values)], strict=True))
        conn.execute(text(f"INSERT INTO events ({cols}) VALUES ({', '.join(':' + k for k in params)})"), params)
    r = _report(chain)
    assert not r.ok and r.bad_seq == head.head_seq + 1 and "inserted" in r.problem_en


def test_inserted_in_the_middle_is_named(chain: Store) -> None:
    """Shifting rows up to make room for a forged one breaks the link at the insertion point."""
    with chain.engine.begin() as conn:
        _untrigger(conn)
        conn.execute(text("UPDATE events SET seq = seq + 1000000 WHERE seq >= 30"))
        conn.execute(text("UPDATE events SET seq = seq - 999999 WHERE seq >= 1000000"))
        row = conn.execute(text("SELECT * FROM events WHERE seq = 29")).mappings().one()
        forged = dict(row)
        forged["seq"] = 30
        forged["prev_hash"] = row["hash"]
        forged["payload"] = json.dumps({"forged": True})
        forged["hash"] = event_hash([forged[k] for k in ("seq", "at", "type", "carrier", "actor", "from_holder",
                                                         "to_holder", "from_location", "to_location", "witness",
                                                         "approval_id", "terminal", "payload", "prev_hash")])
        conn.execute(text(f"INSERT INTO events ({', '.join(forged)}) VALUES ({', '.join(':' + k for k in forged)})"),
                     forged)
    r = _report(chain)
    assert not r.ok and r.bad_seq == 31 and "does not follow" in r.problem_en


@pytest.mark.parametrize("seq", [14, 17])  # 14 ends a range of the parallel walk (ranges of 7), 17 lies inside one
def test_rewritten_event_with_its_hash_recomputed_is_named_by_the_next(chain: Store, seq: int) -> None:
    """A forger who recomputes the altered event's own hash still breaks the next event's link to it."""
    with chain.engine.begin() as conn:
        _untrigger(conn)
        row = dict(conn.execute(text("SELECT * FROM events WHERE seq = :s"), {"s": seq}).mappings().one())
        row["actor"] = "forged"
        row["hash"] = event_hash([row[k] for k in ("seq", "at", "type", "carrier", "actor", "from_holder",
                                                   "to_holder", "from_location", "to_location", "witness",
                                                   "approval_id", "terminal", "payload", "prev_hash")])
        conn.execute(text("UPDATE events SET actor = :actor, hash = :hash WHERE seq = :seq"), row)
    r = _report(chain)
    assert not r.ok and r.bad_seq == seq + 1 and "does not follow" in r.problem_en


def test_reordered_events_are_named(chain: Store) -> None:
    with chain.engine.begin() as conn:
        _untrigger(conn)
        conn.execute(text("UPDATE events SET seq = -1 WHERE seq = 20"))
        conn.execute(text("UPDATE events SET seq = 20 WHERE seq = 21"))
        conn.execute(text("UPDATE events SET seq = 21 WHERE seq = -1"))
    r = _report(chain)
    assert not r.ok and r.bad_seq == 20


def test_anchor_catches_a_rewritten_history(chain: Store) -> None:
    """Rewriting every hash after seq 10 (and the head) passes the chain check but not the sealed anchor."""
    anchor = _report(chain)
    with chain.engine.connect() as conn:
        a10 = conn.execute(text("SELECT hash FROM events WHERE seq = 10")).scalar_one()
    with chain.engine.begin() as conn:
        _untrigger(conn)
        rows = conn.execute(text("SELECT * FROM events WHERE seq >= 10 ORDER BY seq")).mappings().all()
        prev = conn.execute(text("SELECT hash FROM events WHERE seq = 9")).scalar_one()
        for row in rows:
            r = dict(row)
            if r["seq"] == 10:
                r["actor"] = "someone-else"
            r["prev_hash"] = prev
            fields = [r[k] for k in ("seq", "at", "type", "carrier", "actor", "from_holder", "to_holder",
                                     "from_location", "to_location", "witness", "approval_id", "terminal",
                                     "payload", "prev_hash")]
            prev = event_hash(fields)
            conn.execute(text("UPDATE events SET actor = :actor, prev_hash = :prev_hash, hash = :hash "
                              "WHERE seq = :seq"),
                         {"actor": r["actor"], "prev_hash": r["prev_hash"], "hash": prev, "seq": r["seq"]})
        conn.execute(text("UPDATE chain_head SET hash = :h"), {"h": prev})
    assert _report(chain).ok  # a perfect rewrite fools the chain alone...
    r = _report(chain, [(10, a10)])
    assert not r.ok and r.bad_seq == 10 and "anchor" in r.problem_en  # ...but not the paper anchor
    assert anchor.ok
