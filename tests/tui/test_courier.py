"""The courier screen (Ctrl+K) at 80×24, driven by a serial line scanner emulator on a pty named in tracker.toml:
the package, its seal strip and both badges are scanned, giver and taker sign with their PINs, Ctrl+S records the
hop, the carrier is then held by the taker, and the hop's receipt PDF names both parties, the seal and the ledger
head. A seal read other than the recorded one is shown as an incident."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium

from drivers.emulators.scanner_line import LineScannerEmulator
from tracker.config import Settings
from tracker.demo import DEMO_PIN, badge, place
from tracker.services import packages, transit
from tui.app import TrackerApp, configured_devices, make_app
from tui.screens.courier import CourierScreen


def _app(ui: Any, tmp_path: Path, device: str) -> TrackerApp:
    path = tmp_path / "tracker.toml"
    path.write_text(f'[devices.scanner]\nkind = "serial"\nurl = "{device}"\n', encoding="utf-8")
    settings: Settings = replace(ui.settings, config_path=path)
    devices, error = configured_devices(settings)
    assert error is None
    return make_app(ui.store, settings, "en", monotonic=ui.monotonic, devices=devices)


def _dispatched(ui: Any) -> tuple[str, str, int]:
    code = ui.carriers(lambda v: v.status == "in_store" and v.classification == "confidential"
                       and (v.location or "").startswith("LOC-BJ-"))[0].code
    clerk = ui.sign("clerk")
    pkg = packages.create(ui.store.uow(), clerk, "envelope")
    packages.pack(ui.store.uow(), clerk, pkg, [code])
    packages.seal(ui.store.uow(), clerk, pkg, "FZ-2026-001")
    n = transit.dispatch(ui.store.uow(), clerk, place("BJ", "R1"), place("SH", "R1"), [pkg], ui.sign("courier"))
    return code, pkg, n


def _pdf_text(path: str) -> str:
    doc = pdfium.PdfDocument(path)
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


async def _sign(ui: Any, pilot: Any, scanner: LineScannerEmulator, who: str) -> None:
    scanner.scan(badge(who), "code128")
    await ui.pin_dialog(pilot)
    await ui.type(pilot, DEMO_PIN)


async def _one_hop(ui: Any, tmp_path: Path, seal_read: str) -> tuple[CourierScreen, str, str, int]:
    code, pkg, n = _dispatched(ui)
    with LineScannerEmulator(terminator="cr", aim=True) as scanner:
        app = _app(ui, tmp_path, scanner.device)
        app.ctx.output_dir = tmp_path / "out"
        async with app.run_test(size=(80, 24)) as pilot:
            await ui.until(pilot, lambda: app.ctx.devices["scanner"][0] == "connected")
            await ui.login(pilot, "officer")
            await pilot.press("ctrl+k")
            await ui.until(pilot, lambda: isinstance(app.screen, CourierScreen))
            screen = app.screen
            assert isinstance(screen, CourierScreen)
            scanner.scan(pkg, "datamatrix")
            await ui.until(pilot, lambda: screen.pending_seal == pkg)
            scanner.scan(seal_read, "code128")
            await ui.until(pilot, lambda: pkg in screen.seals)
            await _sign(ui, pilot, scanner, "courier")
            await ui.until(pilot, lambda: screen.giver is not None and screen.giver.signed is not None)
            await _sign(ui, pilot, scanner, "officer")
            await ui.until(pilot, lambda: screen.taker is not None and screen.taker.signed is not None)
            await pilot.press("ctrl+s")
            await ui.until(pilot, lambda: screen.receipt_path is not None)
            return screen, code, pkg, n


async def test_one_hop_on_the_courier_screen_with_scanner_scans(ui: Any, tmp_path: Path) -> None:
    screen, code, pkg, n = await _one_hop(ui, tmp_path, "FZ-2026-001")
    after = ui.carrier(code)
    assert (after.status, after.holder, after.location) == ("in_transit", badge("officer"), None)
    assert screen.hop_number == 2 and screen.view is not None and screen.view.hops[-1].seals[0]["ok"]
    assert screen.receipt_path is not None
    text = _pdf_text(screen.receipt_path)
    head = screen.view.hops[-1]
    assert badge("courier") in text and badge("officer") in text and "FZ-2026-001" in text and code in text
    assert f"{head.head_seq}:{head.head_hash}" in text and f"#{n}" in text and pkg in text


async def test_a_seal_mismatch_on_the_courier_screen_is_an_incident(ui: Any, tmp_path: Path) -> None:
    screen, code, _pkg, _n = await _one_hop(ui, tmp_path, "FZ-6666")
    assert screen.view is not None
    hop = screen.view.hops[-1]
    assert hop.incident is not None and not hop.seals[0]["ok"] and hop.seals[0]["seen"] == "FZ-6666"
    assert ui.carrier(code).holder == badge("officer")  # the hop stands; the seal is the security officer's case
