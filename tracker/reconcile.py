"""Reconciliation (清查核对): the frozen expected snapshot × the stored reads → one finding per carrier, per
unexplained code and per unvisited place, computed as set operations inside the database.

Every step is one SQL statement over whole tables (GROUP BY, window functions, joins, INSERT … SELECT) that runs the
same on SQLite and PostgreSQL; Python only loops over the few things that are not carriers: the EPCs that match no
recorded tag (decoded once through `labels.codes`), the locations of the scope (coverage roll-up) and the handful of
ambiguous or cloned codes whose detail text is written out. The two passes over a million rows (reads folded per
code, then the snapshot against them) run by code range in parts, on a SQLite file on worker threads with their
own connections, each filling an in-memory database that the reconciling connection then attaches (`_Parts`).

Placement of a code: a person's scan wins (the latest scan); otherwise RFID reads place a tag where they are both
strongest (within `rssi_margin_db` of its peak) and most numerous (`count_ratio` times any rival), and anything less
clear-cut is reported as ambiguous. This module never checks permissions, never writes the ledger and never
commits: `tracker.services.stocktake` does that.
"""

from __future__ import annotations

import enum
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, text
from sqlalchemy.orm import Session

from labels.codes import epc_to_carrier_code
from tracker.bulk import placeholder
from tracker.domain import CarrierStatus, Classification
from tracker.prepared import driver
from tracker.store import attach_for_transaction, sqlite_file


class FindingKind(enum.StrEnum):
    """What a reconciliation can say about a carrier, a code or a place."""

    FOUND = "found"
    MISPLACED = "misplaced"
    MISSING = "missing"
    NOT_COVERED = "not_covered"
    LOAN_NOT_CLOSED = "loan_not_closed"
    AMBIGUOUS = "ambiguous"
    GONE_SEEN = "gone_seen"
    MISSING_SEEN = "missing_seen"
    UNKNOWN_CODE = "unknown_code"
    OUTSIDE_SCOPE = "outside_scope"
    CLONE_SUSPECT = "clone_suspect"
    UNCONFIRMED_TOP_SECRET = "unconfirmed_top_secret"
    NOT_VISITED = "not_visited"

    @property
    def zh(self) -> str:
        return _KIND_ZH[self]

    @property
    def en(self) -> str:
        return _KIND_EN[self]

    @property
    def critical(self) -> bool:
        return self in (FindingKind.GONE_SEEN, FindingKind.CLONE_SUSPECT)

    @property
    def needs_resolution(self) -> bool:
        return self is not FindingKind.FOUND


_KIND_ZH = {
    FindingKind.FOUND: "账物相符",
    FindingKind.MISPLACED: "错放",
    FindingKind.MISSING: "未找到",
    FindingKind.NOT_COVERED: "未清点",
    FindingKind.LOAN_NOT_CLOSED: "借出未归还登记",
    FindingKind.AMBIGUOUS: "位置不确定",
    FindingKind.GONE_SEEN: "已销毁/已退还/已移交却被发现",
    FindingKind.MISSING_SEEN: "下落不明载体被发现",
    FindingKind.UNKNOWN_CODE: "未登记编号",
    FindingKind.OUTSIDE_SCOPE: "清查范围外载体",
    FindingKind.CLONE_SUSPECT: "疑似克隆标签",
    FindingKind.UNCONFIRMED_TOP_SECRET: "绝密载体仅RFID读到",
    FindingKind.NOT_VISITED: "位置未清点",
}
_KIND_EN = {
    FindingKind.FOUND: "found",
    FindingKind.MISPLACED: "misplaced",
    FindingKind.MISSING: "missing",
    FindingKind.NOT_COVERED: "not covered",
    FindingKind.LOAN_NOT_CLOSED: "on loan but in store",
    FindingKind.AMBIGUOUS: "ambiguous placement",
    FindingKind.GONE_SEEN: "seen although off the books",
    FindingKind.MISSING_SEEN: "reported missing, now seen",
    FindingKind.UNKNOWN_CODE: "unknown code",
    FindingKind.OUTSIDE_SCOPE: "outside the scope",
    FindingKind.CLONE_SUSPECT: "clone suspicion",
    FindingKind.UNCONFIRMED_TOP_SECRET: "绝密 seen only by RFID",
    FindingKind.NOT_VISITED: "location not visited",
}


@dataclass(frozen=True)
class Tuning:
    """The knobs of placement and clone detection, frozen on the session when it starts."""

    clone_window_s: float = 120.0
    rssi_margin_db: float = 6.0
    count_ratio: float = 2.0
    company_prefix: str | None = None
    gid_manager: int = 0


@dataclass(frozen=True)
class ReconcileResult:
    counts: dict[FindingKind, int]
    decoded_epcs: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())


_GONE = tuple(s.value for s in CarrierStatus if s.gone)
_TS = Classification.TOP_SECRET.value


_TEMP_COLUMNS = {
    "st_other": "batch_id INTEGER, seq INTEGER, kind VARCHAR(8), code VARCHAR(64), at_us BIGINT, "
                "rssi DOUBLE PRECISION, antenna INTEGER, loc_id INTEGER, holder_id INTEGER",
    "st_bc": "code VARCHAR(64) PRIMARY KEY, n INTEGER, lo INTEGER, hi INTEGER, bid INTEGER, seq INTEGER",
    "st_epc": "subj VARCHAR(64), carrier_id INTEGER, raw VARCHAR(64)",
    "st_cx": "subj VARCHAR(64) PRIMARY KEY",
    "st_sight": "subj VARCHAR(64), carrier_id INTEGER, raw VARCHAR(64), kind VARCHAR(8), loc_id INTEGER, "
                "holder_id INTEGER, device VARCHAR(64), n INTEGER, peak DOUBLE PRECISION, first_us BIGINT, "
                "last_us BIGINT, last_seq INTEGER",
    "st_place": "subj VARCHAR(64), carrier_id INTEGER, n INTEGER, loc_id INTEGER, holder_id INTEGER, "
                "method VARCHAR(8), ambiguous INTEGER, peak DOUBLE PRECISION, rf_places INTEGER",
    "st_e": "carrier_id INTEGER, n INTEGER, lo INTEGER, hi INTEGER, found INTEGER",
    "st_mx": "code VARCHAR(64)",
    "st_x": "carrier_id INTEGER, n INTEGER, lo INTEGER, hi INTEGER",
    "st_visit": "loc_id INTEGER",
    "st_hvisit": "holder_id INTEGER",
}
# Keyed work tables are clustered on their key on SQLite (one B-tree instead of a table plus an index).
_CLUSTERED = ("st_bc", "st_cx")


def analyze(session: Session, table: str) -> None:
    """PostgreSQL plans with table statistics: a table just filled (or a temporary one, which autovacuum never
    sees) looks empty to the planner, which then picks nested loops that scan it once per row. SQLite's planner
    uses the indexes and needs nothing here."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {table}"))


def _create_sql(name: str, sqlite: bool, p: str = "") -> tuple[str, str]:
    """DROP and CREATE of a typed work table: temporary, or in the attached database a `_Part.p` prefix names."""
    table = p + name
    kind = "TABLE" if p else "TEMPORARY TABLE"
    suffix = " WITHOUT ROWID" if name in _CLUSTERED and sqlite else ""
    return f"DROP TABLE IF EXISTS {table}", f"CREATE {kind} {table} ({_TEMP_COLUMNS[name]}){suffix}"


def _create_temp(session: Session, name: str) -> None:
    for sql in _create_sql(name, session.get_bind().dialect.name == "sqlite"):
        session.execute(text(sql))


def _temp(session: Session, name: str, select_sql: str, params: dict[str, Any]) -> None:
    """A typed temporary work table (typed, so SQLite's joins on it can use an index) filled by one INSERT … SELECT."""
    _create_temp(session, name)
    session.execute(text(f"INSERT INTO {name} {select_sql}"), params)
    analyze(session, name)


def _drop_temps(session: Session) -> None:
    for name in _TEMP_COLUMNS:
        session.execute(text(f"DROP TABLE IF EXISTS {name}"))


def decode_unmatched_epcs(session: Session, sid: int, tuning: Tuning) -> int:
    """EPCs matching no carrier's recorded tag are decoded once to the carrier code they carry (GIAI/GID)."""
    rows = session.execute(text(
        "SELECT DISTINCT r.code FROM st_other r WHERE r.kind = 'epc' "
        "AND NOT EXISTS (SELECT 1 FROM carriers c WHERE c.epc = r.code) "
        "AND NOT EXISTS (SELECT 1 FROM stocktake_epc_map m WHERE m.session_id = :s AND m.epc = r.code)"
    ), {"s": sid}).scalars().all()
    if not rows:
        return 0
    values = [{"s": sid, "epc": epc,
               "code": epc_to_carrier_code(epc, tuning.company_prefix, gid_manager=tuning.gid_manager)}
              for epc in rows]
    session.execute(text("INSERT INTO stocktake_epc_map (session_id, epc, carrier_code) VALUES (:s, :epc, :code)"),
                    values)
    return len(values)


# The carrier a code stands for: by code (a printed label), by the EPC recorded at labelling, or by the EPC decoded.
_RESOLVE = """
LEFT JOIN carriers cb ON g.kind = 'barcode' AND cb.code = g.code
LEFT JOIN carriers ce ON g.kind = 'epc' AND ce.epc = g.code
LEFT JOIN stocktake_epc_map m ON g.kind = 'epc' AND ce.id IS NULL AND m.session_id = :s AND m.epc = g.code
LEFT JOIN carriers cm ON cm.code = m.carrier_code
"""

# A place key is the location id, or minus the holder's id: one integer per read, so MIN = MAX says "one place".
_PLACE_KEY = "CASE WHEN loc_id IS NOT NULL THEN loc_id ELSE -holder_id END"

# Pass 1 over the bulk, people's scans of printed codes, by code range in parts (`_Part`): per code, how often and
# between which place keys, and the key (batch, seq) of its read when it was read once. SQLite folds each read into
# its code's row (an upsert into a table clustered on the code), which costs one B-tree probe a read where GROUP BY
# would first sort a million codes; PostgreSQL hashes a GROUP BY (it refuses an upsert that touches one row twice).
# A code read in one place only by people — the bulk of a stock-take — is placed right here.
_BARCODES_SQLITE = f"""
INSERT INTO {{p}}st_bc (code, n, lo, hi, bid, seq)
SELECT code, 1, {_PLACE_KEY}, {_PLACE_KEY}, batch_id, seq FROM stocktake_reads
WHERE session_id = :s AND kind = 'barcode'{{codes}} AND 1 = 1
ON CONFLICT (code) DO UPDATE SET n = st_bc.n + 1, lo = MIN(st_bc.lo, excluded.lo), hi = MAX(st_bc.hi, excluded.hi)
"""  # noqa: S608 (module constants only)
_BARCODES_GROUPED = f"""
INSERT INTO {{p}}st_bc (code, n, lo, hi, bid, seq)
SELECT code, COUNT(*), MIN({_PLACE_KEY}), MAX({_PLACE_KEY}), MIN(batch_id), MIN(seq) FROM stocktake_reads
WHERE session_id = :s AND kind = 'barcode'{{codes}} GROUP BY code
"""  # noqa: S608 (module constants only)
# Pass 2 of a part, over the snapshot carriers whose codes are in its range, in the snapshot's key order (the unary
# plus keeps SQLite off the code index, which would fetch each row again by key): how the carrier's code was read,
# and whether that makes it found — read by people exactly where the register has it, and nowhere else. Carriers
# found with one read, the bulk, are left out: they are the snapshot carriers that end up without a finding. Kept:
# the carriers not found (a few per cent), and those found with several reads, whose count is stored.
_SNAPSHOT_PASS = """
INSERT INTO {p}st_e (carrier_id, n, lo, hi, found)
SELECT carrier_id, n, lo, hi, found FROM (
  SELECT e.carrier_id, q.n, q.lo, q.hi,
         CASE WHEN q.lo = q.hi AND q.lo = COALESCE(e.loc_id, -e.holder_id) THEN 1 ELSE 0 END AS found
  FROM stocktake_expected e LEFT JOIN {p}st_bc q ON q.code = e.code
  WHERE e.session_id = :s{codes}) y
WHERE found = 0 OR n > 1
"""

# Every read that is not a printed code (RFID, location and badge scans): a few per cent, kept apart so the passes
# that need only them do not scan the bulk again.
_OTHER_READS = """
SELECT batch_id, seq, kind, code, at_us, rssi, antenna, loc_id, holder_id FROM stocktake_reads
WHERE session_id = :s AND kind <> 'barcode'
"""

# EPCs read, resolved to the carrier they stand for (by recorded tag, else by the decoded code).
_EPCS = """
SELECT COALESCE(ce.code, cm.code, g.code), COALESCE(ce.id, cm.id), g.code
FROM (SELECT DISTINCT code FROM st_other WHERE kind = 'epc') g
LEFT JOIN carriers ce ON ce.epc = g.code
LEFT JOIN stocktake_epc_map m ON ce.id IS NULL AND m.session_id = :s AND m.epc = g.code
LEFT JOIN carriers cm ON cm.code = m.carrier_code
"""

# The subjects that need the detailed placement: printed codes seen in several places, and whatever RFID saw.
_MULTI_PLACE = "INSERT INTO {p}st_mx (code) SELECT code FROM {p}st_bc WHERE lo <> hi"
_RFID_SEEN = ("INSERT INTO st_cx (subj) SELECT DISTINCT subj FROM st_epc e "
              "WHERE NOT EXISTS (SELECT 1 FROM st_cx c WHERE c.subj = e.subj)")

# Pass 2, only for those: reads grouped per code, kind, place and batch (device), resolved to a carrier. RFID reads
# are all in st_other. A printed code read once is its read, fetched by the key st_bc kept; only printed codes read
# more than once need the bulk scanned again (`_SCANS_AGAIN`), and usually there is none among these codes.
_WANTED = "(SELECT subj AS code FROM st_cx UNION SELECT raw FROM st_epc)"
_GROUPED_READS = """
SELECT code, kind, loc_id, holder_id, batch_id, COUNT(*) AS n, MAX(rssi) AS peak, MIN(at_us) AS first_us,
       MAX(at_us) AS last_us, MAX(seq) AS last_seq
FROM {table} WHERE {where} GROUP BY code, kind, loc_id, holder_id, batch_id"""
# CROSS JOIN (conditions in WHERE, so PostgreSQL reads it as an inner join) keeps SQLite driving these by the few
# wanted codes. The work tables have no statistics on SQLite, and a newer SQLite (3.51, tried here) then chose to
# scan all of st_bc and probe the wanted codes per row: 3 s at a million instead of 0.05.
_READ_ONCE = f"""
SELECT r.code, r.kind, r.loc_id, r.holder_id, r.batch_id, 1, r.rssi, r.at_us, r.at_us, r.seq
FROM {_WANTED} w CROSS JOIN {{p}}st_bc q CROSS JOIN stocktake_reads r
WHERE q.code = w.code AND q.n = 1 AND r.session_id = :s AND r.batch_id = q.bid AND r.seq = q.seq"""  # noqa: S608
_SCANS_AGAIN = f"SELECT w.code FROM {_WANTED} w CROSS JOIN {{p}}st_bc q WHERE q.code = w.code AND q.n > 1"  # noqa: S608
_SIGHTINGS = """
SELECT COALESCE(cb.code, ce.code, cm.code, g.code) AS subj, COALESCE(cb.id, ce.id, cm.id) AS carrier_id,
       g.code AS raw, g.kind, g.loc_id, g.holder_id, bt.device, g.n, g.peak, g.first_us, g.last_us, g.last_seq
FROM ({reads}) g
JOIN stocktake_batches bt ON bt.id = g.batch_id
""" + _RESOLVE


def _sightings_sql(parts: Sequence[_Part], again: bool) -> str:
    """The sightings statement; `again` when some wanted printed code was read more than once."""
    arms = [_GROUPED_READS.format(table="st_other", where="kind = 'epc'"), *_each(_READ_ONCE, parts)]
    if again:
        again_codes = " UNION ALL ".join(_each(_SCANS_AGAIN, parts))
        arms.append(_GROUPED_READS.format(
            table="stocktake_reads", where=f"session_id = :s AND kind = 'barcode' AND code IN ({again_codes})"))
    return _SIGHTINGS.format(reads=" UNION ALL ".join(arms))


# One placement per code: the latest person's scan, else the RFID placement with its ambiguity.
_PLACEMENT = """
WITH scan AS (
  SELECT subj, loc_id, holder_id, SUM(n) OVER (PARTITION BY subj) AS scan_n,
         ROW_NUMBER() OVER (PARTITION BY subj ORDER BY COALESCE(last_us, -1) DESC, last_seq DESC,
                            COALESCE(loc_id, 0) DESC, COALESCE(holder_id, 0) DESC) AS rk
  FROM st_sight WHERE kind = 'barcode'),
rf AS (
  SELECT subj, loc_id, holder_id, SUM(n) AS n, MAX(peak) AS peak
  FROM st_sight WHERE kind = 'epc' GROUP BY subj, loc_id, holder_id),
rf2 AS (
  SELECT rf.*, CASE WHEN peak IS NULL OR best IS NULL OR peak >= best - :margin THEN 1 ELSE 0 END AS strong
  FROM (SELECT rf.*, MAX(peak) OVER (PARTITION BY subj) AS best FROM rf) rf),
rf3 AS (
  SELECT rf2.*, ROW_NUMBER() OVER (PARTITION BY subj, strong ORDER BY n DESC, COALESCE(peak, -1000) DESC,
                                   COALESCE(loc_id, 0), COALESCE(holder_id, 0)) AS rk
  FROM rf2),
rfp AS (
  SELECT subj, MAX(CASE WHEN strong = 1 AND rk = 1 THEN loc_id END) AS loc_id,
         MAX(CASE WHEN strong = 1 AND rk = 1 THEN holder_id END) AS holder_id,
         MAX(CASE WHEN strong = 1 AND rk = 1 THEN n END) AS n1,
         MAX(CASE WHEN strong = 1 AND rk = 2 THEN n END) AS n2,
         MAX(CASE WHEN strong = 0 THEN n END) AS nweak,
         SUM(n) AS n, MAX(peak) AS peak, COUNT(*) AS places
  FROM rf3 GROUP BY subj),
subjects AS (
  SELECT subj, MAX(carrier_id) AS carrier_id, SUM(n) AS n FROM st_sight GROUP BY subj)
SELECT s.subj, s.carrier_id, s.n,
       CASE WHEN sc.subj IS NOT NULL THEN sc.loc_id ELSE r.loc_id END AS loc_id,
       CASE WHEN sc.subj IS NOT NULL THEN sc.holder_id ELSE r.holder_id END AS holder_id,
       CASE WHEN sc.subj IS NOT NULL THEN 'scan' ELSE 'rfid' END AS method,
       CASE WHEN sc.subj IS NULL AND ((r.n2 IS NOT NULL AND r.n2 * :ratio > r.n1)
                                      OR (r.nweak IS NOT NULL AND r.nweak > :ratio * r.n1)) THEN 1 ELSE 0 END
         AS ambiguous,
       r.peak, COALESCE(r.places, 0) AS rf_places
FROM subjects s
LEFT JOIN scan sc ON sc.subj = s.subj AND sc.rk = 1
LEFT JOIN rfp r ON r.subj = s.subj
"""

# What the reconciling connection takes from each part: codes read in several places; the read counts of carriers
# found with several reads (`stocktake_found`; the few of them that also have a placement to weigh, an RFID
# sighting, are taken back out afterwards); and the carriers not found, with how their codes were read, if at all.
_TAKE_MULTI = "INSERT INTO st_cx (subj) SELECT code FROM {p}st_mx"
_FOUND = ("INSERT INTO stocktake_found (session_id, carrier_id, reads) "
          "SELECT :s, carrier_id, n FROM {p}st_e WHERE found = 1")
_TAKE_NOT_FOUND = "INSERT INTO st_x SELECT carrier_id, n, lo, hi FROM {p}st_e WHERE found = 0"
_PLACED_ELSEWHERE = """
DELETE FROM stocktake_found WHERE session_id = :s
AND carrier_id IN (SELECT carrier_id FROM st_place WHERE carrier_id IS NOT NULL)
"""

# Every other snapshot carrier gets a finding: those with a placement to weigh (st_place, a few thousand), and those
# not found without one (st_x), with `qlo` the one place people scanned their code in, if there is one. Driven by
# these few rows, never by probing the placements once per snapshot carrier.
_EXPECTED_FINDINGS = """
INSERT INTO stocktake_findings (session_id, kind, subject, carrier_id, classification, expected_loc_id,
    expected_holder_id, seen_loc_id, seen_holder_id, method, reads, peak_rssi, detail)
SELECT :s,
  CASE
    WHEN x.seen = 0 THEN
      CASE WHEN x.loc_id IS NOT NULL THEN
             (CASE WHEN EXISTS (SELECT 1 FROM stocktake_scope sc WHERE sc.session_id = :s
                                AND sc.location_id = x.loc_id AND sc.covered) THEN 'missing' ELSE 'not_covered' END)
           WHEN EXISTS (SELECT 1 FROM st_hvisit hv WHERE hv.holder_id = x.holder_id) THEN 'missing'
           ELSE 'not_covered' END
    WHEN x.ambiguous = 1 THEN 'ambiguous'
    WHEN x.holder_id IS NOT NULL THEN
      CASE WHEN x.seen_loc IS NOT NULL THEN 'loan_not_closed' WHEN x.seen_holder = x.holder_id THEN 'found'
           ELSE 'misplaced' END
    WHEN x.seen_loc = x.loc_id THEN 'found'
    ELSE 'misplaced' END,
  x.code, x.carrier_id, x.classification, x.loc_id, x.holder_id, x.seen_loc, x.seen_holder, x.method, x.n,
  x.peak, ''
FROM (
  SELECT y.carrier_id, y.code, y.classification, y.loc_id, y.holder_id,
         CASE WHEN y.psubj IS NOT NULL OR y.qlo IS NOT NULL THEN 1 ELSE 0 END AS seen,
         COALESCE(y.ambiguous, 0) AS ambiguous,
         CASE WHEN y.psubj IS NOT NULL THEN y.ploc WHEN y.qlo > 0 THEN y.qlo END AS seen_loc,
         CASE WHEN y.psubj IS NOT NULL THEN y.pholder WHEN y.qlo < 0 THEN -y.qlo END AS seen_holder,
         CASE WHEN y.psubj IS NOT NULL THEN y.method WHEN y.qlo IS NOT NULL THEN 'scan' END AS method,
         COALESCE(y.pn, CASE WHEN y.qlo IS NOT NULL THEN y.qn END, 0) AS n, y.peak
  FROM (
    SELECT e.carrier_id, e.code, e.classification, e.loc_id, e.holder_id, p.subj AS psubj, p.ambiguous,
           p.loc_id AS ploc, p.holder_id AS pholder, p.method, p.n AS pn, p.peak, NULL AS qlo, NULL AS qn
    FROM st_place p CROSS JOIN stocktake_expected e  -- CROSS: SQLite keeps the few placements outside
    WHERE e.session_id = :s AND e.carrier_id = p.carrier_id
    UNION ALL
    SELECT e.carrier_id, e.code, e.classification, e.loc_id, e.holder_id, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, CASE WHEN s.lo = s.hi THEN s.lo END, s.n
    FROM st_x s JOIN stocktake_expected e ON e.session_id = :s AND e.carrier_id = s.carrier_id
    WHERE NOT EXISTS (SELECT 1 FROM st_place p WHERE p.carrier_id = s.carrier_id)) y) x
"""

# Codes seen that the snapshot does not explain: placed subjects, and printed codes seen in one place that are no
# expected carrier's code. A carrier of a level outside the filter, seen where the register has it inside the scope,
# is explained (just not counted); seen anywhere else it is outside the scope.
_UNEXPLAINED_FINDINGS = """
INSERT INTO stocktake_findings (session_id, kind, subject, carrier_id, classification, expected_loc_id,
    expected_holder_id, seen_loc_id, seen_holder_id, method, reads, peak_rssi, detail)
SELECT :s,
  CASE WHEN c.id IS NULL THEN 'unknown_code'
       WHEN c.status IN :gone THEN 'gone_seen'
       WHEN c.status = 'missing' THEN 'missing_seen'
       ELSE 'outside_scope' END,
  p.subj, c.id, c.classification, c.location_id, c.holder_id, p.loc_id, p.holder_id, p.method, p.n, p.peak,
  COALESCE(c.status, '')
FROM (SELECT subj, carrier_id, n, loc_id, holder_id, method, ambiguous, peak FROM st_place{stray}) p
LEFT JOIN stocktake_expected e ON e.session_id = :s AND e.carrier_id = p.carrier_id
LEFT JOIN carriers c ON c.id = p.carrier_id
WHERE e.carrier_id IS NULL
  AND NOT (c.id IS NOT NULL AND c.status NOT IN :gone AND c.status <> 'missing' AND c.location_id IS NOT NULL
           AND p.loc_id IS NOT NULL AND c.location_id = p.loc_id AND p.ambiguous = 0
           AND EXISTS (SELECT 1 FROM stocktake_scope s2 WHERE s2.session_id = :s AND s2.location_id = c.location_id))
"""

_STRAY_CODES = """
      UNION ALL
      SELECT q.code, cq.id, q.n, CASE WHEN q.lo > 0 THEN q.lo END, CASE WHEN q.lo < 0 THEN -q.lo END, 'scan', 0, NULL
      FROM {p}st_bc q LEFT JOIN carriers cq ON cq.code = q.code
      WHERE q.lo = q.hi AND NOT EXISTS (SELECT 1 FROM stocktake_expected eq WHERE eq.session_id = :s
                                        AND eq.code = q.code)"""

_TOP_SECRET_RFID_ONLY = """
INSERT INTO stocktake_findings (session_id, kind, subject, carrier_id, classification, expected_loc_id,
    expected_holder_id, seen_loc_id, seen_holder_id, method, reads, peak_rssi, detail)
SELECT :s, 'unconfirmed_top_secret', c.code, c.id, c.classification, c.location_id, c.holder_id, p.loc_id,
       p.holder_id, p.method, p.n, p.peak, ''
FROM st_place p JOIN carriers c ON c.id = p.carrier_id
WHERE p.method = 'rfid' AND c.classification = :ts
"""

# Two devices seeing the same code at two different places within the clone window of each other.
# Two devices seeing the same code at two different places within the clone window of each other. An RFID reader's
# sightings count only where that reader heard the tag strongest, and only if that is strong for the tag at all:
# a cross-read from the next shelf is not a second place.
_CLONES = """
WITH best AS (SELECT subj, MAX(peak) AS best FROM st_sight WHERE kind = 'epc' GROUP BY subj),
epc AS (
  SELECT g.subj, g.device, g.loc_id, g.holder_id, g.first_us, g.last_us,
         ROW_NUMBER() OVER (PARTITION BY g.subj, g.device ORDER BY COALESCE(g.peak, -1000) DESC, g.n DESC,
                            COALESCE(g.loc_id, 0), COALESCE(g.holder_id, 0)) AS rk
  FROM st_sight g JOIN best b ON b.subj = g.subj
  WHERE g.kind = 'epc' AND (g.peak IS NULL OR b.best IS NULL OR g.peak >= b.best - :margin)),
sig AS (
  SELECT subj, device, loc_id, holder_id, first_us, last_us FROM st_sight WHERE kind = 'barcode'
  UNION ALL
  SELECT subj, device, loc_id, holder_id, first_us, last_us FROM epc WHERE rk = 1)
SELECT a.subj, a.device, a.loc_id, a.holder_id, b.device, b.loc_id, b.holder_id, a.first_us, b.first_us
FROM sig a JOIN sig b ON b.subj = a.subj AND a.device < b.device
WHERE (COALESCE(a.loc_id, 0) <> COALESCE(b.loc_id, 0) OR COALESCE(a.holder_id, 0) <> COALESCE(b.holder_id, 0))
  AND a.first_us IS NOT NULL AND b.first_us IS NOT NULL
  AND a.first_us <= b.last_us + :window AND b.first_us <= a.last_us + :window
ORDER BY a.subj, a.device, b.device
"""


# SQLite settings of a reconciling connection: page caches of 256 MiB and a memory map of up to 1 GiB.
_SQLITE_SIZES = {"main.cache_size": -262144, "temp.cache_size": -262144, "mmap_size": 1 << 30}


@contextmanager
def _sized(raw: Any) -> Iterator[None]:
    """The work tables of a big stock-take fit in memory: nothing is written to a temp file or spilled to the WAL
    before commit. The snapshot and the reads are read through a memory map instead of being copied page by page
    into the cache (measured: a few tenths of a second at a million). The connection's own settings come back
    afterwards, whatever happens (it goes back to the pool). A database in memory has no memory map to set."""
    saved: dict[str, int] = {}
    for p, size in _SQLITE_SIZES.items():
        row = raw.execute(f"PRAGMA {p}").fetchone()
        if row is not None:
            saved[p] = int(row[0])
            raw.execute(f"PRAGMA {p} = {size}")
    try:
        yield
    finally:
        for p, size in saved.items():
            raw.execute(f"PRAGMA {p} = {size}")


def reconcile(session: Session, sid: int, tuning: Tuning) -> ReconcileResult:
    """Replace the session's findings with a fresh reconciliation; runs inside the caller's transaction, which must
    not itself have written reads or the snapshot: on a SQLite file, the passes over them (`_Parts`) run on other
    connections, which see what is committed."""
    if session.get_bind().dialect.name != "sqlite":
        return _reconcile(session, sid, tuning)
    with _sized(driver(session).dbapi):  # PRAGMAs need no SQLAlchemy state
        return _reconcile(session, sid, tuning)


# The two passes over a million rows (the per-code fold of the reads, then the snapshot against it) take most of a
# reconciliation; on a SQLite file they run in parts by code range, at most `PARALLEL`, each on a worker thread
# with its own connection writing into an in-memory database of its own. A part has at least PART_CARRIERS
# snapshot carriers, so a small stock-take runs in one part, on one worker.
PART_CARRIERS = 200_000
PARALLEL = max(1, min(os.cpu_count() or 1, 4))  # parts at most: one per core, and a few


def parts_for(carriers: int) -> int:
    """How many parts a SQLite-file reconciliation of a snapshot this size runs in."""
    return max(1, min(PARALLEL, carriers // PART_CARRIERS))


@dataclass(frozen=True)
class _Part:
    """Codes in [low, high), and the schema their work tables (st_bc, st_mx and st_e) are in:
    "" for temporary tables of the reconciling connection (PostgreSQL, or a SQLite database no other connection can
    open), else the alias of an in-memory database (`file:/…?vfs=memdb`, shared by the connections of this process
    that attach it)."""

    schema: str = ""
    low: str | None = None
    high: str | None = None

    @property
    def p(self) -> str:
        return f"{self.schema}." if self.schema else ""

    @property
    def uri(self) -> str:
        return f"file:/tracker-{self.schema}?vfs=memdb"

    def codes(self, column: str) -> str:
        return (f" AND {column} >= :low" if self.low is not None else "") + \
            (f" AND {column} < :high" if self.high is not None else "")

    def fill(self, execute: Callable[[str, dict[str, Any]], Any], sid: int, sqlite: bool,
             after: Callable[[str], None] = lambda _table: None) -> None:
        """Create and fill this part's st_bc (the fold), st_mx (codes read in several places, picked out here so
        the reconciling connection does not scan st_bc for them) and st_e (the snapshot pass)."""
        params = {"s": sid, "low": self.low, "high": self.high}
        for name in ("st_bc", "st_mx", "st_e"):
            for sql in _create_sql(name, sqlite, self.p):
                execute(sql, {})
        execute((_BARCODES_SQLITE if sqlite else _BARCODES_GROUPED).format(p=self.p, codes=self.codes("code")),
                params)
        after("st_bc")
        execute(_MULTI_PLACE.format(p=self.p), {})
        execute(_SNAPSHOT_PASS.format(p=self.p, codes=self.codes("+e.code")), params)
        after("st_e")


def _each(template: str, parts: Sequence[_Part]) -> list[str]:
    return [template.format(p=part.p) for part in parts]


class _Parts:
    """The parts of one reconciliation, started on entry so the reconciling connection does its own small steps
    meanwhile; `done` hands them over attached to that connection. Workers read what is committed (WAL readers take
    no lock) while the reconciling transaction holds the write lock, so nothing can commit under them."""

    def __init__(self, session: Session, sid: int, expected: int) -> None:
        self.session, self.sid, self.expected = session, sid, expected
        bind = session.get_bind()
        self.engine = bind if isinstance(bind, Engine) else bind.engine
        self.parts: list[_Part] = []
        self.workers: list[Any] = []
        self.pool: ThreadPoolExecutor | None = None
        self.futures: list[Future[None]] = []

    def __enter__(self) -> _Parts:
        session, sid = self.session, self.sid
        sqlite = self.engine.dialect.name == "sqlite"
        if not sqlite_file(self.engine):
            part = _Part()
            part.fill(lambda sql, params: session.execute(text(sql), params), sid, sqlite,
                      lambda table: analyze(session, table))
            self.parts = [part]
            return self
        n = self.expected
        count = parts_for(n)
        # Bounds at even steps of the snapshot's codes: read codes outside the snapshot fall in some range too.
        bounds: list[str | None] = [None]
        for k in range(1, count):
            code = session.execute(text(
                "SELECT code FROM stocktake_expected WHERE session_id = :s ORDER BY code LIMIT 1 OFFSET :k"),
                {"s": sid, "k": n * k // count}).scalar()
            if code is not None and code != bounds[-1]:
                bounds.append(code)
        bounds.append(None)
        token = secrets.token_hex(6)
        self.parts = [_Part(f"rc_{token}_{k}", bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1)]
        self.pool = ThreadPoolExecutor(max_workers=len(self.parts), thread_name_prefix="reconcile")
        self.futures = [self.pool.submit(self._work, part) for part in self.parts]
        return self

    def _work(self, part: _Part) -> None:
        raw = self.engine.raw_connection()
        self.workers.append(raw)  # list.append is atomic: closed by __exit__ whatever happens here
        con: Any = raw.driver_connection
        con.execute(f"ATTACH DATABASE ? AS {part.schema}", (part.uri,))
        with _sized(con):
            con.execute("BEGIN")
            try:
                part.fill(con.execute, self.sid, True)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def done(self) -> Iterator[_Part]:
        """The parts in code order as each is done, attached to the reconciling connection, so it copies one part's
        results while later workers still run. Code order, not the order they finish: codes follow registration,
        so what reaches `stocktake_found` arrives in key order, appended."""
        if not self.futures:  # one part, on the reconciling connection: already done
            yield from self.parts
            return
        for part, future in zip(self.parts, self.futures, strict=True):
            future.result()
            attach_for_transaction(self.session, part.schema, part.uri)
            yield part

    def __exit__(self, *_exc: object) -> None:
        """Worker connections go back to the pool with their database detached: once the reconciling connection has
        attached it, it lives until that connection is checked in."""
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        for raw in self.workers:
            try:
                for _seq, name, _file in raw.driver_connection.execute("PRAGMA database_list").fetchall():
                    if name.startswith("rc_"):
                        raw.driver_connection.execute(f"DETACH DATABASE {name}")
            finally:
                raw.close()


def _reconcile(session: Session, sid: int, tuning: Tuning) -> ReconcileResult:
    for table in ("stocktake_reads", "stocktake_expected", "stocktake_findings"):
        analyze(session, table)
    session.execute(text("DELETE FROM stocktake_findings WHERE session_id = :s"), {"s": sid})
    session.execute(text("DELETE FROM stocktake_found WHERE session_id = :s"), {"s": sid})
    # The snapshot's size: it sets the parts, and the carriers left without a finding at the end are those found.
    expected = int(session.execute(text("SELECT expected_count FROM stocktake_sessions WHERE id = :s"),
                                   {"s": sid}).scalar_one())
    with _Parts(session, sid, expected) as running:
        _temp(session, "st_other", _OTHER_READS, {"s": sid})
        decoded = decode_unmatched_epcs(session, sid, tuning)
        _temp(session, "st_epc", _EPCS, {"s": sid})
        _coverage(session, sid)
        _create_temp(session, "st_cx")
        _create_temp(session, "st_x")
        multi = 0
        for part in running.done():
            multi += _rowcount(session, _TAKE_MULTI.format(p=part.p), {})
            session.execute(text(_FOUND.format(p=part.p)), {"s": sid})
            session.execute(text(_TAKE_NOT_FOUND.format(p=part.p)))
        parts = running.parts
    analyze(session, "st_x")
    session.execute(text(_RFID_SEEN))
    analyze(session, "st_cx")
    again = session.execute(text(" UNION ALL ".join(_each(_SCANS_AGAIN, parts)) + " LIMIT 1")).first() is not None
    _temp(session, "st_sight", _sightings_sql(parts, again), {"s": sid})
    # The ambiguity detail joins each ambiguous finding to its code's sightings: by index, not a scan per finding.
    session.execute(text("CREATE INDEX st_sight_subj ON st_sight (subj)"))
    _temp(session, "st_place", _PLACEMENT, {"margin": tuning.rssi_margin_db, "ratio": tuning.count_ratio})
    session.execute(text("CREATE INDEX st_place_carrier ON st_place (carrier_id)"))
    session.execute(text(_PLACED_ELSEWHERE), {"s": sid})
    analyze(session, "stocktake_found")
    # Every snapshot carrier not found as expected gets exactly one finding here; the others are found.
    found_n = expected - _rowcount(session, _EXPECTED_FINDINGS, {"s": sid})
    strays = "".join(_each(_STRAY_CODES, parts)) if _strays(session, sid, parts, found_n, multi) else ""
    unexplained = _UNEXPLAINED_FINDINGS.format(stray=strays)
    session.execute(text(unexplained).bindparams(bindparam("gone", expanding=True)), {"s": sid, "gone": list(_GONE)})
    session.execute(text(_TOP_SECRET_RFID_ONLY), {"s": sid, "ts": _TS})
    _clones(session, sid, tuning)
    session.execute(text(
        "INSERT INTO stocktake_findings (session_id, kind, subject, expected_loc_id, reads, detail) "
        "SELECT :s, 'not_visited', code, location_id, 0, name FROM stocktake_scope "
        "WHERE session_id = :s AND NOT covered"), {"s": sid})
    _ambiguity_detail(session, sid)
    _drop_temps(session)
    counts = {FindingKind(k): int(n) for k, n in session.execute(text(
        "SELECT kind, COUNT(*) FROM stocktake_findings WHERE session_id = :s GROUP BY kind"), {"s": sid})}
    if found_n:
        counts[FindingKind.FOUND] = counts.get(FindingKind.FOUND, 0) + found_n
    return ReconcileResult(counts, decoded)


def _rowcount(session: Session, sql: str, params: dict[str, Any]) -> int:
    result: Any = session.execute(text(sql), params)  # a CursorResult: DML reports its row count
    return int(result.rowcount)


def _strays(session: Session, sid: int, parts: Sequence[_Part], found_n: int, multi: int) -> bool:
    """Whether some printed code read in one place only is no expected carrier's code. Finding those means probing
    the snapshot once per code read — a million probes, the dearest step of a big reconciliation — and usually
    there are none. Expected codes are unique and, at this point, each one that was read is either found (`found_n`,
    the snapshot carriers without a finding) or has the only finding written so far under its code, so two counts
    tell whether to look. The codes read in one place are all of st_bc but the `multi` read in several (a bare
    COUNT(*) counts cells page by page on SQLite, without reading a row). Parts hold disjoint codes, so their counts
    add up."""
    single = sum(int(session.execute(text(sql)).scalar_one()) for sql in _each("SELECT COUNT(*) FROM {p}st_bc", parts))
    expected_seen = sum(int(session.execute(text(sql), {"s": sid}).scalar_one()) for sql in _each(
        "SELECT COUNT(DISTINCT f.subject) FROM stocktake_findings f JOIN {p}st_bc q ON q.code = f.subject "
        "WHERE f.session_id = :s AND q.lo = q.hi", parts))
    return single - multi > found_n + expected_seen


def _coverage(session: Session, sid: int) -> None:
    """A place is visited when its code was scanned or an RFID batch bound to it has reads. It is covered when
    visited, or when it holds no expected carrier itself and every place below it is covered."""
    # A binding counts when some read of its batch was placed in its place: the (batch, place) pairs read are
    # listed once and joined to the bindings, not looked for in the other reads once per binding.
    _temp(session, "st_visit",
          "SELECT DISTINCT loc_id FROM st_other WHERE kind = 'location' "
          "UNION SELECT b.loc_id FROM (SELECT DISTINCT batch_id, loc_id FROM st_other WHERE loc_id IS NOT NULL) r "
          "JOIN stocktake_batches bt ON bt.id = r.batch_id JOIN stocktake_bindings b ON b.session_id = bt.session_id "
          "AND b.device = bt.device AND b.batch = bt.batch AND b.loc_id = r.loc_id WHERE bt.session_id = :s",
          {"s": sid})
    _temp(session, "st_hvisit", "SELECT DISTINCT holder_id FROM st_other WHERE kind = 'badge'", {})
    visited = set(session.execute(text("SELECT loc_id FROM st_visit")).scalars())
    places = session.execute(text(
        "SELECT location_id, parent_id FROM stocktake_scope WHERE session_id = :s"), {"s": sid}).all()
    # Places of the scope holding some expected carrier: one probe of the snapshot's place index per place, not a
    # DISTINCT over a million carriers (every expected place is in the scope).
    holding = set(session.execute(text(
        "SELECT s.location_id FROM stocktake_scope s WHERE s.session_id = :s AND EXISTS "
        "(SELECT 1 FROM stocktake_expected e WHERE e.session_id = :s AND e.loc_id = s.location_id)"),
        {"s": sid}).scalars())
    children: dict[int, list[int]] = {}
    in_scope = {loc for loc, _ in places}
    for loc, parent in places:
        if parent in in_scope:
            children.setdefault(int(parent), []).append(int(loc))
    covered: dict[int, bool] = {}

    def walk(loc: int) -> bool:
        if loc not in covered:
            kids = [walk(k) for k in children.get(loc, [])]
            covered[loc] = loc in visited or (loc not in holding and bool(kids) and all(kids))
        return covered[loc]

    for loc in in_scope:
        walk(loc)
    if not in_scope:
        return
    # Straight to the driver: tens of thousands of places need no per-row parameter processing.
    conn = session.connection()
    ph = placeholder(conn.dialect)
    conn.exec_driver_sql(
        f"UPDATE stocktake_scope SET visited = {ph}, covered = {ph} "  # noqa: S608 (placeholders only)
        f"WHERE session_id = {ph} AND location_id = {ph}",
        [(loc in visited, covered[loc], sid, loc) for loc in sorted(in_scope)])


def _clones(session: Session, sid: int, tuning: Tuning) -> None:
    window = int(tuning.clone_window_s * 1_000_000)
    pairs = session.execute(text(_CLONES), {"window": window, "margin": tuning.rssi_margin_db}).all()
    if not pairs:
        return
    names = _place_names(session, sid)
    detail: dict[str, list[str]] = {}
    for subj, dev_a, loc_a, hold_a, dev_b, loc_b, hold_b, _at_a, _at_b in pairs:
        text_ = f"{dev_a}@{names.get((loc_a, hold_a), '?')} ~ {dev_b}@{names.get((loc_b, hold_b), '?')}"
        detail.setdefault(str(subj), []).append(text_)
    carriers: dict[str, int] = dict(session.execute(text(
        "SELECT code, id FROM carriers WHERE code IN :codes").bindparams(bindparam("codes", expanding=True)),
        {"codes": sorted(detail)}).all())
    session.execute(text(
        "INSERT INTO stocktake_findings (session_id, kind, subject, carrier_id, reads, detail) "
        "VALUES (:s, 'clone_suspect', :subj, :cid, :n, :detail)"),
        [{"s": sid, "subj": subj, "cid": carriers.get(subj), "n": len(lines), "detail": "; ".join(lines[:10])}
         for subj, lines in sorted(detail.items())])


def _place_names(session: Session, sid: int) -> dict[tuple[int | None, int | None], str]:
    names: dict[tuple[int | None, int | None], str] = {}
    for loc_id, code in session.execute(text("SELECT id, code FROM locations")):
        names[(int(loc_id), None)] = str(code)
    for pid, badge in session.execute(text("SELECT id, badge FROM people")):
        names[(None, int(pid))] = str(badge)
    return names


def _ambiguity_detail(session: Session, sid: int) -> None:
    """Write the candidate places (reads, peak RSSI) of each ambiguous placement into its finding."""
    rows = session.execute(text(
        "SELECT f.id, g.loc_id, SUM(g.n), MAX(g.peak) FROM stocktake_findings f "
        "JOIN st_sight g ON g.subj = f.subject AND g.kind = 'epc' "
        "WHERE f.session_id = :s AND f.kind = 'ambiguous' GROUP BY f.id, g.loc_id"), {"s": sid}).all()
    if not rows:
        return
    names = _place_names(session, sid)
    per: dict[int, list[tuple[int, float | None, str]]] = {}
    for fid, loc, n, peak in rows:
        per.setdefault(int(fid), []).append((int(n), None if peak is None else float(peak),
                                             names.get((loc, None), "?")))
    updates: list[dict[str, Any]] = []
    for fid, cands in per.items():
        cands.sort(key=lambda c: (-c[0], c[2]))
        shown = ", ".join(f"{name} ×{n}" + (f" {peak:g} dBm" if peak is not None else "") for n, peak, name in cands)
        updates.append({"id": fid, "detail": shown})
    session.execute(text("UPDATE stocktake_findings SET detail = :detail WHERE id = :id"), updates)


def kinds_in(counts: dict[FindingKind, int], kinds: Sequence[FindingKind]) -> int:
    return sum(counts.get(k, 0) for k in kinds)
