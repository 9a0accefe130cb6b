"""Print runs (印制, RULES §2.3, R-29–R-37): an approved run of numbered copies and the by-products it leaves.

A run is requested (`new`) with everything its approval fixes — document number, title, level, period, scope, the
copy count and the distribution (which unit or person gets each copy) — and one approval request per the matrix
(`ApprovalPurpose.PRINT`, decided through `tracker.services.approvals`). A designated printer (the print room's
clerks: `Action.PRINT`) completes it once (`complete`): exactly the approved number of copies is registered, numbered
after any copies the document already has (a reprint continues at 6 after 1..5, and every copy's "of N" follows, as
`services.registry` keeps it), together with one by-products carrier (proofs, spoiled sheets, plates, discs, counted:
R-34) that stays in the register, locked away in the run's place, until a destruction batch destroys it. One
transaction: one PRINTED event per copy, one PRINT_BYPRODUCTS event and one PRINT_RUN_COMPLETED event carrying the
print-job record (R-36). This module records and reads; the rulebook decides. It never prints more than approved and
never registers a copy outside a run it completes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from labels.codes import make_carrier_code
from tracker.domain import (
    ApprovalPurpose,
    CarrierKind,
    CarrierStatus,
    Classification,
    DomainError,
    EventType,
    Regime,
    Scope,
    SecrecyPeriod,
)
from tracker.ledger import EventDraft
from tracker.rules import (
    Action,
    PrintRunFacts,
    Violation,
    check_place_accepts,
    check_print_completion,
    check_print_request,
)
from tracker.schema import Approval, Carrier, Person, PrintRun
from tracker.services import approvals
from tracker.services.common import (
    NotFound,
    Signed,
    actor_facts,
    get_location,
    get_person,
    location_facts,
    person_facts,
    refuse,
)
from tracker.services.registry import InvalidInput, known_scope, next_serial
from tracker.store import UnitOfWork
from tracker.text import check_fields, clean

BYPRODUCT_KINDS = ("sheets", "proofs", "plates", "stencils", "discs", "other")
BYPRODUCT_ZH = {"sheets": "废页", "proofs": "校样", "plates": "印板", "stencils": "蜡版", "discs": "光盘",
                "other": "其他"}


@dataclass(frozen=True)
class RunInput:
    """A print run as typed: text in, validated when it is requested."""

    doc_number: str
    classification: str
    copies: int
    distribution: str
    location: str
    title: str = ""
    issuer: str | None = None
    kind: str = "paper"
    regime: str = "state"
    period: str | None = None
    scope: str | None = None


@dataclass(frozen=True)
class RunView:
    """A run as `print-run show`, the register screen and the print-job record read it."""

    id: int
    status: str
    doc_number: str
    issuer: str | None
    title: str
    kind: str
    classification: str
    period: str | None
    scope: str | None
    copies: int
    distribution: list[tuple[str, int]]
    location: str
    requested_by: str
    created_at: datetime
    approval_id: int | None
    approval_status: str | None
    approvers: list[str]
    first_copy: int | None
    printer: str | None
    proof_reader: str | None
    print_room: str | None
    completed_at: datetime | None
    byproducts: dict[str, int]
    byproduct_code: str | None
    byproduct_status: str | None
    copy_codes: list[str]
    head_seq: int | None
    head_hash: str | None

    @property
    def byproducts_open(self) -> bool:
        """R-34: the by-products are an open duty until a destruction batch destroys them."""
        return self.byproduct_status is not None and self.byproduct_status != CarrierStatus.DESTROYED.value


@dataclass(frozen=True)
class Completion:
    run: int
    copies: list[str]
    byproducts: str
    first: int
    total: int
    head_seq: int
    head_hash: str


def parse_distribution(text: str) -> list[tuple[str, int]]:
    """`法规处:2;技术处:2;@B-BJ-000011:1`: each recipient (a unit, or @badge) and how many copies it gets."""
    out: list[tuple[str, int]] = []
    for item in (i.strip() for i in text.replace("；", ";").replace("，", ";").replace(",", ";").split(";")):
        if not item:
            continue
        who, sep, count = item.replace("：", ":").rpartition(":")
        try:
            n = int(count) if sep else 1
        except ValueError:
            n = 0
        who = (who if sep else count).strip()
        if not who or n < 1:
            raise InvalidInput([Violation("R-29", f"Cannot read the distribution entry {item!r}: write unit:copies "
                                                  "or @badge:copies, separated by ';'.",
                                          f"无法识别发放范围 {item!r}：请写作 单位:份数 或 @工号:份数，以分号分隔。")])
        out.append((who, n))
    if not out:
        raise InvalidInput([Violation("R-29", "Give the distribution: who gets the copies (unit:copies; ...).",
                                      "请填写发放范围：各单位或人员的份数（单位:份数；……）。")])
    return out


def _parse(data: RunInput) -> tuple[Classification, CarrierKind, Regime, SecrecyPeriod | None, Scope | None]:
    problems: list[Violation] = []
    level, kind, regime, period = Classification.UNCLASSIFIED, CarrierKind.PAPER, Regime.STATE, None
    try:
        level = Classification.parse(data.classification)
    except DomainError as e:
        problems.append(Violation("R-01", e.en, e.zh))
    try:
        kind = CarrierKind.parse(data.kind)
    except DomainError as e:
        problems.append(Violation("R-18", e.en, e.zh))
    try:
        period = SecrecyPeriod.parse(data.period)
    except DomainError as e:
        problems.append(Violation("R-02", e.en, e.zh))
    try:
        regime = Regime((data.regime or "state").strip().lower())
    except ValueError:
        problems.append(Violation("R-14", f"Unknown regime {data.regime!r}: use state or company.",
                                  f"无法识别的秘密类别 {data.regime!r}：请使用 state 或 company。"))
    if not data.doc_number.strip():
        problems.append(Violation("R-36", "A print run names its document number (文件编号).",
                                  "印制单须写明文件编号。"))
    if problems:
        raise InvalidInput(problems)
    return level, kind, regime, period, Scope.parse(data.scope)


def new(uow: UnitOfWork, actor: Signed, data: RunInput, valid_until: datetime, note: str = "") -> tuple[int, int]:
    """Request a print run and its approval (R-05, R-29); returns (run number, approval number)."""
    with uow:
        actor_facts(uow, actor, Action.PRINT)
        check_fields((("doc_number", data.doc_number), ("title", data.title), ("issuer", data.issuer),
                      ("scope", data.scope), ("period", data.period), ("note", note)))
        clean("scope", data.distribution)
        now = uow.now()
        level, kind, regime, period, scope = _parse(data)
        distribution = parse_distribution(data.distribution)
        entry: list[Violation] = []
        try:
            if period is not None:
                period.check_entry(now.astimezone(uow.policy.tz).date())
            if scope:
                scope.check_entry(*known_scope(uow))
        except DomainError as e:
            entry.append(Violation("R-02", e.en, e.zh))
        if entry:
            raise InvalidInput(entry)
        place = get_location(uow, data.location)
        recipients = {who: _unit_of(uow, who) for who, _ in distribution}
        facts = PrintRunFacts(0, "requested", level, regime, period, scope, data.copies, tuple(distribution))
        problems = check_print_request(facts, recipients)
        problems += check_place_accepts(f"print run {data.doc_number.strip()}", level, location_facts(place))
        refuse(problems, "print_run_new", None, actor.badge)
        run = PrintRun(status="requested", requested_by=actor.badge, created_at=now, doc_number=data.doc_number.strip(),
                       issuer=(data.issuer or "").strip() or None, title=data.title.strip(), kind=kind.value,
                       regime=regime.value, classification=level.value,
                       period=period.encode() if period else None, scope=scope.encode() if scope else None,
                       copies=data.copies, distribution=json.dumps(distribution, ensure_ascii=False),
                       location=place.code, byproducts="{}")
        uow.session.add(run)
        uow.session.flush()
        change = {"print_run": run.id, "classification": level.value, "doc_number": run.doc_number,
                  "copies": run.copies, "distribution": distribution}
        a = approvals.new_request(uow, actor.badge, ApprovalPurpose.PRINT, [], valid_until, None, data.copies,
                                  note or f"print run #{run.id}", change)
        run.approval_id = a.id
        uow.session.flush()
        uow.ledger.append(EventDraft(EventType.PRINT_RUN_REQUESTED, actor=actor.badge, approval_id=a.id,
                                     to_location=place.code,
                                     payload={**approvals.request_payload(uow, a), **_run_payload(run)}), now)
        uow.commit()
        return run.id, a.id


def _unit_of(uow: UnitOfWork, recipient: str) -> str | None:
    """The unit a distribution entry stands for: a person's unit for `@badge` (None when nobody has the badge)."""
    if not recipient.startswith("@"):
        return recipient
    return uow.session.execute(select(Person.unit).where(Person.badge == recipient[1:].strip())).scalar()


def _run_payload(run: PrintRun) -> dict[str, Any]:
    return {"run": run.id, "doc_number": run.doc_number, "issuer": run.issuer, "title": run.title,
            "classification": run.classification, "kind": run.kind, "period": run.period, "scope": run.scope,
            "copies": run.copies, "distribution": json.loads(run.distribution), "location": run.location}


def complete(uow: UnitOfWork, printer: Signed, run_id: int, printed: int, proof_reader: str,
             byproducts: Mapping[str, int], print_room: str = "", site: str = "BJ") -> Completion:
    """The printer registers the run: exactly the approved copies, numbered after the document's existing copies,
    and its by-products, in one transaction (R-29, R-30, R-34, R-36)."""
    with uow:
        me, me_facts = actor_facts(uow, printer, Action.PRINT)
        clean("name", print_room)
        now = uow.now()
        run = _lock(uow, run_id)
        reader = get_person(uow, proof_reader) if proof_reader.strip() else None
        counts = {}
        for key, n in byproducts.items():
            name = key.strip().lower()
            if name not in BYPRODUCT_KINDS:
                raise InvalidInput([Violation("R-34", f"Unknown by-product {key!r}: use {', '.join(BYPRODUCT_KINDS)}.",
                                              f"无法识别的副产品 {key!r}：可用 "
                                              f"{'、'.join(BYPRODUCT_ZH[k] for k in BYPRODUCT_KINDS)}。")])
            counts[name] = int(n)
        facts = _facts(run)
        approval = approvals.approval_facts(uow, run.approval_id)
        refuse(check_print_completion(facts, approval, printed, me_facts, person_facts(reader) if reader else None,
                                      counts, now, uow.policy), "print_run_complete", None, printer.badge)
        place = get_location(uow, run.location)
        siblings = _copies_of(uow, run.issuer, run.doc_number)
        first = max([c.copy_number or 0 for c in siblings] + [0]) + 1
        total = max([c.copy_total or 0 for c in siblings] + [first - 1 + run.copies])
        stale = sorted((c for c in siblings if c.copy_total != total), key=lambda c: c.code)
        for c in stale:
            c.copy_total, c.updated_at = total, now
        recipients = [who for who, n in json.loads(run.distribution) for _ in range(int(n))]
        serial = next_serial(uow, site)
        codes: list[str] = []
        drafts: list[EventDraft] = []
        for i in range(run.copies):
            code = make_carrier_code(site, serial + i)
            number = first + i
            uow.session.add(Carrier(
                code=code, kind=run.kind, regime=run.regime, classification=run.classification,
                highest_level_held=run.classification if CarrierKind(run.kind).is_storage_medium else None,
                period=run.period, scope=run.scope, title=run.title, doc_number=run.doc_number, issuer=run.issuer,
                copy_number=number, copy_total=total, location_id=place.id, status=CarrierStatus.IN_STORE.value,
                registered_at=now, updated_at=now))
            codes.append(code)
            payload: dict[str, Any] = {"classification": run.classification, "copy": [number, total],
                                       "kind": run.kind, "period": run.period, "scope": run.scope,
                                       "doc_number": run.doc_number, "run": run.id, "for": recipients[i]}
            if i == 0 and stale:  # the document's earlier copies now say "of N" with this N too
                payload["renumbered"] = [c.code for c in stale]
            drafts.append(EventDraft(EventType.PRINTED, carrier=code, actor=printer.badge, to_location=place.code,
                                     approval_id=run.approval_id, payload=payload))
        by_code = make_carrier_code(site, serial + run.copies)
        shown = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
        # Paper by-products are shredded like paper; plates and discs are destroyed physically.
        by_kind = CarrierKind.OTHER if counts.get("plates") or counts.get("discs") else CarrierKind.PAPER
        by = Carrier(code=by_code, kind=by_kind.value, regime=run.regime, classification=run.classification,
                     period=run.period, scope=run.scope, title=f"印制副产品 by-products of {run.doc_number} "
                     f"(print run #{run.id}): {shown}"[:500], copy_number=1, copy_total=1, location_id=place.id,
                     status=CarrierStatus.IN_STORE.value, registered_at=now, updated_at=now)
        uow.session.add(by)
        uow.session.flush()
        drafts.append(EventDraft(EventType.PRINT_BYPRODUCTS, carrier=by_code, actor=printer.badge,
                                 to_location=place.code, approval_id=run.approval_id,
                                 payload={"classification": run.classification, "copy": [1, 1],
                                          "kind": by_kind.value, "run": run.id, "counts": counts}))
        approval_row = uow.session.get(Approval, run.approval_id) if run.approval_id else None
        signers = [p.badge for p in approvals.signers(uow, approval_row)] if approval_row else []
        drafts.append(EventDraft(EventType.PRINT_RUN_COMPLETED, actor=printer.badge, approval_id=run.approval_id,
                                 to_location=place.code, witness=reader.badge if reader else None,
                                 payload={**_run_payload(run), "approvers": signers, "printer": me.badge,
                                          "proof_reader": reader.badge if reader else None,
                                          "print_room": print_room.strip(), "first": first, "total": total,
                                          "copy_codes": codes, "byproducts": by_code, "counts": counts}))
        last = uow.ledger.append_many(drafts, now)[-1]
        head_seq, head_hash = last.seq, last.hash
        run.status, run.first_copy, run.printer = "completed", first, me.badge
        run.proof_reader = reader.badge if reader else None
        run.print_room, run.completed_at = print_room.strip() or None, now
        run.byproducts = json.dumps(counts, sort_keys=True)
        run.byproduct_carrier_id = by.id
        run.head_seq, run.head_hash = head_seq, head_hash
        uow.session.flush()
        uow.commit()
        return Completion(run.id, codes, by_code, first, total, head_seq, head_hash)


def _copies_of(uow: UnitOfWork, issuer: str | None, doc_number: str) -> list[Carrier]:
    """The document's registered copies, locked: their totals follow the reprint (R-30, as `services.registry`)."""
    same_issuer = Carrier.issuer.is_(None) | (Carrier.issuer == "") if not issuer else Carrier.issuer == issuer
    return list(uow.session.execute(
        select(Carrier).where(Carrier.doc_number == doc_number, same_issuer, Carrier.copy_number.is_not(None))
        .with_for_update(of=Carrier)).unique().scalars())


def _lock(uow: UnitOfWork, run_id: int) -> PrintRun:
    run = uow.session.execute(select(PrintRun).where(PrintRun.id == run_id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one_or_none()
    if run is None:
        raise NotFound(f"No print run #{run_id}.", f"没有编号为 #{run_id} 的印制单。")
    return run


def _facts(run: PrintRun) -> PrintRunFacts:
    return PrintRunFacts(run.id, run.status, Classification(run.classification), Regime(run.regime),
                         SecrecyPeriod.parse(run.period), Scope.parse(run.scope), run.copies,
                         tuple((str(w), int(n)) for w, n in json.loads(run.distribution)), run.requested_by)


# --- reading ------------------------------------------------------------------------------------------------------


def view(uow: UnitOfWork, run_id: int) -> RunView:
    run = uow.session.get(PrintRun, run_id)
    if run is None:
        raise NotFound(f"No print run #{run_id}.", f"没有编号为 #{run_id} 的印制单。")
    a = uow.session.get(Approval, run.approval_id) if run.approval_id else None
    by = uow.session.get(Carrier, run.byproduct_carrier_id) if run.byproduct_carrier_id else None
    codes: list[str] = []
    if run.status == "completed" and run.first_copy is not None:
        same = Carrier.issuer.is_(None) if not run.issuer else Carrier.issuer == run.issuer
        codes = list(uow.session.execute(
            select(Carrier.code).where(Carrier.doc_number == run.doc_number, same,
                                       Carrier.copy_number.between(run.first_copy, run.first_copy + run.copies - 1))
            .order_by(Carrier.copy_number)).scalars())
    return RunView(run.id, run.status, run.doc_number, run.issuer, run.title, run.kind, run.classification,
                   run.period, run.scope, run.copies, [(str(w), int(n)) for w, n in json.loads(run.distribution)],
                   run.location, run.requested_by, run.created_at, run.approval_id, a.status if a else None,
                   [p.badge for p in approvals.signers(uow, a)] if a else [], run.first_copy, run.printer,
                   run.proof_reader, run.print_room, run.completed_at, json.loads(run.byproducts or "{}"),
                   by.code if by else None, by.status if by else None, codes, run.head_seq, run.head_hash)


def runs(uow: UnitOfWork, status: str | None = None) -> list[RunView]:
    q = select(PrintRun.id).order_by(PrintRun.id.desc())
    if status:
        q = q.where(PrintRun.status == status)
    return [view(uow, rid) for rid in uow.session.execute(q).scalars()]


def open_byproducts(uow: UnitOfWork) -> list[RunView]:
    """R-34 as a duty: completed runs whose by-products are not destroyed yet."""
    return [r for r in runs(uow, "completed") if r.byproducts_open]
