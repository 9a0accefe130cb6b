"""Stock-take findings as CSV (UTF-8 with BOM so spreadsheet programs show the Chinese): one row per finding.

It writes what `stocktake_data.gather` collected and nothing else; it must never query the register itself.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tracker.reports.stocktake_data import StocktakeReport

COLUMNS = ("stocktake", "kind", "kind_zh", "subject", "classification", "expected", "seen", "method", "reads",
           "peak_rssi", "detail", "resolution", "reason", "resolved_by", "event_seq")


def rows(report: StocktakeReport) -> list[list[object]]:
    sid = report.session.id
    return [[sid, f.kind.value, f.kind.zh, f.subject, f.classification or "", f.expected or "", f.seen or "",
             f.method or "", f.reads, "" if f.peak_rssi is None else f"{f.peak_rssi:g}", f.detail, f.action or "",
             f.reason or "", f.resolved_by or "", f.event_seq or ""] for f in report.findings]


def to_csv(report: StocktakeReport) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows(report))
    return buf.getvalue()


def write_csv(report: StocktakeReport, path: Path) -> Path:
    path.write_text(to_csv(report), encoding="utf-8-sig")
    return path
