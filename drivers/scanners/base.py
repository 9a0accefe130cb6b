"""What every live scanner driver shares: a reconnecting port, the duplicate window, and one stream of events.

This module owns the plumbing between a transport (drivers.transport) and a framer: reads and device statuses
go out as one ordered stream of `Read | DeviceStatus` events, to a callback or a queue, so a screen can show
"scanner unplugged" in the same place it shows scans. It must never interpret bytes (the framers do) and never
let a device fault escape as an exception: the reader loop turns faults into statuses.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from drivers.reads import DeviceState, DeviceStatus, Read, ReadKind
from drivers.scanners.aim import split_aim, symbology_for
from drivers.scanners.dedup import DuplicateFilter
from drivers.transport import (
    BY_ID_DIR,
    Backoff,
    LinkGuard,
    ReconnectingReader,
    Running,
    Transport,
    TransportError,
    find_by_id,
    open_transport,
)

Event = Read | DeviceStatus


class ScannerCommandError(Exception):
    """A command the scanner refused or never answered; the message says which and what to check."""

EventSink = Callable[[Event], None]


def read_from_text(
    text: str,
    *,
    device: str,
    raw: bytes,
    symbology: str | None = None,
    aim_id: str | None = None,
    split: bool = True,
) -> Read:
    """A `Read` from decoded scanner text, splitting off a leading AIM identifier when the scanner sent
    one.
    """
    if aim_id is None and split:
        aim_id, text = split_aim(text)
    if symbology is None:
        symbology = symbology_for(aim_id)
    return Read(
        code=text, kind=ReadKind.BARCODE, symbology=symbology, aim_id=aim_id, device=device,
        at=datetime.now(UTC), raw=raw,
    )


class EventStream:
    """Delivers events to `on_event` if given, else queues them for `get()`; applies the duplicate window."""

    def __init__(self, name: str, *, dup_window: float, on_event: EventSink | None = None) -> None:
        self.name = name
        self.dedup = DuplicateFilter(dup_window)
        self._on_event = on_event
        self.events: queue.Queue[Event] = queue.Queue()
        self.last_status: DeviceStatus | None = None

    def emit_read(self, read: Read, now: float) -> bool:
        """Deliver `read` unless it is a duplicate inside the window; True if delivered."""
        if not self.dedup.admit(read.code, now):
            return False
        self._deliver(read)
        return True

    def emit_status(self, status: DeviceStatus) -> None:
        self.last_status = status
        self._deliver(status)

    def _deliver(self, event: Event) -> None:
        if self._on_event is not None:
            self._on_event(event)
        else:
            self.events.put(event)

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None after `timeout` seconds (only when no callback was given)."""
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def next_read(self, timeout: float) -> Read | None:
        """The next read within `timeout` seconds, skipping statuses (for tests and `tracker devices
        test`).
        """
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            event = self.get(left)
            if isinstance(event, Read):
                return event
        return None


class SerialDriver(Running):
    """Base of the serial-port drivers: owns the reader thread and the port lookup (`url` or a by-id pattern).

    Subclasses implement `_on_data(data, now)` (bytes from the port, b"" on a read time-out), `_on_lost()`
    (drop half-received state) and may override `_on_connect(port)` to configure the device after every
    (re)connect.
    """

    def __init__(
        self,
        name: str,
        url: str = "",
        *,
        baudrate: int = 9600,
        by_id: str = "",
        by_id_dir: Path | str = BY_ID_DIR,
        dup_window: float = 1.0,
        on_event: EventSink | None = None,
        backoff: Backoff | None = None,
        read_timeout: float = 0.02,
    ) -> None:
        if not url and not by_id:
            raise ValueError(f"device {name!r}: give a url or a by_id pattern")
        self.name = name
        self.url = url
        self.baudrate = baudrate
        self.by_id = by_id
        self.by_id_dir = Path(by_id_dir)
        self.read_timeout = read_timeout
        self.stream = EventStream(name, dup_window=dup_window, on_event=on_event)
        self._lock = threading.RLock()
        self._guard = LinkGuard()
        self.reader = ReconnectingReader(
            self._open, self._data, device=name, on_status=self._status, on_connect=self._on_connect,
            backoff=backoff,
        )

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> Self:
        self.reader.start()
        return self

    def stop(self) -> None:
        self.reader.stop()

    def wait_connected(self, timeout: float = 2.0) -> bool:
        return self.reader.wait_connected(timeout)

    def get(self, timeout: float | None = None) -> Event | None:
        return self.stream.get(timeout)

    def next_read(self, timeout: float) -> Read | None:
        return self.stream.next_read(timeout)

    # -- plumbing --------------------------------------------------------------------------------------------
    def port_url(self) -> str:
        """Where the device is now: the by-id match if a pattern is configured (USB numbering changes on
        re-plug).
        """
        if self.by_id:
            found = find_by_id(self.by_id, self.by_id_dir)
            if found is None:
                raise TransportError(f"no device matching {self.by_id!r} under {self.by_id_dir}")
            return str(found)
        return self.url

    def _open(self) -> Transport:
        url = self.port_url()
        self._guard.check(url)  # a link left behind by a device that went away is not followed
        port = open_transport(url, baudrate=self.baudrate, timeout=self.read_timeout)
        self._guard.opened(url)
        return port

    def _data(self, data: bytes, now: float) -> None:
        with self._lock:
            self._on_data(data, now)

    def _status(self, status: DeviceStatus) -> None:
        if status.state in (DeviceState.DISCONNECTED, DeviceState.RECONNECTING):
            with self._lock:
                self._on_lost()
        self.stream.emit_status(status)

    def _on_connect(self, port: Transport) -> None:
        """Hook: configure the device after each (re)connect; raise OSError to retry later."""

    def _on_data(self, data: bytes, now: float) -> None:
        raise NotImplementedError

    def _on_lost(self) -> None:
        raise NotImplementedError

    def write(self, data: bytes) -> bool:
        return self.reader.write(data)
