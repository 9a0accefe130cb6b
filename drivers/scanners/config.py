"""Device configuration: the `[devices]` table of tracker.toml, checked, and opened as drivers.

Standalone, the file is the one named by the environment variable TRACKER_CONFIG, else `./tracker.toml`; the
register's commands pass the file their settings were read from (tracker.config also looks in the user config
directory), so the devices and the rest of the settings always come from the same file. Each device is a
sub-table of `[devices]`; its key is the device's name (shown at the counter and stored with every read)::

    [devices.counter-1]                  # a USB scanner in serial (CDC) mode, found again by serial number
    kind = "serial"                      # serial | ssi | honeywell | camera | wedge | RFID kinds below
    by_id = "Honeywell_1900_17304B4E2D"  # part of its /dev/serial/by-id name (survives re-plugging)
    terminator = "cr"                    # cr | lf | crlf | tab | none (none: a scan ends after idle_ms silence)
    dup_window = 1.0                     # seconds: the same code again within this is one read

    [devices.rs232-dock]
    kind = "ssi"                         # Zebra SSI: the host ACKs decodes and can trigger/beep
    url = "/dev/ttyUSB0"                 # a device path or pyserial URL (socket://host:port, rfc2217://…)
    baudrate = 9600

    [devices.desk-camera]
    kind = "camera"
    url = "0"                            # camera index, /dev/video*, rtsp:// URL or a video file
    formats = ["DataMatrix", "QRCode", "Code128"]
    backend = "zxing"                    # zxing | zbar (zbar needs libzbar0 and pyzbar; it reads no Data Matrix)

    [devices.keyboard]
    kind = "wedge"                       # read by the counter screen from key presses; nothing to open here
    gap_ms = 30                          # keys closer than this, ended by Enter, are a scan
    layout = "de"                        # optional: undo a German/French keyboard layout garbling the scanner

    [devices.pad]
    kind = "chafon"                      # magicrf | thingmagic | chafon | tsl | llrp (llrp needs sllurp)
    url = "/dev/ttyUSB1"
    power = 20                           # dBm, sent after every (re)connect
    rssi_threshold = -65.0               # dBm: weaker reads are cross-reads from a neighbouring shelf
    antenna_rssi = { "2" = -60.0 }       # per-antenna floors
    dup_window = 2.0                     # a tag lying on the pad is one read until unseen this long

Scanner keys: `kind` (required); `url` or `by_id` (serial kinds, one required; `by_id_dir` defaults to
/dev/serial/by-id); `baudrate` (9600); `terminator` ("cr"); `prefix`, `suffix` ("" — TOML escapes such as
"\\u0002" give control characters); `idle_ms` (50, for terminator "none"); `encoding` ("utf-8", or "gbk");
`dup_window` (seconds; 1.0, cameras 2.0); `formats`, `backend`, `fps` (cameras); `gap_ms`, `min_length`,
`layout` (wedge); `ack` (honeywell: true when the scanner is set to ACK/NAK mode, 232ACK1).

RFID keys: `url` or `by_id` (as above; llrp: `host` or `host:port`); `baudrate` (chafon 57600, others 115200);
`dup_window` (2.0); `rssi_threshold` and `antenna_rssi` (floors, dBm); `power` (dBm: magicrf, thingmagic,
chafon, llrp); `region` (magicrf, thingmagic: a name such as "EU" or the firmware's number); `address`
(chafon, 0); `protocol` (chafon: "uhfreader18", "uhfreader288" or "auto", the default, which asks the reader);
`antennas` (llrp, [1]). A key the kind does not take is an error like an unknown key, so a typo
or a setting the reader would ignore never silently falls back to a default.

This module owns that schema and building drivers from it (RFID specifics: `drivers.rfid.config`; the
`DeviceConfig` record and `ConfigError` both use: `drivers.device_config`). It must
never open a device while loading (listing the configuration works with every device unplugged) and never
import `tracker`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivers.device_config import RFID_KINDS, ConfigError, DeviceConfig
from drivers.rfid.config import DEFAULT_BAUDRATE, DEFAULT_DUP_WINDOW, KIND_KEYS, LiveDevice
from drivers.rfid.config import check as check_rfid
from drivers.scanners.base import EventSink
from drivers.scanners.formats import format_key
from drivers.scanners.framing import TERMINATORS
from drivers.scanners.wedge import LAYOUTS

if TYPE_CHECKING:  # the drivers (and OpenCV behind the camera) load only when a device is opened
    from drivers.scanners.camera import CameraScanner
    from drivers.scanners.honeywell import HoneywellScanner
    from drivers.scanners.serial_line import LineScanner
    from drivers.scanners.ssi import SsiScanner

SCANNER_KINDS = ("serial", "ssi", "honeywell", "camera", "wedge")
KINDS = (*SCANNER_KINDS, *RFID_KINDS)
SERIAL_KINDS = ("serial", "ssi", "honeywell")
ENV_VAR = "TRACKER_CONFIG"
DEFAULT_PATH = Path("tracker.toml")


_TYPES: dict[str, type | tuple[type, ...]] = {
    "kind": str, "url": (str, int), "by_id": str, "by_id_dir": str, "baudrate": int, "terminator": str,
    "prefix": str, "suffix": str, "idle_ms": int, "encoding": str, "dup_window": (int, float), "formats": list,
    "backend": str, "fps": (int, float), "gap_ms": int, "min_length": int, "layout": str, "ack": bool,
    "power": (int, float), "region": (str, int), "rssi_threshold": (int, float), "antenna_rssi": dict,
    "address": int, "antennas": list, "protocol": str,
}
SCANNER_KEYS = frozenset(_TYPES) - {
    "power", "region", "rssi_threshold", "antenna_rssi", "address", "antennas", "protocol"
}


def config_path(path: Path | str | None = None) -> Path:
    return Path(path) if path else Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)


def load_devices(path: Path | str | None = None) -> list[DeviceConfig]:
    """The configured devices; an absent file means no devices (not an error), a broken one is a
    ConfigError.
    """
    file = config_path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
    devices = data.get("devices", {})
    if not isinstance(devices, dict):
        raise ConfigError(f"{file}: [devices] must be a table of named devices, e.g. [devices.counter-1]")
    return parse_devices(devices, source=str(file))


def parse_devices(table: Mapping[str, Any], *, source: str = "config") -> list[DeviceConfig]:
    return [parse_device(name, entry, source=source) for name, entry in table.items()]


def parse_device(name: str, entry: Any, *, source: str = "config") -> DeviceConfig:
    where = f"{source}: device {name!r}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be a table ([devices.{name}])")
    kind = entry.get("kind")
    known = KIND_KEYS.get(kind, SCANNER_KEYS) if isinstance(kind, str) else SCANNER_KEYS
    unknown = sorted(set(entry) - known)
    if unknown:
        what = f"a {kind} device" if kind in KINDS else "a device"
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} for {what}; known: "
                          f"{', '.join(sorted(known))}")
    for key, value in entry.items():
        expected = _TYPES[key]
        if (isinstance(value, bool) and expected is not bool) or not isinstance(value, expected):
            names = " or ".join(t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,)))
            raise ConfigError(f"{where}: {key} must be {names}, not {type(value).__name__} {value!r}")
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    values: dict[str, Any] = {k: v for k, v in entry.items() if k not in ("formats", "antenna_rssi", "antennas")}
    values["url"] = str(entry.get("url", ""))
    if "dup_window" not in entry and kind == "camera":
        values["dup_window"] = 2.0
    if kind in RFID_KINDS:
        values.update(_rfid_values(entry, where))
    if "formats" in entry:
        if not entry["formats"] or not all(isinstance(f, str) for f in entry["formats"]):
            raise ConfigError(f"{where}: formats must be a non-empty list of names, e.g. [\"DataMatrix\"]")
        values["formats"] = tuple(entry["formats"])
    config = DeviceConfig(name=name, **values)
    _check(config, where)
    return config


def _rfid_values(entry: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The RFID keys whose TOML shape differs from the stored one (tables and lists become tuples)."""
    kind = entry["kind"]
    values: dict[str, Any] = {}
    if "baudrate" not in entry and kind in DEFAULT_BAUDRATE:
        values["baudrate"] = DEFAULT_BAUDRATE[kind]
    if "dup_window" not in entry:
        values["dup_window"] = DEFAULT_DUP_WINDOW
    if "region" in entry:
        values["region"] = str(entry["region"])
    floors: list[tuple[int, float]] = []
    for antenna, floor in entry.get("antenna_rssi", {}).items():
        if not str(antenna).isdigit() or isinstance(floor, bool) or not isinstance(floor, int | float):
            raise ConfigError(f"{where}: antenna_rssi maps antenna numbers to dBm, e.g. {{ \"1\" = -60.0 }}")
        floors.append((int(antenna), float(floor)))
    values["antenna_rssi"] = tuple(sorted(floors))
    if "antennas" in entry:
        antennas = entry["antennas"]
        if not antennas or not all(isinstance(a, int) and not isinstance(a, bool) for a in antennas):
            raise ConfigError(f"{where}: antennas must be a non-empty list of antenna numbers, e.g. [1, 2]")
        values["antennas"] = tuple(antennas)
    return values


def _check(c: DeviceConfig, where: str) -> None:
    if c.is_rfid:
        if c.baudrate <= 0 or c.dup_window < 0:
            raise ConfigError(f"{where}: baudrate must be positive and dup_window not negative")
        try:
            check_rfid(c)
        except (ValueError, LookupError) as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        return
    if c.kind in SERIAL_KINDS and not (c.url or c.by_id):
        raise ConfigError(f"{where}: a {c.kind} device needs url (e.g. /dev/ttyACM0) or by_id (serial number)")
    if c.kind == "camera" and not c.url:
        raise ConfigError(f"{where}: a camera needs url (a camera index such as \"0\", /dev/video0 or a URL)")
    if c.terminator not in TERMINATORS:
        raise ConfigError(f"{where}: terminator must be one of {', '.join(TERMINATORS)}")
    if c.baudrate <= 0 or c.idle_ms <= 0 or c.gap_ms <= 0 or c.fps <= 0 or c.min_length < 1:
        raise ConfigError(f"{where}: baudrate, idle_ms, gap_ms, fps and min_length must be positive")
    if c.dup_window < 0:
        raise ConfigError(f"{where}: dup_window must not be negative")
    if c.layout and c.layout not in LAYOUTS:
        raise ConfigError(f"{where}: layout must be one of {', '.join(sorted(LAYOUTS))}")
    if c.backend not in ("zxing", "zbar"):
        raise ConfigError(f"{where}: backend must be zxing or zbar")
    try:
        for f in c.formats:
            format_key(f)
        if c.kind in SERIAL_KINDS:
            c.line_settings()
    except (ValueError, LookupError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def open_device(
    config: DeviceConfig, on_event: EventSink | None = None
) -> LineScanner | SsiScanner | HoneywellScanner | CameraScanner:
    """Build (not start) the driver for a configured device. Wedge devices are read by the counter screen."""
    from drivers.scanners.camera import CameraScanner, make_decoder
    from drivers.scanners.honeywell import HoneywellScanner
    from drivers.scanners.serial_line import LineScanner
    from drivers.scanners.ssi import SsiScanner

    serial_args: dict[str, Any] = {
        "baudrate": config.baudrate, "by_id": config.by_id, "by_id_dir": config.by_id_dir,
        "dup_window": config.dup_window, "on_event": on_event,
    }
    if config.kind == "serial":
        return LineScanner(config.name, config.url, settings=config.line_settings(), **serial_args)
    if config.kind == "honeywell":
        return HoneywellScanner(
            config.name, config.url, settings=config.line_settings(), ack_mode=config.ack, **serial_args
        )
    if config.kind == "ssi":
        return SsiScanner(config.name, config.url, **serial_args)
    if config.kind == "camera":
        decoder = make_decoder(config.backend, config.formats)
        return CameraScanner(
            config.name, config.url, decoder=decoder, dup_window=config.dup_window, on_event=on_event,
            fps=config.fps,
        )
    if config.is_rfid:
        raise ConfigError(f"device {config.name!r} is an RFID reader: open it with open_live")
    raise ConfigError(f"device {config.name!r} is a keyboard wedge: the counter screen reads it from key presses")


def open_live(config: DeviceConfig, on_event: EventSink, *, presence: bool = False) -> LiveDevice:
    """Build (not start) any configured device that reads on its own — scanner, camera or RFID reader — with
    its reads and statuses going to `on_event` from the device's thread. `presence` is for a counter pad: a tag
    lying on it is one read until it has been away for `dup_window` seconds (scanners always work that way)."""
    if config.is_rfid:
        from drivers.rfid.config import open_reader

        return open_reader(config, on_event, presence=presence)
    return open_device(config, on_event)
