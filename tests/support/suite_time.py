"""The suite's clock: one calendar for every process of a test run, independent of the machine's clock.

A test's register is judged at the suite's instant (2026-11-25 02:00 UTC, 10:00 in Beijing, a Wednesday) plus the
time that has really passed since the run started, measured on the monotonic clock, which every process on a Linux
host shares and which no change of the date moves. `install()` (tests/conftest.py) sets it in the test process and
puts `suite_clock/` on PYTHONPATH, whose sitecustomize sets it in every Python process a test starts.

Production code has no way to this: `tracker.store.default_clock` is replaced only by code inside the process, and
the variable below is read only by that test-only sitecustomize. tests/e2e/test_suite_clock.py checks both, and
runs the time-sensitive tests with the machine's clock moved a year forward.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
VARIABLE = "SUITE_CLOCK"
HOOK_DIR = Path(__file__).parent / "suite_clock"


def clock(start: datetime, monotonic_at_start: float) -> Callable[[], datetime]:
    def now() -> datetime:
        return start + timedelta(seconds=time.monotonic() - monotonic_at_start)

    return now


def from_environment() -> Callable[[], datetime]:
    iso, _, mono = os.environ[VARIABLE].partition("@")
    return clock(datetime.fromisoformat(iso), float(mono))


def install() -> None:
    """Start the suite's clock here and hand it to every process this one starts."""
    import tracker.store

    os.environ[VARIABLE] = f"{START.isoformat()}@{time.monotonic()!r}"
    paths = [str(HOOK_DIR), str(HOOK_DIR.parent)]
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in paths]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths + rest)
    tracker.store.default_clock = from_environment()
