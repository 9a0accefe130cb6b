"""`tracker stocktake live` against byte-exact emulators on ptys, configured in tracker.toml as an operator would:
a MagicRF reader's pass bound to a shelf finds the carrier lying there (and a re-run adds to the same pass), and a
serial scanner's location label switches the place for the carrier scanned after it."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests_support import invoke, use_cli_demo

from drivers.emulators.rfid_magicrf import MagicRfEmulator
from drivers.emulators.rfid_population import EmulatedTag, TagPopulation
from drivers.emulators.scanner_line import LineScannerEmulator
from labels.codes import carrier_code_to_epc
from tracker.demo import badge, place

SHELVES = [place("BJ", f"R2C{c}S{s}") for c in (1, 2) for s in (1, 2, 3)]


@pytest.fixture
def env(cli_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return use_cli_demo(cli_demo, tmp_path, monkeypatch, TRACKER_TEAM_PIN="482916")


def _shelf_with_carriers() -> tuple[str, list[str]]:
    code, out = invoke("carrier", "find", "BJ-", "--limit", "500", "--json")
    assert code == 0, out
    carriers: list[dict[str, Any]] = [c for c in json.loads(out) if c["status"] == "in_store"]
    shelf = max(SHELVES, key=lambda s: sum(1 for c in carriers if c["location"] == s))
    return shelf, [c["code"] for c in carriers if c["location"] == shelf]


def _start(shelf: str) -> None:
    code, out = invoke("stocktake", "start", "--scope", shelf, "--team", badge("clerk"), "--team", badge("auditor"))
    assert code == 0, out


def _reconcile() -> dict[str, int]:
    code, out = invoke("stocktake", "reconcile", "1", "--json")
    assert code == 0, out
    result: dict[str, int] = json.loads(out)
    return result


def test_live_rfid_pass_finds_the_carrier_and_a_rerun_adds_to_it(env: dict[str, str], tmp_path: Path) -> None:
    shelf, here = _shelf_with_carriers()
    _start(shelf)
    population = TagPopulation([EmulatedTag(carrier_code_to_epc(here[0]), {1: -45.0}, 1.0)])
    with MagicRfEmulator(population) as reader:
        (tmp_path / "tracker.toml").write_text(f'[devices.pad]\nkind = "magicrf"\nurl = "{reader.path}"\n'
                                               'power = 20\n', encoding="utf-8")
        code, out = invoke("stocktake", "live", "1", "--device", "pad", "--location", shelf, "--duration", "1")
        assert code == 0, out
        assert f"batch live-{shelf}" in out and "1 distinct codes" in out
        first = int(out.split("Done: ")[1].split(" reads stored")[0])
        assert first > 0 and reader.power_dbm == 20
        code, out = invoke("stocktake", "live", "1", "--device", "pad", "--location", shelf, "--duration", "0.5")
        assert code == 0, out  # the same pass again: bound already, numbering continues, nothing refused
        assert "0 already stored, 0 refused" in out
    assert _reconcile() == {"found": 1, "missing": len(here) - 1}
    code, out = invoke("stocktake", "findings", "1", "--kind", "found", "--json")
    assert [f["subject"] for f in json.loads(out)] == [here[0]] and json.loads(out)[0]["method"] == "rfid"


def test_live_scanner_location_label_switches_the_place(env: dict[str, str], tmp_path: Path) -> None:
    shelf, here = _shelf_with_carriers()
    _start(shelf)
    with LineScannerEmulator(terminator="cr", aim=True) as scanner:
        (tmp_path / "tracker.toml").write_text(f'[devices.gun]\nkind = "serial"\nurl = "{scanner.device}"\n',
                                               encoding="utf-8")

        emulator_fds = _opens(scanner.pty.path)

        def walk() -> None:
            if not _opened(scanner.pty.path, emulator_fds, timeout=10):
                return  # the command never opened the port: the assertions below say what it printed
            time.sleep(0.2)  # opening flushes the port's input: scans made before that are lost, as with a real gun
            scanner.scan(here[0], "datamatrix")  # before any place: refused, and said so
            scanner.scan(shelf, "code128")
            for code in here[1:]:
                scanner.scan(code, "datamatrix")

        walker = threading.Thread(target=walk)
        walker.start()
        try:
            code, out = invoke("stocktake", "live", "1", "--device", "gun", "--duration", "2")
        finally:
            walker.join()
    assert code == 0, out
    assert "was scanned before any location code" in out and "1 refused" in out
    assert _reconcile() == {"found": len(here) - 1, "missing": 1}


def _opens(tty: str) -> int:
    """How many descriptors of this process (the command runs in it) are open on `tty`."""
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            n += os.readlink(f"/proc/self/fd/{fd}") == tty
        except OSError:
            continue
    return n


def _opened(tty: str, already: int, timeout: float) -> bool:
    """Whether the command opened `tty` (more than the emulator's own `already` descriptors) within `timeout`
    seconds: a fixed delay before scanning raced the command's start-up on a loaded machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _opens(tty) > already:
            return True
        time.sleep(0.01)
    return False


def test_live_names_an_unknown_device(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "tracker.toml").write_text('[devices.kb]\nkind = "wedge"\n', encoding="utf-8")
    code, out = invoke("stocktake", "live", "1", "--device", "pad")
    assert code == 4 and "No device named 'pad'" in out and "kb" in out
    code, out = invoke("stocktake", "live", "1", "--device", "kb")
    assert code == 2 and "keyboard-wedge" in out
