"""The one text policy: what free text may enter the register, and how stored text is shown back.

Entry: every service that stores text a person or a file gave (register, import, people, places, notes and reasons,
stock-take resolutions, upload device and batch names) calls `clean` or `check_fields` before it writes. Control
characters (C0, DEL, C1) are refused with a bilingual error naming the field and, for a file, the line; lengths are
checked here, by the domain, against the column sizes in `tracker.schema`, so SQLite (which stores any length) and
PostgreSQL (which raises DataError) refuse the same input the same way, before anything is written. No field takes
a newline today; one that should would say so with `newlines=True`.

Output: `visible` renders text already stored (perhaps before this policy existed, or written behind the register's
back) with every terminal control character escaped as ``\\x1b``-style text, so a title can never drive the
operator's terminal. This module imports nothing from the register and must never decide what is shown where: the
CLI, the TUI and the report writers call it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tracker.domain import DomainError

__all__ = ["INT_MAX", "LIMITS", "NOTE_LIMIT", "check_fields", "clean", "control_at", "decode", "line", "visible",
           "whole"]

# Free-text notes and reasons are TEXT columns: no database limit, so the domain sets one (a page of text).
NOTE_LIMIT = 2000

# Longest text per field, in characters, as the schema's String(n) columns hold it (PostgreSQL counts characters).
LIMITS: dict[str, int] = {
    "code": 40, "epc": 64, "tid": 64, "title": 500, "doc_number": 100, "issuer": 200, "capacity": 40,
    "scope": NOTE_LIMIT, "location": 40, "kind": 20, "regime": 20, "classification": 20, "period": 20,
    "highest_level_held": 20,
    "name": 200, "unit": 100, "badge": 40, "parent": 40,
    "note": NOTE_LIMIT, "reason": NOTE_LIMIT, "basis": NOTE_LIMIT, "destination": NOTE_LIMIT,
    "device": 64, "batch": 64, "terminal": 100, "read": 64,
}

# Chinese names of the fields, for the counter's error messages.
_ZH = {
    "code": "编号", "epc": "EPC", "tid": "TID", "title": "标题", "doc_number": "文号", "issuer": "发文单位",
    "capacity": "容量", "scope": "知悉范围", "location": "存放位置", "kind": "载体类型", "regime": "秘密类别",
    "classification": "密级", "period": "保密期限", "highest_level_held": "曾存最高密级", "name": "名称",
    "unit": "单位", "badge": "工号", "parent": "上级位置", "note": "备注", "reason": "理由", "basis": "依据",
    "destination": "目的地",
    "device": "设备", "batch": "批次", "terminal": "终端", "pages": "页数", "copy_number": "份号",
    "copy_total": "总份数", "summary": "事件经过", "measure": "措施", "resolution": "处理结果",
}

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_NOT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
# What `visible` escapes: C0, DEL, C1, and the two Unicode line/paragraph separators a terminal may break on.
_SHOWN_ESCAPED = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SHOWN_ESCAPED_KEEP = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def visible(text: str, keep_newlines: bool = False) -> str:
    """`text` with every control character written out (ESC as ``\\x1b``, BEL as ``\\x07``, CSI as ``\\x9b``), so
    it prints as the characters it holds and never acts on the terminal. A backslash is left alone: the escapes are
    for reading, not for decoding back. `keep_newlines` leaves line feeds and tabs (a message's own layout); a
    stored value shown in a table keeps none, so it cannot fake a second row either."""
    pattern = _SHOWN_ESCAPED_KEEP if keep_newlines else _SHOWN_ESCAPED
    return pattern.sub(_escape, text) if pattern.search(text) else text


def control_at(text: str, newlines: bool = False) -> int | None:
    """Index of the first character the policy refuses, or None."""
    m = (_CONTROL_NOT_NEWLINE if newlines else _CONTROL).search(text)
    return m.start() if m else None


Where = str | tuple[str, str] | None  # "line 3", or ("line 3", "第 3 行") to say it in both languages


def line(n: int) -> tuple[str, str]:
    """Where a value came from in a file, in both languages."""
    return f"line {n}", f"第 {n} 行"


def _where(where: Where) -> tuple[str, str]:
    if not where:
        return "", ""
    en, zh = (where, where) if isinstance(where, str) else where
    return f"{en}: ", f"{zh}："


def clean(field: str, value: str | None, *, where: Where = None, limit: int | None = None,
          newlines: bool = False) -> str | None:
    """`value` if the policy lets it in (None stays None), else DomainError naming `field` and `where` (e.g.
    "line 12" of an import). The field's limit is `LIMITS[field]` unless `limit` says otherwise."""
    if value is None:
        return None
    at = control_at(value, newlines)
    en_at, zh_at = _where(where)
    zh_field = _ZH.get(field, field)
    if at is not None:
        shown = visible(value[at])
        raise DomainError(
            f"{en_at}{field} contains the control character {shown} at position {at + 1}; "
            "control characters are not accepted in the register.",
            f"{zh_at}{zh_field}（{field}）第 {at + 1} 个字符是控制字符 {shown}，登记内容不得包含控制字符。")
    most = limit if limit is not None else LIMITS.get(field, NOTE_LIMIT)
    if len(value) > most:
        raise DomainError(
            f"{en_at}{field} is {len(value)} characters long; at most {most} are accepted.",
            f"{zh_at}{zh_field}（{field}）长 {len(value)} 个字符，最多 {most} 个。")
    return value


def check_fields(fields: Iterable[tuple[str, str | None]], *, where: Where = None) -> None:
    """`clean` on each (field, value): the first refusal is raised."""
    for name, value in fields:
        clean(name, value, where=where)


# The register's whole numbers (pages, copy n/N) are 32-bit INTEGER columns on both databases.
INT_MAX = 2**31 - 1


def whole(field: str, value: int | None, *, where: Where = None) -> int | None:
    """`value` if a 32-bit column holds it and it is not negative, else DomainError naming `field`: PostgreSQL
    would raise, and SQLite would store a number no report can show."""
    if value is None or 0 <= value <= INT_MAX:
        return value
    en_at, zh_at = _where(where)
    shown = str(value) if len(str(value)) <= 30 else str(value)[:30] + "…"
    raise DomainError(f"{en_at}{field} must be a whole number from 0 to {INT_MAX}, not {shown}.",
                      f"{zh_at}{_ZH.get(field, field)}（{field}）须为 0 至 {INT_MAX} 的整数，而不是 {shown}。")


def decode(data: bytes, what: str = "file") -> str:
    """A text file as the counter gets them: UTF-8 (with or without BOM), else GB18030 (what Excel and handhelds on
    Chinese Windows write; GBK is a subset). Neither is a bilingual DomainError, never a UnicodeDecodeError."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError(f"The {what} is neither UTF-8 nor GB18030 text.", f"{what} 既不是 UTF-8 也不是 GB18030 文本。")
