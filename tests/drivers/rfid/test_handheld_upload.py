"""A stock-take run against the emulated TSL handheld, ending in the upload rows and CSV a stock-take ingests."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers.emulators.rfid_population import TagPopulation
from drivers.emulators.rfid_tsl import TslEmulator
from drivers.rfid.base import RfidError
from drivers.rfid.tsl import TslHandheld
from drivers.rfid.upload import CSV_FIELDS, UploadError, read_csv, rows, to_csv, write_csv

AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def test_stocktake_run_from_trigger_pulls_to_csv(tmp_path: Path) -> None:
    population = TagPopulation.shelf(80, seed=21, crc_error_rate=0.05)
    with (
        TslEmulator(population) as emulator,
        TslHandheld(emulator.path, device="tsl-1153-07", clock=lambda: AT, batch_prefix="ST42") as handheld,
    ):
        asked = handheld.inventory()
        emulator.pull_trigger()
        emulator.pull_trigger()
        pulled = list(handheld.batches(duration=3.0, on_batch=None))
        while len(pulled) < 2:
            pytest.fail("the two trigger pulls did not arrive")
        with pytest.raises(RfidError, match="error 001"):
            handheld.inventory(".xx")
    batches = [asked, *pulled]
    assert [b.batch for b in batches] == ["ST42-0001", "ST42-0002", "ST42-0003"]
    assert [b.triggered for b in batches] == [False, True, True]
    assert emulator.corrupted > 0 and sum(b.rejected for b in batches) == emulator.corrupted
    known = {t.epc for t in population.tags}
    upload = list(rows(batches))
    assert {r.epc for r in upload} <= known
    assert len({r.key for r in upload}) == len(upload) == sum(len(b.reads) for b in batches)
    assert all(r.rssi is not None and r.antenna == 1 for r in upload)

    path = tmp_path / "upload.csv"
    assert write_csv(upload, path) == len(upload)
    assert path.read_text().splitlines()[0] == ",".join(CSV_FIELDS)
    back = read_csv(path)
    assert back == upload
    assert back[0].to_read().code == upload[0].epc


def test_upload_csv_refuses_bad_lines_whole() -> None:
    good = to_csv(rows([]))
    assert good == ",".join(CSV_FIELDS) + "\n"
    cases = {
        "device,batch,seq,epc\n": "line 1: header",
        good + "h1,b1,1,30ZZ,-50,1,2025-03-01T09:30:00Z\n": "line 2: EPC",
        good + "h1,b1,1,3034,-50,1,2025-03-01T09:30:00\n": "no time zone",
        good + "h1,b1,0,3034,-50,1,2025-03-01T09:30:00Z\n": "seq starts at 1",
        good + "h1,b1,1,3034,x,1,2025-03-01T09:30:00Z\n": "line 2",
        good + "h1,b1,1,3034,,,2025-03-01T09:30:00Z\n" + "h1,b1,1,3035,,,2025-03-01T09:30:00Z\n": "appears twice",
    }
    for text, message in cases.items():
        with pytest.raises(UploadError, match=message):
            read_csv(io.StringIO(text))
    [row] = read_csv(io.StringIO(good + "h1,b1,1,3034,,,2025-03-01T09:30:00+08:00\n"))
    assert row.at == datetime(2025, 3, 1, 1, 30, tzinfo=UTC) and row.rssi is None and row.antenna is None
