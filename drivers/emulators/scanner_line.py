"""Emulator of a plain serial line scanner (USB-CDC or RS-232): each scan is a line of bytes on a pty.

This module owns producing exactly what such a scanner sends — optional prefix, AIM identifier, data, suffix,
terminator — plus the faults seen in the field: line noise, frames split into fragments with gaps, glued
frames, and unplugging. It must never import the driver it emulates (drivers.scanners): the two meet only at
the bytes.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from drivers.transport import Closing, PtyPair

TERMINATOR_BYTES = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "tab": b"\t", "none": b""}

# AIM identifiers a scanner prefixes when "transmit AIM ID" is on (ISO/IEC 15424).
AIM_IDS = {
    "code128": "]C0",
    "gs1-128": "]C1",
    "datamatrix": "]d1",
    "gs1-datamatrix": "]d2",
    "qrcode": "]Q1",
    "ean13": "]E0",
    "ean8": "]E4",
    "code39": "]A0",
}

# Bytes that line noise produces and that never occur in a scan: C0 controls (not CR/LF/TAB, which frame, nor
# EOT/FS/GS/RS, which GS1 data carries), DEL, and bytes that are never valid UTF-8.
NOISE_BYTES = bytes(
    [b for b in range(0x20) if b not in (0x04, 0x09, 0x0A, 0x0D, 0x1C, 0x1D, 0x1E)]
    + [0x7F, 0xC0, 0xC1, *range(0xF5, 0x100)]
)


def line_noise(n: int, rng: random.Random | None = None) -> bytes:
    r = rng or random.Random()
    return bytes(r.choice(NOISE_BYTES) for _ in range(n))


class LineScannerEmulator(Closing):
    """A line scanner on a pty; the driver opens `device` (a by-id-like link when `link` is given)."""

    def __init__(
        self,
        *,
        terminator: str = "cr",
        prefix: bytes = b"",
        suffix: bytes = b"",
        aim: bool = False,
        link: Path | str | None = None,
        seed: int | None = None,
    ) -> None:
        if terminator not in TERMINATOR_BYTES:
            raise ValueError(f"unknown terminator {terminator!r}")
        self.terminator = TERMINATOR_BYTES[terminator]
        self.prefix = prefix
        self.suffix = suffix
        self.aim = aim
        self.rng = random.Random(seed)
        self.pty = PtyPair(link)
        self.sent: list[str] = []

    @property
    def device(self) -> str:
        return self.pty.device

    def frame(self, code: str, symbology: str = "code128") -> bytes:
        """The exact bytes this scanner sends for one decode."""
        aim = AIM_IDS.get(symbology, "]X0") if self.aim else ""
        return self.prefix + (aim + code).encode() + self.suffix + self.terminator

    def send(self, data: bytes) -> None:
        self.pty.write(data)

    def scan(self, code: str, symbology: str = "code128", *, fragments: int = 1, gap: float = 0.0) -> bytes:
        """Send one scan, cut into `fragments` random pieces with `gap` seconds between them (USB packets, a
        slow UART, a Bluetooth cradle that forwards in bursts)."""
        data = self.frame(code, symbology)
        for i, piece in enumerate(self.split(data, fragments)):
            if i and gap:
                time.sleep(gap)
            self.pty.write(piece)
        self.sent.append(code)
        return data

    def split(self, data: bytes, pieces: int) -> list[bytes]:
        if pieces <= 1 or len(data) < 2:
            return [data]
        cuts = sorted(self.rng.sample(range(1, len(data)), min(pieces - 1, len(data) - 1)))
        return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]

    def noise(self, n: int) -> bytes:
        data = line_noise(n, self.rng)
        self.pty.write(data)
        return data

    def wait_drained(self, timeout: float = 2.0) -> bool:
        """Wait until the driver has read everything sent (so an unplug loses nothing already delivered)."""
        return self.pty.wait_drained(timeout)

    def unplug(self) -> None:
        self.pty.unplug()

    def plug(self) -> None:
        self.pty.plug()

    def close(self) -> None:
        self.pty.close()
