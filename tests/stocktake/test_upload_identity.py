"""End to end on SQLite and PostgreSQL: a scan list uploaded, then the same list re-saved (CRLF line ends, one
more blank line) and uploaded again, stores nothing the second time and leaves every carrier's read count as it was.

The batch id of an unnamed list is `drivers.scanners.batch.content_batch_id` (its reads, not its bytes), in
`parse_upload`'s plain-list and CSV branches alike.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.stocktake.conftest import S1, World
from tracker import stocktake as st


@pytest.mark.parametrize("kind", ["plain", "csv"])
def test_a_resaved_upload_is_recognised_as_already_stored(world: World, kind: str) -> None:
    sid = world.start()
    scans = [S1, world.c("a1"), world.c("a2"), world.c("b1")]
    lines = scans if kind == "plain" else ["device,code", *(f"HH1,{c}" for c in scans)]
    first = st.parse_upload("".join(line + "\n" for line in lines), device="HH1")
    added = st.ingest(world.store.uow(), world.sig["clerk"], sid, first.reads)
    assert (added.added, added.duplicates) == (4, 0)
    counted = _reads_per_code(world, sid)
    assert counted[world.c("a1")] == 1
    resaved = "\r\n".join(lines) + "\r\n\r\n"
    with_spaces = "\ufeff" + "\n\n".join(line + "  " for line in lines) + "\n \n"
    for body in (resaved.encode(), with_spaces.encode()):
        again = st.parse_upload(body, device="HH1")
        result = st.ingest(world.store.uow(), world.sig["clerk"], sid, again.reads)
        assert (result.added, result.duplicates) == (0, 4)
        assert _reads_per_code(world, sid) == counted


def _reads_per_code(world: World, sid: int) -> dict[str, int]:
    with world.store.engine.connect() as conn:
        rows = conn.execute(text("SELECT code, COUNT(*) FROM stocktake_reads WHERE session_id = :s GROUP BY code"),
                            {"s": sid}).all()
    return {code: n for code, n in rows}
