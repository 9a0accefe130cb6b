"""Small helpers shared by the integration tests (importable because pytest puts tests/ on the path)."""

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
