"""The [devices] schema: valid files load, mistakes are named, drivers are built without opening anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.device_config import ConfigError
from drivers.scanners.camera import CameraScanner
from drivers.scanners.config import config_path, load_devices, open_device, parse_device
from drivers.scanners.honeywell import HoneywellScanner
from drivers.scanners.serial_line import LineScanner
from drivers.scanners.ssi import SsiScanner

EXAMPLE = """
[devices.counter-1]
kind = "serial"
by_id = "Honeywell_1900_17304B4E2D"
terminator = "crlf"
prefix = "\\u0002"
suffix = "\\u0003"
dup_window = 0.5

[devices.dock]
kind = "ssi"
url = "/dev/ttyUSB0"
baudrate = 38400

[devices.hw]
kind = "honeywell"
url = "socket://127.0.0.1:9"
ack = true

[devices.desk-camera]
kind = "camera"
url = 0
formats = ["DataMatrix", "QRCode"]

[devices.keyboard]
kind = "wedge"
gap_ms = 25
layout = "de"
"""


def test_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "tracker.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    devices = {d.name: d for d in load_devices(path)}
    counter = devices["counter-1"]
    assert (counter.kind, counter.terminator, counter.dup_window) == ("serial", "crlf", 0.5)
    settings = counter.line_settings()
    assert (settings.prefix, settings.suffix) == (b"\x02", b"\x03")
    assert counter.where.endswith("*Honeywell_1900_17304B4E2D*")
    assert devices["dock"].baudrate == 38400
    assert devices["desk-camera"].url == "0" and devices["desk-camera"].dup_window == 2.0
    assert devices["desk-camera"].formats == ("DataMatrix", "QRCode")
    wedge = devices["keyboard"].wedge_detector()
    assert wedge.gap == 0.025 and wedge.layout is not None


def test_drivers_are_built_not_opened(tmp_path: Path) -> None:
    path = tmp_path / "tracker.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    devices = {d.name: d for d in load_devices(path)}
    assert type(open_device(devices["counter-1"])) is LineScanner
    assert type(open_device(devices["dock"])) is SsiScanner
    honeywell = open_device(devices["hw"])
    assert type(honeywell) is HoneywellScanner and honeywell.ack_mode
    assert type(open_device(devices["desk-camera"])) is CameraScanner
    with pytest.raises(ConfigError, match="keyboard wedge"):
        open_device(devices["keyboard"])


def test_missing_file_means_no_devices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_devices(tmp_path / "absent.toml") == []
    monkeypatch.setenv("TRACKER_CONFIG", str(tmp_path / "from-env.toml"))
    assert config_path() == tmp_path / "from-env.toml"
    monkeypatch.delenv("TRACKER_CONFIG")
    assert config_path() == Path("tracker.toml")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"kind": "laser"}, "kind must be one of"),
        ({"kind": "serial"}, "needs url"),
        ({"kind": "serial", "url": "/dev/ttyACM0", "baud": 9600}, "unknown key"),
        ({"kind": "serial", "url": "/dev/ttyACM0", "baudrate": "9600"}, "baudrate must be int"),
        ({"kind": "serial", "url": "/dev/ttyACM0", "dup_window": True}, "dup_window must be"),
        ({"kind": "serial", "url": "/dev/ttyACM0", "terminator": "etx"}, "terminator must be one of"),
        ({"kind": "serial", "url": "/dev/ttyACM0", "suffix": "\r"}, "contains the terminator"),
        ({"kind": "serial", "url": "/dev/ttyACM0", "encoding": "klingon"}, "klingon"),
        ({"kind": "serial", "url": "/dev/ttyACM0", "dup_window": -1}, "must not be negative"),
        ({"kind": "camera"}, "a camera needs url"),
        ({"kind": "camera", "url": "0", "formats": ["MaxiCode"]}, "unknown barcode format"),
        ({"kind": "camera", "url": "0", "formats": []}, "non-empty list"),
        ({"kind": "camera", "url": "0", "backend": "opencv"}, "backend must be"),
        ({"kind": "wedge", "layout": "xx"}, "layout must be one of"),
        ({"kind": "wedge", "gap_ms": 0}, "must be positive"),
        ({"kind": "honeywell", "url": "/dev/ttyACM0", "ack": 1}, "ack must be bool"),
        ("serial", "must be a table"),
    ],
)
def test_mistakes_are_named(entry: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_device("counter-1", entry, source="tracker.toml")
    assert "tracker.toml: device 'counter-1'" in str(info.value)


def test_broken_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "tracker.toml"
    path.write_text("[devices.a\nkind=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_devices(path)
    path.write_text("devices = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a table"):
        load_devices(path)
