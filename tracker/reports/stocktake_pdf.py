"""Stock-take report as PDF (reportlab, embedded CJK font from labels/fonts): session facts, summary table, per-place
progress and lists, the team's signature lines and the ledger anchors (start, close, current head).

It lays out what `stocktake_data.gather` collected and nothing else; it must never query the register itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from labels.render.pdf import cjk_font_name
from tracker.domain import local_text
from tracker.reports.stocktake_data import StocktakeReport
from tracker.text import visible


def _font() -> str:
    """The bundled CJK font, embedded: a signed report must print the same on any machine, viewer or archive."""
    return cjk_font_name()


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=16, leading=22, spaceAfter=6),
        "h": ParagraphStyle("h", fontName=font, fontSize=12, leading=16, spaceBefore=8, spaceAfter=4),
        "p": ParagraphStyle("p", fontName=font, fontSize=9, leading=12),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=8, leading=10),
    }


def _table(rows: list[list[Any]], widths: list[float], style: ParagraphStyle) -> Table:
    data = [[c if isinstance(c, Paragraph) else Paragraph(_esc(c), style) for c in row] for row in rows]
    t = Table(data, colWidths=widths, repeatRows=1)
    t.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return t


def _esc(value: Any) -> str:
    """Text for a reportlab Paragraph (which reads a markup of its own), with control characters shown as
    ``\\x1b`` (`tracker.text.visible`): the signed report shows what the register holds, literally."""
    text = "" if value is None else visible(str(value))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_pdf(report: StocktakeReport, path: Path) -> Path:
    st = _styles()
    s = report.session
    doc = SimpleDocTemplate(str(path), pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm,
                            title=f"Stock-take #{s.id}", author="carrier-tracker")
    width = doc.width
    story: list[Any] = [Paragraph(_esc(f"涉密载体清查报告 Stock-take report #{s.id} — {s.name}"), st["title"])]
    started = local_text(s.created_at, report.tz, zone=True)  # the unit's local time, never a raw UTC stamp
    facts = [
        ["状态 Status", s.status, "开始 Started", f"{started} ({s.created_by})"],
        ["范围 Scope", ", ".join(s.roots), "密级 Levels", ", ".join(s.levels) or "全部 all"],
        ["借出人员单位 Units", ", ".join(s.units) or "—", "应有 Expected / 读取 Reads", f"{s.expected} / {s.reads}"],
        ["开始事件 Start event", f"{s.start_seq}", "结束事件 Close event", f"{s.close_seq or '—'}"],
        ["读取摘要 Reads digest (SHA-256)", s.reads_digest or "（未结束 not closed）", "未处理 Unresolved",
         str(s.unresolved)],
    ]
    story.append(_table(facts, [width * 0.18, width * 0.32, width * 0.18, width * 0.32], st["cell"]))
    story.append(Paragraph("结果汇总 Summary", st["h"]))
    summary: list[list[Any]] = [["结果 Finding", "kind", "数量 Count", "未处理 Unresolved"]]
    summary += [[k.zh + ("（严重）" if k.critical else ""), k.en + (" — critical" if k.critical else ""), n, open_]
                for k, n, open_ in report.summary()]
    story.append(_table(summary, [width * 0.3, width * 0.3, width * 0.2, width * 0.2], st["cell"]))
    story.append(Paragraph("各位置清点情况 Progress per place", st["h"]))
    places: list[list[Any]] = [["位置 Place", "名称 Name", "已清点 Visited", "应有 Expected", "已见 Seen",
                                "未找到 Missing", "错放 Misplaced", "未清点 Not covered", "其他 Unexplained"]]
    places += [[p.code, p.name, "是 yes" if p.visited else "否 no", p.expected, p.seen, p.missing, p.misplaced,
                p.not_covered, p.unexplained] for p in report.places]
    w9 = [width * x for x in (0.14, 0.26, 0.08, 0.08, 0.08, 0.09, 0.09, 0.09, 0.09)]
    story.append(_table(places, w9, st["cell"]))
    story.append(Paragraph("各位置明细 Findings per place", st["h"]))
    if not report.lists_found:
        story.append(Paragraph("（账物相符的载体数量较多，明细见 CSV/XLSX。Carriers found as expected are listed in "
                               "the CSV/XLSX only.）", st["p"]))
    for place, items in report.by_place():
        rows: list[list[Any]] = [["结果 Finding", "编号 Code", "密级 Level", "发现于 Seen", "方式 By", "读取 Reads",
                                  "说明 Detail", "处理 Resolution"]]
        for f in items:
            resolution = f"{f.action}: {f.reason} ({f.resolved_by}, #{f.event_seq})" if f.action else ""
            rows.append([f.kind.zh, f.subject, f.classification or "", f.seen or "", f.method or "", f.reads,
                         f.detail, resolution])
        w8 = [width * x for x in (0.11, 0.12, 0.08, 0.13, 0.05, 0.05, 0.22, 0.24)]
        story.append(KeepTogether([Paragraph(_esc(place), st["p"]), _table(rows, w8, st["cell"]),
                                   Spacer(1, 3 * mm)]))
    sign = [["工号 Badge", "姓名 Name", "单位 Unit", "签字 Signature", "日期 Date"]]
    sign += [[b, n, u, "", ""] for b, n, u in s.team]
    sig_table = _table(sign, [width * 0.15, width * 0.15, width * 0.2, width * 0.3, width * 0.2], st["cell"])
    sig_table.setStyle(TableStyle([("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white]),
                                   ("TOPPADDING", (0, 1), (-1, -1), 12), ("BOTTOMPADDING", (0, 1), (-1, -1), 12)]))
    story.append(KeepTogether([Paragraph("清查小组签字 Team signatures", st["h"]), sig_table]))
    story.append(Spacer(1, 4 * mm))
    head = f"台账链头 Ledger head at report time: {s.ledger_head[0]}:{s.ledger_head[1]}"
    if s.close_head:
        head += f" — 结束时 at close: {(s.close_seq or 1) - 1}:{s.close_head}"
    story.append(Paragraph(_esc(head), st["p"]))
    doc.build(story)
    return path
