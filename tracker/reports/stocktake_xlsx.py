"""Stock-take report as an XLSX workbook: Summary, Places and Findings sheets.

It writes what `stocktake_data.gather` collected and nothing else, through the one writer (`tracker.reports.sheets`,
which neutralises formulas and control characters); it must never query the register itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tracker.domain import local_text
from tracker.reports import sheets
from tracker.reports.stocktake_csv import COLUMNS, rows
from tracker.reports.stocktake_data import StocktakeReport


def _summary(report: StocktakeReport) -> list[list[Any]]:
    s = report.session
    out: list[list[Any]] = [
        ["清查 Stock-take", f"#{s.id} {s.name}"], ["状态 Status", s.status], ["范围 Scope", ", ".join(s.roots)],
        ["密级 Levels", ", ".join(s.levels) or "all"], ["单位 Units", ", ".join(s.units)],
        ["开始 Started", f"{local_text(s.created_at, report.tz, zone=True)} {s.created_by}"],
        ["应有 Expected", s.expected],
        ["读取 Reads", s.reads], ["未处理 Unresolved", s.unresolved],
        ["开始事件 Start event", s.start_seq], ["结束事件 Close event", s.close_seq or ""],
        ["读取摘要 Reads digest", s.reads_digest or ""],
        ["台账链头 Ledger head", f"{s.ledger_head[0]}:{s.ledger_head[1]}"],
    ]
    out += [[], ["结果 Finding", "kind", "数量 Count", "未处理 Unresolved"]]
    out += [[kind.zh, kind.value, n, open_] for kind, n, open_ in report.summary()]
    out += [[], ["小组 Team", "姓名 Name", "单位 Unit", "签字 Signature"]]
    out += [[badge, name, unit, ""] for badge, name, unit in s.team]
    return out


PLACE_COLUMNS = ("code", "name", "visited", "covered", "expected", "seen", "missing", "misplaced", "not_covered",
                 "unexplained")


def write_xlsx(report: StocktakeReport, path: Path) -> Path:
    places = [[p.code, p.name, p.visited, p.covered, p.expected, p.seen, p.missing, p.misplaced, p.not_covered,
               p.unexplained] for p in report.places]
    return sheets.write_xlsx(path, [sheets.Sheet("Summary", _summary(report)),
                                    sheets.Sheet("Places", places, header=PLACE_COLUMNS),
                                    sheets.Sheet("Findings", rows(report), header=COLUMNS)])
