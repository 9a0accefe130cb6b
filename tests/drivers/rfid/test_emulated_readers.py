"""Drivers against byte-exact emulators on ptys: commands, inventories, injected CRC errors, unplugging."""

from __future__ import annotations

import time

import pytest

from drivers.emulators.rfid_chafon import ChafonEmulator
from drivers.emulators.rfid_magicrf import MagicRfEmulator
from drivers.emulators.rfid_population import EmulatedTag, TagPopulation
from drivers.emulators.rfid_thingmagic import ThingMagicEmulator
from drivers.reads import DeviceState, DeviceStatus, Read, ReadKind
from drivers.rfid import thingmagic
from drivers.rfid.base import RfidError
from drivers.rfid.chafon import ChafonPolling, ChafonReader
from drivers.rfid.magicrf import MagicRfReader, MagicRfStream
from drivers.rfid.session import RfidStream
from drivers.rfid.thingmagic import ThingMagicReader, ThingMagicStream


def epcs(population: TagPopulation) -> set[str]:
    return {t.epc for t in population.tags}


def test_magicrf_single_and_multi_poll_with_crc_errors() -> None:
    population = TagPopulation.shelf(40, seed=5, crc_error_rate=0.15)
    with MagicRfEmulator(population) as emulator, MagicRfReader(emulator.path, device="pad-1") as reader:
        tags = reader.single_poll()
        assert tags and {t.epc for t in tags} <= epcs(population)
        reads = list(reader.reads(rounds=5))
        assert emulator.corrupted > 0
        # Every corrupted frame was refused: all reads are of real tags, each a valid EPC read.
        assert {r.code for r in reads} <= epcs(population)
        assert all(r.kind is ReadKind.EPC and r.device == "pad-1" and r.antenna == 1 for r in reads)
        assert reader.rejected + reader.session.deframer.discarded > 0


def test_magicrf_no_tag_and_settings() -> None:
    with MagicRfEmulator(TagPopulation()) as emulator, MagicRfReader(emulator.path) as reader:
        assert reader.single_poll() == []
        reader.set_power(22.5)
        reader.set_region("EU")
        reader.stop()
        assert (emulator.power_dbm, emulator.region) == (22.5, 0x03)
    with pytest.raises(ValueError, match=r"0\.\.33 dBm"):
        reader.set_power(40)


def test_magicrf_tags_coming_and_going() -> None:
    population = TagPopulation.shelf(3, seed=2)
    population.tags[:] = [EmulatedTag(t.epc, t.rssi, 1.0) for t in population.tags]
    population.__post_init__()
    newcomer = EmulatedTag("E2801160600002054C5B4E3B", {1: -40.0}, 1.0)
    with MagicRfEmulator(population) as emulator, MagicRfReader(emulator.path) as reader:
        assert {t.epc for t in reader.single_poll()} == epcs(population)
        population.add(newcomer)
        population.remove(population.tags[0].epc)
        second = {t.epc for t in reader.single_poll()}
        assert newcomer.epc in second and len(second) == 3


def test_thingmagic_settings_and_refusal() -> None:
    with ThingMagicEmulator(TagPopulation()) as emulator, ThingMagicReader(emulator.path) as reader:
        reader.set_region("EU3")
        reader.set_read_power(20)
        assert (emulator.region, emulator.power_cdbm) == (0x08, 2000)
        with pytest.raises(RfidError, match=r"refused by the module \(status 0x0101\)"):
            reader.command(thingmagic.encode(0x55), "an opcode the module lacks")


def test_chafon_answer_mode_inventory_over_more_data_frames() -> None:
    population = TagPopulation.shelf(60, seed=8)
    for tag in population.tags:
        object.__setattr__(tag, "read_probability", 1.0)
    with ChafonEmulator(population) as emulator, ChafonReader(emulator.path, device="counter") as reader:
        info = reader.reader_info()
        assert info.power_dbm == 30
        reader.set_power(18)
        assert emulator.power_dbm == 18
        tags = reader.inventory()
        assert {t.epc for t in tags} == epcs(population) and len(tags) == 60  # 4 frames of up to 16 tags
        with pytest.raises(ValueError):
            reader.set_power(31)


def collect(stream: RfidStream, until: float, want: int) -> list[Read | DeviceStatus]:
    items: list[Read | DeviceStatus] = []
    deadline = time.monotonic() + until
    for item in stream.reads(timeout=0.2):
        items.append(item)
        if sum(isinstance(i, Read) for i in items) >= want or time.monotonic() > deadline:
            break
    return items


def test_counter_pad_reads_a_laid_carrier_without_trigger() -> None:
    population = TagPopulation()
    with ChafonEmulator(population) as emulator:
        stream = RfidStream(emulator.path, ChafonPolling(), device="counter-pad", baudrate=57600).start()
        try:
            assert stream.wait_connected(2.0)
            time.sleep(0.2)
            assert emulator.inventories >= 1  # polling with nothing on the pad
            carrier = EmulatedTag("3414E6A00000000000F4241A", {1: -42.0}, 1.0)
            population.add(carrier)
            reads = [i for i in collect(stream, 3.0, 1) if isinstance(i, Read)]
            assert reads and reads[0].code == carrier.epc and reads[0].device == "counter-pad"
        finally:
            stream.stop()


def test_chafon_active_mode_frames_are_read() -> None:
    population = TagPopulation.shelf(4, seed=1)
    with ChafonEmulator(population, active=True) as emulator:
        stream = RfidStream(emulator.path, ChafonPolling(restart_after=60), device="pad").start()
        try:
            reads = [i for i in collect(stream, 3.0, 4) if isinstance(i, Read)]
            assert {r.code for r in reads} <= epcs(population) and reads
        finally:
            stream.stop()


@pytest.mark.parametrize("kind", ["magicrf", "thingmagic"])
def test_stream_survives_unplugging(kind: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    population = TagPopulation.shelf(5, seed=4)
    link = tmp_path / "by-id" / f"usb-{kind}"
    emulator = (
        MagicRfEmulator(population, link=link)
        if kind == "magicrf"
        else ThingMagicEmulator(population, link=link, keepalive_interval=0.2)
    )
    protocol = MagicRfStream(rounds=3, restart_after=0.3) if kind == "magicrf" else ThingMagicStream(restart_after=1)
    with emulator:
        stream = RfidStream(str(link), protocol, device=kind).start()
        try:
            first = [i for i in collect(stream, 3.0, 3) if isinstance(i, Read)]
            assert first
            emulator.replug(gap=0.1)
            items = collect(stream, 5.0, 3)
            states = [i.state for i in items if isinstance(i, DeviceStatus)]
            assert DeviceState.DISCONNECTED in states or DeviceState.RECONNECTING in states
            assert DeviceState.CONNECTED in states
            after = [i for i in items if isinstance(i, Read)]
            assert after and {r.code for r in after} <= epcs(population)
        finally:
            stream.stop()
