"""Byte transports shared by the serial-speaking drivers (scanners, RFID readers) and their emulators.

This module owns moving bytes: opening a port by URL (pyserial's `serial_for_url`, so `loop://`, `socket://`,
`spy://`, `rfc2217://` and plain device paths all work), a TCP alias, replaying a captured file,
pseudo-terminal pairs for emulators, finding a device again under `/dev/serial/by-id`, and a reader thread
that survives unplugging by reconnecting with back-off. It must never interpret the bytes (that is a framer's
job), never import `tracker` or `tui`, and never raise a device fault past the reader loop: faults become
`DeviceStatus` values.

Stable API (other drivers import it): `Transport`, `TransportError`, `open_transport`, `find_by_id`,
`LinkGuard`, `PtyPair`, `Backoff`, `ReconnectingReader`, and the `Closing` / `Running` context-manager bases.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import termios
import threading
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Self, runtime_checkable

import serial
from serial.urlhandler import protocol_socket

from drivers.reads import DeviceState, DeviceStatus

BY_ID_DIR = Path("/dev/serial/by-id")


@runtime_checkable
class Transport(Protocol):
    """The part of a pyserial port drivers use: `read` gives b"" on time-out, raises if the device is gone."""

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes, /) -> int | None: ...

    def close(self) -> None: ...


class TransportError(Exception):
    """A port could not be opened or used; the message names the port and the cause for an operator."""


class FileTransport:
    """Replays a captured byte file as if it came off a port, so a field capture can be re-run through a
    driver.

    Reads return b"" at the end of the file (a time-out, not a disconnect), after sleeping `timeout` so a
    reader loop idles the way it would on a quiet port. Writes are discarded: a capture cannot answer.
    """

    def __init__(self, path: Path, timeout: float = 0.1) -> None:
        self.path = path
        self.timeout = timeout
        self._f = path.open("rb")

    @property
    def in_waiting(self) -> int:
        here = self._f.tell()
        return max(0, os.fstat(self._f.fileno()).st_size - here)

    def read(self, size: int = 1) -> bytes:
        data = self._f.read(size)
        if not data and self.timeout:
            time.sleep(self.timeout)
        return data

    def write(self, data: bytes, /) -> int:
        return len(data)

    def close(self) -> None:
        self._f.close()


class _KeepingSocket(protocol_socket.Serial):  # type: ignore[misc]
    """pyserial's `socket://` port, except that opening keeps the bytes that have already arrived.

    pyserial drains the socket when it opens it (`reset_input_buffer`), so a scan a serial-to-Ethernet converter
    sends the instant the connection comes up would be dropped without a trace. A scan is never discarded here.
    """

    _opening = False

    def open(self) -> None:
        self._opening = True
        try:
            super().open()
        finally:
            self._opening = False

    def reset_input_buffer(self) -> None:
        if not self._opening:
            super().reset_input_buffer()


def open_transport(
    url: str, *, baudrate: int = 9600, timeout: float = 0.1, exclusive: bool | None = None
) -> Transport:
    """Open `url` and return a transport whose reads time out after `timeout` seconds.

    Accepted: a device path (`/dev/ttyACM0`, a `/dev/serial/by-id/...` link), any pyserial URL (`loop://`,
    `socket://host:port`, `spy://...`, `rfc2217://...`), `tcp://host:port` (same as `socket://`), and
    `file:///path` or `file:path` to replay a capture. `exclusive=True` takes a POSIX advisory lock on a
    serial device so a second program (or a stray ModemManager probe honouring locks) cannot share it.
    """
    if not url:
        raise TransportError("no port given: set the device url (e.g. /dev/serial/by-id/usb-..., socket://host:port)")
    if url.startswith("file:"):
        raw = url.removeprefix("file://") if url.startswith("file://") else url.removeprefix("file:")
        path = Path(raw)
        try:
            return FileTransport(path, timeout=timeout)
        except OSError as exc:
            raise TransportError(f"cannot open capture file {path}: {exc.strerror or exc}") from exc
    if url.startswith("tcp://"):
        url = "socket://" + url.removeprefix("tcp://")
    kwargs: dict[str, object] = {"baudrate": baudrate, "timeout": timeout, "write_timeout": max(timeout, 1.0)}
    if exclusive is not None and "://" not in url:
        kwargs["exclusive"] = exclusive
    try:
        port: Transport = (
            _KeepingSocket(url, **kwargs) if url.startswith("socket://") else serial.serial_for_url(url, **kwargs)
        )
    except (serial.SerialException, OSError, ValueError) as exc:
        raise TransportError(f"cannot open {url}: {exc}") from exc
    return port


def find_by_id(pattern: str, directory: Path | str = BY_ID_DIR) -> Path | None:
    """The first `/dev/serial/by-id` link whose name contains `pattern` (e.g. the scanner's serial number).

    A USB scanner that is unplugged and plugged back may come back as ttyACM1 instead of ttyACM0; its by-id
    link (vendor, model, serial) stays the same, so reconnecting by id finds the same physical device.
    """
    folder = Path(directory)
    try:
        names = sorted(p for p in folder.iterdir() if pattern in p.name)
    except OSError:
        return None
    for link in names:
        if link.exists():
            return link
    return None


class LinkGuard:
    """Follows a device link (a `/dev/serial/by-id` entry, a simulator's `--link`) only to the device it led to.

    A link whose device went away while the link stayed (a simulator killed with SIGKILL, udev not running) is
    stale: the /dev/pts or /dev/ttyACM number it names is handed to the next program or device that asks, and
    reading it would store someone else's keystrokes as scans. So after a successful open the guard remembers the
    link itself (its inode, as `os.replace` or udev make a new one each time) and where it led; the same link
    found dangling, or leading elsewhere, is refused until it is made again. Plain paths and URLs pass unchanged.
    One guard per configured device, used from its reader thread only.
    """

    def __init__(self) -> None:
        self._link: tuple[int, int, int] | None = None
        self._target = ""
        self._vanished = False

    def check(self, url: str) -> None:
        """Raise `TransportError` (saying why) when `url` is a link that must not be read from now."""
        path = Path(url)
        link = _link_identity(path) if "://" not in url and not url.startswith("file:") else None
        if link is None:
            return
        target = os.path.realpath(path)
        same = link == self._link
        if not os.path.exists(target):
            self._vanished = self._vanished or same
            raise TransportError(f"{url} leads nowhere: {target} does not exist (device unplugged or simulator "
                                 "stopped)")
        if same and (self._vanished or target != self._target):
            where = "leads to" if target != self._target else "still points at"
            raise TransportError(f"{url} {where} {target} after its device went away: that may be another "
                                 "program's terminal or another device now, so it is not read from until the link "
                                 "is made again")

    def opened(self, url: str) -> None:
        """`url` was opened and is being read: remember the link and where it led."""
        self._link = _link_identity(Path(url)) if "://" not in url and not url.startswith("file:") else None
        self._target = os.path.realpath(url) if self._link is not None else ""
        self._vanished = False


def _link_identity(path: Path) -> tuple[int, int, int] | None:
    """The symlink itself (device, inode, change time), or None when `path` is not a symlink."""
    import stat

    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_ctime_ns) if stat.S_ISLNK(st.st_mode) else None


class Closing:
    """`with` closes it however the block ends, so a failing test or command never leaves a pty or port open."""

    def close(self) -> None:  # pragma: no cover - every subclass has its own
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Running:
    """`with` starts it and stops it however the block ends, so a failing test or command never leaves a reader
    thread or an emulator running behind it."""

    def start(self) -> Self:  # pragma: no cover - every subclass has its own
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - every subclass has its own
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PtyPair(Closing):
    """A pseudo-terminal pair: the emulator holds the master side, the driver opens `path` as if it were a
    port.

    Both sides are raw (no echo, no line editing, 8-bit clean). With `link`, a symlink at that path points at
    the slave, like a `/dev/serial/by-id` entry; `replug()` closes the pair (the driver sees the device
    vanish) and opens a fresh one behind the same link, like a scanner unplugged and plugged back.
    """

    def __init__(self, link: Path | str | None = None) -> None:
        self.link = Path(link) if link is not None else None
        self._lock = threading.Lock()
        self.master_fd = -1
        self.slave_fd = -1
        self.path = ""
        self._open()

    def _open(self, avoid: str = "") -> None:
        master, slave = os.openpty()
        if avoid and os.ttyname(slave) == avoid:
            # Re-plugged USB devices come back under a new number; make the emulated one do the same.
            spare = (master, slave)
            master, slave = os.openpty()
            os.close(spare[0])
            os.close(spare[1])
        tty.setraw(master)
        tty.setraw(slave)
        self.master_fd, self.slave_fd = master, slave
        self.path = os.ttyname(slave)
        if self.link is not None:
            self.link.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.link.with_name(self.link.name + ".new")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(self.path)
            os.replace(tmp, self.link)

    @property
    def device(self) -> str:
        """What a driver should open: the link if any (it survives `replug`), else the pty itself."""
        return str(self.link) if self.link is not None else self.path

    @property
    def closed(self) -> bool:
        return self.master_fd < 0

    def write(self, data: bytes) -> None:
        """Send bytes to the driver, all of them (a pty accepts short writes when its buffer is full)."""
        view = memoryview(data)
        while view:
            with self._lock:
                if self.master_fd < 0:
                    raise OSError(errno.ENODEV, "pty is unplugged")
                try:
                    n = os.write(self.master_fd, view)
                except BlockingIOError:
                    n = 0
            if n == 0:
                time.sleep(0.001)
            view = view[n:]

    def read(self, size: int = 4096, timeout: float = 0.1) -> bytes:
        """Bytes the driver wrote, or b"" after `timeout` seconds of silence (or when unplugged)."""
        import select

        fd = self.master_fd
        if fd < 0:
            time.sleep(timeout)
            return b""
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                return b""
            return os.read(fd, size)
        except OSError:
            return b""

    def pending_to_driver(self) -> int:
        """Bytes written by the emulator that the driver has not read yet."""
        if self.slave_fd < 0:
            return 0
        buf = fcntl.ioctl(self.slave_fd, termios.FIONREAD, b"\0\0\0\0")
        return int(struct.unpack("i", buf)[0])

    def wait_drained(self, timeout: float = 2.0, settle: float = 0.01) -> bool:
        """Wait until the driver has read everything sent; False on time-out (the driver is not reading).

        Bytes written to the master reach the slave's input queue through the kernel's flip buffer a moment
        later, so an empty queue only counts once it has stayed empty for `settle` seconds.
        """
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            now = time.monotonic()
            if self.pending_to_driver():
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= settle:
                return True
            time.sleep(0.002)
        return False

    def unplug(self) -> None:
        """Close both sides: the driver's next read fails like a pulled USB cable; unread bytes are lost.

        The link goes too, as udev removes a /dev/serial/by-id entry: the freed /dev/pts number may be handed
        to another program's pty at once, and a driver must not reconnect to that.
        """
        with self._lock:
            if self.link is not None:
                self.link.unlink(missing_ok=True)
            for fd in (self.master_fd, self.slave_fd):
                if fd >= 0:
                    os.close(fd)
            self.master_fd = self.slave_fd = -1

    def plug(self) -> None:
        """Open a fresh pair behind the same link (a new /dev/pts number, like a re-enumerated USB device)."""
        with self._lock:
            if self.master_fd < 0:
                self._open(avoid=self.path)

    def replug(self, gap: float = 0.0) -> None:
        self.unplug()
        if gap:
            time.sleep(gap)
        self.plug()

    def close(self) -> None:
        self.unplug()
        if self.link is not None:
            self.link.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between reconnect attempts: `initial`, times `factor` each failure, capped at `maximum` seconds.

    Short first delays matter because a USB re-plug re-enumerates in well under a second; the cap keeps a
    scanner left unplugged all day from spinning the CPU or flooding the log.
    """

    initial: float = 0.05
    factor: float = 2.0
    maximum: float = 5.0

    def delays(self) -> Iterator[float]:
        delay = self.initial
        while True:
            yield delay
            delay = min(self.maximum, delay * self.factor)


DataSink = Callable[[bytes, float], None]
StatusSink = Callable[[DeviceStatus], None]


class ReconnectingReader:
    """Reads a transport on a thread and keeps reading across unplugging, re-opening it with back-off.

    `on_data(data, now)` gets every chunk with a monotonic timestamp; it is also called with b"" after each
    read time-out so a framer that ends frames on silence can finish one. `on_status` gets CONNECTED,
    DISCONNECTED and RECONNECTING changes (never repeated with the same detail), which is also the framer's cue to
    drop a half-received frame. `on_connect(transport)` runs after each successful open (e.g. to wake a scanner or
    re-send its settings). Exceptions raised by the callbacks are reported as an ERROR status and the loop
    carries on.
    """

    def __init__(
        self,
        opener: Callable[[], Transport],
        on_data: DataSink,
        *,
        device: str,
        on_status: StatusSink | None = None,
        on_connect: Callable[[Transport], None] | None = None,
        backoff: Backoff | None = None,
        chunk: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._opener = opener
        self._on_data = on_data
        self._on_status = on_status
        self._on_connect = on_connect
        self.device = device
        self.backoff = backoff or Backoff()
        self._chunk = chunk
        self._clock = clock
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self._transport: Transport | None = None
        self._state: DeviceState | None = None
        self._detail = ""
        self._thread: threading.Thread | None = None
        self.connected_event = threading.Event()
        self.reconnects = 0

    @property
    def state(self) -> DeviceState | None:
        return self._state

    def _status(self, state: DeviceState, detail: str = "") -> None:
        if state is DeviceState.ERROR:
            pass  # a fault in the caller's handler: reported every time, the connection itself is unchanged
        elif state is self._state and detail == self._detail:
            return
        else:
            # A new reason in the same state is reported (a link that led nowhere now leads elsewhere): the
            # operator sees why the device is not read, not only that it is not.
            self._state, self._detail = state, detail
            if state is DeviceState.CONNECTED:
                self.connected_event.set()
            else:
                self.connected_event.clear()
        if self._on_status is not None:
            try:
                self._on_status(DeviceStatus(self.device, state, detail))
            except Exception:  # noqa: S110 - a broken status listener must not stop the reads
                pass

    def write(self, data: bytes) -> bool:
        """Send bytes to the device now; False when it is not connected (the caller decides on a retry)."""
        with self._write_lock:
            port = self._transport
            if port is None:
                return False
            try:
                port.write(data)
            except (serial.SerialException, OSError):
                return False
            return True

    def start(self) -> Self:
        self._thread = threading.Thread(target=self.run, name=f"reader:{self.device}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def wait_connected(self, timeout: float = 2.0) -> bool:
        return self.connected_event.wait(timeout)

    def _open(self) -> Transport | None:
        delays = self.backoff.delays()
        first = True
        while not self._stop.is_set():
            try:
                port = self._opener()
            except (TransportError, serial.SerialException, OSError) as exc:
                self._status(DeviceState.DISCONNECTED if first else DeviceState.RECONNECTING, str(exc))
                first = False
                self._stop.wait(next(delays))
                continue
            if self._on_connect is not None:
                try:
                    self._on_connect(port)
                except (serial.SerialException, OSError) as exc:
                    _close_quietly(port)
                    self._status(DeviceState.RECONNECTING, f"device did not accept set-up: {exc}")
                    self._stop.wait(next(delays))
                    continue
            return port
        return None

    def run(self) -> None:
        """The loop itself, for callers that want to own the thread."""
        while not self._stop.is_set():
            port = self._open()
            if port is None:
                break
            with self._write_lock:
                self._transport = port
            self._status(DeviceState.CONNECTED)
            detail = self._pump(port)
            with self._write_lock:
                self._transport = None
            _close_quietly(port)
            if detail is not None:
                self.reconnects += 1
                self._status(DeviceState.DISCONNECTED, detail)
        self._status(DeviceState.DISCONNECTED, "stopped")

    def _pump(self, port: Transport) -> str | None:
        """Read until stopped (None) or the device fails (the reason)."""
        while not self._stop.is_set():
            try:
                waiting = int(getattr(port, "in_waiting", 0) or 0)
                data = port.read(min(max(waiting, 1), self._chunk))
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                # pyserial raises TypeError/AttributeError when a port is closed under it by another thread.
                return f"device lost: {exc}"
            try:
                self._on_data(data, self._clock())
            except Exception as exc:
                self._status(DeviceState.ERROR, f"driver error: {type(exc).__name__}: {exc}")
        return None


def _close_quietly(port: Transport) -> None:
    try:
        port.close()
    except (serial.SerialException, OSError):
        pass
