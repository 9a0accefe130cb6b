"""The shared transports: URLs open, a pty pair carries bytes both ways, and the reader survives a re-plug."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from drivers.reads import DeviceState, DeviceStatus
from drivers.transport import Backoff, PtyPair, ReconnectingReader, TransportError, find_by_id, open_transport


def test_loop_url_echoes() -> None:
    port = open_transport("loop://", timeout=0.05)
    port.write(b"]C0ABC\r")
    assert port.read(7) == b"]C0ABC\r"
    port.close()


def test_file_url_replays_capture(tmp_path: Path) -> None:
    capture = tmp_path / "cap.bin"
    capture.write_bytes(b"123\r\n456\r\n")
    port = open_transport(f"file://{capture}", timeout=0.0)
    assert port.read(100) == b"123\r\n456\r\n"
    assert port.read(100) == b""
    port.close()


def test_bad_urls_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(TransportError, match="cannot open"):
        open_transport(str(tmp_path / "no-such-tty"))
    with pytest.raises(TransportError, match="capture file"):
        open_transport(f"file:{tmp_path / 'missing.bin'}")
    with pytest.raises(TransportError, match="no port"):
        open_transport("")


def test_find_by_id(tmp_path: Path) -> None:
    with PtyPair(link=tmp_path / "by-id" / "usb-Acme_Scanner_SN123-if00") as pty:
        assert find_by_id("SN123", tmp_path / "by-id") == Path(pty.device)
        assert find_by_id("SN999", tmp_path / "by-id") is None
    assert find_by_id("SN123", tmp_path / "nowhere") is None


def test_pty_pair_both_directions() -> None:
    with PtyPair() as pty:
        port = open_transport(pty.device, timeout=0.2)
        pty.write(b"\x00\xff hello")
        assert port.read(8) == b"\x00\xff hello"
        port.write(b"ack")
        assert pty.read(10, timeout=1.0) == b"ack"
        port.close()


def test_backoff_grows_and_caps() -> None:
    delays = Backoff(initial=0.1, factor=3, maximum=1.0).delays()
    assert [next(delays) for _ in range(4)] == pytest.approx([0.1, 0.3, 0.9, 1.0])


def test_reader_reconnects_after_replug(tmp_path: Path) -> None:
    got: list[bytes] = []
    statuses: list[DeviceStatus] = []
    lock = threading.Lock()

    def on_data(data: bytes, now: float) -> None:
        if data:
            with lock:
                got.append(data)

    with PtyPair(link=tmp_path / "scanner") as pty:
        reader = ReconnectingReader(
            lambda: open_transport(pty.device, timeout=0.05),
            on_data,
            device="t",
            on_status=statuses.append,
            backoff=Backoff(initial=0.01, maximum=0.05),
        ).start()
        assert reader.wait_connected()
        pty.write(b"before")
        assert pty.wait_drained()
        pty.unplug()
        deadline = time.monotonic() + 2
        while reader.connected_event.is_set() and time.monotonic() < deadline:
            time.sleep(0.005)  # the reader notices on its next read
        time.sleep(0.1)  # stay unplugged for a few reconnect attempts
        pty.plug()
        assert reader.wait_connected(3.0)
        assert reader.write(b"hi")
        assert pty.read(10, timeout=1.0) == b"hi"
        pty.write(b"after")
        deadline = time.monotonic() + 2
        while b"".join(got) != b"beforeafter" and time.monotonic() < deadline:
            time.sleep(0.01)
        reader.stop()
    assert b"".join(got) == b"beforeafter"
    states = [s.state for s in statuses]
    assert states[0] is DeviceState.CONNECTED
    assert DeviceState.DISCONNECTED in states
    assert states.count(DeviceState.CONNECTED) == 2
    assert reader.reconnects == 1


def test_a_failing_handler_is_reported_and_reading_goes_on() -> None:
    got: list[bytes] = []
    statuses: list[DeviceStatus] = []

    def on_data(data: bytes, now: float) -> None:
        if b"!" in data:
            raise RuntimeError("bad frame handler")
        if data:
            got.append(data)

    with PtyPair() as pty:
        reader = ReconnectingReader(
            lambda: open_transport(pty.device, timeout=0.05), on_data, device="t", on_status=statuses.append
        ).start()
        assert reader.wait_connected()
        pty.write(b"!")
        deadline = time.monotonic() + 2
        while not any(s.state is DeviceState.ERROR for s in statuses) and time.monotonic() < deadline:
            time.sleep(0.01)
        pty.write(b"ok")
        while b"".join(got) != b"ok" and time.monotonic() < deadline:
            time.sleep(0.01)
        reader.stop()
    assert b"".join(got) == b"ok"
    errors = [s for s in statuses if s.state is DeviceState.ERROR]
    assert len(errors) == 1 and "RuntimeError: bad frame handler" in errors[0].detail
    assert reader.reconnects == 0


def test_tcp_scanner_through_socket_url() -> None:
    # Serial-to-Ethernet converters (and cradles on the LAN) look like this: a TCP server sending scan lines.
    import socket

    from drivers.scanners.serial_line import LineScanner

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"]d1BJ-0000015\r")
            conn.recv(1)  # hold the connection until the client goes

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with LineScanner("lan", f"tcp://127.0.0.1:{port}", dup_window=0) as scanner:
            read = scanner.next_read(3.0)
        assert read is not None and (read.code, read.aim_id) == ("BJ-0000015", "]d1")
    finally:
        server.close()
        thread.join(2.0)
