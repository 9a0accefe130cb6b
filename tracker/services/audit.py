"""Reading the audit log (refused acts, failed and locked sign-ins, role and policy changes, exports): the security
officer's and the auditor's view, for the command line and the counter alike; and the one export of the whole
register's current state, which is logged there.

The log is written by `UnitOfWork.audit`; this module reads it, and checks the reader's role itself (三员分立:
the administrator does not read the record of his own acts). A rule id matches whole ids only: `R-6` is not `R-63`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select

from tracker import queries
from tracker.rules import Action
from tracker.schema import Refusal
from tracker.services.common import Signed, actor_facts
from tracker.store import UnitOfWork


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    kind: str
    actor: str | None
    action: str
    carrier: str | None
    rules: str
    detail: str
    terminal: str | None


def _names_rule(rule: str) -> ColumnElement[bool]:
    """`rules` holds sorted ids joined by commas: a whole-id match, never a substring of another id."""
    r = rule.strip().upper()
    return or_(Refusal.rules == r, Refusal.rules.like(f"{r},%"), Refusal.rules.like(f"%,{r}"),
               Refusal.rules.like(f"%,{r},%"))


def entries(uow: UnitOfWork, reader: Signed, terms: Sequence[str] = (), *, person: str | None = None,
            rule: str | None = None, kind: str | None = None, since: datetime | None = None,
            until: datetime | None = None, limit: int = 500) -> list[AuditEntry]:
    """The log newest first. `terms` (the counter's filter box) each match a badge, a rule id, a kind or an action;
    the keyword filters (the command line's options) match exactly. Refused for anyone but the security officer
    and the auditor, and that refusal is itself logged."""
    with uow:
        actor_facts(uow, reader, Action.AUDIT)
        q = select(Refusal).order_by(Refusal.id.desc()).limit(limit)
        for raw in terms:
            t = raw.strip()
            if t:
                like = f"%{t}%"
                q = q.where(or_(Refusal.actor.ilike(like), Refusal.kind.ilike(like), Refusal.action.ilike(like),
                                _names_rule(t)))
        if person:
            q = q.where(Refusal.actor == person.strip())
        if rule:
            q = q.where(_names_rule(rule))
        if kind:
            q = q.where(Refusal.kind == kind.strip())
        if since:
            q = q.where(Refusal.at >= since)
        if until:
            q = q.where(Refusal.at <= until)
        return [AuditEntry(r.id, r.at, r.kind, r.actor, r.action, r.carrier, r.rules, r.detail or "", r.terminal)
                for r in uow.session.execute(q).scalars()]


def export_register(uow: UnitOfWork, reader: Signed, medium: str) -> list[queries.CarrierView]:
    """Every carrier's current state, for `tracker export`: whoever takes the whole register away signs for it (the
    registry, the security officer, the auditor) and the audit log says who took it, when and how much."""
    with uow:
        actor_facts(uow, reader, Action.REGISTERS)
        rows = queries.export_rows(uow)
        head, _ = uow.ledger.head()
    uow.audit({"actor": reader.badge, "action": "export", "carrier": None, "rules": "", "kind": "export",
               "detail": json.dumps({"register": "carriers", "medium": medium, "rows": len(rows), "head": head},
                                    ensure_ascii=False)})
    return rows
