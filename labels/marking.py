"""Classification marking text (密级标志) as printed on a label: the level and the secrecy period together (R-06), in
the common 密级★期限 form (``机密★10年``, ``绝密★长期``, ``秘密★2027年12月31日``), the copy number ``第3份 共5份`` that
绝密 and 机密 prints carry (R-30), and an English rendering for bilingual sites. Pure functions of plain values: the
register passes its own enum names or the Chinese words. This module decides how a marking reads, never whether a
classification decision is allowed (that is the rulebook's job), and it never puts the level into a code.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "Copy",
    "Level",
    "Marking",
    "MarkingError",
    "Period",
    "PeriodKind",
    "copy_required",
    "copy_text",
    "make_marking",
    "marking_text",
    "parse_level",
    "parse_period",
]


class MarkingError(ValueError):
    """A marking cannot be made from these values; English and Chinese text for the operator."""

    def __init__(self, message_en: str, message_zh: str) -> None:
        self.message_en = message_en
        self.message_zh = message_zh
        super().__init__(f"{message_en} / {message_zh}")


class Level(StrEnum):
    """Classification levels that have a printed mark. 工作秘密 has no uniform mark (R-14) and is not here."""

    TOP_SECRET = "TOP_SECRET"  # 绝密
    SECRET = "SECRET"  # 机密
    CONFIDENTIAL = "CONFIDENTIAL"  # 秘密
    INTERNAL = "INTERNAL"  # 内部: no period, no star

    @property
    def zh(self) -> str:
        return _LEVEL_ZH[self]

    @property
    def en(self) -> str:
        return _LEVEL_EN[self]


_LEVEL_ZH = {
    Level.TOP_SECRET: "绝密",
    Level.SECRET: "机密",
    Level.CONFIDENTIAL: "秘密",
    Level.INTERNAL: "内部",
}
_LEVEL_EN = {
    Level.TOP_SECRET: "TOP SECRET",
    Level.SECRET: "SECRET",
    Level.CONFIDENTIAL: "CONFIDENTIAL",
    Level.INTERNAL: "INTERNAL",
}
_LEVEL_ALIASES: dict[str, Level] = {}
for _lv in Level:
    _LEVEL_ALIASES[_lv.value] = _lv
    _LEVEL_ALIASES[_lv.zh] = _lv
    _LEVEL_ALIASES[_lv.en] = _lv
    _LEVEL_ALIASES[_lv.value.replace("_", "-")] = _lv


def parse_level(level: str | Level) -> Level:
    """Accept ``"机密"``, ``"SECRET"``, ``"top_secret"``, ``"TOP SECRET"`` or a ``Level``."""
    if isinstance(level, Level):
        return level
    key = str(getattr(level, "value", level)).strip()
    found = _LEVEL_ALIASES.get(key) or _LEVEL_ALIASES.get(key.upper())
    if found is None:
        raise MarkingError(
            f"unknown classification level {level!r} "
            "(use 绝密/机密/秘密/内部 or TOP_SECRET/SECRET/CONFIDENTIAL/INTERNAL)",
            f"未知密级 {level!r}（应为 绝密/机密/秘密/内部）",
        )
    return found


class PeriodKind(StrEnum):
    YEARS = "YEARS"
    UNTIL = "UNTIL"  # a fixed date
    LONG_TERM = "LONG_TERM"  # 长期
    PERMANENT = "PERMANENT"  # 永久 (company secrets, R-10)
    SHORT_TERM = "SHORT_TERM"  # 短期 (company secrets, R-10)


_PERIOD_WORDS = {
    PeriodKind.LONG_TERM: ("长期", "LONG-TERM"),
    PeriodKind.PERMANENT: ("永久", "PERMANENT"),
    PeriodKind.SHORT_TERM: ("短期", "SHORT-TERM"),
}
_PERIOD_ALIASES = {
    "长期": PeriodKind.LONG_TERM,
    "LONG": PeriodKind.LONG_TERM,
    "LONG_TERM": PeriodKind.LONG_TERM,
    "LONG-TERM": PeriodKind.LONG_TERM,
    "永久": PeriodKind.PERMANENT,
    "PERMANENT": PeriodKind.PERMANENT,
    "短期": PeriodKind.SHORT_TERM,
    "SHORT_TERM": PeriodKind.SHORT_TERM,
    "SHORT-TERM": PeriodKind.SHORT_TERM,
}


@dataclass(frozen=True, slots=True)
class Period:
    """保密期限: a number of years, a date, or one of the named terms."""

    kind: PeriodKind
    years: int | None = None
    until: dt.date | None = None

    @property
    def zh(self) -> str:
        if self.kind is PeriodKind.YEARS:
            return f"{self.years}年"
        if self.kind is PeriodKind.UNTIL:
            assert self.until is not None
            return f"{self.until.year}年{self.until.month}月{self.until.day}日"
        return _PERIOD_WORDS[self.kind][0]

    @property
    def en(self) -> str:
        if self.kind is PeriodKind.YEARS:
            return f"{self.years} YEAR" + ("S" if self.years != 1 else "")
        if self.kind is PeriodKind.UNTIL:
            assert self.until is not None
            return f"UNTIL {self.until.isoformat()}"
        return _PERIOD_WORDS[self.kind][1]


_YEARS_RE = re.compile(r"(\d{1,3})\s*(年|Y|YR|YRS|YEAR|YEARS)?")
_ZH_DATE_RE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")


def parse_period(period: int | str | dt.date | Period) -> Period:
    """Accept ``10``, ``"10年"``, ``"10y"``, ``"10 years"``, ``"长期"``, ``"long"``, ``"LONG_TERM"``, a ``date``,
    ``"2027-12-31"`` or ``"2027年12月31日"`` (the register stores ``10y``, ``long`` and ISO dates)."""
    if isinstance(period, Period):
        return period
    if isinstance(period, dt.datetime):
        return Period(PeriodKind.UNTIL, until=period.date())
    if isinstance(period, dt.date):
        return Period(PeriodKind.UNTIL, until=period)
    if isinstance(period, bool):
        raise MarkingError(f"{period!r} is not a secrecy period", f"{period!r} 不是保密期限")
    if isinstance(period, int):
        if period < 1:
            raise MarkingError(
                f"a secrecy period in years must be at least 1, not {period}",
                f"以年计的保密期限至少为 1 年，而不是 {period}",
            )
        return Period(PeriodKind.YEARS, years=period)
    text = str(getattr(period, "value", period)).strip().upper()
    if text in _PERIOD_ALIASES:
        return Period(_PERIOD_ALIASES[text])
    m = _YEARS_RE.fullmatch(text)
    if m:
        return parse_period(int(m.group(1)))
    m = _ZH_DATE_RE.fullmatch(text)
    try:
        if m:
            return Period(PeriodKind.UNTIL, until=dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        return Period(PeriodKind.UNTIL, until=dt.date.fromisoformat(text))
    except ValueError:
        raise MarkingError(
            f"{period!r} is not a secrecy period (years, 长期/永久/短期, or a date such as 2027-12-31)",
            f"{period!r} 不是保密期限（年数、长期/永久/短期，或日期如 2027-12-31）",
        ) from None


@dataclass(frozen=True, slots=True)
class Copy:
    """Copy number n of N (份号)."""

    number: int
    total: int

    def __post_init__(self) -> None:
        if not (1 <= self.number <= self.total):
            raise MarkingError(
                f"copy number must be 1 to {self.total} of {self.total}, not {self.number}",
                f"份号必须在 1 至 {self.total} 之间（共 {self.total} 份），而不是 {self.number}",
            )

    @property
    def zh(self) -> str:
        return f"第{self.number}份 共{self.total}份"

    @property
    def en(self) -> str:
        return f"Copy {self.number} of {self.total}"


def copy_required(level: str | Level) -> bool:
    """R-30: printed copies of 绝密 and 机密 documents carry a copy number."""
    return parse_level(level) in (Level.TOP_SECRET, Level.SECRET)


@dataclass(frozen=True, slots=True)
class Marking:
    """Everything of the marking a label prints. ``copy`` is absent when not given."""

    level: Level
    period: Period | None
    copy: Copy | None

    @property
    def zh(self) -> str:
        return self.level.zh if self.period is None else f"{self.level.zh}★{self.period.zh}"

    @property
    def en(self) -> str:
        return self.level.en if self.period is None else f"{self.level.en} ★ {self.period.en}"

    @property
    def copy_zh(self) -> str | None:
        return None if self.copy is None else self.copy.zh

    @property
    def copy_en(self) -> str | None:
        return None if self.copy is None else self.copy.en

    def fields(self, *, bilingual: bool = False) -> dict[str, str]:
        """The label fields this marking fills: ``marking``, ``copy`` and, on bilingual sites, the ``_en`` pair."""
        out = {"marking": self.zh}
        if self.copy is not None:
            out["copy"] = self.copy.zh
        if bilingual:
            out["marking_en"] = self.en
            if self.copy is not None:
                out["copy_en"] = self.copy.en
        return out


def make_marking(
    level: str | Level,
    period: int | str | dt.date | Period | None,
    copy: tuple[int, int] | Copy | None = None,
    *,
    printed_copy: bool = False,
) -> Marking:
    """Build the marking of a carrier.

    A classified level needs its period (R-06: level and period are applied together); 内部 takes none.
    ``printed_copy=True`` says the carrier is a printed copy of a document, which for 绝密 and 机密 must carry its
    copy number (R-30).
    """
    lv = parse_level(level)
    if lv is Level.INTERNAL:
        if period is not None:
            raise MarkingError("an 内部 (internal) item has no secrecy period", "内部事项没有保密期限")
        per = None
    else:
        if period is None:
            raise MarkingError(
                f"the {lv.en} mark needs its secrecy period: level and period are marked together (R-06)",
                f"{lv.zh}标志必须同时标明保密期限（R-06）",
            )
        per = parse_period(period)
    cp = Copy(*copy) if isinstance(copy, tuple) else copy
    if printed_copy and cp is None and copy_required(lv):
        raise MarkingError(
            f"a printed {lv.en} copy needs its copy number n of N (R-30)",
            f"{lv.zh}文件的每一份都必须标明份号（R-30）",
        )
    return Marking(lv, per, cp)


def marking_text(level: str | Level, period: int | str | dt.date | Period | None, *, lang: str = "zh") -> str:
    """``marking_text("机密", 10) == "机密★10年"``; ``lang="en"`` gives ``"SECRET ★ 10 YEARS"``."""
    m = make_marking(level, period)
    return m.en if lang == "en" else m.zh


def copy_text(number: int, total: int, *, lang: str = "zh") -> str:
    """``copy_text(3, 5) == "第3份 共5份"``; ``lang="en"`` gives ``"Copy 3 of 5"``."""
    c = Copy(number, total)
    return c.en if lang == "en" else c.zh
