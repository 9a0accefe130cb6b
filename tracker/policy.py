"""The enforced policy as data in the register: its document form, its versions, and reading the one in force.

Everything that decides whether an act is allowed — approval levels, the approval matrix, loan and carry-out limits,
copy rules, PIN length, attempts and lockout — is a `tracker.rules.Policy`. It is stored in `policy_versions` as a
canonical JSON document, seeded from the packaged `policy.toml` when a register is created, and changed afterwards only
by `tracker.services.policy` (proposed by the security officer, approved by a second person per the matrix, one
ledger event with the old and the new values). No file or variable on a client feeds it: `tracker.config` refuses the
old `TRACKER_POLICY`, `policy_file`, `[policy]` and the lockout keys of `[security]` outright.
This module converts and reads; it never decides whether a change may happen.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import fields, replace
from datetime import datetime, time
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.domain import ApprovalPurpose, Classification, DomainError, EventType, Regime, Role
from tracker.ledger import EventDraft, Ledger
from tracker.prepared import Prepared
from tracker.rules import MatrixRow, Policy
from tracker.schema import PolicyVersion, table

_INTS = {"loan_max_days", "carry_out_max_days", "pin_attempts", "lockout_minutes", "idle_lock_minutes",
         "pin_min_length", "destruction_supervisors", "pin_hash_time_cost", "pin_hash_memory_kib",
         "transit_due_hours", "cabinet_door_open_minutes"}
# A policy may raise the PIN-hash floor, never take it under OWASP's argon2id minimum.
_HASH_FLOOR = {"pin_hash_time_cost": 2, "pin_hash_memory_kib": 19456}
_BOOLS = {"media_never_leave", "copy_requires_issuer", "allow_courier_relay", "gate_alarm_unknown_tags"}
_NAMES = {"destruction_sites", "approved_repairers", "incoming_receivers"}  # lists of names (places, units)


def _fail(en: str, zh: str) -> DomainError:
    return DomainError(f"policy: {en}", f"策略：{zh}")


def _levels(values: Any, key: str) -> frozenset[Classification]:
    if not isinstance(values, list):
        raise _fail(f"{key} must be a list of levels.", f"{key} 须为密级列表。")
    return frozenset(Classification.parse(str(v)) for v in values)


def _matrix_row(item: Any) -> MatrixRow:
    if not isinstance(item, Mapping):
        raise _fail("each approval_matrix entry is a table.", "approval_matrix 的每一项须为表。")
    unknown = set(item) - {"purpose", "roles", "levels", "regimes", "approvers", "max_hours", "issuer"}
    if unknown:
        raise _fail(f"unknown approval_matrix key(s) {', '.join(sorted(unknown))}.",
                    f"approval_matrix 中无法识别的键 {', '.join(sorted(unknown))}。")
    roles = frozenset(Role.parse(str(r)) for r in item.get("roles", []))
    approvers, hours = int(item.get("approvers", 1)), int(item.get("max_hours", 72))
    if not roles or approvers < 1 or hours < 1:
        raise _fail("an approval_matrix entry names at least one role, one approver and one hour.",
                    "approval_matrix 每一项至少须有一个角色、一名审批人和一小时有效期。")
    return MatrixRow(ApprovalPurpose.parse(str(item["purpose"])), roles, _levels(item.get("levels", []), "levels"),
                     frozenset(Regime(str(r)) for r in item.get("regimes", [])), approvers, hours,
                     bool(item.get("issuer", False)))


def policy_from_document(data: Mapping[str, Any], base: Policy | None = None) -> Policy:
    """A policy table (from policy.toml or a stored document) as a Policy; unknown keys are refused so a typo never
    silently weakens a rule."""
    p = base or Policy()
    known = {f.name for f in fields(Policy)}
    unknown = set(data) - known
    if unknown:
        names = ", ".join(sorted(unknown))
        raise _fail(f"unknown setting(s) {names}.", f"无法识别的设置 {names}。")
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key.endswith("_levels"):
            changes[key] = _levels(value, key)
        elif key == "end_of_day":
            hh, mm = str(value).split(":")
            changes[key] = time(int(hh), int(mm))
        elif key == "leak_days":
            changes[key] = {Classification.parse(k): int(v) for k, v in dict(value).items()}
        elif key == "top_secret_copy":
            if value not in ("issuer_approval", "forbidden"):
                raise _fail("top_secret_copy is issuer_approval or forbidden.",
                            "top_secret_copy 只能是 issuer_approval 或 forbidden。")
            changes[key] = value
        elif key == "approval_matrix":
            changes[key] = tuple(_matrix_row(item) for item in value)
        elif key in _INTS:
            changes[key] = int(value)
            if changes[key] < 0:
                raise _fail(f"{key} may not be negative.", f"{key} 不得为负数。")
            if changes[key] < _HASH_FLOOR.get(key, 0):
                least = _HASH_FLOOR[key]
                raise _fail(f"{key} may not be below {least} (argon2id minimum).",
                            f"{key} 不得低于 {least}（argon2id 最低要求）。")
        elif key in _NAMES:
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise _fail(f"{key} is a list of names.", f"{key} 须为名称列表。")
            changes[key] = tuple(v.strip() for v in value)
        elif key in _BOOLS:
            changes[key] = bool(value)
        else:
            changes[key] = str(value)
    return replace(p, **changes)


def policy_document(p: Policy) -> dict[str, Any]:
    """The canonical document of a policy: sorted, plain JSON types, the same text for the same policy."""
    out: dict[str, Any] = {}
    for f in fields(Policy):
        value = getattr(p, f.name)
        if isinstance(value, frozenset):
            out[f.name] = sorted(v.value for v in value)
        elif isinstance(value, time):
            out[f.name] = f"{value:%H:%M}"
        elif isinstance(value, dict):
            out[f.name] = {k.value: v for k, v in sorted(value.items(), key=lambda kv: kv[0].value)}
        elif f.name in _NAMES:
            out[f.name] = list(value)
        elif f.name == "approval_matrix":
            out[f.name] = [{"purpose": r.purpose.value, "roles": sorted(x.value for x in r.roles),
                            "levels": sorted(x.value for x in r.levels), "regimes": sorted(x.value for x in r.regimes),
                            "approvers": r.approvers, "max_hours": r.max_hours, "issuer": r.issuer} for r in value]
        else:
            out[f.name] = value
    return out


def canonical(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest(doc: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(doc).encode()).hexdigest()


def shipped_policy() -> Policy:
    """The packaged policy.toml: what a new register starts with."""
    text = resources.files("tracker").joinpath("policy.toml").read_text(encoding="utf-8")
    return policy_from_document(tomllib.loads(text))


def differences(old: Policy, new: Policy) -> dict[str, dict[str, Any]]:
    """Per setting that differs: {"old": …, "new": …}, as the ledger event of a change records it."""
    a, b = policy_document(old), policy_document(new)
    return {k: {"old": a[k], "new": b[k]} for k in sorted(a) if a[k] != b[k]}


def in_force(session: Session) -> tuple[int, Policy] | None:
    """The version in force and its policy, or None in a register that has none yet."""
    row = session.execute(select(PolicyVersion).order_by(PolicyVersion.id.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        return None
    return row.id, policy_from_document(json.loads(row.document))


# Every operation that consults the policy first reads which version is in force (the check-out's hot path among
# them), so this is one prebuilt statement on the driver's cursor rather than an ORM query built each time.
_VERSION = Prepared(select(func.max(table(PolicyVersion).c.id).label("version")))


def version_in_force(session: Session) -> int:
    return int(_VERSION.one(session).version or 0)


def write_version(session: Session, ledger: Ledger, policy: Policy, now: datetime, actor: str | None,
                  approval_id: int | None, old: Policy | None) -> int:
    """Store a new version and append its ledger event (old and new values of every changed setting)."""
    doc = policy_document(policy)
    version = version_in_force(session) + 1
    session.add(PolicyVersion(id=version, document=canonical(doc), digest=digest(doc), proposed_by=actor,
                              approval_id=approval_id, at=now))
    changes = differences(old, policy) if old is not None else {"seeded": {"old": None, "new": digest(doc)}}
    ledger.append(EventDraft(EventType.POLICY_CHANGED, actor=actor, approval_id=approval_id,
                             payload={"version": version, "digest": digest(doc), "changes": changes}), now)
    return version
