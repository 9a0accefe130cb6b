"""`tracker approvals …`, `tracker policy …`, `tracker audit`, `tracker pin change`, `tracker backup|restore`: the
second person's commands and the security officer's view.

Requests are raised by whoever will carry the act out and decided by approvers per the approval matrix
(`tracker.services.approvals`); the policy is changed only by an approved proposal (`tracker.services.policy`); the
audit log is read by the security officer and the auditor only. This module turns command lines into service calls and
prints their answers; it never checks a rule itself and never echoes a PIN.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from tracker.cli.common import (
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    JsonFlag,
    ensure_lang,
    err,
    fail,
    operator,
    out,
    parse_when,
    print_json,
    read_pin,
    run,
    say,
    settings,
    state,
    store,
    table,
)
from tracker.lazy import lazy
from tracker.rules import Action

if TYPE_CHECKING:
    from tracker.services import approvals, personnel
    from tracker.services import audit as audit_log
    from tracker.services import common as services_common
    from tracker.services import policy as policy_service
else:
    approvals, personnel = lazy("tracker.services.approvals"), lazy("tracker.services.personnel")
    audit_log, policy_service = lazy("tracker.services.audit"), lazy("tracker.services.policy")
    services_common = lazy("tracker.services.common")

approvals_app = typer.Typer(no_args_is_help=True, help="Requests for approval and their decisions (审批).")
policy_app = typer.Typer(no_args_is_help=True, help="The enforced policy: show it, propose a change.")
pin_app = typer.Typer(no_args_is_help=True, help="Your own PIN.")
commands = typer.Typer()  # top-level commands: `tracker.cli` mounts them on the main app


def _local(moment: datetime) -> str:
    return f"{moment.astimezone(store().policy.tz):%Y-%m-%d %H:%M}"


def _rows(views: list[approvals.RequestView]) -> list[list[Any]]:
    return [[v.id, v.purpose, v.status, " ".join(v.carriers) or "-", v.grantee or "-", v.requester or "-",
             _local(v.valid_until), f"{len(v.approvers)}/{v.needed}", ", ".join(v.approvers) or "-", v.note]
            for v in views]


def _json(v: approvals.RequestView) -> dict[str, Any]:
    return {"id": v.id, "purpose": v.purpose, "status": v.status, "carriers": v.carriers, "for": v.grantee,
            "requested_by": v.requester, "valid_until": v.valid_until.isoformat(), "needed": v.needed,
            "approvers": v.approvers, "note": v.note, "change": v.change}


@approvals_app.command("list")
def approvals_list(
    status: Annotated[str, typer.Option(help="pending, granted, denied or all.")] = "pending",
    as_json: JsonFlag = False,
) -> None:
    """Requests, newest first (pending by default): what is asked, for whom, and who has signed so far."""
    ensure_lang()
    if status not in ("pending", "granted", "denied", "all"):
        fail(EXIT_USAGE, f"--status {status!r}: use pending, granted, denied or all.",
             f"--status {status!r}：请使用 pending、granted、denied 或 all。")
    views = run(lambda: approvals.views(store().uow(), None if status == "all" else status))
    if as_json:
        print_json([_json(v) for v in views])
        return
    table(say("Requests for approval", "审批申请"),
          [say(c, z) for c, z in (("no.", "编号"), ("purpose", "事项"), ("status", "状态"), ("carriers", "载体"),
                                  ("for", "对象"), ("requested by", "申请人"), ("until", "有效期至"),
                                  ("signed", "已签"), ("approvers", "审批人"), ("note", "说明"))],
          _rows(views))


@approvals_app.command("show")
def approvals_show(number: int, as_json: JsonFlag = False) -> None:
    """One request with its signatures."""
    ensure_lang()
    found = run(lambda: approvals.views(store().uow(), ids=[number]))
    if not found:
        fail(EXIT_NOT_FOUND, f"No approval #{number}.", f"没有编号为 #{number} 的审批。")
    if as_json:
        print_json(_json(found[0]))
        return
    for key, value in _json(found[0]).items():
        out.print(Text(f"{key}: {value}"))


@approvals_app.command("request")
def approvals_request(
    purpose: Annotated[str, typer.Option(help="loan, outside_loan, copy, extract, carry_out, destruction, "
                                              "scope_extension, reclassify, declassify")],
    carrier: Annotated[list[str], typer.Option(help="Repeat for each carrier.")],
    grantee: Annotated[str | None, typer.Option("--for", help="Badge of the person it is for.")] = None,
    until: Annotated[str, typer.Option(help="Valid until (e.g. +8h or 2026-12-07 18:00).")] = "+8h",
    copies: Annotated[int | None, typer.Option(help="Most copies allowed (copy).")] = None,
    note: str = "",
) -> None:
    """Raise a request (the operator is the requester); approvers decide it with `tracker approvals approve N`."""
    ensure_lang()
    valid = parse_when(until)
    assert valid is not None
    actor = operator()
    n = run(lambda: approvals.request(store().uow(), actor, purpose, carrier, valid, grantee, copies, note))
    out.print(Text(say(f"Request #{n} raised; waiting for an approver.", f"审批申请 #{n} 已提出，等待审批。")))


def _decide(number: int, approve: bool, reason: str) -> None:
    ensure_lang()
    actor = operator()
    status = run(lambda: approvals.decide(store().uow(), actor, number, approve, reason))
    zh = approvals.STATUS_ZH.get(status, status)
    out.print(Text(say(f"Approval #{number}: {status}.", f"审批 #{number}：{zh}。")))


@approvals_app.command("approve")
def approvals_approve(number: int) -> None:
    """Sign a pending request as approver (the operator); it is granted once the matrix's approvers have signed."""
    _decide(number, True, "")


@approvals_app.command("deny")
def approvals_deny(number: int, reason: Annotated[str, typer.Option(help="Why (shown to the requester).")]) -> None:
    """Deny a pending request, with the reason."""
    _decide(number, False, reason)


# --- the policy -----------------------------------------------------------------------------------------------------


@policy_app.command("show")
def policy_show(as_json: JsonFlag = False) -> None:
    """The policy in force (version and every setting, the approval matrix included)."""
    ensure_lang()
    version, doc = run(lambda: policy_service.show(store().uow()))
    if as_json:
        print_json({"version": version, "policy": doc})
        return
    out.print(Text(say(f"Policy version {version}", f"策略版本 {version}")))
    matrix = doc.pop("approval_matrix")
    table(say("Settings", "设置"), [say("setting", "设置项"), say("value", "值")],
          [[k, v] for k, v in sorted(doc.items())])
    table(say("Approval matrix", "审批矩阵"),
          [say(c, z) for c, z in (("purpose", "事项"), ("levels", "密级"), ("regimes", "类别"), ("roles", "审批角色"),
                                  ("approvers", "人数"), ("max hours", "最长有效(小时)"), ("issuer", "制发单位"))],
          [[r["purpose"], ",".join(r["levels"]) or "*", ",".join(r["regimes"]) or "*", ",".join(r["roles"]),
            r["approvers"], r["max_hours"], "✔" if r["issuer"] else ""] for r in matrix])


@policy_app.command("propose")
def policy_propose(
    file: Annotated[Path, typer.Argument(help="A TOML file with the settings to change (as in policy.toml).")],
    note: str = "",
) -> None:
    """Propose a policy change (security officer); it takes effect when approved per the matrix by someone else."""
    ensure_lang()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        fail(EXIT_USAGE, f"Cannot read {file}: {e}", f"无法读取 {file}：{e}")
    actor = operator()
    n = run(lambda: policy_service.propose(store().uow(), actor, data, note))
    out.print(Text(say(f"Policy change proposed as request #{n}; an approver decides it "
                       f"(tracker approvals approve {n}).",
                       f"策略变更已作为审批申请 #{n} 提出，由审批人决定（tracker approvals approve {n}）。")))


@policy_app.command("approve")
def policy_approve(number: int) -> None:
    """Approve a proposed policy change (the same as `tracker approvals approve N`): the new version is in force
    once the matrix's approvers have signed; the proposer cannot be one of them."""
    _decide(number, True, "")


@policy_app.command("deny")
def policy_deny(number: int, reason: Annotated[str, typer.Option(help="Why.")]) -> None:
    """Deny a proposed policy change."""
    _decide(number, False, reason)


# --- the audit log --------------------------------------------------------------------------------------------------


@commands.command()
def audit(
    person: Annotated[str | None, typer.Option(help="Only this badge.")] = None,
    rule: Annotated[str | None, typer.Option(help="Only refusals naming this rule (e.g. R-63).")] = None,
    kind: Annotated[str | None, typer.Option(help="refused, signin_failed, signin_locked, role_change…")] = None,
    since: Annotated[str | None, typer.Option(help="From (e.g. 2026-12-01 or -24h).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to.")] = None,
    limit: int = 200,
    as_json: JsonFlag = False,
) -> None:
    """The audit log (refusals, failed and locked sign-ins, role and policy changes): security officer and auditor
    only (三员分立)."""
    ensure_lang()
    actor = operator()
    start, end = parse_when(since), parse_when(until)

    rows = run(lambda: audit_log.entries(store().uow(), actor, person=person, rule=rule, kind=kind,
                                         since=start, until=end, limit=limit))
    if as_json:
        print_json([{**asdict(r), "at": r.at.isoformat()} for r in rows])
        return
    table(say("Audit log", "审计日志"),
          [say(c, z) for c, z in (("at", "时间"), ("kind", "类别"), ("actor", "人员"), ("action", "操作"),
                                  ("carrier", "载体"), ("rules", "规则"), ("detail", "详情"))],
          [[_local(r.at), r.kind, r.actor or "-", r.action, r.carrier or "-", r.rules or "-", r.detail]
           for r in rows])


# --- one's own PIN --------------------------------------------------------------------------------------------------


@pin_app.command("change")
def pin_change(badge: Annotated[str | None, typer.Option(help="Your badge (prompted when omitted).")] = None) -> None:
    """Change your own PIN (also the one-time PIN an administrator's reset gave you): the only way anyone changes
    their own PIN."""
    ensure_lang()
    settings()
    who = badge or str(typer.prompt(say("Badge", "工号")))
    old = read_pin(say("Current PIN", "当前PIN"), "TRACKER_PIN")
    new = read_pin(say("New PIN", "新PIN"), "TRACKER_NEW_PIN")
    run(lambda: services_common.change_own_pin(store().uow(), who, old, new))
    out.print(Text(say("PIN changed.", "PIN 已更改。")))


# --- role and clearance requests -------------------------------------------------------------------------------------


@commands.command("request-change")
def request_change(
    badge: str,
    role: Annotated[list[str] | None, typer.Option(help="The person's roles after the change; repeat.")] = None,
    clearance: Annotated[str | None, typer.Option(help="The clearance after the change.")] = None,
    unit: Annotated[str | None, typer.Option(help="The unit after the change (a post change).")] = None,
    note: str = "",
) -> None:
    """Ask for a role, unit or clearance change (also for someone about to be added); an approver decides, then the
    administrator (roles, unit) or security officer (clearance) executes it with `person set … --approval N`."""
    ensure_lang()
    actor = operator()
    n = run(lambda: personnel.request_change(store().uow(), actor, badge, role, clearance, note=note, unit=unit))
    out.print(Text(say(f"Request #{n} raised.", f"审批申请 #{n} 已提出。")))


def _check(actor: Any, action: Action) -> None:
    uow = store().uow(readonly=True)
    with uow:
        services_common.actor_facts(uow, actor, action)


# --- backup and restore ---------------------------------------------------------------------------------------------


@commands.command()
def backup(file: Path) -> None:
    """Copy the register to FILE while counters keep working (SQLite online backup; pg_dump on PostgreSQL); the
    copy's ledger is verified."""
    from tracker.backup import BackupError, exit_status
    from tracker.backup import backup as do_backup

    ensure_lang()
    try:
        receipt = do_backup(settings().database_url, file)
    except BackupError as e:
        err.print(Text(e.zh if state.lang == "zh" else e.en), style="bold red")
        raise typer.Exit(exit_status(e)) from None
    out.print(Text(receipt.message(state.lang)))
    raise typer.Exit(exit_status(receipt=receipt))


@commands.command()
def restore(
    file: Path,
    anchor: Annotated[str | None, typer.Option(help="SEQ:HASH from a sealed paper record.")] = None,
    app_role: Annotated[str | None, typer.Option(help="PostgreSQL: the application role to grant again.")] = None,
) -> None:
    """Replace the register with a backup, only after the copy's ledger (and the anchor, and the seals of the
    register it replaces) verify."""
    from tracker.backup import exit_status, parse_anchor
    from tracker.backup import restore as do_restore
    from tracker.domain import DomainError

    ensure_lang()
    actor = operator()
    # Replacing the register is the security officer's act, checked against the register being replaced.
    run(lambda: _check(actor, Action.POLICY))
    try:
        mark = parse_anchor(anchor) if anchor else None
        receipt = do_restore(file, settings().database_url, mark, app_role)
    except DomainError as e:
        err.print(Text(e.zh if state.lang == "zh" else e.en), style="bold red")
        raise typer.Exit(exit_status(e)) from None
    out.print(Text(receipt.message(state.lang, restored=True, source=str(file))))
