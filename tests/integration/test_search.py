"""The register search (`queries.find`, `carrier find` and the counter's F9) on both databases (issue 22).

It reads an index made for substring search (migration 0011: FTS5 trigram on SQLite, pg_trgm on PostgreSQL) that
triggers keep in step with the carriers in the same transaction; these tests prove the answers, their ranking and
that a change made by any writer (here plain SQL, as a database client would) is found at once.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import text, update
from tests_support import approve

from tracker import queries
from tracker.demo import place
from tracker.schema import Carrier
from tracker.services import circulation, registry
from tracker.services.common import Signed
from tracker.store import Store

SHELF = place("BJ", "R2C1S1")
_DOCS = itertools.count(1)


def register(store: Store, clerk: Signed, title: str, doc_number: str | None = None) -> str:
    data = registry.CarrierInput(location=SHELF, classification="internal", title=title,
                                 doc_number=doc_number or f"BJ〔2026〕{next(_DOCS)}号")
    return registry.register(store.uow(), clerk, data)


def find(store: Store, what: str, limit: int = 50) -> list[str]:
    with store.uow(readonly=True) as uow:
        return [v.code for v in queries.find(uow, what, limit)]


def test_ranks_exact_code_then_prefix_then_document_then_title(store: Store, people: dict[str, Signed]) -> None:
    clerk = people["clerk"]
    minutes = register(store, clerk, "季度会议纪要")
    by_doc = register(store, clerk, "其他文件", doc_number="纪要〔2026〕1号")
    digest = register(store, clerk, "纪要汇编")
    assert find(store, "会议纪要") == [minutes]
    assert find(store, "纪要")[:3] == [by_doc, minutes, digest]  # the document number ranks first
    assert find(store, "纪")[:3] == [by_doc, minutes, digest]  # one character: no trigram, same answer
    assert find(store, digest)[0] == digest  # the exact code first
    assert find(store, digest.lower())[0] == digest  # typed in lower case
    assert find(store, digest[:-1])[0] == digest  # without its check character
    prefix = find(store, digest[:5], limit=500)
    assert prefix == sorted(prefix) and {minutes, by_doc, digest} <= set(prefix)  # code prefixes: by code
    assert find(store, "纪要", limit=2) == [by_doc, minutes]


def test_latin_text_is_found_whatever_its_case_and_wildcards_are_literal(store: Store,
                                                                         people: dict[str, Signed]) -> None:
    budget = register(store, people["clerk"], "Annual Budget 2027")
    odd = register(store, people["clerk"], "rate 5%_of total")
    assert find(store, "budget") == [budget]
    assert find(store, "BUDGET 20") == [budget]
    assert find(store, "5%_") == [odd]
    assert find(store, "%") == [odd]  # before: every carrier (a LIKE wildcard)
    assert find(store, "_o") == [odd]
    assert find(store, "no such title anywhere") == []


def test_a_change_by_any_writer_is_found_in_the_same_transaction(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"], "旧的标题文字", doc_number="BJ〔2026〕旧号")
    with store.uow() as uow:
        uow.session.execute(text("UPDATE carriers SET title = '新的标题文字', doc_number = 'BJ〔2026〕新号' "
                                 "WHERE code = :code"), {"code": code})
        assert [v.code for v in queries.find(uow, "新的标题")] == [code]  # before the commit, in it
        uow.commit()
    assert find(store, "新的标题") == [code]
    assert find(store, "旧的标题") == []
    assert find(store, "〔2026〕新号") == [code]
    assert find(store, "〔2026〕旧号") == []


def test_holders_and_places_are_searched(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"], "放在书架上的文件")
    with store.uow(readonly=True) as uow:
        shelf = uow.session.execute(text("SELECT name FROM locations WHERE code = :c"), {"c": SHELF}).scalar_one()
    assert code in find(store, shelf, limit=10_000)
    assert code in find(store, SHELF, limit=10_000)


def test_short_search_follows_renames_and_not_custody(store: Store, people: dict[str, Signed]) -> None:
    """The unigrams and bigrams of a carrier (PostgreSQL: `carrier_grams`, kept by triggers since migration 0021;
    SQLite: its FTS5 table) follow a new title, and a check-out and check-in leave them as they were."""
    code = registry.import_rows(store.uow(), people["clerk"], [registry.CarrierInput(
        location=place("BJ", "R2C1S1"), classification="internal", period="10y", scope="法规处",
        title="鬣狗档案")])[0]
    with store.uow(readonly=True) as uow:
        assert code in [v.code for v in queries.find(uow, "鬣狗")]
    with store.uow() as uow:
        uow.session.execute(update(Carrier).where(Carrier.code == code).values(title="麒麟档案"))
        uow.commit()
    with store.uow(readonly=True) as uow:
        assert code not in [v.code for v in queries.find(uow, "鬣狗")]
        assert code in [v.code for v in queries.find(uow, "麒麟")]
        assert code in [v.code for v in queries.find(uow, "麟")]
    with store.engine.begin() as conn:  # a custody change: the grams stay as they were
        conn.execute(update(Carrier).where(Carrier.code == code).values(status="missing"))
    with store.uow(readonly=True) as uow:
        assert code in [v.code for v in queries.find(uow, "麒麟")]


def test_a_deleted_carrier_leaves_no_grams(store: Store, people: dict[str, Signed]) -> None:
    """A carrier's row deleted (a registration undone by hand, say) takes its grams with it: the grams table itself
    holds nothing for it afterwards (the search joins carriers, so it alone could not tell)."""
    code = registry.import_rows(store.uow(), people["clerk"], [registry.CarrierInput(
        location=place("BJ", "R2C1S1"), classification="internal", period="10y", scope="法规处",
        title="貔貅档案")])[0]
    held = ("SELECT count(*) FROM carrier_grams WHERE grams @> ARRAY['貔']" if store.dialect == "postgresql"
            else "SELECT count(*) FROM carrier_grams WHERE carrier_grams MATCH '\"貔\"'")
    with store.engine.begin() as conn:
        assert conn.execute(text(held)).scalar_one() == 1
        conn.execute(text("DELETE FROM carriers WHERE code = :c"), {"c": code})
        assert conn.execute(text(held)).scalar_one() == 0
        if store.dialect == "postgresql":  # nor its texts' copy (migration 0022)
            assert conn.execute(text("SELECT count(*) FROM carrier_texts WHERE title = '貔貅档案'")).scalar_one() == 0


def test_a_check_out_and_check_in_leave_the_searched_texts_alone(store: Store, people: dict[str, Signed]) -> None:
    """PostgreSQL writes an entry into every index of a row it updates unless no indexed column changed, and custody
    columns are indexed: the trigram index therefore lives on `carrier_texts` (migration 0022), whose row (and the
    grams' row) a custody change must not touch — only a new title does. SQLite's FTS5 tables are kept the same
    way by their triggers."""
    if store.dialect != "postgresql":
        pytest.skip("row versions (xmin) are PostgreSQL's")
    with store.engine.connect() as conn:  # no index of carriers is a GIN index a custody update would feed
        assert conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'carriers' "
                                 "AND indexdef LIKE '%USING gin%'")).all() == []
    code = register(store, people["clerk"], "不动的标题")
    version = text("SELECT t.xmin::text || g.xmin::text FROM carrier_texts t JOIN carrier_grams g ON g.id = t.id "
                   "JOIN carriers c ON c.id = t.id WHERE c.code = :c")
    with store.engine.connect() as conn:
        before = conn.execute(version, {"c": code}).scalar_one()
    grant = approve(store, people["approver"], "loan", code, grantee=people["reader_important"].badge)
    circulation.check_out(store.uow(), people["clerk"], code, people["reader_important"], approval_id=grant)
    circulation.check_in(store.uow(), people["clerk"], code)
    with store.engine.begin() as conn:
        assert conn.execute(version, {"c": code}).scalar_one() == before
        conn.execute(update(Carrier).where(Carrier.code == code).values(title="改过的标题"))
        assert conn.execute(version, {"c": code}).scalar_one() != before
    assert find(store, "改过的标") == [code]
