"""A live RFID pass: a MagicRF M100 reader (byte-exact emulator on a pty) bound to a shelf feeds the stock-take."""

from __future__ import annotations

from drivers.emulators.rfid_magicrf import MagicRfEmulator
from drivers.emulators.rfid_population import EmulatedTag, TagPopulation
from drivers.rfid.magicrf import MagicRfReader
from tests.stocktake.conftest import S1, build_world
from tracker import stocktake as st
from tracker.store import Store


def test_live_reader_pass_bound_to_a_shelf(sqlite_store: Store) -> None:
    w = build_world(sqlite_store)
    sid = w.start()
    st.bind(w.store.uow(), w.sig["clerk"], sid, "pad-1", "pass-1", S1)
    population = TagPopulation()
    population.add(EmulatedTag(w.epc("a1"), {1: -44.0}, 1.0))
    population.add(EmulatedTag(w.epc("b1"), {1: -47.0}, 1.0))  # registered on S2, lying on S1
    live = st.LiveIngest(w.store, w.sig["clerk"], sid, "pad-1", "pass-1", flush_every=10)
    with MagicRfEmulator(population) as emulator, MagicRfReader(emulator.path, device="pad-1") as reader:
        for read in reader.reads(rounds=6):
            live.add(read)
    live.flush()
    got = w.reconcile(sid)
    assert w.c("a1") in got["found"]
    assert got["misplaced"] == {w.c("b1")}
    views = {f.subject: f for f in w.findings(sid)}
    assert views[w.c("b1")].method == "rfid" and views[w.c("b1")].reads >= 6
    assert views[w.c("b1")].seen == S1
