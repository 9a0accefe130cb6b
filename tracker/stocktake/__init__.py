"""The quarterly stock-take (清查, RULES §3, R-131, §5 Q6): sessions, read ingestion, reconciliation, resolution, close.

One module per reason to change — `kinds` (the vocabulary every other module uses), `session` (start, team rules,
frozen scope, RFID bindings), `upload` (handheld files and driver reads → raw reads), `ingest` and `writer` (storing
reads in bulk, idempotently), `parts` and `reconcile` (snapshot × reads → findings, in SQL), `findings` (progress,
findings, resolution, the session summary) and `close` (the signed close). Reports are `tracker.reports`. This
package never writes a read into the ledger and never changes custody except through the services.

This file only gathers the public API under one name (`from tracker import stocktake as st`); the modules import one
another directly, never this package, so it adds no import cycle.
"""

from __future__ import annotations

from tracker.stocktake.close import CloseReceipt, close, reads_digest
from tracker.stocktake.findings import (
    FindingView,
    LocationProgress,
    SessionView,
    findings,
    progress,
    resolve,
    resolve_many,
    session_view,
)
from tracker.stocktake.ingest import BULK_READS, IngestResult, LiveIngest, ReadsRefused, RefusedRead, ingest
from tracker.stocktake.kinds import (
    ACKNOWLEDGE,
    ALLOWED,
    CLOSE_LOAN,
    FOUND,
    REGISTER,
    RELOCATE,
    REPORT_MISSING,
    RESOLUTIONS,
    FindingKind,
    ReconcileResult,
    Tuning,
)
from tracker.stocktake.reconcile import reconcile
from tracker.stocktake.session import StocktakeConfig, bind, list_sessions, start
from tracker.stocktake.upload import RawRead, Upload, parse_upload, reads_from_driver, to_us

__all__ = [
    "ACKNOWLEDGE", "ALLOWED", "BULK_READS", "CLOSE_LOAN", "FOUND", "REGISTER", "RELOCATE", "REPORT_MISSING",
    "RESOLUTIONS", "CloseReceipt", "FindingKind", "FindingView", "IngestResult", "LiveIngest", "LocationProgress",
    "RawRead", "ReadsRefused", "ReconcileResult", "RefusedRead", "SessionView", "StocktakeConfig", "Tuning", "Upload",
    "bind", "close", "findings", "ingest", "list_sessions", "parse_upload", "progress", "reads_digest",
    "reads_from_driver", "reconcile", "resolve", "resolve_many", "session_view", "start", "to_us",
]
