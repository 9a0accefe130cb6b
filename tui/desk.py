"""The counter's work, without the screen: what a scan, a signature or an action key does to the register.

A `Desk` is driven by one worker thread, one job at a time and in the order the jobs were queued, so its state (the
current action, the counter-party, the target place, carriers waiting for a signature) needs no locks and a scan
never overtakes an earlier one. Every job returns `Feedback` values — plain, frozen, already in the operator's
language — for the screen to show. The desk calls the register's services and read-only queries; it never decides a
rule itself (the services do) and never touches the UI. Unexpected errors become red feedback, never a dead worker.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from labels.codes import (
    CodeError,
    classify_code,
    parse_badge_code,
    parse_carrier_code,
    parse_location_code,
)
from tracker import queries
from tracker.domain import ApprovalPurpose, CarrierStatus, Classification, Clearance, DomainError
from tracker.epc_scope import carrier_code_for_epc
from tracker.queries import CarrierView
from tracker.rules import PURPOSE_RULE, Violation
from tracker.services import approvals, circulation, incidents, registry
from tracker.services.common import Refused, Signed, authenticate
from tracker.store import Store
from tui import lookups
from tui.i18n import _, pick
from tui.lookups import PersonView, PlaceView

Tone = Literal["ok", "refused", "info", "waiting", "error"]
E = TypeVar("E", bound=enum.Enum)


class Mode(enum.StrEnum):
    """What a carrier scan does at the counter."""

    CHECK_OUT = "check_out"  # 借出
    CHECK_IN = "check_in"  # 归还
    LOOKUP = "lookup"  # 查询


def mode_label(mode: Mode) -> str:
    return {Mode.CHECK_OUT: _("Check-out"), Mode.CHECK_IN: _("Check-in"), Mode.LOOKUP: _("Look-up")}[mode]


@dataclass(frozen=True)
class Party:
    """The person across the counter (borrower, returner, custodian); `signed` once they typed their PIN."""

    person: PersonView
    signed: Signed | None = None


@dataclass(frozen=True)
class DeskState:
    mode: Mode = Mode.CHECK_OUT
    party: Party | None = None
    place: PlaceView | None = None
    waiting: tuple[str, ...] = ()
    # A proxy return: the holder whose signature the returner's check-in waits for, once scanned.
    holder: Party | None = None
    holder_badge: str | None = None


@dataclass(frozen=True)
class Feedback:
    """One answer for the screen: a card (tone, headline, lines) and, when it concerns a queued row, that row."""

    tone: Tone
    title: str
    lines: tuple[str, ...] = ()
    row: int | None = None
    code: str | None = None
    carrier: CarrierView | None = None
    rules: tuple[str, ...] = ()
    state: DeskState = field(default_factory=DeskState)
    source: str = "scan"
    started: float | None = None
    seq: int | None = None
    # Set when the act was refused for want of an approval: the purpose a request raised here would ask for.
    request: str | None = None

    @property
    def bell(self) -> bool:
        return self.tone in ("refused", "error")


# --- jobs --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scan:
    row: int
    text: str
    source: str = "scan"  # scan (keyboard wedge burst or scanner driver) | typed
    started: float | None = None


@dataclass(frozen=True)
class SetMode:
    mode: Mode


@dataclass(frozen=True)
class SignParty:
    pin: str
    row: int | None = None  # the row of the badge scan, updated once signed


@dataclass(frozen=True)
class ClearParty:
    pass


@dataclass(frozen=True)
class Reset:
    """A new transaction at the counter: forget the counter-party, the place and what was waiting."""


@dataclass(frozen=True)
class CarryOut:
    row: int
    code: str
    return_due: datetime
    destination: str = ""
    companion: str | None = None
    companion_pin: str | None = None
    approval: int | None = None


@dataclass(frozen=True)
class Copy:
    row: int
    code: str
    count: int = 1
    approval: int | None = None


@dataclass(frozen=True)
class ReportMissing:
    row: int
    code: str
    note: str = ""


@dataclass(frozen=True)
class RecordFound:
    """A carrier reported missing turned up: it goes back to `place` and its incident's clock stops."""

    row: int
    code: str
    place: str
    note: str = ""


@dataclass(frozen=True)
class RaiseRequest:
    """A request for approval raised at the counter, for an approver to decide on the approvals screen."""

    row: int
    purpose: str
    codes: tuple[str, ...]
    grantee: str | None
    valid_until: datetime
    note: str = ""


Job = Scan | SetMode | SignParty | ClearParty | Reset | CarryOut | Copy | ReportMissing | RecordFound | RaiseRequest

# A rule's advice names a command-line option (e.g. "(--reading-place)"); at the counter it is done by a key or a
# scan instead, so the option is left out of what the screen shows.
_CLI_OPTION = re.compile(r"\s*\(--[a-z][a-z-]*\)")


class Desk:
    """State and work of one counter; see the module docstring for the threading contract."""

    def __init__(self, store: Store, operator: Callable[[], Signed | None], *, site: str = "BJ") -> None:
        self.store = store
        self._operator = operator
        self.site = site
        self.state = DeskState()
        self._waiting: list[Scan] = []

    # -- entry point ------------------------------------------------------------------------------------------------

    def run(self, job: Job) -> list[Feedback]:
        """Do one job; never raises (a failure is a red card naming what went wrong)."""
        out = self._safe(job)
        snapshot = self._snapshot()
        return [replace(f, state=snapshot) for f in out]

    def _safe(self, job: Job) -> list[Feedback]:
        row, code = getattr(job, "row", None), getattr(job, "code", None)
        try:
            out = self._dispatch(job)
        except Refused as e:
            out = [self._refused(e, row, code or _scanned_code(job), job)]
        except DomainError as e:
            out = [self._error(pick(e.en, e.zh), row, code)]
        except CodeError as e:
            out = [self._error(pick(e.message_en, e.message_zh), row, code)]
        except SQLAlchemyError as e:
            out = [self._error(_("The register database did not answer: {error}").format(error=type(e).__name__),
                               row, code)]
        if isinstance(job, Scan):
            out = [replace(f, source=job.source, started=job.started) if f.row == job.row else f for f in out]
        elif row is not None:
            out = [replace(f, source="action") if f.row == row else f for f in out]
        return out

    def _dispatch(self, job: Job) -> list[Feedback]:
        if isinstance(job, Scan):
            return self._scan(job)
        if isinstance(job, SetMode):
            self.state = replace(self.state, mode=job.mode)
            return [Feedback("info", _("Action: {mode}").format(mode=mode_label(job.mode)),
                             (self._mode_hint(job.mode),))]
        if isinstance(job, SignParty):
            return self._sign(job.pin, job.row)
        if isinstance(job, ClearParty):
            self.state = replace(self.state, party=None)
            return [Feedback("info", _("Counter-party cleared"), (_("Scan the next person's badge."),))]
        if isinstance(job, Reset):
            self.state = DeskState(mode=self.state.mode)
            self._waiting.clear()
            return [Feedback("info", _("New transaction"), (_("Scan a badge or a carrier."),))]
        if isinstance(job, CarryOut):
            return [self._carry_out(job)]
        if isinstance(job, Copy):
            return [self._copy(job)]
        if isinstance(job, RaiseRequest):
            return [self._raise_request(job)]
        if isinstance(job, RecordFound):
            return [self._found(job)]
        return [self._report_missing(job)]

    # -- scans ------------------------------------------------------------------------------------------------------

    def _scan(self, job: Scan) -> list[Feedback]:
        text = job.text.strip()
        kind = classify_code(text)
        if kind == "badge":
            return self._select_party(parse_badge_code(text).text, job)
        if kind == "location":
            return [self._set_place(parse_location_code(text).text, job)]
        if kind in ("carrier", "epc"):
            code = self._carrier_code(text, kind)
            if code is None:
                return [self._error(_("Unknown tag {epc}: not a carrier of this register.").format(epc=text.upper()),
                                    job.row, text)]
            return [self._carrier(code, job)]
        return [self._error(_("{text!r} is not a carrier, badge or place code.").format(text=text[:60]), job.row,
                            text, lines=(_("Scan the label's barcode, or type the code and press Enter."),))]

    def _carrier_code(self, text: str, kind: str) -> str | None:
        if kind == "carrier":
            return parse_carrier_code(text).text
        with self.store.uow(readonly=True) as uow:
            view = queries.carrier_by_epc(uow, text)
            # A tag under another organisation's prefix is an unknown tag, never one of our carriers (issue 17).
            return view.code if view is not None else carrier_code_for_epc(uow, text)

    def _select_party(self, badge: str, job: Scan) -> list[Feedback]:
        with self.store.uow(readonly=True) as uow:
            who = lookups.person(uow, badge)
        if who is None:
            return [self._error(_("No person with badge {badge} in the register.").format(badge=badge), job.row,
                                badge)]
        if self.state.mode == Mode.CHECK_IN and badge == self.state.holder_badge:
            # The holder countersigns a proxy's return; the returner stays the counter-party.
            self.state = replace(self.state, holder=Party(who))
            return [Feedback("waiting", _("Holder: {badge} {name}").format(badge=who.badge, name=who.name),
                             (_("Ask {name} to type their PIN to sign.").format(name=who.name),), row=job.row,
                             code=badge)]
        if self.state.holder_badge is not None:
            self.state = replace(self.state, holder=None, holder_badge=None)
            self._waiting.clear()
        self.state = replace(self.state, party=Party(who))
        lines = [_("Clearance: {clearance}  Unit: {unit}").format(clearance=clearance_label(who.clearance),
                                                                   unit=who.unit),
                 _("Ask {name} to type their PIN to sign.").format(name=who.name)]
        if who.status != "active":
            lines.append(_("Status: {status} — no new custody may start (R-140).").format(status=who.status))
        return [Feedback("waiting", _("Counter-party: {badge} {name}").format(badge=who.badge, name=who.name),
                         tuple(lines), row=job.row, code=badge)]

    def _set_place(self, code: str, job: Scan) -> Feedback:
        with self.store.uow(readonly=True) as uow:
            where = lookups.place(uow, code)
        if where is None:
            return self._error(_("No place with code {code} in the register.").format(code=code), job.row, code)
        self.state = replace(self.state, place=where)
        extra = _("reading place") if where.reading_place else _("storage place")
        return Feedback("info", _("Place: {code} {name}").format(code=where.code, name=where.name),
                        (_("{kind}, up to {level}").format(kind=extra, level=level_label(where.max_level)),
                         _("Check-ins go here; 绝密 check-outs are read here.")), row=job.row, code=code)

    def _carrier(self, code: str, job: Scan) -> Feedback:
        mode = self.state.mode
        if mode == Mode.LOOKUP:
            return self._look_up(code, job.row)
        if mode == Mode.CHECK_IN:
            return self._check_in(code, job)
        return self._check_out(code, job)

    def _check_out(self, code: str, job: Scan) -> Feedback:
        party = self.state.party
        if party is None or party.signed is None:
            self._waiting.append(job)
            need = _("Scan the borrower's badge.") if party is None else \
                _("Waiting for {name} to sign with their PIN.").format(name=party.person.name)
            return self._show(code, job.row, "waiting", _("Queued: waiting for the borrower"), (need,))
        actor = self._actor()
        with self.store.uow(readonly=True) as uow:
            view = queries.carrier(uow, code)
            approval = None
            if view is not None:
                level = Classification(view.classification)
                if level in self.store.policy.loan_approval_levels:
                    approval = approvals.covering(uow, ApprovalPurpose.LOAN, code, party.person.badge, uow.now())
        reading = self.state.place.code if self.state.place and self.state.place.reading_place else None
        receipt = circulation.check_out(self.store.uow(), actor, code, party.signed, approval_id=approval,
                                        reading_place=reading)
        lines = (_("Approval #{id}").format(id=approval),) if approval else ()
        title = _("Checked out to {name}").format(name=party.person.name)
        if view is None:
            return self._show(code, job.row, "ok", title, lines, seq=receipt.event_seq)
        # The loan's effect is known exactly; re-reading the carrier would only add a transaction to every scan.
        lent = replace(view, status=CarrierStatus.ON_LOAN.value, holder=party.person.badge,
                       holder_name=party.person.name, location=None, location_name=None, due_at=receipt.due)
        return Feedback("ok", title, tuple(carrier_lines(lent, self.store)) + lines, row=job.row, code=code,
                        carrier=lent, seq=receipt.event_seq)

    def _check_in(self, code: str, job: Scan) -> Feedback:
        party = self.state.party
        if party is None or party.signed is None:
            # Who brings it back signs first; a carrier that is not out needs nobody to say so.
            with self.store.uow(readonly=True) as uow:
                view = queries.carrier(uow, code)
            if view is not None and CarrierStatus(view.status).gone:
                # Off the books yet brought back: the service refuses it (R-145, keep it and report it) and the
                # refusal stays in the audit log, whoever brings it; never a quiet "nothing to check in".
                circulation.check_in(self.store.uow(), self._actor(), code)
            if view is not None and not CarrierStatus(view.status).with_holder:
                return self._not_out(view, job.row)
            self._waiting.append(job)
            need = _("Scan the returner's badge: the holder's, or your own when the registry takes it back.") \
                if party is None else _("Waiting for {name} to sign with their PIN.").format(name=party.person.name)
            return self._show(code, job.row, "waiting", _("Queued: waiting for the returner"), (need,))
        actor = self._actor()
        target = self.state.place.code if self.state.place and not self.state.place.reading_place else None
        cosigned = self.state.holder.signed if self.state.holder is not None else None
        try:
            seq = circulation.check_in(self.store.uow(), actor, code, to_location=target, returned_by=party.signed,
                                       holder=cosigned)
        except Refused as e:
            if e.rules == ["R-56"] and cosigned is None:
                # A proxy brings it back: the holder countersigns here (badge and PIN), or it is refused as 代交.
                with self.store.uow(readonly=True) as uow:
                    view = queries.carrier(uow, code)
                if view is not None and view.holder is not None:
                    self._waiting.append(job)
                    self.state = replace(self.state, holder_badge=view.holder)
                    return self._show(code, job.row, "waiting", _("Proxy return: the holder signs too"),
                                      (_("Scan the badge of {badge} {name}, who holds it; they type their PIN.")
                                       .format(badge=view.holder, name=view.holder_name or ""),
                                       _("Anyone else bringing it back is 代交 (R-56).")))
            # The service refuses a carrier that is not out before it asks anything about places; one
            # already in store is shown as information with its card, the others as the refusal with their status.
            if e.rules == ["R-66"]:
                with self.store.uow(readonly=True) as uow:
                    view = queries.carrier(uow, code)
                if view is not None and not CarrierStatus(view.status).with_holder:
                    return self._not_out(view, job.row)
            raise
        return self._show(code, job.row, "ok", _("Checked in"),
                          (_("Returned by {badge} {name}").format(badge=party.person.badge, name=party.person.name),),
                          seq=seq)

    def _not_out(self, view: CarrierView, row: int) -> Feedback:
        lines = tuple(carrier_lines(view, self.store))
        if view.status == CarrierStatus.IN_STORE.value:
            return Feedback("info", _("Already in store: nothing to check in"), lines, row=row, code=view.code,
                            carrier=view)
        return Feedback("refused", _("Refused: {rules}").format(rules="R-66"),
                        (*lines, _("R-66: {code} is not out ({status}): nothing to check in.").format(
                            code=view.code, status=status_label(view.status))),
                        row=row, code=view.code, carrier=view, rules=("R-66",))

    def _sign(self, pin: str, row: int | None = None) -> list[Feedback]:
        holder = self.state.holder
        if holder is not None and holder.signed is None:
            signed = authenticate(self.store.uow(), holder.person.badge, pin)
            self.state = replace(self.state, holder=Party(holder.person, signed))
            out = [Feedback("ok", _("Signed: {badge} {name}").format(badge=holder.person.badge,
                                                                     name=holder.person.name), row=row,
                            code=holder.person.badge)]
            waiting, self._waiting = self._waiting, []
            for job in waiting:
                out += self._safe(job)
            self.state = replace(self.state, holder=None, holder_badge=None)
            return out
        party = self.state.party
        if party is None:
            return [self._error(_("Scan the counter-party's badge before the PIN."), None)]
        signed = authenticate(self.store.uow(), party.person.badge, pin)
        self.state = replace(self.state, party=Party(party.person, signed))
        out = [Feedback("ok", _("Signed: {badge} {name}").format(badge=party.person.badge, name=party.person.name),
                        (_("Scan the carriers."),), row=row, code=party.person.badge)]
        waiting, self._waiting = self._waiting, []
        for job in waiting:
            out += self._safe(job)
        return out

    # -- actions on one carrier -----------------------------------------------------------------------------------

    def _signed_party(self, what: str) -> Party:
        party = self.state.party
        if party is None or party.signed is None:
            raise DomainError(f"{what}: the counter-party must scan their badge and sign with their PIN first.",
                              f"{what}：对方须先刷卡并输入PIN签字。")
        return party

    def _carry_out(self, job: CarryOut) -> Feedback:
        party = self._signed_party("Carry-out")
        companion: Signed | str | None = None
        if job.companion:
            badge = parse_badge_code(job.companion).text
            companion = authenticate(self.store.uow(), badge, job.companion_pin or "") if job.companion_pin else badge
        approval = job.approval
        if approval is None:
            with self.store.uow(readonly=True) as uow:
                approval = approvals.covering(uow, ApprovalPurpose.CARRY_OUT, job.code, party.person.badge,
                                              uow.now())
        seq = circulation.carry_out(self.store.uow(), self._actor(), job.code, party.signed or party.person.badge,
                                    job.return_due, approval, companion, job.destination)
        lines = (_("Approval #{id}").format(id=approval),) if approval else ()
        return self._show(job.code, job.row, "ok", _("Carried out by {name}").format(name=party.person.name),
                          lines, seq=seq)

    def _copy(self, job: Copy) -> Feedback:
        approval = job.approval
        if approval is None:
            with self.store.uow(readonly=True) as uow:
                approval = approvals.covering(uow, ApprovalPurpose.COPY, job.code, None, uow.now())
        codes = registry.copy(self.store.uow(), self._actor(), job.code, job.count, approval, site=self.site)
        return self._show(job.code, job.row, "ok", _("{n} copy(ies) registered").format(n=len(codes)),
                          (_("New codes: {codes}").format(codes=", ".join(codes)),
                           _("Print their labels from the register (F9)."),))

    def _raise_request(self, job: RaiseRequest) -> Feedback:
        grantee = parse_badge_code(job.grantee).text if job.grantee else None
        codes = [parse_carrier_code(c).text for c in job.codes]
        number = approvals.request(self.store.uow(), self._actor(), job.purpose, codes, job.valid_until,
                                   grantee=grantee, note=job.note)
        return Feedback("waiting", _("Request #{id} raised").format(id=number),
                        (", ".join(codes),
                         _("An approver decides it on the approvals screen (F11); then scan the carrier again.")),
                        row=job.row, code=codes[0] if codes else None)

    def _report_missing(self, job: ReportMissing) -> Feedback:
        deadline = incidents.report_missing(self.store.uow(), self._actor(), job.code, job.note)
        tz = self.store.policy.tz
        line = _("Leak-incident deadline {date} (R-155).").format(date=f"{deadline.astimezone(tz):%Y-%m-%d}") \
            if deadline else _("No leak-incident deadline for this level.")
        return self._show(job.code, job.row, "refused", _("Reported missing"), (line,))

    def _found(self, job: RecordFound) -> Feedback:
        place = parse_location_code(job.place).text
        days = incidents.found(self.store.uow(), self._actor(), job.code, place, job.note)
        return self._show(job.code, job.row, "ok", _("Recorded found"),
                          (_("Back in {place} after {days} day(s) missing.").format(place=place, days=days),))

    def _look_up(self, code: str, row: int) -> Feedback:
        """Show a carrier; one reported missing (or off the books) is an alarm, not a plain answer."""
        shown = self._show(code, row, "info", _("Look-up"))
        view = shown.carrier
        if view is None:
            return shown
        if view.status == CarrierStatus.MISSING.value:
            since = view.missing_since.astimezone(self.store.policy.tz) if view.missing_since else None
            return replace(shown, tone="refused", title=_("ALARM: {code} is reported missing").format(code=code),
                           lines=(*shown.lines,
                                  _("Missing since {when}.").format(when=f"{since:%Y-%m-%d %H:%M}" if since else "—"),
                                  _("Keep it here. F8 records it found and puts it back in a place.")))
        if CarrierStatus(view.status).gone:
            return replace(shown, tone="refused", title=_("ALARM: {code} is off the books").format(code=code),
                           lines=(*shown.lines, _("It must never be seen again: keep it and call the security "
                                                  "officer.")))
        return shown

    # -- helpers ----------------------------------------------------------------------------------------------------

    def _actor(self) -> Signed:
        actor = self._operator()
        if actor is None:
            raise DomainError("No operator is signed in.", "没有已登录的操作员。")
        return actor

    def _snapshot(self) -> DeskState:
        return replace(self.state, waiting=tuple(s.text for s in self._waiting))

    def _mode_hint(self, mode: Mode) -> str:
        return {Mode.CHECK_OUT: _("Scan the borrower's badge, then the carriers."),
                Mode.CHECK_IN: _("Scan the returner's badge, then the returned carriers (a place code first to "
                                 "choose where they go)."),
                Mode.LOOKUP: _("Scan a carrier to see where it is.")}[mode]

    def _show(self, code: str, row: int | None, tone: Tone, title: str, lines: tuple[str, ...] = (),
              seq: int | None = None) -> Feedback:
        with self.store.uow(readonly=True) as uow:
            view = queries.carrier(uow, code)
        if view is None:
            return self._error(_("No carrier with code {code} in the register.").format(code=code), row, code)
        return Feedback(tone, title, tuple(carrier_lines(view, self.store)) + lines, row=row, code=code,
                        carrier=view, seq=seq)

    def _refused(self, e: Refused, row: int | None, code: str | None, job: Job | None = None) -> Feedback:
        lang = "zh" if pick("en", "zh") == "zh" else "en"
        view = None
        if code:
            with self.store.uow(readonly=True) as uow:
                view = queries.carrier(uow, code)
        lines = [_CLI_OPTION.sub("", v.message(lang)) for v in e.violations]
        purpose = self._wanted_approval(job, e.violations)
        if purpose is not None and any(v.remedy == "pending" for v in e.violations):
            purpose = None  # a request is already waiting: another would only be a duplicate for the approvers
            lines.append(_("An approver signs the waiting request under F11 (Approvals); then scan again."))
        elif purpose is not None:
            lines.append(_("Ctrl+R raises a request here; an approver signs it under F11 (Approvals)."))
        if "R-67" in e.rules:
            lines.append(_("Scan the reading place's code, then the carrier again."))
        return Feedback("refused", _("Refused: {rules}").format(rules=", ".join(e.rules)), tuple(lines), row=row,
                        code=code, carrier=view, rules=tuple(e.rules), request=purpose)

    def _wanted_approval(self, job: Job | None, violations: list[Violation]) -> str | None:
        """The purpose to request when the act was refused for want of a (usable) approval, else None."""
        if isinstance(job, Scan) and self.state.mode == Mode.CHECK_OUT:
            purpose = ApprovalPurpose.LOAN
        elif isinstance(job, CarryOut):
            purpose = ApprovalPurpose.CARRY_OUT
        elif isinstance(job, Copy):
            purpose = ApprovalPurpose.COPY
        else:
            return None
        # The approval checks (`rules.check_approval`) say a request mends them; the same rule's other refusals
        # (a signature, a deadline) are not mended by a request, nor is any other rule's.
        if any(v.remedy in ("request", "pending") and v.rule == PURPOSE_RULE[purpose] for v in violations):
            return purpose.value
        return None

    def _error(self, message: str, row: int | None, code: str | None = None,
               lines: tuple[str, ...] = ()) -> Feedback:
        return Feedback("error", message, lines, row=row, code=code)


# --- text for carriers, levels and people --------------------------------------------------------------------------


def _enum_label(kind: Callable[[str], E], value: str, words: Callable[[E], tuple[str, str]]) -> str:
    """The operator's words for a stored enum value; a value this version does not know (written by a newer one)
    is shown as stored rather than hidden or crashing the screen."""
    try:
        member = kind(value)
    except ValueError:
        return value
    return pick(*words(member))


def level_label(level: str) -> str:
    return _enum_label(Classification, level, lambda lv: (lv.label, lv.zh))


def clearance_label(clearance: str) -> str:
    return _enum_label(Clearance, clearance, lambda c: (c.value, c.zh))


def status_label(status: str) -> str:
    return _enum_label(CarrierStatus, status, lambda s: (s.value.replace("_", " "), s.zh))


def carrier_lines(view: CarrierView, store: Store) -> list[str]:
    """What a card says about a carrier: title and number, copy, then holder or place and due time."""
    tz = store.policy.tz
    title = view.title or "—"
    first = f"{title}  {view.doc_number}" if view.doc_number else title
    lines = [first]
    if view.copy_number and view.copy_total:
        lines[0] += "  " + pick(f"copy {view.copy_number} of {view.copy_total}",
                                f"第{view.copy_number}份 共{view.copy_total}份")
    if view.holder:
        where = _("Held by {badge} {name}").format(badge=view.holder, name=view.holder_name or "")
    elif view.location:
        where = _("In {code} {name}").format(code=view.location, name=view.location_name or "")
    else:
        where = status_label(view.status)
    lines.append(f"{where}  [{status_label(view.status)}]")
    if view.due_at is not None:
        lines.append(_("Due {when}").format(when=f"{view.due_at.astimezone(tz):%Y-%m-%d %H:%M}"))
    return lines


def _scanned_code(job: Job) -> str | None:
    """The carrier code a scan job names, for showing the carrier on a refusal card."""
    if not isinstance(job, Scan):
        return None
    text = job.text.strip()
    if classify_code(text) != "carrier":
        return None
    try:
        return parse_carrier_code(text).text
    except CodeError:
        return None
