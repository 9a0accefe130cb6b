"""Chafon readers of both families: the UHFReader288 answer layout (antenna bits, count, EPC length, EPC, RSSI) and
its inventory command, the protocol chosen by configuration or detected from the reader-information answer, and
both spoken by the byte-exact emulator over a pty, polled as a counter pad is."""

from __future__ import annotations

import queue
import time

import pytest

from drivers.device_config import ConfigError
from drivers.emulators.rfid_chafon import ChafonEmulator
from drivers.emulators.rfid_population import EmulatedTag, TagPopulation
from drivers.reads import DeviceStatus, Read
from drivers.rfid import chafon
from drivers.rfid.base import FrameError
from drivers.rfid.chafon import ChafonPolling, ChafonReader
from drivers.rfid.crc import crc16_mcrf4xx
from drivers.scanners.config import open_live, parse_device

EPC = "3034257BF7194E4000000001"


def _with_crc(hex_body: str) -> bytes:
    """A frame written out byte by byte from the UHFReader288 manual's layout, its CRC appended low byte first."""
    body = bytes.fromhex(hex_body)
    crc = crc16_mcrf4xx(body)
    return body + bytes((crc & 0xFF, crc >> 8))


# Len 0x15, address 0, answer to 0x01, status 0x03 (more data follows), antenna bits 0x04 (antenna 3), one tag:
# EPC length 12, the EPC, RSSI byte 0x6B.
ANSWER_288 = _with_crc("15 00 01 03 04 01 0C 3034257BF7194E4000000001 6B")
# The same reader with nothing in the field: status 0x01, antenna 1, no tags.
EMPTY_288 = _with_crc("07 00 01 01 01 00")


def test_a_uhfreader288_answer_decodes_with_its_antenna_and_is_refused_as_a_uhfreader18_one() -> None:
    frames, rest, bad = chafon.split_responses(ANSWER_288 + EMPTY_288)
    assert (rest, bad, len(frames)) == (b"", 0, 2)
    (tag,) = chafon.parse_tags(frames[0], chafon.UHFREADER288)
    assert (tag.epc, tag.antenna, tag.rssi) == (EPC, 3, None)
    assert chafon.parse_tags(frames[1], chafon.UHFREADER288) == []
    with pytest.raises(FrameError):  # what main did with every 288 answer: a growing rejection count, no read
        chafon.parse_tags(frames[0])
    assert chafon.decode_288(ANSWER_288)[0] == [tag]


def test_uhfreader288_tag_lists_round_trip_and_malformed_ones_are_refused() -> None:
    epcs = [bytes.fromhex(EPC), bytes(range(12)), bytes(range(8))]
    data = chafon.encode_tag_list_288([(e, 0x50 + i) for i, e in enumerate(epcs)], antenna=2)
    frame = chafon.split_responses(chafon.encode_response(1, 1, data))[0][0]
    tags = chafon.parse_tags(frame, chafon.UHFREADER288)
    assert [(t.epc, t.antenna) for t in tags] == [(e.hex().upper(), 2) for e in epcs]
    for broken in (data[:-1], data + b"\x00", b"\x03" + data[1:], data[:1]):
        bad = chafon.split_responses(chafon.encode_response(1, 1, broken))[0][0]
        with pytest.raises(FrameError):
            chafon.parse_tags(bad, chafon.UHFREADER288)


def test_the_uhfreader288_inventory_command_carries_q_session_mask_target_antenna_and_scan_time() -> None:
    cmd = chafon.inventory_288(q=4, session=0, antenna=1, scan_time_100ms=10)
    assert cmd == _with_crc("0D 00 01 04 00 01 0000 00 00 80 0A")
    assert chafon.inventory() == _with_crc("04 00 01")
    for bad in ({"q": 16}, {"session": 4}, {"antenna": 5}, {"scan_time_100ms": 2}):
        with pytest.raises(ValueError):
            chafon.inventory_288(**bad)  # type: ignore[arg-type]


def test_the_protocol_is_told_by_the_length_of_the_reader_information() -> None:
    assert chafon.protocol_from_info(bytes(8)) == chafon.UHFREADER18
    assert chafon.protocol_from_info(bytes(12)) == chafon.UHFREADER288
    assert chafon.protocol_from_info(bytes(9)) is None


def _population() -> TagPopulation:
    population = TagPopulation.shelf(40, seed=3)
    for tag in population.tags:
        object.__setattr__(tag, "read_probability", 1.0)
    return population


@pytest.mark.parametrize("protocol", chafon.PROTOCOLS)
def test_a_reader_of_either_family_is_detected_and_inventoried_over_a_pty(protocol: str) -> None:
    population = _population()
    with ChafonEmulator(population, protocol=protocol) as emulator, ChafonReader(emulator.path) as reader:
        tags = reader.inventory()  # asks the reader's information first
        assert reader.protocol == protocol
        assert {t.epc for t in tags} == {t.epc for t in population.tags} and len(tags) == 40
        assert all(t.antenna == 1 for t in tags) and reader.rejected == 0
        info = reader.reader_info()
        assert info.protocol == protocol and info.power_dbm == 30
        assert (info.antennas == 1) == (protocol == chafon.UHFREADER288)
        sent = {chafon.split_commands(raw)[0][0].data for raw in emulator.commands if raw[2] == chafon.CMD_INVENTORY}
        assert sent == ({bytes.fromhex("04 00 01 0000 00 00 80 0A")} if protocol == chafon.UHFREADER288 else {b""})


def test_a_configured_protocol_is_used_without_asking() -> None:
    population = _population()
    with ChafonEmulator(population, protocol="uhfreader288") as emulator:
        with ChafonReader(emulator.path, protocol="uhfreader288") as reader:
            assert len(reader.inventory()) == 40
        assert all(raw[2] != chafon.CMD_READER_INFO for raw in emulator.commands)
    with pytest.raises(ValueError, match="uhfreader18, uhfreader288 or auto"):
        ChafonPolling(protocol="uhf288")


def _reads(events: queue.Queue[Read | DeviceStatus], want: int, seconds: float) -> list[Read]:
    out: list[Read] = []
    deadline = time.monotonic() + seconds
    while len(out) < want and (left := deadline - time.monotonic()) > 0:
        try:
            event = events.get(timeout=left)
        except queue.Empty:
            break
        if isinstance(event, Read):
            out.append(event)
    return out


@pytest.mark.parametrize(
    ("protocol", "configured"),
    [
        ("uhfreader288", None),
        ("uhfreader288", "uhfreader288"),
        ("uhfreader18", None),
        ("uhfreader18", "auto"),
    ],
)
def test_a_counter_pad_of_either_family_reads_a_laid_carrier(protocol: str, configured: str | None) -> None:
    population = TagPopulation()
    events: queue.Queue[Read | DeviceStatus] = queue.Queue()
    entry: dict[str, object] = {"kind": "chafon", "url": "", "power": 18}
    if configured:
        entry["protocol"] = configured
    with ChafonEmulator(population, protocol=protocol) as emulator:
        entry["url"] = emulator.path
        with open_live(parse_device("pad", entry), events.put, presence=True):
            time.sleep(0.3)
            assert emulator.inventories >= 1  # polling an empty pad, in the reader's own protocol
            population.add(EmulatedTag(EPC, {1: -42.0}, 1.0))
            reads = _reads(events, 1, 3.0)
        assert emulator.power_dbm == 18
    assert [r.code for r in reads] == [EPC]


def test_a_wrong_protocol_in_the_configuration_is_named() -> None:
    with pytest.raises(ConfigError, match="uhfreader18, uhfreader288 or auto"):
        parse_device("pad", {"kind": "chafon", "url": "/x", "protocol": "uhfreader86"})
    with pytest.raises(ConfigError, match="unknown key"):
        parse_device("m", {"kind": "magicrf", "url": "/x", "protocol": "uhfreader288"})
