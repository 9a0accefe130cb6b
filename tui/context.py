"""What every screen needs from the app: the register, the settings, the signed-in operator and the language.

Screens receive one `AppContext` and never build their own store or read settings themselves, so tests can hand a
screen a register on a temporary SQLite file and a fixed clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.config import Settings
from tracker.services.common import Signed
from tracker.store import Store


@dataclass
class AppContext:
    store: Store
    settings: Settings
    actor: Signed | None = None
    lang: str = "en"

    def t(self, en: str, zh: str) -> str:
        """Pick the operator's language for a pair of strings that come together (rule messages, errors)."""
        return zh if self.lang == "zh" else en
