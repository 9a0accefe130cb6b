"""The text policy at entry (issue 16) on both databases: control characters and over-long values are refused by the
domain with the same bilingual error on SQLite and PostgreSQL, naming the field (and the CSV line), before anything
is written. Before it, SQLite stored 500-character document numbers and 100 KB titles while PostgreSQL raised
DataError."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tracker.demo import place
from tracker.domain import DomainError
from tracker.schema import Carrier, Event, Location, Person
from tracker.services import approvals, incidents, personnel, registry
from tracker.services.common import Signed
from tracker.store import Store

SHELF = place("BJ", "R2C1S1")


def _counts(store: Store) -> tuple[int, int, int, int]:
    with store.uow(readonly=True) as uow:
        return tuple(int(uow.session.execute(select(func.count()).select_from(t)).scalar_one())  # type: ignore[return-value]
                     for t in (Carrier, Event, Location, Person))


def _internal(**kw: object) -> registry.CarrierInput:
    return registry.CarrierInput(location=SHELF, classification="internal", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("field", "value", "said"), [
    ("title", "a\x1b]0;pwned\x07b", "\\x1b"),
    ("doc_number", "A\"\r\nPRINT 99", "\\x0d"),
    ("issuer", "x\x00y", "\\x00"),
    ("title", "csi\x9b2J", "\\x9b"),
])
def test_a_control_character_is_refused_naming_the_field(store: Store, people: dict[str, Signed], field: str,
                                                         value: str, said: str) -> None:
    before = _counts(store)
    with pytest.raises(DomainError) as err:
        registry.register(store.uow(), people["clerk"], _internal(**{field: value}))
    assert field in err.value.en and said in err.value.en and "control character" in err.value.en
    assert field in err.value.zh and "控制字符" in err.value.zh
    assert _counts(store) == before


@pytest.mark.parametrize(("field", "length", "most"), [("doc_number", 101, 100), ("doc_number", 500, 100),
                                                        ("title", 100_000, 500), ("issuer", 201, 200)])
def test_lengths_are_the_domain_s_the_same_on_both_databases(store: Store, people: dict[str, Signed], field: str,
                                                             length: int, most: int) -> None:
    before = _counts(store)
    with pytest.raises(DomainError) as err:
        registry.register(store.uow(), people["clerk"], _internal(**{field: "文" * length}))
    assert f"{field} is {length} characters long; at most {most}" in err.value.en
    assert f"最多 {most} 个" in err.value.zh
    assert _counts(store) == before


def test_the_longest_allowed_values_are_stored_whole(store: Store, people: dict[str, Signed]) -> None:
    code = registry.register(store.uow(), people["clerk"], _internal(title="题" * 500, doc_number="号" * 100))
    with store.uow(readonly=True) as uow:
        c = uow.session.execute(select(Carrier).where(Carrier.code == code)).unique().scalar_one()
        assert (len(c.title), len(c.doc_number or "")) == (500, 100)


def test_a_number_no_column_holds_is_refused(store: Store, people: dict[str, Signed]) -> None:
    before = _counts(store)
    with pytest.raises(DomainError) as err:
        registry.register(store.uow(), people["clerk"], _internal(pages=99999999999999999999999))
    assert "R-16: The pages must be 1 to 100000" in err.value.en  # the entry rule's bound, before any column's
    assert _counts(store) == before


def test_import_names_the_line_and_writes_nothing(store: Store, people: dict[str, Signed]) -> None:
    before = _counts(store)
    text = f"classification,location,title\ninternal,{SHELF},fine\ninternal,{SHELF},bad\x1b[2J\n"
    with pytest.raises(DomainError) as err:
        registry.import_csv(store.uow(), people["clerk"], text)
    assert err.value.en.startswith("line 3: title contains the control character \\x1b")
    assert err.value.zh.startswith("第 3 行：标题（title）第 4 个字符是控制字符 \\x1b")
    assert _counts(store) == before


def test_import_of_a_huge_number_names_the_row(store: Store, people: dict[str, Signed]) -> None:
    text = f"classification,location,pages\ninternal,{SHELF},99999999999999999999999\n"
    with pytest.raises(DomainError) as err:
        registry.import_csv(store.uow(), people["clerk"], text)
    assert err.value.en.startswith("R-16: row 2: The pages must be 1 to 100000")


def test_import_decodes_gb18030_like_uploads(store: Store, people: dict[str, Signed]) -> None:
    text = f"classification,location,title\ninternal,{SHELF},关于保密工作的通知\n"
    [code] = registry.import_csv(store.uow(), people["clerk"], text.encode("gb18030"))
    with store.uow(readonly=True) as uow:
        assert uow.session.execute(select(Carrier.title).where(Carrier.code == code)).scalar_one() == \
            "关于保密工作的通知"


def test_places_people_and_notes_take_the_same_policy(store: Store, people: dict[str, Signed]) -> None:
    before = _counts(store)
    with pytest.raises(DomainError, match="name contains the control character"):
        registry.add_location(store.uow(), people["admin"], "BJ-X1", "safe\x1b[31m", "safe", "secret")
    with pytest.raises(DomainError, match="name is 201 characters long"):
        personnel.add_person(store.uow(), people["admin"], "P9999", "名" * 201, "办公室", "none", [], None)
    with pytest.raises(DomainError, match="note contains the control character"):
        approvals.request(store.uow(), people["clerk"], "copy", [], store.clock(), note="\x07")
    code = registry.register(store.uow(), people["clerk"], _internal())
    with pytest.raises(DomainError, match="reason contains the control character"):
        registry.move(store.uow(), people["clerk"], code, SHELF, reason="\x1b]52;c;AAAA\x07")
    with pytest.raises(DomainError, match="note is 2001 characters long"):
        incidents.report_missing(store.uow(), people["officer"], code, note="x" * 2001)
    after = _counts(store)
    assert after[2:] == before[2:] and after[0] == before[0] + 1


def test_stock_takes_carry_outs_and_copies_take_the_same_policy(store: Store, people: dict[str, Signed]) -> None:
    from tracker import stocktake
    from tracker.services import circulation

    before = _counts(store)
    with pytest.raises(DomainError, match="name contains the control character"):
        stocktake.start(store.uow(), people["officer"], "Q4\x1b[2J", [place("BJ", "R2C1")],
                        [people["officer"], people["clerk"]])
    code = registry.register(store.uow(), people["clerk"], _internal())
    with pytest.raises(DomainError, match="destination contains the control character"):
        circulation.carry_out(store.uow(), people["clerk"], code, people["reader_core"], store.clock(), None,
                              destination="x\x07")
    with pytest.raises(DomainError, match="unit contains the control character"):
        registry.copy(store.uow(), people["clerk"], code, 1, None, copying_unit="\x9b")
    assert _counts(store)[1] == before[1] + 1  # the registration only
