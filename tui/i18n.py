"""The counter's language: gettext catalogs under `tui/locale/<lang>/LC_MESSAGES/tracker.mo`, chosen once per app.

English strings in the code are the message ids; `_()` looks them up in the active catalog and `N_()` only marks a
string for extraction where it must stay untranslated until shown (binding descriptions declared on classes).
Messages that come from the register (rule violations, errors) already carry both languages and are picked with
`pick(en, zh)`; they never go through gettext. This module holds no other state than the active catalog.
"""

from __future__ import annotations

import dataclasses
import gettext
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from textual.dom import DOMNode

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "tracker"
LANGUAGES = ("en", "zh")

_active: gettext.NullTranslations = gettext.NullTranslations()
_lang = "en"


def set_language(lang: str | None) -> str:
    """Activate `lang` ("zh" or "en"; anything else falls back to English) and return the one activated."""
    global _active, _lang
    chosen = lang if lang in LANGUAGES else "en"
    if chosen == "en":
        _active = gettext.NullTranslations()
    else:
        # fallback=False: a missing compiled catalog is a packaging error that must show, not silently English.
        _active = gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[chosen])
    _lang = chosen
    return chosen


def language() -> str:
    return _lang


def _(message: str) -> str:
    return _active.gettext(message)


def N_(message: str) -> str:
    return message


def pick(en: str, zh: str) -> str:
    """Choose between the two languages a register message carries."""
    return zh if _lang == "zh" else en


def _relabel(node: DOMNode, label: Callable[[str], str]) -> None:
    bindings = getattr(node, "_bindings", None)
    key_map = getattr(bindings, "key_to_bindings", None)
    if not isinstance(key_map, dict):
        return
    for key, items in key_map.items():
        key_map[key] = [dataclasses.replace(b, description=label(b.description)) if b.description else b
                        for b in items]


def translate_bindings(node: DOMNode) -> None:
    """Replace the footer descriptions of a node's bindings with the active language's (after N_ marking)."""
    _relabel(node, _)


def relabel_bindings(node: DOMNode, labels: Mapping[str, str]) -> None:
    """Replace the footer descriptions found in `labels` (a screen whose key names are not in the catalog)."""
    _relabel(node, lambda description: labels.get(description, description))
