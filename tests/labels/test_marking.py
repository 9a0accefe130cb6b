"""Marking text: level and period together (R-06), copy numbers for 绝密/机密 prints (R-30), English rendering."""

from __future__ import annotations

import datetime as dt

import pytest

from labels.marking import (
    Level,
    MarkingError,
    copy_required,
    copy_text,
    make_marking,
    marking_text,
    parse_level,
    parse_period,
)


@pytest.mark.parametrize(
    ("level", "period", "zh", "en"),
    [
        ("机密", 10, "机密★10年", "SECRET ★ 10 YEARS"),
        ("secret", "10y", "机密★10年", "SECRET ★ 10 YEARS"),
        ("top_secret", "long", "绝密★长期", "TOP SECRET ★ LONG-TERM"),
        ("TOP_SECRET", "长期", "绝密★长期", "TOP SECRET ★ LONG-TERM"),
        ("秘密", dt.date(2027, 12, 31), "秘密★2027年12月31日", "CONFIDENTIAL ★ UNTIL 2027-12-31"),
        ("confidential", "2027-12-31", "秘密★2027年12月31日", "CONFIDENTIAL ★ UNTIL 2027-12-31"),
        ("SECRET", "2027年1月5日", "机密★2027年1月5日", "SECRET ★ UNTIL 2027-01-05"),
        ("绝密", "30年", "绝密★30年", "TOP SECRET ★ 30 YEARS"),
        ("秘密", "1 year", "秘密★1年", "CONFIDENTIAL ★ 1 YEAR"),
        ("机密", "PERMANENT", "机密★永久", "SECRET ★ PERMANENT"),
        ("秘密", "短期", "秘密★短期", "CONFIDENTIAL ★ SHORT-TERM"),
        ("内部", None, "内部", "INTERNAL"),
    ],
)
def test_marking_text(level: str, period: object, zh: str, en: str) -> None:
    assert marking_text(level, period) == zh  # type: ignore[arg-type]
    assert marking_text(level, period, lang="en") == en  # type: ignore[arg-type]


def test_copy_numbers() -> None:
    assert copy_text(3, 5) == "第3份 共5份"
    assert copy_text(3, 5, lang="en") == "Copy 3 of 5"
    m = make_marking("机密", 10, (3, 5), printed_copy=True)
    assert (m.copy_zh, m.copy_en) == ("第3份 共5份", "Copy 3 of 5")
    assert m.fields() == {"marking": "机密★10年", "copy": "第3份 共5份"}
    assert m.fields(bilingual=True) == {
        "marking": "机密★10年",
        "copy": "第3份 共5份",
        "marking_en": "SECRET ★ 10 YEARS",
        "copy_en": "Copy 3 of 5",
    }
    for bad in ((0, 5), (6, 5), (1, 0)):
        with pytest.raises(MarkingError):
            make_marking("机密", 10, bad)


def test_r30_copy_number_required_for_top_two_levels_of_printed_copies() -> None:
    assert copy_required("绝密") and copy_required("SECRET") and not copy_required("秘密")
    with pytest.raises(MarkingError) as exc:
        make_marking("绝密", "长期", printed_copy=True)
    assert "R-30" in exc.value.message_en and "份号" in exc.value.message_zh
    with pytest.raises(MarkingError):
        make_marking("机密", 10, printed_copy=True)
    assert make_marking("秘密", 5, printed_copy=True).copy is None
    assert make_marking("机密", 10).copy is None  # a disc or laptop is not a printed copy


def test_r06_level_needs_period_and_internal_has_none() -> None:
    with pytest.raises(MarkingError) as exc:
        make_marking("机密", None)
    assert "R-06" in exc.value.message_en
    with pytest.raises(MarkingError):
        make_marking("内部", 10)


@pytest.mark.parametrize("bad", ["十年", "0", 0, -3, "2027-13-01", "forever", True])
def test_bad_periods(bad: object) -> None:
    with pytest.raises(MarkingError):
        parse_period(bad)  # type: ignore[arg-type]


def test_levels() -> None:
    assert parse_level("top secret") is Level.TOP_SECRET
    assert parse_level(Level.SECRET) is Level.SECRET
    with pytest.raises(MarkingError) as exc:
        parse_level("工作秘密")  # no uniform mark
    assert "未知密级" in exc.value.message_zh
