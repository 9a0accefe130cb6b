"""A tag under another organisation's GS1 company prefix is an unknown tag at the counter, on SQLite and PostgreSQL,
however much its asset number looks like one of our carriers: in look-up it is a red card saying so, and in a
check-out it lends nothing. The same carrier's tag under the register's own prefix is that carrier. (The handover
screen, the stock-take and `tracker label` are tested beside their own code: tests/tui/test_handover_tags.py,
tests/stocktake/test_foreign_tags.py, tests/labels/test_cli_label.py.)"""

from __future__ import annotations

from tests_support import count_events

from labels.codes import carrier_code_to_epc
from tracker import queries
from tracker.demo import badge, place
from tracker.schema import CompanyPrefix
from tracker.services import registry
from tracker.services.common import Signed
from tracker.store import Store
from tui.desk import Desk, Mode, Scan, SetMode, SignParty

OURS, FOREIGN = "6901234", "6999999"
SHELF = place("BJ", "R2C1S1")


def _register_with_prefix(store: Store) -> None:
    """The register's own prefix, as `tracker init` records it (the seeded people came first in this fixture)."""
    with store.uow() as uow:
        uow.session.add(CompanyPrefix(prefix=OURS, added_at=uow.now()))
        uow.commit()


def test_a_foreign_prefix_tag_is_an_unknown_tag_at_the_counter(store: Store, people: dict[str, Signed]) -> None:
    _register_with_prefix(store)
    code = registry.import_rows(store.uow(), people["clerk"], [registry.CarrierInput(
        location=SHELF, classification="internal", title="内部通知")])[0]
    foreign, ours = carrier_code_to_epc(code, FOREIGN), carrier_code_to_epc(code, OURS)
    desk = Desk(store, lambda: people["clerk"])
    desk.run(SetMode(Mode.LOOKUP))
    (card,) = desk.run(Scan(1, foreign))
    assert card.tone == "error" and card.carrier is None
    assert f"Unknown tag {foreign}" in card.title and "not a carrier of this register" in card.title
    (card,) = desk.run(Scan(2, ours.lower()))
    assert card.carrier is not None and card.carrier.code == code

    desk.run(SetMode(Mode.CHECK_OUT))
    before = count_events(store)
    out = desk.run(Scan(3, badge("reader_important"))) + desk.run(SignParty("482916", row=3))
    out += desk.run(Scan(4, foreign))
    assert out[-1].tone == "error" and "Unknown tag" in out[-1].title
    assert count_events(store) == before
    with store.uow(readonly=True) as uow:
        view = queries.carrier(uow, code)
    assert view is not None and view.status == "in_store" and view.holder is None
    out = desk.run(Scan(5, ours))  # the carrier's own tag lends it
    assert out[-1].tone == "ok" and out[-1].carrier is not None and out[-1].carrier.holder == badge("reader_important")
