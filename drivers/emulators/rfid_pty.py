"""The common body of the pty-attached RFID reader emulators: a thread that reads what the driver writes,
answers it, and pushes unsolicited frames (notifications, keep-alives) on a tick.

Byte protocols live in the device modules (`rfid_magicrf`, `rfid_thingmagic`, `rfid_chafon`, `rfid_tsl`); this
module owns only the thread, the pty (from `drivers.transport.PtyPair`) and non-blocking writes that give up
when the emulator is stopped, so a driver that stops reading can never hang a test. It must never import
`tracker` or `tui`.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Self

from drivers.emulators.rfid_population import TagPopulation
from drivers.transport import PtyPair, Running


class PtyReaderEmulator(Running):
    tick_interval = 0.01

    def __init__(self, population: TagPopulation | None = None, *, link: Path | str | None = None) -> None:
        self.population = population if population is not None else TagPopulation()
        self.pty = PtyPair(link)
        self._nonblocking()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.round = 0
        self.corrupted = 0
        self.commands: list[bytes] = []
        self.started_at = time.monotonic()

    def _nonblocking(self) -> None:
        fd = self.pty.master_fd
        if fd >= 0:
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)

    @property
    def path(self) -> str:
        return self.pty.device

    def replug(self, gap: float = 0.0) -> None:
        self.pty.replug(gap)
        self._nonblocking()
        self.reset()

    def reset(self) -> None:
        """Forget protocol state, as a module does at power-up."""

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._stop.is_set():
            fd = self.pty.master_fd
            if fd < 0:
                return
            try:
                n = os.write(fd, view)
            except BlockingIOError:
                time.sleep(0.001)
                continue
            except OSError:
                return
            view = view[n:]

    def next_round(self) -> int:
        index = self.round
        self.round += 1
        return index

    def on_bytes(self, data: bytes) -> None:
        raise NotImplementedError

    def tick(self, now: float) -> None:
        """Called every `tick_interval` seconds: emit whatever the device sends unasked."""

    def _run(self) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            data = self.pty.read(4096, timeout=self.tick_interval)
            if data:
                self.on_bytes(data)
            now = time.monotonic()
            if now >= next_tick:
                self.tick(now)
                next_tick = now + self.tick_interval

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name=f"emulator:{type(self).__name__}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        self.pty.close()
