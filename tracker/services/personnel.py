"""People at the register: adding them, changing clearance or roles, and the departure check (清退, R-140).

A departed person keeps their history but loses their PIN and every role (R-143). Nobody is marked departed while
anything is still on their name. Roles and clearances change only with a granted approval for exactly that change,
executed by someone who did not approve it; the three 三员 roles never meet on one person (R-25).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select

from labels.codes import normalize
from tracker.domain import ApprovalPurpose, Clearance, DomainError, EventType, PersonStatus, Role
from tracker.ledger import EventDraft
from tracker.rules import (
    Action,
    Violation,
    check_departure,
    check_leaving_post,
    check_person_change,
    check_pin,
    check_roles,
)
from tracker.schema import Approval, Carrier, Loan, Person, PersonRecord
from tracker.services import approvals
from tracker.services.common import (
    NotFound,
    Refused,
    Signed,
    actor_facts,
    get_person,
    hash_pin,
    person_facts,
    printable_code,
    refuse,
    valid_code,
)
from tracker.store import UnitOfWork
from tracker.text import check_fields, clean


def _roles(roles: Iterable[str]) -> str:
    return ",".join(sorted({Role.parse(r).value for r in roles if r.strip()}))


def _role_set(text: str) -> frozenset[Role]:
    return frozenset(Role(r) for r in text.split(",") if r)


@dataclass(frozen=True)
class NewPerson:
    badge: str
    name: str
    unit: str
    clearance: str
    roles: tuple[str, ...]
    pin: str | None
    one_time_pin: bool = False  # set by someone else: good only for choosing a new PIN at first sign-in


def bootstrap(uow: UnitOfWork, people: Sequence[NewPerson], company_prefixes: Sequence[str] = ()) -> list[str]:
    """The first people of an empty register (`tracker init`, the demo), in one transaction: there is nobody yet to
    approve their roles and clearances, so they are what the register starts from — still three different people for
    the three 三员 roles (R-25). Refused once anyone is registered: from then on every role and clearance goes
    through the approval matrix. The register's GS1 company prefixes go in the same transaction
    (`tracker.epc_scope`), so a refused init records none of them."""
    from tracker.epc_scope import stage_company_prefixes

    for p in people:
        refuse(check_roles(p.badge, _role_set(_roles(p.roles))), "add_person", None, None)
    with uow:
        if uow.session.execute(select(Person.id).limit(1)).first() is not None:
            raise DomainError("The register already has people: add more with `person add` (roles and clearance "
                              "through an approval).",
                              "登记库中已有人员：请用 `person add` 添加（角色和涉密等级须经审批）。")
        stage_company_prefixes(uow, company_prefixes)
        out = [_insert(uow, None, p, p.roles, p.clearance) for p in people]
        uow.commit()
        return out


def _insert(uow: UnitOfWork, actor: str | None, p: NewPerson, roles: Iterable[str], clearance: str) -> str:
    check_fields((("badge", p.badge), ("name", p.name), ("unit", p.unit)))
    level = Clearance.parse(clearance)
    badge = printable_code(valid_code(p.badge, "badge"), "badge")
    if uow.session.execute(select(Person.id).where(Person.badge == badge)).first():
        raise DomainError(f"Badge {badge} is already registered.", f"工号 {badge} 已登记。")
    role_text = _roles(roles)
    refuse(check_roles(badge, _role_set(role_text)), "add_person", None, actor)
    if p.pin is not None:
        refuse(check_pin(p.pin, badge, uow.policy), "add_person", None, actor)
    uow.session.add(Person(badge=badge, name=p.name, unit=p.unit, clearance=level.value, roles=role_text,
                           status=PersonStatus.ACTIVE.value,
                           pin_hash=hash_pin(p.pin, uow.policy) if p.pin else None,
                           failed_pins=0, pin_must_change=p.pin is not None and (actor is not None or p.one_time_pin)))
    uow.session.flush()
    uow.ledger.append(EventDraft(EventType.PERSON_ADDED, actor=actor, to_holder=badge,
                                 payload={"name": p.name, "unit": p.unit, "clearance": level.value,
                                          "roles": role_text}), uow.now())
    return badge


def add_person(uow: UnitOfWork, actor: Signed | None, badge: str, name: str, unit: str, clearance: str,
               roles: Iterable[str], pin: str | None, approval_id: int | None = None) -> str:
    """Add a person (the administrator). Without an approval the person starts with no clearance and no role; with
    a granted `role_change`/`clearance_change` approval whose request names this badge, they start with what it
    approved. A PIN set here is one-time: the person replaces it at their first sign-in. `actor=None` only for the
    very first person of an empty register."""
    if actor is None:
        return bootstrap(uow, [NewPerson(badge, name, unit, clearance, tuple(roles), pin)])[0]
    with uow:
        actor_facts(uow, actor, Action.MANAGE_PEOPLE)
        check_fields((("badge", badge), ("name", name), ("unit", unit)))
        wanted_roles, level = _roles(roles), Clearance.parse(clearance)
        badge = valid_code(badge, "badge")
        if wanted_roles or level != Clearance.NONE:
            _use_person_approval(uow, actor, approval_id, badge, roles=wanted_roles or None,
                                 clearance=level.value if level != Clearance.NONE else None)
        out = _insert(uow, actor.badge, NewPerson(badge, name, unit, clearance, tuple(roles), pin), roles, clearance)
        uow.commit()
        return out


def _use_person_approval(uow: UnitOfWork, actor: Signed, approval_id: int | None, badge: str,
                         roles: str | None, clearance: str | None, unit: str | None = None) -> None:
    """A role, unit or clearance change is done only with a granted approval for exactly that change, by someone who
    did not approve it (R-160, R-25); the approval is then used up. A unit change is a post change, approved as a
    role change: the unit decides need-to-know (R-54) and for which issuing unit one approves (R-74)."""
    purposes = [p for p, wanted in ((ApprovalPurpose.ROLE_CHANGE, roles if roles is not None else unit),
                                    (ApprovalPurpose.CLEARANCE_CHANGE, clearance)) if wanted is not None]
    rule = "R-160" if clearance is not None else "R-25"
    what = [w for w, v in (("role", roles), ("unit", unit), ("clearance", clearance)) if v is not None]
    what_zh = [w for w, v in (("角色", roles), ("部门", unit), ("涉密等级", clearance)) if v is not None]
    if approval_id is None:
        raise Refused([Violation(rule, f"Changing {badge}'s {' and '.join(what)} "
                                       "needs a granted approval: raise a request for it first.",
                                 f"变更 {badge} 的{'和'.join(what_zh)}须经审批，请先提出审批申请。")],
                      "person_change", None, actor.badge)
    a = uow.session.execute(select(Approval).where(Approval.id == approval_id).with_for_update()).scalar_one_or_none()
    if a is None:
        raise NotFound(f"No approval #{approval_id}.", f"没有编号为 #{approval_id} 的审批。")
    change = json.loads(a.request or "{}")
    signed = {p.badge for p in approvals.signers(uow, a)}
    now = uow.now()
    problems = []
    if a.status != "granted" or ApprovalPurpose(a.purpose) not in purposes or a.valid_until < now:
        problems.append(("is not a granted, valid approval for this change", "不是针对此变更的有效审批"))
    if (change.get("badge") != badge or change.get("roles") != roles or change.get("clearance") != clearance
            or change.get("unit") != unit):
        problems.append((f"approved {change}, not this change", f"批准的内容为 {change}，与本次变更不符"))
    if change.get("used"):
        problems.append(("was already used", "已使用过"))
    if actor.badge in signed or badge in signed:
        problems.append(("was signed by the person doing or receiving the change", "由执行人或被变更人本人审批"))
    if problems:
        raise Refused([Violation(rule, f"Approval #{approval_id} {en}.", f"审批 #{approval_id} {zh}。")
                       for en, zh in problems], "person_change", None, actor.badge)
    change["used"] = now.isoformat()
    a.request = json.dumps(change, ensure_ascii=False, sort_keys=True)


def change_person(uow: UnitOfWork, actor: Signed, badge: str, clearance: str | None = None,
                  roles: Iterable[str] | None = None, pin: str | None = None, unit: str | None = None,
                  approval_id: int | None = None, witness: Signed | None = None) -> None:
    """Change a person: roles (administrator) or clearance (security officer), each only with a granted approval for
    exactly that change by someone else; a PIN reset (administrator) gives a one-time PIN. Nobody changes their
    own roles, clearance or PIN here (R-25, 三员分立).

    Resetting the PIN of someone who approves, administers, keeps the policy or audits also needs a `witness`: a
    security officer or auditor other than the administrator and the person, signing with badge + PIN. Otherwise
    the administrator who typed the one-time PIN could replace it himself and sign as that approver."""
    with uow:
        p = get_person(uow, badge)
        action = Action.CLEARANCE if clearance is not None and roles is None and pin is None and unit is None \
            else Action.MANAGE_PEOPLE
        _me, facts = actor_facts(uow, actor, action)
        if clearance is not None and action != Action.CLEARANCE:
            actor_facts(uow, actor, Action.CLEARANCE)
        refuse(check_person_change(facts, p.badge, roles=roles is not None, clearance=clearance is not None,
                                   pin=pin is not None, unit=unit is not None), "person_change", None, actor.badge)
        changes: dict[str, str | None] = {}
        new_roles = _roles(roles) if roles is not None else None
        new_level = Clearance.parse(clearance).value if clearance is not None else None
        if new_roles is not None:
            refuse(check_roles(p.badge, _role_set(new_roles)), "person_change", None, actor.badge)
        if unit is not None:
            clean("unit", unit)
        new_unit = unit.strip() if unit is not None and unit.strip() != p.unit else None
        if new_roles is not None or new_level is not None or new_unit is not None:
            _use_person_approval(uow, actor, approval_id, p.badge, new_roles, new_level, new_unit)
        if new_level is not None:
            p.clearance = new_level
            changes["clearance"] = new_level
        if new_roles is not None:
            p.roles = new_roles
            changes["roles"] = new_roles
        if new_unit is not None:
            p.unit = new_unit
            changes["unit"] = new_unit
        if pin is not None:
            refuse(check_pin(pin, p.badge, uow.policy) + _reset_witness(uow, actor, p, witness), "person_change",
                   None, actor.badge)
            if witness is not None:
                changes["witness"] = witness.badge
            p.pin_hash = hash_pin(pin, uow.policy)
            p.pin_must_change = True
            p.failed_pins, p.locked_until = 0, None
            changes["pin"] = "reset (one-time)"  # never the PIN or its hash
        uow.ledger.append(EventDraft(EventType.PERSON_CHANGED, actor=actor.badge, to_holder=badge,
                                     approval_id=approval_id, payload=changes), uow.now())
        uow.commit()
    if changes.keys() & {"roles", "clearance", "pin", "unit"}:
        uow.audit({"actor": actor.badge, "action": "person_change", "carrier": None, "rules": "",
                   "kind": "role_change", "detail": json.dumps({"badge": badge, **changes}, ensure_ascii=False)})


PRIVILEGED = frozenset({Role.APPROVER, Role.OFFICE_LEADER, Role.COMMITTEE, Role.SECURITY_OFFICER, Role.AUDITOR,
                        Role.ADMIN})
_WITNESSES = frozenset({Role.SECURITY_OFFICER, Role.AUDITOR})


def _reset_witness(uow: UnitOfWork, actor: Signed, target: Person, witness: Signed | None) -> list[Violation]:
    if not _role_set(target.roles) & PRIVILEGED:
        return []
    # A witness signing with a one-time PIN is no second person: the administrator may have typed that PIN himself
    # (a reset, or `tracker init`'s first PINs) and would be witnessing his own act.
    if witness is not None and witness.badge not in (actor.badge, target.badge) and not witness.must_change_pin:
        w = get_person(uow, witness.badge)
        if _role_set(w.roles) & _WITNESSES and w.status == PersonStatus.ACTIVE.value:
            return []
    return [Violation("R-25", f"Resetting the PIN of {target.badge}, who holds {target.roles}, needs a witness: a "
                              "security officer or auditor other than you and them signs with badge and PIN.",
                      f"重置 {target.badge}（{target.roles}）的PIN须有见证人：由您与其本人以外的保密办人员或审计员"
                      "刷卡并输入PIN签字。")]


def request_change(uow: UnitOfWork, requester: Signed, badge: str, roles: Iterable[str] | None = None,
                   clearance: str | None = None, valid_for: timedelta = timedelta(days=7), note: str = "",
                   unit: str | None = None) -> int:
    """Ask for a role, unit or clearance change (also for a person about to be added); an approver decides it per
    the matrix, and the administrator or security officer then executes it with the approval's number."""
    if roles is None and clearance is None and unit is None:
        raise DomainError("Name the roles, the unit or the clearance to change.",
                          "请指明要变更的角色、部门或涉密等级。")
    code = normalize(badge)
    change: dict[str, str | None] = {
        "badge": code, "roles": _roles(roles) if roles is not None else None,
        "clearance": Clearance.parse(clearance).value if clearance is not None else None}
    if unit is not None:  # only then, so requests made before units were bound read the same
        clean("unit", unit)
        change["unit"] = unit.strip()
    if change["roles"] is not None:
        refuse(check_roles(code, _role_set(change["roles"])), "request", None, requester.badge)
    with uow:
        exists = uow.session.execute(select(Person.id).where(Person.badge == code)).first() is not None
        until = uow.now() + valid_for
    purpose = "clearance_change" if roles is None and unit is None else "role_change"
    return approvals.request(uow, requester, purpose, [], until, grantee=code if exists else None, note=note,
                             change=change)


def held_by(uow: UnitOfWork, badge: str) -> list[str]:
    """Carriers on a person's name: those they hold now and those still open on loans they signed for."""
    p = get_person(uow, badge)
    open_loans = select(Loan.carrier_id).where(Loan.borrower_id == p.id, Loan.open_carrier_id.is_not(None))
    rows = uow.session.execute(
        select(Carrier.code).where(or_(Carrier.holder_id == p.id, Carrier.id.in_(open_loans))).order_by(Carrier.code)
    ).scalars().all()
    return list(rows)


def departure_check(uow: UnitOfWork, badge: str) -> list[str]:
    with uow:
        return held_by(uow, badge)


def start_departure(uow: UnitOfWork, actor: Signed, badge: str) -> list[str]:
    """Mark a person departing: no new custody for them (R-140); returns what they must still clear back."""
    with uow:
        actor_facts(uow, actor, Action.DEPARTURE)
        p = get_person(uow, badge)
        p.status = PersonStatus.DEPARTING.value
        held = held_by(uow, badge)
        uow.ledger.append(EventDraft(EventType.PERSON_CHANGED, actor=actor.badge, to_holder=badge,
                                     payload={"status": "departing", "still_held": held}), uow.now())
        uow.commit()
        return held


def mark_departed(uow: UnitOfWork, actor: Signed, badge: str) -> None:
    """Refused while anything is on the person's name (R-140); revokes PIN and roles (R-143)."""
    with uow:
        actor_facts(uow, actor, Action.DEPARTURE)
        p = get_person(uow, badge)
        refuse(check_departure(person_facts(p), held_by(uow, badge)), "departure", None, actor.badge)
        p.status, p.pin_hash, p.roles, p.departed_at = PersonStatus.DEPARTED.value, None, "", uow.now()
        uow.ledger.append(EventDraft(EventType.PERSON_DEPARTED, actor=actor.badge, from_holder=badge,
                                     payload={"revoked": "pin,roles"}), uow.now())
        uow.commit()


# --- the secrecy lifecycle: vetting, trainings, exams, pledges, leaving and the 脱密期 -----------------

RECORD_KINDS = ("vetting", "training", "exam", "pledge", "leave_pledge")
RECORD_ZH = {"vetting": "上岗审查", "training": "保密培训", "exam": "保密考试", "pledge": "保密责任状/承诺书",
             "leave_pledge": "离岗保密承诺书"}
_RESULTS = {"vetting": ("passed", "failed"), "exam": ("passed", "failed")}


@dataclass(frozen=True)
class RecordView:
    id: int
    badge: str
    kind: str
    on: date
    result: str | None
    note: str
    recorded_by: str
    recorded_at: datetime


def record(uow: UnitOfWork, actor: Signed, badge: str, kind: str, on: date, result: str | None = None,
           note: str = "") -> int:
    """Record a lifecycle fact of someone else (the security officer; 三员分立: never one's own): a vetting with its
    result, a training, an exam with its result, the yearly pledge or the pledge on leaving. One event each."""
    if kind not in RECORD_KINDS:
        raise DomainError(f"Unknown record {kind!r}: use one of {', '.join(RECORD_KINDS)}.",
                          f"未知的记录类型 {kind!r}：可用 {'、'.join(RECORD_KINDS)}。")
    allowed = _RESULTS.get(kind)
    if allowed is not None and result not in allowed:
        raise DomainError(f"A {kind} is recorded with its result: {' or '.join(allowed)}.",
                          f"{RECORD_ZH[kind]}须登记结果：{' 或 '.join(allowed)}。")
    if allowed is None and result is not None:
        raise DomainError(f"A {kind} has no result.", f"{RECORD_ZH[kind]}无需登记结果。")
    with uow:
        actor_facts(uow, actor, Action.PERSON_RECORD)
        clean("note", note, limit=2000, newlines=True)
        p = get_person(uow, badge)
        if p.badge == actor.badge:
            raise Refused([Violation("R-25", "Nobody records their own vetting, training, exam or pledge.",
                                     "不得登记本人的审查、培训、考试或承诺书。")], "person_record", None, actor.badge)
        now = uow.now()
        tz = uow.policy.tz
        if on > now.astimezone(tz).date():
            raise DomainError(f"{on.isoformat()} is in the future.", f"{on.isoformat()} 晚于今天。")
        r = PersonRecord(person_id=p.id, kind=kind, on=datetime.combine(on, time(12), tz), result=result,
                         note=note, recorded_by=actor.badge, recorded_at=now)
        uow.session.add(r)
        uow.session.flush()
        uow.ledger.append(EventDraft(EventType.PERSON_RECORDED, actor=actor.badge, to_holder=p.badge,
                                     payload={"record": r.id, "kind": kind, "on": on.isoformat(), "result": result,
                                              "note": note}), now)
        uow.commit()
        return r.id


def records(uow: UnitOfWork, badge: str) -> list[RecordView]:
    with uow:
        p = get_person(uow, badge)
        tz = uow.policy.tz
        rows = uow.session.execute(select(PersonRecord).where(PersonRecord.person_id == p.id)
                                   .order_by(PersonRecord.on, PersonRecord.id)).scalars()
        return [RecordView(r.id, p.badge, r.kind, r.on.astimezone(tz).date(), r.result, r.note, r.recorded_by,
                           r.recorded_at) for r in rows]


def leave(uow: UnitOfWork, actor: Signed, badge: str, cooling_off_until: date) -> None:
    """A person leaves a classified post (R-140, R-166–R-170): refused until everything is cleared back and the
    pledge on leaving is recorded. The 脱密期 starts today (the approval of the departure, R-167) and ends on
    `cooling_off_until`, within the bounds for their level; until then they hold no clearance, so nothing can be
    lent to them (R-167 names it). PIN and roles are revoked as on any departure (R-143). One event."""
    with uow:
        actor_facts(uow, actor, Action.DEPARTURE)
        p = get_person(uow, badge)
        if p.badge == actor.badge:
            raise Refused([Violation("R-25", "Nobody records their own leaving.", "不得为本人办理离岗。")],
                          "leave", None, actor.badge)
        if p.status == PersonStatus.DEPARTED.value:
            raise DomainError(f"{p.badge} has already left.", f"{p.badge} 已离岗。")
        now = uow.now()
        today = now.astimezone(uow.policy.tz).date()
        pledged = uow.session.execute(select(PersonRecord.id).where(PersonRecord.person_id == p.id,
                                                                    PersonRecord.kind == "leave_pledge")
                                      .limit(1)).first() is not None
        refuse(check_leaving_post(person_facts(p), held_by(uow, badge), pledged, today, cooling_off_until), "leave",
               None, actor.badge)
        was = p.clearance
        end = datetime.combine(cooling_off_until, time(23, 59, 59), uow.policy.tz)
        p.status, p.pin_hash, p.roles, p.departed_at = PersonStatus.DEPARTED.value, None, "", now
        p.clearance, p.cooling_off_until = Clearance.NONE.value, end
        uow.ledger.append(EventDraft(EventType.PERSON_DEPARTED, actor=actor.badge, from_holder=badge,
                                     payload={"revoked": "pin,roles", "clearance": Clearance.NONE.value,
                                              "was": was, "cooling_off_until": cooling_off_until.isoformat()}),
                          now)
        uow.commit()
