"""The newcomer's walk (docs/walk.md) runs at 80×24 in both languages and every step reaches the state its screenshot
claims: run through `tui.screenshot.walk_through`, the very code that makes docs/walk/*.svg, on a copy of the demo
register; checked on the screens (the walk waits for and verifies each) and on the register afterwards, never by
comparing pixels."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tracker import queries
from tracker import stocktake as st
from tracker.demo import badge
from tracker.store import Store
from tui.screenshot import NOW, WALK_CAPTIONS, Step, walk_through

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_the_walk_reaches_every_step(demo_template: Path, tmp_path: Path, lang: str) -> None:
    db = tmp_path / "walk.sqlite"
    shutil.copy(demo_template, db)
    db.chmod(0o600)
    steps: list[Step] = await walk_through(db, tmp_path / "walk", lang)
    suffix = "" if lang == "en" else "-zh"
    assert [s.name for s in steps] == list(WALK_CAPTIONS)
    for s in steps:
        svg = (tmp_path / "walk" / f"{s.name}{suffix}.svg").read_text(encoding="utf-8")
        assert 'viewBox="0 0' in svg and "carrier-tracker" in svg
    state = {s.name: s.state for s in steps}
    assert state["02-request"].startswith("refused R-63") and "waiting" in state["02-request"]
    number = re.search(r"#(\d+)", state["02-request"])
    assert number is not None and state["03-approve"] == f"request #{number.group(1)} granted"
    assert state["04-lend"].endswith(" ok") and state["07-check-in"] == state["04-lend"]
    assert {"R-159", "R-63", "R-67"} <= set(state["05-refuse-top-secret"].split())
    assert state["06-handover"] == "2 carriers handed over"
    assert state["08-stocktake"].endswith(": 1 missing")
    # The register says what the screens said.
    store = Store(f"sqlite:///{db}", clock=lambda: NOW)
    try:
        with store.uow(readonly=True) as uow:
            lent = queries.carrier(uow, state["04-lend"].split()[0])
            kinds = [e.type for e in queries.history(uow, state["04-lend"].split()[0])]
            courier = [v for v in queries.export_rows(uow) if v.holder == badge("courier")]
        assert lent is not None and lent.status == "in_store" and kinds[-2:] == ["checked_out", "checked_in"]
        assert len(courier) >= 2 and all(v.status == "in_transit" for v in courier)
        sid = int(state["08-stocktake"].split("#")[1].split(":")[0])
        missing = [f for f in st.findings(store.uow(readonly=True), sid) if f.kind.value == "missing"]
        assert len(missing) == 1
    finally:
        store.dispose()


def test_docs_show_every_step_in_both_languages() -> None:
    """docs/walk.md shows each step's screenshot, English and Chinese, in order, with its one line."""
    text = (DOCS / "walk.md").read_text(encoding="utf-8")
    at = -1
    for name, caption in WALK_CAPTIONS.items():
        for stem in (name, f"{name}-zh"):
            assert (DOCS / "walk" / f"{stem}.svg").is_file(), stem
            here = text.find(f"walk/{stem}.svg")
            assert here > at, f"{stem} missing or out of order in docs/walk.md"
            at = here
        assert caption in text, caption
