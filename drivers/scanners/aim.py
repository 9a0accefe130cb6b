"""AIM symbology identifiers (ISO/IEC 15424): the `]Cm` prefix a scanner puts before the data it decoded.

This module owns turning a `]Cm` prefix into the symbology name the register stores (`code128`,
`gs1-datamatrix`, …) and back. It must never guess from the data itself: a code without an identifier keeps
`symbology=None` rather than a plausible-looking name, because a GS1 Data Matrix and a plain one are told
apart only by the identifier.
"""

from __future__ import annotations

# Symbology names used throughout the drivers (Read.symbology). The camera decoders map to the same names.
CODE128 = "code128"
GS1_128 = "gs1-128"
DATAMATRIX = "datamatrix"
GS1_DATAMATRIX = "gs1-datamatrix"
QRCODE = "qrcode"
GS1_QRCODE = "gs1-qrcode"
EAN13 = "ean13"
EAN8 = "ean8"
CODE39 = "code39"
CODE93 = "code93"
CODABAR = "codabar"
ITF = "itf"
PDF417 = "pdf417"
AZTEC = "aztec"
DATABAR = "databar"

# Code character -> symbology family (ISO/IEC 15424 table 1, the families a counter meets).
_FAMILY: dict[str, str] = {
    "A": CODE39,
    "B": "telepen",
    "C": CODE128,
    "E": "ean-upc",
    "F": CODABAR,
    "G": CODE93,
    "H": "code11",
    "I": ITF,
    "L": PDF417,
    "M": "msi",
    "P": "plessey",
    "Q": QRCODE,
    "R": "straight-2of5",
    "S": "straight-2of5",
    "U": "maxicode",
    "X": "other",
    "d": DATAMATRIX,
    "e": DATABAR,
    "h": "han-xin",
    "z": AZTEC,
}

# (code character, modifier) pairs whose meaning changes the name: GS1 data, EAN-8 vs EAN-13.
_SPECIFIC: dict[str, str] = {
    "]C1": GS1_128,
    "]d2": GS1_DATAMATRIX,
    "]d5": GS1_DATAMATRIX,
    "]Q3": GS1_QRCODE,
    "]Q4": GS1_QRCODE,
    "]E0": EAN13,
    "]E3": EAN13,
    "]E4": EAN8,
}

# The identifier a scanner would send for a symbology when it decoded plain (non-GS1) data.
_DEFAULT_AIM: dict[str, str] = {
    CODE128: "]C0",
    GS1_128: "]C1",
    DATAMATRIX: "]d1",
    GS1_DATAMATRIX: "]d2",
    QRCODE: "]Q1",
    GS1_QRCODE: "]Q3",
    EAN13: "]E0",
    EAN8: "]E4",
    CODE39: "]A0",
    CODE93: "]G0",
    CODABAR: "]F0",
    ITF: "]I0",
    PDF417: "]L2",
    AZTEC: "]z0",
    DATABAR: "]e0",
}


def is_aim_id(candidate: str) -> bool:
    """True for a well-formed identifier: `]`, a known code character, one modifier character (0-9, A-Z)."""
    return (
        len(candidate) == 3
        and candidate[0] == "]"
        and candidate[1] in _FAMILY
        and (candidate[2].isdigit() or "A" <= candidate[2] <= "Z")
    )


def split_aim(text: str) -> tuple[str | None, str]:
    """Split a leading AIM identifier off decoded text: `"]C0ABC"` -> `("]C0", "ABC")`; no identifier ->
    `(None, text)`.
    """
    if len(text) >= 3 and is_aim_id(text[:3]):
        return text[:3], text[3:]
    return None, text


def symbology_for(aim_id: str | None) -> str | None:
    """The symbology name for an identifier, or None when there is none to go by."""
    if aim_id is None or not is_aim_id(aim_id):
        return None
    return _SPECIFIC.get(aim_id) or _FAMILY[aim_id[1]]


def aim_for(symbology: str) -> str | None:
    """The identifier a scanner sends for `symbology` (used by emulators and the SSI driver), or None if
    unknown.
    """
    return _DEFAULT_AIM.get(symbology)
