"""The register's vocabulary: levels, clearances, kinds, statuses, roles and the small value objects built from them.

This module is pure Python with no I/O and no SQLAlchemy, so the rulebook (`tracker.rules`) and every test can use it
directly. It must never import the database layer, the drivers or the UI.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo


class DomainError(ValueError):
    """Input that cannot become a domain value. Carries both languages because it reaches the counter as-is."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.en = en
        self.zh = zh

    def message(self, lang: str = "en") -> str:
        return self.zh if lang == "zh" else self.en


class Regime(enum.StrEnum):
    """Secrecy regime (R-14): state secrets (国家秘密) and company secrets (公司秘密) are never compared."""

    STATE = "state"
    COMPANY = "company"

    @property
    def zh(self) -> str:
        return {"state": "国家秘密", "company": "公司秘密"}[self.value]


class Classification(enum.StrEnum):
    """Classification level (密级, R-01). `rank` orders levels; 内部 and 无密 are not state-secret levels."""

    TOP_SECRET = "top_secret"
    SECRET = "secret"
    CONFIDENTIAL = "confidential"
    INTERNAL = "internal"
    UNCLASSIFIED = "unclassified"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]

    @property
    def zh(self) -> str:
        return _LEVEL_ZH[self]

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").title()

    @property
    def is_secret_level(self) -> bool:
        """True for 绝密/机密/秘密: the levels that need a period, a scope and a cleared holder (R-02, R-159)."""
        return self.rank >= 2

    @classmethod
    def parse(cls, text: str | None) -> Classification:
        """Accept the English value, its label, or the Chinese name; anything else is refused (R-01: never blank)."""
        key = (text or "").strip()
        if not key:
            raise DomainError(
                "Classification is required (R-01): give top_secret, secret, confidential, internal or unclassified.",
                "密级为必填项（R-01）：请填写 绝密、机密、秘密、内部 或 无密。",
            )
        for level in cls:
            if key.lower().replace(" ", "_").replace("-", "_") == level.value or key == level.zh:
                return level
        aliases = {"无": cls.UNCLASSIFIED, "公开": cls.UNCLASSIFIED, "内部事项": cls.INTERNAL}
        if key in aliases:
            return aliases[key]
        raise DomainError(
            f"Unknown classification {key!r} (R-01): use top_secret, secret, confidential, internal or unclassified.",
            f"无法识别的密级 {key!r}（R-01）：请使用 绝密、机密、秘密、内部 或 无密。",
        )


_LEVEL_RANK = {
    Classification.UNCLASSIFIED: 0,
    Classification.INTERNAL: 1,
    Classification.CONFIDENTIAL: 2,
    Classification.SECRET: 3,
    Classification.TOP_SECRET: 4,
}
_LEVEL_ZH = {
    Classification.TOP_SECRET: "绝密",
    Classification.SECRET: "机密",
    Classification.CONFIDENTIAL: "秘密",
    Classification.INTERNAL: "内部",
    Classification.UNCLASSIFIED: "无密",
}


class Clearance(enum.StrEnum):
    """Personnel level (涉密人员类别, R-159): core 核心 ↔ 绝密, important 重要 ↔ 机密, general 一般 ↔ 秘密."""

    NONE = "none"
    GENERAL = "general"
    IMPORTANT = "important"
    CORE = "core"

    @property
    def max_level(self) -> Classification:
        return {
            Clearance.NONE: Classification.INTERNAL,
            Clearance.GENERAL: Classification.CONFIDENTIAL,
            Clearance.IMPORTANT: Classification.SECRET,
            Clearance.CORE: Classification.TOP_SECRET,
        }[self]

    @property
    def zh(self) -> str:
        return {"none": "无", "general": "一般", "important": "重要", "core": "核心"}[self.value]

    @classmethod
    def parse(cls, text: str) -> Clearance:
        key = text.strip().lower()
        for c in cls:
            if key == c.value or text.strip() == c.zh:
                return c
        raise DomainError(
            f"Unknown clearance {text!r}: use none, general, important or core.",
            f"无法识别的涉密等级 {text!r}：请使用 无、一般、重要 或 核心。",
        )

    def may_hold(self, level: Classification) -> bool:
        return level.rank <= self.max_level.rank


class CarrierKind(enum.StrEnum):
    PAPER = "paper"
    OPTICAL_DISC = "optical_disc"
    USB_DRIVE = "usb_drive"
    REMOVABLE_DISK = "removable_disk"
    FLOPPY_TAPE = "floppy_tape"
    LAPTOP = "laptop"
    AUDIO_VISUAL = "audio_visual"
    SECRET_ITEM = "secret_item"
    NOTEBOOK = "notebook"
    OTHER = "other"

    @property
    def is_storage_medium(self) -> bool:
        """Media keep the highest level they ever held (R-102, R-103); a secrecy notebook counts as one (§5 Q18)."""
        return self in _MEDIA

    @property
    def zh(self) -> str:
        return _KIND_ZH[self]

    @classmethod
    def parse(cls, text: str) -> CarrierKind:
        key = text.strip().lower().replace(" ", "_").replace("-", "_")
        for k in cls:
            if key == k.value or text.strip() == k.zh:
                return k
        raise DomainError(
            f"Unknown carrier kind {text!r}: use one of {', '.join(k.value for k in cls)}.",
            f"无法识别的载体类型 {text!r}：可用 {', '.join(k.zh for k in cls)}。",
        )


_MEDIA = {
    CarrierKind.OPTICAL_DISC,
    CarrierKind.USB_DRIVE,
    CarrierKind.REMOVABLE_DISK,
    CarrierKind.FLOPPY_TAPE,
    CarrierKind.LAPTOP,
    CarrierKind.NOTEBOOK,
}
_KIND_ZH = {
    CarrierKind.PAPER: "纸介质",
    CarrierKind.OPTICAL_DISC: "光盘",
    CarrierKind.USB_DRIVE: "U盘",
    CarrierKind.REMOVABLE_DISK: "移动硬盘",
    CarrierKind.FLOPPY_TAPE: "软盘/磁带",
    CarrierKind.LAPTOP: "便携式计算机",
    CarrierKind.AUDIO_VISUAL: "音像制品",
    CarrierKind.SECRET_ITEM: "密品",
    CarrierKind.NOTEBOOK: "保密本",
    CarrierKind.OTHER: "其他",
}


class CarrierStatus(enum.StrEnum):
    IN_STORE = "in_store"
    ON_LOAN = "on_loan"
    IN_TRANSIT = "in_transit"
    CARRIED_OUT = "carried_out"
    ARCHIVED = "archived"
    PENDING_DESTRUCTION = "pending_destruction"
    DESTROYED = "destroyed"
    MISSING = "missing"
    RETURNED_TO_ISSUER = "returned_to_issuer"
    TRANSFERRED_OUT = "transferred_out"

    @property
    def zh(self) -> str:
        return _STATUS_ZH[self]

    @property
    def with_holder(self) -> bool:
        """Statuses in which a person, not a place, is accountable (R-17)."""
        return self in (CarrierStatus.ON_LOAN, CarrierStatus.IN_TRANSIT, CarrierStatus.CARRIED_OUT)

    @property
    def in_place(self) -> bool:
        return self in (CarrierStatus.IN_STORE, CarrierStatus.ARCHIVED, CarrierStatus.PENDING_DESTRUCTION)

    @property
    def gone(self) -> bool:
        """Off the unit's books: the carrier must never be seen again (a sighting is critical)."""
        return self in (CarrierStatus.DESTROYED, CarrierStatus.RETURNED_TO_ISSUER, CarrierStatus.TRANSFERRED_OUT)


_STATUS_ZH = {
    CarrierStatus.IN_STORE: "在库",
    CarrierStatus.ON_LOAN: "借出",
    CarrierStatus.IN_TRANSIT: "传递中",
    CarrierStatus.CARRIED_OUT: "携带外出",
    CarrierStatus.ARCHIVED: "已归档",
    CarrierStatus.PENDING_DESTRUCTION: "待销毁",
    CarrierStatus.DESTROYED: "已销毁",
    CarrierStatus.MISSING: "下落不明",
    CarrierStatus.RETURNED_TO_ISSUER: "已退还制发机关",
    CarrierStatus.TRANSFERRED_OUT: "已移交",
}


class Role(enum.StrEnum):
    """What a person may do at the register. Least privilege: each workflow names the roles it accepts."""

    CLERK = "clerk"  # 保密员 / 机要室: registry staff
    COURIER = "courier"  # 机要交通
    APPROVER = "approver"  # 主管领导
    SECURITY_OFFICER = "security_officer"  # 保密办
    AUDITOR = "auditor"
    ADMIN = "admin"
    OFFICE_LEADER = "office_leader"  # 办公室领导: approves 绝密 loans (R-67, 001:451)
    COMMITTEE = "committee"  # 保密委员会 / 保密领导小组: clearance and role changes, policy

    @property
    def zh(self) -> str:
        return {
            "clerk": "保密员",
            "courier": "机要交通",
            "approver": "主管领导",
            "security_officer": "保密办",
            "auditor": "审计员",
            "admin": "管理员",
            "office_leader": "办公室领导",
            "committee": "保密委员会",
        }[self.value]

    @classmethod
    def parse(cls, text: str) -> Role:
        key = text.strip().lower().replace(" ", "_").replace("-", "_")
        for r in cls:
            if key == r.value or text.strip() == r.zh:
                return r
        raise DomainError(
            f"Unknown role {text!r}: use one of {', '.join(r.value for r in cls)}.",
            f"无法识别的角色 {text!r}：可用 {', '.join(r.zh for r in cls)}。",
        )


class PersonStatus(enum.StrEnum):
    ACTIVE = "active"
    DEPARTING = "departing"
    DEPARTED = "departed"


class LocationKind(enum.StrEnum):
    SITE = "site"
    ROOM = "room"
    SAFE = "safe"
    CABINET = "cabinet"
    SHELF = "shelf"


class ApprovalPurpose(enum.StrEnum):
    """What an approval is for: one row family of the approval matrix each (RULES §5.2, §5 Q8)."""

    LOAN = "loan"
    OUTSIDE_LOAN = "outside_loan"
    COPY = "copy"
    EXTRACT = "extract"
    CARRY_OUT = "carry_out"
    DESTRUCTION = "destruction"
    SCOPE_EXTENSION = "scope_extension"
    RECLASSIFY = "reclassify"
    DECLASSIFY = "declassify"
    CLEARANCE_CHANGE = "clearance_change"
    ROLE_CHANGE = "role_change"
    POLICY_CHANGE = "policy_change"
    PRINT = "print"  # 印制: a print run's copy count and distribution; no carrier exists yet

    @property
    def zh(self) -> str:
        return {
            "print": "印制",
            "loan": "借阅",
            "outside_loan": "外借",
            "copy": "复制",
            "extract": "摘抄",
            "carry_out": "携带外出",
            "destruction": "销毁",
            "scope_extension": "扩大知悉范围",
            "reclassify": "变更密级",
            "declassify": "解密",
            "clearance_change": "变更涉密等级",
            "role_change": "变更角色",
            "policy_change": "变更策略",
        }[self.value]

    @property
    def about_carriers(self) -> bool:
        """Carrier purposes name carriers; the others concern a person or the policy itself."""
        return self not in (ApprovalPurpose.CLEARANCE_CHANGE, ApprovalPurpose.ROLE_CHANGE,
                            ApprovalPurpose.POLICY_CHANGE, ApprovalPurpose.PRINT)

    @classmethod
    def parse(cls, text: str) -> ApprovalPurpose:
        key = text.strip().lower().replace("-", "_").replace(" ", "_")
        for p in cls:
            if key == p.value or text.strip() == p.zh:
                return p
        raise DomainError(f"Unknown approval purpose {text!r}: use {', '.join(p.value for p in cls)}.",
                          f"无法识别的审批事项 {text!r}：可用 {'、'.join(p.zh for p in cls)}。")


class EventType(enum.StrEnum):
    """Every kind of ledger event. One state change is one event (ARCHITECTURE: the custody ledger)."""

    LOCATION_ADDED = "location_added"
    PERSON_ADDED = "person_added"
    PERSON_CHANGED = "person_changed"
    PERSON_DEPARTED = "person_departed"
    REGISTERED = "registered"
    CHECKED_OUT = "checked_out"
    CHECKED_IN = "checked_in"
    HANDED_OVER = "handed_over"
    CARRIED_OUT = "carried_out"
    COPIED = "copied"
    RECLASSIFIED = "reclassified"
    MOVED = "moved"
    REPORTED_MISSING = "reported_missing"
    FOUND = "found"
    APPROVAL_GRANTED = "approval_granted"
    APPROVAL_REQUESTED = "approval_requested"
    APPROVAL_DECIDED = "approval_decided"
    POLICY_CHANGED = "policy_changed"
    LABEL_ENCODED = "label_encoded"
    STOCKTAKE_STARTED = "stocktake_started"
    STOCKTAKE_RESOLVED = "stocktake_resolved"
    STOCKTAKE_CLOSED = "stocktake_closed"
    LEDGER_SEALED = "ledger_sealed"
    # End of life (issue 18): a destruction batch (销毁) and the carriers leaving the active register.
    DESTRUCTION_BATCH_OPENED = "destruction_batch_opened"
    DESTRUCTION_LISTED = "destruction_listed"
    DESTRUCTION_UNLISTED = "destruction_unlisted"
    DESTROYED = "destroyed"
    ARCHIVED = "archived"
    RETURNED_TO_ISSUER = "returned_to_issuer"
    TRANSFERRED_OUT = "transferred_out"
    ARCHIVE_CONSULTED = "archive_consulted"
    MEDIUM_CERTIFIED = "medium_certified"  # a classified computer's product certification, recorded
    # Print runs (issue 21, 印制 ): the approved run, each printed copy, the run's by-products, completion.
    PRINT_RUN_REQUESTED = "print_run_requested"
    PRINTED = "printed"
    PRINT_BYPRODUCTS = "print_byproducts"
    PRINT_RUN_COMPLETED = "print_run_completed"
    # Classified meetings (issue 21, 涉密会议 ): materials issued to and collected from attendees.
    MEETING_OPENED = "meeting_opened"
    MEETING_ISSUED = "meeting_issued"
    MEETING_COLLECTED = "meeting_collected"
    MEETING_KEPT = "meeting_kept"
    MEETING_CLOSED = "meeting_closed"
    # Incidents: opened by a person or a device, worked with measures, closed with a resolution.
    INCIDENT_OPENED = "incident_opened"
    INCIDENT_UPDATED = "incident_updated"
    INCIDENT_CLOSED = "incident_closed"
    # RFID gates and smart cabinets (issue 23): binding a reader to a place is register data, never custody.
    READER_PLACE_ADDED = "reader_place_added"
    # Duties (issue 19): clear-back campaigns (清退/收缴) and people's lifecycle records.
    CAMPAIGN_OPENED = "campaign_opened"
    CAMPAIGN_SCANNED = "campaign_scanned"
    CAMPAIGN_CLOSED = "campaign_closed"
    PERSON_RECORDED = "person_recorded"
    # Receipt, dispatch and courier transit (issue 20): 收文登记, packages and seals, hops of the 机要 channel.
    INCOMING_REGISTERED = "incoming_registered"
    PACKAGE_CREATED = "package_created"
    PACKED = "packed"
    PACKAGE_SEALED = "package_sealed"
    PACKAGE_OPENED = "package_opened"
    DISPATCHED = "dispatched"
    TRANSIT_HOP = "transit_hop"
    TRANSIT_RECEIVED = "transit_received"
    PERSONAL_DELIVERED = "personal_delivered"
    PROXY_DESIGNATED = "proxy_designated"


class PackageKind(enum.StrEnum):
    """What carriers travel in (R-88, R-94): a sewn envelope (信封), a document bag (文件包) or a box (文件箱)."""

    ENVELOPE = "envelope"
    BAG = "bag"
    BOX = "box"

    @property
    def zh(self) -> str:
        return {"envelope": "信封", "bag": "文件包", "box": "文件箱"}[self.value]

    @classmethod
    def parse(cls, text: str) -> PackageKind:
        key = text.strip().lower()
        for k in cls:
            if key == k.value or text.strip() == k.zh:
                return k
        raise DomainError(f"Unknown package kind {text!r}: use envelope, bag or box.",
                          f"无法识别的封装类型 {text!r}：可用 信封、文件包 或 文件箱。")


class IncidentKind(enum.StrEnum):
    """What raised an incident. Features that raise their own kinds add them here (one list the officer filters)."""

    LOSS = "loss"  # 下落不明
    SEAL_BROKEN = "seal_broken"  # an envelope or package seal found broken
    SEAL_MISMATCH = "seal_mismatch"  # a seal number other than the one recorded
    CONTENTS_MISMATCH = "contents_mismatch"  # a package opened with items missing or extra
    GATE_ALARM = "gate_alarm"  # a carrier passed an exit gate without authority
    CABINET_ALARM = "cabinet_alarm"  # a carrier taken from a cabinet by someone not allowed to hold it
    OTHER = "other"

    @property
    def zh(self) -> str:
        return _INCIDENT_ZH[self]


_INCIDENT_ZH = {
    IncidentKind.LOSS: "载体下落不明",
    IncidentKind.SEAL_BROKEN: "封志破损",
    IncidentKind.SEAL_MISMATCH: "封志不符",
    IncidentKind.CONTENTS_MISMATCH: "包内载体不符",
    IncidentKind.GATE_ALARM: "通道门报警",
    IncidentKind.CABINET_ALARM: "智能柜报警",
    IncidentKind.OTHER: "其他",
}


class IncidentOutcome(enum.StrEnum):
    """How an incident ends. `recovered` needs every carrier back; `leak_reported` is the R-155 path (reported to the
    secrecy authority as a leak); `unfounded` is a false alarm explained (a gate read of an authorised carrier)."""

    RECOVERED = "recovered"
    LEAK_REPORTED = "leak_reported"
    UNFOUNDED = "unfounded"
    OTHER = "other"

    @property
    def zh(self) -> str:
        return {"recovered": "已找回", "leak_reported": "已按泄密事件上报", "unfounded": "经查无事",
                "other": "其他"}[self.value]


# --- value objects ----------------------------------------------------------------------------------------------

_YEARS = re.compile(r"^\s*(\d{1,3})\s*(年|y|yr|yrs|year|years)?\s*$", re.IGNORECASE)
_DATE = re.compile(r"^\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?\s*$")


@dataclass(frozen=True, slots=True)
class SecrecyPeriod:
    """保密期限 (R-02, §5 Q14): a number of years, a date, or 长期 (long-term)."""

    years: int | None = None
    until: date | None = None
    long_term: bool = False

    def __post_init__(self) -> None:
        given = sum((self.years is not None, self.until is not None, self.long_term))
        if given != 1:
            raise DomainError(
                "A secrecy period is exactly one of: years, a date, or long-term.",
                "保密期限只能是年数、日期或长期之一。",
            )
        if self.years is not None and not 1 <= self.years <= 100:
            raise DomainError("Secrecy period years must be 1–100.", "保密期限年数须在 1–100 之间。")

    @classmethod
    def parse(cls, text: str | None) -> SecrecyPeriod | None:
        """`10`, `10y`, `10年`, `2027-12-31`, `2027年12月31日`, `long`, `长期`; blank means none."""
        if text is None or not text.strip():
            return None
        t = text.strip()
        if t.lower() in ("long", "long_term", "long-term", "长期"):
            return cls(long_term=True)
        if m := _YEARS.match(t):
            return cls(years=int(m.group(1)))
        if m := _DATE.match(t):
            try:
                return cls(until=date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
            except ValueError:
                pass
        raise DomainError(
            f"Cannot read secrecy period {text!r}: use years (10y / 10年), a date (2027-12-31) or long / 长期.",
            f"无法识别的保密期限 {text!r}：请填写年数（10年）、日期（2027-12-31）或 长期。",
        )

    def check_entry(self, today: date) -> None:
        """R-02 at entry: a period that has already ended would mark a carrier as secret until a day that is gone,
        so a date period must lie after today (the unit's local date). Years and long-term always lie ahead."""
        if self.until is not None and self.until <= today:
            raise DomainError(
                f"The secrecy period {self.until.isoformat()} is not after today ({today.isoformat()}): give a future "
                "date, a number of years (10y) or long.",
                f"保密期限 {self.zh} 不晚于今天（{today.year}年{today.month}月{today.day}日）：请填写今后的日期、年数"
                "（10年）或 长期。",
            )

    def encode(self) -> str:
        """The storage form, also accepted by `parse`."""
        if self.long_term:
            return "long"
        if self.until is not None:
            return self.until.isoformat()
        return f"{self.years}y"

    @property
    def zh(self) -> str:
        if self.long_term:
            return "长期"
        if self.until is not None:
            return f"{self.until.year}年{self.until.month}月{self.until.day}日"
        return f"{self.years}年"

    @property
    def en(self) -> str:
        if self.long_term:
            return "long-term"
        if self.until is not None:
            return f"until {self.until.isoformat()}"
        return f"{self.years} years"


@dataclass(frozen=True, slots=True)
class Scope:
    """知悉范围 (need-to-know, R-02, R-54): units and named people allowed to know the carrier's content.

    Text form: items separated by `;` or `,`; an item starting with `@` is a person's badge, anything else a unit.
    """

    units: frozenset[str] = field(default_factory=frozenset)
    people: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, text: str | None) -> Scope | None:
        if text is None or not text.strip():
            return None
        items = [i.strip() for i in re.split(r"[;,；，]", text) if i.strip()]
        units = frozenset(i for i in items if not i.startswith("@"))
        people = frozenset(i[1:].strip() for i in items if i.startswith("@") and i[1:].strip())
        if not units and not people:
            return None
        return cls(units=units, people=people)

    def encode(self) -> str:
        return ";".join(sorted(self.units) + [f"@{p}" for p in sorted(self.people)])

    def check_entry(self, units: frozenset[str] | set[str], badges: frozenset[str] | set[str]) -> None:
        """R-02 at entry: a scope names units and people the register knows (a unit is known when a registered person
        or place belongs to it), so a typo never becomes a need-to-know nobody can meet or check."""
        unknown = sorted(u for u in self.units if u not in units) + sorted(f"@{b}" for b in self.people
                                                                           if b not in badges)
        if unknown:
            raise DomainError(
                f"Unknown in the need-to-know scope: {', '.join(unknown)}. A unit is one a registered person or place "
                "belongs to; a person is @badge.",
                f"知悉范围中有未登记的单位或人员：{'、'.join(unknown)}。单位须为已登记人员或存放位置所属单位，人员写作 "
                "@工号。",
            )

    def admits(self, unit: str, badge: str) -> bool:
        return unit in self.units or badge in self.people

    def __bool__(self) -> bool:
        return bool(self.units or self.people)


def marking_text(level: Classification, period: SecrecyPeriod | None, lang: str = "zh") -> str:
    """The 密级★期限 marking (R-06, §5 Q15); the label printer and the screens show the same string."""
    if lang == "zh":
        return f"{level.zh}★{period.zh}" if period and level.is_secret_level else level.zh
    return f"{level.label} ★ {period.en}" if period and level.is_secret_level else level.label


def utc_iso(moment: datetime) -> str:
    """Canonical UTC text of a moment, used in the ledger so both databases hash the same bytes."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime in the register")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)



def zone_label(tz: tzinfo, at: datetime | None = None) -> str:
    """The zone as a UTC offset (`UTC+08:00`): abbreviations such as CST name three different zones."""
    offset = (at or datetime.now(UTC)).astimezone(tz).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def local_text(moment: datetime | str | None, tz: tzinfo, zone: bool = False) -> str:
    """A moment as a person reads it: in the unit's time zone (the policy's), to the minute, with the zone when the
    text stands alone (a message, a report header) and could be read in another zone. Stored and JSON times stay UTC
    ISO 8601; this is only for people. A ledger stamp (`utc_iso` text) is accepted as is."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = parse_utc(moment) if moment.endswith("Z") else datetime.fromisoformat(moment)
    local = moment.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {zone_label(tz, moment)}" if zone else f"{local:%Y-%m-%d %H:%M}"
