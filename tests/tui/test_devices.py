"""Configured devices at the counter, against byte-exact emulators on ptys: a serial line scanner named in
tracker.toml feeds a carrier code that the counter answers; a carrier laid on a Chafon pad becomes that carrier on
the counter once, however many inventory rounds see it; a device that is not there shows its state and the counter
works on; the wedge entry's gap and layout reach the scan fields."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from drivers.emulators.rfid_chafon import ChafonEmulator
from drivers.emulators.rfid_population import EmulatedTag, TagPopulation
from drivers.emulators.scanner_line import LineScannerEmulator
from labels.codes import carrier_code_to_epc
from tracker.config import Settings
from tui.app import TrackerApp, configured_devices, make_app
from tui.widgets.scan_field import ScanField
from tui.widgets.topbar import TopBar


def _app(ui: Any, tmp_path: Path, toml: str) -> TrackerApp:
    """The app as `tracker tui` builds it: the devices come from the settings' own tracker.toml."""
    path = tmp_path / "tracker.toml"
    path.write_text(toml, encoding="utf-8")
    settings: Settings = replace(ui.settings, config_path=path)
    devices, error = configured_devices(settings)
    assert error is None
    return make_app(ui.store, settings, "en", monotonic=ui.monotonic, devices=devices)


def _stored_carrier(ui: Any) -> str:
    return str(ui.carriers(lambda v: v.location is not None and v.status == "in_store")[0].code)


def _rows_for(app: TrackerApp, code: str) -> list[int]:
    counter = app.counter
    assert counter is not None
    return [row for row, fb in counter.feedback.items() if fb.code == code]  # type: ignore[attr-defined]


async def test_serial_scanner_in_tracker_toml_feeds_the_counter(ui: Any, tmp_path: Path) -> None:
    code = _stored_carrier(ui)
    with LineScannerEmulator(terminator="cr", aim=True) as scanner:
        app = _app(ui, tmp_path, f"""
[devices.desk-scanner]
kind = "serial"
url = "{scanner.device}"

[devices.unplugged]
kind = "serial"
url = "{tmp_path / 'ttyACM9'}"
""")
        async with app.run_test(size=(120, 30)) as pilot:
            await ui.until(pilot, lambda: app.ctx.devices["desk-scanner"][0] == "connected")
            await ui.login(pilot)
            await pilot.press("f4")  # look-up: the answer is the carrier card, whoever holds it
            await ui.answered(pilot)
            scanner.scan(code, "datamatrix")
            await ui.until(pilot, lambda: bool(_rows_for(app, code)))
            await ui.answered(pilot)
            counter = app.counter
            assert counter is not None
            (row,) = _rows_for(app, code)
            fb = counter.feedback[row]  # type: ignore[attr-defined]
            assert fb.tone == "info" and fb.carrier is not None and fb.carrier.code == code
            assert app.ctx.devices["unplugged"][0] in ("reconnecting", "disconnected", "error")
            bar = str(app.screen.query_one(TopBar).render())
            assert "desk-scanner✓" in bar and ("unplugged✗" in bar or "unplugged…" in bar)


async def test_carrier_laid_on_a_chafon_pad_is_one_scan(ui: Any, tmp_path: Path) -> None:
    code = _stored_carrier(ui)
    population = TagPopulation([EmulatedTag(carrier_code_to_epc(code), {1: -45.0}, 1.0)])
    with ChafonEmulator(population) as pad:
        pad.population = TagPopulation()  # the pad is empty while the clerk signs in
        app = _app(ui, tmp_path, f"""
[devices.pad]
kind = "chafon"
url = "{pad.path}"
power = 20
""")
        async with app.run_test(size=(120, 30)) as pilot:
            await ui.until(pilot, lambda: app.ctx.devices["pad"][0] == "connected")
            await ui.login(pilot)
            await pilot.press("f4")
            await ui.answered(pilot)
            pad.population = population  # the carrier is laid on the pad …
            await ui.until(pilot, lambda: bool(_rows_for(app, code)))
            rounds = pad.inventories
            await ui.until(pilot, lambda: pad.inventories > rounds + 10)  # … and stays there, round after round
            await asyncio.sleep(0.1)
            await ui.answered(pilot)
            assert len(_rows_for(app, code)) == 1
            counter = app.counter
            assert counter is not None
            fb = counter.feedback[_rows_for(app, code)[0]]  # type: ignore[attr-defined]
            assert fb.carrier is not None and fb.carrier.code == code and fb.tone == "info"
            assert pad.power_dbm == 20


async def test_wedge_entry_sets_gap_and_layout(ui: Any, tmp_path: Path) -> None:
    app = _app(ui, tmp_path, """
[devices.keyboard]
kind = "wedge"
gap_ms = 45
layout = "de"
""")
    assert app.hub.configs == []
    async with app.run_test(size=(80, 24)) as pilot:
        field = app.screen.query_one("#badge", ScanField)
        await pilot.pause()
        assert app.wedge_gap == 0.045
        assert field.detector.gap == 0.045 and field.detector.layout is not None
