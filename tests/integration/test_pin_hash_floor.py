"""The PIN-hash cost has a floor in the register's policy: a client's settings (`TRACKER_ARGON2_*`, `[security]`)
may raise it, never lower it, and a policy may not take it under argon2id's minimum."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from tests_support import invoke, use_cli_demo

from tracker.demo import DEMO_PIN, badge
from tracker.domain import DomainError
from tracker.policy import policy_from_document
from tracker.rules import Policy
from tracker.services.common import change_own_pin, configure_hasher, hash_pin
from tracker.store import Store

_PARAMS = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=1\$")


def _cost(hashed: str) -> tuple[int, int]:
    m = _PARAMS.match(hashed)
    assert m, hashed
    return int(m.group(1)), int(m.group(2))


def test_a_cheap_hasher_is_lifted_to_the_policy_floor() -> None:
    configure_hasher(1, 8)  # what the suite (and a client asking for little) configures
    assert _cost(hash_pin("482916")) == (8, 1)  # code with no register at hand: as configured
    assert _cost(hash_pin("482916", Policy())) == (19456, 2)
    assert _cost(hash_pin("482916", Policy(pin_hash_time_cost=3, pin_hash_memory_kib=32768))) == (32768, 3)
    configure_hasher(4, 65536)  # a client may ask for more than the floor
    try:
        assert _cost(hash_pin("482916", Policy())) == (65536, 4)
    finally:
        configure_hasher(1, 8)


def test_a_policy_may_not_lower_the_floor_below_argon2id_minimum() -> None:
    for doc in ({"pin_hash_memory_kib": 8}, {"pin_hash_time_cost": 1}):
        with pytest.raises(DomainError):
            policy_from_document(doc)
    assert policy_from_document({"pin_hash_memory_kib": 65536}).pin_hash_memory_kib == 65536


def test_a_pin_changed_in_process_is_hashed_at_the_registers_floor(sqlite_url: str) -> None:
    store = Store(sqlite_url)  # the register's own policy: the shipped floor
    store.ensure_schema()
    from tracker.demo import seed_people_and_places
    seed_people_and_places(store)
    change_own_pin(store.uow(), badge("clerk"), DEMO_PIN, "730519")
    with store.engine.connect() as conn:
        hashed = conn.exec_driver_sql("SELECT pin_hash FROM people WHERE badge = ?", (badge("clerk"),)).scalar_one()
    store.dispose()
    assert _cost(hashed) == (19456, 2)


def test_a_client_asking_for_cheap_hashing_still_gets_the_floor(cli_demo: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    env = use_cli_demo(cli_demo, tmp_path, monkeypatch, TRACKER_NEW_PIN="730519")
    assert env["TRACKER_ARGON2_MEMORY_KIB"] == "8"  # the client asks for 8 KiB, one pass
    code, output = invoke("pin", "change", "--badge", badge("clerk"))
    assert code == 0, output
    conn = sqlite3.connect(tmp_path / "r.sqlite")
    try:
        hashed = conn.execute("SELECT pin_hash FROM people WHERE badge = ?", (badge("clerk"),)).fetchone()[0]
    finally:
        conn.close()
    assert _cost(hashed) == (19456, 2)
