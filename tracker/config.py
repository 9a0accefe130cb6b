"""Settings: `tracker.toml` plus `TRACKER_*` environment variables, with defaults that work on a fresh machine.

Precedence: environment > tracker.toml > built-in default. The file is found at `$TRACKER_CONFIG`, else
`./tracker.toml`, else the user config directory (platformdirs). Secrets never come from here: PINs are typed or
given by `TRACKER_PIN` and are never logged. This module reads files; it never opens the database.
"""

from __future__ import annotations

import os
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs

from tracker.domain import Classification, DomainError
from tracker.rules import Policy

APP = "carrier-tracker"


@dataclass(frozen=True)
class Settings:
    database_url: str
    terminal: str
    site: str = "BJ"
    lang: str = "en"
    policy: Policy = field(default_factory=Policy)
    # Login protection (TUI issue): lock after this many wrong PINs for this many minutes.
    pin_attempts: int = 5
    lockout_minutes: int = 5
    idle_lock_minutes: int = 10
    # argon2id cost for PIN hashes (OWASP minimum by default).
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19456
    config_path: Path | None = None


def default_database_url() -> str:
    path = platformdirs.user_data_path(APP) / "register.sqlite"
    return f"sqlite:///{path}"


def config_file(env: Mapping[str, str]) -> Path | None:
    """The one tracker.toml every part reads (settings, [devices]): $TRACKER_CONFIG, ./tracker.toml, then the user's
    config directory; a named file that is missing is an error rather than a silent fall-back to defaults."""
    for candidate in (env.get("TRACKER_CONFIG"), "tracker.toml",
                      str(platformdirs.user_config_path(APP) / "tracker.toml")):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    if env.get("TRACKER_CONFIG"):
        raise DomainError(f"Configuration file {env['TRACKER_CONFIG']} does not exist.",
                          f"配置文件 {env['TRACKER_CONFIG']} 不存在。")
    return None


def _levels(values: Any, key: str) -> frozenset[Classification]:
    if not isinstance(values, list):
        raise DomainError(f"policy: {key} must be a list of levels.", f"策略：{key} 须为密级列表。")
    return frozenset(Classification.parse(str(v)) for v in values)


def load_policy(data: Mapping[str, Any], base: Policy | None = None) -> Policy:
    """Turn a policy table into a Policy; unknown keys are refused so a typo never silently weakens a rule."""
    p = base or Policy()
    known = {f for f in Policy.__dataclass_fields__}
    unknown = set(data) - known
    if unknown:
        raise DomainError(f"policy: unknown setting(s) {', '.join(sorted(unknown))}.",
                          f"策略：无法识别的设置 {', '.join(sorted(unknown))}。")
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
                raise DomainError("policy: top_secret_copy is issuer_approval or forbidden.",
                                  "策略：top_secret_copy 只能是 issuer_approval 或 forbidden。")
            changes[key] = value
        elif key == "approver_roles":
            from tracker.domain import Role

            changes[key] = frozenset(Role.parse(str(r)) for r in value)
        else:
            changes[key] = value
    return replace(p, **changes)


def shipped_policy() -> Policy:
    text = resources.files("tracker").joinpath("policy.toml").read_text(encoding="utf-8")
    return load_policy(tomllib.loads(text))


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    path = config_file(env)
    data: dict[str, Any] = {}
    if path is not None:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    policy = shipped_policy()
    policy_file = env.get("TRACKER_POLICY") or data.get("policy_file")
    if policy_file:
        with Path(policy_file).open("rb") as fh:
            policy = load_policy(tomllib.load(fh), policy)
    if isinstance(data.get("policy"), dict):
        policy = load_policy(data["policy"], policy)
    security = data.get("security", {})
    lang = env.get("TRACKER_LANG") or data.get("lang") or _locale_lang(env)
    return Settings(
        database_url=env.get("TRACKER_DATABASE_URL") or data.get("database_url") or default_database_url(),
        terminal=env.get("TRACKER_TERMINAL") or data.get("terminal") or socket.gethostname(),
        site=env.get("TRACKER_SITE") or data.get("site") or "BJ",
        lang=lang if lang in ("en", "zh") else "en",
        policy=policy,
        pin_attempts=int(security.get("pin_attempts", 5)),
        lockout_minutes=int(security.get("lockout_minutes", 5)),
        idle_lock_minutes=int(security.get("idle_lock_minutes", 10)),
        argon2_time_cost=int(env.get("TRACKER_ARGON2_TIME_COST") or security.get("argon2_time_cost", 2)),
        argon2_memory_kib=int(env.get("TRACKER_ARGON2_MEMORY_KIB") or security.get("argon2_memory_kib", 19456)),
        config_path=path,
    )


def _locale_lang(env: Mapping[str, str]) -> str:
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(key, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"
