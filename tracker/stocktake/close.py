"""Closing a stock-take (signed close): refused while anything is unresolved; the close event carries the digest of
every read (`reads_digest`) and the ledger head, so the register can later prove which reads the close stood on.

It owns the close and the digest; it must never resolve a finding on the way (an unresolved one refuses the close)
and never change custody.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select, text

from tracker.domain import EventType
from tracker.ledger import EventDraft
from tracker.rules import Action, Violation
from tracker.schema_stocktake import (
    StocktakeResolution,
)
from tracker.services.common import Signed, actor_facts, refuse
from tracker.stocktake.kinds import FindingKind
from tracker.stocktake.reconcile import run_reconcile
from tracker.stocktake.session import RULE, _session, tuning_of
from tracker.store import UnitOfWork


@dataclass(frozen=True)
class CloseReceipt:
    event_seq: int
    reads_digest: str
    reads_count: int
    ledger_head: tuple[int, str]


def reads_digest(uow: UnitOfWork, sid: int) -> tuple[str, int]:
    """SHA-256 over every stored read in key order, one canonical line each; the same on both databases."""
    h = hashlib.sha256()
    n = 0
    result = uow.session.execute(text(
        "SELECT b.device, b.batch, r.seq, r.kind, r.code, r.at_us, r.rssi, r.antenna "
        "FROM stocktake_reads r JOIN stocktake_batches b ON b.id = r.batch_id WHERE r.session_id = :s"), {"s": sid})
    rows = sorted(((str(r[0]), str(r[1]), int(r[2]), *r[3:]) for r in result), key=lambda r: r[:3])
    for r in rows:
        line = "\x1f".join("" if v is None else (repr(float(v)) if isinstance(v, float) else str(v)) for v in r)
        h.update(line.encode() + b"\n")
        n += 1
    return h.hexdigest(), n


def close(uow: UnitOfWork, actor: Signed, sid: int) -> CloseReceipt:
    """Reconcile once more, refuse while any finding is unresolved, then seal the session with one event."""
    with uow:
        actor_facts(uow, actor, Action.STOCKTAKE)
        now = uow.now()
        st = _session(uow, sid, lock=True)
        result = run_reconcile(uow.session, sid, tuning_of(st))
        st.reconciled_at = now
        open_ = uow.session.execute(text(
            "SELECT f.kind, COUNT(*) FROM stocktake_findings f LEFT JOIN stocktake_resolutions r "
            "ON r.session_id = f.session_id AND r.kind = f.kind AND r.subject = f.subject "
            "WHERE f.session_id = :s AND f.kind <> 'found' AND r.action IS NULL GROUP BY f.kind ORDER BY f.kind"),
            {"s": sid}).all()
        if open_:
            listing = ", ".join(f"{n} {FindingKind(k).en}" for k, n in open_)
            listing_zh = "、".join(f"{FindingKind(k).zh} {n} 项" for k, n in open_)
            refuse([Violation(RULE, f"Stock-take #{sid} cannot close: unresolved findings remain ({listing}).",
                              f"清查 #{sid} 不能结束：尚有未处理的结果（{listing_zh}）。")],
                   "stocktake_close", None, actor.badge)
        digest, count = reads_digest(uow, sid)
        head = uow.ledger.head()
        resolved = uow.session.execute(select(func.count()).select_from(StocktakeResolution).where(
            StocktakeResolution.session_id == sid)).scalar_one()
        ev = uow.ledger.append(EventDraft(
            EventType.STOCKTAKE_CLOSED, actor=actor.badge,
            payload={"stocktake": sid, "reads_digest": digest, "reads": count, "ledger_head": [head[0], head[1]],
                     "findings": {k.value: n for k, n in sorted(result.counts.items())},
                     "resolutions": int(resolved), "expected": st.expected_count}), now)
        st.status, st.closed_at, st.closed_by = "closed", now, actor.badge
        st.close_seq, st.close_head, st.reads_digest, st.reads_count = ev.seq, head[1], digest, count
        uow.commit()
        return CloseReceipt(ev.seq, digest, count, head)
