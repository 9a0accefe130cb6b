"""Circulation (借阅/传递/携带外出): check-out, check-in, hand-to-hand handover and carrying outside.

Each call is one transaction: lock the carrier row, gather facts, ask the rulebook, then change the state, write the
loan record and append one ledger event per carrier. Any violation refuses the whole call and writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update

from tracker.domain import ApprovalPurpose, CarrierStatus, EventType, utc_iso
from tracker.ledger import EventDraft
from tracker.policy import _VERSION
from tracker.prepared import Prepared, batch, prefetch
from tracker.rules import (
    Action,
    PersonFacts,
    Violation,
    check_carry_out,
    check_checkin,
    check_checkout,
    check_handover,
    check_meeting_bound,
    check_returner,
    in_transit_refusal,
    unique_violations,
)
from tracker.schema import Campaign, CampaignItem, Carrier, Incoming, Loan, Location, TransitItem, table
from tracker.services import campaigns
from tracker.services.approvals import approval_facts, approval_reads, covering, mark_used
from tracker.services.common import (
    _CARRIER_ROW_LOCKED,
    _PERSON_ROW,
    Refused,
    Signed,
    actor_facts,
    badge_of,
    carrier_facts,
    carrier_id_by_code,
    carrier_row,
    carrier_row_facts,
    close_open_loan,
    get_carrier,
    get_person,
    location_facts,
    location_row,
    person_facts,
    refuse,
    signed_by,
    signed_parties,
)
from tracker.store import UnitOfWork
from tracker.text import clean


@dataclass(frozen=True)
class LoanReceipt:
    carrier: str
    holder: str
    due: datetime
    event_seq: int


_loans = table(Loan)
_carriers = table(Carrier)
_from_place = table(Location).alias("from_place")
_SET_CUSTODY = Prepared(
    update(_carriers).where(_carriers.c.id == bindparam("cid"))
    .values(status=bindparam("status"), holder_id=bindparam("holder_id"), location_id=bindparam("location_id"),
            due_at=bindparam("due_at"), updated_at=bindparam("updated_at")))
_LOAN_COLUMNS = ("carrier_id", "borrower_id", "kind", "approval_id", "reading_place_id", "out_at", "due_at",
                 "open_carrier_id", "from_location_id")
_INSERT_LOAN = Prepared(insert(_loans).values({c: bindparam(c) for c in _LOAN_COLUMNS}))
# The open loan of the carrier with this code: read with the carrier in check-in's one round trip of reads.
_OPEN_LOAN = Prepared(
    select(_loans.c.id, _from_place.c.id.label("place_id"), _from_place.c.code, _from_place.c.name,
           _from_place.c.max_level, _from_place.c.reading_place)
    .select_from(_loans.outerjoin(_from_place, _from_place.c.id == _loans.c.from_location_id))
    .where(_loans.c.open_carrier_id == carrier_id_by_code())
)
_CLOSE_LOAN = Prepared(update(_loans).where(_loans.c.id == bindparam("lid"))
                       .values(returned_at=bindparam("returned_at"), open_carrier_id=None))


def check_out(uow: UnitOfWork, actor: Signed, code: str, borrower: Signed | str, due: datetime | None = None,
              approval_id: int | None = None, reading_place: str | None = None) -> LoanReceipt:
    """Lend a carrier in store to a signed borrower (R-54, R-63–R-67, R-159).

    This is the counter's hottest path, so it reads plain rows through prebuilt statements (see
    `common.carrier_row`) and writes with two or three statements plus the ledger's — on PostgreSQL sent as one
    batch (`prepared.batch`), so the writes, the ledger event and the commit cost one round trip, not seven.
    """
    with uow.direct():
        # PostgreSQL: what the checks below read, fetched in one round trip instead of seven (SQLite: nothing)
        reads = [(_PERSON_ROW, {"badge": actor.badge}), (_PERSON_ROW, {"badge": badge_of(borrower).strip()}),
                 (_CARRIER_ROW_LOCKED, {"code": code.strip()}), (_VERSION, {}), (_PERSONAL, {"code": code.strip()})]
        prefetch(uow.session, *reads, *approval_reads(approval_id, code.strip()))
        _op, person = signed_parties(uow, actor, Action.CHECK_OUT, badge_of(borrower))
        now = uow.now()
        c = carrier_row(uow, code)
        place = location_row(uow, reading_place) if reading_place else None
        facts = carrier_row_facts(c)
        policy = uow.policy
        if approval_id is None and facts.level in policy.loan_approval_levels:
            # A request granted at the approvals screen is used by the act it covers without retyping its number.
            approval_id = covering(uow, ApprovalPurpose.LOAN, c.id, person.badge, now)
        approval = approval_facts(uow, approval_id, code.strip())  # prefetched above when the clerk named it
        if due is None and facts.level is not None:
            due = policy.end_of_working_day(now, 0 if facts.level.rank == 4 else policy.loan_max_days)
        refuse(check_checkout(facts, person_facts(person), signed_by(borrower, person.badge), approval, due, now,
                              location_facts(place) if place else None, policy, actor.badge)
               + _personal(uow, c.id, c.code), "check_out", code, actor.badge)
        assert due is not None
        session = uow.session
        # PostgreSQL: the writes, the ledger event (numbered and hashed by the server) and the COMMIT in one message
        with batch(session, commit=True):
            _SET_CUSTODY.execute(session, {"cid": c.id, "status": CarrierStatus.ON_LOAN.value,
                                           "holder_id": person.id, "location_id": None, "due_at": due,
                                           "updated_at": now})
            _INSERT_LOAN.execute(session, {
                "carrier_id": c.id, "borrower_id": person.id, "kind": "loan", "approval_id": approval_id,
                "reading_place_id": place.id if place else None, "out_at": now, "due_at": due,
                "open_carrier_id": c.id, "from_location_id": c.location_id})
            if approval is not None:
                mark_used(uow, approval.id, [c.id], now)
            ev = uow.ledger.append(EventDraft(
                EventType.CHECKED_OUT, carrier=c.code, actor=actor.badge, from_location=c.location_code,
                to_holder=person.badge, approval_id=approval_id,
                payload={"due": utc_iso(due), "reading_place": reading_place}), now)
        uow.commit()
        return LoanReceipt(c.code, person.badge, due, ev.seq)


def check_in(uow: UnitOfWork, actor: Signed, code: str, to_location: str | None = None,
            returned_by: Signed | str | None = None, holder: Signed | None = None) -> int:
    """Take a carrier back into store and close its loan (R-66); returns the ledger sequence number.

    Without `to_location` the carrier goes back where it was lent from. Same fast path as `check_out`. Whether the
    carrier is out at all is judged first: a carrier already in store (or missing, or destroyed) is refused for
    that, not with a question about the place it goes back to, nor about a place that does not exist.
    `returned_by` is who brings it back (R-56, R-66): the holder, a courier or the registry, signing; or a proxy
    with the holder's own signature as `holder`. Left out, the operator (registry staff) took it back themselves —
    the stock-take closing a loan of a carrier found on the shelf — and is recorded as the returner.
    """
    with uow.direct():
        returner_badge = badge_of(returned_by).strip() if returned_by is not None else actor.badge
        # PostgreSQL: what the checks below read, in one round trip (SQLite: nothing)
        by_code = {"code": code.strip()}
        reads = [(_PERSON_ROW, {"badge": actor.badge}), (_CARRIER_ROW_LOCKED, by_code), (_TRANSIT_OF, by_code),
                 (_CAMPAIGNS_OF, by_code), (_OPEN_LOAN, by_code)]
        if returner_badge != actor.badge:
            reads.append((_PERSON_ROW, {"badge": returner_badge}))
        prefetch(uow.session, *reads)
        _op, returner = signed_parties(uow, actor, Action.CHECK_IN, returner_badge)
        now = uow.now()
        c = carrier_row(uow, code)
        facts = carrier_row_facts(c)
        refuse(check_checkin(facts, None) or _transit(uow, c.id, c.code), "check_in", code, actor.badge)
        loan = _OPEN_LOAN.one_or_none(uow.session, by_code)
        if to_location is not None:
            place = location_row(uow, to_location)
            place_id = place.id
        elif loan is not None and loan.place_id is not None:
            place, place_id = loan, loan.place_id
        else:
            raise Refused([Violation("R-66", f"{code}: say where it goes back to (--to LOCATION).",
                                     f"{code}：请指定归还后的存放位置。")], "check_in", code, actor.badge)
        problems = check_checkin(facts, location_facts(place))
        if not problems:
            signer = returned_by if returned_by is not None else actor
            problems = check_returner(facts, person_facts(returner), signed_by(signer, returner.badge),
                                      holder is not None and signed_by(holder, c.holder_badge or ""))
        refuse(problems, "check_in", code, actor.badge)
        due = c.due_at
        overdue = due is not None and now > due
        session = uow.session
        payload: dict[str, object] = {"overdue": overdue, "returned_by": returner.badge,
                                      "returner": _returner_kind(facts.holder, person_facts(returner))}
        if holder is not None and returner.badge != c.holder_badge:
            payload["holder_signed"] = utc_iso(holder.at)
        waiting = [r.campaign_id for r in _CAMPAIGNS_OF.rows(uow.session, {"code": c.code})]
        campaign_ids = campaigns.note_return(uow, c.id, returner.badge, now, waiting)
        if campaign_ids:
            payload["campaigns"] = campaign_ids
        with batch(session, commit=True):  # as in check_out
            _SET_CUSTODY.execute(session, {"cid": c.id, "status": CarrierStatus.IN_STORE.value, "holder_id": None,
                                           "location_id": place_id, "due_at": None, "updated_at": now})
            if loan is not None:
                _CLOSE_LOAN.execute(session, {"lid": loan.id, "returned_at": now})
            ev = uow.ledger.append(EventDraft(EventType.CHECKED_IN, carrier=c.code, actor=actor.badge,
                                              from_holder=c.holder_badge, to_location=place.code,
                                              payload=payload), now)
        uow.commit()
        return ev.seq


def _returner_kind(holder: str | None, p: PersonFacts) -> str:
    """How the register names the returner in the ledger: the holder, the designated channel, or a proxy."""
    if p.badge == holder:
        return "holder"
    if p.is_registry:
        return "registry"
    return "courier" if p.is_courier else "proxy"


def handover(uow: UnitOfWork, actor: Signed, codes: Sequence[str], giver: Signed | str,
             taker: Signed | str) -> list[int]:
    """A hand-to-hand hop (手递手): both parties sign, one event per carrier with both named (R-18, R-24, R-56)."""
    with uow:
        _op, op_facts = actor_facts(uow, actor, Action.HANDOVER)
        now = uow.now()
        g, t = get_person(uow, badge_of(giver)), get_person(uow, badge_of(taker))
        gf, tf = person_facts(g), person_facts(t)
        carriers = _lock_in_code_order(uow, codes)
        if not carriers:
            refuse([Violation("R-18", "Scan at least one carrier to hand over.", "请至少扫描一件要交接的载体。")],
                   "handover", None, actor.badge)
        problems: list[Violation] = []
        for c in carriers:
            problems += check_handover(carrier_facts(c), gf, tf, signed_by(giver, g.badge), signed_by(taker, t.badge),
                                       uow.policy, op_facts)
            problems += _bound(uow, c) + _transit(uow, c.id, c.code)
        refuse(unique_violations(problems), "handover", carriers[0].code if len(carriers) == 1 else None, actor.badge)
        seqs = []
        for c in carriers:
            if c.status != CarrierStatus.CARRIED_OUT.value:
                c.status = (CarrierStatus.IN_TRANSIT if tf.is_courier else CarrierStatus.ON_LOAN).value
            c.holder_id = t.id
            c.updated_at = now
            ev = uow.ledger.append(EventDraft(EventType.HANDED_OVER, carrier=c.code, actor=actor.badge,
                                              from_holder=g.badge, to_holder=t.badge,
                                              payload={"giver_signed": utc_iso(giver.at) if isinstance(giver, Signed)
                                                       else None,
                                                       "taker_signed": utc_iso(taker.at) if isinstance(taker, Signed)
                                                       else None,
                                                       "count": len(carriers)}), now)
            seqs.append(ev.seq)
        uow.commit()
        return seqs


# The open transit a carrier is on, and the open campaigns waiting for it, by carrier code: read in a check-in's
# first batch on PostgreSQL.
_TRANSIT_OF = Prepared(
    select(table(TransitItem).c.transit_id)
    .join(_carriers, _carriers.c.id == table(TransitItem).c.open_carrier_id)
    .where(_carriers.c.code == bindparam("code")))
_CAMPAIGNS_OF = Prepared(
    select(table(CampaignItem).c.campaign_id)
    .join(table(Campaign), table(Campaign).c.id == table(CampaignItem).c.campaign_id)
    .join(_carriers, _carriers.c.id == table(CampaignItem).c.carrier_id)
    .where(_carriers.c.code == bindparam("code"), table(CampaignItem).c.returned_at.is_(None),
           table(Campaign).c.status == "open"))


def _transit(uow: UnitOfWork, carrier_id: int, code: str) -> list[Violation]:
    """R-17, R-55: a carrier on an open transit (`services.transit`) is not checked in or handed on at a counter."""
    row = _TRANSIT_OF.one_or_none(uow.session, {"code": code})
    return [] if row is None else [in_transit_refusal(code, row.transit_id)]


# The addressee of an undelivered 亲启 item, by carrier code: read in the check-out's first batch on PostgreSQL.
_incoming = table(Incoming)
_PERSONAL = Prepared(
    select(_incoming.c.personal_to)
    .join(table(Carrier), table(Carrier).c.id == _incoming.c.carrier_id)
    .where(table(Carrier).c.code == bindparam("code"), _incoming.c.personal_to.is_not(None),
           _incoming.c.delivered_at.is_(None)).limit(1))


def _personal(uow: UnitOfWork, carrier_id: int, code: str) -> list[Violation]:
    """R-21: a 亲启 item not yet delivered goes, unopened, only to its addressee or their proxy, by `incoming
    deliver` — never lent or carried out from the registry's shelf to anyone."""
    row = _PERSONAL.one_or_none(uow.session, {"code": code.strip()})
    addressee = row.personal_to if row is not None else None
    if addressee is None:
        return []
    return [Violation("R-21", f"{code} is 亲启 to {addressee} and not delivered yet: it goes, unopened, to that person "
                              "or their proxy (tracker incoming deliver), not out on a loan.",
                      f"{code} 为 {addressee} 亲启件，尚未递交：只能原封交本人或其代收人（tracker incoming deliver），"
                      "不得借出。")]


def _bound(uow: UnitOfWork, c: Carrier) -> list[Violation]:
    """R-124: a 绝密/机密 document out at a meeting stays at the venue (`services.meetings`)."""
    from tracker.domain import Classification
    from tracker.services.meetings import bound_meeting

    return check_meeting_bound(c.code, Classification(c.classification), bound_meeting(uow, c.id))


def _lock_in_code_order(uow: UnitOfWork, codes: Sequence[str]) -> list[Carrier]:
    """The carriers of `codes`, each row locked, in the caller's order — but locked in code order.

    Two handovers sharing carriers, scanned in different orders, each held the rows it had locked while waiting for
    the other's: PostgreSQL broke the cycle with DeadlockDetected (a 400-line traceback at the counter). Locking in
    one global order (the code) makes the second wait for the first and then be judged on what the first left."""
    locked = {code: get_carrier(uow, code) for code in sorted({c.strip() for c in codes})}
    return [locked[c.strip()] for c in codes]



def carry_out(uow: UnitOfWork, actor: Signed, code: str, custodian: Signed | str, return_due: datetime,
              approval_id: int | None, companion: Signed | str | None = None, destination: str = "") -> int:
    """Carrying a carrier outside the unit with approval, a return deadline and, for 绝密, a second person."""
    with uow:
        actor_facts(uow, actor, Action.CARRY_OUT)
        clean("destination", destination)
        now = uow.now()
        c = get_carrier(uow, code)
        holder = get_person(uow, badge_of(custodian))
        second = get_person(uow, badge_of(companion)) if companion is not None else None
        approval_id = approval_id or covering(uow, ApprovalPurpose.CARRY_OUT, c.id, holder.badge, now)
        approval = approval_facts(uow, approval_id, c.id)
        refuse(check_carry_out(carrier_facts(c), person_facts(holder), signed_by(custodian, holder.badge),
                               person_facts(second) if second else None,
                               second is not None and companion is not None and signed_by(companion, second.badge),
                               approval, return_due, now, uow.policy, actor.badge) + _bound(uow, c)
               + _personal(uow, c.id, c.code), "carry_out", code, actor.badge)
        from_location = c.location
        loan = close_open_loan(uow, c, now)
        c.status, c.holder_id, c.location_id, c.due_at, c.updated_at = (
            CarrierStatus.CARRIED_OUT.value, holder.id, None, return_due, now)
        uow.session.add(Loan(carrier_id=c.id, borrower_id=holder.id, kind="carry_out", approval_id=approval_id,
                             companion_id=second.id if second else None, out_at=now, due_at=return_due,
                             open_carrier_id=c.id,
                             from_location_id=from_location.id if from_location else
                             (loan.from_location_id if loan else None)))
        if approval is not None:
            mark_used(uow, approval.id, [c.id], now)
        uow.session.flush()
        ev = uow.ledger.append(EventDraft(EventType.CARRIED_OUT, carrier=c.code, actor=actor.badge,
                                          from_location=from_location.code if from_location else None,
                                          to_holder=holder.badge, witness=second.badge if second else None,
                                          approval_id=approval_id,
                                          payload={"due": utc_iso(return_due), "destination": destination}), now)
        uow.commit()
        return ev.seq
