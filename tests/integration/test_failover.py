"""Failover without loss (issue 22, docs/deployment.md): a primary with a synchronous streaming standby, a stream of
check-outs, the primary killed mid-stream, the standby promoted — the counter carries on against the promoted server
through the same two-host URL, and every check-out that was confirmed to the clerk is there, with a ledger that
verifies. While no server accepts writes, each attempt fails with the bilingual "register unavailable" fault (never a
driver traceback) and changes nothing."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest
from pgserver import Pair, find_bindir, start_pair
from sqlalchemy import create_engine, select, text
from tests_support import Clock

from tracker.demo import badge, place, seed_people_and_places
from tracker.ledger import verify
from tracker.rules import Policy
from tracker.schema import Carrier
from tracker.services import circulation, registry
from tracker.services.common import Signed
from tracker.store import RegisterUnavailable, Store

pytestmark = pytest.mark.postgres
SHELF = place("BJ", "R2C1S1")
CARRIERS = 60


@pytest.fixture
def pair() -> Iterator[Pair]:
    if find_bindir() is None:
        msg = "PostgreSQL server binaries not installed (Debian package 'postgresql'); failover test skipped"
        if os.environ.get("CI") == "true":
            pytest.fail(msg + " — not allowed in CI", pytrace=False)
        pytest.skip(msg)
    p = start_pair()
    try:
        yield p
    finally:
        p.stop()


def _wait_sync(p: Pair) -> None:
    """Until the standby streams as the synchronous one: from then on a commit waits for it."""
    engine = create_engine(p.primary.url("postgres"))
    try:
        for _ in range(300):
            with engine.connect() as c:
                if c.execute(text("SELECT 1 FROM pg_stat_replication WHERE sync_state = 'sync'")).first():
                    return
            time.sleep(0.1)
        raise AssertionError("the standby never became synchronous")
    finally:
        engine.dispose()


def test_confirmed_check_outs_survive_losing_the_primary(pair: Pair) -> None:
    _wait_sync(pair)
    admin = create_engine(pair.primary.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text("CREATE DATABASE register"))
    admin.dispose()
    clock = Clock()
    store = Store(pair.url("register"), terminal="counter-1", clock=clock, policy=Policy())
    store.ensure_schema()
    seed_people_and_places(store)
    clerk, reader = Signed(badge("clerk"), clock()), Signed(badge("reader_general"), clock())
    codes = [registry.register(store.uow(), clerk, registry.CarrierInput(
        location=SHELF, classification="internal", title=f"通知 {i}")) for i in range(CARRIERS)]

    confirmed: list[str] = []
    faults: list[RegisterUnavailable] = []
    unexpected: list[BaseException] = []
    stop = threading.Event()

    def counter() -> None:
        """The clerk scans the next carrier; a fault is shown and the clerk scans it again."""
        queue = list(codes)
        while queue and not stop.is_set():
            code = queue[0]
            try:
                circulation.check_out(store.uow(), clerk, code, reader)
            except RegisterUnavailable as e:
                faults.append(e)
                # The commit of this very scan may have reached both servers before the primary died; the clerk
                # cannot tell, so the scan is not confirmed. Move on to the next carrier, as the test must not
                # count an unconfirmed one either way.
                queue.pop(0)
                time.sleep(0.05)
                continue
            except BaseException as e:
                unexpected.append(e)
                return
            confirmed.append(queue.pop(0))

    t = threading.Thread(target=counter)
    t.start()
    deadline = time.monotonic() + 60
    while len(confirmed) < 15 and t.is_alive():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    pair.kill_primary()
    while not faults and t.is_alive():  # the counter notices the loss
        assert time.monotonic() < deadline
        time.sleep(0.01)
    before_promotion = len(confirmed)
    pair.promote()
    while len(confirmed) < before_promotion + 10 and t.is_alive():
        assert time.monotonic() < deadline + 60, "the counter never got back to work on the promoted server"
        time.sleep(0.01)
    stop.set()
    t.join(60)
    store.dispose()
    assert not unexpected, unexpected
    assert faults and all(f.en and f.zh for f in faults)
    assert len(confirmed) >= before_promotion + 10

    promoted = create_engine(pair.standby.url("register"))
    try:
        with promoted.connect() as conn:
            out = dict(conn.execute(select(Carrier.code, Carrier.status).where(Carrier.code.in_(confirmed))).all())
            assert {out.get(code) for code in confirmed} == {"on_loan"}, "a confirmed check-out was lost"
            assert verify(conn).ok
    finally:
        promoted.dispose()
