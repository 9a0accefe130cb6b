"""The rulebook (`shared/domain/RULES.md`) as pure functions of facts returning violations.

Each check takes plain facts (carrier, people, approval, place, time, policy) and returns a list of `Violation`s; an
empty list means the operation may go ahead. Every violation names its rule id (R-nn) and says, in English and
Chinese, what was refused and what to do next. This module must never touch the database, the clock or the screen:
the services gather facts, call these checks, and write nothing when anything is returned.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from tracker.domain import (
    ApprovalPurpose,
    CarrierKind,
    CarrierStatus,
    Classification,
    Clearance,
    PersonStatus,
    Regime,
    Role,
    Scope,
    SecrecyPeriod,
)


@dataclass(frozen=True, slots=True)
class Violation:
    """A refusal the operator can act on: which rule, what happened, what to do — in both languages."""

    rule: str
    en: str
    zh: str
    # What mends it, for screens that offer the next step (never part of the message, nor of equality):
    # "request" — a new approval request; "pending" — an approver signing the request that is already waiting.
    remedy: str = field(default="", compare=False)

    def message(self, lang: str = "en") -> str:
        return f"{self.rule}: {self.zh if lang == 'zh' else self.en}"


def _v(rule: str, en: str, zh: str) -> Violation:
    return Violation(rule, en, zh)


TS, S, C = Classification.TOP_SECRET, Classification.SECRET, Classification.CONFIDENTIAL
_AP = ApprovalPurpose


@dataclass(frozen=True, slots=True)
class MatrixRow:
    """One cell family of the approval matrix (RULES §5.2): for `purpose` on carriers of `levels` (all levels when
    empty) under `regimes` (all when empty), `approvers` distinct people holding one of `roles` approve, for at most
    `max_hours`. With `issuer`, one of them must belong to the carrier's issuing unit (R-74: the 制发机关's approval is
    an approval by a named person of that unit, never a flag the requester sets)."""

    purpose: ApprovalPurpose
    roles: frozenset[Role]
    levels: frozenset[Classification] = frozenset()
    regimes: frozenset[Regime] = frozenset()
    approvers: int = 1
    max_hours: int = 72
    issuer: bool = False

    def covers(self, purpose: ApprovalPurpose, level: Classification | None, regime: Regime | None) -> bool:
        return (self.purpose == purpose and (not self.levels or level in self.levels)
                and (not self.regimes or regime in self.regimes))


_LEAD, _OFFICE, _BOARD = Role.APPROVER, Role.OFFICE_LEADER, Role.COMMITTEE
# The seeds' approvers (§5.2) mapped onto three roles: 主管领导 (approver), 办公室领导 (office leader) and the
# 保密委员会/领导小组 (committee). The first row that covers a case decides it.
DEFAULT_MATRIX: tuple[MatrixRow, ...] = (
    MatrixRow(_AP.LOAN, frozenset({_OFFICE}), frozenset({TS}), max_hours=24),  # R-67, 001:451
    MatrixRow(_AP.LOAN, frozenset({_LEAD, _OFFICE}), max_hours=72),  # R-63
    MatrixRow(_AP.OUTSIDE_LOAN, frozenset({_BOARD, _OFFICE}), max_hours=72),  # 000:99
    MatrixRow(_AP.COPY, frozenset({_LEAD, _OFFICE}), frozenset({TS}), approvers=2, max_hours=72,
              issuer=True),  # R-74: the issuing authority + the supervising leader (000:67)
    MatrixRow(_AP.COPY, frozenset({_LEAD, _OFFICE}), max_hours=72),  # R-75
    MatrixRow(_AP.EXTRACT, frozenset({_LEAD, _OFFICE}), max_hours=72),  # R-80
    MatrixRow(_AP.CARRY_OUT, frozenset({_LEAD, _OFFICE, _BOARD}), max_hours=14 * 24),  # R-92
    MatrixRow(_AP.SCOPE_EXTENSION, frozenset({_LEAD, _BOARD}), max_hours=72),  # 000:79
    MatrixRow(_AP.RECLASSIFY, frozenset({_LEAD, _BOARD}), max_hours=72),  # R-08
    MatrixRow(_AP.DECLASSIFY, frozenset({_LEAD, _BOARD}), approvers=2, max_hours=72),  # R-08, 000:171
    MatrixRow(_AP.DESTRUCTION, frozenset({_LEAD, _OFFICE, _BOARD}), frozenset({TS}), approvers=2,
              max_hours=30 * 24),  # R-146
    MatrixRow(_AP.DESTRUCTION, frozenset({_LEAD, _OFFICE, _BOARD}), max_hours=30 * 24),  # R-146
    MatrixRow(_AP.CLEARANCE_CHANGE, frozenset({_BOARD, _LEAD}), max_hours=7 * 24),  # R-160
    MatrixRow(_AP.ROLE_CHANGE, frozenset({_BOARD, _LEAD}), max_hours=7 * 24),  # R-25, 三员分立
    MatrixRow(_AP.POLICY_CHANGE, frozenset({_BOARD, _LEAD}), max_hours=7 * 24),  # §5 Q8
    # R-29, R-36: a print run (印制) is approved by the leader whose signature goes on the print-job record; 绝密 by
    # two, as a copy of 绝密 is (R-74: the run multiplies the document the same way).
    MatrixRow(_AP.PRINT, frozenset({_LEAD, _OFFICE}), frozenset({TS}), approvers=2, max_hours=7 * 24),
    MatrixRow(_AP.PRINT, frozenset({_LEAD, _OFFICE}), max_hours=7 * 24),
)

# The rule each purpose's refusals name.
PURPOSE_RULE: dict[ApprovalPurpose, str] = {
    _AP.LOAN: "R-63", _AP.OUTSIDE_LOAN: "R-63", _AP.COPY: "R-75", _AP.EXTRACT: "R-80", _AP.CARRY_OUT: "R-92",
    _AP.SCOPE_EXTENSION: "R-54", _AP.RECLASSIFY: "R-08", _AP.DECLASSIFY: "R-08", _AP.DESTRUCTION: "R-146",
    _AP.CLEARANCE_CHANGE: "R-160", _AP.ROLE_CHANGE: "R-25", _AP.POLICY_CHANGE: "R-25", _AP.PRINT: "R-29",
}


def matrix_row(policy: Policy, purpose: ApprovalPurpose, level: Classification | None,
               regime: Regime | None = None) -> MatrixRow:
    """The row that decides a case; a case no row covers may be approved by any of the three approving roles."""
    for row in policy.approval_matrix:
        if row.covers(purpose, level, regime):
            return row

    return MatrixRow(purpose, frozenset({_LEAD, _OFFICE, _BOARD}))

@dataclass(frozen=True)
class Policy:
    """The choices the seeds leave open (RULES §5), with the documented defaults. Loaded from `policy.toml`."""

    timezone: str = "Asia/Shanghai"
    end_of_day: time = time(18, 0)
    # R-63 / §5 Q8: loans of these levels need an approval.
    loan_approval_levels: frozenset[Classification] = frozenset({TS, S, C})
    # R-65 / §5 Q7: a loan is due by the end of the working day, `loan_max_days` working days later at most.
    loan_max_days: int = 0
    # §5 Q1: "issuer_approval" (copy 绝密 only with the issuer's approval recorded) or "forbidden".
    top_secret_copy: str = "issuer_approval"
    copy_approval_levels: frozenset[Classification] = frozenset({TS, S, C})
    # R-93 / §5 Q2: levels for which carrying out needs a second person.
    two_person_levels: frozenset[Classification] = frozenset({TS})
    # §5 Q3: carrying out always needs an approval and a return deadline within this many days.
    carry_out_max_days: int = 14
    carry_out_levels: frozenset[Classification] = frozenset({TS, S, C})
    # R-98 absolute variant: media that held classified files never leave.
    media_never_leave: bool = False
    # R-60, R-68 / §5 Q25: levels read only at a designated reading place (绝密 always, R-67).
    reading_place_levels: frozenset[Classification] = frozenset({TS})
    # R-155: days 下落不明 before a loss is handled as a leak incident.
    leak_days: dict[Classification, int] = field(
        default_factory=lambda: {TS: 10, S: 60, C: 60}
    )
    # R-76 stricter variant: every copy of any level needs the issuing authority's approval.
    copy_requires_issuer: bool = False
    # R-89 / §5 Q17: a courier handing to another courier is delegation, refused unless allowed here.
    allow_courier_relay: bool = False
    # §5 Q8 / §5.2: who approves what — purpose × level × regime → roles, how many distinct approvers, validity.
    approval_matrix: tuple[MatrixRow, ...] = field(default_factory=lambda: DEFAULT_MATRIX)
    # Sign-in protection: this many wrong PINs lock a badge for `lockout_minutes`; an idle counter locks itself.
    pin_attempts: int = 5
    lockout_minutes: int = 15
    idle_lock_minutes: int = 10
    # PINs are at least this long; trivial ones (one digit repeated, a run, the badge's own digits) are refused.
    pin_min_length: int = 6
    # The least cost a PIN is hashed at (argon2id; OWASP's minimum by default). A counter's settings may raise it,
    # never lower it: a PIN set at a client that asked for less is hashed at this floor all the same.
    pin_hash_time_cost: int = 2
    pin_hash_memory_kib: int = 19456
    # R-148: supervisors of a destruction (二人以上监销); a value below two is read as two, never fewer.
    destruction_supervisors: int = 2
    # R-149: the designated destruction sites, by name; a destruction anywhere else is refused.
    destruction_sites: tuple[str, ...] = ("本单位保密办销毁室", "涉密载体销毁中心")
    # R-118: the designated repair units (定点维修单位) media and equipment may be sent to; none by default.
    approved_repairers: tuple[str, ...] = ()
    # Issue 23: a tag a gate reads that is not a carrier of the register (another organisation's prefix, or ours but
    # never registered) is logged; with this set it also raises the gate's alarm.
    gate_alarm_unknown_tags: bool = False
    # R-20: besides the registry (clerks), the badges designated to receive and register incoming items (收文).
    incoming_receivers: tuple[str, ...] = ()
    # A transit not received this many hours after dispatch, unless given its own due time, is an alert.
    transit_due_hours: int = 24
    # R-38/R-39: carriers are kept locked away; a cabinet door open this many minutes is an alert (once per opening).
    cabinet_door_open_minutes: int = 5

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def end_of_working_day(self, now: datetime, days_later: int = 0) -> datetime:
        local = now.astimezone(self.tz)
        day: date = local.date()
        if local.time() >= self.end_of_day and days_later == 0:
            # After hours the loan still ends "today" in the rulebook's sense: allow until midnight.
            return datetime.combine(day, time(23, 59, 59), self.tz)
        added = 0
        while added < days_later:
            day += timedelta(days=1)
            if day.weekday() < 5:
                added += 1
        return datetime.combine(day, self.end_of_day, self.tz)


# --- facts --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PersonFacts:
    badge: str
    name: str
    unit: str
    clearance: Clearance
    roles: frozenset[Role]
    status: PersonStatus = PersonStatus.ACTIVE
    # The end of the person's 脱密期 (R-166, R-167), once they left a classified post.
    cooling_off_until: datetime | None = None

    @property
    def is_registry(self) -> bool:
        return bool(self.roles & {Role.CLERK, Role.SECURITY_OFFICER})

    @property
    def is_courier(self) -> bool:
        return Role.COURIER in self.roles


@dataclass(frozen=True, slots=True)
class LocationFacts:
    code: str
    name: str
    max_level: Classification
    reading_place: bool = False


@dataclass(frozen=True, slots=True)
class CarrierFacts:
    code: str
    kind: CarrierKind
    regime: Regime
    level: Classification | None
    period: SecrecyPeriod | None
    scope: Scope | None
    status: CarrierStatus = CarrierStatus.IN_STORE
    holder: str | None = None
    location: str | None = None
    copy_number: int | None = None
    copy_total: int | None = None
    highest_level_held: Classification | None = None


@dataclass(frozen=True, slots=True)
class ApprovalFacts:
    """An approval as the rulebook sees it: who asked, for whom, who signed (distinct people), and its state."""

    id: int
    purpose: ApprovalPurpose
    approvers: tuple[PersonFacts, ...]
    carriers: frozenset[str]
    valid_from: datetime
    valid_until: datetime
    used_for: frozenset[str] = frozenset()
    grantee: str | None = None
    issuer_approved: bool = False
    copies: int | None = None
    status: str = "granted"
    needed: int = 1
    requester: str | None = None

    @property
    def approver(self) -> PersonFacts | None:
        return self.approvers[0] if self.approvers else None


# --- least privilege --------------------------------------------------------------------------------------------


class Action(enum.StrEnum):
    REGISTER = "register"
    CHECK_OUT = "check_out"
    CHECK_IN = "check_in"
    HANDOVER = "handover"
    CARRY_OUT = "carry_out"
    COPY = "copy"
    RECLASSIFY = "reclassify"
    MOVE = "move"
    REPORT_MISSING = "report_missing"
    FOUND = "found"
    APPROVE = "approve"
    REQUEST = "request"
    POLICY = "policy"
    MANAGE_PEOPLE = "manage_people"
    CLEARANCE = "clearance"
    MANAGE_LOCATIONS = "manage_locations"
    DEPARTURE = "departure"
    STOCKTAKE = "stocktake"
    LABEL = "label"
    AUDIT = "audit"
    SEAL = "seal"
    DESTROY = "destroy"  # R-145: destruction batches, by the designated body only
    DISPOSE = "dispose"  # archive, return to the issuer, transfer out (R-135, R-144)
    INCIDENT = "incident"  # work and close incidents (R-154–R-156)
    PRINT = "print"  # R-31, R-33: print runs, by the registry's designated people (the print room's clerks)
    MEETING = "meeting"  # R-123: meeting documents are handled by a designated person
    REGISTERS = "registers"  # print the registers of custody acts (RULES §4 台账) for a period
    CAMPAIGN = "campaign"  # open and close clear-back campaigns (R-130–R-133)
    PERSON_RECORD = "person_record"  # vetting, trainings, exams, pledges, leaving (R-161–R-170)
    INCOMING = "incoming"  # 收文登记 (R-20): the registry, or people the policy names (checked by check_receiver)
    PACK = "pack"  # make, pack, seal and open packages (R-88)
    DISPATCH = "dispatch"  # 发文 and receipt at a registry (R-87)
    TRANSIT_HOP = "transit_hop"  # a courier hop: the registry or a courier records it (R-55)


_R = Role
ACTION_ROLES: dict[Action, frozenset[Role]] = {
    Action.REGISTER: frozenset({_R.CLERK, _R.SECURITY_OFFICER}),
    Action.CHECK_OUT: frozenset({_R.CLERK, _R.SECURITY_OFFICER}),
    Action.CHECK_IN: frozenset({_R.CLERK, _R.SECURITY_OFFICER}),
    Action.HANDOVER: frozenset({_R.CLERK, _R.SECURITY_OFFICER, _R.COURIER}),
    Action.CARRY_OUT: frozenset({_R.CLERK, _R.SECURITY_OFFICER}),
    Action.COPY: frozenset({_R.CLERK, _R.SECURITY_OFFICER}),
    Action.RECLASSIFY: frozenset({_R.SECURITY_OFFICER}),
    Action.MOVE: frozenset({_R.CLERK, _R.SECURITY_OFFICER}),
    # R-156: hiding a loss is forbidden, so anyone active may report one (no role needed).
    Action.REPORT_MISSING: frozenset(Role),
    Action.FOUND: frozenset({_R.CLERK, _R.SECURITY_OFFICER}),
    Action.APPROVE: frozenset({_R.APPROVER, _R.OFFICE_LEADER, _R.COMMITTEE}),
    # Requests are raised by whoever will carry the act out: the registry at the counter, the security officer
    # (policy, clearance), the administrator (roles).
    Action.REQUEST: frozenset({_R.CLERK, _R.SECURITY_OFFICER, _R.ADMIN}),
    Action.POLICY: frozenset({_R.SECURITY_OFFICER}),
    # 三员分立: the administrator keeps people, places and devices; clearance changes are the security officer's
    # (`services.personnel.change_clearance`), each with the matrix's approval by someone else.
    Action.MANAGE_PEOPLE: frozenset({_R.ADMIN}),
    Action.CLEARANCE: frozenset({_R.SECURITY_OFFICER}),
    Action.MANAGE_LOCATIONS: frozenset({_R.ADMIN, _R.SECURITY_OFFICER}),
    Action.DEPARTURE: frozenset({_R.SECURITY_OFFICER}),
    Action.STOCKTAKE: frozenset({_R.CLERK, _R.SECURITY_OFFICER, _R.AUDITOR}),
    Action.LABEL: frozenset({_R.CLERK, _R.SECURITY_OFFICER}),
    Action.AUDIT: frozenset({_R.SECURITY_OFFICER, _R.AUDITOR}),
    # A seal attests the chain on paper. The administrator's own acts (people, places) are in that chain, so the
    # attesting stays with the security officer and the auditor, never the administrator alone (三员分立).
    Action.SEAL: frozenset({_R.SECURITY_OFFICER, _R.AUDITOR}),
    Action.DESTROY: frozenset({_R.CLERK, _R.SECURITY_OFFICER}),
    # Anyone may open an incident (R-156, under REPORT_MISSING); working and closing one is the security office's.
    Action.INCIDENT: frozenset({_R.SECURITY_OFFICER}),
    Action.DISPOSE: frozenset({_R.CLERK, _R.SECURITY_OFFICER}),
    Action.PRINT: frozenset({_R.CLERK, _R.SECURITY_OFFICER}),
    Action.MEETING: frozenset({_R.CLERK, _R.SECURITY_OFFICER}),
    # The registry keeps the custody registers it writes (borrowing, copies, handovers…) and the inspector reads them
    # with the security officer or the auditor; the registers about people (personnel, clear-back, who knew a 绝密
    # carrier) are the security officer's and the auditor's only (Action.AUDIT), as the audit log is.
    Action.REGISTERS: frozenset({_R.CLERK, _R.SECURITY_OFFICER, _R.AUDITOR}),
    # The security office runs clear-back campaigns (清退/收缴); the registry scans what comes back (CHECK_IN).
    Action.CAMPAIGN: frozenset({_R.SECURITY_OFFICER}),
    # 三员分立: the administrator keeps the person record (name, unit); the secrecy facts of a person — vetting,
    # trainings, pledges, the 脱密期 — are the security officer's to record.
    Action.PERSON_RECORD: frozenset({_R.SECURITY_OFFICER}),
    # R-20: incoming items are registered by the designated registry; `check_receiver` adds the policy's names.
    Action.INCOMING: frozenset(Role),
    Action.PACK: frozenset({_R.CLERK, _R.SECURITY_OFFICER}),
    Action.DISPATCH: frozenset({_R.CLERK, _R.SECURITY_OFFICER}),
    Action.TRANSIT_HOP: frozenset({_R.CLERK, _R.SECURITY_OFFICER, _R.COURIER}),
}


def check_permission(actor: PersonFacts, action: Action) -> list[Violation]:
    """R-25: every custody duty belongs to designated people; each action names the roles that may do it."""
    out: list[Violation] = []
    if actor.status == PersonStatus.DEPARTED:
        out.append(_v("R-143", f"{actor.badge} has departed: access is revoked.",
                      f"{actor.badge} 已离岗，权限已清理。"))
    allowed = ACTION_ROLES[action]
    if action not in (Action.REPORT_MISSING, Action.INCOMING) and not actor.roles & allowed:
        need = ", ".join(sorted(r.value for r in allowed))
        need_zh = "、".join(sorted(r.zh for r in allowed))
        out.append(_v("R-25", f"{actor.badge} may not {action.value.replace('_', ' ')}: it needs the role {need}.",
                      f"{actor.badge} 无权执行此操作，需要角色：{need_zh}。"))
    return out


# --- registration -------------------------------------------------------------------------------------------------


def check_registration(c: CarrierFacts, place: LocationFacts | None) -> list[Violation]:
    """R-01, R-02, R-30, R-102 and R-47 at 定密/登记: everything the register must know before a carrier exists."""
    out: list[Violation] = []
    if c.level is None:
        out.append(_v("R-01", f"{c.code}: classification is required; it may never be blank.",
                      f"{c.code}：密级为必填项，不得空缺。"))
        return out
    if c.level.is_secret_level:
        if c.period is None:
            out.append(_v("R-02", f"{c.code}: a {c.level.label} carrier needs its secrecy period (保密期限).",
                          f"{c.code}：{c.level.zh}载体须同时确定保密期限。"))
        if c.regime == Regime.STATE and not c.scope:
            out.append(_v("R-02", f"{c.code}: a {c.level.label} carrier needs its need-to-know scope (知悉范围).",
                          f"{c.code}：{c.level.zh}载体须同时确定知悉范围。"))
    out += _copy_number_violations(c)
    if c.kind.is_storage_medium and c.highest_level_held is not None and c.highest_level_held.rank > c.level.rank:
        out.append(_v("R-102", f"{c.code}: a medium is classified at the highest level it ever held "
                               f"({c.highest_level_held.label}); register it at that level.",
                      f"{c.code}：存储介质按其存储过的最高密级（{c.highest_level_held.zh}）标密，请按该密级登记。"))
    if place is not None:
        out += check_place_accepts(c.code, c.level, place)
    return out


def _copy_number_violations(c: CarrierFacts) -> list[Violation]:
    if c.level not in (TS, S):
        if c.copy_number is not None and (c.copy_total is None or not 1 <= c.copy_number <= c.copy_total):
            return [_v("R-30", f"{c.code}: copy number must be n of N with 1 ≤ n ≤ N.",
                       f"{c.code}：份号须为“第n份 共N份”，且 1 ≤ n ≤ N。")]
        return []
    if c.copy_number is None or c.copy_total is None:
        return [_v("R-30", f"{c.code}: every {c.level.label} copy carries its sequence number: give copy n of N.",
                   f"{c.code}：{c.level.zh}载体每份须编顺序号，请填写“第n份 共N份”。")]
    if not 1 <= c.copy_number <= c.copy_total:
        return [_v("R-30", f"{c.code}: copy {c.copy_number} of {c.copy_total} is impossible (1 ≤ n ≤ N).",
                   f"{c.code}：第{c.copy_number}份 共{c.copy_total}份 不成立（1 ≤ n ≤ N）。")]
    return []


def check_place_accepts(code: str, level: Classification, place: LocationFacts) -> list[Violation]:
    """R-47 (with R-38/R-39): a place never stores carriers above the level its security conditions allow."""
    if level.rank > place.max_level.rank:
        return [_v("R-47", f"{code}: {place.code} ({place.name}) may store up to {place.max_level.label}, "
                           f"not {level.label}; choose a place with the right security conditions.",
                   f"{code}：{place.code}（{place.name}）最高只能存放{place.max_level.zh}载体，"
                   f"不能存放{level.zh}载体，请选择符合保密条件的存放位置。")]
    return []


# --- approvals ----------------------------------------------------------------------------------------------------


def check_approval(
    approval: ApprovalFacts | None,
    purpose: ApprovalPurpose,
    carrier_code: str,
    now: datetime,
    policy: Policy,
    rule: str,
    person: str | None = None,
    executor: str | None = None,
) -> list[Violation]:
    """An approval is used for what it was granted: its purpose, its carriers, its person, once, in time (§5 Q8).

    `person` is whom the act benefits (the borrower, the custodian); `executor` is who performs it at the register.
    Neither may be among its approvers: nobody approves what they request, execute or benefit from (三员分立/R-25).
    Each refusal says what mends it (`Violation.remedy`): a new request, or the waiting one signed.
    """
    out = _approval_violations(approval, purpose, carrier_code, now, policy, rule, person, executor)
    waiting = approval is not None and approval.status == "pending"
    return [replace(v, remedy="pending" if waiting else "request") for v in out]


def _approval_violations(
    approval: ApprovalFacts | None,
    purpose: ApprovalPurpose,
    carrier_code: str,
    now: datetime,
    policy: Policy,
    rule: str,
    person: str | None = None,
    executor: str | None = None,
) -> list[Violation]:
    """The refusals of `check_approval`, before each is told what mends it."""
    if approval is None:
        return [_v(rule, f"{carrier_code}: {purpose.value.replace('_', ' ')} needs an approval first; "
                         "raise a request for an approver to decide.",
                   f"{carrier_code}：{purpose.zh}须事先经审批，请提出审批申请。")]
    out: list[Violation] = []
    if approval.status == "denied":
        return [_v(rule, f"Approval #{approval.id} was denied.", f"审批 #{approval.id} 已被驳回。")]
    if approval.status != "granted":
        return [_v(rule, f"Approval #{approval.id} is still pending: {len(approval.approvers)} of {approval.needed} "
                         "approver(s) have signed.",
                   f"审批 #{approval.id} 尚待审批：已有 {len(approval.approvers)}/{approval.needed} 位审批人签批。")]
    if approval.purpose != purpose:
        out.append(_v(rule, f"Approval #{approval.id} is for {approval.purpose.value}, not {purpose.value}.",
                      f"审批 #{approval.id} 用于{approval.purpose.zh}，不是{purpose.zh}。"))
    if carrier_code not in approval.carriers:
        out.append(_v(rule, f"Approval #{approval.id} does not cover {carrier_code}.",
                      f"审批 #{approval.id} 不包含载体 {carrier_code}。"))
    if carrier_code in approval.used_for:
        out.append(_v(rule, f"Approval #{approval.id} was already used for {carrier_code}; approvals are single-use.",
                      f"审批 #{approval.id} 已用于 {carrier_code}，审批一次有效。"))
    if not approval.valid_from <= now <= approval.valid_until:
        until = f"{approval.valid_until.astimezone(policy.tz):%Y-%m-%d %H:%M}"
        out.append(_v(rule, f"Approval #{approval.id} is not valid now (valid until {until}).",
                      f"审批 #{approval.id} 当前无效（有效期至 {until}）。"))
    if any(a.status == PersonStatus.DEPARTED for a in approval.approvers):
        out.append(_v(rule, f"Approval #{approval.id} was signed by someone who has since departed.",
                      f"审批 #{approval.id} 的审批人已离岗。"))
    if person is not None and approval.grantee is not None and approval.grantee != person:
        out.append(_v(rule, f"Approval #{approval.id} was granted to {approval.grantee}, not {person}.",
                      f"审批 #{approval.id} 批准的是 {approval.grantee}，不是 {person}。"))
    signers = {a.badge for a in approval.approvers}
    for who, en, zh in ((person, "benefit from", "受益于"), (executor, "carry out", "执行")):
        if who is not None and who in signers:
            out.append(_v("R-25", f"{who} approved #{approval.id} and may not also {en} it: a second person decides.",
                          f"{who} 是审批 #{approval.id} 的审批人，不得本人{zh}该事项，须由另一人审批。"))
    return out


def check_decision(
    approver: PersonFacts,
    purpose: ApprovalPurpose,
    carriers: Iterable[CarrierFacts],
    grantee: PersonFacts | None,
    requester: str | None,
    signed_already: Iterable[str],
    valid_until: datetime,
    now: datetime,
    policy: Policy,
    level: Classification | None = None,
) -> list[Violation]:
    """Whether `approver` may sign this approval, per the matrix (RULES §5.2, §5 Q8) and R-159.

    The approver must hold a role the matrix names for the purpose at every carrier's level, hold the clearance for
    that level, and be neither the requester nor the person it is for; the validity may not exceed the matrix's. The
    grantee of a loan or carry-out must be someone who may hold the carriers at all (R-159, R-54): an approval for a
    person who could never use it is refused when it is given, not only when it is used.
    `level` stands in for the carriers on a clearance change (the level the new clearance opens).
    """
    rule = PURPOSE_RULE[purpose]
    items = list(carriers)
    out: list[Violation] = []
    if approver.status != PersonStatus.ACTIVE:
        out.append(_v(rule, f"{approver.badge} is {approver.status.value} and may not approve.",
                      f"{approver.badge} 已离岗或待离岗，不得审批。"))
    if purpose.about_carriers and not items:
        out.append(_v(rule, "An approval names the carriers it covers.", "审批须列明所涉载体。"))
    cases: list[tuple[Classification | None, Regime | None]] = [(c.level, c.regime) for c in items] or [(level, None)]
    for lv, regime in dict.fromkeys(cases):
        row = matrix_row(policy, purpose, lv, regime)
        what = f"{purpose.value.replace('_', ' ')}" + (f" of {lv.label}" if lv is not None else "")
        what_zh = (lv.zh if lv is not None else "") + purpose.zh
        if not approver.roles & row.roles:
            need = ", ".join(sorted(r.value for r in row.roles))
            out.append(_v(rule, f"{approver.badge} may not approve {what}: the approval matrix names {need}.",
                          f"{approver.badge} 无权审批{what_zh}：审批矩阵规定由"
                          f"{'、'.join(sorted(r.zh for r in row.roles))}审批。"))
        if lv is not None and not approver.clearance.may_hold(lv):
            out.append(_v("R-159", f"{approver.badge} ({approver.clearance.value} clearance) may not approve {what}: "
                                   f"it needs {_needed_clearance(lv).value}.",
                          f"{approver.badge}（{approver.clearance.zh}涉密人员）无权审批{what_zh}，"
                          f"须为{_needed_clearance(lv).zh}涉密人员。"))
        if valid_until > now + timedelta(hours=row.max_hours):
            out.append(_v(rule, f"An approval for {what} is valid for {row.max_hours} hours at most.",
                          f"{what_zh}审批的有效期最长 {row.max_hours} 小时。"))
    if approver.badge in (requester, grantee.badge if grantee else None):
        out.append(_v("R-25", f"{approver.badge} may not approve their own request: a second person decides.",
                      f"{approver.badge} 不得审批本人的申请，须由另一人审批。"))
    if approver.badge in set(signed_already):
        out.append(_v(rule, f"{approver.badge} has already signed this approval; it needs distinct approvers.",
                      f"{approver.badge} 已签批过此审批，须由不同审批人签批。"))
    if valid_until <= now:
        out.append(_v(rule, "The approval's validity must end in the future.", "审批有效期须晚于当前时间。"))
    if grantee is not None and purpose in (_AP.LOAN, _AP.OUTSIDE_LOAN, _AP.CARRY_OUT, _AP.EXTRACT):
        for c in items:
            if c.level is not None:
                out += _may_know(c, grantee)
    return list(dict.fromkeys(out))


def decision_complete(policy: Policy, purpose: ApprovalPurpose, carriers: Iterable[CarrierFacts],
                      approvers: Iterable[PersonFacts], issuers: Iterable[str | None],
                      level: Classification | None = None) -> tuple[bool, int, bool]:
    """(granted, approvers needed, issuer signed): enough distinct approvers for the strictest row, and — where a
    row asks for it — one of them from every carrier's issuing unit (R-74)."""
    items = list(carriers)
    signers = list(approvers)
    rows = [matrix_row(policy, purpose, c.level, c.regime) for c in items] or [matrix_row(policy, purpose, level)]
    needed = max(r.approvers for r in rows)
    units = {a.unit for a in signers}
    issuer_list = list(issuers)
    issuer_ok = bool(issuer_list) and all(i is not None and i in units for i in issuer_list)
    issuer_needed = any(r.issuer for r in rows)
    return len({a.badge for a in signers}) >= needed and (issuer_ok or not issuer_needed), needed, issuer_ok


# --- separation of duties (三员分立) ---------------------------------------------------------------------------------

EXCLUSIVE_ROLES = frozenset({Role.ADMIN, Role.SECURITY_OFFICER, Role.AUDITOR})


def check_roles(badge: str, roles: frozenset[Role]) -> list[Violation]:
    """三员分立: administrator, security officer and auditor are three different people."""
    held = roles & EXCLUSIVE_ROLES
    if len(held) > 1:
        return [_v("R-25", f"{badge}: {' and '.join(sorted(r.value for r in held))} must be held by different "
                           "people (separation of duties).",
                   f"{badge}：{'与'.join(sorted(r.zh for r in held))}须由不同人员担任（三员分立）。")]
    return []


def check_person_change(actor: PersonFacts, target: str, *, roles: bool, clearance: bool,
                        pin: bool, unit: bool = False) -> list[Violation]:
    """Nobody changes their own roles, clearance, unit or PIN through the administration (only a normal PIN change):
    the unit decides need-to-know (R-54) and which issuing unit one approves for (R-74)."""
    if actor.badge == target and (roles or clearance or pin or unit):
        return [_v("R-25", f"{actor.badge} may not change their own roles, clearance, unit or PIN here: another person "
                           "does it, with the matrix's approval for roles, unit and clearance.",
                   f"{actor.badge} 不得自行变更本人的角色、涉密等级、部门或PIN，须由他人办理，"
                   "角色、部门和涉密等级变更须经审批。")]
    return []


def check_pin(pin: str, badge: str, policy: Policy) -> list[Violation]:
    """PINs guard signatures: long enough, and not guessable from the badge or a pattern (offline guessing)."""
    if not (pin.isdigit() and policy.pin_min_length <= len(pin) <= 12):
        return [_v("R-25", f"A PIN is {policy.pin_min_length} to 12 digits.",
                   f"PIN 须为 {policy.pin_min_length} 至 12 位数字。")]
    digits = "".join(ch for ch in badge if ch.isdigit())
    steps = {int(b) - int(a) for a, b in pairwise(pin)}
    if len(set(pin)) == 1 or steps in ({1}, {-1}) or (digits and pin in digits):
        return [_v("R-25", "That PIN is too easy to guess (one digit repeated, a run, or the badge's digits); "
                           "choose another.",
                   "该PIN过于简单（重复数字、连续数字或工号数字），请另选。")]
    return []


# --- circulation --------------------------------------------------------------------------------------------------


def _holder_text(c: CarrierFacts) -> tuple[str, str]:
    if c.holder:
        return f"held by {c.holder} ({c.status.value})", f"由 {c.holder} 持有（{c.status.zh}）"
    if c.location:
        return f"in {c.location} ({c.status.value})", f"存放于 {c.location}（{c.status.zh}）"
    return c.status.value, c.status.zh


def _may_know(c: CarrierFacts, person: PersonFacts) -> list[Violation]:
    """R-159 and R-54: the person's clearance covers the level, and the person is within the need-to-know scope."""
    out: list[Violation] = []
    assert c.level is not None
    if not person.clearance.may_hold(c.level):
        out.append(_v("R-159", f"{person.badge} ({person.clearance.value} clearance) may not hold a {c.level.label} "
                               f"carrier; it needs {_needed_clearance(c.level).value}.",
                      f"{person.badge}（{person.clearance.zh}涉密人员）不得持有{c.level.zh}载体，"
                      f"须为{_needed_clearance(c.level).zh}涉密人员。"))
    if c.level.is_secret_level and c.scope and not c.scope.admits(person.unit, person.badge):
        out.append(_v("R-54", f"{person.badge} ({person.unit}) is outside the need-to-know scope of {c.code}; "
                              "widening the scope needs its own approval.",
                      f"{person.badge}（{person.unit}）不在 {c.code} 的知悉范围内，扩大知悉范围须另行审批。"))
    return out


def _needed_clearance(level: Classification) -> Clearance:
    for c in (Clearance.NONE, Clearance.GENERAL, Clearance.IMPORTANT, Clearance.CORE):
        if c.may_hold(level):
            return c
    return Clearance.CORE


def _active(person: PersonFacts, role_en: str, role_zh: str) -> list[Violation]:
    if person.status == PersonStatus.DEPARTED and person.cooling_off_until is not None:
        day = f"{person.cooling_off_until:%Y-%m-%d}"
        return [_v("R-167", f"The {role_en} {person.badge} left a classified post and is in the 脱密期 until {day} "
                            "(UTC date): they hold no clearance, and no carrier goes to them.",
                   f"{role_zh} {person.badge} 已离开涉密岗位，脱密期至 {day}：无涉密资格，不得接收载体。")]
    if person.status != PersonStatus.ACTIVE:
        return [_v("R-140", f"The {role_en} {person.badge} is {person.status.value}: no new custody may start.",
                   f"{role_zh} {person.badge} 状态为离岗/待离岗，不得再接收载体。")]
    return []


def check_checkout(
    c: CarrierFacts,
    borrower: PersonFacts,
    borrower_signed: bool,
    approval: ApprovalFacts | None,
    due: datetime | None,
    now: datetime,
    reading_place: LocationFacts | None,
    policy: Policy,
    executor: str | None = None,
) -> list[Violation]:
    """R-17, R-54, R-63–R-67, R-159: lending a carrier from the store to a person."""
    assert c.level is not None
    if c.status.gone:
        return check_gone_at_counter(c)
    if c.status == CarrierStatus.ARCHIVED:
        return [_archived_not_lent(c)]
    if c.status != CarrierStatus.IN_STORE:
        en, zh = _holder_text(c)
        return [_v("R-17", f"{c.code} is not in store: it is {en}. Check it in first.",
                   f"{c.code} 不在库：{zh}。请先办理归还。")]
    out: list[Violation] = []
    if not borrower_signed:
        out.append(_v("R-64", f"{borrower.badge} must sign for the loan (badge and PIN).",
                      f"借阅人 {borrower.badge} 须登记签字（刷卡并输入PIN）。"))
    out += _active(borrower, "borrower", "借阅人")
    out += _may_know(c, borrower)
    if c.level in policy.loan_approval_levels:
        out += check_approval(approval, ApprovalPurpose.LOAN, c.code, now, policy, "R-63", borrower.badge, executor)
    if due is None:
        out.append(_v("R-65", f"{c.code}: every loan has a return time.", f"{c.code}：借阅须规定归还时间。"))
    else:
        limit = policy.end_of_working_day(now, 0 if c.level == TS else policy.loan_max_days)
        if due <= now:
            out.append(_v("R-65", "The return time must be in the future.", "归还时间须晚于当前时间。"))
        elif due > limit:
            out.append(_v("R-65", f"{c.code}: the loan must be returned by {limit:%Y-%m-%d %H:%M}; "
                                  "a longer loan needs a new approval later.",
                          f"{c.code}：须在 {limit:%Y-%m-%d %H:%M} 前归还，延期须重新审批。"))
    if c.level == TS or c.level in policy.reading_place_levels:
        if reading_place is None or not reading_place.reading_place:
            # R-67 for 绝密 always; R-60/R-68 for the other levels the unit's policy names.
            rule, name = ("R-67", "绝密") if c.level == TS else ("R-68", f"{c.level.zh} ({c.level.label})")
            out.append(_v(rule, f"{c.code}: a {name} carrier is read only at a designated reading place; "
                                "name one (--reading-place).",
                          f"{c.code}：{c.level.zh}载体只能在指定阅文场所阅读，请指定阅文场所。"))
        elif reading_place is not None:
            out += check_place_accepts(c.code, c.level, reading_place)
    return out


def check_checkin(c: CarrierFacts, place: LocationFacts | None) -> list[Violation]:
    """R-66: a return closes the loan; the carrier goes to a place that may store it (R-47). With no place yet
    (`None`) only whether the carrier is out is judged: a carrier already in store is told so before anyone is
    asked where it goes back to."""
    assert c.level is not None
    if c.status.gone:  # brought to the counter although off the books: an alarm, not "nothing to check in"
        return check_gone_at_counter(c)
    if not c.status.with_holder:
        en, zh = _holder_text(c)
        return [_v("R-66", f"{c.code} is not out: it is {en}; nothing to check in.",
                   f"{c.code} 未借出：{zh}，无需归还。")]
    return [] if place is None else check_place_accepts(c.code, c.level, place)


def in_transit_refusal(code: str, transit: int) -> Violation:
    """R-17, R-55: a carrier on its way through the 机要 channel moves only by that channel's hops (seals read, both
    sides signing) and is received by its destination registry; a counter check-in or handover would take it off the
    chain unseen."""
    return _v("R-55", f"{code} is in transit #{transit}: it is handed on only by a transit hop and taken in by its "
                      "destination registry's receipt (tracker transit hop / receive, or the courier screen).",
              f"{code} 正在机要传递中（#{transit}）：只能通过传递交接移交，并由目的机要室签收"
              "（tracker transit hop / receive，或机要交通界面）。")


def check_returner(c: CarrierFacts, returner: PersonFacts, returner_signed: bool,
                   holder_signed: bool) -> list[Violation]:
    """R-56, R-66: who brings a carrier back is on the record, and it is not a 代交 (delivery by a third person).

    The accountable holder returns it, signing (badge and PIN) to close the entry (清销). A designated courier or the
    registry itself (R-55, 直传) may bring it back too, signing, if their clearance covers the level. Anyone else is
    a proxy: accepted only with the holder's own signature given at the same return (the holder attests the hand-over,
    so the proxy is recorded, not hidden), and only if the proxy may hold the carrier at all."""
    assert c.level is not None
    out: list[Violation] = []
    if not returner_signed:
        out.append(_v("R-66", f"{returner.badge} returning {c.code} signs for it (badge and PIN).",
                      f"归还人 {returner.badge} 须刷卡并输入PIN签字。"))
    if returner.badge == c.holder:
        return out
    if returner.status != PersonStatus.ACTIVE:
        out.append(_v("R-56", f"{returner.badge} is {returner.status.value} and may not bring back {c.code}.",
                      f"{returner.badge} 已离岗/待离岗，不得代为归还 {c.code}。"))
    if not returner.clearance.may_hold(c.level):
        out.append(_v("R-159", f"{returner.badge} ({returner.clearance.value} clearance) may not carry a "
                               f"{c.level.label} carrier, not even back to the registry.",
                      f"{returner.badge}（{returner.clearance.zh}涉密人员）不得携带{c.level.zh}载体，归还亦然。"))
    if not (returner.is_courier or returner.is_registry) and not holder_signed:
        out.append(_v("R-56", f"No 代交: {returner.badge} is not the holder {c.holder} of {c.code}; a proxy returns "
                              "it only with the holder's signature (badge and PIN) at the counter.",
                      f"禁止代交：{returner.badge} 不是 {c.code} 的持有人 {c.holder}；"
                      "代为归还须持有人本人刷卡并输入PIN签字。"))
    return out


def check_handover(
    c: CarrierFacts,
    giver: PersonFacts,
    taker: PersonFacts,
    giver_signed: bool,
    taker_signed: bool,
    policy: Policy,
    operator: PersonFacts | None = None,
) -> list[Violation]:
    """R-17, R-18, R-55, R-56, R-89: a hand-to-hand hop between a registry or courier and the next holder."""
    assert c.level is not None
    if c.status.gone:
        return check_gone_at_counter(c)
    if not c.status.with_holder or c.holder != giver.badge:
        en, zh = _holder_text(c)
        return [_v("R-17", f"{c.code} is {en}, not held by {giver.badge}: only the accountable holder hands it on.",
                   f"{c.code} {zh}，不由 {giver.badge} 持有：只有当前责任人可以交接。")]
    out: list[Violation] = []
    if operator is not None and operator.badge not in (giver.badge, taker.badge) and not operator.is_registry:
        out.append(_v("R-55", f"{operator.badge} is not a party to this handover: a hop is recorded hand to hand by "
                              "the giver, the taker or the registry.",
                      f"{operator.badge} 不是交接当事人：手递手交接须由交出人、接收人或机要室登记。"))
    if giver.badge == taker.badge:
        out.append(_v("R-18", "Giver and taker are the same person.", "交出人与接收人为同一人。"))
    if not giver_signed or not taker_signed:
        missing = [p.badge for p, ok in ((giver, giver_signed), (taker, taker_signed)) if not ok]
        out.append(_v("R-18", f"Both parties sign a handover (badge and PIN); missing: {', '.join(missing)}.",
                      f"交接须双方签收（刷卡并输入PIN），未签：{'、'.join(missing)}。"))
    if not (giver.is_courier or giver.is_registry or taker.is_courier or taker.is_registry):
        out.append(_v("R-56", f"No 横传: {giver.badge} may not hand {c.code} to another reader {taker.badge}; "
                              "return it to the registry or hand it to a designated courier.",
                      f"禁止横传：{giver.badge} 不得将 {c.code} 直接交给阅件人 {taker.badge}，"
                      "请退回机要室或交由指定机要交通。"))
    if giver.is_courier and taker.is_courier and not (giver.is_registry or taker.is_registry) \
            and not policy.allow_courier_relay:
        out.append(_v("R-89", f"A courier delivers in person: {giver.badge} may not pass {c.code} to another "
                              "courier (no 代交/捎带).",
                      f"机要交通须亲自递送：{giver.badge} 不得将 {c.code} 转交其他交通员（禁止代交、捎带）。"))
    out += _active(taker, "taker", "接收人")
    if taker.is_courier or taker.is_registry:
        # Couriers and registry staff carry sealed carriers: they need the clearance, not the need-to-know.
        if not taker.clearance.may_hold(c.level):
            out += [v for v in _may_know(c, taker) if v.rule == "R-159"]
    else:
        out += _may_know(c, taker)
    return out


def check_carry_out(
    c: CarrierFacts,
    custodian: PersonFacts,
    custodian_signed: bool,
    companion: PersonFacts | None,
    companion_signed: bool,
    approval: ApprovalFacts | None,
    return_due: datetime | None,
    now: datetime,
    policy: Policy,
    executor: str | None = None,
) -> list[Violation]:
    """R-92, R-93, R-98 and §5 Q3: taking a carrier outside the unit."""
    assert c.level is not None
    if c.status.gone:
        return check_gone_at_counter(c)
    if c.status == CarrierStatus.ARCHIVED:
        return [_archived_not_lent(c)]
    if not (c.status == CarrierStatus.IN_STORE or (c.status == CarrierStatus.ON_LOAN and c.holder == custodian.badge)):
        en, zh = _holder_text(c)
        return [_v("R-17", f"{c.code} is {en}; only a carrier in store, or on loan to the custodian, "
                           "can be carried out.",
                   f"{c.code} {zh}；只有在库或由携带人借用的载体才能携带外出。")]
    out: list[Violation] = []
    if not custodian_signed:
        out.append(_v("R-92", f"{custodian.badge} must sign for carrying out (badge and PIN).",
                      f"携带人 {custodian.badge} 须登记签字（刷卡并输入PIN）。"))
    out += _active(custodian, "custodian", "携带人")
    out += _may_know(c, custodian)
    if policy.media_never_leave and c.kind.is_storage_medium and c.level.rank >= C.rank:
        out.append(_v("R-98", f"{c.code}: storage media that held classified files never leave the unit.",
                      f"{c.code}：存储过涉密文件的存储设备严禁带出。"))
    if c.level in policy.carry_out_levels:
        out += check_approval(approval, ApprovalPurpose.CARRY_OUT, c.code, now, policy, "R-92", custodian.badge,
                              executor)
    if return_due is None or return_due <= now:
        out.append(_v("R-92", f"{c.code}: carrying out needs a return deadline in the future.",
                      f"{c.code}：携带外出须规定归还期限。"))
    elif return_due > now + timedelta(days=policy.carry_out_max_days):
        out.append(_v("R-92", f"{c.code}: the return deadline may be at most {policy.carry_out_max_days} days away.",
                      f"{c.code}：归还期限不得超过 {policy.carry_out_max_days} 天。"))
    if c.level in policy.two_person_levels:
        if companion is None:
            out.append(_v("R-93", f"{c.code}: a {c.level.label} carrier is carried out by at least two people; "
                                  "name a second person (--companion).",
                          f"{c.code}：携带{c.level.zh}载体外出须两人以上同行，请指定同行人。"))
        else:
            if companion.badge == custodian.badge:
                out.append(_v("R-93", "The second person must be someone else.", "同行人须为另一人。"))
            if not companion_signed:
                out.append(_v("R-93", f"The second person {companion.badge} must sign (badge and PIN).",
                              f"同行人 {companion.badge} 须签字（刷卡并输入PIN）。"))
            out += _active(companion, "second person", "同行人")
            if not companion.clearance.may_hold(c.level):
                out.append(_v("R-93", f"The second person {companion.badge} lacks the clearance for {c.level.label}.",
                              f"同行人 {companion.badge} 的涉密等级不足以接触{c.level.zh}载体。"))
    return out


def check_copy(original: CarrierFacts, approval: ApprovalFacts | None, count: int, now: datetime,
               policy: Policy, level: Classification | None = None, executor: str | None = None) -> list[Violation]:
    """R-73–R-79 and §5 Q1: copies need approval; 绝密 only with the issuer's approval (or never, if strict)."""
    assert original.level is not None
    if level is not None and level != original.level:
        return [_v("R-77", f"{original.code}: a copy keeps the original's level ({original.level.label}); it cannot be "
                           f"made as {level.label}. Reclassify the original first if that is intended.",
                   f"{original.code}：复制件密级须与原件一致（{original.level.zh}），不能按{level.zh}复制；"
                   "如需变更，请先对原件办理密级变更。")]
    if original.status not in (CarrierStatus.IN_STORE, CarrierStatus.ARCHIVED):
        en, zh = _holder_text(original)
        return [_v("R-73", f"{original.code} is {en}; copies are made from a carrier in the registry's custody.",
                   f"{original.code} {zh}；复制须在机要室保管的载体上进行。")]
    out: list[Violation] = []
    if count < 1:
        out.append(_v("R-73", "Give the number of copies (1 or more).", "请填写复制份数（至少1份）。"))
    if original.level == TS and policy.top_secret_copy == "forbidden":
        return [*out, _v("R-74", f"{original.code}: copying 绝密 is forbidden by this unit's policy.",
                         f"{original.code}：本单位规定严禁复制绝密载体。")]
    if original.level in policy.copy_approval_levels:
        rule = "R-74" if original.level == TS else "R-75"
        out += check_approval(approval, ApprovalPurpose.COPY, original.code, now, policy, rule, executor=executor)
        if approval is not None:
            if policy.copy_requires_issuer and not approval.issuer_approved and original.level != TS:
                out.append(_v("R-76", f"{original.code}: this unit requires the issuing authority's approval for every "
                                      "copy: an approver of the issuing unit must sign the approval.",
                              f"{original.code}：本单位规定任何复制均须经原制发机关批准，请在审批中记录。"))
            if original.level == TS and not approval.issuer_approved:
                out.append(_v("R-74", f"{original.code}: copying 绝密 needs the issuing authority's approval: an "
                                      "approver of the issuing unit must sign the approval too.",
                              f"{original.code}：复制绝密载体须经制发机关批准：须由制发单位的审批人在审批上签批。"))
            if approval.copies is not None and count > approval.copies:
                out.append(_v("R-79", f"Approval #{approval.id} allows {approval.copies} copies, not {count}.",
                              f"审批 #{approval.id} 只批准复制 {approval.copies} 份，不能复制 {count} 份。"))
    return out


def check_reclassify(
    c: CarrierFacts,
    level: Classification,
    period: SecrecyPeriod | None,
    scope: Scope | None,
    approval: ApprovalFacts | None,
    place: LocationFacts | None,
    now: datetime,
    policy: Policy,
    executor: str | None = None,
) -> list[Violation]:
    """R-08, R-02, R-102, R-103: changing level, period or scope is a 定密 act; media are never downgraded.
    Taking a state secret out of the secret levels is declassification (解密), its own row of the matrix."""
    assert c.level is not None
    purpose = reclassify_purpose(c.level, level, c.scope, scope, period == c.period)
    out = check_approval(approval, purpose, c.code, now, policy, PURPOSE_RULE[purpose], executor=executor)
    floor = max((lv for lv in (c.level, c.highest_level_held) if lv is not None), key=lambda lv: lv.rank)
    if c.kind.is_storage_medium and level.rank < floor.rank:
        out.append(_v("R-103", f"{c.code}: a storage medium is never downgraded (it held {floor.label}); "
                               "it is kept at that level until destroyed.",
                      f"{c.code}：存储介质不得降低密级使用（曾存储{floor.zh}信息），须按原密级管理直至销毁。"))
    changed = CarrierFacts(c.code, c.kind, c.regime, level, period, scope, c.status, c.holder, c.location,
                           c.copy_number, c.copy_total)
    out += [v for v in check_registration(changed, None) if v.rule in ("R-01", "R-02", "R-30")]
    if place is not None and c.status.in_place:
        out += check_place_accepts(c.code, level, place)
    return out


def reclassify_purpose(old: Classification, new: Classification, old_scope: Scope | None = None,
                       new_scope: Scope | None = None, same_period: bool = True) -> ApprovalPurpose:
    """Which row of the matrix a 定密 change is judged by: leaving the secret levels is declassification; widening
    only the need-to-know scope (level and period kept) is a scope extension (扩大知悉范围, 000:79), which needs an
    approval of that purpose — a reclassification approval does not stand in for it, nor the other way round."""
    if old.is_secret_level and not new.is_secret_level:
        return ApprovalPurpose.DECLASSIFY
    if old == new and same_period and new_scope is not None and _widens(old_scope, new_scope):
        return ApprovalPurpose.SCOPE_EXTENSION
    return ApprovalPurpose.RECLASSIFY


def _widens(old: Scope | None, new: Scope) -> bool:
    if old is None:
        return True
    return not (new.units <= old.units and new.people <= old.people)


def check_move(c: CarrierFacts, place: LocationFacts) -> list[Violation]:
    """R-17, R-47: moving between places applies only to carriers in a place, never above the place's level."""
    assert c.level is not None
    if not c.status.in_place:
        en, zh = _holder_text(c)
        return [_v("R-17", f"{c.code} is {en}; only a carrier in store can be moved. Check it in first.",
                   f"{c.code} {zh}；只有在库载体才能移库，请先办理归还。")]
    if c.location == place.code:
        return [_v("R-17", f"{c.code} is already in {place.code}.", f"{c.code} 已在 {place.code}。")]
    return check_place_accepts(c.code, c.level, place)


def check_report_missing(c: CarrierFacts) -> list[Violation]:
    """R-154: a loss is reported at once; a carrier already missing or off the books cannot go missing again."""
    if c.status == CarrierStatus.MISSING:
        return [_v("R-154", f"{c.code} is already reported missing.", f"{c.code} 已报告下落不明。")]
    if c.status.gone:
        return [_v("R-154", f"{c.code} is {c.status.value}; it is no longer in the unit's custody.",
                   f"{c.code} {c.status.zh}，已不在本单位保管范围。")]
    return []


def check_found(c: CarrierFacts, place: LocationFacts) -> list[Violation]:
    assert c.level is not None
    if c.status != CarrierStatus.MISSING:
        return [_v("R-155", f"{c.code} is not reported missing (it is {c.status.value}).",
                   f"{c.code} 未报告下落不明（当前{c.status.zh}）。")]
    return check_place_accepts(c.code, c.level, place)


def leak_deadline(level: Classification, since: datetime, policy: Policy) -> datetime | None:
    """R-155: 10 days (绝密) or 60 days (机密/秘密) 下落不明 turns a loss into a leak incident."""
    days = policy.leak_days.get(level)
    return since + timedelta(days=days) if days is not None else None


def check_incident_close(kind: str, status: str, outcome: str, resolution: str,
                         still_missing: Sequence[str]) -> list[Violation]:
    """R-154–R-156: an incident ends only with a written resolution; a loss is not closed as recovered or unfounded
    while a carrier of it is still missing (that would stop the R-155 clock by paperwork)."""
    out: list[Violation] = []
    if status != "open":
        out.append(_v("R-156", "This incident is already closed.", "该事件已结案。"))
    if not resolution.strip():
        out.append(_v("R-156", "An incident is closed only with its resolution written down.",
                      "事件须写明处理结果方可结案。"))
    if still_missing and outcome in ("recovered", "unfounded", "other"):
        shown = ", ".join(still_missing[:10])
        out.append(_v("R-155", f"Still missing: {shown}. Record them found, or close as a leak reported "
                               "(leak_reported).",
                      f"仍下落不明：{shown}。须先登记找回，或按泄密事件上报结案（leak_reported）。"))
    return out


# R-166 / §5 Q11: the shortest 脱密期 by the level held (002:434's lower bounds); the unit may set longer.
COOLING_OFF_MIN_YEARS = {Clearance.CORE: 3, Clearance.IMPORTANT: 2, Clearance.GENERAL: 1}
COOLING_OFF_MAX_YEARS = 5


def check_leaving_post(person: PersonFacts, held: list[str], leave_pledge: bool, start: date,
                       until: date) -> list[Violation]:
    """R-140, R-166, R-167, R-170: leaving a classified post. Everything cleared back, the pledge on leaving signed,
    and a 脱密期 from `start` (the approval of the departure) to `until`, within the seeds' bounds for the level."""
    out = check_departure(person, held)
    if not leave_pledge:
        out.append(_v("R-170", f"{person.badge} signs the pledge on leaving (附表5) first; record it with "
                               "`person pledge --leaving`.",
                      f"{person.badge} 须先签署离岗保密承诺书（附表5），请用 `person pledge --leaving` 登记。"))
    least = COOLING_OFF_MIN_YEARS.get(person.clearance, 0)
    shortest = date(start.year + least, start.month, min(start.day, 28)) if least else start
    longest = date(start.year + COOLING_OFF_MAX_YEARS, start.month, min(start.day, 28))
    if until <= start or until < shortest or until > longest:
        out.append(_v("R-166", f"The 脱密期 of a {person.clearance.value} person runs {least}–"
                               f"{COOLING_OFF_MAX_YEARS} years: from {start.isoformat()}, end it between "
                               f"{shortest.isoformat()} and {longest.isoformat()}.",
                      f"{person.clearance.zh}涉密人员的脱密期为 {least}–{COOLING_OFF_MAX_YEARS} 年：自 "
                      f"{start.isoformat()} 起，截止日须在 {shortest.isoformat()} 至 {longest.isoformat()} 之间。"))
    return out


def check_departure(person: PersonFacts, held: list[str]) -> list[Violation]:
    """R-140: nobody is marked departed while still holding carriers; the list says what to clear back."""
    if held:
        shown = ", ".join(held[:20]) + (" …" if len(held) > 20 else "")
        return [_v("R-140", f"{person.badge} still holds {len(held)} carrier(s): {shown}. "
                            "They must be cleared back or handed over first.",
                   f"{person.badge} 仍持有 {len(held)} 件载体：{shown}。须先清退或办理移交。")]
    return []


# --- destruction (销毁, RULES §2.14) and end of life ---------------------------------------------------------------


class DestructionMethod(enum.StrEnum):
    """How a carrier is destroyed (R-150): always irreversibly. Deleting or formatting is never a destruction."""

    SHREDDING = "shredding"
    PULPING = "pulping"
    PHYSICAL = "physical"
    CHEMICAL = "chemical"

    @property
    def zh(self) -> str:
        return {"shredding": "粉碎", "pulping": "化浆", "physical": "物理销毁", "chemical": "化学销毁"}[self.value]


_PAPER_KINDS = frozenset({CarrierKind.PAPER, CarrierKind.NOTEBOOK})
_PAPER_METHODS = frozenset({DestructionMethod.SHREDDING, DestructionMethod.PULPING})
_MEDIA_METHODS = frozenset({DestructionMethod.PHYSICAL, DestructionMethod.CHEMICAL})
# Words that name a reversible "destruction": the content can be recovered, so R-150 refuses them by name.
_REVERSIBLE = ("delete", "deleted", "format", "formatted", "wipe", "wiped", "erase", "erased", "删除", "格式化")


def allowed_methods(kind: CarrierKind) -> frozenset[DestructionMethod]:
    """R-150: paper (and paper notebooks) is shredded or pulped; magnetic, flash and optical media, devices and
    secret items are destroyed physically or chemically so nothing can be recovered."""
    return _PAPER_METHODS if kind in _PAPER_KINDS else _MEDIA_METHODS


def parse_method(text: str) -> DestructionMethod | Violation:
    """A method as typed (English or Chinese); a reversible one or an unknown word is a violation, not a guess."""
    key = text.strip().lower()
    for m in DestructionMethod:
        if key == m.value or text.strip() == m.zh:
            return m
    if key in _REVERSIBLE:
        return _v("R-150", f"{text.strip()!r} is not a destruction: deleted or formatted content can be recovered. "
                           "Destroy media physically or chemically.",
                  f"“{text.strip()}”不是销毁：删除或格式化的内容可以恢复，存储介质须物理或化学销毁。")
    return _v("R-150", f"Unknown destruction method {text.strip()!r}: use shredding or pulping (paper), physical or "
                       "chemical (media).",
              f"无法识别的销毁方式“{text.strip()}”：纸介质用粉碎或化浆，存储介质用物理或化学销毁。")


@dataclass(frozen=True, slots=True)
class BatchFacts:
    """A destruction batch as the rulebook sees it: who asked, its state, its list and what the site scanned."""

    id: int
    status: str
    requester: str
    items: tuple[CarrierFacts, ...] = ()
    scanned: frozenset[str] = frozenset()
    extras: frozenset[str] = frozenset()


def check_destruction_listing(batch: BatchFacts, c: CarrierFacts, other_batch: int | None,
                              open_finding: str | None) -> list[Violation]:
    """R-147: only a carrier the registry holds, accounted for and on no other list, goes on a destruction list
    (造册). A carrier out on loan, in transit, carried out or missing is not at hand to be checked item by item; one
    under an open stock-take finding is not settled yet."""
    if batch.status != "open":
        return [_batch_frozen(batch)]
    if other_batch is not None:
        where = "this" if other_batch == batch.id else f"another (#{other_batch})"
        where_zh = "本" if other_batch == batch.id else f"另一（#{other_batch}）"
        return [_v("R-147", f"{c.code} is already on {where} destruction batch.",
                   f"{c.code} 已列入{where_zh}销毁批次。")]
    out: list[Violation] = []
    if c.status not in (CarrierStatus.IN_STORE, CarrierStatus.ARCHIVED):
        en, zh = _holder_text(c)
        out.append(_v("R-147", f"{c.code} is {en}: only a carrier in the registry's custody can be listed for "
                               "destruction. Check it in (or settle its loss) first.",
                      f"{c.code} {zh}：只有在机要室保管的载体才能列入销毁清单，请先办理归还（或处理丢失）。"))
    if open_finding is not None:
        out.append(_v("R-147", f"{c.code} has an open stock-take finding ({open_finding}); resolve it first.",
                      f"{c.code} 有未处理的清查结果（{open_finding}），请先处理。"))
    return out


def check_retire(c: CarrierFacts, reason: str) -> list[Violation]:
    """R-104, R-120, R-121: retiring (报废) is the end of a storage medium's or device's use. It is scrapped only by
    destruction under supervision (never given away, sold, discarded or reused), on a written request giving the
    reason, approved with the destruction batch it goes on. Paper and other carriers are listed for destruction
    directly."""
    out: list[Violation] = []
    if not (c.kind.is_storage_medium or c.kind == CarrierKind.AUDIO_VISUAL):
        out.append(_v("R-104", f"{c.code} is {c.kind.value}: retirement (报废) is for storage media and equipment; "
                               "list other carriers for destruction directly (tracker destruction add).",
                      f"{c.code} 为{c.kind.zh}：报废仅适用于存储介质和设备，其他载体请直接列入销毁清单"
                      "（tracker destruction add）。"))
    if not reason.strip():
        out.append(_v("R-121", f"{c.code}: scrapping needs a written request: give the reason (worn out, broken "
                               "beyond repair, replaced…).",
                      f"{c.code}：报废须书面申请，请填写报废理由（老化、无法修复、更换等）。"))
    return out


def check_destruction_unlisting(batch: BatchFacts, code: str, listed: bool) -> list[Violation]:
    if batch.status != "open":
        return [_batch_frozen(batch)]
    if not listed:
        return [_v("R-147", f"{code} is not on destruction batch #{batch.id}.",
                   f"{code} 不在销毁批次 #{batch.id} 中。")]
    return []


def check_destruction_submit(batch: BatchFacts) -> list[Violation]:
    """R-146, R-147: a list goes for approval once, with at least one item."""
    if batch.status != "open":
        return [_batch_frozen(batch)]
    if not batch.items:
        return [_v("R-147", f"Destruction batch #{batch.id} lists nothing yet.",
                   f"销毁批次 #{batch.id} 尚未登记任何载体。")]
    return []


def check_destruction_reopen(batch: BatchFacts, approval: ApprovalFacts | None, now: datetime) -> list[Violation]:
    """R-146: a list goes back to being edited only when its approval was denied or lapsed unused; a granted, valid
    approval covers exactly the list it was given for, so that list is never changed under it."""
    if batch.status != "submitted":
        return [_batch_frozen(batch)] if batch.status == "completed" else [
            _v("R-146", f"Destruction batch #{batch.id} is still open.", f"销毁批次 #{batch.id} 仍在造册中。")]
    if approval is not None and approval.status != "denied" and now <= approval.valid_until:
        return [_v("R-146", f"Approval #{approval.id} of batch #{batch.id} is {approval.status} and valid: the list "
                            "cannot change under it.",
                   f"销毁批次 #{batch.id} 的审批 #{approval.id} 仍有效（{approval.status}），清单不得更改。")]
    return []


def _batch_frozen(batch: BatchFacts) -> Violation:
    if batch.status == "completed":
        return _v("R-147", f"Destruction batch #{batch.id} is already completed.",
                  f"销毁批次 #{batch.id} 已完成销毁。")
    return _v("R-147", f"Destruction batch #{batch.id} has gone for approval: its list can no longer change. "
                       "Start a new batch for other carriers.",
              f"销毁批次 #{batch.id} 已报审批，清单不能再更改，其他载体请另建批次。")


def check_destruction_scan(batch: BatchFacts, approval: ApprovalFacts | None) -> list[Violation]:
    """R-146: the site scans only a batch whose destruction is approved and not yet done."""
    if batch.status == "completed":
        return [_batch_frozen(batch)]
    if batch.status != "submitted" or approval is None or approval.status != "granted":
        return [_v("R-146", f"Destruction batch #{batch.id} is not approved yet: nothing is taken to the site "
                            "before the approval.",
                   f"销毁批次 #{batch.id} 尚未批准：批准前不得送销。")]
    return []


def check_destruction_completion(
    batch: BatchFacts,
    approval: ApprovalFacts | None,
    supervisors: Iterable[tuple[PersonFacts, bool]],
    methods: dict[CarrierKind, DestructionMethod | Violation],
    site: str,
    now: datetime,
    policy: Policy,
    executor: str | None = None,
) -> list[Violation]:
    """R-146–R-150, R-159: the approved list, every item scanned and nothing else, at least two signed supervisors who
    may see the level and did not ask for the destruction, an irreversible method per kind, a designated site."""
    if batch.status == "completed":
        return [_batch_frozen(batch)]
    if batch.status != "submitted":
        return [_v("R-146", f"Destruction batch #{batch.id} has not gone for approval yet.",
                   f"销毁批次 #{batch.id} 尚未报批。")]
    out: list[Violation] = []
    for c in batch.items:
        out += check_approval(approval, ApprovalPurpose.DESTRUCTION, c.code, now, policy, "R-146", None, executor)
        if c.status != CarrierStatus.PENDING_DESTRUCTION:
            out.append(_v("R-147", f"{c.code} is {c.status.value} now, no longer pending destruction: settle it and "
                                   "list it again in a new batch.",
                          f"{c.code} 当前为{c.status.zh}，已不是待销毁状态：请处理后另建批次登记。"))
    if approval is not None and approval.status == "granted":
        enough, needed, _ = decision_complete(policy, ApprovalPurpose.DESTRUCTION, batch.items, approval.approvers,
                                              [])
        if not enough:  # a level raised after the approval, or a stricter matrix since, needs its approvers
            out.append(_v("R-146", f"Approval #{approval.id} has {len(approval.approvers)} approver(s); the list as it "
                                   f"stands now needs {needed}.",
                          f"审批 #{approval.id} 只有 {len(approval.approvers)} 位审批人签批，"
                          f"按清单现状须 {needed} 位。"))
    unscanned = sorted(c.code for c in batch.items if c.code not in batch.scanned)
    if unscanned:
        shown = ", ".join(unscanned[:20]) + (" …" if len(unscanned) > 20 else "")
        out.append(_v("R-147", f"{len(unscanned)} listed carrier(s) not scanned at the site: {shown}. Every item is "
                               "checked before destruction; nothing may be lost or missed.",
                      f"有 {len(unscanned)} 件清单内载体未在现场扫描核对：{shown}。销毁前须逐件核对，不得丢失或遗漏。"))
    if batch.extras:
        shown = ", ".join(sorted(batch.extras)[:20])
        out.append(_v("R-147", f"Scanned at the site but not on the list: {shown}. Take them away and set them aside "
                               "before completing.",
                      f"现场扫描到清单外物品：{shown}。须移出并登记后方可完成销毁。"))
    people = list(supervisors)
    need = max(2, policy.destruction_supervisors)
    distinct = {p.badge for p, _ in people}
    if len(distinct) < need:
        out.append(_v("R-148", f"A destruction is supervised by at least {need} people (二人以上监销); "
                               f"{len(distinct)} named.",
                      f"销毁须由 {need} 人以上监销，现只有 {len(distinct)} 人。"))
    top = max((c.level for c in batch.items if c.level is not None), key=lambda lv: lv.rank, default=None)
    for p, signed in people:
        if not signed:
            out.append(_v("R-148", f"Supervisor {p.badge} must sign (badge and PIN).",
                          f"监销人 {p.badge} 须签字（刷卡并输入PIN）。"))
        if p.badge == batch.requester or p.badge == executor:
            out.append(_v("R-148", f"{p.badge} asked for or carries out this destruction and may not also "
                                   "supervise it.",
                          f"{p.badge} 是该销毁的申请人或执行人，不得同时担任监销人。"))
        out += _active(p, "supervisor", "监销人")
        if top is not None and not p.clearance.may_hold(top):
            out.append(_v("R-159", f"Supervisor {p.badge} ({p.clearance.value} clearance) may not see "
                                   f"{top.label} carriers.",
                          f"监销人 {p.badge}（{p.clearance.zh}涉密人员）不得接触{top.zh}载体。"))
    for kind in sorted({c.kind for c in batch.items}):
        method = methods.get(kind)
        if method is None:
            out.append(_v("R-150", f"Name the destruction method for {kind.value} ({kind.zh}).",
                          f"请填写{kind.zh}的销毁方式。"))
        elif isinstance(method, Violation):
            out.append(method)
        elif method not in allowed_methods(kind):
            ok = " or ".join(m.value for m in sorted(allowed_methods(kind)))
            ok_zh = "或".join(m.zh for m in sorted(allowed_methods(kind)))
            out.append(_v("R-150", f"{kind.value} may not be destroyed by {method.value}: use {ok}.",
                          f"{kind.zh}不得以{method.zh}方式销毁，须{ok_zh}。"))
    if site.strip() not in policy.destruction_sites:
        out.append(_v("R-149", f"{site.strip()!r} is not a designated destruction site: use one of "
                               f"{', '.join(policy.destruction_sites)}.",
                      f"“{site.strip()}”不是指定的销毁场所，须在{'、'.join(policy.destruction_sites)}销毁。"))
    return list(dict.fromkeys(out))


def check_gone_at_counter(c: CarrierFacts) -> list[Violation]:
    """R-145 and R-154: a carrier the register says is destroyed, returned or transferred must not exist here; a
    sighting is reported, never handled as an ordinary carrier."""
    if c.status.gone:
        return [_v("R-145", f"{c.code} is {c.status.value} and must not be here: keep it, and report it to the "
                            "security officer at once.",
                   f"{c.code} {c.status.zh}，不应出现：请扣留该载体并立即报告保密办。")]
    return []


def check_new_label(code: str, status: CarrierStatus) -> list[Violation]:
    """R-145: no fresh label for a carrier off the books (destroyed, returned, transferred) — it would dress a
    written-off carrier as one still on the register. Every path that makes a carrier label asks this."""
    if status.gone:
        return [_v("R-145", f"{code} is {status.value}: no label is printed for a carrier off the register's books; "
                            "keep it, and report it to the security officer.",
                   f"{code} {status.zh}，不为已注销的载体打印标签；请扣留该载体并报告保密办。")]
    return []


_LEADERS = frozenset({Role.APPROVER, Role.OFFICE_LEADER, Role.COMMITTEE})


def check_transfer_signoff(leader: PersonFacts | None, signed: bool, executor: str) -> list[Violation]:
    """R-142, R-144: carriers handed to another unit leave with the supervising leader's sign-off (badge and PIN), a
    leader other than the clerk who hands them over."""
    if leader is None:
        return [_v("R-142", "A transfer to another unit is signed off by the supervising leader (--leader, with their "
                            "PIN).",
                   "向其他单位移交须由主管领导签字确认（--leader，输入其PIN）。")]
    out: list[Violation] = []
    if not leader.roles & _LEADERS:
        out.append(_v("R-142", f"{leader.badge} is not a leader (approver, office leader or committee) who may sign "
                               "off a transfer.",
                      f"{leader.badge} 不是可签字确认移交的领导（审批人、办公室领导或保密委员会）。"))
    if leader.badge == executor:
        out.append(_v("R-142", f"{leader.badge} hands the carriers over and may not also sign it off.",
                      f"{leader.badge} 是移交经办人，不得同时签字确认。"))
    if not signed:
        out.append(_v("R-142", f"The leader {leader.badge} must sign (badge and PIN).",
                      f"领导 {leader.badge} 须签字（刷卡并输入PIN）。"))
    return out + _active(leader, "leader", "领导")


def _archived_not_lent(c: CarrierFacts) -> Violation:
    """R-71: a filed carrier stays in the archive; it is consulted in the archive's reading room, not lent out."""
    return _v("R-71", f"{c.code} is archived: it is read only in the archive room (tracker archive-access), not lent "
                      "or taken out.",
              f"{c.code} 已归档：只能在档案室内查阅（tracker archive-access），不得借出或带出。")


def check_leaving(c: CarrierFacts, how: str) -> list[Violation]:
    """R-135, R-144: archiving, return to the issuer and transfer out start from the registry's custody."""
    allowed = (CarrierStatus.IN_STORE,) if how == "archive" else (CarrierStatus.IN_STORE, CarrierStatus.ARCHIVED)
    if c.status not in allowed:
        en, zh = _holder_text(c)
        rule = "R-135" if how == "archive" else "R-144"
        return [_v(rule, f"{c.code} is {en}: only a carrier in the registry's custody can be "
                         f"{'archived' if how == 'archive' else 'handed out of the unit'}.",
                   f"{c.code} {zh}：只有在机要室保管的载体才能{'归档' if how == 'archive' else '退回或移交'}。")]
    return []


# --- repair of media and equipment (维修, RULES §2.10) --------------------------------------------------------------

IN_HOUSE = "in-house"
REPAIR_STORAGE = ("removed", "sanitised", "kept")  # the storage taken out and sealed, wiped by specialists, left in


def check_repair(
    c: CarrierFacts,
    repairer: str,
    custodian: PersonFacts,
    custodian_signed: bool,
    storage: str,
    approval: ApprovalFacts | None,
    return_due: datetime | None,
    now: datetime,
    policy: Policy,
    executor: str | None = None,
) -> list[Violation]:
    """R-115–R-118: media and equipment are repaired inside the unit (`IN_HOUSE`, a custodian supervising the
    technician) or at a designated repair unit; 机密 and above is in principle never sent out; whatever goes out
    goes without its storage (removed and sealed, or sanitised) and with the carry-out approval (nothing taken out
    privately)."""
    assert c.level is not None
    if not c.kind.is_storage_medium:
        return [_v("R-115", f"{c.code} is {c.kind.value}: repair is recorded for storage media and equipment only.",
                   f"{c.code} 为{c.kind.zh}：仅存储介质和设备办理维修登记。")]
    if c.status != CarrierStatus.IN_STORE:
        en, zh = _holder_text(c)
        return [_v("R-17", f"{c.code} is {en}; it goes for repair from the store.",
                   f"{c.code} {zh}；须从库内送修。")]
    out: list[Violation] = []
    if storage not in REPAIR_STORAGE:
        out.append(_v("R-117", f"Say what happens to the storage: {', '.join(REPAIR_STORAGE)}.",
                      "请说明存储部件的处理：拆除封存、技术处理或保留。"))
    if not custodian_signed:
        out.append(_v("R-116", f"The custodian {custodian.badge} who supervises the repair must sign (badge and PIN).",
                      f"全程监督维修的保管人 {custodian.badge} 须签字（刷卡并输入PIN）。"))
    out += _active(custodian, "custodian", "保管人")
    if not custodian.clearance.may_hold(c.level):
        out += [v for v in _may_know(c, custodian) if v.rule == "R-159"]
    if repairer.strip() == IN_HOUSE:
        return out
    if repairer.strip() not in policy.approved_repairers:
        out.append(_v("R-118", f"{repairer.strip()!r} is not a designated repair unit; repair happens in the unit or "
                               "at a designated one (定点单位).",
                      f"“{repairer.strip()}”不是定点维修单位：维修只能在本单位或定点单位进行。"))
    if c.level.rank >= S.rank:
        out.append(_v("R-118", f"{c.code}: {c.level.label} equipment is not sent out for repair; the designated unit "
                               "sends its staff, supervised on site.",
                      f"{c.code}：{c.level.zh}设备原则上不送修，应由定点单位派员上门并全程监督。"))
    if storage == "kept":
        out.append(_v("R-117", f"{c.code}: before it goes out, its storage is removed and kept sealed, or the data "
                               "copied off and the storage sanitised.",
                      f"{c.code}：送修前须拆除存储部件封存，或拷出涉密文件并对存储部件进行技术处理。"))
    out += check_approval(approval, ApprovalPurpose.CARRY_OUT, c.code, now, policy, "R-115", custodian.badge,
                          executor)
    if return_due is None or return_due <= now:
        out.append(_v("R-115", f"{c.code}: give the date it comes back from repair.",
                      f"{c.code}：请填写维修返回日期。"))
    return out


def check_certification(c: CarrierFacts, product: str, certificate: str) -> list[Violation]:
    """R-110: a classified computer is a domestic product certified by the competent authorities, and the register
    records which product and which certificate. Only a computer (a laptop carrier) on the books has one."""
    if c.kind != CarrierKind.LAPTOP:
        return [_v("R-110", f"{c.code} is {c.kind.value}: the product certification is recorded for classified "
                            "computers.",
                   f"{c.code} 为{c.kind.zh}：产品认证仅对涉密计算机登记。")]
    if c.status.gone:
        return [_v("R-110", f"{c.code} is {c.status.value}: it is no longer on the books.",
                   f"{c.code} {c.status.zh}，已不在本单位登记范围。")]
    if not product.strip() or not certificate.strip():
        return [_v("R-110", f"{c.code}: record the product (a domestic product) and the number of its certificate "
                            "from the competent authorities.",
                   f"{c.code}：须登记产品型号（国产）及主管部门认证证书编号。")]
    return []


# --- archive access by outside requesters (查阅档案, R-71, R-72) -----------------------------------------------------


def check_archive_access(c: CarrierFacts, letter: str, parts: str, approval: ApprovalFacts | None,
                         room: LocationFacts, extracts: int, extracts_stamped: bool, now: datetime, policy: Policy,
                         executor: str | None = None, archive_room: bool = True) -> list[Violation]:
    """R-71, R-72: an outside requester consults an archived carrier with a letter of introduction stating what is to
    be consulted, the approval (an outside reading: the 外借 row of the matrix), in the archive room only — the room
    the carrier is filed in (`archive_room`), never another reading place; any extract is checked and stamped before
    it leaves."""
    assert c.level is not None
    if c.status != CarrierStatus.ARCHIVED:
        en, zh = _holder_text(c)
        return [_v("R-71", f"{c.code} is {en}: archive access concerns archived carriers.",
                   f"{c.code} {zh}：查阅档案仅适用于已归档载体。")]
    out: list[Violation] = []
    if not letter.strip() or not parts.strip():
        out.append(_v("R-71", "Record the letter of introduction (介绍信) and what it says is to be consulted.",
                      "须登记介绍信及其载明的查阅内容。"))
    if not archive_room:
        out.append(_v("R-71", f"{room.code} is not the archive room {c.code} is filed in: archives are read and "
                              "transcribed only in the archive room.",
                      f"{room.code} 不是 {c.code} 所在的档案室：档案只能在档案室内查阅、摘抄。"))
    else:
        out += check_place_accepts(c.code, c.level, room)
    if c.level.is_secret_level:
        out += check_approval(approval, ApprovalPurpose.OUTSIDE_LOAN, c.code, now, policy, "R-71", None, executor)
    if extracts < 0:
        out.append(_v("R-72", "The number of extracts is 0 or more.", "摘抄份数不能为负数。"))
    elif extracts and not extracts_stamped:
        out.append(_v("R-72", f"{extracts} extract(s) taken: they are checked and stamped (盖章) before they leave.",
                      f"摘抄 {extracts} 份：须经核对并盖章后方可带离。"))
    return out


# --- print runs (印制, RULES §2.3, R-29–R-37) ---------------------------------------------------------------------

MAX_RUN_COPIES = 10_000  # past this a copy count is a typo, not a print run (as registry.MAX_COPIES)


@dataclass(frozen=True, slots=True)
class PrintRunFacts:
    """A print run as the rulebook sees it: what was approved (level, period, scope, count, distribution) and its
    state. `distribution` is (recipient, copies) pairs: a unit, or `@badge` for a named person."""

    id: int
    status: str
    level: Classification
    regime: Regime
    period: SecrecyPeriod | None
    scope: Scope | None
    copies: int
    distribution: tuple[tuple[str, int], ...]
    requested_by: str | None = None


def check_print_request(run: PrintRunFacts, recipients: dict[str, str | None]) -> list[Violation]:
    """R-05, R-07, R-02, R-29: before printing, level, period, scope, count and distribution are fixed, and the
    distribution hands out exactly the copies printed to recipients inside the scope. `recipients` maps each
    distribution entry to the unit it stands for (a person's unit for `@badge`; None when the badge is unknown)."""
    out: list[Violation] = []
    if not 1 <= run.copies <= MAX_RUN_COPIES:
        out.append(_v("R-29", f"A print run prints 1 to {MAX_RUN_COPIES} copies, not {run.copies}.",
                      f"印制份数须在 1 至 {MAX_RUN_COPIES} 之间，而不是 {run.copies}。"))
    if run.level.is_secret_level:
        if run.period is None:
            out.append(_v("R-05", f"A {run.level.label} document's secrecy period is fixed before printing.",
                          f"{run.level.zh}文件印制前须确定保密期限。"))
        if run.regime == Regime.STATE and not run.scope:
            out.append(_v("R-05", f"A {run.level.label} document's distribution scope (知悉范围) is fixed before "
                                  "printing.",
                          f"{run.level.zh}文件印制前须确定知悉范围。"))
    given = sum(n for _, n in run.distribution)
    if any(n < 1 for _, n in run.distribution) or given != run.copies:
        out.append(_v("R-29", f"The distribution hands out {given} copies but the run prints {run.copies}: every "
                              "copy goes to a named unit or person, no more and no fewer (no 多印, no 私留).",
                      f"发放范围共 {given} 份，印制份数为 {run.copies} 份：每一份须发给指定单位或人员，"
                      "不得多印、私留。"))
    for who, unit in recipients.items():
        badge = who[1:] if who.startswith("@") else None
        if badge is not None and unit is None:
            out.append(_v("R-29", f"{who} in the distribution is not a registered person.",
                          f"发放范围中的 {who} 不是已登记人员。"))
        elif run.scope and run.level.is_secret_level and not run.scope.admits(unit or who, badge or ""):
            out.append(_v("R-29", f"{who} is outside the document's need-to-know scope; it cannot receive a copy.",
                          f"{who} 不在该文件的知悉范围内，不能发放。"))
    return out


def check_print_completion(run: PrintRunFacts, approval: ApprovalFacts | None, printed: int, printer: PersonFacts,
                           proof_reader: PersonFacts | None, byproducts: dict[str, int], now: datetime,
                           policy: Policy) -> list[Violation]:
    """R-29–R-36 when the run is done: its approval is granted, in time and not signed by the printer; exactly the
    approved number of copies was printed (more is 多印, refused); the printer and the proof-reader may see the
    level; the by-products are counted (R-34: they are registered to be destroyed)."""
    if run.status != "requested":
        return [_v("R-29", f"Print run #{run.id} is already {run.status}: a reprint is a new approved run.",
                   f"印制单 #{run.id} 已{'完成' if run.status == 'completed' else run.status}："
                   "重印须另行审批新的印制单。")]
    out: list[Violation] = []
    if approval is None or approval.purpose != ApprovalPurpose.PRINT:
        out.append(_v("R-29", f"Print run #{run.id} has no print approval.", f"印制单 #{run.id} 没有印制审批。"))
    elif approval.status != "granted":
        out.append(_v("R-29", f"Print run #{run.id}: approval #{approval.id} is {approval.status} "
                              f"({len(approval.approvers)} of {approval.needed} approver(s) signed); print only an "
                              "approved run.",
                      f"印制单 #{run.id}：审批 #{approval.id} 尚未批准（已有 {len(approval.approvers)}/"
                      f"{approval.needed} 位审批人签批），只能印制已批准的份数。"))
    else:
        if not approval.valid_from <= now <= approval.valid_until:
            until = f"{approval.valid_until.astimezone(policy.tz):%Y-%m-%d %H:%M}"
            out.append(_v("R-29", f"Approval #{approval.id} is not valid now (valid until {until}).",
                          f"审批 #{approval.id} 当前无效（有效期至 {until}）。"))
        if printer.badge in {a.badge for a in approval.approvers}:
            out.append(_v("R-25", f"{printer.badge} approved print run #{run.id} and may not also print it.",
                          f"{printer.badge} 审批了印制单 #{run.id}，不得本人印制。"))
    if printed > run.copies:
        out.append(_v("R-29", f"Print run #{run.id} is approved for {run.copies} copies, not {printed}: extra copies "
                              "(多印) are refused; more copies need a new approved run.",
                      f"印制单 #{run.id} 批准印制 {run.copies} 份，不能印制 {printed} 份：严禁多印，"
                      "如需加印须另行审批。"))
    elif printed < run.copies:
        out.append(_v("R-29", f"Print run #{run.id} is approved for {run.copies} copies and registers them all at "
                              f"once, not {printed}.",
                      f"印制单 #{run.id} 批准印制 {run.copies} 份，须一次全部登记，而不是 {printed} 份。"))
    for who, role_en, role_zh in ((printer, "printer", "印制人"), (proof_reader, "proof-reader", "校对人")):
        if who is None:
            out.append(_v("R-36", f"The print-job record names the {role_en}.", f"印制登记须写明{role_zh}。"))
            continue
        out += _active(who, role_en, role_zh)
        if not who.clearance.may_hold(run.level):
            out.append(_v("R-159", f"The {role_en} {who.badge} ({who.clearance.value} clearance) may not handle a "
                                   f"{run.level.label} document.",
                          f"{role_zh} {who.badge}（{who.clearance.zh}涉密人员）不得接触{run.level.zh}文件。"))
    if not printer.roles & ACTION_ROLES[Action.PRINT]:
        out.append(_v("R-31", f"{printer.badge} is not a designated printer (the print room's clerks).",
                      f"{printer.badge} 不是指定的印制人员（文印室保密员）。"))
    if proof_reader is not None and proof_reader.badge == printer.badge:
        out.append(_v("R-36", "The proof-reader is someone other than the printer.", "校对人须为印制人以外的人员。"))
    if not byproducts or any(n < 0 for n in byproducts.values()):
        out.append(_v("R-34", "Count the run's by-products (proofs, spoiled sheets, plates, discs; 0 where none): "
                              "they are locked away until destroyed.",
                      "请清点印制副产品（校样、废页、印板、光盘等，没有的填0）：销毁前须封存。"))
    return out


# --- classified meetings (涉密会议, RULES §2.11, R-123–R-128) ------------------------------------------------------

BOUND_TO_VENUE = frozenset({TS, S})  # R-124: 绝密 and 机密 meeting documents never leave the venue


@dataclass(frozen=True, slots=True)
class MeetingFacts:
    id: int
    status: str
    level: Classification
    venue: LocationFacts
    attendees: frozenset[str]


def check_meeting_new(level: Classification, venue: LocationFacts, starts: datetime, ends: datetime,
                      attendees: int) -> list[Violation]:
    """R-123, R-47: a meeting is held at a place fit for its level, at a stated time, with its attendee list."""
    out = check_place_accepts(f"meeting ({level.label})", level, venue) if level.is_secret_level else []
    if ends <= starts:
        out.append(_v("R-127", "A meeting ends after it starts.", "会议结束时间须晚于开始时间。"))
    if attendees < 1:
        out.append(_v("R-127", "A meeting names its attendees (the sign-in list).", "会议须列明参会人员（签到名单）。"))
    return out


def check_meeting_issue(m: MeetingFacts, c: CarrierFacts, attendee: PersonFacts, attendee_signed: bool,
                        other_meeting: int | None) -> list[Violation]:
    """R-123, R-124, R-127, R-159, R-54: a meeting document goes from the registry to a listed, signed-in attendee
    who may know it, at a venue that may hold it."""
    assert c.level is not None
    if m.status != "open":
        return [_v("R-123", f"Meeting #{m.id} is closed: nothing more is issued.",
                   f"会议 #{m.id} 已结束，不再发放材料。")]
    if other_meeting is not None:
        return [_v("R-123", f"{c.code} is already issued at meeting #{other_meeting}.",
                   f"{c.code} 已在会议 #{other_meeting} 发放。")]
    if c.status.gone:
        return check_gone_at_counter(c)
    if c.status != CarrierStatus.IN_STORE:
        en, zh = _holder_text(c)
        return [_v("R-17", f"{c.code} is {en}: meeting documents are issued from the registry's store.",
                   f"{c.code} {zh}：会议材料须从机要室在库载体中发放。")]
    out: list[Violation] = []
    if attendee.badge not in m.attendees:
        out.append(_v("R-127", f"{attendee.badge} is not on the attendee list of meeting #{m.id}.",
                      f"{attendee.badge} 不在会议 #{m.id} 的参会名单中。"))
    if not attendee_signed:
        out.append(_v("R-127", f"{attendee.badge} signs in (badge and PIN) to receive meeting documents.",
                      f"参会人 {attendee.badge} 须签到（刷卡并输入PIN）后领取会议材料。"))
    out += _active(attendee, "attendee", "参会人")
    out += _may_know(c, attendee)
    if c.level.rank > m.level.rank:
        out.append(_v("R-123", f"{c.code} is {c.level.label}, above meeting #{m.id}'s level ({m.level.label}).",
                      f"{c.code} 为{c.level.zh}，高于会议 #{m.id} 的密级（{m.level.zh}）。"))
    out += check_place_accepts(c.code, c.level, m.venue)
    return out


def check_meeting_keep(m: MeetingFacts, c: CarrierFacts, holder: str | None) -> list[Violation]:
    """R-124, R-125: only documents below 机密 may be kept by an attendee, and only registered as kept (then the
    attendee is their accountable holder); 绝密 and 机密 are collected back."""
    assert c.level is not None
    if m.status != "open":
        return [_v("R-125", f"Meeting #{m.id} is closed.", f"会议 #{m.id} 已结束。")]
    if c.level in BOUND_TO_VENUE:
        return [_v("R-124", f"{c.code} is {c.level.label}: 绝密 and 机密 meeting documents may not leave the venue; "
                            "collect it back.",
                   f"{c.code} 为{c.level.zh}：绝密、机密会议文件不得带出会场，须收回。")]
    if holder is None:
        return [_v("R-125", f"{c.code} is not held by an attendee of meeting #{m.id}.",
                   f"{c.code} 不在会议 #{m.id} 参会人手中。")]
    return []


def check_meeting_bound(code: str, level: Classification, meeting: int | None) -> list[Violation]:
    """R-124: while a meeting holds a 绝密/机密 document it stays at the venue: no carrying out, no hand-on."""
    if meeting is not None and level in BOUND_TO_VENUE:
        return [_v("R-124", f"{code} is a {level.label} document issued at meeting #{meeting}: it may not leave the "
                            "venue; it is collected back at the meeting.",
                   f"{code} 为会议 #{meeting} 发放的{level.zh}文件，不得带出会场，须在会上收回。")]
    return []


def check_meeting_close(m: MeetingFacts, outstanding: list[str], venue_checked: bool) -> list[Violation]:
    """R-123, R-126: a meeting closes when every document is back, registered as kept or reported missing, and the
    venue has been checked for anything left behind."""
    if m.status != "open":
        return [_v("R-123", f"Meeting #{m.id} is already closed.", f"会议 #{m.id} 已结束。")]
    out: list[Violation] = []
    if outstanding:
        shown = ", ".join(outstanding[:20]) + (" …" if len(outstanding) > 20 else "")
        out.append(_v("R-123", f"Meeting #{m.id} cannot close: {len(outstanding)} document(s) not collected back, "
                               f"kept or reported missing: {shown}.",
                      f"会议 #{m.id} 不能结束：{len(outstanding)} 份材料未收回、未登记留存或未报告下落不明：{shown}。"))
    if not venue_checked:
        out.append(_v("R-126", "Record the check of the venue (and lodgings) for documents left behind.",
                      "须记录会后对会场（及住地）遗留文件的清查。"))
    return out
# --- exit gates and smart cabinets (issue 23) -------------------------------------------------------------------


def check_gate_pass(c: CarrierFacts, reading_place_beyond: bool | None) -> list[Violation]:
    """R-16, R-17, R-67: a carrier passes an exit gate (通道门) only while the register shows it out with a person —
    an open loan, a carry-out or a transit hop. A loan naming a reading place allows the pass only when that place
    is beyond the door (`reading_place_beyond`; None when the loan names none). Direction does not matter: a
    carrier the register keeps in a place has no business in the doorway either way."""
    if c.status in (CarrierStatus.CARRIED_OUT, CarrierStatus.IN_TRANSIT):
        return []
    if c.status == CarrierStatus.ON_LOAN:
        if reading_place_beyond is False:
            return [_v("R-67", f"{c.code} is lent for reading at a designated reading place inside; it passed the "
                               "exit gate.",
                       f"{c.code} 仅限在门内指定阅文场所阅读，却经过了通道门。")]
        return []
    if c.status.gone:
        return [_v("R-17", f"{c.code} is off the books ({c.status.value}) and must never be seen again; it passed "
                           "the exit gate.",
                   f"{c.code} 已注销（{c.status.zh}），不应再出现，却经过了通道门。")]
    en, zh = _holder_text(c)
    return [_v("R-16", f"{c.code} passed the exit gate without a loan, carry-out or transit: the register has it "
                       f"{en}.",
               f"{c.code} 未经借阅、携带外出或传递登记即经过通道门：登记库显示其{zh}。")]


def check_unknown_tag(epc: str, ours: bool, policy: Policy) -> list[Violation]:
    """R-16: a tag that is no carrier of the register is logged at a gate; it raises the alarm only where the
    policy says so (`gate_alarm_unknown_tags`), since visitors' goods carry retail tags."""
    if not policy.gate_alarm_unknown_tags:
        return []
    what_en, what_zh = ("a tag of ours that is not registered", "本单位编码但未登记的标签") if ours else \
        ("another organisation's tag", "外单位标签")
    return [_v("R-16", f"{epc}: {what_en} passed the exit gate.", f"{epc}：{what_zh}经过通道门。")]


def check_cabinet_return(c: CarrierFacts, cabinet: LocationFacts) -> list[Violation]:
    """R-66, R-47: a carrier put into a smart cabinet is checked in there when it was out with a person and the
    cabinet may store its level; a carrier the register keeps in another place was misplaced, not returned."""
    if c.status.in_place and c.location != cabinet.code:
        return [_v("R-17", f"{c.code} belongs in {c.location}; it was put into {cabinet.code}.",
                   f"{c.code} 应存放于 {c.location}，却被放入 {cabinet.code}。")]
    return check_checkin(c, cabinet)
# --- receipt, dispatch and transit (issue 20) ----------------------------------------------------------------------


def check_receiver(person: PersonFacts, policy: Policy) -> list[Violation]:
    """R-20, R-25: incoming items are received and registered by the registry or by people the policy designates;
    nobody else opens or registers them."""
    if person.is_registry or person.badge in policy.incoming_receivers:
        return []
    return [_v("R-20", f"{person.badge} is not a designated receiver: incoming items are registered by the registry "
                       "(clerk) or by a person the policy names.",
               f"{person.badge} 不是指定收文人员：来文须由机要室（保密员）或策略指定人员登记。")]


def check_incoming_counts(copy_number: int | None, copy_total: int | None, pages: int | None,
                          sender: str) -> list[Violation]:
    """R-18: receiving needs a number and a count (编号、清点) and says where it came from."""
    out: list[Violation] = []
    if not sender.strip():
        out.append(_v("R-16", "Say who sent the item (--sender).", "请填写来文单位（--sender）。"))
    if pages is None:
        out.append(_v("R-18", "Count the item on receipt: give its pages or items (--pages).",
                      "收文须清点：请填写页数或件数（--pages）。"))
    if copy_number is None or copy_total is None:
        out.append(_v("R-18", "Give the copy number n/N printed on the item (--copy).",
                      "请填写文件上的份号 n/N（--copy）。"))
    return out


def check_personal_delivery(personal_to: str, taker: PersonFacts, taker_signed: bool,
                            proxies: frozenset[str]) -> list[Violation]:
    """R-21: a 亲启 item goes, unopened, to the named person or a proxy that person designated; the taker signs."""
    out: list[Violation] = []
    if taker.badge != personal_to and taker.badge not in proxies:
        out.append(_v("R-21", f"This item is 亲启 to {personal_to}: only that person or a proxy they designated may "
                              f"take it, not {taker.badge}.",
                      f"该件为 {personal_to} 亲启件：只能交本人或其指定的代收人，不能交给 {taker.badge}。"))
    if not taker_signed:
        out.append(_v("R-22", f"{taker.badge} signs for the item (badge and PIN).",
                      f"收件人 {taker.badge} 须签收（刷卡并输入PIN）。"))
    out += _active(taker, "recipient", "收件人")
    return out


def check_transit_parties(carriers: Sequence[CarrierFacts], giver: PersonFacts, giver_signed: bool,
                          taker: PersonFacts, taker_signed: bool, companion: PersonFacts | None,
                          companion_signed: bool, to_registry: bool, policy: Policy) -> list[Violation]:
    """One hop of the 机要 channel (R-18, R-55, R-56, R-87, R-89, R-91, R-93, §5 Q17): both sides sign; a courier
    takes from a registry or hands to one (a courier-to-courier relay is delegation unless the policy allows it); a
    carrier travelling is taken by a courier, or received by a registry at the end; 绝密 travels with two couriers,
    both signed and both cleared; every taker may hold every carrier's level."""
    out: list[Violation] = []
    if giver.badge == taker.badge:
        out.append(_v("R-18", "Giver and taker are the same person.", "交出人与接收人为同一人。"))
    missing = [p.badge for p, ok in ((giver, giver_signed), (taker, taker_signed)) if not ok]
    if companion is not None and not companion_signed:
        missing.append(companion.badge)
    if missing:
        out.append(_v("R-18", f"Every party of a hop signs (badge and PIN); missing: {', '.join(missing)}.",
                      f"交接各方均须签收（刷卡并输入PIN），未签：{'、'.join(missing)}。"))
    if to_registry:
        if not taker.is_registry:
            out.append(_v("R-20", f"{taker.badge} is not registry staff: a transit is received by the destination "
                                  "registry.",
                          f"{taker.badge} 不是机要室人员：传递件须由收件机要室签收。"))
    elif not taker.is_courier and not taker.is_registry:
        out.append(_v("R-87", f"{taker.badge} is not a designated courier: carriers travel only through the 机要 "
                              "channel (机要交通).",
                      f"{taker.badge} 不是指定机要交通：载体只能通过机要渠道传递。"))
    if not (giver.is_registry or taker.is_registry) and giver.is_courier and taker.is_courier \
            and not policy.allow_courier_relay:
        out.append(_v("R-89", f"A courier delivers in person: {giver.badge} may not pass the transit to another "
                              f"courier {taker.badge} (no 代交/捎带); hand it to a registry.",
                      f"机要交通须亲自递送：{giver.badge} 不得将传递件转交交通员 {taker.badge}（禁止代交、捎带），"
                      "请交机要室。"))
    if not (giver.is_courier or giver.is_registry):
        out.append(_v("R-56", f"{giver.badge} is neither a courier nor registry staff: no 横传.",
                      f"{giver.badge} 既非机要交通也非机要室人员：禁止横传。"))
    top = any(c.level == TS for c in carriers)
    if top and taker.is_courier and not to_registry:
        if companion is None:
            out.append(_v("R-93", "绝密 travels with two couriers: name a second courier, who signs too.",
                          "绝密载体须两名机要交通同行：请指定第二名交通员并签字。"))
        elif companion.badge in (taker.badge, giver.badge) or not companion.is_courier:
            out.append(_v("R-93", f"{companion.badge} is not a second designated courier.",
                          f"{companion.badge} 不是另一名指定机要交通。"))
    out += _active(taker, "taker", "接收人")
    for person in (taker, companion):
        if person is None:
            continue
        for c in carriers:
            assert c.level is not None
            if not person.clearance.may_hold(c.level):
                out += [v for v in _may_know(c, person) if v.rule == "R-159"]
    return unique_violations(out)


def check_dispatch(carriers: Sequence[CarrierFacts], from_place: str, to_place: str) -> list[Violation]:
    """R-16, R-17, R-19: a dispatch sends carriers in store at the dispatching registry, to another registry."""
    out: list[Violation] = []
    if not carriers:
        out.append(_v("R-16", "A dispatch sends at least one carrier or package.", "发文至少包括一件载体或封装。"))
    if from_place == to_place:
        out.append(_v("R-19", "The destination is the dispatching registry itself.", "收件机要室与发件机要室相同。"))
    for c in carriers:
        if c.status != CarrierStatus.IN_STORE:
            en, zh = _holder_text(c)
            out.append(_v("R-17", f"{c.code} is not in store: it is {en}.", f"{c.code} 不在库：{zh}。"))
    return out


def check_opening(expected: frozenset[str], found: frozenset[str]) -> tuple[list[str], list[str]]:
    """R-18 清点 on opening: the codes on the packing list not found, and the codes found that are not on it."""
    return sorted(expected - found), sorted(found - expected)


def unique_violations(vs: list[Violation]) -> list[Violation]:
    """Each rule's message once, in order: several carriers or parties refused for the same reason say it once."""
    seen: set[tuple[str, str]] = set()
    out = []
    for v in vs:
        if (v.rule, v.en) not in seen:
            seen.add((v.rule, v.en))
            out.append(v)
    return out
