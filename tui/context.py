"""What every screen needs from the app: the register, the settings, the signed-in operator and the language.

Screens receive one `AppContext` and never build their own store or read settings themselves, so tests can hand a
screen a register on a temporary SQLite file and a fixed clock. The context also names where the counter saves
files it produces (handover receipts, label PDFs), the operator's name and roles, and the state of the configured
scanners and RFID readers for display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tracker.config import Settings
from tracker.services.common import Signed
from tracker.store import Store


@dataclass
class AppContext:
    store: Store
    settings: Settings
    actor: Signed | None = None
    lang: str = "en"
    operator_name: str = ""
    operator_roles: frozenset[str] = field(default_factory=frozenset)
    output_dir: Path = field(default_factory=lambda: Path("var") / "out")
    # Configured devices by name: (state, detail) as last reported — shown in the top bar, empty without devices.
    devices: dict[str, tuple[str, str]] = field(default_factory=dict)

    def t(self, en: str, zh: str) -> str:
        """Pick the operator's language for a pair of strings that come together (rule messages, errors)."""
        return zh if self.lang == "zh" else en

    def sign_out(self) -> None:
        self.actor = None
        self.operator_name = ""
        self.operator_roles = frozenset()
