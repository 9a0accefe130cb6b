"""Changing the enforced policy: proposed by the security officer, approved by a second person per the matrix.

A proposal is an approval request of purpose `policy_change` carrying the complete new policy document; when the
matrix's approvers have granted it, the new version is written in the same transaction with one ledger event listing
every changed setting's old and new value (`tracker.policy.write_version`). Nobody can approve their own proposal
(`rules.check_decision`), and no client file or variable reaches the policy at all (`tracker.config`).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from tracker.domain import DomainError
from tracker.policy import differences, policy_document, policy_from_document, version_in_force, write_version
from tracker.rules import Action, Policy
from tracker.schema import Approval, Person
from tracker.services import approvals
from tracker.services.common import Signed, actor_facts
from tracker.store import UnitOfWork


def show(uow: UnitOfWork) -> tuple[int, dict[str, Any]]:
    """The version in force and its document."""
    with uow:
        return version_in_force(uow.session), policy_document(uow.policy)


def propose(uow: UnitOfWork, officer: Signed, settings: dict[str, Any], note: str = "",
            valid_for: timedelta = timedelta(days=7)) -> int:
    """Propose changed settings (a partial policy table, as in policy.toml); returns the request number."""
    with uow:
        actor_facts(uow, officer, Action.POLICY)
        current = uow.policy
        new = policy_from_document(settings, current)
        if not differences(current, new):
            raise DomainError("The proposal changes nothing.", "该提议未作任何变更。")
        change = {"policy": policy_document(new), "base_version": version_in_force(uow.session)}
        changed = differences(current, new)
        until = uow.now() + valid_for
    n = approvals.request(uow, officer, "policy_change", [], until, note=note, change=change)
    audit_change(uow, officer.badge, "policy_propose", {"request": n, "changes": changed})
    return n


def audit_change(uow: UnitOfWork, actor: str, action: str, detail: dict[str, Any]) -> None:
    """Policy proposals and changes also go to the audit log, where the security officer and the auditor read
    refusals and role changes (the ledger event stays the record of the change itself)."""
    uow.audit({"actor": actor, "action": action, "carrier": None, "rules": "", "kind": "policy_change",
               "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True)})


def apply_granted(uow: UnitOfWork, a: Approval, change: dict[str, Any]) -> int:
    """Called inside the granting transaction: write the proposed policy as the next version.

    A proposal made against an older version is refused rather than silently undoing a change made since."""
    if int(change.get("base_version", -1)) != version_in_force(uow.session):
        base = change.get("base_version")
        raise DomainError(f"Proposal #{a.id} was made against policy version {base}; the policy "
                          "has changed since. Propose again from the version in force.",
                          f"提议 #{a.id} 基于策略版本 {base}，此后策略已变更，请基于现行版本重新提议。")
    new = policy_from_document(change["policy"], Policy())
    person = uow.session.get(Person, a.requester_id) if a.requester_id else None
    proposer = person.badge if person else None
    return write_version(uow.session, uow.ledger, new, uow.now(), proposer, a.id, uow.policy)
