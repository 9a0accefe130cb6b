"""Two-person integrity through the services, on SQLite and PostgreSQL: each way one person defeated a two-person
rule on the old main (issue 15, "Why") now ends in a refusal naming its rule, and nothing is written but the audit."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from tests_support import approve, count_events, state_of

from tracker.demo import badge, place
from tracker.domain import Classification
from tracker.ledger import verify
from tracker.policy import policy_document
from tracker.rules import Policy
from tracker.schema import Carrier, Event, Person, PolicyVersion, Refusal
from tracker.services import approvals, circulation, personnel, registry, seals
from tracker.services import audit as audit_log
from tracker.services import policy as policy_service
from tracker.services.common import AuthError, Refused, Signed, authenticate, change_own_pin
from tracker.store import Store

SHELF = place("BJ", "R2C1S1")
SAFE = place("BJ", "R1SAFE1")
READING = place("BJ", "R1")


def register(store: Store, clerk: Signed, level: str = "secret", **kw: object) -> str:
    data = registry.CarrierInput(location=str(kw.pop("location", SHELF)), classification=level, period="10y",
                                 scope=str(kw.pop("scope", "法规处;技术处")), copy_number=1, copy_total=1,
                                 title="测试文件", **kw)  # type: ignore[arg-type]
    return registry.register(store.uow(), clerk, data)


def refused(fn: object, *args: object, **kw: object) -> list[str]:
    with pytest.raises(Refused) as err:
        fn(*args, **kw)  # type: ignore[operator]
    return err.value.rules


def until(store: Store, hours: int = 4) -> object:
    return store.clock() + timedelta(hours=hours)


# --- the policy is the register's, not the client's -------------------------------------------------------------------


def test_policy_change_needs_a_second_person_and_is_one_ledger_event(db_url: str, clock: object,
                                                                     people: dict[str, Signed]) -> None:
    store = Store(db_url, terminal="t", clock=clock)  # type: ignore[arg-type]  # no override: the register's policy
    try:
        assert store.policy.two_person_levels == frozenset({Classification.TOP_SECRET})
        # A clerk may not propose; the security officer may, and may not approve his own proposal.
        assert refused(policy_service.propose, store.uow(), people["clerk"], {"carry_out_max_days": 3}) == ["R-25"]
        n = policy_service.propose(store.uow(), people["officer"], {"carry_out_max_days": 3}, "shorter trips")
        assert store.uow().policy.carry_out_max_days == 14  # nothing changes until approved
        assert "R-25" in refused(approvals.decide, store.uow(), people["officer"], n, True)
        before = count_events(store)
        assert approvals.decide(store.uow(), people["approver"], n, True) == "granted"
        with store.uow(readonly=True) as uow:
            assert uow.policy.carry_out_max_days == 3
            versions = uow.session.execute(select(PolicyVersion.id)).scalars().all()
            payload = uow.session.execute(select(Event.payload).where(Event.type == "policy_changed")
                                          .order_by(Event.seq.desc())).scalars().first()
        assert versions == [1, 2] and count_events(store) == before + 2  # the decision and the policy change
        assert payload is not None
        assert json.loads(payload)["changes"] == {"carry_out_max_days": {"old": 14, "new": 3}}
        with store.engine.connect() as conn:
            assert verify(conn).ok
    finally:
        store.dispose()


def test_a_weak_policy_proposal_waits_and_a_stale_one_is_refused(db_url: str, clock: object,
                                                                  people: dict[str, Signed]) -> None:
    store = Store(db_url, terminal="t", clock=clock)  # type: ignore[arg-type]
    try:
        weak = {"two_person_levels": [], "carry_out_levels": [], "carry_out_max_days": 3650}
        first = policy_service.propose(store.uow(), people["officer"], weak)
        second = policy_service.propose(store.uow(), people["officer"], {"pin_attempts": 3})
        assert approvals.decide(store.uow(), people["approver"], second, True) == "granted"
        # The first proposal was made against version 1; granting it now would undo version 2 silently.
        with pytest.raises(Exception, match="has changed since"):
            approvals.decide(store.uow(), people["approver"], first, True)
        assert store.uow().policy.two_person_levels == frozenset({Classification.TOP_SECRET})
    finally:
        store.dispose()


def test_policy_changes_and_exports_are_in_the_audit_log(db_url: str, clock: object,
                                                         people: dict[str, Signed]) -> None:
    """The security officer reads there, beside refusals and role changes, who proposed and who approved a policy
    change and who took the whole register away (issue 15, What to build 5)."""
    store = Store(db_url, terminal="t", clock=clock)  # type: ignore[arg-type]
    try:
        n = policy_service.propose(store.uow(), people["officer"], {"carry_out_max_days": 3})
        approvals.decide(store.uow(), people["approver"], n, True)
        code = register(store, people["clerk"])
        rows = audit_log.export_register(store.uow(), people["clerk"], "csv")
        assert [r.code for r in rows] == [code]
        assert refused(audit_log.export_register, store.uow(), people["admin"], "csv") == ["R-25"]
        log = audit_log.entries(store.uow(), people["auditor"], since=store.clock() - timedelta(minutes=1))
        mine = [(e.kind, e.actor, e.action, json.loads(e.detail) if e.detail.startswith("{") else e.rules)
                for e in reversed(log)]
        assert mine == [
            ("policy_change", badge("officer"), "policy_propose",
             {"request": n, "changes": {"carry_out_max_days": {"old": 14, "new": 3}}}),
            ("policy_change", badge("approver"), "policy_change", {"request": n, "version": 2}),
            ("export", badge("clerk"), "export", {"register": "carriers", "medium": "csv", "rows": len(rows),
                                                  "head": count_events(store)}),
            ("refused", badge("admin"), "registers", "R-25"),
        ]
    finally:
        store.dispose()


# --- nobody approves what they request, execute or benefit from ------------------------------------------------


def test_requested_by_the_approver_himself_is_refused(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"])
    before = count_events(store)
    rules = refused(approvals.grant, store.uow(), people["approver"], "loan", [code], until(store),
                    grantee=badge("reader_important"), requested_by=badge("approver"))
    assert "R-25" in rules and count_events(store) == before


def test_an_approver_may_not_approve_a_loan_to_himself(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"])
    assert "R-25" in refused(approvals.grant, store.uow(), people["approver"], "loan", [code], until(store),
                             grantee=badge("approver"), requested_by=badge("clerk"))


def test_approver_with_important_clearance_cannot_approve_top_secret(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"], "top_secret", location=SAFE)
    rules = refused(approvals.grant, store.uow(), people["approver3"], "loan", [code], until(store),
                    grantee=badge("reader_core"), requested_by=badge("clerk"))
    assert "R-159" in rules  # 重要 clearance signs nothing 绝密
    assert "R-63" in rules  # and the matrix names the office leader for 绝密 loans, not a plain approver


def test_approvals_are_not_recorded_for_someone_who_could_never_use_them(store: Store,
                                                                      people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"], scope="法规处")
    assert refused(approvals.grant, store.uow(), people["approver"], "loan", [code], until(store),
                   grantee=badge("reader_general"), requested_by=badge("clerk")) == ["R-159"]  # 一般 for 机密
    assert refused(approvals.grant, store.uow(), people["approver"], "loan", [code], until(store),
                   grantee=badge("reader_core"), requested_by=badge("clerk")) == ["R-54"]  # 技术处, outside the scope


@pytest.mark.parametrize("purpose", ["loan", "carry_out"])
def test_a_loan_or_carry_out_approval_is_for_someone(store: Store, people: dict[str, Signed], purpose: str) -> None:
    """An approval for nobody in particular would serve whoever brings the carrier: refused when asked for, whether
    raised by the clerk or granted at once by the approver (the command line as the counter)."""
    code = register(store, people["clerk"])
    before = count_events(store)
    rule = "R-63" if purpose == "loan" else "R-92"
    assert refused(approvals.request, store.uow(), people["clerk"], purpose, [code], until(store)) == [rule]
    assert refused(approvals.grant, store.uow(), people["approver"], purpose, [code], until(store),
                   requested_by=badge("clerk")) == [rule]
    assert count_events(store) == before
    with store.uow(readonly=True) as uow:  # each refusal is audited against whoever was refused
        rows = uow.session.execute(select(Refusal.actor, Refusal.action, Refusal.carrier)
                                   .order_by(Refusal.id.desc()).limit(2)).all()
    assert [tuple(r) for r in rows] == [(badge("approver"), "approve", code), (badge("clerk"), "request", code)]


def test_validity_is_bounded_by_the_matrix(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"])
    assert refused(approvals.grant, store.uow(), people["approver"], "loan", [code], until(store, 24 * 30),
                   grantee=badge("reader_important"), requested_by=badge("clerk")) == ["R-63"]


def test_request_at_the_counter_then_decided_then_used_without_its_number(store: Store,
                                                                          people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"])
    n = approvals.request(store.uow(), people["clerk"], "loan", [code], until(store), badge("reader_important"))
    # Pending: the loan is refused and names the rule.
    assert refused(circulation.check_out, store.uow(), people["clerk"], code, people["reader_important"]) == ["R-63"]
    assert "R-25" in refused(approvals.decide, store.uow(), people["clerk"], n, True)  # a clerk is no approver
    assert approvals.decide(store.uow(), people["approver"], n, True) == "granted"
    circulation.check_out(store.uow(), people["clerk"], code, people["reader_important"])
    assert state_of(store, code) == ("on_loan", badge("reader_important"), None)


def test_a_denial_gives_its_reason_and_stays_denied(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"])
    n = approvals.request(store.uow(), people["clerk"], "loan", [code], until(store), badge("reader_important"))
    with pytest.raises(Exception, match="reason"):
        approvals.decide(store.uow(), people["approver"], n, False, "")
    assert approvals.decide(store.uow(), people["approver"], n, False, "不属于本项目") == "denied"
    [view] = approvals.views(store.uow(), ids=[n])
    assert view.status == "denied"
    rules = refused(circulation.check_out, store.uow(), people["clerk"], code, people["reader_important"],
                    approval_id=n)
    assert rules == ["R-63"]


def test_top_secret_copy_needs_the_issuing_units_approver_not_a_flag(store: Store,
                                                                      people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"], "top_secret", location=SAFE, issuer="技术处")
    a = approve(store, people["approver"], "copy", code, copies=5)
    assert approvals.decide(store.uow(), people["approver2"], a, True) == "pending"  # 法规处 is not the issuer
    assert refused(registry.copy, store.uow(), people["clerk"], code, 5, a) == ["R-74"]


def test_declassification_needs_two_approvers_and_an_executor_who_signed_none(store: Store,
                                                                           people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"])
    a = approve(store, people["approver"], "declassify", code)
    assert refused(registry.reclassify, store.uow(), people["officer"], code, "unclassified", None, None, a) \
        == ["R-08"]  # one signature of two: still pending
    assert approvals.decide(store.uow(), people["approver2"], a, True) == "granted"
    registry.reclassify(store.uow(), people["officer"], code, "unclassified", None, None, a)
    assert state_of(store, code)[0] == "in_store"


def test_a_clerk_alone_carries_no_top_secret_out_for_years(store: Store, people: dict[str, Signed]) -> None:
    """The weak client policy's scenario (issue 15, Why): whatever a client file said, the register's policy refuses
    a 绝密 carry-out with no approval, no second person and a 3000-day term, and writes nothing."""
    code = register(store, people["clerk"], "top_secret", location=SAFE)
    before = count_events(store)
    rules = refused(circulation.carry_out, store.uow(), people["clerk"], code, people["reader_core"],
                    store.clock() + timedelta(days=3000), None)
    assert {"R-92", "R-93"} <= set(rules)  # no approval, and 绝密 leaves with two people
    assert count_events(store) == before and state_of(store, code)[0] == "in_store"


def _give_roles(store: Store, people: dict[str, Signed], key: str, roles: list[str]) -> Signed:
    """The legitimate way a second role is held: requested by the administrator, approved by someone else."""
    n = personnel.request_change(store.uow(), people["admin"], badge(key), roles=roles)
    assert approvals.decide(store.uow(), people["approver"], n, True) == "granted"
    personnel.change_person(store.uow(), people["admin"], badge(key), roles=roles, approval_id=n)
    return Signed(badge(key), store.clock())


def test_whoever_signed_a_copy_may_not_make_it(store: Store, people: dict[str, Signed]) -> None:
    """An approver who also works the registry approved copies and made them himself (the old copy path never
    compared the approver with the operator)."""
    both = _give_roles(store, people, "clerk2", ["clerk", "approver"])
    code = register(store, people["clerk"])
    a = approve(store, both, "copy", code, copies=5)
    before = count_events(store)
    assert "R-25" in refused(registry.copy, store.uow(), both, code, 5, a)
    assert count_events(store) == before
    assert len(registry.copy(store.uow(), people["clerk"], code, 5, a)) == 5  # another clerk may


def test_whoever_signed_a_declassification_may_not_carry_it_out(store: Store, people: dict[str, Signed]) -> None:
    """The security officer who is also an approver signed the 秘密 → 无密 change and then made it."""
    both = _give_roles(store, people, "officer", ["security_officer", "clerk", "approver"])
    code = register(store, people["clerk"], "confidential")
    a = approve(store, both, "declassify", code)
    assert approvals.decide(store.uow(), people["approver2"], a, True) == "granted"
    before = count_events(store)
    assert "R-25" in refused(registry.reclassify, store.uow(), both, code, "unclassified", None, None, a)
    assert count_events(store) == before
    with store.uow(readonly=True) as uow:
        assert uow.session.execute(select(Event.type).where(Event.carrier == code, Event.type == "reclassified")
                                   ).first() is None


def test_the_administrator_never_seals_the_ledger(store: Store, people: dict[str, Signed]) -> None:
    """The administrator's acts are in the chain a seal attests; he may neither seal nor take the roles that do."""
    before = count_events(store)
    assert refused(seals.seal, store.uow(), people["admin"]) == ["R-25"]
    assert "R-25" in refused(personnel.request_change, store.uow(), people["admin"], badge("admin"),
                             roles=["admin", "security_officer", "auditor"])
    assert count_events(store) == before
    seals.seal(store.uow(), people["auditor"])


def test_widening_the_need_to_know_is_a_scope_extension(store: Store, people: dict[str, Signed]) -> None:
    """扩大知悉范围 is its own row of the matrix: a reclassification approval does not widen a scope, a scope
    extension approval does, and whoever signed it may not carry it out."""
    code = register(store, people["clerk"], scope="法规处")
    wrong = approve(store, people["approver"], "reclassify", code)
    before = count_events(store)
    assert refused(registry.reclassify, store.uow(), people["officer"], code, "secret", None, "法规处;技术处",
                   wrong) == ["R-54"]
    assert count_events(store) == before
    right = approve(store, people["approver"], "scope_extension", code)
    registry.reclassify(store.uow(), people["officer"], code, "secret", None, "法规处;技术处", right, basis="项目需要")
    with store.uow(readonly=True) as uow:
        scope = uow.session.execute(select(Carrier.scope).where(Carrier.code == code)).scalar_one()
    assert scope == "技术处;法规处"
    # Narrowing the scope, or changing the level, stays a reclassification.
    narrow = approve(store, people["approver"], "reclassify", code)
    registry.reclassify(store.uow(), people["officer"], code, "secret", None, "法规处", narrow, basis="收窄")


# --- separation of duties -------------------------------------------------------------------------------------------


def test_nobody_grants_himself_a_role_or_a_clearance(store: Store, people: dict[str, Signed]) -> None:
    before = count_events(store)
    assert refused(personnel.change_person, store.uow(), people["admin"], badge("admin"),
                   roles=["admin", "approver"]) == ["R-25"]
    assert "R-25" in refused(personnel.change_person, store.uow(), people["officer"], badge("officer"),
                             clearance="core")
    assert count_events(store) == before


def test_role_and_clearance_changes_need_a_granted_approval_for_exactly_that(store: Store,
                                                                             people: dict[str, Signed]) -> None:
    target = badge("reader_general")
    assert refused(personnel.change_person, store.uow(), people["admin"], target, roles=["approver"]) == ["R-25"]
    assert refused(personnel.change_person, store.uow(), people["officer"], target, clearance="core") == ["R-160"]
    n = personnel.request_change(store.uow(), people["officer"], target, clearance="important")
    # A 重要 approver cannot raise anyone to what only 核心 may approve; here 重要 opens 机密, which approver3 may hold.
    assert approvals.decide(store.uow(), people["approver"], n, True) == "granted"
    # The approval is for 重要, not 核心; nor is it usable by the person who signed it.
    assert refused(personnel.change_person, store.uow(), people["officer"], target, clearance="core",
                   approval_id=n) == ["R-160"]
    personnel.change_person(store.uow(), people["officer"], target, clearance="important", approval_id=n)
    assert refused(personnel.change_person, store.uow(), people["officer"], target, clearance="important",
                   approval_id=n) == ["R-160"]  # used once


def test_a_unit_change_needs_an_approval_like_a_role(store: Store, people: dict[str, Signed]) -> None:
    """The unit decides need-to-know (R-54) and which issuing unit one signs for (R-74): the administrator alone moved
    a reader into the unit a carrier is scoped to, and could not change his own."""
    target = badge("reader_core")  # 技术处; the carrier below is scoped to 法规处 only
    code = register(store, people["clerk"], scope="法规处")
    before = count_events(store)
    assert refused(personnel.change_person, store.uow(), people["admin"], target, unit="法规处") == ["R-25"]
    assert refused(personnel.change_person, store.uow(), people["admin"], badge("admin"), unit="法规处") == ["R-25"]
    assert count_events(store) == before
    n = personnel.request_change(store.uow(), people["admin"], target, unit="法规处", note="调岗")
    assert refused(approvals.decide, store.uow(), people["admin"], n, True)  # not his to approve
    assert approvals.decide(store.uow(), people["approver"], n, True) == "granted"
    assert refused(personnel.change_person, store.uow(), people["admin"], target, unit="办公室",
                   approval_id=n) == ["R-25"]  # approved for 法规处, not another unit
    personnel.change_person(store.uow(), people["admin"], target, unit="法规处", approval_id=n)
    a = approve(store, people["approver"], "loan", code, grantee=target)
    circulation.check_out(store.uow(), people["clerk"], code, people["reader_core"], approval_id=a)
    assert state_of(store, code) == ("on_loan", target, None)


def test_an_important_approver_cannot_raise_someone_to_core(store: Store, people: dict[str, Signed]) -> None:
    n = personnel.request_change(store.uow(), people["officer"], badge("reader_important"), clearance="core")
    assert "R-159" in refused(approvals.decide, store.uow(), people["approver3"], n, True)


def test_admin_security_officer_and_auditor_are_three_people(store: Store, people: dict[str, Signed]) -> None:
    n = personnel.request_change(store.uow(), people["admin"], badge("clerk2"), roles=["clerk", "auditor"])
    approvals.decide(store.uow(), people["approver"], n, True)
    personnel.change_person(store.uow(), people["admin"], badge("clerk2"), roles=["clerk", "auditor"], approval_id=n)
    with pytest.raises(Refused) as err:
        personnel.request_change(store.uow(), people["admin"], badge("officer"), roles=["security_officer", "auditor"])
    assert err.value.rules == ["R-25"]
    with pytest.raises(Refused):
        personnel.bootstrap(store.uow(), [personnel.NewPerson("B-BJ-00099W", "x", "办公室", "core",
                                                              ("admin", "auditor"), None)])


def test_a_pin_reset_is_one_time_and_recorded(store: Store, people: dict[str, Signed]) -> None:
    target = badge("approver")
    assert refused(personnel.change_person, store.uow(), people["admin"], people["admin"].badge,
                   pin="739164") == ["R-25"]
    # An approver's PIN is reset only with a witness: a security officer or auditor other than the two of them.
    assert refused(personnel.change_person, store.uow(), people["admin"], target, pin="739164") == ["R-25"]
    assert refused(personnel.change_person, store.uow(), people["admin"], target, pin="739164",
                   witness=people["clerk"]) == ["R-25"]
    personnel.change_person(store.uow(), people["admin"], target, pin="739164", witness=people["auditor"])
    # The administrator now knows a PIN of the approver's, but it signs nothing: it only allows a PIN change.
    sig = authenticate(store.uow(), target, "739164")
    assert sig.must_change_pin
    code = register(store, people["clerk"])
    assert "R-25" in refused(approvals.grant, store.uow(), sig, "loan", [code], until(store),
                             grantee=badge("reader_important"), requested_by=badge("clerk"))
    with pytest.raises(Refused):
        change_own_pin(store.uow(), target, "739164", "111111")  # trivial PINs are refused
    fresh = change_own_pin(store.uow(), target, "739164", "285173")
    assert not fresh.must_change_pin
    with pytest.raises(AuthError):
        authenticate(store.uow(), target, "739164")
    with store.uow(readonly=True) as uow:
        person = uow.session.execute(select(Person).where(Person.badge == target)).scalar_one()
        assert not person.pin_must_change
        payloads = [json.loads(e.payload) for e in uow.session.execute(
            select(Event).where(Event.type == "person_changed", Event.to_holder == target)).scalars()]
    assert {"pin": "reset (one-time)", "witness": badge("auditor")} in payloads
    assert {"pin": "changed by its holder"} in payloads


def test_a_witness_signing_with_a_one_time_pin_witnesses_nothing(store: Store, people: dict[str, Signed]) -> None:
    """The administrator typed the auditor's one-time PIN (a reset, or `tracker init`): signing as that auditor's
    witness with it would be the administrator witnessing himself, and would hand him the approver's PIN."""
    personnel.change_person(store.uow(), people["admin"], badge("auditor"), pin="739164", witness=people["officer"])
    auditor_once = authenticate(store.uow(), badge("auditor"), "739164")
    assert auditor_once.must_change_pin
    before = count_events(store)
    assert refused(personnel.change_person, store.uow(), people["admin"], badge("approver"), pin="739165",
                   witness=auditor_once) == ["R-25"]
    assert count_events(store) == before
    fresh = change_own_pin(store.uow(), badge("auditor"), "739164", "285173")
    personnel.change_person(store.uow(), people["admin"], badge("approver"), pin="739165", witness=fresh)


def test_policy_objects_from_tests_do_not_leak_into_the_register(db_url: str, people: dict[str, Signed]) -> None:
    """The policy argument of Store is for code (tests, benchmarks): a store built without it enforces the
    register's policy, whatever another store in the same process was given."""
    weak = Store(db_url, policy=Policy(two_person_levels=frozenset()))
    strict = Store(db_url)
    try:
        assert policy_document(strict.policy)["two_person_levels"] == ["top_secret"]
        assert policy_document(weak.policy)["two_person_levels"] == []
    finally:
        weak.dispose()
        strict.dispose()
