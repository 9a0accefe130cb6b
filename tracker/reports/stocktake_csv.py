"""Stock-take findings as CSV (UTF-8 with BOM so spreadsheet programs show the Chinese): one row per finding.

It writes what `stocktake_data.gather` collected and nothing else, through the one writer (`tracker.reports.sheets`,
which neutralises formulas and control characters); it must never query the register itself.
"""

from __future__ import annotations

from pathlib import Path

from tracker.reports import sheets
from tracker.reports.stocktake_data import StocktakeReport

COLUMNS = ("stocktake", "kind", "kind_zh", "subject", "classification", "expected", "seen", "method", "reads",
           "peak_rssi", "detail", "resolution", "reason", "resolved_by", "event_seq")


def rows(report: StocktakeReport) -> list[list[object]]:
    sid = report.session.id
    return [[sid, f.kind.value, f.kind.zh, f.subject, f.classification or "", f.expected or "", f.seen or "",
             f.method or "", f.reads, "" if f.peak_rssi is None else f"{f.peak_rssi:g}", f.detail, f.action or "",
             f.reason or "", f.resolved_by or "", f.event_seq or ""] for f in report.findings]


def to_csv(report: StocktakeReport) -> str:
    return sheets.to_csv(COLUMNS, rows(report))


def write_csv(report: StocktakeReport, path: Path) -> Path:
    return sheets.write_csv(path, COLUMNS, rows(report))
