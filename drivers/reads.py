"""The one type every driver yields, and the status every driver reports.

This module owns the boundary between hardware and the register: a scanner, a camera, a handheld batch file and an
RFID reader all end in a `Read`. It must never import `tracker` or `tui`, so the drivers stay usable on their own.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime


class ReadKind(enum.StrEnum):
    """What a read carries: a printed symbol's text, or an RFID tag's EPC (hex)."""

    BARCODE = "barcode"
    EPC = "epc"


class DeviceState(enum.StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RECONNECTING = "reconnecting"
    ERROR = "error"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Read:
    """One observation of a code by one device.

    `code` is the decoded text (barcode) or the EPC in upper-case hex (RFID). `raw` keeps the bytes as they came off the
    wire so a disputed read can be examined later. `at` is always timezone-aware UTC.
    """

    code: str
    kind: ReadKind = ReadKind.BARCODE
    symbology: str | None = None
    aim_id: str | None = None
    device: str = ""
    at: datetime = field(default_factory=_now)
    raw: bytes = b""
    rssi: float | None = None
    antenna: int | None = None


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A change in a device's connection, reported next to reads so screens can show it without polling."""

    device: str
    state: DeviceState
    detail: str = ""
    at: datetime = field(default_factory=_now)
