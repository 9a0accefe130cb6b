"""Request/response conversations with a serial reader, and continuous streams that survive unplugging.

This module owns the timing around a codec: writing a command, collecting frames until the answer (or a quiet
gap) comes, and — for streaming — re-sending the start command when a reader falls silent or comes back after
a reconnect. Bytes are moved by `drivers.transport`; frames are cut by the codec's pure split function. It
must never interpret a frame itself and never import `tracker` or `tui`.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

import serial

from drivers.reads import DeviceStatus, Read
from drivers.rfid.base import Deframer, F, RfidError, SplitFn, TagRead
from drivers.transport import ReconnectingReader, Running, Transport, TransportError, open_transport

Clock = Callable[[], datetime]
T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Session(Generic[F]):
    """A blocking command/answer session on one port, for set-up commands and single inventories."""

    def __init__(
        self,
        url: str,
        split: SplitFn[F],
        *,
        baudrate: int = 115200,
        timeout: float = 0.02,
        opener: Callable[[], Transport] | None = None,
    ) -> None:
        self.url = url
        self._opener = opener or (lambda: open_transport(url, baudrate=baudrate, timeout=timeout))
        self.deframer: Deframer[F] = Deframer(split)
        self._port: Transport | None = None
        # Frames that arrived in the same chunk after the one a `collect` stopped at wait here for the next.
        self._backlog: deque[F] = deque()

    def open(self) -> Self:
        if self._port is None:
            try:
                self._port = self._opener()
            except TransportError as exc:
                raise RfidError(str(exc)) from exc
        return self

    def close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            finally:
                self._port = None
                self.deframer.reset()
                self._backlog.clear()

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def port(self) -> Transport:
        if self._port is None:
            raise RfidError(f"{self.url}: reader is not open")
        return self._port

    def send(self, data: bytes) -> None:
        try:
            self.port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise RfidError(f"{self.url}: cannot write to the reader: {exc}") from exc

    def collect(
        self,
        done: Callable[[F], bool] | None = None,
        *,
        timeout: float = 2.0,
        idle: float | None = None,
        on_frame: Callable[[F], None] | None = None,
    ) -> list[F]:
        """Frames until one satisfies `done` (included), `idle` seconds pass without a byte, or `timeout`.

        Returning on a quiet gap is how single-poll inventories end: several readers send one notification
        per tag and no end marker.
        """
        frames: list[F] = []
        while self._backlog:
            frame = self._backlog.popleft()
            frames.append(frame)
            if on_frame is not None:
                on_frame(frame)
            if done is not None and done(frame):
                return frames
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        while True:
            now = time.monotonic()
            if now > deadline:
                return frames
            try:
                data = self.port.read(4096)
            except (serial.SerialException, OSError) as exc:
                raise RfidError(f"{self.url}: reader lost: {exc}") from exc
            if not data:
                if idle is not None and time.monotonic() - quiet_since >= idle:
                    return frames
                continue
            quiet_since = time.monotonic()
            new = self.deframer.feed(data)
            for k, frame in enumerate(new):
                frames.append(frame)
                if on_frame is not None:
                    on_frame(frame)
                if done is not None and done(frame):
                    self._backlog.extend(new[k + 1 :])
                    return frames

    def request(self, data: bytes, done: Callable[[F], bool], *, timeout: float = 2.0, what: str = "") -> F:
        """Send a command and return the frame that answers it; other frames meanwhile are dropped."""
        self.send(data)
        frames = self.collect(done, timeout=timeout)
        if frames and done(frames[-1]):
            return frames[-1]
        raise RfidError(f"{self.url}: no answer to {what or data.hex(' ')} within {timeout:g} s")


class SessionReader(Generic[F]):
    """What every request/answer serial reader shares: a device name for its reads, one `Session` on its port
    with the codec's split function, the clock that stamps its reads, and `with` opening and closing the port."""

    def __init__(self, url: str, split: SplitFn[F], *, device: str | None, baudrate: int, clock: Clock) -> None:
        self.device = device or url
        self.session: Session[F] = Session(url, split, baudrate=baudrate)
        self._clock = clock

    def __enter__(self) -> Self:
        self.session.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.close()


class StreamProtocol(Protocol):
    """What a continuous stream needs from a codec: how to start, how to read, when and how to restart."""

    restart_after: float

    def start(self) -> bytes: ...

    def stop(self) -> bytes: ...

    def feed(self, data: bytes) -> tuple[list[TagRead], bytes]:
        """Tags in these bytes, and bytes to send back now (an acknowledgement or the next poll)."""
        ...

    def reset(self) -> None: ...


class _End:
    """What `ClosableQueue.close` puts behind the last item."""


class ClosableQueue(Generic[T]):
    """Items a reader thread hands to the caller, in order, ended by `close()`.

    A caller iterating `items()` must neither hang on a reader that has been stopped nor need to know how many
    items are left, so the end is an item of its own rather than a flag checked between waits.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[T | _End] = queue.Queue()

    def put(self, item: T) -> None:
        self._queue.put(item)

    def close(self) -> None:
        self._queue.put(_End())

    def items(self, timeout: float | None = None) -> Iterator[T]:
        """Items as they arrive, until `close()` or `timeout` seconds of nothing."""
        while True:
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                return
            if isinstance(item, _End):
                return
            yield item


class RfidStream(Running):
    """Reads a reader continuously on a thread: every tag becomes a `Read`, unplugging becomes a status.

    On (re)connect `setup` (power, region: a module forgets them when its power is cut) and the protocol's start
    command are sent; after `restart_after` seconds without a byte the start command alone is sent again, which
    is how a polled reader keeps polling and a streaming one resumes after a power blip.
    Reads and statuses go to the callbacks, or — with no callbacks — to `reads()`.
    """

    def __init__(
        self,
        url: str,
        protocol: StreamProtocol,
        *,
        device: str | None = None,
        baudrate: int = 115200,
        on_read: Callable[[Read], None] | None = None,
        on_status: Callable[[DeviceStatus], None] | None = None,
        clock: Clock = utc_now,
        opener: Callable[[], Transport] | None = None,
        setup: bytes = b"",
    ) -> None:
        self.device = device or url
        self.protocol = protocol
        self.setup = setup
        self._clock = clock
        self._queue: ClosableQueue[Read | DeviceStatus] = ClosableQueue()
        self._on_read = on_read or self._queue.put
        self._on_status = on_status or self._queue.put
        self._quiet_since = time.monotonic()
        self._lock = threading.Lock()
        self.tags_seen = 0
        self._reader = ReconnectingReader(
            opener or (lambda: open_transport(url, baudrate=baudrate, timeout=0.02)),
            self._data,
            device=self.device,
            on_status=self._status,
            on_connect=self._connected,
        )

    def _connected(self, port: Transport) -> None:
        self.protocol.reset()
        port.write(self.setup + self.protocol.start())
        self._quiet_since = time.monotonic()

    def _status(self, status: DeviceStatus) -> None:
        self._on_status(status)

    def _data(self, data: bytes, now: float) -> None:
        if not data:
            if now - self._quiet_since >= self.protocol.restart_after:
                self._quiet_since = now
                self._reader.write(self.protocol.start())
            return
        self._quiet_since = now
        with self._lock:
            tags, reply = self.protocol.feed(data)
        if reply:
            self._reader.write(reply)
        if tags:
            at = self._clock()
            for tag in tags:
                self.tags_seen += 1
                self._on_read(tag.to_read(self.device, at))

    def start(self) -> Self:
        self._reader.start()
        return self

    def wait_connected(self, timeout: float = 2.0) -> bool:
        return self._reader.wait_connected(timeout)

    def stop(self) -> None:
        self._reader.write(self.protocol.stop())
        self._reader.stop()
        self._queue.close()

    def reads(self, timeout: float | None = None) -> Iterator[Read | DeviceStatus]:
        """Reads and status changes in arrival order, until `stop()` or `timeout` seconds of nothing."""
        return self._queue.items(timeout)
