"""`queries.find` for texts shaped as a carrier code or its beginning (issue 22): on PostgreSQL such a text skips the
window of the first carriers, and the code column is looked up in pg_trgm's index from the hyphen on (the site's
trigrams are in nearly every code) with the whole text rechecked. These tests prove that gives exactly what a
brute-force substring match gives, ranked as documented: the text found in a code after its start ('BJ-0700' in
'XBJ-0700001'), in titles and document numbers, in upper or lower case, with LIKE's special characters, and common
late in the register (read bucket by bucket) — and that the narrowed lookup is taken, as is the single read of the
first carriers for both ranks of any other text. Carriers are written with plain SQL at ids spread over several
buckets of 65,536 ids, as a register a million carriers long holds them.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from tests_support import insert_carriers

from labels.codes import make_carrier_code
from tests.integration.test_search_brute import find, reference
from tracker import queries
from tracker.services.common import Signed
from tracker.store import Store

# (first id, how many, site of the code, title, document number)
SPANS = [(1, 40, "BJ", "Plan QQ-{i:04d}", "BJ〔2020〕{i}号"),
         (70_000, 40, "XBJ", "see BJ-{i:07d} 附件", "京〔2021〕{i}号"),
         (140_000, 60, "ABCD", "Budget BJ-007x{i}", "BJ-{i}〔2022〕"),
         (200_000, 30, "BJ", "Ref bj-000_{i}", None),
         (300_000, 50, "XBJ", "年度报告 AB-1234x{i}", "BJ-007%{i}"),
         (400_000, 20, "AB", "Final {i}", "国〔2024〕{i}号")]


def fill(store: Store) -> list[str]:
    rows = [{"id": i, "code": make_carrier_code(site, i), "title": title.format(i=i),
             "doc": None if doc is None else doc.format(i=i)}
            for start, count, site, title, doc in SPANS for i in range(start, start + count)]
    insert_carriers(store, rows)
    return [str(r["code"]) for r in rows]


def statements(store: Store) -> list[str]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", note)
    return seen


# Sites BJ, XBJ, ABCD and AB, serials of six digits: 'BJ-0700' is in XBJ's codes after their X, 'ZZ-0700' and
# 'AB-1400' are not in any code though the codes hold what follows their hyphen ('-0700', '-1400' in ABCD-1400…)
TEXTS = ["BJ-0000", "bj-0000", "BJ-0700", "XBJ-0700", "xbj-07000", "ZZ-0700", "J-0700", "AB-1400", "CD-1400",
         "BCD-14000", "ABCD-140", "BJ-1400", "bj-14000", "BJ-3000", "bj-30001", "AB-1234x", "ab-1234X30000",
         "BJ-000_", "bj-000_2", "BJ-000%", "BJ-007", "bj-007x14000", "BJ-007%", "bj-007%3000", "AB-4000", "AB-0400",
         "bj-2000", "BJ-20000", "ZZ-123", "see BJ-00700", "AB-00000", "QQ-000", "qq-0001"]


@pytest.mark.parametrize("most", [64, 0])
def test_code_shaped_texts_are_found_as_brute_force_finds_them(
        store: Store, people: dict[str, Signed], monkeypatch: pytest.MonkeyPatch, most: int) -> None:
    codes = fill(store)
    monkeypatch.setattr(queries, "SHORT_SCAN", 30)
    monkeypatch.setattr(queries, "MOST_SCAN", 40)
    monkeypatch.setattr(queries, "MAX_BUCKETS", most)  # 0: ids too sparse, the index alone serves
    texts = [*TEXTS, codes[0], codes[45].lower(), codes[130][1:], codes[-1][:-1], codes[200][2:8]]
    for what in texts:
        for limit in (1, 3, 10, 50, 300):
            assert find(store, what, limit) == reference(store, what, limit), (what, limit)


def test_code_shaped_and_other_texts_take_their_own_reads(
        store: Store, people: dict[str, Signed], monkeypatch: pytest.MonkeyPatch) -> None:
    fill(store)
    monkeypatch.setattr(queries, "SHORT_SCAN", 30)
    monkeypatch.setattr(queries, "MOST_SCAN", 40)
    seen = statements(store)
    # 'BJ-0700' is in the codes of 70,000-70,039 after their site's X, never at the start of a code
    assert find(store, "BJ-0700", 5) == [make_carrier_code("XBJ", i) for i in range(70_000, 70_005)]
    if store.dialect == "postgresql":
        assert any("(code || '')" in s for s in seen), "the code column was not looked up from the hyphen"
        assert not any("AS v FROM carriers" in s or "array_agg" in s for s in seen), "it read the first carriers"
    seen.clear()
    # few matches: one read of the register answers the document rank and the rest (documents 'BJ-007%300010'…)
    assert find(store, "BJ-007%30001", 300) == [make_carrier_code("XBJ", i) for i in range(300_010, 300_020)]
    if store.dialect == "postgresql":
        assert len([s for s in seen if "doc_number ILIKE" in s]) == 1, seen
    seen.clear()
    assert find(store, "Budget", 5) == [make_carrier_code("ABCD", i) for i in range(140_000, 140_005)]
    assert not any("(code || '')" in s for s in seen)  # other texts keep the whole text on every column
    if store.dialect == "postgresql":  # and read the first carriers once for both ranks (`_HEAD_PG`)
        assert len([s for s in seen if "array_agg" in s]) == 1
        assert not [s for s in seen if "AS v FROM carriers" in s or s.startswith("SELECT count(*), max(id)")]
