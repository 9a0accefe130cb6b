"""A device link left behind by a device that went away (a simulator killed with SIGKILL, a by-id link udev did
not remove) is not followed to whatever now answers at its target: the driver reports the stale link and reads
nothing, instead of reconnecting to another program's terminal and storing reads nobody made (issue 14)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from drivers.emulators.scanner_line import LineScannerEmulator
from drivers.reads import DeviceState, DeviceStatus, Read
from drivers.scanners.serial_line import LineScanner
from drivers.transport import Backoff, PtyPair

FAST = Backoff(initial=0.01, factor=2, maximum=0.05)


def _kill(emulator: LineScannerEmulator) -> None:
    """What SIGKILL does to a simulator: its pty closes, nothing removes its link."""
    pty = emulator.pty
    for fd in (pty.master_fd, pty.slave_fd):
        os.close(fd)
    pty.master_fd = pty.slave_fd = -1
    pty.link = None  # its close() must not tidy the link up either


def _events(driver: LineScanner, seconds: float) -> list[Read | DeviceStatus]:
    out: list[Read | DeviceStatus] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        event = driver.get(0.05)
        if event is not None:
            out.append(event)
    return out


def test_a_link_left_behind_is_not_followed_to_another_terminal(tmp_path: Path) -> None:
    # The configured link points through a second link at the simulator's pty, so the test can make the stale
    # path lead to another live pty deterministically (the kernel reuses /dev/pts numbers when it likes).
    hop = tmp_path / "hop"
    link = tmp_path / "by-id" / "usb-Simulated_Scanner-if00"
    link.parent.mkdir()
    with LineScannerEmulator(aim=False) as first, PtyPair() as other:
        hop.symlink_to(first.pty.path)
        link.symlink_to(hop)
        with LineScanner("counter-1", url=str(link), dup_window=0.0, backoff=FAST) as driver:
            assert driver.wait_connected(3.0)
            first.scan("BJ-0000015")
            assert (r := driver.next_read(2.0)) is not None and r.code == "BJ-0000015"
            _kill(first)
            # The link is dangling for a while (the pts node went with its master), then leads to a live pty.
            time.sleep(0.2)
            tmp = tmp_path / "hop.new"
            tmp.symlink_to(other.path)
            os.replace(tmp, hop)
            other.write(b"00\rBJ-0\rBJ-1\r")
            events = _events(driver, 0.6)
            assert not [e for e in events if isinstance(e, Read)], events
            assert not driver.reader.connected_event.is_set()
            details = " ".join(e.detail for e in events if isinstance(e, DeviceStatus)
                               and e.state in (DeviceState.DISCONNECTED, DeviceState.RECONNECTING))
            assert str(link) in details and "not read from" in details, details


def test_a_link_that_leads_nowhere_is_reported(tmp_path: Path) -> None:
    link = tmp_path / "usb-Gone-if00"
    link.symlink_to(tmp_path / "nothing-here")
    with LineScanner("counter-1", url=str(link), dup_window=0.0, backoff=FAST) as driver:
        events = _events(driver, 0.3)
    details = " ".join(e.detail for e in events if isinstance(e, DeviceStatus))
    assert "leads nowhere" in details, details


def test_a_link_made_again_is_followed(tmp_path: Path) -> None:
    """The same path re-created (a simulator restarted, udev after a re-plug) is a device again."""
    link = tmp_path / "by-id" / "usb-Simulated_Scanner-if00"
    with LineScannerEmulator(aim=False, link=link) as first:
        with LineScanner("counter-1", url=str(link), dup_window=0.0, backoff=FAST) as driver:
            assert driver.wait_connected(3.0)
            _kill(first)
            time.sleep(0.2)
            with LineScannerEmulator(aim=False, link=link) as second:
                assert driver.wait_connected(3.0)
                second.scan("BJ-0000023")
                assert (r := driver.next_read(2.0)) is not None and r.code == "BJ-0000023"
