"""Reconciliation (清查核对): the frozen expected snapshot × the stored reads → one finding per carrier, per
unexplained code and per unvisited place, computed as set operations inside the database.

Every step is one SQL statement over whole tables (GROUP BY, window functions, joins, INSERT … SELECT) that runs the
same on SQLite and PostgreSQL; Python only loops over the few things that are not carriers: the EPCs that match no
recorded tag (decoded once through `labels.codes`), the locations of the scope (coverage roll-up) and the handful of
ambiguous or cloned codes whose detail text is written out. The two passes over a million rows (reads folded per
code, then the snapshot against them) run by code range in parts on SQLite, and as one hash aggregate on PostgreSQL
(`tracker.stocktake.parts`); no carrier's row ever reaches the client. Measured at a million carriers × a million
reads on PostgreSQL (`bench/bench_stocktake.py`): 5.0 s on a quiet machine before that fold, 2.5× a Python set
comparison of the same data in the same run; after it, on a machine loaded 3.7-5.9 by other work, 4.6-7.2 s, 1.1-1.8×
that comparison. Alternating old and new code on one register at the same load: 14.6-15.4 s against 6.4-6.8 s, the
server's CPU 6.0 s against 3.0 s, two thirds of it now the fold.

Placement of a code: a person's scan wins, and of a person's scans the latest sighting in the session, so a carrier
first seen misplaced and later scanned on its home shelf is found (and the other way round: misplaced). "Latest":
when every scan of the code carries a read time, the latest time, whichever handheld was unloaded first; when some
scan has none (a plain list, a CS4070 file), times cannot be compared with it, so the batch that reached the register
last wins, and within a batch the last read. Otherwise RFID reads place a tag where they are both strongest (within
`rssi_margin_db` of its peak) and most numerous (`count_ratio` times any rival), and anything less clear-cut is
reported as ambiguous. `run_reconcile` is the engine: it never checks permissions, never writes the
ledger and never commits; `reconcile`, the service, checks the operator and commits the findings in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from labels.codes import epc_to_carrier_code
from tracker.bulk import placeholder
from tracker.domain import CarrierStatus, Classification
from tracker.prepared import driver
from tracker.rules import Action
from tracker.services.common import Signed, actor_facts
from tracker.stocktake.ingest import _no_cycle_collection
from tracker.stocktake.kinds import FindingKind, ReconcileResult, Tuning
from tracker.stocktake.parts import _create_temp, _drop_temps, _each, _Part, _Parts, _sized, _temp, analyze
from tracker.stocktake.session import _session, tuning_of
from tracker.store import UnitOfWork

_GONE = tuple(s.value for s in CarrierStatus if s.gone)


_TS = Classification.TOP_SECRET.value


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
               "code": epc_to_carrier_code(epc, (tuning.company_prefix or "").split(","),
                                           gid_manager=tuning.gid_manager)}
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


# On PostgreSQL a few thousand sightings are resolved by index, one probe each: the same joins written as joins were
# planned as hash joins building a table of all million carriers, twice (0.5-0.7 s under load), the cost model taking
# each probe for a disk read. A lateral subquery with OFFSET 0 is never flattened into a join, so it can only be
# probed per row; and the unique B-tree on the code is the index it can use, where a lower random_page_cost (tried)
# made the planner probe the code's trigram index (the register search's) for each row instead: 2.6 ms a probe.
_LOOKUP_PG = "LEFT JOIN LATERAL (SELECT id, code FROM carriers WHERE {cond} OFFSET 0) {alias} ON TRUE"


_RESOLVE_PG = "\n".join((
    _LOOKUP_PG.format(alias="cb", cond="g.kind = 'barcode' AND code = g.code"),
    _LOOKUP_PG.format(alias="ce", cond="g.kind = 'epc' AND epc = g.code"),
    "LEFT JOIN stocktake_epc_map m ON g.kind = 'epc' AND ce.id IS NULL AND m.session_id = :s AND m.epc = g.code",
    "LEFT JOIN carriers cm ON cm.code = m.carrier_code"))


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
{ce}
LEFT JOIN stocktake_epc_map m ON ce.id IS NULL AND m.session_id = :s AND m.epc = g.code
LEFT JOIN carriers cm ON cm.code = m.carrier_code
"""


_EPC_CARRIER = {False: "LEFT JOIN carriers ce ON ce.epc = g.code",
                True: _LOOKUP_PG.format(alias="ce", cond="epc = g.code")}


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
       g.code AS raw, g.kind, g.loc_id, g.holder_id, bt.device, g.n, g.peak, g.first_us, g.last_us, g.last_seq,
       g.batch_id
FROM ({reads}) g
JOIN stocktake_batches bt ON bt.id = g.batch_id
"""


def _sightings_sql(parts: Sequence[_Part], again: bool, pg: bool) -> str:
    """The sightings statement; `again` when some wanted printed code was read more than once."""
    arms = [_GROUPED_READS.format(table="st_other", where="kind = 'epc'"), *_each(_READ_ONCE, parts)]
    if again:
        again_codes = " UNION ALL ".join(_each(_SCANS_AGAIN, parts))
        arms.append(_GROUPED_READS.format(
            table="stocktake_reads", where=f"session_id = :s AND kind = 'barcode' AND code IN ({again_codes})"))
    return _SIGHTINGS.format(reads=" UNION ALL ".join(arms)) + (_RESOLVE_PG if pg else _RESOLVE)


# One placement per code: the latest person's scan (by read time when all its scans have one, else by batch and
# read order: the module's docstring), else the RFID placement with its ambiguity. Batch ids grow in the order
# batches reach the register; a read's seq counts within its batch only, so it orders reads of one batch alone.
_PLACEMENT = """
WITH scan0 AS (
  SELECT subj, loc_id, holder_id, n, last_us, last_seq, batch_id,
         MAX(CASE WHEN last_us IS NULL THEN 1 ELSE 0 END) OVER (PARTITION BY subj) AS untimed
  FROM st_sight WHERE kind = 'barcode'),
scan AS (
  SELECT subj, loc_id, holder_id, SUM(n) OVER (PARTITION BY subj) AS scan_n,
         ROW_NUMBER() OVER (PARTITION BY subj ORDER BY CASE WHEN untimed = 1 THEN 0 ELSE last_us END DESC,
                            batch_id DESC, last_seq DESC, COALESCE(loc_id, 0) DESC,
                            COALESCE(holder_id, 0) DESC) AS rk
  FROM scan0),
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


def run_reconcile(session: Session, sid: int, tuning: Tuning) -> ReconcileResult:
    """Replace the session's findings with a fresh reconciliation; runs inside the caller's transaction, which must
    not itself have written reads or the snapshot: on a SQLite file, the passes over them (`_Parts`) run on other
    connections, which see what is committed."""
    if session.get_bind().dialect.name != "sqlite":
        return _reconcile(session, sid, tuning)
    with _sized(driver(session).dbapi):  # PRAGMAs need no SQLAlchemy state
        return _reconcile(session, sid, tuning)


def _reconcile(session: Session, sid: int, tuning: Tuning) -> ReconcileResult:
    # The batches and the RFID passes' bindings too: made minutes before, by the uploads, autovacuum has not seen them
    # yet, and PostgreSQL estimated one row for each and joined 10,000 bindings to 10,000 read places in a nested
    # loop — 9.7 s of a 1,000,000-read reconciliation, 0.02 s with their statistics.
    # Not the snapshot: `start` analysed it once frozen, and it never changes; nor the findings, which only the
    # SQLite-side `_strays` joined to a million codes. Of the reads, only the columns the plans filter and join on:
    # the sample is the same, and the code's statistics took half the time (0.06 s at a million).
    analyze(session, "stocktake_reads", "(session_id, kind, batch_id, seq)")
    for table in ("stocktake_batches", "stocktake_bindings"):
        analyze(session, table)
    session.execute(text("DELETE FROM stocktake_findings WHERE session_id = :s"), {"s": sid})
    session.execute(text("DELETE FROM stocktake_found WHERE session_id = :s"), {"s": sid})
    # The snapshot's size: it sets the parts, and the carriers left without a finding at the end are those found.
    expected = int(session.execute(text("SELECT expected_count FROM stocktake_sessions WHERE id = :s"),
                                   {"s": sid}).scalar_one())
    pg = session.get_bind().dialect.name == "postgresql"
    if pg:  # the fold keeps the codes RFID heard: they are known first (on SQLite, while the workers run)
        server_settings(session)
        decoded = _rfid_subjects(session, sid, tuning)
    with _Parts(session, sid, expected) as running:
        if not pg:
            decoded = _rfid_subjects(session, sid, tuning)
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
    _temp(session, "st_sight", _sightings_sql(parts, again, pg), {"s": sid})
    # The ambiguity detail joins each ambiguous finding to its code's sightings: by index, not a scan per finding.
    session.execute(text("CREATE INDEX st_sight_subj ON st_sight (subj)"))
    _temp(session, "st_place", _PLACEMENT, {"margin": tuning.rssi_margin_db, "ratio": tuning.count_ratio})
    session.execute(text("CREATE INDEX st_place_carrier ON st_place (carrier_id)"))
    session.execute(text(_PLACED_ELSEWHERE), {"s": sid})
    analyze(session, "stocktake_found")
    # Every snapshot carrier not found as expected gets exactly one finding here; the others are found.
    found_n = expected - _rowcount(session, _EXPECTED_FINDINGS, {"s": sid})
    if pg:  # the fold kept every code outside the snapshot (st_j rows without a carrier): they are looked at there
        look = session.execute(text("SELECT 1 FROM st_j WHERE carrier_id IS NULL AND lo = hi LIMIT 1")).first()
        stray_codes = look is not None
    else:
        stray_codes = _strays(session, sid, parts, found_n, multi)
    strays = "".join(_each(_STRAY_CODES, parts)) if stray_codes else ""
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


def _rfid_subjects(session: Session, sid: int, tuning: Tuning) -> int:
    """The reads that are no printed code (st_other) and the EPCs among them resolved to their subjects (st_epc);
    returns how many EPCs were decoded."""
    _temp(session, "st_other", _OTHER_READS, {"s": sid})
    decoded = decode_unmatched_epcs(session, sid, tuning)
    pg = session.get_bind().dialect.name == "postgresql"
    _temp(session, "st_epc", _EPCS.format(ce=_EPC_CARRIER[pg]), {"s": sid})
    return decoded


# What a reconciliation needs of a PostgreSQL server, set for its own transaction only (SET LOCAL): memory for the
# fold's hash table of every code (230 MB at a million; under the 4 MB default a server keeps, it spilled to disk in
# 61 batches, writing 190 MB of temporary files), and no JIT compilation, which cost 16-33 ms on each statement
# costed high enough to trigger it and measured no faster on the fold itself.
_PG_SETTINGS = {"work_mem": "256MB", "jit": "off"}


def server_settings(session: Session) -> None:
    """Raise work_mem to what the fold needs (never lower it) and switch JIT off, for this transaction only."""
    for name, value in _PG_SETTINGS.items():
        session.execute(text(
            "SELECT set_config(:n, CASE WHEN :n = 'work_mem' AND pg_size_bytes(current_setting(:n)) "
            ">= pg_size_bytes(:v) THEN current_setting(:n) ELSE :v END, true)"), {"n": name, "v": value})


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
    if session.get_bind().dialect.name == "postgresql":  # one statement: 11,000 places took 0.2 s one by one
        session.execute(text(
            "UPDATE stocktake_scope s SET visited = v.visited, covered = v.covered FROM unnest("
            "CAST(:locs AS INTEGER[]), CAST(:visited AS BOOLEAN[]), CAST(:covered AS BOOLEAN[])) "
            "AS v(loc, visited, covered) WHERE s.session_id = :s AND s.location_id = v.loc"),
            {"s": sid, "locs": sorted(in_scope), "visited": [loc in visited for loc in sorted(in_scope)],
             "covered": [covered[loc] for loc in sorted(in_scope)]})
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


def reconcile(uow: UnitOfWork, actor: Signed, sid: int) -> ReconcileResult:
    with uow:
        actor_facts(uow, actor, Action.STOCKTAKE)
        st = _session(uow, sid, lock=True)
        with _no_cycle_collection():
            result = run_reconcile(uow.session, sid, tuning_of(st))
        st.reconciled_at = uow.now()
        uow.defer_checkpoint()  # tens of thousands of findings: their WAL is copied into the file after this returns
        uow.commit()
        return result
