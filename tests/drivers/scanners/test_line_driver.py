"""The serial line scanner driver against the pty line-scanner emulator (real bytes, real port, no mocks)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.emulators.scanner_line import LineScannerEmulator
from drivers.reads import DeviceState, DeviceStatus, Read
from drivers.scanners.framing import LineSettings
from drivers.scanners.serial_line import LineScanner
from drivers.transport import Backoff

FAST = Backoff(initial=0.01, factor=2, maximum=0.05)


def drain(scanner: LineScanner, expect: int, timeout: float = 3.0) -> list[Read]:
    reads: list[Read] = []
    deadline = time.monotonic() + timeout
    while len(reads) < expect and time.monotonic() < deadline:
        read = scanner.next_read(deadline - time.monotonic())
        if read is not None:
            reads.append(read)
    return reads


def no_more_reads(scanner: LineScanner, wait: float = 0.2) -> bool:
    return scanner.next_read(wait) is None


@pytest.fixture
def by_id(tmp_path: Path) -> Path:
    return tmp_path / "serial" / "by-id"


@pytest.fixture
def emulator(by_id: Path) -> Iterator[LineScannerEmulator]:
    with LineScannerEmulator(aim=True, link=by_id / "usb-Emu_LineScanner_SN0042-if00", seed=7) as emu:
        yield emu


@pytest.fixture
def scanner(emulator: LineScannerEmulator, by_id: Path) -> Iterator[LineScanner]:
    driver = LineScanner("counter-1", by_id="SN0042", by_id_dir=by_id, dup_window=0.0, backoff=FAST)
    with driver:
        assert driver.wait_connected(3.0)
        yield driver


def test_reads_with_aim_identifiers(emulator: LineScannerEmulator, scanner: LineScanner) -> None:
    emulator.scan("BJ-0000015", "datamatrix")
    emulator.scan("B-BJ-00042H", "code128")
    emulator.scan("LOC-BJ-R3C2S4E", "qrcode")
    reads = drain(scanner, 3)
    assert [(r.code, r.symbology, r.aim_id) for r in reads] == [
        ("BJ-0000015", "datamatrix", "]d1"),
        ("B-BJ-00042H", "code128", "]C0"),
        ("LOC-BJ-R3C2S4E", "qrcode", "]Q1"),
    ]
    assert all(r.device == "counter-1" and r.at.tzinfo is not None for r in reads)
    assert reads[0].raw == b"]d1BJ-0000015\r"


def test_fragmented_and_glued_frames(emulator: LineScannerEmulator, scanner: LineScanner) -> None:
    for n in range(10):
        emulator.scan(f"BJ-00000{n}", fragments=5, gap=0.002)
    emulator.send(emulator.frame("GLUED-1") + emulator.frame("GLUED-2"))  # two scans in one USB packet
    reads = drain(scanner, 12)
    assert [r.code for r in reads] == [f"BJ-00000{n}" for n in range(10)] + ["GLUED-1", "GLUED-2"]


def test_line_noise_between_scans_is_skipped(emulator: LineScannerEmulator, scanner: LineScanner) -> None:
    for n in range(5):
        emulator.noise(6)
        emulator.scan(f"BJ-{n}")
    emulator.noise(3)
    reads = drain(scanner, 5)
    assert [r.code for r in reads] == [f"BJ-{n}" for n in range(5)]
    assert no_more_reads(scanner)


def test_noise_inside_a_scan_refuses_it(emulator: LineScannerEmulator, scanner: LineScanner) -> None:
    frame = emulator.frame("BJ-0000015")
    emulator.send(frame[:5] + b"\x00\xff" + frame[5:])
    emulator.scan("BJ-0000023")
    assert [r.code for r in drain(scanner, 1)] == ["BJ-0000023"]
    assert no_more_reads(scanner)
    assert any("noise" in r.reason for r in scanner.rejected)


def test_unplug_mid_stream_loses_no_completed_scan(
    emulator: LineScannerEmulator, scanner: LineScanner, by_id: Path
) -> None:
    for n in range(3):
        emulator.scan(f"BEFORE-{n}")
    emulator.send(emulator.frame("HALF-SCAN")[:6])  # the cable is pulled half-way through a scan
    assert emulator.wait_drained()
    first = str(Path(emulator.device).resolve())
    emulator.unplug()
    deadline = time.monotonic() + 2
    while scanner.reader.connected_event.is_set() and time.monotonic() < deadline:
        time.sleep(0.005)  # the driver notices on its next read
    time.sleep(0.15)  # unplugged for several reconnect attempts
    emulator.plug()  # the scanner comes back as another /dev/pts number behind the same by-id name
    assert str(Path(emulator.device).resolve()) != first
    assert scanner.wait_connected(3.0)
    for n in range(3):
        emulator.scan(f"AFTER-{n}")
    events: list[Read | DeviceStatus] = []
    deadline = time.monotonic() + 3
    while sum(isinstance(e, Read) for e in events) < 6 and time.monotonic() < deadline:
        event = scanner.get(0.1)
        if event is not None:
            events.append(event)
    codes = [e.code for e in events if isinstance(e, Read)]
    statuses = [e for e in events if isinstance(e, DeviceStatus)]
    assert codes == [f"BEFORE-{n}" for n in range(3)] + [f"AFTER-{n}" for n in range(3)]
    states = [s.state for s in statuses]
    # connected (start-up), then lost, maybe several failed re-opens, then connected again
    assert states[:2] == [DeviceState.CONNECTED, DeviceState.DISCONNECTED]
    assert states[-1] is DeviceState.CONNECTED and states.count(DeviceState.CONNECTED) == 2
    assert set(states) <= {DeviceState.DISCONNECTED, DeviceState.RECONNECTING, DeviceState.CONNECTED}
    assert any(r.raw == b"]C0HAL" for r in scanner.rejected)


def test_duplicate_window(emulator: LineScannerEmulator, by_id: Path) -> None:
    with LineScanner("c", by_id="SN0042", by_id_dir=by_id, dup_window=0.3, backoff=FAST) as scanner:
        assert scanner.wait_connected(3.0)
        emulator.scan("BJ-1")
        emulator.scan("BJ-1")  # presentation scanner reads the label twice: inside the window, dropped
        emulator.scan("BJ-2")  # a different code is never dropped
        assert [r.code for r in drain(scanner, 2)] == ["BJ-1", "BJ-2"]
        assert no_more_reads(scanner, 0.45)  # let the window pass with no sighting of BJ-1
        emulator.scan("BJ-1")  # outside the window: a new read
        assert [r.code for r in drain(scanner, 1)] == ["BJ-1"]
        assert scanner.stream.dedup.dropped == 1


def test_prefix_suffix_and_no_terminator(tmp_path: Path) -> None:
    with LineScannerEmulator(terminator="none", prefix=b"\x02", suffix=b"\x03") as emu:
        settings = LineSettings(terminator="none", prefix=b"\x02", suffix=b"\x03", idle_timeout=0.05)
        with LineScanner("dock", emu.device, settings=settings, dup_window=0, backoff=FAST) as scanner:
            assert scanner.wait_connected(3.0)
            emu.send(b"garbage\r\n")
            emu.scan("BJ-0000015", fragments=3, gap=0.005)
            emu.scan("BJ-0000023")
            assert [r.code for r in drain(scanner, 2)] == ["BJ-0000015", "BJ-0000023"]


def test_idle_terminated_frames(tmp_path: Path) -> None:
    with LineScannerEmulator(terminator="none") as emu:
        settings = LineSettings(terminator="none", idle_timeout=0.08)
        with LineScanner("wedge-like", emu.device, settings=settings, dup_window=0, backoff=FAST) as scanner:
            assert scanner.wait_connected(3.0)
            emu.scan("BJ-0000015", fragments=3, gap=0.01)
            time.sleep(0.2)
            emu.scan("BJ-0000023")
            assert [r.code for r in drain(scanner, 2)] == ["BJ-0000015", "BJ-0000023"]


def test_missing_device_reports_status_and_keeps_trying(tmp_path: Path) -> None:
    link = tmp_path / "by-id" / "usb-Late_Scanner_SN9-if00"
    with LineScanner("late", by_id="SN9", by_id_dir=link.parent, backoff=FAST) as scanner:
        first = scanner.get(1.0)
        assert isinstance(first, DeviceStatus) and first.state is DeviceState.DISCONNECTED
        assert "no device matching" in first.detail
        with LineScannerEmulator(link=link) as emu:  # plugged in later
            assert scanner.wait_connected(3.0)
            emu.scan("BJ-7")
            assert [r.code for r in drain(scanner, 1)] == ["BJ-7"]


def test_needs_a_port() -> None:
    with pytest.raises(ValueError, match="url or a by_id"):
        LineScanner("nowhere")
