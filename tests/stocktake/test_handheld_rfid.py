"""A stock-take run against the emulated TSL handheld (issue 7 → issue 6): the handheld's inventory, exported as the
upload CSV, bound to the shelf it was read at, ingested and reconciled."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from drivers.emulators.rfid_population import EmulatedTag, TagPopulation
from drivers.emulators.rfid_tsl import TslEmulator
from drivers.rfid.tsl import TslHandheld
from drivers.rfid.upload import rows, write_csv
from tests.stocktake.conftest import S1, build_world
from tracker import stocktake as st
from tracker.store import Store

AT = datetime(2026, 11, 25, 2, 30, tzinfo=UTC)


def test_handheld_inventory_upload_feeds_the_stock_take(sqlite_store: Store, tmp_path: Path) -> None:
    w = build_world(sqlite_store)
    sid = w.start()
    population = TagPopulation()
    population.add(EmulatedTag(w.epc("a1"), {1: -44.0}, 1.0))
    population.add(EmulatedTag(w.epc("b1"), {1: -47.0}, 1.0))  # registered on S2, lying on S1
    with (
        TslEmulator(population) as emulator,
        TslHandheld(emulator.path, device="tsl-07", clock=lambda: AT, batch_prefix="Q4") as handheld,
    ):
        batch = handheld.inventory()
    path = tmp_path / "tsl-07.csv"
    write_csv(list(rows([batch])), path)

    upload = st.parse_upload(path.read_bytes(), name=path.name)
    assert upload.format == "rfid" and {r[4] for r in upload.reads} == {w.epc("a1"), w.epc("b1")}
    st.bind(w.store.uow(), w.sig["clerk"], sid, "tsl-07", batch.batch, S1)
    added = st.ingest(w.store.uow(), w.sig["clerk"], sid, upload.reads)
    again = st.ingest(w.store.uow(), w.sig["clerk"], sid, st.parse_upload(path.read_bytes()).reads)
    assert again.added == 0 and added.added == len(upload.reads)

    got = w.reconcile(sid)
    assert w.c("a1") in got["found"]
    assert got["misplaced"] == {w.c("b1")}
    views = {f.subject: f for f in w.findings(sid)}
    assert views[w.c("b1")].method == "rfid" and views[w.c("b1")].seen == S1
