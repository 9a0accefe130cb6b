"""Sealing the custody ledger: the chain head (sequence + hash) is kept as an anchor and copied into the paper record,
so `verify --anchor` can later prove the chain still runs through it even if everything after it was rewritten and
every hash recomputed.

The command line and the counter both seal through `seal`, so who may seal (R-25) and what a seal writes cannot drift
apart. A seal is itself a custody act and is recorded like one: one transaction, one ledger event.
"""

from __future__ import annotations

from tracker.domain import EventType
from tracker.ledger import EventDraft
from tracker.rules import Action
from tracker.schema import Seal
from tracker.services.common import Signed, actor_facts
from tracker.store import UnitOfWork


def seal(uow: UnitOfWork, actor: Signed) -> tuple[int, str]:
    """Seal the head the sealer sees and return it as (seq, hash) for the paper record.

    The sealed head is the event just before the seal's own event, taken from that event's `prev_hash` as the ledger
    appends it under the head lock: another terminal appending at the same moment cannot slip in between, and the
    chain itself says which head was sealed without a second copy in the payload.
    """
    with uow:
        actor_facts(uow, actor, Action.SEAL)
        now = uow.now()
        event = uow.ledger.append(EventDraft(EventType.LEDGER_SEALED, actor=actor.badge), now)
        seq, digest = event.seq - 1, event.prev_hash
        uow.session.add(Seal(seq=seq, hash=digest, at=now, actor=actor.badge))
        uow.commit()
        return seq, digest
