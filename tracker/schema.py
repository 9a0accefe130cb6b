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


# Objects migrations 0011, 0019, 0020 and 0021 make for the register search outside these models (FTS5 tables and their
# shadow tables on SQLite, GIN indexes and the grams table on PostgreSQL): Alembic's comparison of models and database
# leaves them alone.
SEARCH_TABLES = frozenset({f"{table}{part}" for table in ("carrier_search", "carrier_search_doc", "carrier_grams",
                                                          "carrier_texts")
                           for part in ("", "_terms", "_data", "_idx", "_content", "_docsize", "_config")}
                          | {"search_positions"})
SEARCH_INDEXES = frozenset({"ix_carriers_code_trgm", "ix_carriers_doc_number_trgm", "ix_carriers_title_trgm",
                            "ix_carriers_code_c", "ix_carriers_doc_number_c", "ix_carriers_grams",
                            "ix_carriers_search", "ix_carrier_grams", "ix_carrier_texts", "ix_carrier_texts_code",
                            "ix_carrier_texts_doc_number", "ix_carrier_texts_title"})


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
    # The end of the 脱密期 once the person left a classified post: no clearance until then.
    cooling_off_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


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


class Incident(Base):
    """A security incident (失泄密事件 and its precursors): a loss (R-154, R-155), a broken or mismatched seal, an
    unauthorised pass at a gate, a carrier taken from a cabinet by someone not cleared. Opened by a person or a
    device, worked by the security officer (measures), closed only with a resolution (R-156: never simply
    dropped). The row is the incident's current state; every change to it is also a ledger event, so its history is
    the chain's. `deadline` is the R-155 moment a loss becomes a leak incident."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open | closed
    level: Mapped[str | None] = mapped_column(String(16))  # the highest level of the carriers involved
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_by: Mapped[str | None] = mapped_column(String(40))  # a badge; none when a device raised it
    source: Mapped[str | None] = mapped_column(String(100))  # the terminal or device it came from
    discovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    place: Mapped[str | None] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="{}")  # JSON: reads, seal numbers, … as the raiser saw them
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    measures: Mapped[str] = mapped_column(Text, default="[]")  # JSON: [{at, by, text}], the 补救措施 taken
    outcome: Mapped[str | None] = mapped_column(String(20))
    resolution: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(40))


class IncidentCarrier(Base):
    """A code an incident concerns: a carrier's code, or a tag or code the register does not know (kept as read)."""

    __tablename__ = "incident_carriers"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
class PrintRun(Base):
    """A print run (印制, R-29–R-36): requested with what its approval fixes (document, level, period, scope, count,
    distribution), completed once by a designated printer, which registers the copies and the by-products carrier
    (R-34) in one transaction. What completion recorded is kept here for the print-job record (R-36)."""

    __tablename__ = "print_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default="requested")  # requested | completed
    approval_id: Mapped[int | None] = mapped_column(ForeignKey("approvals.id"))
    requested_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    doc_number: Mapped[str] = mapped_column(String(100), index=True)
    issuer: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(20))
    regime: Mapped[str] = mapped_column(String(20))
    classification: Mapped[str] = mapped_column(String(20))
    period: Mapped[str | None] = mapped_column(String(20))
    scope: Mapped[str | None] = mapped_column(Text)
    copies: Mapped[int] = mapped_column(Integer)
    distribution: Mapped[str] = mapped_column(Text, default="[]")  # JSON: [[recipient, copies], ...]
    location: Mapped[str] = mapped_column(String(40))  # where the copies are registered into
    first_copy: Mapped[int | None] = mapped_column(Integer)
    printer: Mapped[str | None] = mapped_column(String(40))
    proof_reader: Mapped[str | None] = mapped_column(String(40))
    print_room: Mapped[str | None] = mapped_column(String(200))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    byproducts: Mapped[str] = mapped_column(Text, default="{}")  # JSON: {"sheets": 12, "plates": 2, ...}
    byproduct_carrier_id: Mapped[int | None] = mapped_column(ForeignKey("carriers.id"))
    head_seq: Mapped[int | None] = mapped_column(BigInteger)
    head_hash: Mapped[str | None] = mapped_column(String(64))


class Meeting(Base):
    """A classified meeting (涉密会议, R-123–R-128): venue, time, level, attendee list; open until every document is
    back or accounted for and the venue was checked (R-126)."""

    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    venue_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    classification: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | closed
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    venue_checked_by: Mapped[str | None] = mapped_column(String(40))
    venue_check: Mapped[str | None] = mapped_column(Text)
    closed_by: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    head_seq: Mapped[int | None] = mapped_column(BigInteger)
    head_hash: Mapped[str | None] = mapped_column(String(64))


class MeetingAttendee(Base):
    """One name on a meeting's list, with the moment they signed in (badge and PIN at their first issue, R-127)."""

    __tablename__ = "meeting_attendees"
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    signed_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MeetingMaterial(Base):
    """One document issued at a meeting (R-123, R-127): to whom, from where, and how it came back — collected, kept
    (R-125) or reported missing. `open_carrier_id` is set while it is out, and unique: a carrier is out at one meeting
    at most, and the circulation services read it to keep 绝密/机密 at the venue (R-124)."""

    __tablename__ = "meeting_materials"
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), primary_key=True, index=True)
    attendee_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    from_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_by: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str | None] = mapped_column(String(12))  # collected | kept | missing
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    settled_by: Mapped[str | None] = mapped_column(String(40))
    open_carrier_id: Mapped[int | None] = mapped_column(Integer, unique=True)


class ReaderPlace(Base):
    """A place watched by an RFID reader (issue 23): an exit gate (通道门) between an inside and an outside place, or
    a smart cabinet (智能柜) that is itself a storage place. The reader is named by its `[devices]` entry on the
    machine that runs `tracker watch`; which antenna faces which way is register data, set by the administrator or
    the security officer, so a client file can never turn a gate's alarm off."""

    __tablename__ = "reader_places"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # gate | cabinet
    device: Mapped[str] = mapped_column(String(100))
    inside_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    outside_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    antennas: Mapped[str] = mapped_column(Text, default="{}")  # JSON: {"1": "inside", "2": "outside"}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(40))


class WatchEntry(Base):
    """What a gate or a cabinet saw and decided: passes, alarms, foreign tags, take-outs and put-backs. Reads are
    evidence stored in bulk, not custody: this log is outside the ledger, like the audit log; the acts it led to
    (a loan, a return, an incident) are ledger events of their own."""

    __tablename__ = "watch_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    place: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    epc: Mapped[str | None] = mapped_column(String(64))
    carrier: Mapped[str | None] = mapped_column(String(40))
    person: Mapped[str | None] = mapped_column(String(40))
    direction: Mapped[str | None] = mapped_column(String(8))
    incident: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="")


class Campaign(Base):
    """A clear-back campaign (清退/收缴, R-130–R-133): the carriers matching its criteria that were out when it opened
    must be back by `due_at`. Year-end collection is one with kind `year_end`. Closing it fixes the report: the
    stragglers, who closed it and the ledger head, so the signed report prints the same at any time."""

    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20), default="clear_back")  # clear_back | year_end
    criteria: Mapped[str] = mapped_column(Text, default="{}")  # JSON: before, issuer, level
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open | closed
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    head_seq: Mapped[int | None] = mapped_column(BigInteger)
    head_hash: Mapped[str | None] = mapped_column(String(64))


class CampaignItem(Base):
    """One carrier a campaign waits for: who held it when the campaign opened, and its return (a check-in) and
    verification scan at the registry (核对)."""

    __tablename__ = "campaign_items"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), primary_key=True, index=True)
    holder: Mapped[str | None] = mapped_column(String(40))
    status_at_start: Mapped[str] = mapped_column(String(24))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    returned_by: Mapped[str | None] = mapped_column(String(40))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by: Mapped[str | None] = mapped_column(String(40))


class PersonRecord(Base):
    """One fact of a person's secrecy lifecycle (R-161–R-170): vetting (审查), a training, an exam, the yearly pledge
    (保密承诺书/责任状), the pledge on leaving. Recorded by the security officer; never updated (a correction is a
    new record)."""

    __tablename__ = "person_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # vetting | training | exam | pledge | leave_pledge
    on: Mapped[datetime] = mapped_column(UTCDateTime())
    result: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- receipt, dispatch and transit (issue 20) ----------------------------------------------------------------------


class Package(Base):
    """An envelope, bag or box (封装, R-88, R-94) carriers travel in, with its own code and seal number. `status`:
    open (being packed) → sealed → opened (at the destination; a package is opened once). `parent_id` nests it in
    another package. The seal is the number on the seal strip now; every sealing and re-sealing is a ledger event."""

    __tablename__ = "packages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12), default="open")
    seal: Mapped[str | None] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("packages.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_by: Mapped[str | None] = mapped_column(String(40))


class PackageItem(Base):
    """A carrier on a package's packing list (装箱单). `open_carrier_id` is set until the package is opened and is
    unique: a carrier is packed in at most one unopened package, enforced by the database too."""

    __tablename__ = "package_items"
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"), primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), primary_key=True, index=True)
    packed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    open_carrier_id: Mapped[int | None] = mapped_column(Integer, unique=True)


class Transit(Base):
    """A dispatch (发文) from a registry place to a destination registry place through couriers (机要交通, R-87).
    While `in_transit` the current holder (a courier, or a registry on the way) is accountable for every carrier
    of it (R-17); `companion_id` is the second courier of a 绝密 transit (R-93). `received` closes it."""

    __tablename__ = "transits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default="in_transit", index=True)
    from_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    to_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    to_site: Mapped[str] = mapped_column(String(4), index=True)
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    companion_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    personal_to: Mapped[str | None] = mapped_column(String(40))  # 亲启: the addressee's badge
    level: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    dispatched_by: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_by: Mapped[str | None] = mapped_column(String(40))


class TransitItem(Base):
    """A carrier of a transit and the outermost package it travels in (none when it travels loose in a bag the
    courier holds). `open_carrier_id` is set while the transit is open: a carrier is on at most one open transit."""

    __tablename__ = "transit_items"
    transit_id: Mapped[int] = mapped_column(ForeignKey("transits.id"), primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), primary_key=True, index=True)
    package_id: Mapped[int | None] = mapped_column(ForeignKey("packages.id"))
    open_carrier_id: Mapped[int | None] = mapped_column(Integer, unique=True)


class TransitHop(Base):
    """One hand-to-hand hop of a transit (giver → taker, both signed), what the seals read at it and the ledger head
    right after it, so its receipt can be printed again, identical. `kind`: dispatch, hop or receipt."""

    __tablename__ = "transit_hops"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transit_id: Mapped[int] = mapped_column(ForeignKey("transits.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    giver: Mapped[str] = mapped_column(String(40))
    taker: Mapped[str] = mapped_column(String(40))
    companion: Mapped[str | None] = mapped_column(String(40))
    place: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    seals: Mapped[str] = mapped_column(Text, default="[]")  # JSON: [{package, expected, seen, ok}]
    incident_id: Mapped[int | None] = mapped_column(Integer)
    head_seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))


class Incoming(Base):
    """收文登记 (R-16, R-18, R-20, R-22): an item received from outside or from another site, linked to its carrier
    record. `personal_to` marks a 亲启 item: registered unopened and handed only to that person or their proxy."""

    __tablename__ = "incoming"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), index=True)  # received again: a new row
    sender: Mapped[str] = mapped_column(String(200))
    sender_doc: Mapped[str | None] = mapped_column(String(100))
    seal_intact: Mapped[bool] = mapped_column(Boolean, default=True)
    personal_to: Mapped[str | None] = mapped_column(String(40))
    transit_id: Mapped[int | None] = mapped_column(ForeignKey("transits.id"))
    incident_id: Mapped[int | None] = mapped_column(Integer)
    received_by: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    delivered_to: Mapped[str | None] = mapped_column(String(40))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Proxy(Base):
    """A proxy a person designated, with their own signature, to receive their 亲启 items (R-21)."""

    __tablename__ = "proxies"
    principal: Mapped[str] = mapped_column(String(40), primary_key=True)
    proxy: Mapped[str] = mapped_column(String(40), primary_key=True)
    designated_at: Mapped[datetime] = mapped_column(UTCDateTime())


__all__ = [
    "Approval",
    "ApprovalCarrier",
    "ApprovalDecision",
    "Base",
    "Campaign",
    "CampaignItem",
    "Carrier",
    "ChainHead",
    "CompanyPrefix",
    "DestructionBatch",
    "DestructionExtra",
    "DestructionItem",
    "Event",
    "Incident",
    "IncidentCarrier",
    "Incoming",
    "Loan",
    "Location",
    "Meeting",
    "MeetingAttendee",
    "MeetingMaterial",
    "Package",
    "PackageItem",
    "Person",
    "PersonRecord",
    "PolicyVersion",
    "PrintRun",
    "Proxy",
    "ReaderPlace",
    "Refusal",
    "Seal",
    "Transit",
    "TransitHop",
    "TransitItem",
    "WatchEntry",
]
