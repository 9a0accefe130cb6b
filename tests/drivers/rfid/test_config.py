"""RFID readers in the [devices] table: per-kind keys and defaults, mistakes named at load time, and a configured
reader opened live against the byte-exact emulators (set-up commands sent, a tag on a pad read once)."""

from __future__ import annotations

import queue
import time
from pathlib import Path

import pytest

from drivers.device_config import ConfigError
from drivers.emulators.rfid_chafon import ChafonEmulator
from drivers.emulators.rfid_magicrf import MagicRfEmulator
from drivers.emulators.rfid_population import EmulatedTag, TagPopulation
from drivers.emulators.rfid_tsl import TslEmulator
from drivers.reads import DeviceState, DeviceStatus, Read, ReadKind
from drivers.rfid.config import llrp_available
from drivers.scanners.config import load_devices, open_live, parse_device

EPC = "3034257BF7194E4000000001"
EPC2 = "3034257BF7194E4000000002"

EXAMPLE = """
[devices.pad]
kind = "chafon"
url = "/dev/ttyUSB1"
power = 20
rssi_threshold = -65
antenna_rssi = { "2" = -60.0 }

[devices.module]
kind = "magicrf"
by_id = "FTDI_FT232R_A10K"
region = "EU"
power = 22.5
dup_window = 0.5

[devices.mercury]
kind = "thingmagic"
url = "/dev/ttyACM0"
region = 8

[devices.handheld]
kind = "tsl"
url = "/dev/rfcomm0"
"""


def test_rfid_example_loads_with_per_kind_defaults(tmp_path: Path) -> None:
    path = tmp_path / "tracker.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    devices = {d.name: d for d in load_devices(path)}
    pad = devices["pad"]
    assert (pad.kind, pad.baudrate, pad.power, pad.rssi_threshold, pad.dup_window) == ("chafon", 57600, 20, -65, 2.0)
    assert pad.antenna_rssi == ((2, -60.0),) and pad.is_rfid
    module = devices["module"]
    assert (module.baudrate, module.region, module.power, module.dup_window) == (115200, "EU", 22.5, 0.5)
    assert devices["mercury"].region == "8"
    assert devices["handheld"].baudrate == 115200


@pytest.mark.parametrize(("entry", "message"), [
    ({"kind": "chafon", "url": "/x", "region": "EU"}, "unknown key(s) region for a chafon device"),
    ({"kind": "serial", "url": "/x", "power": 20}, "unknown key(s) power for a serial device"),
    ({"kind": "tsl", "url": "/x", "power": 20}, "unknown key(s) power"),
    ({"kind": "magicrf", "url": "/x", "region": "MARS"}, "unknown region 'MARS'"),
    ({"kind": "magicrf", "url": "/x", "power": 40}, "0..33 dBm"),
    ({"kind": "chafon", "url": "/x", "power": 20.5}, "whole dBm"),
    ({"kind": "thingmagic"}, "needs url"),
    ({"kind": "chafon", "url": "/x", "antenna_rssi": {"one": -60}}, "antenna_rssi maps antenna numbers"),
    ({"kind": "magicrf", "url": "/x", "rssi_threshold": "low"}, "rssi_threshold must be int or float"),
    ({"kind": "magicrf", "url": "/x", "powr": 20}, "unknown key(s) powr"),
])
def test_rfid_mistakes_are_named(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match="device 'r'") as info:
        parse_device("r", entry)
    assert message in str(info.value)


def test_llrp_needs_the_optional_extra() -> None:
    entry = {"kind": "llrp", "url": "10.0.0.5", "antennas": [1, 2], "power": 27}
    if llrp_available():
        assert parse_device("gate", entry).antennas == (1, 2)
    else:
        with pytest.raises(ConfigError, match="sllurp"):
            parse_device("gate", entry)


def _reads(events: queue.Queue[Read | DeviceStatus], seconds: float) -> list[Read]:
    out: list[Read] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = events.get(timeout=left)
        except queue.Empty:
            break
        if isinstance(event, Read):
            out.append(event)
    return out


def test_chafon_pad_reports_a_lying_tag_once() -> None:
    population = TagPopulation([EmulatedTag(EPC, {1: -40.0}, 1.0)])
    events: queue.Queue[Read | DeviceStatus] = queue.Queue()
    with ChafonEmulator(population) as emulator:
        config = parse_device("pad", {"kind": "chafon", "url": emulator.path, "power": 18})
        with open_live(config, events.put, presence=True):
            reads = _reads(events, 1.0)
            assert emulator.inventories > 3  # polled round after round …
            assert emulator.power_dbm == 18  # … after the power was set
    assert [(r.code, r.kind, r.device) for r in reads] == [(EPC, ReadKind.EPC, "pad")]  # … yet one read


def test_magicrf_stream_sets_region_and_power_and_applies_the_floor() -> None:
    population = TagPopulation([EmulatedTag(EPC, {1: -40.0}, 1.0), EmulatedTag(EPC2, {1: -80.0}, 1.0)],
                               noise_db=0.0)
    events: queue.Queue[Read | DeviceStatus] = queue.Queue()
    with MagicRfEmulator(population) as emulator:
        config = parse_device("m", {"kind": "magicrf", "url": emulator.path, "region": "US", "power": 20,
                                    "rssi_threshold": -60})
        with open_live(config, events.put):
            reads = _reads(events, 0.6)
        assert (emulator.region, emulator.power_dbm) == (0x02, 20.0)
    assert len(reads) > 3 and {r.code for r in reads} == {EPC}  # every read of the near tag, none of the far one


def test_tsl_trigger_pull_is_a_batch_of_reads() -> None:
    population = TagPopulation([EmulatedTag(EPC, {1: -50.0}, 1.0)])
    events: queue.Queue[Read | DeviceStatus] = queue.Queue()
    with TslEmulator(population) as emulator:
        config = parse_device("hh", {"kind": "tsl", "url": emulator.path})
        with open_live(config, events.put):
            time.sleep(0.2)
            emulator.pull_trigger()
            reads = _reads(events, 0.5)
    assert [r.code for r in reads] == [EPC]


def test_missing_reader_reports_its_state_and_keeps_trying(tmp_path: Path) -> None:
    events: queue.Queue[Read | DeviceStatus] = queue.Queue()
    config = parse_device("gone", {"kind": "chafon", "url": str(tmp_path / "ttyUSB9")})
    with open_live(config, events.put):
        first = events.get(timeout=2.0)
    assert isinstance(first, DeviceStatus) and first.state in (DeviceState.RECONNECTING, DeviceState.DISCONNECTED)


@pytest.mark.skipif(not llrp_available(), reason="the optional llrp extra (sllurp) is not installed")
def test_llrp_reader_in_the_config_streams_reads() -> None:
    from drivers.emulators.rfid_llrp import LlrpReaderEmulator

    population = TagPopulation([EmulatedTag(EPC, {1: -45.0}, 1.0)])
    events: queue.Queue[Read | DeviceStatus] = queue.Queue()
    with LlrpReaderEmulator(population, antennas=2) as emulator:
        config = parse_device("gate", {"kind": "llrp", "url": f"127.0.0.1:{emulator.port}", "antennas": [1]})
        with open_live(config, events.put):
            first = _reads(events, 1.5)
    assert first and {(r.code, r.kind, r.device, r.antenna) for r in first} == {(EPC, ReadKind.EPC, "gate", 1)}
    assert "ADD_ROSPEC" in emulator.received and "ENABLE_ROSPEC" in emulator.received
