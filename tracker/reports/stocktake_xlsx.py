"""Stock-take report as an XLSX workbook (openpyxl): Summary, Places and Findings sheets.

It writes what `stocktake_data.gather` collected and nothing else; it must never query the register itself.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from tracker.domain import local_text
from tracker.reports.stocktake_csv import COLUMNS, rows
from tracker.reports.stocktake_data import StocktakeReport


def write_xlsx(report: StocktakeReport, path: Path) -> Path:
    s = report.session
    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    info = [
        ("清查 Stock-take", f"#{s.id} {s.name}"), ("状态 Status", s.status), ("范围 Scope", ", ".join(s.roots)),
        ("密级 Levels", ", ".join(s.levels) or "all"), ("单位 Units", ", ".join(s.units)),
        ("开始 Started", f"{local_text(s.created_at, report.tz, zone=True)} {s.created_by}"),
        ("应有 Expected", s.expected),
        ("读取 Reads", s.reads), ("未处理 Unresolved", s.unresolved),
        ("开始事件 Start event", s.start_seq), ("结束事件 Close event", s.close_seq or ""),
        ("读取摘要 Reads digest", s.reads_digest or ""),
        ("台账链头 Ledger head", f"{s.ledger_head[0]}:{s.ledger_head[1]}"),
    ]
    for row in info:
        ws.append(list(row))
    ws.append([])
    ws.append(["结果 Finding", "kind", "数量 Count", "未处理 Unresolved"])
    for kind, n, open_ in report.summary():
        ws.append([kind.zh, kind.value, n, open_])
    ws.append([])
    ws.append(["小组 Team", "姓名 Name", "单位 Unit", "签字 Signature"])
    for badge, name, unit in s.team:
        ws.append([badge, name, unit, ""])
    places = wb.create_sheet("Places")
    places.append(["code", "name", "visited", "covered", "expected", "seen", "missing", "misplaced", "not_covered",
                   "unexplained"])
    for p in report.places:
        places.append([p.code, p.name, p.visited, p.covered, p.expected, p.seen, p.missing, p.misplaced,
                       p.not_covered, p.unexplained])
    findings = wb.create_sheet("Findings")
    findings.append(list(COLUMNS))
    for r in rows(report):
        findings.append(r)
    for sheet in (places, findings):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    wb.save(path)
    return path
