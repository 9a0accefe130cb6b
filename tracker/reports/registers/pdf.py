"""The one PDF renderer of the registers (台账): any `Printed` register as landscape A4 pages with its title, the unit,
the period, who printed it and the ledger head read against, a table of its rows (header repeated on every page),
"第 n 页 共 m 页" on each page, the signature lines the seeds ask for, and — for the borrowing register — one loan
application slip (申请借阅单) per loan, with its signature boxes.

Why it draws text itself: a year of a 100,000-carrier register is 100,000 rows, 1.6 million cells. Through
reportlab's platypus (a Paragraph per cell) that is minutes; through `Canvas.drawString` 15 µs a cell (measured:
a text object, float formatting and PDF escaping for every call), half a minute. Here a page is one text object, a
row one `Tm` and the join of its cells, and a cell finished operators (`Td` to its column, the embedded font's
glyph bytes as hex, no escaping) cached per column and value, so names, levels and places are encoded once;
characters are measured and encoded by `str.translate` and C-level maps, and only text that may not fit is measured.
That is about a tenth of drawString's cost (bench/bench_registers.py prints it beside a bare SELECT of the rows).
Long text wraps (CJK by character, a name and badge between them) to at most `MAX_LINES` lines and says so with "…".
It must never query the register: it lays out what `read` collected.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from reportlab import rl_config
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from labels.render.pdf import cjk_font_name
from tracker.reports.registers.model import Printed
from tracker.text import visible

PAGE_W, PAGE_H = landscape(A4)
MARGIN = 24.0
SIZE = 6.5  # table text (pt)
LEAD = 8.0  # line height in the table
PAD = 2.0
MAX_LINES = 4
FOOT = 18.0  # space kept for the page footer
_A85_LOCK = threading.Lock()
_COUNT_FORM = "page_count"
_PUA = 0xF0000  # supplementary private use area: subset numbers as characters (see _Glyphs)
_PUA_FIRST, _PUA_LAST = chr(_PUA), chr(_PUA + 0xFFF)


def local(value: Any, tz: Any) -> str:
    """A cell as people read it: times in the unit's zone to the minute, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value.astimezone(tz):%Y-%m-%d %H:%M}" if value.tzinfo else f"{value:%Y-%m-%d %H:%M}"
    return visible(str(value))


class _Glyphs:
    """Text as PDF operators in the embedded CJK font. Each character's width and glyph (subset, byte) are learnt
    once from reportlab (`splitString` assigns glyphs to 256-glyph subsets as they first appear); after that a
    string is measured and encoded by C-level maps over its characters, and whole operators are cached per
    (text, size) for the values that repeat."""

    def __init__(self, canvas: Canvas) -> None:
        self.name = cjk_font_name()
        self.font: Any = pdfmetrics.getFont(self.name)
        self.doc = canvas._doc
        self.widths: dict[str, float] = {}
        self.subset_of: dict[str, int] = {}
        self.byte_of: dict[str, int] = {}
        # The same as str.translate tables: each character to its subset (as a private-use character, so that a
        # character not learnt yet stands out) and to its glyph byte as two hex digits, one C-level pass each.
        self.subset_table: dict[int, str] = {}
        self.hex_table: dict[int, str] = {}
        self.subset_names: dict[str, str] = {}
        self.cache: dict[tuple[str, float], str] = {}
        self.wrapped: dict[tuple[str, float], list[str]] = {}

    def _learn(self, text: str) -> None:
        face = self.font.face
        for ch in text:
            if ch not in self.widths:
                ((subset, chunk),) = self.font.splitString(ch, self.doc)
                self.subset_of[ch], self.byte_of[ch] = subset, chunk[0]
                self.subset_table[ord(ch)], self.hex_table[ord(ch)] = chr(_PUA + subset), f"{chunk[0]:02x}"
                self.widths[ch] = face.charWidths.get(ord(ch), face.defaultWidth)

    def _name(self, subset: str) -> str:
        name = self.subset_names.get(subset)
        if name is None:
            name = self.subset_names[subset] = self.font.getSubsetInternalName(ord(subset) - _PUA, self.doc)
        return name

    def ops(self, text: str, size: float) -> str:
        key = (text, size)
        op = self.cache.get(key)
        if op is None:
            op = self.encode(text, size)
            if len(self.cache) > 50_000:  # a long register: keep memory flat, the common values come back soon
                self.cache.clear()
            self.cache[key] = op
        return op

    def encode(self, text: str, size: float) -> str:
        """`text` as Tf/Tj operators, one pair per run of characters in the same 256-glyph subset."""
        if not text:
            return ""
        subsets = text.translate(self.subset_table)
        if min(subsets) < _PUA_FIRST or max(subsets) > _PUA_LAST:  # a character not learnt yet
            self._learn(text)
            subsets = text.translate(self.subset_table)
        first = subsets[0]
        if subsets.count(first) == len(subsets):
            return f"{self._name(first)} {size:g} Tf <{text.translate(self.hex_table)}> Tj"
        parts: list[tuple[str, list[int]]] = []
        run: list[int] = []
        current = first
        for ch, sub in zip(text, subsets, strict=True):
            if sub != current:
                parts.append((current, run))
                run, current = [], sub
            run.append(self.byte_of[ch])
        parts.append((current, run))
        return " ".join(f"{self._name(sub)} {size:g} Tf <{bytes(b).hex()}> Tj" for sub, b in parts)

    def width(self, text: str, size: float) -> float:
        try:
            return sum(map(self.widths.__getitem__, text)) * size * 0.001
        except KeyError:
            self._learn(text)
            return sum(map(self.widths.__getitem__, text)) * size * 0.001

    def wrap(self, text: str, width: float, size: float, max_lines: int = MAX_LINES) -> list[str]:
        """`text` in lines that fit `width`, broken at the character that overflows (Chinese has no spaces to break
        at) or before a space on that line; "…" when the lines run out. Cached: names, levels and places repeat."""
        key = (text, width)
        done = self.wrapped.get(key)
        if done is None:
            done = self._wrap(text, width, size, max_lines)
            if len(self.wrapped) > 50_000:
                self.wrapped.clear()
            self.wrapped[key] = done
        return done

    def _wrap(self, text: str, width: float, size: float, max_lines: int) -> list[str]:
        if "\n" not in text and (len(text) * size * 1.18 <= width or self.width(text, size) <= width):
            return [text]  # no glyph is wider than 1.18 em: short text fits unmeasured
        out: list[str] = []
        for part in text.split("\n"):
            if self.width(part, size) <= width:
                out.append(part)
                continue
            line, used = "", 0.0
            for ch in part:
                w = self.widths[ch] * size * 0.001
                if used + w > width and line:
                    cut = line.rfind(" ") + 1  # a name and its badge break between them, never inside the badge
                    out.append(line[:cut].rstrip() if cut else line)
                    line = line[cut:] if cut else ""
                    used = self.width(line, size)
                line += ch
                used += w
            out.append(line)
        if len(out) > max_lines:
            out = out[:max_lines]
            out[-1] = out[-1][:-1] + "…" if out[-1] else "…"
        return out or [""]


class _Pages:
    """The drawing side: pages made of text operators and strokes, numbered once their count is known."""

    def __init__(self, path: Path, printed: Printed) -> None:
        self.c = Canvas(str(path), pagesize=(PAGE_W, PAGE_H), pageCompression=1)
        self.c.setTitle(f"{printed.register.zh} {printed.register.en}")
        self.c.setAuthor("carrier-tracker")
        self.g = _Glyphs(self.c)
        self.text: list[str] = []
        self.paths: list[str] = []
        self.fills: list[str] = []

    def put(self, x: float, y: float, text: str, size: float) -> None:
        if text:
            self.text.append(f"1 0 0 1 {x:.2f} {y:.2f} Tm {self.g.ops(text, size)}")

    def rule(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.paths.append(f"{x0:.2f} {y0:.2f} m {x1:.2f} {y1:.2f} l")

    def box(self, x: float, y: float, w: float, h: float, fill: bool = False) -> None:
        (self.fills if fill else self.paths).append(f"{x:.2f} {y:.2f} {w:.2f} {h:.2f} re")

    def save(self) -> None:
        """Streams deflated only: reportlab's ASCII85 wrapping (pure Python here, a third of the time of a long
        register) makes a file 25 % larger for 7-bit transports no one uses for a PDF today."""
        with _A85_LOCK:
            was = rl_config.useA85
            rl_config.useA85 = 0
            try:
                self.c.save()
            finally:
                rl_config.useA85 = was

    def page_count(self, count: int, lang: str) -> None:
        """The form every footer shows after "第 n 页": the number of pages, known once the last is drawn."""
        text = f" 共 {count} 页" + (f" ({count} pages)" if lang == "en" else "")
        self.c.beginForm(_COUNT_FORM)
        self.c._code.append(f"BT 1 0 0 1 {PAGE_W / 2 + 2.5:.2f} {MARGIN - 6:.2f} Tm {self.g.ops(text, 7)} ET")
        self.c.endForm()

    def end_page(self) -> None:
        code = self.c._code
        if self.fills:
            code.append(f"q 0.92 g {' '.join(self.fills)} f Q")
        if self.paths:
            code.append(f"q 0.4 w 0.5 G {' '.join(self.paths)} S Q")
        code.append("BT")
        code.extend(self.text)
        code.append("ET")
        self.c.showPage()
        self.text, self.paths, self.fills = [], [], []


class _Cells:
    """Each column's cells as finished text operators, cached per value (a name, a level, a place comes back on
    every page). A row is then one text-matrix move to its baseline and the join of its cells: each cell moves
    from the previous column's left edge to its own (`Td` is relative to the start of the line), sets its lines
    (numbers right-aligned) and comes back up to the row's baseline, so its text is the same wherever it is drawn."""

    CACHE = 20_000  # values per column kept; a column of unique values (codes, times) is cleared and refilled

    def __init__(self, g: _Glyphs, printed: Printed, xs: Sequence[float], widths: Sequence[float]) -> None:
        cols = printed.register.columns
        self.g, self.tz = g, printed.tz
        self.inner = [0.0 if c.signature else w - 2 * PAD for c, w in zip(cols, widths, strict=True)]
        self.right = [c.kind == "int" for c in cols]
        lefts = [x + PAD for x in xs]
        self.moves = [f"{x - prev:.2f} 0 Td" for x, prev in zip(lefts, [0.0, *lefts[:-1]], strict=True)]
        self.caches: list[dict[Any, tuple[str, int]]] = [{} for _ in cols]
        self.digit = g.width("0", SIZE)  # the font's figures are all as wide (tabular)

    def row(self, values: Sequence[Any]) -> tuple[str, int]:
        """The row's operators after its `Tm`, and its height in lines."""
        parts, lines = [], 1
        for j, value in enumerate(values):
            cache = self.caches[j]
            cell = cache.get(value)
            if cell is None:
                cell = self._cell(j, value)
                if len(cache) >= self.CACHE:
                    cache.clear()
                cache[value] = cell
            parts.append(cell[0])
            if cell[1] > lines:
                lines = cell[1]
        return " ".join(parts), lines

    def _cell(self, j: int, value: Any) -> tuple[str, int]:
        g, width = self.g, self.inner[j]
        text = visible(value) if isinstance(value, str) else local(value, self.tz)
        lines = g.wrap(text, width, SIZE) if width > 0 else [""]
        ops = [self.moves[j]]
        for i, line in enumerate(lines):
            if i:
                ops.append(f"0 {-LEAD:g} Td")
            if not line:
                continue
            if self.right[j]:
                off = width - (len(line) * self.digit if line.isdigit() else g.width(line, SIZE))
                ops.append(f"{off:.2f} 0 Td {g.encode(line, SIZE)} {-off:.2f} 0 Td")
            else:
                ops.append(g.encode(line, SIZE))  # cached by the column, not twice
        if len(lines) > 1:
            ops.append(f"0 {(len(lines) - 1) * LEAD:g} Td")
        return " ".join(ops), len(lines)


def write_pdf(printed: Printed, path: Path) -> Path:
    """Pages are drawn as the rows come and handed to reportlab at once (a year's register is thousands of pages:
    holding them all laid out first took memory the machine then had to find); "共 m 页" is one form drawn on every
    page and written at the end, when m is known."""
    reg = printed.register
    cols = reg.columns
    usable = PAGE_W - 2 * MARGIN
    total = sum(c.width for c in cols)
    widths = [usable * c.width / total for c in cols]
    xs = [MARGIN + sum(widths[:i]) for i in range(len(cols))]
    pages = _Pages(path, printed)
    g = pages.g
    header_lines = [g.wrap(c.header(printed.lang), w - 2 * PAD, SIZE, 3) for c, w in zip(cols, widths, strict=True)]
    header_h = max(len(h) for h in header_lines) * LEAD + 2 * PAD
    cells = _Cells(g, printed, xs, widths)
    top_of_table = PAGE_H - MARGIN - 44.0
    bottom = MARGIN + FOOT
    right_edge = f"{MARGIN + usable:.2f}"
    signatures = printed.signature_labels()
    sig_h = 16.0 + 22.0 * ((len(signatures) + 2) // 3)
    n, yy, on_page = 1, top_of_table, 0
    _heading(pages, printed)

    def close(last: bool) -> None:
        if on_page:
            for x in [*xs, MARGIN + usable]:
                pages.rule(x, top_of_table, x, yy)
        if last:
            _signatures(pages, printed, signatures, yy - 14.0)
        _footer(pages, printed, n)
        pages.end_page()

    for row in printed.rows:
        ops, lines = cells.row(row)
        h = lines * LEAD + 2 * PAD
        if on_page and yy - h < bottom:
            close(False)
            n, yy, on_page = n + 1, top_of_table, 0
            _heading(pages, printed)
        if not on_page:
            _header_row(pages, header_lines, xs, widths, yy, header_h)
            yy -= header_h
        pages.text.append(f"1 0 0 1 0 {yy - PAD - LEAD + 2:.2f} Tm {ops}")
        yy -= h
        pages.paths.append(f"{MARGIN:.2f} {yy:.2f} m {right_edge} {yy:.2f} l")
        on_page += 1
    if yy - 14.0 - sig_h < bottom:  # the signature lines go on a page of their own, after the table
        close(False)
        n, yy, on_page = n + 1, top_of_table, 0
        _heading(pages, printed)
    close(True)
    for group in _slip_pages(printed) if reg.slip else []:
        n += 1
        for k, slip in enumerate(group):
            _slip(pages, printed, slip, PAGE_H - MARGIN - k * (PAGE_H - 2 * MARGIN) / 2)
        _footer(pages, printed, n)
        pages.end_page()
    pages.page_count(n, printed.lang)
    pages.save()
    return path


def _heading(pages: _Pages, printed: Printed) -> None:
    reg = printed.register
    y = PAGE_H - MARGIN - 14
    pages.put(MARGIN, y, visible(f"{reg.zh}  {reg.en}" if printed.lang == "en" else reg.zh), 14)
    facts = "    ".join(f"{k}：{v}" for k, v in printed.facts()[:3])
    pages.put(MARGIN, y - 14, visible(facts), 7)
    head = printed.facts()[3]
    pages.put(MARGIN, y - 24, visible(f"{head[0]}：{head[1]}"), 6)


def _header_row(pages: _Pages, header_lines: Sequence[list[str]], xs: Sequence[float], widths: Sequence[float],
                top: float, h: float) -> None:
    pages.box(MARGIN, top - h, sum(widths), h, fill=True)
    pages.rule(MARGIN, top, MARGIN + sum(widths), top)
    pages.rule(MARGIN, top - h, MARGIN + sum(widths), top - h)
    for x, lines in zip(xs, header_lines, strict=True):
        for i, line in enumerate(lines):
            pages.put(x + PAD, top - PAD - (i + 1) * LEAD + 2, line, SIZE)


def _signatures(pages: _Pages, printed: Printed, labels: Sequence[str], y: float) -> None:
    date_word = printed.say("日期", "Date")
    for i, label in enumerate(labels):
        x = MARGIN + (i % 3) * (PAGE_W - 2 * MARGIN) / 3
        yy = y - (i // 3) * 22.0
        pages.put(x, yy, f"{label}{printed.say('（签字）', ' (signature)')}：", 8)
        pages.rule(x + 110, yy - 2, x + 190, yy - 2)
        pages.put(x + 194, yy, f"{date_word}：", 8)
        pages.rule(x + 222, yy - 2, x + 250, yy - 2)


def _footer(pages: _Pages, printed: Printed, n: int) -> None:
    """"第 n 页" right-aligned to the middle of the page, and the page-count form ("共 m 页") just after it."""
    reg = printed.register
    text = f"第 {n} 页"
    pages.put(PAGE_W / 2 - pages.g.width(text, 7), MARGIN - 6, text, 7)
    pages.c.doForm(_COUNT_FORM)
    pages.put(MARGIN, MARGIN - 6, visible(f"{reg.zh} {printed.first:%Y-%m-%d}—{printed.last:%Y-%m-%d}"), 6)
    pages.put(PAGE_W - MARGIN - 150, MARGIN - 6, f"{printed.say('链头', 'head')} {printed.head_seq}:"
              f"{printed.head_hash[:16]}…", 6)


# --- the loan application slip (申请借阅单), one per loan, two to a page ---------------------------------------------


def _slip_pages(printed: Printed) -> list[list[dict[str, Any]]]:
    keys = [c.key for c in printed.register.columns]
    slips = [dict(zip(keys, row, strict=True)) for row in printed.rows]
    return [slips[i:i + 2] for i in range(0, len(slips), 2)]


_SLIP_FIELDS = (("borrower", "借阅人", "Borrower"), ("unit", "部门", "Section"), ("code", "载体编号", "Carrier"),
                ("doc_number", "文号", "Doc. number"), ("title", "标题（借阅内容）", "Title (content)"),
                ("level", "密级", "Level"), ("out", "借阅时间", "Out"), ("due", "借阅期限", "Due"),
                ("place", "阅读场所", "Reading place"), ("purpose", "用途", "Purpose"),
                ("approval", "审批号", "Approval"), ("approvers", "批准人", "Approved by"),
                ("back", "归还时间（清销）", "Returned (closed)"), ("closed_by", "清销人", "Closed by"))
_SLIP_SIGNS = (("借阅人签字", "Borrower"), ("借阅部门负责人签字", "Head of the borrowing section"),
               ("批准领导签字", "Approving leader"), ("提供人（保密员）签字", "Provider (clerk)"))


def _slip(pages: _Pages, printed: Printed, slip: dict[str, Any], top: float) -> None:
    width = PAGE_W - 2 * MARGIN
    height = (PAGE_H - 2 * MARGIN) / 2 - 12
    pages.box(MARGIN, top - height, width, height)
    pages.put(MARGIN + 8, top - 18, printed.say(f"申请借阅单（第 {slip['seq']} 号事件）",
                                                f"申请借阅单 Loan application slip (event {slip['seq']})"), 12)
    col_w = width / 2
    for i, (key, zh, en) in enumerate(_SLIP_FIELDS):
        x = MARGIN + 8 + (i % 2) * col_w
        y = top - 36 - (i // 2) * 14
        label = printed.say(zh, en)
        value = pages.g.wrap(local(slip.get(key), printed.tz), col_w - 110, 8, 1)[0]
        pages.put(x, y, f"{label}：", 8)
        pages.put(x + 96, y, value, 8)
        pages.rule(x + 94, y - 3, x + col_w - 16, y - 3)
    y = top - 36 - ((len(_SLIP_FIELDS) + 1) // 2) * 14 - 6
    pages.put(MARGIN + 8, y, printed.say("提供方特别记载：", "Provider's special entry:"), 8)
    pages.rule(MARGIN + 100, y - 3, MARGIN + width - 16, y - 3)
    y -= 22
    for i, (zh, en) in enumerate(_SLIP_SIGNS):
        x = MARGIN + 8 + i * width / 4
        pages.put(x, y, printed.say(zh, en) + "：", 8)
        pages.rule(x, y - 16, x + width / 4 - 24, y - 16)
