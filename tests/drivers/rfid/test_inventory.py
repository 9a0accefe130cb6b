"""Inventory aggregation: unit behaviour, and a 2,000-tag shelf through an emulated 4-port reader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from epcpy import hex_to_tag_encodable

from drivers.emulators.rfid_population import TagPopulation
from drivers.emulators.rfid_thingmagic import ThingMagicEmulator
from drivers.reads import Read, ReadKind
from drivers.rfid.epc import EpcPolicy, classify, encode_gs1_96
from drivers.rfid.inventory import Inventory, InventoryConfig
from drivers.rfid.thingmagic import ThingMagicReader

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
OURS = encode_gs1_96("giai-96", "6923456", 42)
OURS_2 = encode_gs1_96("giai-96", "6923456", 43)
THEIRS = encode_gs1_96("sgtin-96", "4012345", 7, filter_value=1)


def read(epc: str, seconds: float = 0, rssi: float | None = -50, antenna: int | None = 1) -> Read:
    return Read(epc, ReadKind.EPC, device="r1", at=T0 + timedelta(seconds=seconds), rssi=rssi, antenna=antenna)


def test_summary_per_epc() -> None:
    inv = Inventory()
    for r in [read(OURS, 0, -60, 1), read(OURS, 1, -45, 2), read(OURS, 3, -50, 2), read(OURS_2, 2, -70, 1)]:
        inv.add(r)
    [a, b] = inv.own()
    assert (a.epc, a.count, a.peak_rssi, a.best_antenna) == (OURS, 3, -45, 2)
    assert (a.first_seen, a.last_seen) == (T0, T0 + timedelta(seconds=3))
    assert {k: (s.count, s.peak_rssi) for k, s in a.antennas.items()} == {1: (1, -60), 2: (2, -45)}
    assert b.count == 1
    [result, _] = inv.results("stocktake")
    assert (result.code, result.kind, result.rssi, result.antenna, result.at) == (
        OURS,
        ReadKind.EPC,
        -45,
        2,
        T0,
    )


def test_dedup_window_decides_what_is_news() -> None:
    inv = Inventory(InventoryConfig(dedup_window=2.0))
    news = [inv.add(read(OURS, s)) for s in (0, 0.5, 1.9, 2.0, 2.1, 4.5)]
    assert news == [True, False, False, True, False, True]
    assert inv.tags[OURS].count == 6


def test_per_antenna_floor_drops_cross_reads() -> None:
    inv = Inventory(InventoryConfig(rssi_threshold=-70, antenna_thresholds={3: -60}))
    assert not inv.add(read(OURS, 0, -72, 1))
    assert not inv.add(read(OURS_2, 0, -65, 3))
    assert inv.add(read(OURS_2, 0, -65, 1))
    assert inv.add(read(OURS, 1, None, 1))  # a reader without RSSI is never dropped by a floor
    assert inv.reads_below_floor == 2 and inv.weak_only() == []
    inv2 = Inventory(InventoryConfig(rssi_threshold=-70))
    inv2.add(read(OURS, 0, -80))
    assert inv2.weak_only() == [OURS] and inv2.own() == []


def test_foreign_tags_are_kept_apart() -> None:
    inv = Inventory(InventoryConfig(policy=EpcPolicy.of(schemes=["giai-96"], company_prefixes=["6923456"])))
    inv.add_all([read(OURS), read(THEIRS), read("E2801160600002054C5B4E3B")])
    assert [t.epc for t in inv.own()] == [OURS]
    assert [t.epc for t in inv.foreign()] == sorted([THEIRS, "E2801160600002054C5B4E3B"])
    assert [r.code for r in inv.results()] == [OURS]


def test_missing_and_second_pass_merge() -> None:
    first = Inventory()
    first.add(read(OURS, 0, -50, 1))
    assert first.missing([OURS, OURS_2.lower()]) == {OURS_2}
    second = Inventory()
    second.add_all([read(OURS_2, 10, -66, 2), read(OURS, 11, -40, 3)])
    first.merge(second)
    assert first.missing([OURS, OURS_2]) == set()
    assert (first.tags[OURS].count, first.tags[OURS].peak_rssi, first.tags[OURS].best_antenna) == (2, -40, 3)
    assert first.tags[OURS].last_seen == T0 + timedelta(seconds=11)


def test_inventory_refuses_barcode_reads() -> None:
    with pytest.raises(ValueError, match="EPC reads"):
        Inventory().add(Read("ABC-123"))


@pytest.mark.parametrize(
    ("scheme", "prefix", "ref", "uri_part"),
    [
        ("sgtin-96", "4012345", 7, "4012345"),
        ("giai-96", "6923456", 42, "6923456"),
        ("sscc-96", "952012", 1, "952012"),
    ],
)
def test_epc_company_prefix_agrees_with_epcpy(scheme: str, prefix: str, ref: int, uri_part: str) -> None:
    epc = encode_gs1_96(scheme, prefix, ref)
    info = classify(epc)
    assert (info.scheme, info.company_prefix) == (scheme, prefix)
    decoded = hex_to_tag_encodable(epc)
    assert scheme.split("-")[0] in decoded.epc_uri and uri_part in decoded.epc_uri


def test_classify_never_fails_on_odd_input() -> None:
    assert classify("E2801160600002054C5B4E3B").scheme is None
    assert classify("XYZ").scheme is None
    assert classify("3034").company_prefix is None


# -- the shelf --
FLOOR = -68.0


def _shelf_inventory(seed: int) -> tuple[Inventory, TagPopulation, ThingMagicEmulator]:
    population = TagPopulation.shelf(2000, seed=seed, antennas=(1, 2, 3, 4), cross_read_ratio=0.05)
    with (
        ThingMagicEmulator(population, antennas=(1, 2, 3, 4), rounds=3, keepalive_interval=0.3) as emulator,
        ThingMagicReader(emulator.path) as reader,
    ):
        inventory = Inventory(InventoryConfig(rssi_threshold=FLOOR))
        # A quiet spell ends one stretch of reading; on a loaded machine the emulator may pause that long between
        # rounds, so reading goes on until it has sent all its rounds (the test must not depend on machine speed).
        for _ in range(20):
            inventory.add_all(reader.reads(duration=20.0, until_quiet=0.4))
            if emulator.rounds_done >= 3:
                break
        assert reader.keepalives >= 1
    return inventory, population, emulator


def test_two_thousand_tags_with_cross_reads() -> None:
    inventory, population, emulator = _shelf_inventory(seed=11)
    carriers = population.carriers()
    cross = [t for t in population.tags if t.cross_read]
    assert len(carriers) == 2000 and len(cross) == 100 and emulator.rounds_done == 3
    results = {r.code: r for r in inventory.results()}
    # Every carrier reported exactly once, at its strongest (home) antenna.
    assert sorted(results) == sorted(t.epc for t in carriers)
    assert all(results[t.epc].antenna == t.home_antenna for t in carriers)
    # Cross-reads from the next shelf were heard, but only below the floor: dropped.
    assert not results.keys() & {t.epc for t in cross}
    assert set(inventory.weak_only()) <= {t.epc for t in cross} and inventory.weak_only()
    assert inventory.reads_below_floor > 0

    again, _, _ = _shelf_inventory(seed=11)
    assert [(r.code, r.antenna, r.rssi) for r in again.results()] == [
        (r.code, r.antenna, r.rssi) for r in inventory.results()
    ]
