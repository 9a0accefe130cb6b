"""The shape of a register (台账) of RULES §4: a declarative definition (columns with Chinese and English headers, the
ledger events it lists, how one event becomes rows, who may read it, the signature lines the seeds ask for), and a
printed register (the definition, the period, the unit, the rows and the ledger head they were read against).

It owns no query and no layout: `tracker.reports.registers.reader` fills a `Printed`, the renderers lay it out. Values
in rows are typed (int, str, aware datetime) so that each medium writes them its own way: a date cell in XLSX, local
text in CSV and PDF.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any, Literal

from tracker.domain import local_text, zone_label
from tracker.rules import Action

ColumnKind = Literal["text", "int", "time"]


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    width: float = 1.0  # relative share of the page width
    kind: ColumnKind = "text"
    signature: bool = False  # left blank for a handwritten signature on paper

    def header(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


class EventRow:
    """One ledger event with what the current tables say about its carrier (a carrier's title, document number and
    copy do not change after registration; its place and holder are today's, shown as 去向). A plain class reading
    the query's row: a year of a large register is 100,000 of these, and its payload (JSON) is parsed only when a
    register's row maker asks for it."""

    __slots__ = ("_payload", "_raw", "actor", "approval_id", "at", "carrier", "copy_number", "copy_total",
                 "doc_number", "from_holder", "from_location", "holder", "issuer", "kind", "level", "location",
                 "pages", "period", "scope", "seq", "status", "title", "to_holder", "to_location", "type", "witness")
    seq: int
    at: datetime
    type: str
    carrier: str | None
    actor: str | None
    from_holder: str | None
    to_holder: str | None
    from_location: str | None
    to_location: str | None
    witness: str | None
    approval_id: int | None
    title: str | None
    doc_number: str | None
    issuer: str | None
    kind: str | None
    level: str | None
    period: str | None
    scope: str | None
    copy_number: int | None
    copy_total: int | None
    pages: int | None
    status: str | None
    holder: str | None
    location: str | None

    def __init__(self, r: Any) -> None:
        (self.seq, at, self.type, self.carrier, self.actor, self.from_holder, self.to_holder, self.from_location,
         self.to_location, self.witness, self.approval_id, self._raw, self.title, self.doc_number, self.issuer,
         self.kind, self.level, self.period, self.scope, self.copy_number, self.copy_total, self.pages, self.status,
         self.holder, self.location) = r
        self.at = datetime.fromisoformat(at)  # the ledger's canonical UTC text, "…Z" (Python ≥ 3.11)
        self._payload: dict[str, Any] | None = None

    @property
    def payload(self) -> dict[str, Any]:
        if self._payload is None:
            self._payload = json.loads(self._raw or "{}")
        return self._payload


@dataclass(frozen=True)
class PersonInfo:
    badge: str
    name: str
    unit: str
    clearance: str


@dataclass
class Context:
    """What a row maker may look up besides its event: people by badge, approvers by approval, the language, and
    later events of the same carriers (a loan's return)."""

    lang: str
    tz: tzinfo
    people: dict[str, PersonInfo]
    approvers: dict[int, list[str]] = field(default_factory=dict)
    returns: dict[str, list[tuple[int, datetime, str | None]]] = field(default_factory=dict)

    def say(self, zh: str, en: str) -> str:
        return en if self.lang == "en" else zh

    def who(self, badge: str | None) -> str:
        """A person as a register names them: name and badge (the badge is what the chain records)."""
        if not badge:
            return ""
        p = self.people.get(badge)
        return f"{p.name} {badge}" if p else badge

    def unit_of(self, badge: str | None) -> str:
        p = self.people.get(badge or "")
        return p.unit if p else ""

    def approved_by(self, approval_id: int | None) -> str:
        if approval_id is None:
            return ""
        return "、".join(self.who(b) for b in self.approvers.get(approval_id, []))

    def returned(self, carrier: str | None, after_seq: int) -> tuple[int, datetime, str | None] | None:
        """The first check-in of `carrier` after event `after_seq`: the loan's return, whenever it came."""
        for ret in self.returns.get(carrier or "", []):
            if ret[0] > after_seq:
                return ret
        return None


Rows = Callable[[EventRow, Context], Iterable[Sequence[Any]]]


@dataclass(frozen=True)
class Register:
    """One register of RULES §4. `events` are the ledger event types it lists (read for the period); `rows` turns
    one of them into zero or more rows, in `columns` order (the first column is always the event's sequence number,
    so every row can be found in the chain). `top_secret_only` keeps carriers that are or were 绝密."""

    name: str
    zh: str
    en: str
    source: str  # where RULES §4 asks for it
    columns: tuple[Column, ...]
    events: tuple[str, ...]
    rows: Rows
    action: Action = Action.REGISTERS
    signatures: tuple[tuple[str, str], ...] = ()  # (zh, en) roles who sign the printed register
    slip: bool = False  # a loan application slip (申请借阅单) per row
    media_only: bool = False
    top_secret_only: bool = False
    returns: bool = False  # needs the check-ins after the period's events (loans, carry-outs)

    def title(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class Printed:
    """A register read for a period, ready for any renderer."""

    register: Register
    lang: str
    tz: tzinfo
    first: date
    last: date
    unit: str | None
    reader: str
    printed_at: datetime
    head_seq: int
    head_hash: str
    rows: list[Sequence[Any]]
    people: dict[str, PersonInfo] = field(default_factory=dict)

    def say(self, zh: str, en: str) -> str:
        return en if self.lang == "en" else zh

    @property
    def headers(self) -> list[str]:
        return [c.header(self.lang) for c in self.register.columns]

    def facts(self) -> list[tuple[str, str]]:
        """The heading every medium prints: unit, period, who printed when, and the ledger head read against."""
        return [
            (self.say("单位", "Unit"), self.unit or self.say("全部", "all units")),
            (self.say("期间", "Period"), f"{self.first:%Y-%m-%d} — {self.last:%Y-%m-%d} ({zone_label(self.tz)})"),
            (self.say("打印", "Printed"), f"{local_text(self.printed_at, self.tz, zone=True)} {self.reader}"),
            (self.say("台账链头", "Ledger head"), f"{self.head_seq}:{self.head_hash}"),
            (self.say("条数", "Rows"), str(len(self.rows))),
        ]

    def signature_labels(self) -> list[str]:
        return [self.say(zh, en) for zh, en in self.register.signatures]
