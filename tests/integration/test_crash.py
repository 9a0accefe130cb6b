"""A process killed (SIGKILL) in the middle of a 10,000-carrier CSV import leaves all or none, and the ledger intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from sqlalchemy import func, select
from tests_support import count_events

from tracker.demo import place
from tracker.ledger import verify
from tracker.schema import Carrier
from tracker.services.common import Signed
from tracker.store import Store

CHILD = textwrap.dedent("""
    import os, sys, time
    from sqlalchemy import event
    from tracker.demo import badge
    from tracker.services import registry
    from tracker.services.common import authenticate, configure_hasher
    from tracker.store import Store

    configure_hasher(1, 8)
    store = Store(sys.argv[1])
    clerk = authenticate(store.uow(), badge("clerk"), "482916")

    @event.listens_for(store.engine, "after_cursor_execute")
    def pause(conn, cursor, statement, params, context, executemany):
        # Stop right after the carriers are written and before the ledger and the commit: the kill lands here.
        if os.environ.get("PAUSE_MID_IMPORT") and statement.lstrip().upper().startswith("INSERT INTO EVENTS"):
            print("MID-IMPORT", flush=True)
            time.sleep(60)

    registry.import_csv(store.uow(), clerk, open(sys.argv[2], encoding="utf-8").read())
    print("DONE", flush=True)
""")


def _csv(path: str, n: int) -> None:
    shelf = place("BJ", "R2C1S1")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("classification,period,scope,location,title\n")
        for i in range(n):
            fh.write(f"confidential,10y,法规处,{shelf},bulk {i}\n")


def test_sigkill_mid_import_leaves_nothing(store: Store, people: dict[str, Signed], tmp_path: object) -> None:
    csv_path = os.path.join(str(tmp_path), "bulk.csv")
    _csv(csv_path, 10_000)
    before = count_events(store)
    child = subprocess.Popen([sys.executable, "-c", CHILD, store.url, csv_path], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PAUSE_MID_IMPORT": "1"})
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "MID-IMPORT"
    with store.uow(readonly=True) as uow:  # the carriers are written but not committed: nobody else sees them
        assert uow.session.execute(select(func.count(Carrier.id))).scalar_one() == 0
    os.kill(child.pid, signal.SIGKILL)
    child.wait(30)
    assert child.returncode == -signal.SIGKILL
    with store.uow(readonly=True) as uow:
        assert uow.session.execute(select(func.count(Carrier.id))).scalar_one() == 0
    assert count_events(store) == before
    with store.engine.connect() as conn:
        assert verify(conn).ok
    # The same file imports completely afterwards (nothing half-written blocks it).
    done = subprocess.run([sys.executable, "-c", CHILD, store.url, csv_path], capture_output=True, text=True,
                          timeout=300, env={k: v for k, v in os.environ.items() if k != "PAUSE_MID_IMPORT"})
    assert done.stdout.strip().endswith("DONE"), done.stderr[-2000:]
    with store.uow(readonly=True) as uow:
        assert uow.session.execute(select(func.count(Carrier.id))).scalar_one() == 10_000
    with store.engine.connect() as conn:
        assert verify(conn).ok
