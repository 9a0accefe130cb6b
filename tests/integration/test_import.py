"""CSV import on a real database (SQLite and PostgreSQL): what lands per row, and that every bad row is named even
though rows of an already-accepted shape are checked by look-up (issue 2)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from labels.codes import make_carrier_code
from tracker.demo import place
from tracker.ledger import verify
from tracker.schema import Carrier, Event, Location
from tracker.services import registry
from tracker.services.common import NotFound, Refused, Signed
from tracker.store import Store

SHELF = place("BJ", "R2C1S1")  # stores up to secret
SAFE = place("BJ", "R1SAFE1")  # stores up to top secret


def _csv(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def _count(store: Store) -> int:
    with store.uow(readonly=True) as uow:
        return int(uow.session.execute(select(func.count(Carrier.id))).scalar_one())


def test_each_row_of_a_refused_shape_is_named_with_its_own_code(store: Store, people: dict[str, Signed]) -> None:
    text = _csv("classification,period,scope,location,title",
                f"confidential,10y,法规处,{SHELF},fine",
                f"confidential,,法规处,{SHELF},no period",
                f"confidential,10y,法规处,{SHELF},fine again",
                f"confidential,,法规处,{SHELF},no period again")
    with pytest.raises(Refused) as err:
        registry.import_csv(store.uow(), people["clerk"], text)
    r02 = [v for v in err.value.violations if v.rule == "R-02"]
    assert [v.en.split(":")[0] for v in r02] == ["row 3", "row 5"]
    assert all("row" in v.zh and "保密期限" in v.zh for v in r02)
    assert r02[0].en.split(": ")[1] != r02[1].en.split(": ")[1]  # each names its own carrier code
    assert _count(store) == 0


def test_same_shape_into_a_weaker_place_is_refused_there_only(store: Store, people: dict[str, Signed]) -> None:
    text = _csv("classification,period,scope,location,copy_number,copy_total",
                f"top_secret,30y,法规处,{SAFE},1,1",
                f"top_secret,30y,法规处,{SHELF},1,1")
    with pytest.raises(Refused) as err:
        registry.import_csv(store.uow(), people["clerk"], text)
    assert [(v.rule, v.en.split(":")[0]) for v in err.value.violations] == [("R-47", "row 3")]


def test_rows_land_with_their_checked_columns_and_one_event_each(store: Store, people: dict[str, Signed]) -> None:
    text = _csv("classification,kind,period,scope,location,title,doc_number,copy_number,copy_total,epc,"
                "highest_level_held",
                f"secret,usb_drive,10y,技术处;法规处,{SHELF},盘,BJ密〔2026〕1号,1,1,e2801160,confidential",
                f"internal,paper,,,{SHELF},通知,,,,,")
    codes = registry.import_csv(store.uow(), people["clerk"], text)
    with store.uow(readonly=True) as uow:
        c = uow.session.execute(select(Carrier).where(Carrier.code == codes[0])).scalar_one()
        shelf_id = uow.session.execute(select(Location.id).where(Location.code == SHELF)).scalar_one()
        assert (c.kind, c.classification, c.highest_level_held, c.period, c.scope, c.epc, c.doc_number,
                c.location_id, c.status) == ("usb_drive", "secret", "secret", "10y", "技术处;法规处",
                                             "E2801160", "BJ密〔2026〕1号", shelf_id, "in_store")
        assert c.registered_at == c.updated_at == store.clock()
        events = uow.session.execute(select(Event).where(Event.carrier.in_(codes)).order_by(Event.seq)).scalars()
        got = [(e.carrier, e.type, e.to_location, json.loads(e.payload)) for e in events]
    assert got == [
        (codes[0], "registered", SHELF, {"classification": "secret", "kind": "usb_drive", "period": "10y",
                                         "scope": "技术处;法规处", "copy": [1, 1],
                                         "doc_number": "BJ密〔2026〕1号"}),
        (codes[1], "registered", SHELF, {"classification": "internal", "kind": "paper", "period": None,
                                         "scope": None, "copy": [None, None], "doc_number": None}),
    ]
    with store.engine.connect() as conn:
        assert verify(conn).ok


def test_csv_rows_are_counted_as_records_and_cells_read_by_header(store: Store, people: dict[str, Signed]) -> None:
    """Blank lines are skipped and not counted; header names are trimmed; a short row's missing cells are blank."""
    text = _csv(" classification , location ,title",
                f"internal,{SHELF},one",
                "",
                f" internal , {SHELF} , two ",
                "internal")
    with pytest.raises(NotFound) as err:  # an unknown place is not found (exit 4), naming its row
        registry.import_csv(store.uow(), people["clerk"], text)
    assert err.value.en.startswith("R-17: row 4:") and "\n" not in err.value.en
    codes = registry.import_csv(store.uow(), people["clerk"], text.rsplit("internal\n", 1)[0])
    with store.uow(readonly=True) as uow:
        titles = uow.session.execute(select(Carrier.title).where(Carrier.code.in_(codes)).order_by(Carrier.id))
        assert list(titles.scalars()) == ["one", "two"]


def test_typed_codes_and_tags_already_registered_are_refused(store: Store, people: dict[str, Signed]) -> None:
    first = registry.import_csv(store.uow(), people["clerk"], _csv("classification,location,epc",
                                                                    f"internal,{SHELF},AA01"))
    after = make_carrier_code("BJ", int(first[0][3:-1]) + 1)  # the serial the next generated code will take
    text = _csv("code,classification,location,epc",
                f"{first[0]},internal,{SHELF},",
                f",internal,{SHELF},aa01",
                f",internal,{SHELF},",
                f"{after},internal,{SHELF},")
    with pytest.raises(Refused) as err:
        registry.import_csv(store.uow(), people["clerk"], text)
    found = sorted((v.rule, v.en.split(":")[0]) for v in err.value.violations)
    assert found == sorted([("R-18", "row 5"),
                            ("R-18", f"{first[0]} is already registered; codes and tags are unique."),
                            ("R-18", "AA01 is already registered; codes and tags are unique.")])
    assert _count(store) == 1
