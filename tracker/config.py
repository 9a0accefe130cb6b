"""Settings: `tracker.toml` plus `TRACKER_*` environment variables, with defaults that work on a fresh machine.

Precedence: environment > tracker.toml > built-in default. The file is found at `$TRACKER_CONFIG`, else
`./tracker.toml`, else the user config directory (platformdirs). Secrets never come from here: PINs are typed or
given by `TRACKER_PIN` and are never logged. This module reads files; it never opens the database.
Only local choices come from here (language, devices, printers, database URL, paths): nothing that loosens a rule.
The enforced policy is register data (`tracker.policy`); the keys that used to carry it are refused.
"""

from __future__ import annotations

import os
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from tracker.domain import DomainError

APP = "carrier-tracker"


# The PIN hashing cost (argon2 time, memory KiB) the command line's settings asked for before it knew whether its
# command checks a PIN: `tracker.services.common`, which owns the hasher, takes it up when it is imported, so a command
# that signs no one in loads neither the services nor argon2 (issue 22). Set by `tracker.cli.common.settings` only.
pin_hash_cost: tuple[int, int] | None = None


@dataclass(frozen=True)
class Settings:
    database_url: str
    terminal: str
    site: str = "BJ"
    lang: str = "en"
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


# Keys that once let a client file or variable decide what is enforced. The policy lives in the register now
# (`tracker.policy`); a file or variable still naming them is refused loudly rather than silently ignored, so nobody
# believes a local file changed a rule.
_POLICY_KEYS = ("policy", "policy_file")
_SECURITY_POLICY_KEYS = ("pin_attempts", "lockout_minutes", "idle_lock_minutes", "pin_min_length")


def _refuse_local_policy(env: Mapping[str, str], data: Mapping[str, Any], path: Path | None) -> None:
    where = str(path) if path else "tracker.toml"
    named = ["TRACKER_POLICY"] if env.get("TRACKER_POLICY") else []
    named += [f"{where}: {k}" for k in _POLICY_KEYS if k in data]
    security = data.get("security", {})
    if isinstance(security, Mapping):
        named += [f"{where}: [security] {k}" for k in _SECURITY_POLICY_KEYS if k in security]
    if named:
        raise DomainError(
            f"{', '.join(named)}: the enforced policy lives in the register and no local file or variable may change "
            "it; remove these and use `tracker policy propose` (a second person approves).",
            f"{'、'.join(named)}：执行的策略保存在登记库中，本地文件或环境变量不得更改；请删除这些设置，"
            "改用 `tracker policy propose`（须经另一人审批）。")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    path = config_file(env)
    data: dict[str, Any] = {}
    if path is not None:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    _refuse_local_policy(env, data, path)
    security = data.get("security", {})
    lang = env.get("TRACKER_LANG") or data.get("lang") or _locale_lang(env)
    return Settings(
        database_url=env.get("TRACKER_DATABASE_URL") or data.get("database_url") or default_database_url(),
        terminal=env.get("TRACKER_TERMINAL") or data.get("terminal") or socket.gethostname(),
        site=env.get("TRACKER_SITE") or data.get("site") or "BJ",
        lang=lang if lang in ("en", "zh") else "en",
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
