"""Where an alarm goes besides the register: a command the site provides, and a serial line to a light or buzzer.

A gate's alarm must sound even when the database is slow, so the watcher fires outputs first and records after.
An output never raises into the watcher (a broken buzzer must not stop the gate from recording) and never blocks it:
the command runs detached and is reaped later, the serial line is written with a short timeout. What is sent is
plain ASCII built from the register's own codes; nothing a tag carries reaches a shell (the command gets arguments
and environment variables, never a command line to parse). This module never touches the register.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import serial

log = logging.getLogger(__name__)
_SAFE = re.compile(r"[^A-Za-z0-9_.:-]")


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm as the outputs see it: `place` is the gate or cabinet, `what` the carrier code (or the EPC of a tag
    that is no carrier), `kind` gate_alarm or cabinet_alarm. No incident number: outputs fire before it exists."""

    place: str
    what: str
    kind: str
    rule: str

    def line(self) -> bytes:
        fields = (self.kind.upper(), self.place, self.what, self.rule)
        return (" ".join(_SAFE.sub("_", f)[:64] for f in fields) + "\r\n").encode("ascii")


class Output(Protocol):
    def fire(self, alarm: Alarm) -> None: ...

    def close(self) -> None: ...


class CommandHook:
    """Runs `argv` with the alarm in TRACKER_ALARM_* variables (and its line as the last argument)."""

    def __init__(self, argv: Sequence[str]) -> None:
        if not argv:
            raise ValueError("an alarm command needs at least the program to run")
        self.argv = list(argv)
        self._running: list[subprocess.Popen[bytes]] = []

    def fire(self, alarm: Alarm) -> None:
        self._running = [p for p in self._running if p.poll() is None]
        env = dict(os.environ, TRACKER_ALARM_KIND=alarm.kind, TRACKER_ALARM_PLACE=alarm.place,
                   TRACKER_ALARM_WHAT=alarm.what, TRACKER_ALARM_RULE=alarm.rule)
        try:
            self._running.append(subprocess.Popen([*self.argv, alarm.line().decode().strip()], env=env,
                                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                  stderr=subprocess.DEVNULL))
        except OSError as exc:
            log.error("alarm command %s failed: %s", self.argv[0], exc)

    def close(self) -> None:
        for p in self._running:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                log.error("alarm command %s still running at shutdown", self.argv[0])


class SerialLine:
    """Writes one line per alarm to a serial port (pyserial URL: /dev/ttyUSB0, a pty, rfc2217://…), the wiring of
    a stack light or buzzer controller. The port is opened on first use and reopened after an error."""

    def __init__(self, url: str, baudrate: int = 9600) -> None:
        self.url = url
        self.baudrate = baudrate
        self._port: serial.SerialBase | None = None
        self._lock = threading.Lock()
        self.sent = 0

    def fire(self, alarm: Alarm) -> None:
        with self._lock:
            try:
                if self._port is None:
                    self._port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0.2,
                                                       write_timeout=0.5)
                self._port.write(alarm.line())
                self._port.flush()
                self.sent += 1
            except (serial.SerialException, OSError) as exc:
                log.error("alarm line %s failed: %s", self.url, exc)
                self._drop()

    def _drop(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except (serial.SerialException, OSError):
                pass
            self._port = None

    def close(self) -> None:
        with self._lock:
            self._drop()


class Outputs:
    """Every configured output, fired in turn; a failing one is logged and the others still fire."""

    def __init__(self, outputs: Sequence[Output] = ()) -> None:
        self.outputs = list(outputs)

    def fire(self, alarm: Alarm) -> None:
        for o in self.outputs:
            try:
                o.fire(alarm)
            except Exception:  # an output must never stop the watcher from recording the alarm
                log.exception("alarm output %r failed", o)

    def close(self) -> None:
        for o in self.outputs:
            o.close()
