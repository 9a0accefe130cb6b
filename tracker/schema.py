"""The register's tables (SQLAlchemy 2 typed ORM), shared by SQLite and PostgreSQL.

Current-state tables (locations, people, carriers, loans, approvals) are what screens read; the `events` table is the
append-only custody ledger that proves how the state came about. Enum values are stored as their text so the data is
readable with any SQL client. Schema changes go through Alembic (`tracker/migrations`), never `create_all` in
production code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def table(model: type[Base]) -> Table:
    """A model's Core table, for prebuilt hot-path statements (`__table__` is typed only as a FromClause)."""
    t = model.__table__
    assert isinstance(t, Table)
    return t


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, stored in UTC and always read back timezone-aware.

    SQLite has no timestamp type: SQLAlchemy writes the wall-clock digits and drops the offset, so a due time computed
    in Asia/Shanghai (R-55 closing hour) would come back eight hours off. Converting to UTC on the way in and tagging
    UTC on the way out makes both databases agree, and callers never see a naive datetime. Naive input is refused
    rather than guessed at: the register records moments, not local wall-clock readings.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"the register stores timezone-aware instants only, got {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Objects migration 0011 makes for the register search outside these models (an FTS5 table and its shadow tables on
# SQLite, pg_trgm GIN indexes on PostgreSQL): Alembic's comparison of models and database leaves them alone.
SEARCH_TABLES = frozenset(f"{table}{part}" for table in ("carrier_search", "carrier_search_doc")
                          for part in ("", "_terms", "_data", "_idx", "_content", "_docsize", "_config"))
SEARCH_INDEXES = frozenset({"ix_carriers_code_trgm", "ix_carriers_doc_number_trgm", "ix_carriers_title_trgm",
                            "ix_carriers_code_c", "ix_carriers_doc_number_c"})


def modelled(name: str | None, type_: str, _parents: Any) -> bool:
    """Alembic `include_name`: whether a database object is one these models describe (not the search index)."""
    if type_ == "table":
        return name not in SEARCH_TABLES
    if type_ == "index":
        return name not in SEARCH_INDEXES
    return True


class Location(Base):
    """A place that stores carriers: site → room → safe/cabinet → shelf, each scannable by its code."""

    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    max_level: Mapped[str] = mapped_column(String(20))
    reading_place: Mapped[bool] = mapped_column(Boolean, default=False)
    unit: Mapped[str | None] = mapped_column(String(100))
    parent: Mapped[Location | None] = relationship(remote_side=[id])


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    badge: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(100))
    clearance: Mapped[str] = mapped_column(String(20))
    roles: Mapped[str] = mapped_column(String(200), default="")  # comma-separated Role values
    status: Mapped[str] = mapped_column(String(20), default="active")
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    failed_pins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    departed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set by an administrator's PIN reset: the PIN works once, to sign in and choose a new one.
    pin_must_change: Mapped[bool] = mapped_column(Boolean, default=False)


class Carrier(Base):
    """A classified carrier's current state. Exactly one of location/holder while it is in the unit (R-17)."""

    __tablename__ = "carriers"
    __table_args__ = (
        CheckConstraint("NOT (location_id IS NOT NULL AND holder_id IS NOT NULL)", name="place_xor_holder"),
        CheckConstraint(
            "(status NOT IN ('in_store','archived','pending_destruction') OR location_id IS NOT NULL)"
            " AND (status NOT IN ('on_loan','in_transit','carried_out') OR holder_id IS NOT NULL)",
            name="status_custody",
        ),
        CheckConstraint("classification <> ''", name="classified"),
        Index("ix_carriers_status_due", "status", "due_at"),
        # One carrier per (issuer, document number, copy number) (R-29; migration 0008): the service refuses first.
        Index("uq_carriers_document_copy", func.coalesce(text("issuer"), ""), "doc_number", "copy_number",
              unique=True, sqlite_where=text("doc_number IS NOT NULL AND copy_number IS NOT NULL"),
              postgresql_where=text("doc_number IS NOT NULL AND copy_number IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    epc: Mapped[str | None] = mapped_column(String(64), unique=True)
    tid: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    regime: Mapped[str] = mapped_column(String(20))
    classification: Mapped[str] = mapped_column(String(20))
    highest_level_held: Mapped[str | None] = mapped_column(String(20))
    period: Mapped[str | None] = mapped_column(String(20))
    scope: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(String(500), default="")
    doc_number: Mapped[str | None] = mapped_column(String(100), index=True)
    issuer: Mapped[str | None] = mapped_column(String(200))
    copy_number: Mapped[int | None] = mapped_column(Integer)
    copy_total: Mapped[int | None] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer)
    capacity: Mapped[str | None] = mapped_column(String(40))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("carriers.id"), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    status: Mapped[str] = mapped_column(String(24))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    missing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    location: Mapped[Location | None] = relationship(lazy="joined")
    holder: Mapped[Person | None] = relationship(lazy="joined")
    parent: Mapped[Carrier | None] = relationship(remote_side=[id])


class Loan(Base):
    """One custody-out period (loan or carry-out), open until check-in closes it (R-64, R-66)."""

    __tablename__ = "loans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), index=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="loan")  # loan | carry_out
    approval_id: Mapped[int | None] = mapped_column(ForeignKey("approvals.id"))
    companion_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    reading_place_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    from_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    out_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    open_carrier_id: Mapped[int | None] = mapped_column(Integer, unique=True)  # set while open: one open loan each


class Approval(Base):
    """A request for approval (审批) and its outcome: `pending` until enough distinct approvers have decided per the
    matrix (`needed`), then `granted` or `denied`. `approver_id` is the first approver, kept for the registers;
    every signature is an `ApprovalDecision`. `request` holds what a person or policy change asks for (JSON)."""

    __tablename__ = "approvals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    status: Mapped[str] = mapped_column(String(12), default="granted")
    needed: Mapped[int] = mapped_column(Integer, default=1)
    request: Mapped[str] = mapped_column(Text, default="")
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # who asked
    grantee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    issuer_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    copies: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApprovalDecision(Base):
    """One approver's signature on an approval: approve or deny, with a reason. One per person per approval."""

    __tablename__ = "approval_decisions"
    approval_id: Mapped[int] = mapped_column(ForeignKey("approvals.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    decision: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class PolicyVersion(Base):
    """The enforced policy (`tracker.rules.Policy`) as a canonical JSON document; the highest id is in force.
    Written at `tracker init` from the packaged policy.toml and then only by an approved policy change."""

    __tablename__ = "policy_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    proposed_by: Mapped[str | None] = mapped_column(String(40))
    approval_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApprovalCarrier(Base):
    __tablename__ = "approval_carriers"
    approval_id: Mapped[int] = mapped_column(ForeignKey("approvals.id"), primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), primary_key=True, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Event(Base):
    """The custody ledger: append-only, hash-chained. Codes (not ids) so the chain reads without joins."""

    __tablename__ = "events"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))  # canonical UTC text (domain.utc_iso), hashed as stored
    type: Mapped[str] = mapped_column(String(32))
    carrier: Mapped[str | None] = mapped_column(String(40), index=True)
    actor: Mapped[str | None] = mapped_column(String(40))
    from_holder: Mapped[str | None] = mapped_column(String(40))
    to_holder: Mapped[str | None] = mapped_column(String(40))
    from_location: Mapped[str | None] = mapped_column(String(40))
    to_location: Mapped[str | None] = mapped_column(String(40))
    witness: Mapped[str | None] = mapped_column(String(40))
    approval_id: Mapped[int | None] = mapped_column(Integer)
    terminal: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ChainHead(Base):
    """One row: the last sequence and hash. Locked while appending so the chain never forks."""

    __tablename__ = "chain_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class Seal(Base):
    """A printed anchor of the chain (sequence + hash) for the paper record."""

    __tablename__ = "seals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(40))


class Refusal(Base):
    """The audit log outside the custody chain: refused acts (`kind` refused), failed and locked sign-ins, policy and
    role changes, exports. Written in its own transaction so a refusal changes nothing else; never updated."""

    __tablename__ = "refusals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="refused")
    detail: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40))
    carrier: Mapped[str | None] = mapped_column(String(40))
    rules: Mapped[str] = mapped_column(String(200))
    terminal: Mapped[str | None] = mapped_column(String(100))


class CompanyPrefix(Base):
    """A GS1 company prefix of the register's own RFID tags (GIAI-96), set at `tracker init`: a tag under any other
    prefix is an unknown tag, never a carrier (`tracker.epc_scope`)."""

    __tablename__ = "company_prefixes"
    prefix: Mapped[str] = mapped_column(String(12), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DestructionBatch(Base):
    """A destruction batch (销毁批次): the list (造册) built by the registry, approved per the matrix, scanned at the
    site and completed under at least two supervisors (R-146–R-150). `status`: open → submitted → completed.
    What the completion recorded (site, methods per kind, supervisors, the ledger head after it) is kept here so the
    certificate can be printed again, identical, at any time."""

    __tablename__ = "destruction_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(12), default="open")
    requested_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approval_id: Mapped[int | None] = mapped_column(ForeignKey("approvals.id"))
    site: Mapped[str | None] = mapped_column(String(200))
    methods: Mapped[str] = mapped_column(Text, default="{}")  # JSON: kind -> method
    supervisors: Mapped[str] = mapped_column(Text, default="[]")  # JSON: [{badge, name, signed_at}]
    completed_by: Mapped[str | None] = mapped_column(String(40))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    head_seq: Mapped[int | None] = mapped_column(BigInteger)
    head_hash: Mapped[str | None] = mapped_column(String(64))


class DestructionItem(Base):
    """One carrier on a batch's list, and its scan at the destruction site (so a half-scanned batch survives a
    restart). `open_carrier_id` is set while the batch is not completed and is unique: a carrier is on at most one
    open list, enforced by the database as well as by the rule (R-147)."""

    __tablename__ = "destruction_items"
    batch_id: Mapped[int] = mapped_column(ForeignKey("destruction_batches.id"), primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), primary_key=True, index=True)
    prior_status: Mapped[str] = mapped_column(String(24))
    listed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scanned_by: Mapped[str | None] = mapped_column(String(40))
    scan_method: Mapped[str | None] = mapped_column(String(8))  # barcode | epc
    open_carrier_id: Mapped[int | None] = mapped_column(Integer, unique=True)


class DestructionExtra(Base):
    """A code scanned at the destruction site that is not on the batch's list: it blocks completion until it is set
    aside with a reason (R-147: nothing destroyed that was not listed and approved)."""

    __tablename__ = "destruction_extras"
    batch_id: Mapped[int] = mapped_column(ForeignKey("destruction_batches.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    scanned_by: Mapped[str] = mapped_column(String(40))
    set_aside: Mapped[str | None] = mapped_column(Text)


__all__ = [
    "Approval",
    "ApprovalCarrier",
    "ApprovalDecision",
    "Base",
    "Carrier",
    "ChainHead",
    "CompanyPrefix",
    "DestructionBatch",
    "DestructionExtra",
    "DestructionItem",
    "Event",
    "Loan",
    "Location",
    "Person",
    "PolicyVersion",
    "Refusal",
    "Seal",
]
