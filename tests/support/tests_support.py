"""Small helpers shared by the integration tests (importable because pytest puts tests/support on the path)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tracker.schema import Carrier, Event
from tracker.services import approvals
from tracker.services.common import Signed
from tracker.store import Store


def approve(store: Store, approver: Signed, purpose: str, *codes: str, grantee: str | None = None,
            issuer_approved: bool = False, copies: int | None = None, hours: int = 4) -> int:
    return approvals.grant(store.uow(), approver, purpose, list(codes), store.clock() + timedelta(hours=hours),
                           grantee=grantee, issuer_approved=issuer_approved, copies=copies)


def count_events(store: Store) -> int:
    with store.uow(readonly=True) as uow:
        return int(uow.session.execute(select(func.count(Event.seq))).scalar_one())


def state_of(store: Store, code: str) -> tuple[str, str | None, str | None]:
    with store.uow(readonly=True) as uow:
        c = uow.session.execute(select(Carrier).where(Carrier.code == code)).unique().scalar_one()
        return c.status, c.holder.badge if c.holder else None, c.location.code if c.location else None


def race_check_out(url: str, code: str, approval_id: int, barrier: object, results: object) -> None:
    """One terminal of a check-out race; run in its own process (SQLite) or thread (PostgreSQL)."""
    from tracker.demo import badge
    from tracker.services import circulation
    from tracker.services.common import Refused, authenticate, configure_hasher

    configure_hasher(1, 8)
    store = Store(url, terminal=f"race-{id(barrier)}")
    clerk = authenticate(store.uow(), badge("clerk"), "1234")
    reader = authenticate(store.uow(), badge("reader_important"), "1234")
    barrier.wait()  # type: ignore[attr-defined]
    try:
        circulation.check_out(store.uow(), clerk, code, reader, approval_id=approval_id)
        results.put("won")  # type: ignore[attr-defined]
    except Refused as e:
        results.put("refused:" + ",".join(e.rules))  # type: ignore[attr-defined]
    finally:
        store.dispose()
