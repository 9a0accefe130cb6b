"""Keyboard-wedge scanners: telling a scan from typing in a stream of key events.

A USB scanner in keyboard mode "types" its code a few milliseconds per key and presses Enter. This module owns
the burst detector the counter screen feeds with every key event: keys that arrive closer together than `gap`
and end with Enter (optionally framed by a configured prefix/suffix) are a scan; anything else is typing,
handed back in order so the screen can deliver it to the focused field. It is pure — `(key, time)` in, results
out, no clock, no UI toolkit — and must never import Textual or swallow a key: every key comes back either
inside a scan or as typed.

Keys are single characters (`"A"`, `"-"`, `" "`) or key names (`"enter"`, `"tab"`, `"backspace"`, `"space"`).
A screen calls `poll(now)` every ~20 ms so a lone typed key is released within `gap` plus the poll interval.

Keyboard-layout garbling: a scanner sends US key positions; on a German or French keyboard layout the host
turns them into other characters (`CT-2024` arrives as `CTß2024` or `CT)é0é4`). `layout="de"` / `"fr"` maps a
scan back. The proper fix is the scanner's own "keyboard country" setting; the map is for scanners nobody can
reprogram.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from drivers.reads import Read, ReadKind
from drivers.scanners.aim import split_aim, symbology_for

ENTER_KEYS = frozenset({"enter", "return", "ctrl+m", "ctrl+j", "\r", "\n"})
_NAMED_CHARS = {"space": " ", "tab": "\t"}

# Character the host produced -> character the scanner meant, for a scanner sending US key positions.
LAYOUTS: dict[str, dict[str, str]] = {
    "de": {
        "z": "y", "y": "z", "Z": "Y", "Y": "Z", "ß": "-", "-": "/", "_": "?", "?": "_", "Ö": ":", "ö": ";",
        "Ä": '"', "ä": "'", "ü": "[", "+": "]", "Ü": "{", "*": "}", '"': "@", "§": "#", "&": "^", "/": "&",
        "(": "*", ")": "(", "=": ")", ";": "<", ":": ">", "#": "\\", "'": "|", "°": "~",
    },
    "fr": {
        "&": "1", "é": "2", '"': "3", "'": "4", "(": "5", "-": "6", "è": "7", "_": "8", "ç": "9", "à": "0",
        "1": "!", "2": "@", "3": "#", "4": "$", "5": "%", "6": "^", "7": "&", "8": "*", "9": "(", "0": ")",
        "a": "q", "q": "a", "A": "Q", "Q": "A", "z": "w", "w": "z", "Z": "W", "W": "Z", "m": ";", "M": ":",
        ",": "m", "?": "M", ";": ",", ".": "<", ":": ".", "/": ">", "!": "/", "§": "?", ")": "-", "°": "_",
    },
}


@dataclass(frozen=True, slots=True)
class WedgeScan:
    """A burst recognised as a scan: `code` with prefix/suffix removed and the layout map applied."""

    code: str
    at: float
    keys: tuple[str, ...]

    def to_read(self, device: str) -> Read:
        aim_id, code = split_aim(self.code)
        return Read(
            code=code, kind=ReadKind.BARCODE, symbology=symbology_for(aim_id), aim_id=aim_id, device=device,
            at=datetime.now(UTC), raw="".join(k if len(k) == 1 else f"<{k}>" for k in self.keys).encode(),
        )


@dataclass(frozen=True, slots=True)
class Typed:
    """Keys that were typing, in the order they came: give them to the focused widget."""

    keys: tuple[str, ...]


WedgeEvent = WedgeScan | Typed


class WedgeBurstDetector:
    """Separates scans from typing. A scan is at least `min_length` characters, each within `gap` seconds
    of the previous one, ended within `gap` by an end key (Enter by default), starting with `prefix` and
    ending with `suffix` when those are configured.
    """

    def __init__(
        self,
        *,
        gap: float = 0.030,
        min_length: int = 4,
        prefix: str = "",
        suffix: str = "",
        end_keys: frozenset[str] = ENTER_KEYS,
        layout: str | None = None,
        max_length: int = 4096,
    ) -> None:
        if gap <= 0:
            raise ValueError("gap must be greater than zero")
        if layout is not None and layout not in LAYOUTS:
            raise ValueError(f"unknown keyboard layout {layout!r}; known: {', '.join(sorted(LAYOUTS))}")
        self.gap = gap
        self.min_length = max(1, min_length)
        self.prefix = prefix
        self.suffix = suffix
        self.end_keys = end_keys
        self.layout = LAYOUTS[layout] if layout else None
        self.max_length = max_length
        self._held: list[tuple[str, str]] = []  # (key as received, the character it stands for)
        self._last = 0.0

    @property
    def holding(self) -> bool:
        """Keys are held back waiting to see whether they are a scan."""
        return bool(self._held)

    def feed(self, key: str, at: float) -> list[WedgeEvent]:
        out: list[WedgeEvent] = []
        if self._held and at - self._last > self.gap:
            out.append(self._release())
        char = _NAMED_CHARS.get(key, key) if key not in self.end_keys else None
        if key in self.end_keys:
            scan = self._scan(at) if self._held else None
            if scan is not None:
                out.append(scan)
            else:
                out.append(Typed((*self._release_keys(), key)))
            return out
        if char is None or len(char) != 1 or char == "\t" or len(self._held) >= self.max_length:
            # A scanner never sends arrows, backspace or function keys in a code: this is a person typing.
            out.append(Typed((*self._release_keys(), key)))
            return out
        self._held.append((key, char))
        self._last = at
        return out

    def poll(self, now: float) -> list[WedgeEvent]:
        """Release held keys once the gap has passed without a next key: they were typed."""
        if self._held and now - self._last > self.gap:
            return [self._release()]
        return []

    def _scan(self, at: float) -> WedgeScan | None:
        text = "".join(char for _, char in self._held)
        if at - self._last > self.gap or len(text) < self.min_length:
            return None
        if not (text.startswith(self.prefix) and text.endswith(self.suffix)):
            return None
        body = text[len(self.prefix) : len(text) - len(self.suffix)]
        if not body:
            return None
        keys = tuple(key for key, _ in self._held)
        self._held.clear()
        if self.layout:
            body = "".join(self.layout.get(ch, ch) for ch in body)
        return WedgeScan(body, at, (*keys, "enter"))

    def _release_keys(self) -> tuple[str, ...]:
        keys = tuple(key for key, _ in self._held)
        self._held.clear()
        return keys

    def _release(self) -> Typed:
        return Typed(self._release_keys())
