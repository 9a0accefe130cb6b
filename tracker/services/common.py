"""What every workflow shares: signatures (badge + PIN), refusals, look-ups and row-to-facts conversion.

Services are functions taking a unit of work and a signed actor; they open nothing themselves. Refusals are raised as
`Refused` with the rulebook's violations, so the unit of work rolls back and audits. This module owns PIN hashing
and login throttling; it never logs a PIN or a hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, TypeAlias

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select

from labels.codes import CodeError, check_character, normalize, parse_badge_code, parse_location_code
from tracker import config
from tracker.domain import (
    CarrierKind,
    CarrierStatus,
    Classification,
    Clearance,
    DomainError,
    EventType,
    PersonStatus,
    Regime,
    Role,
    Scope,
    SecrecyPeriod,
)
from tracker.ledger import EventDraft
from tracker.prepared import Prepared
from tracker.rules import (
    Action,
    CarrierFacts,
    LocationFacts,
    PersonFacts,
    Policy,
    Violation,
    check_permission,
    check_pin,
)
from tracker.schema import Carrier, Loan, Location, Person, Refusal, table
from tracker.store import UnitOfWork

AnyRow: TypeAlias = Any
"""A result row of any width, read by column name (the hot path's plain rows: SQLAlchemy `Row`s or the named tuples
of `tracker.prepared`)."""


class Refused(Exception):
    """A rule refused the operation. Nothing was written except the audit row."""

    def __init__(self, violations: list[Violation], action: str, carrier: str | None = None,
                 actor: str | None = None) -> None:
        super().__init__("; ".join(v.message() for v in violations))
        self.violations = violations
        self.audit_row: dict[str, Any] = {
            "actor": actor, "action": action, "carrier": carrier,
            "rules": ",".join(sorted({v.rule for v in violations}))[:200],
        }

    @property
    def rules(self) -> list[str]:
        return sorted({v.rule for v in self.violations})

    def message(self, lang: str = "en") -> str:
        return "\n".join(v.message(lang) for v in self.violations)


class NotFound(DomainError):
    pass


class AuthError(DomainError):
    pass


@dataclass(frozen=True, slots=True)
class Signed:
    """Proof that a person identified themselves with badge and PIN at `at` (a signature, 签字/签收)."""

    badge: str
    at: datetime
    # A one-time PIN from an administrator's reset: good for choosing a new PIN and nothing else.
    must_change_pin: bool = False


# --- PINs ---------------------------------------------------------------------------------------------------------

_hasher: PasswordHasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def configure_hasher(time_cost: int, memory_kib: int) -> None:
    """Tests and the demo may lower the cost; production keeps the OWASP minimum or more."""
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
    _dummy_hash()


def hash_pin(pin: str, policy: Policy | None = None) -> str:
    """The policy's length and triviality checks run first (`rules.check_pin`); this is the last line. The hash costs
    at least the policy's floor whatever the process was configured with (a client's settings may raise the cost,
    never lower it); code without a register at hand (tests, the demo's bootstrap) may pass no policy."""
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise DomainError("A PIN is 4 to 12 digits.", "PIN 须为 4 至 12 位数字。")
    hasher = _hasher
    if policy is not None and (hasher.time_cost < policy.pin_hash_time_cost
                               or hasher.memory_cost < policy.pin_hash_memory_kib):
        hasher = PasswordHasher(time_cost=max(hasher.time_cost, policy.pin_hash_time_cost),
                                memory_cost=max(hasher.memory_cost, policy.pin_hash_memory_kib), parallelism=1)
    return hasher.hash(pin)


_DUMMY: tuple[PasswordHasher, str] | None = None


def _dummy_hash() -> str:
    """A hash to verify against when the badge is unknown, locked or departed, so every failure costs one PIN check
    at the current parameters: made once per hasher, never on the failing path itself (that would cost a second
    argon2 run and tell unknown badges apart by their slowness)."""
    global _DUMMY
    if _DUMMY is None or _DUMMY[0] is not _hasher:
        _DUMMY = (_hasher, _hasher.hash("not-a-pin"))
    return _DUMMY[1]


# The command line read its settings before it loaded this module (tracker.config.pin_hash_cost): configured now, at
# import, so the dummy hash is made before any PIN is checked, as when it calls `configure_hasher` itself.
if config.pin_hash_cost is not None:
    configure_hasher(*config.pin_hash_cost)


def _pin_ok(pin_hash: str | None, pin: str) -> bool:
    try:
        return _hasher.verify(pin_hash or _dummy_hash(), pin) and pin_hash is not None
    except (VerificationError, InvalidHashError):
        return False


_SIGN_IN_FAILED = ("Sign-in failed: unknown badge, wrong PIN, or the badge may not sign in now.",
                   "登录失败：工号或PIN错误，或该工号当前不能登录。")


def authenticate(uow: UnitOfWork, badge: str, pin: str) -> Signed:
    """Badge + PIN → a signature. Wrong PINs are counted; after the policy's attempts the badge is locked a while.

    Every failure — unknown badge, wrong PIN, locked, departed — answers the same words after the same work (a PIN
    check against a dummy hash where there is no real one), so the answer and its timing tell an attacker nothing
    about which badges exist; the real reason goes to the audit log only.
    """
    now = uow.now()
    reason = ""
    with uow:
        policy = uow.policy
        person = uow.session.execute(select(Person).where(Person.badge == badge.strip()).with_for_update()
                                     ).scalar_one_or_none()
        usable = person is not None and person.status != PersonStatus.DEPARTED and not (
            person.locked_until is not None and person.locked_until > now)
        ok = _pin_ok(person.pin_hash if usable and person is not None else None, pin)
        if person is None:
            reason = "unknown badge"
        elif person.status == PersonStatus.DEPARTED:
            reason = "departed (R-143)"
        elif not usable:
            reason = "locked"
        elif not ok:
            reason = "wrong PIN"
            person.failed_pins += 1
            if person.failed_pins >= policy.pin_attempts:
                person.failed_pins = 0
                person.locked_until = now + timedelta(minutes=policy.lockout_minutes)
                reason = "wrong PIN; now locked"
            # The count and its audit row in one transaction: a wrong PIN then costs the same single write as the
            # other failures (an extra commit, with its fsync, would tell real badges apart by their slowness).
            uow.session.add(Refusal(at=now, terminal=uow.store.terminal, **_sign_in_audit(badge, reason)))
            uow.commit()
            raise AuthError(*_SIGN_IN_FAILED)
        else:
            if person.failed_pins or person.locked_until:
                person.failed_pins = 0
                person.locked_until = None
                uow.commit()
            return Signed(person.badge, now, must_change_pin=bool(person.pin_must_change))
    uow.audit(_sign_in_audit(badge, reason))
    raise AuthError(*_SIGN_IN_FAILED)


def _sign_in_audit(badge: str, reason: str) -> dict[str, Any]:
    """The audit row of a failed sign-in: the only place its real reason is kept."""
    return {"actor": badge.strip()[:40], "action": "sign_in", "carrier": None, "rules": "",
            "kind": "signin_locked" if "locked" in reason else "signin_failed", "detail": reason}


def change_own_pin(uow: UnitOfWork, badge: str, old_pin: str, new_pin: str) -> Signed:
    """The one way anyone changes their own PIN: with the PIN they have (a one-time PIN after a reset included)."""
    signed = authenticate(uow, badge, old_pin)
    with uow:
        person = get_person(uow, signed.badge)
        refuse(check_pin(new_pin, person.badge, uow.policy), "pin_change", None, signed.badge)
        if new_pin == old_pin:
            raise DomainError("The new PIN must differ from the old one.", "新PIN须与原PIN不同。")
        person.pin_hash = hash_pin(new_pin, uow.policy)
        person.pin_must_change = False
        uow.ledger.append(EventDraft(EventType.PERSON_CHANGED, actor=signed.badge, to_holder=signed.badge,
                                     payload={"pin": "changed by its holder"}), uow.now())
        uow.commit()
    return Signed(signed.badge, signed.at)


# --- codes ------------------------------------------------------------------------------------------------------


def valid_code(text: str, kind: Literal["badge", "location"]) -> str:
    """A badge or place code as it will be printed and scanned, or a DomainError saying what is wrong (R-18).

    A code stored without its check character could never be scanned back, so it is refused on entry; when only the
    check character is missing the error gives the full code to use.
    """
    code = normalize(text)
    parse = parse_badge_code if kind == "badge" else parse_location_code
    try:
        parse(code)
    except CodeError as e:
        hint_en = hint_zh = ""
        try:
            full = code + check_character(code)
            parse(full)
            hint_en, hint_zh = f" (with its check character: {full})", f"（含校验位应为 {full}）"
        except CodeError:
            pass
        raise DomainError(f"R-18: {e.message_en}{hint_en}.", f"R-18：{e.message_zh}{hint_zh}。") from None
    return code


@lru_cache(maxsize=4)
def _layouts_for(kind: str) -> tuple[tuple[str, Any], ...]:  # (name, labels.layout.Layout): imported on use
    from labels.layout import layout_names, load_layout

    return tuple((n, lay) for n in layout_names() if kind in (lay := load_layout(n)).code_kinds)


def printable_code(code: str, kind: Literal["badge", "location"]) -> str:
    """A new badge or place code, refused (R-18) when a label of its kind could not carry it: a code the register
    issues must print readably on every layout made for it (issue 17), at every printer resolution, so it is refused
    when it is made rather than first at the printer."""
    from labels.layout import LayoutError
    from labels.render.common import check_code_fits

    for name, layout in _layouts_for(kind):
        try:
            check_code_fits(layout, code)
        except LayoutError as e:
            raise DomainError(f"R-18: {code} cannot be printed on the {name} label: {e.message_en}.",
                              f"R-18：{code} 无法打印在 {name} 标签上：{e.message_zh}。") from None
    return code


# --- look-ups and facts -------------------------------------------------------------------------------------------


def get_carrier(uow: UnitOfWork, code: str, lock: bool = True) -> Carrier:
    q = select(Carrier).where(Carrier.code == code.strip())
    if lock:
        q = q.with_for_update(of=Carrier)
    c = uow.session.execute(q.execution_options(populate_existing=True)).unique().scalar_one_or_none()
    if c is None:
        raise _no_carrier(code)
    return c


def find_carrier_by_epc(uow: UnitOfWork, epc: str) -> Carrier | None:
    return uow.session.execute(select(Carrier).where(Carrier.epc == epc.strip().upper())).unique().scalar_one_or_none()


def get_person(uow: UnitOfWork, badge: str) -> Person:
    p = uow.session.execute(select(Person).where(Person.badge == badge.strip())).scalar_one_or_none()
    if p is None:
        raise _no_person(badge)
    return p


def get_location(uow: UnitOfWork, code: str) -> Location:
    loc = uow.session.execute(select(Location).where(Location.code == code.strip())).scalar_one_or_none()
    if loc is None:
        raise _no_location(code)
    return loc


def close_open_loan(uow: UnitOfWork, carrier: Carrier, now: datetime) -> Loan | None:
    """Close the carrier's loan that is still out, if any (at most one: `open_carrier_id` is unique while open),
    and return it; the counter's check-in closes its loan on the fast path instead."""
    loan = uow.session.execute(select(Loan).where(Loan.open_carrier_id == carrier.id)).scalar_one_or_none()
    if loan is not None:
        loan.returned_at = now
        loan.open_carrier_id = None
    return loan


# The same refusals whether a look-up went through the ORM (get_*) or the counter's fast path (*_row).
def _no_carrier(code: str) -> NotFound:
    return NotFound(f"No carrier with code {code!r} in the register.", f"登记簿中没有编号为 {code!r} 的载体。")


def _no_person(badge: str) -> NotFound:
    return NotFound(f"No person with badge {badge!r}.", f"没有工号为 {badge!r} 的人员。")


def _no_location(code: str) -> NotFound:
    return NotFound(f"No location with code {code!r}.", f"没有编号为 {code!r} 的存放位置。")


def person_facts(p: Person | AnyRow) -> PersonFacts:
    return PersonFacts(
        badge=p.badge, name=p.name, unit=p.unit, clearance=Clearance(p.clearance),
        roles=frozenset(Role(r) for r in p.roles.split(",") if r), status=PersonStatus(p.status),
        cooling_off_until=getattr(p, "cooling_off_until", None),
    )


def location_facts(loc: Location | AnyRow) -> LocationFacts:
    return LocationFacts(loc.code, loc.name, Classification(loc.max_level), loc.reading_place)


def carrier_facts(c: Carrier) -> CarrierFacts:
    return _carrier_facts(c, c.holder.badge if c.holder else None, c.location.code if c.location else None)


def carrier_row_facts(r: AnyRow) -> CarrierFacts:
    """Facts from a `carrier_row` (the counter's fast path), identical to `carrier_facts` of the same carrier."""
    return _carrier_facts(r, r.holder_badge, r.location_code)


def _carrier_facts(c: Carrier | AnyRow, holder: str | None, location: str | None) -> CarrierFacts:
    return CarrierFacts(
        code=c.code, kind=CarrierKind(c.kind), regime=Regime(c.regime), level=Classification(c.classification),
        period=SecrecyPeriod.parse(c.period), scope=Scope.parse(c.scope), status=CarrierStatus(c.status),
        holder=holder, location=location, copy_number=c.copy_number, copy_total=c.copy_total,
        highest_level_held=Classification(c.highest_level_held) if c.highest_level_held else None,
    )


# --- the counter's fast path ---------------------------------------------------------------------------------------
# Check-out and check-in run at the counter with a queue of scans behind them. These statements are built once, run on
# the driver's cursor (`tracker.prepared`) and return plain rows: building an ORM query and loading entities, or even
# executing Core through the session, costs several times the database work itself.

_carriers, _people, _locations = table(Carrier), table(Person), table(Location)
_holder, _place = _people.alias("holder"), _locations.alias("place")
_CARRIER_ROW = (
    select(_carriers.c.id, _carriers.c.code, _carriers.c.kind, _carriers.c.regime, _carriers.c.classification,
           _carriers.c.highest_level_held, _carriers.c.period, _carriers.c.scope, _carriers.c.status,
           _carriers.c.copy_number, _carriers.c.copy_total, _carriers.c.due_at, _carriers.c.location_id,
           _carriers.c.holder_id, _holder.c.badge.label("holder_badge"), _place.c.code.label("location_code"))
    .select_from(_carriers.outerjoin(_holder, _holder.c.id == _carriers.c.holder_id)
                 .outerjoin(_place, _place.c.id == _carriers.c.location_id))
    .where(_carriers.c.code == bindparam("code"))
)
_by_code = _carriers.alias("by_code")


def carrier_id_by_code() -> Any:
    """The id of the carrier whose code is bound as `code`, as a sub-select: a read keyed by a carrier's id can then
    be sent with the carrier's own read (`prepared.prefetch`) before the id is known."""
    return select(_by_code.c.id).where(_by_code.c.code == bindparam("code")).scalar_subquery()


_CARRIER_ROW_UNLOCKED = Prepared(_CARRIER_ROW)
_CARRIER_ROW_LOCKED = Prepared(_CARRIER_ROW.with_for_update(of=_carriers))
_PERSON_ROW = Prepared(select(_people.c.id, _people.c.badge, _people.c.name, _people.c.unit, _people.c.clearance,
                              _people.c.roles, _people.c.status, _people.c.cooling_off_until)
                       .where(_people.c.badge == bindparam("badge")))
_LOCATION_ROW = Prepared(select(_locations.c.id, _locations.c.code, _locations.c.name, _locations.c.max_level,
                                _locations.c.reading_place).where(_locations.c.code == bindparam("code")))


def carrier_row(uow: UnitOfWork, code: str, lock: bool = True) -> AnyRow:
    """The carrier's state with its holder's badge and its place's code, locked for the transaction by default."""
    row = (_CARRIER_ROW_LOCKED if lock else _CARRIER_ROW_UNLOCKED).one_or_none(uow.session, {"code": code.strip()})
    if row is None:
        raise _no_carrier(code)
    return row


def location_row(uow: UnitOfWork, code: str) -> AnyRow:
    row = _LOCATION_ROW.one_or_none(uow.session, {"code": code.strip()})
    if row is None:
        raise _no_location(code)
    return row


def signed_parties(uow: UnitOfWork, actor: Signed, action: Action, *others: str) -> list[AnyRow]:
    """The actor (checked for least privilege, R-25) and the other parties.

    Like `actor_facts`, the actor is re-read inside the transaction because roles may have changed since login.
    Returns the actor's row first, then one row per other badge, in the order given.
    """
    out = []
    seen: dict[str, AnyRow] = {}  # one party in two roles (the clerk taking back a carrier himself) is read once
    for i, badge in enumerate([actor.badge, *(b.strip() for b in others)]):
        row = seen.get(badge) or _PERSON_ROW.one_or_none(uow.session, {"badge": badge})
        if row is None:
            raise _no_person(badge)
        if i == 0:
            refuse(check_permission(person_facts(row), action) + _pin_change_due(actor), action.value, None,
                   actor.badge)
        seen[badge] = row
        out.append(row)
    return out


def actor_facts(uow: UnitOfWork, actor: Signed, action: Action) -> tuple[Person, PersonFacts]:
    """Reload the actor inside the transaction (roles may have changed since login) and check least privilege."""
    person = get_person(uow, actor.badge)
    facts = person_facts(person)
    refuse(check_permission(facts, action) + _pin_change_due(actor), action.value, None, actor.badge)
    return person, facts


def _pin_change_due(actor: Signed) -> list[Violation]:
    if actor.must_change_pin:
        return [Violation("R-25", f"{actor.badge} signed in with a one-time PIN: choose a new PIN first "
                                  "(tracker pin change).",
                          f"{actor.badge} 使用的是一次性PIN：请先设置新PIN（tracker pin change）。")]
    return []


def refuse(violations: list[Violation], action: str, carrier: str | None, actor: str | None) -> None:
    if violations:
        raise Refused(violations, action, carrier, actor)


def signed_by(party: Signed | str, badge: str) -> bool:
    return isinstance(party, Signed) and party.badge == badge


def badge_of(party: Signed | str) -> str:
    return party.badge if isinstance(party, Signed) else party.strip()
