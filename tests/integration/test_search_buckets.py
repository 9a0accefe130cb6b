"""`queries.find` on a register whose texts are not spread evenly over its carriers (issue 22): a text absent from the
first carriers but common later, one common at first and rare later, one found only at the end. On PostgreSQL such a
text of three characters or more is read bucket by bucket of 65,536 ids (migration 0020's index: the first bucket that
fills the page ends the read) after a probe of its matches; these tests prove that way gives exactly what a brute-force
substring match gives, ranked as documented, and that it is taken. The carriers are written with plain SQL at ids
spread over seven buckets, as a register a million carriers long holds them.
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

# (first id, how many, title, document number): id ranges in buckets 0, 1, 2 (from its first id), 3, 4 and 6 (a
# bucket is 65,536 ids)
SPANS = [(1, 60, "Early Word 纪要 {i}", "国〔2020〕{i}号"),
         (70_000, 80, "{plan}Quarterly {i}", "京〔2021〕{i}号"),
         (131_072, 30, "Early Word {i}", "国〔2025〕{i}号"),
         (200_000, 90, "{plan}年度报告 {i}", "{late}〔2022〕{i}号"),
         (300_000, 20, "Budget {i}", "BJ〔2023〕{i}号"),
         (400_000, 40, "{plan}Early Word {i}", "{late}〔2024〕{i}号")]


def fill(store: Store) -> None:
    rows = []
    for start, count, title, doc in SPANS:
        for i in range(start, start + count):
            rows.append({"id": i, "code": make_carrier_code("BJ", i),
                         "title": title.format(i=i, plan="Final Plan " if i % 3 else "Plan Final "),
                         "doc": doc.format(i=i, late="迟到" if i % 2 else "晚")})
    insert_carriers(store, rows)


def bucket_reads(store: Store) -> list[str]:
    """The statements that read bucket by bucket, as they run."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "generate_series" in statement:
            seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", note)
    return seen


TEXTS = ["Final Plan", "final plan", "Plan Final", "Early Word", "early", "Word 纪要", "迟到〔2022〕", "迟到",
         "晚〔2024〕", "〔2023〕", "Quarterly", "年度报告", "nothing at all", "BJ-", "Budget 3000"]


@pytest.mark.parametrize("most", [64, 0])
def test_texts_common_late_or_early_are_found_as_brute_force_finds_them(
        store: Store, people: dict[str, Signed], monkeypatch: pytest.MonkeyPatch, most: int) -> None:
    fill(store)
    monkeypatch.setattr(queries, "SHORT_SCAN", 30)  # the window reads the first 30 carriers, then 40 more
    monkeypatch.setattr(queries, "MOST_SCAN", 40)
    monkeypatch.setattr(queries, "MAX_BUCKETS", most)  # 0: ids too sparse, the index alone serves
    seen = bucket_reads(store)
    for what in TEXTS:
        for limit in (1, 3, 10, 50, 300):
            assert find(store, what, limit) == reference(store, what, limit), (what, limit)
    if store.dialect == "postgresql":
        assert seen, "no search was read bucket by bucket"


def test_a_frequent_later_text_fills_its_page_from_its_first_bucket(store: Store, people: dict[str, Signed],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    fill(store)
    monkeypatch.setattr(queries, "SHORT_SCAN", 30)
    monkeypatch.setattr(queries, "MOST_SCAN", 40)
    seen = bucket_reads(store)
    codes = find(store, "Final Plan", 10)
    # the first carriers holding it (in registration order, shown by code): bucket 1, never the later buckets
    assert codes == sorted(make_carrier_code("BJ", i) for i in range(70_000, 70_015) if i % 3)[:10]
    if store.dialect == "postgresql":
        assert len(seen) == 1
