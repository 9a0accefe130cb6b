"""The stock-take's tables (清查): sessions, team, frozen scope, expected snapshot, bulk reads, findings, resolutions.

They are declared on `tracker.schema.Base` so Alembic sees one metadata. Reads are stored in bulk here, never as
ledger events: the ledger gets one event when a session starts, one per resolution and one when it closes. The
expected snapshot is copied from the register when a session starts and never changes afterwards, so a
reconciliation is always against what the register said at that moment. Times of reads are integers (microseconds
since the epoch, UTC) so bulk ingest needs no per-row conversion and both databases compare them the same way.
This module declares tables only; it must never hold logic.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracker.schema import Base, UTCDateTime


class StocktakeSession(Base):
    """One stock-take: its scope, team, tuning and the ledger anchors of its start and close."""

    __tablename__ = "stocktake_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | closed
    roots: Mapped[str] = mapped_column(Text)  # scope root location codes, ';'-separated
    levels: Mapped[str | None] = mapped_column(String(200))  # level filter (Classification values) or NULL = all
    units: Mapped[str] = mapped_column(Text, default="")  # units whose people's loans are in scope
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(40))
    start_seq: Mapped[int | None] = mapped_column(BigInteger)
    start_head: Mapped[str | None] = mapped_column(String(64))
    expected_count: Mapped[int] = mapped_column(Integer, default=0)
    clone_window_s: Mapped[float] = mapped_column(Float, default=120.0)
    rssi_margin_db: Mapped[float] = mapped_column(Float, default=6.0)
    count_ratio: Mapped[float] = mapped_column(Float, default=2.0)
    company_prefix: Mapped[str | None] = mapped_column(String(20))
    gid_manager: Mapped[int] = mapped_column(Integer, default=0)
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(40))
    close_seq: Mapped[int | None] = mapped_column(BigInteger)
    close_head: Mapped[str | None] = mapped_column(String(64))
    reads_digest: Mapped[str | None] = mapped_column(String(64))
    reads_count: Mapped[int | None] = mapped_column(BigInteger)


class StocktakeTeamMember(Base):
    __tablename__ = "stocktake_team"
    session_id: Mapped[int] = mapped_column(ForeignKey("stocktake_sessions.id"), primary_key=True)
    badge: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(100))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StocktakeScope(Base):
    """The frozen scope: every location under the roots at start, with its parent for the coverage roll-up."""

    __tablename__ = "stocktake_scope"
    session_id: Mapped[int] = mapped_column(ForeignKey("stocktake_sessions.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(Integer)
    covered: Mapped[bool] = mapped_column(Boolean, default=False)
    visited: Mapped[bool] = mapped_column(Boolean, default=False)


class StocktakeExpected(Base):
    """The expected snapshot: carriers in store in the scope, and carriers on loan to people of the scope's units.
    On SQLite it is clustered on (session, carrier) (WITHOUT ROWID): a reconciliation reads a session's snapshot in
    one sweep instead of a row lookup per carrier. Reads name carriers by code, hence the index on the code."""

    __tablename__ = "stocktake_expected"
    __table_args__ = (
        Index("ix_stocktake_expected_session_loc", "session_id", "loc_id"),
        Index("ix_stocktake_expected_session_code", "session_id", "code"),
        {"sqlite_with_rowid": False},
    )
    session_id: Mapped[int] = mapped_column(ForeignKey("stocktake_sessions.id"), primary_key=True)
    carrier_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(40))
    classification: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(24))
    loc_id: Mapped[int | None] = mapped_column(Integer)
    holder_id: Mapped[int | None] = mapped_column(Integer)


class StocktakeBatch(Base):
    """A device's batch of reads (one trigger pull, one file, one RFID pass): the (device, batch) half of the
    idempotency key, numbered so each read row carries one small integer instead of two strings."""

    __tablename__ = "stocktake_batches"
    __table_args__ = (UniqueConstraint("session_id", "device", "batch"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("stocktake_sessions.id"))
    device: Mapped[str] = mapped_column(String(64))
    batch: Mapped[str] = mapped_column(String(64))


class StocktakeRead(Base):
    """One read as a device reported it, with the place it was read in (set by the last location or badge scanned,
    or by the batch's binding for RFID). The primary key (session, batch, seq) is the idempotency key; on SQLite the
    table is clustered on it (WITHOUT ROWID), so bulk ingest maintains one B-tree."""

    __tablename__ = "stocktake_reads"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (SQLAlchemy reads it once)
    session_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    batch_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(8))  # barcode | epc | location | badge
    code: Mapped[str] = mapped_column(String(64))
    at_us: Mapped[int | None] = mapped_column(BigInteger)
    rssi: Mapped[float | None] = mapped_column(Float)
    antenna: Mapped[int | None] = mapped_column(Integer)
    loc_id: Mapped[int | None] = mapped_column(Integer)
    holder_id: Mapped[int | None] = mapped_column(Integer)


class StocktakeBinding(Base):
    """An RFID read session bound to a location: every read of (device, batch) — or of one antenna, when
    `antenna` is not 0 — was taken in that location. A binding with reads counts as a visit."""

    __tablename__ = "stocktake_bindings"
    session_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    device: Mapped[str] = mapped_column(String(64), primary_key=True)
    batch: Mapped[str] = mapped_column(String(64), primary_key=True)
    antenna: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, default=0)
    loc_id: Mapped[int] = mapped_column(Integer)
    bound_by: Mapped[str] = mapped_column(String(40))
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StocktakeEpcMap(Base):
    """EPCs that match no carrier's recorded EPC, decoded once to the carrier code they carry (or NULL)."""

    __tablename__ = "stocktake_epc_map"
    session_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    epc: Mapped[str] = mapped_column(String(64), primary_key=True)
    carrier_code: Mapped[str | None] = mapped_column(String(40))


class StocktakeFinding(Base):
    """One finding of the last reconciliation: per expected carrier, per unexplained code, per unvisited place —
    except carriers found exactly as expected by people's scans: those are the snapshot carriers left without a
    finding (see `StocktakeFound`)."""

    __tablename__ = "stocktake_findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Findings of one session are inserted together and ids grow, so this index is appended to, not scattered (an
    # index on (session, kind) would serve counts by kind, but makes inserting a million findings twice as dear).
    session_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(24))
    subject: Mapped[str] = mapped_column(String(64))  # carrier code, unexplained code or location code
    carrier_id: Mapped[int | None] = mapped_column(Integer)
    classification: Mapped[str | None] = mapped_column(String(20))
    expected_loc_id: Mapped[int | None] = mapped_column(Integer)
    expected_holder_id: Mapped[int | None] = mapped_column(Integer)
    seen_loc_id: Mapped[int | None] = mapped_column(Integer)
    seen_holder_id: Mapped[int | None] = mapped_column(Integer)
    method: Mapped[str | None] = mapped_column(String(8))  # scan | rfid
    reads: Mapped[int] = mapped_column(Integer, default=0)
    peak_rssi: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[str] = mapped_column(Text, default="")


class StocktakeFound(Base):
    """The read count of a snapshot carrier that people scanned exactly where the register has it, and nowhere else,
    when they scanned it more than once. Such carriers are the vast majority of a stock-take and get no finding
    row: after a reconciliation, a snapshot carrier without a finding is found as expected, read once unless a row
    here says otherwise. A million of them thus cost nothing to write at every reconciliation. (Sessions reconciled
    before this stored every found carrier here; read the same way, those rows say the same.)"""

    __tablename__ = "stocktake_found"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (SQLAlchemy reads it once)
    session_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    carrier_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    reads: Mapped[int] = mapped_column(Integer)


class StocktakeResolution(Base):
    """How a finding was resolved: the action, the reason, who, and the ledger event that records it."""

    __tablename__ = "stocktake_resolutions"
    session_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    action: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text)
    target: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    event_seq: Mapped[int] = mapped_column(BigInteger)


__all__ = [
    "StocktakeBatch",
    "StocktakeBinding",
    "StocktakeEpcMap",
    "StocktakeExpected",
    "StocktakeFinding",
    "StocktakeFound",
    "StocktakeRead",
    "StocktakeResolution",
    "StocktakeScope",
    "StocktakeSession",
    "StocktakeTeamMember",
]
