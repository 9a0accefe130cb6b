"""Barcode format names a camera can be configured with, without loading any decoder.

This module owns the spelling of formats in configuration (`DataMatrix`, `QRCode`, `Code128`, …, case and
spaces ignored) and what each is called in zxing-cpp and in `Read.symbology`. It is kept apart from camera.py
so that checking a configuration file never loads OpenCV or a decoder library.
"""

from __future__ import annotations

from drivers.scanners import aim

DEFAULT_FORMATS: tuple[str, ...] = ("DataMatrix", "QRCode", "Code128")

# key -> (zxing-cpp BarcodeFormat member name, symbology name)
FORMATS: dict[str, tuple[str, str]] = {
    "datamatrix": ("DataMatrix", aim.DATAMATRIX),
    "qrcode": ("QRCode", aim.QRCODE),
    "code128": ("Code128", aim.CODE128),
    "code39": ("Code39", aim.CODE39),
    "ean13": ("EAN13", aim.EAN13),
    "ean8": ("EAN8", aim.EAN8),
    "pdf417": ("PDF417", aim.PDF417),
    "aztec": ("Aztec", aim.AZTEC),
}


def format_key(name: str) -> str:
    """Normalise a configured format name; raises ValueError naming the known ones."""
    key = name.replace(" ", "").replace("-", "").replace("_", "").lower()
    if key not in FORMATS:
        raise ValueError(f"unknown barcode format {name!r}; known: {', '.join(sorted(FORMATS))}")
    return key
