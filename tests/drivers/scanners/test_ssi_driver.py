"""The SSI driver against the pty SSI emulator: ACKs, NAKs, retransmissions, multi-packet decodes,
commands.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.emulators.scanner_ssi import SsiScannerEmulator
from drivers.scanners.base import ScannerCommandError
from drivers.scanners.ssi import SsiScanner
from drivers.scanners.ssi_packets import Op
from drivers.transport import Backoff, open_transport

FAST = Backoff(initial=0.01, factor=2, maximum=0.05)


def until(predicate: object, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(0.005)
    return False


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[SsiScannerEmulator]:
    with SsiScannerEmulator(link=tmp_path / "usb-Zebra_DS2208_SN77-if00", ack_timeout=0.2) as emu:
        yield emu


@pytest.fixture
def scanner(emulator: SsiScannerEmulator) -> Iterator[SsiScanner]:
    with SsiScanner("zebra", emulator.device, dup_window=0.0, backoff=FAST) as driver:
        assert driver.wait_connected(3.0)
        # the driver asks for packeted decode data with host ACKs on every connect
        assert until(lambda: emulator.params.get(0xEE) == 1 and emulator.params.get(0x9F) == 1)
        yield driver


def test_decodes_are_acked_and_read(emulator: SsiScannerEmulator, scanner: SsiScanner) -> None:
    emulator.pull_trigger("BJ-0000015", "datamatrix")
    emulator.pull_trigger("B-BJ-00042H", "code128")
    first, second = scanner.next_read(2.0), scanner.next_read(2.0)
    assert first is not None and (first.code, first.symbology, first.aim_id) == ("BJ-0000015", "datamatrix", "]d1")
    assert second is not None and (second.code, second.symbology) == ("B-BJ-00042H", "code128")
    assert emulator.wait_idle()
    assert emulator.delivered == ["BJ-0000015", "B-BJ-00042H"]
    assert emulator.retransmissions == 0 and emulator.lost == []
    assert scanner.acks_sent == 2


def test_bad_checksum_is_naked_and_the_resend_read_once(
    emulator: SsiScannerEmulator, scanner: SsiScanner
) -> None:
    emulator.corrupt_next = 1
    emulator.pull_trigger("BJ-0000023")
    read = scanner.next_read(2.0)
    assert read is not None and read.code == "BJ-0000023"
    assert scanner.next_read(0.3) is None
    assert scanner.naks_sent == 1 and emulator.naks_received == 1
    assert emulator.retransmissions == 1 and emulator.delivered == ["BJ-0000023"]


def test_lost_ack_retransmission_is_not_read_twice(emulator: SsiScannerEmulator, scanner: SsiScanner) -> None:
    emulator.ignore_acks = 1  # the host's first ACK never arrives: the decoder re-sends with the retransmit bit
    emulator.pull_trigger("BJ-0000031")
    read = scanner.next_read(2.0)
    assert read is not None and read.code == "BJ-0000031"
    assert emulator.wait_idle()
    assert emulator.retransmissions == 1 and scanner.acks_sent == 2
    assert scanner.next_read(0.3) is None  # the duplicate window is off: the retransmit rule alone dropped it


def test_long_decode_arrives_in_continuation_packets(emulator: SsiScannerEmulator, scanner: SsiScanner) -> None:
    text = "".join(f"BJ-{n:06d}M;" for n in range(60))  # 660 bytes: four packets
    emulator.pull_trigger(text, "qrcode")
    read = scanner.next_read(3.0)
    assert read is not None and read.code == text and read.symbology == "qrcode"
    assert emulator.wait_idle() and scanner.acks_sent == 4


def test_host_triggered_session_and_beep(emulator: SsiScannerEmulator, scanner: SsiScanner) -> None:
    emulator.queue("LOC-BJ-R3C2S4E", "datamatrix")
    scanner.start_decode()
    read = scanner.next_read(2.0)
    assert read is not None and read.code == "LOC-BJ-R3C2S4E"
    scanner.stop_decode()
    scanner.beep(0x02)
    scanner.led(True)
    assert emulator.beeps == [0x02]
    assert scanner.revision().startswith("EMU-SSI")
    assert {Op.START_SESSION, Op.STOP_SESSION, Op.BEEP, Op.LED_ON, Op.REQUEST_REVISION} <= set(emulator.commands)


def test_disabling_scanning_stops_the_trigger(emulator: SsiScannerEmulator, scanner: SsiScanner) -> None:
    scanner.enable_scanning(False)
    emulator.pull_trigger("BJ-1")
    assert scanner.next_read(0.4) is None
    scanner.enable_scanning(True)
    emulator.pull_trigger("BJ-2")
    read = scanner.next_read(2.0)
    assert read is not None and read.code == "BJ-2"


def test_refused_commands_raise(emulator: SsiScannerEmulator, scanner: SsiScanner) -> None:
    with pytest.raises(ScannerCommandError, match="NAK DENIED"):
        scanner.command(Op.PARAM_SEND, b"\xff\x01")  # a parameter without a value
    with pytest.raises(ValueError, match="beep code"):
        scanner.beep(99)


def test_no_answer_raises_after_retries(tmp_path: Path) -> None:
    link = tmp_path / "silent"
    from drivers.transport import PtyPair

    with PtyPair(link=link) as pty:  # a port with nothing behind it
        with SsiScanner("mute", pty.device, configure=False, backoff=FAST) as driver:
            assert driver.wait_connected(3.0)
            with pytest.raises(ScannerCommandError, match="no answer to BEEP after 2 tries"):
                driver.command(Op.BEEP, b"\x00", timeout=0.1, retries=1)
            sent = pty.read(100, timeout=0.5)
            assert sent.count(bytes([0x05, Op.BEEP])) == 2  # the retry carried the retransmit bit
            assert bytes([0x05, Op.BEEP, 0x04, 0x01]) in sent


def test_decoder_retransmits_until_acked(emulator: SsiScannerEmulator) -> None:
    # A host that never answers: the emulator re-sends with the retransmit bit, then gives up.
    port = open_transport(emulator.device, timeout=0.05)
    try:
        emulator.pull_trigger("BJ-9")
        assert until(lambda: emulator.lost == ["BJ-9"], 3.0)
        raw = b""
        while chunk := port.read(4096):
            raw += chunk
        status_bytes = [raw[i + 3] for i in range(len(raw) - 3) if raw[i + 1] == 0xF3]
        assert status_bytes == [0x00, 0x01, 0x01, 0x01]
    finally:
        port.close()


def test_unplug_and_replug(emulator: SsiScannerEmulator, scanner: SsiScanner) -> None:
    emulator.pull_trigger("BJ-BEFORE")
    assert (r := scanner.next_read(2.0)) is not None and r.code == "BJ-BEFORE"
    emulator.unplug()
    assert until(lambda: not scanner.reader.connected_event.is_set(), 2.0)
    emulator.plug()
    assert scanner.wait_connected(3.0)
    emulator.pull_trigger("BJ-AFTER")
    assert (r := scanner.next_read(2.0)) is not None and r.code == "BJ-AFTER"
