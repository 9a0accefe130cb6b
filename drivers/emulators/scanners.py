"""The scanner emulators by name, and a demo loop that scans codes on one — what `tracker devices simulate`
runs.

This module owns choosing an emulator (line, ssi, honeywell) and feeding it scans at a steady pace, so an
operator can point the counter at a pty and try it without hardware. It must never import the drivers it
emulates.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from drivers.emulators.scanner_honeywell import HoneywellScannerEmulator
from drivers.emulators.scanner_line import LineScannerEmulator
from drivers.emulators.scanner_ssi import SsiScannerEmulator

ScannerEmulator = LineScannerEmulator | SsiScannerEmulator | HoneywellScannerEmulator
KINDS = ("line", "ssi", "honeywell")
# What to write in tracker.toml to read each emulator.
CONFIG_KIND = {"line": "serial", "ssi": "ssi", "honeywell": "honeywell"}


def start_emulator(
    kind: str, *, link: Path | str | None = None, aim: bool = True, terminator: str = "cr"
) -> ScannerEmulator:
    if kind == "line":
        return LineScannerEmulator(terminator=terminator, aim=aim, link=link)
    if kind == "honeywell":
        return HoneywellScannerEmulator(terminator=terminator, aim=aim, link=link)
    if kind == "ssi":
        return SsiScannerEmulator(link=link)
    raise ValueError(f"unknown scanner emulator {kind!r}; choose one of {', '.join(KINDS)}")


def scan(emulator: ScannerEmulator, code: str, symbology: str = "code128") -> None:
    """The operator scans `code` (a line scanner sends it; SSI and Honeywell scanners as on a trigger
    pull).
    """
    if isinstance(emulator, (SsiScannerEmulator, HoneywellScannerEmulator)):
        emulator.pull_trigger(code, symbology)
    else:
        emulator.scan(code, symbology)


def run_demo(
    emulator: ScannerEmulator,
    codes: Sequence[str],
    *,
    interval: float = 2.0,
    count: int = 0,
    stop: threading.Event | None = None,
    on_scan: Callable[[str], None] | None = None,
) -> int:
    """Scan `codes` in turn, one every `interval` seconds, `count` scans in all (0 = until `stop` is set).

    Returns how many were scanned. Waits (up to a second) for the host to read the last one before returning,
    so a short demo is not cut off when the pty closes.
    """
    if not codes:
        raise ValueError("no codes to scan")
    stop = stop or threading.Event()
    done = 0
    for code in itertools.cycle(codes):
        if stop.is_set() or (count and done >= count):
            break
        if stop.wait(interval):  # also before the first scan: time to point the counter at the port
            break
        scan(emulator, code)
        done += 1
        if on_scan is not None:
            on_scan(code)
    if isinstance(emulator, SsiScannerEmulator):
        emulator.wait_idle(1.0 + emulator.ack_timeout * emulator.max_tries)
    else:
        emulator.wait_drained(1.0)
    return done
