"""Honeywell serial trigger and menu commands, against the pty Honeywell emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drivers.emulators.scanner_honeywell import HoneywellScannerEmulator
from drivers.scanners.base import ScannerCommandError
from drivers.scanners.honeywell import HoneywellScanner, parse_menu_reply
from drivers.transport import Backoff


@pytest.fixture
def emulator() -> Iterator[HoneywellScannerEmulator]:
    with HoneywellScannerEmulator(aim=True) as emu:
        yield emu


@pytest.fixture
def scanner(emulator: HoneywellScannerEmulator) -> Iterator[HoneywellScanner]:
    with HoneywellScanner("hw", emulator.device, dup_window=0.0, backoff=Backoff(0.01, 2, 0.05)) as driver:
        assert driver.wait_connected(3.0)
        yield driver


def test_parse_menu_reply() -> None:
    reply = parse_menu_reply("232BAD5\x06,WRD2\x15;BEPXXX1\x05.")
    assert [(i.echo, i.status) for i in reply.items] == [
        ("232BAD5", "ok"), ("WRD2", "value out of range"), ("BEPXXX1", "unknown tag"),
    ]
    assert reply.storage == "." and not reply.ok
    for broken in ("", "BEPBEP1.", "BEPBEP1\x06", "A\x06B."):
        with pytest.raises(ValueError):
            parse_menu_reply(broken)


def test_serial_trigger_scans_the_label_under_the_scanner(
    emulator: HoneywellScannerEmulator, scanner: HoneywellScanner
) -> None:
    emulator.queue("BJ-0000015", "datamatrix")
    scanner.trigger()
    read = scanner.next_read(2.0)
    assert read is not None and (read.code, read.symbology, read.aim_id) == ("BJ-0000015", "datamatrix", "]d1")
    scanner.trigger()  # nothing under the scanner: no read, the host stops the attempt
    assert scanner.next_read(0.3) is None
    scanner.untrigger()
    assert emulator.triggers == 2


def test_menu_query_set_and_refusals(emulator: HoneywellScannerEmulator, scanner: HoneywellScanner) -> None:
    assert scanner.query("232BAD") == "5"
    scanner.set("BEPBEP", "0")
    assert emulator.menu["BEPBEP"].value == "0" and "BEPBEP" not in emulator.saved  # "!" = until power-down
    scanner.set("BEPLVL", "2", save=True)
    assert emulator.saved == {"BEPLVL": "2"}
    with pytest.raises(ScannerCommandError, match="value out of range"):
        scanner.set("BEPLVL", "7")
    with pytest.raises(ScannerCommandError, match="unknown tag"):
        scanner.query("XYZABC")
    reply = scanner.menu("TRGSTO?;BEPBEP1,LVL9")
    assert [(i.echo, i.ok) for i in reply.items] == [("TRGSTO30000", True), ("BEPBEP1", True), ("LVL9", False)]
    assert emulator.menu_commands[-1] == "TRGSTO?;BEPBEP1,LVL9!"


def test_menu_replies_are_never_reads(emulator: HoneywellScannerEmulator, scanner: HoneywellScanner) -> None:
    emulator.pull_trigger("BJ-1")
    assert scanner.query("TRGMOD") == "0"
    emulator.pull_trigger("BJ-2")
    codes = [r.code for r in (scanner.next_read(1.0), scanner.next_read(1.0)) if r is not None]
    assert codes == ["BJ-1", "BJ-2"]
    assert scanner.next_read(0.2) is None


def test_bad_commands_are_refused_before_sending(scanner: HoneywellScanner) -> None:
    with pytest.raises(ValueError, match="menu command"):
        scanner.menu("BEPBEP1.")
    with pytest.raises(ValueError, match="menu command"):
        scanner.menu("")


def test_no_answer_is_an_error() -> None:
    from drivers.emulators.scanner_line import LineScannerEmulator

    with LineScannerEmulator() as plain:  # a scanner that does not speak Honeywell menus
        with HoneywellScanner("x", plain.device, backoff=Backoff(0.01, 2, 0.05)) as driver:
            assert driver.wait_connected(3.0)
            with pytest.raises(ScannerCommandError, match="no answer"):
                driver.menu("BEPBEP?", timeout=0.2)


def test_ack_nak_mode_acknowledges_scans_and_recovers_noise(emulator: HoneywellScannerEmulator) -> None:
    with HoneywellScanner("hw-ack", emulator.device, ack_mode=True, dup_window=0.0,
                          backoff=Backoff(0.01, 2, 0.05)) as driver:
        assert driver.wait_connected(3.0)
        driver.set("232ACK", "1")
        emulator.pull_trigger("BJ-0000015")
        read = driver.next_read(2.0)
        assert read is not None and read.code == "BJ-0000015"
        assert emulator.wait_sent() and emulator.host_acks == 1 and emulator.resends == 0
        # line noise spoils the next scan on the wire: the host NAKs, the scanner sends it again
        emulator.corrupt_next = 1
        emulator.pull_trigger("BJ-0000023")
        read = driver.next_read(2.0)
        assert read is not None and read.code == "BJ-0000023"
        assert emulator.wait_sent() and emulator.unacknowledged == []
        assert emulator.host_naks == 1 and emulator.host_acks == 2 and emulator.resends == 1
        assert driver.next_read(0.3) is None
