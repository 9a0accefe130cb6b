"""One configured device — a record of the `[devices]` table of tracker.toml — and the error a bad table raises.

`drivers.scanners.config` (the schema, the loader, opening scanners) and `drivers.rfid.config` (RFID defaults, set-up
commands, opening readers) both need this record; it lives here, below both, so neither imports the other's module
for it and there is no import cycle. It owns the record's fields and what follows from them alone (is it an RFID
reader, where it is looked for, its line framing and wedge settings); it must never read a file, open a device or
import `tracker` — the loader and the openers do that.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.scanners.formats import DEFAULT_FORMATS
from drivers.scanners.framing import LineSettings
from drivers.scanners.wedge import WedgeBurstDetector
from drivers.transport import BY_ID_DIR

RFID_KINDS = ("magicrf", "thingmagic", "chafon", "tsl", "llrp")


class ConfigError(ValueError):
    """The device configuration is wrong; the message names the file, the device and the key."""


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    name: str
    kind: str
    url: str = ""
    by_id: str = ""
    by_id_dir: str = str(BY_ID_DIR)
    baudrate: int = 9600
    terminator: str = "cr"
    prefix: str = ""
    suffix: str = ""
    idle_ms: int = 50
    encoding: str = "utf-8"
    dup_window: float = 1.0
    formats: tuple[str, ...] = DEFAULT_FORMATS
    backend: str = "zxing"
    fps: float = 10.0
    gap_ms: int = 30
    min_length: int = 4
    layout: str = ""
    ack: bool = False
    power: float | None = None
    region: str = ""
    rssi_threshold: float | None = None
    antenna_rssi: tuple[tuple[int, float], ...] = ()
    address: int = 0
    protocol: str = ""
    antennas: tuple[int, ...] = (1,)

    @property
    def is_rfid(self) -> bool:
        return self.kind in RFID_KINDS

    @property
    def where(self) -> str:
        """Where the device is looked for, for listings."""
        if self.kind == "wedge":
            return "keyboard"
        if self.by_id:
            return f"{self.by_id_dir}/*{self.by_id}*"
        return self.url

    def line_settings(self) -> LineSettings:
        return LineSettings(
            terminator=self.terminator,
            prefix=self.prefix.encode(self.encoding),
            suffix=self.suffix.encode(self.encoding),
            idle_timeout=self.idle_ms / 1000,
            encoding=self.encoding,
        )

    def wedge_detector(self) -> WedgeBurstDetector:
        return WedgeBurstDetector(
            gap=self.gap_ms / 1000, min_length=self.min_length, prefix=self.prefix, suffix=self.suffix,
            layout=self.layout or None,
        )
