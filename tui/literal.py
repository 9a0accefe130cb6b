"""Stored text reaches the operator's terminal as characters, never as control sequences (issue 16).

Titles, names, reasons and scanned codes written before the text policy, or straight into the database, may hold ESC,
BEL, the C1 CSI and their kin; sent to the terminal they would retitle the window, clear the screen or inject
keystrokes. Every string Textual shows — a label, a card, a table cell, an input's value — becomes a `Content`, and
`Content` already drops five control characters through one translation table before any layout is measured. This
module widens that table, once, to every C0 and C1 control character and the Unicode line separators, each turned into
one visible symbol of the same length (ESC → ␛, BEL → ␇, C1 → �), so styles stay aligned and the screen shows that
something odd is stored. Line feeds and tabs keep their meaning (a card's own layout). It never changes the register.
"""

from __future__ import annotations

from typing import Final

# U+2400 + n is the Control Pictures symbol for C0 character n (␀ … ␟); DEL is ␡; C1 and the separators have none.
SHOWN: Final[dict[int, str]] = {
    **{c: chr(0x2400 + c) for c in range(0x20) if c not in (0x09, 0x0A)},
    0x7F: "\u2421",
    **{c: "\ufffd" for c in range(0x80, 0xA0)},
    0x2028: "\u21b5",
    0x2029: "\u00b6",
}


def install() -> None:
    """Make every control character Textual would show a visible symbol instead (idempotent)."""
    from textual import content

    table = getattr(content, "_CONTROL_STRIP_TRANSLATE", None)  # the default of content._strip_control_codes
    if not isinstance(table, dict):
        # Fail closed: a counter that would pass stored ESC sequences to its terminal must not start silently.
        raise RuntimeError("This Textual version has no control-code table in textual.content; tui/literal.py "
                           "cannot keep stored text literal. Install the Textual version the tests pass with.")
    table.update(SHOWN)

