"""Destruction batches (销毁): the list (造册), its approval, the scan at the destruction site and the completion under
at least two supervisors (监销), RULES §2.14 (R-145–R-153).

A batch is built by the registry (`new`, `add`, `remove`): each listed carrier turns 待销毁 (pending destruction) with
one ledger event, so it can no longer be lent while it waits. Retiring (报废) a storage medium or device (`retire`,
R-104, R-121) is the same listing with its written reason: media are scrapped only through a batch. `submit` freezes
the list and raises one approval request per the matrix (two approvers for 绝密 by default); approvers decide it
through `tracker.services.approvals`.
At the site every listed carrier is scanned (`scan`), each scan kept in the register so a half-scanned batch survives
a restart; anything scanned that is not listed blocks completion until it is set aside. `complete` checks everything
(`tracker.rules.check_destruction_completion`) and turns every carrier destroyed in one transaction, one ledger event
each. This module records and reads; the rulebook decides. It never deletes a carrier: a destroyed carrier keeps its
row and its history, and leaves only the active register.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select

from tracker.domain import CarrierKind, CarrierStatus, DomainError, EventType, utc_iso
from tracker.ledger import EventDraft
from tracker.rules import (
    Action,
    BatchFacts,
    DestructionMethod,
    Violation,
    check_destruction_completion,
    check_destruction_listing,
    check_destruction_reopen,
    check_destruction_scan,
    check_destruction_submit,
    check_destruction_unlisting,
    check_retire,
    parse_method,
)
from tracker.schema import Approval, Carrier, DestructionBatch, DestructionExtra, DestructionItem
from tracker.schema_stocktake import StocktakeFinding, StocktakeResolution, StocktakeSession
from tracker.services import approvals
from tracker.services.common import (
    NotFound,
    Signed,
    actor_facts,
    badge_of,
    carrier_facts,
    find_carrier_by_epc,
    get_carrier,
    get_person,
    person_facts,
    refuse,
    signed_by,
)
from tracker.store import UnitOfWork

STATUS_ZH = {"open": "造册中", "submitted": "已报批", "completed": "已销毁"}


@dataclass(frozen=True)
class ItemView:
    code: str
    title: str
    doc_number: str | None
    copy_number: int | None
    copy_total: int | None
    kind: str
    level: str
    status: str
    scanned_at: datetime | None


@dataclass(frozen=True)
class BatchView:
    """A batch as `destruction show`, the TUI and the certificate read it."""

    id: int
    name: str
    status: str
    requested_by: str
    created_at: datetime
    approval_id: int | None
    approval_status: str | None
    approvers: list[tuple[str, str]]
    items: list[ItemView]
    extras: list[tuple[str, str | None]]
    site: str | None = None
    methods: dict[str, str] = field(default_factory=dict)
    supervisors: list[dict[str, str]] = field(default_factory=list)
    completed_by: str | None = None
    completed_at: datetime | None = None
    head_seq: int | None = None
    head_hash: str | None = None

    @property
    def unscanned(self) -> list[str]:
        return [i.code for i in self.items if i.scanned_at is None]


@dataclass(frozen=True)
class ScanResult:
    matched: list[str]
    extras: list[str]


# --- building the list (造册) ---------------------------------------------------------------------------------------


def new(uow: UnitOfWork, actor: Signed, name: str = "") -> int:
    """Open an empty batch; the actor is its requester, who may then never supervise its destruction (R-148)."""
    with uow:
        actor_facts(uow, actor, Action.DESTROY)
        now = uow.now()
        text = name.strip()
        if len(text) > 200 or any(ord(ch) < 32 for ch in text):
            raise DomainError("A batch name is at most 200 printable characters.", "批次名称最多200个可打印字符。")
        b = DestructionBatch(name=text, status="open", requested_by=actor.badge, created_at=now, methods="{}",
                             supervisors="[]")
        uow.session.add(b)
        uow.session.flush()
        uow.ledger.append(EventDraft(EventType.DESTRUCTION_BATCH_OPENED, actor=actor.badge,
                                     payload={"batch": b.id, "name": text}), now)
        uow.commit()
        return b.id


def add(uow: UnitOfWork, actor: Signed, batch_id: int, codes: Sequence[str]) -> list[int]:
    """List carriers for destruction, all or none (R-147); each turns pending destruction with one event."""
    with uow:
        actor_facts(uow, actor, Action.DESTROY)
        seqs = _list(uow, actor, _lock(uow, batch_id), codes, "destruction_add")
        uow.commit()
        return seqs


def retire(uow: UnitOfWork, actor: Signed, codes: Sequence[str], reason: str,
           batch_id: int | None = None) -> tuple[int, list[int]]:
    """Retire (报废) storage media and equipment (R-104, R-120, R-121): the written reason goes with each listing
    event, and the medium goes on a destruction batch (`batch_id`, or a new one opened in the same transaction), so it
    is scrapped only through the batch's approval and a supervised, irreversible destruction. Pending destruction, it
    can no longer be lent or reused. Returns the batch number and the listing events."""
    why = reason.strip()
    if len(why) > 200 or any(ord(ch) < 32 for ch in why):
        raise DomainError("A reason is at most 200 printable characters.", "报废理由最多200个可打印字符。")
    with uow:
        actor_facts(uow, actor, Action.DESTROY)
        now = uow.now()
        carriers = _carriers(uow, codes)
        refuse([v for c in carriers for v in check_retire(carrier_facts(c), why)], "retire",
               carriers[0].code if len(carriers) == 1 else None, actor.badge)
        if batch_id is None:
            b = DestructionBatch(name=f"报废 {why}"[:200], status="open", requested_by=actor.badge, created_at=now,
                                 methods="{}", supervisors="[]")
            uow.session.add(b)
            uow.session.flush()
            uow.ledger.append(EventDraft(EventType.DESTRUCTION_BATCH_OPENED, actor=actor.badge,
                                         payload={"batch": b.id, "name": b.name}), now)
        else:
            b = _lock(uow, batch_id)
        seqs = _list(uow, actor, b, codes, "retire", {"retired": why})
        uow.commit()
        return b.id, seqs


def _carriers(uow: UnitOfWork, codes: Sequence[str]) -> list[Carrier]:
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if not wanted:
        raise DomainError("Name at least one carrier to list.", "请至少指定一件要登记的载体。")
    return [get_carrier(uow, code) for code in wanted]


def _list(uow: UnitOfWork, actor: Signed, b: DestructionBatch, codes: Sequence[str], operation: str,
          extra: Mapping[str, Any] | None = None) -> list[int]:
    """Put carriers on batch `b`'s list, all or none, inside the caller's transaction."""
    now = uow.now()
    facts = _facts(uow, b)
    carriers = _carriers(uow, codes)
    problems: list[Violation] = []
    for c in carriers:
        problems += check_destruction_listing(facts, carrier_facts(c), _open_batch_of(uow, c.id),
                                              _open_finding(uow, c.id))
    refuse(problems, operation, carriers[0].code if len(carriers) == 1 else None, actor.badge)
    seqs = []
    for c in carriers:
        prior = c.status
        uow.session.add(DestructionItem(batch_id=b.id, carrier_id=c.id, prior_status=prior, listed_at=now,
                                        open_carrier_id=c.id))
        c.status, c.updated_at = CarrierStatus.PENDING_DESTRUCTION.value, now
        ev = uow.ledger.append(EventDraft(
            EventType.DESTRUCTION_LISTED, carrier=c.code, actor=actor.badge,
            from_location=c.location.code if c.location else None,
            to_location=c.location.code if c.location else None,
            payload={"batch": b.id, "prior_status": prior, **(extra or {})}), now)
        seqs.append(ev.seq)
    uow.session.flush()
    return seqs


def remove(uow: UnitOfWork, actor: Signed, batch_id: int, codes: Sequence[str]) -> list[int]:
    """Take carriers off a list still being built; each goes back to the status it had (in store or archived)."""
    with uow:
        actor_facts(uow, actor, Action.DESTROY)
        now = uow.now()
        b = _lock(uow, batch_id)
        facts = _facts(uow, b)
        pairs = []
        problems: list[Violation] = []
        for code in dict.fromkeys(c.strip() for c in codes if c.strip()):
            c = get_carrier(uow, code)
            item = uow.session.get(DestructionItem, (b.id, c.id))
            problems += check_destruction_unlisting(facts, c.code, item is not None)
            pairs.append((c, item))
        refuse(problems, "destruction_remove", None, actor.badge)
        seqs = []
        for c, item in pairs:
            assert item is not None
            c.status, c.updated_at = item.prior_status, now
            uow.session.delete(item)
            place = c.location.code if c.location else None
            ev = uow.ledger.append(EventDraft(EventType.DESTRUCTION_UNLISTED, carrier=c.code, actor=actor.badge,
                                              from_location=place, to_location=place,
                                              payload={"batch": b.id, "status": item.prior_status}), now)
            seqs.append(ev.seq)
        uow.session.flush()
        uow.commit()
        return seqs


def submit(uow: UnitOfWork, actor: Signed, batch_id: int, valid_until: datetime, note: str = "") -> int:
    """Freeze the list and ask for its approval (R-146): one request naming every listed carrier, decided by the
    matrix's approvers. Returns the approval number."""
    with uow:
        actor_facts(uow, actor, Action.DESTROY)
        b = _lock(uow, batch_id)
        facts = _facts(uow, b)
        refuse(check_destruction_submit(facts), "destruction_submit", None, actor.badge)
        from tracker.domain import ApprovalPurpose

        a = approvals.new_request(uow, b.requested_by, ApprovalPurpose.DESTRUCTION, [c.code for c in facts.items],
                           valid_until, None, None, note or f"destruction batch #{b.id}", {"batch": b.id})
        b.approval_id, b.status = a.id, "submitted"
        uow.session.flush()
        uow.ledger.append(EventDraft(EventType.APPROVAL_REQUESTED, actor=actor.badge, approval_id=a.id,
                                     payload=approvals.request_payload(uow, a)), uow.now())
        uow.commit()
        return a.id


def reopen(uow: UnitOfWork, actor: Signed, batch_id: int) -> None:
    """A list whose approval was denied, or lapsed unused, may be corrected and sent again (a new request)."""
    with uow:
        actor_facts(uow, actor, Action.DESTROY)
        now = uow.now()
        b = _lock(uow, batch_id)
        a = approvals.approval_facts(uow, b.approval_id)
        refuse(check_destruction_reopen(_facts(uow, b), a, now), "destruction_reopen", None, actor.badge)
        old, b.approval_id, b.status = b.approval_id, None, "open"
        uow.session.flush()
        uow.ledger.append(EventDraft(EventType.DESTRUCTION_BATCH_OPENED, actor=actor.badge, approval_id=old,
                                     payload={"batch": b.id, "name": b.name, "reopened": True}), now)
        uow.commit()


# --- at the destruction site ----------------------------------------------------------------------------------------


def scan(uow: UnitOfWork, actor: Signed, batch_id: int, codes: Sequence[str]) -> ScanResult:
    """Record what the site scanned (carrier codes or EPCs). Listed carriers are ticked; anything else is an extra
    that blocks completion. Scans are kept in the batch (not ledger events: nothing changes custody yet)."""
    with uow:
        actor_facts(uow, actor, Action.DESTROY)
        now = uow.now()
        b = _lock(uow, batch_id)
        refuse(check_destruction_scan(_facts(uow, b), approvals.approval_facts(uow, b.approval_id)),
               "destruction_scan", None, actor.badge)
        matched, extras = [], []
        for raw in codes:
            code = raw.strip()
            if not code:
                continue
            if len(code) > 64 or any(ord(ch) < 32 for ch in code):
                raise DomainError("A scanned code is at most 64 printable characters.",
                                  "扫描的编号最多64个可打印字符。")
            carrier = uow.session.execute(select(Carrier).where(Carrier.code == code)).unique().scalar_one_or_none()
            if carrier is None:
                carrier = find_carrier_by_epc(uow, code)
            item = uow.session.get(DestructionItem, (b.id, carrier.id)) if carrier is not None else None
            if item is not None and carrier is not None:
                if item.scanned_at is None:
                    item.scanned_at, item.scanned_by = now, actor.badge
                    item.scan_method = "barcode" if carrier.code == code else "epc"
                matched.append(carrier.code)
            else:
                shown = carrier.code if carrier is not None else code
                if uow.session.get(DestructionExtra, (b.id, shown)) is None:
                    uow.session.add(DestructionExtra(batch_id=b.id, code=shown, seen_at=now, scanned_by=actor.badge))
                extras.append(shown)
        uow.session.flush()
        uow.commit()
        return ScanResult(matched, extras)


def set_aside(uow: UnitOfWork, actor: Signed, batch_id: int, code: str, reason: str) -> None:
    """An item scanned at the site but not listed is taken away from the destruction, with the reason recorded."""
    with uow:
        actor_facts(uow, actor, Action.DESTROY)
        b = _lock(uow, batch_id)
        extra = uow.session.get(DestructionExtra, (b.id, code.strip()))
        if extra is None:
            raise NotFound(f"{code.strip()} was not scanned as an extra item of batch #{b.id}.",
                           f"{code.strip()} 不是批次 #{b.id} 现场扫描到的清单外物品。")
        if not reason.strip():
            raise DomainError("Say why and where the item was set aside.", "请说明移出原因和去向。")
        extra.set_aside = reason.strip()
        uow.commit()


# --- completion (监销) ----------------------------------------------------------------------------------------------


def parse_methods(kinds: Sequence[CarrierKind], given: Mapping[str, str]) -> dict[CarrierKind, Any]:
    """`{"paper": "shredding", "usb_drive": "physical"}`; the key "*" gives a method to every kind not named."""
    out: dict[CarrierKind, DestructionMethod | Violation] = {}
    for key, value in given.items():
        if key.strip() == "*":
            continue
        out[CarrierKind.parse(key)] = parse_method(value)
    if "*" in given:
        for k in kinds:
            out.setdefault(k, parse_method(given["*"]))
    return out


@dataclass(frozen=True)
class Completion:
    batch: int
    destroyed: list[str]
    head_seq: int
    head_hash: str


def complete(uow: UnitOfWork, actor: Signed, batch_id: int, supervisors: Sequence[Signed | str],
             methods: Mapping[str, str], site: str) -> Completion:
    """Destroy the batch: every listed carrier becomes destroyed, one ledger event each, in one transaction."""
    with uow:
        actor_facts(uow, actor, Action.DESTROY)
        now = uow.now()
        b = _lock(uow, batch_id)
        facts = _facts(uow, b, lock=True)
        people = [get_person(uow, badge_of(s)) for s in supervisors]
        sups = [(person_facts(p), signed_by(s, p.badge)) for p, s in zip(people, supervisors, strict=True)]
        parsed = parse_methods(sorted({c.kind for c in facts.items}), methods)
        approval = approvals.approval_facts(uow, b.approval_id)
        refuse(check_destruction_completion(facts, approval, sups, parsed, site, now, uow.policy, actor.badge),
               "destruction_complete", None, actor.badge)
        kinds = {c.kind for c in facts.items}
        method_of = {k.value: m.value for k, m in parsed.items() if isinstance(m, DestructionMethod) and k in kinds}
        signers = [{"badge": p.badge, "name": p.name,
                    "signed_at": utc_iso(s.at) if isinstance(s, Signed) else ""} for p, s in
                   zip(people, supervisors, strict=True)]
        items = _items(uow, b, lock=True)
        destroyed: list[str] = []
        last = None
        for item, c in items:
            place = c.location.code if c.location else None
            c.status, c.location_id, c.holder_id, c.due_at, c.updated_at = (
                CarrierStatus.DESTROYED.value, None, None, None, now)
            item.open_carrier_id = None
            if b.approval_id is not None:
                approvals.mark_used(uow, b.approval_id, [c.id], now)
            last = uow.ledger.append(EventDraft(
                EventType.DESTROYED, carrier=c.code, actor=actor.badge, from_location=place,
                witness=signers[0]["badge"], approval_id=b.approval_id,
                payload={"batch": b.id, "method": method_of[c.kind], "site": site.strip(),
                         "supervisors": [s["badge"] for s in signers]}), now)
            destroyed.append(c.code)
        assert last is not None
        b.status, b.site, b.completed_by, b.completed_at = "completed", site.strip(), actor.badge, now
        b.methods = json.dumps(method_of, ensure_ascii=False, sort_keys=True)
        b.supervisors = json.dumps(signers, ensure_ascii=False)
        b.head_seq, b.head_hash = last.seq, last.hash
        uow.session.flush()
        uow.commit()
        return Completion(b.id, destroyed, last.seq, last.hash)


# --- reading ------------------------------------------------------------------------------------------------------


def batches(uow: UnitOfWork, status: str | None = None) -> list[dict[str, Any]]:
    q = select(DestructionBatch).order_by(DestructionBatch.id.desc())
    if status:
        q = q.where(DestructionBatch.status == status)
    out = []
    for b in uow.session.execute(q).scalars():
        n = len(_items(uow, b))
        out.append({"id": b.id, "name": b.name, "status": b.status, "requested_by": b.requested_by,
                    "created_at": b.created_at.isoformat(), "items": n, "approval": b.approval_id})
    return out


def view(uow: UnitOfWork, batch_id: int) -> BatchView:
    b = uow.session.get(DestructionBatch, batch_id)
    if b is None:
        raise _no_batch(batch_id)
    a = uow.session.get(Approval, b.approval_id) if b.approval_id else None
    signers: list[tuple[str, str]] = []
    if a is not None:
        signers = [(p.badge, p.name) for p in approvals.signers(uow, a)]
    items = [ItemView(c.code, c.title, c.doc_number, c.copy_number, c.copy_total, c.kind, c.classification,
                      c.status, item.scanned_at) for item, c in _items(uow, b)]
    extras = [(e.code, e.set_aside) for e in uow.session.execute(
        select(DestructionExtra).where(DestructionExtra.batch_id == b.id).order_by(DestructionExtra.code)).scalars()]
    return BatchView(b.id, b.name, b.status, b.requested_by, b.created_at, b.approval_id, a.status if a else None,
                     signers, items, extras, b.site, json.loads(b.methods or "{}"), json.loads(b.supervisors or "[]"),
                     b.completed_by, b.completed_at, b.head_seq, b.head_hash)


# --- helpers ------------------------------------------------------------------------------------------------------


def _no_batch(batch_id: int) -> NotFound:
    return NotFound(f"No destruction batch #{batch_id}.", f"没有编号为 #{batch_id} 的销毁批次。")


def _lock(uow: UnitOfWork, batch_id: int) -> DestructionBatch:
    b = uow.session.execute(select(DestructionBatch).where(DestructionBatch.id == batch_id).with_for_update()
                            .execution_options(populate_existing=True)).scalar_one_or_none()
    if b is None:
        raise _no_batch(batch_id)
    return b


def _items(uow: UnitOfWork, b: DestructionBatch, lock: bool = False) -> list[tuple[DestructionItem, Carrier]]:
    q = (select(DestructionItem, Carrier).join(Carrier, Carrier.id == DestructionItem.carrier_id)
         .where(DestructionItem.batch_id == b.id).order_by(Carrier.code))
    if lock:
        q = q.with_for_update(of=Carrier)
    return [(i, c) for i, c in uow.session.execute(q.execution_options(populate_existing=True)).unique()]


def _facts(uow: UnitOfWork, b: DestructionBatch, lock: bool = False) -> BatchFacts:
    items = _items(uow, b, lock)
    extras = uow.session.execute(select(DestructionExtra.code).where(
        DestructionExtra.batch_id == b.id, DestructionExtra.set_aside.is_(None))).scalars()
    return BatchFacts(b.id, b.status, b.requested_by, tuple(carrier_facts(c) for _, c in items),
                      frozenset(c.code for i, c in items if i.scanned_at is not None), frozenset(extras))


def _open_batch_of(uow: UnitOfWork, carrier_id: int) -> int | None:
    return uow.session.execute(select(DestructionItem.batch_id).where(
        DestructionItem.open_carrier_id == carrier_id)).scalar()


def _open_finding(uow: UnitOfWork, carrier_id: int) -> str | None:
    """The kind of an unresolved finding about this carrier in a stock-take still open, if any."""
    resolved = select(StocktakeResolution.subject).where(and_(
        StocktakeResolution.session_id == StocktakeFinding.session_id,
        StocktakeResolution.kind == StocktakeFinding.kind,
        StocktakeResolution.subject == StocktakeFinding.subject)).exists()
    return uow.session.execute(
        select(StocktakeFinding.kind).join(StocktakeSession, StocktakeSession.id == StocktakeFinding.session_id)
        .where(StocktakeFinding.carrier_id == carrier_id, StocktakeSession.status == "open",
               StocktakeFinding.kind != "found", ~resolved).limit(1)).scalar()

