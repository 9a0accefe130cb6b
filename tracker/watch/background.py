"""The thread every watcher and door line runs on: started once, stopped by an event its loop checks, joined with a
bound so a wedged device never holds the program's exit. It owns only the thread; what the loop does is the
subclass's `_run`, which must return soon after `_stop` is set."""

from __future__ import annotations

import threading
from typing import Self


class Background:
    join_timeout = 3.0

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def thread_name(self) -> str:
        raise NotImplementedError

    def _run(self) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.join_timeout)
