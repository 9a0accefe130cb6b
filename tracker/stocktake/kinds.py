"""The stock-take's vocabulary: what a finding can say (`FindingKind`, in both languages), which resolutions each
kind allows, the placement tuning (`Tuning`) and a reconciliation's counts (`ReconcileResult`).

Every other module of `tracker.stocktake` (and the CLI, the TUI and the reports) imports these; this module imports
nothing of the stock-take and must never touch the database, so it can sit below all of them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass


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
    FindingKind.GONE_SEEN: "destroyed, returned or transferred but seen",
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


def kinds_in(counts: dict[FindingKind, int], kinds: Sequence[FindingKind]) -> int:
    return sum(counts.get(k, 0) for k in kinds)


RELOCATE, CLOSE_LOAN, REPORT_MISSING, REGISTER, FOUND, ACKNOWLEDGE = (
    "relocate", "close_loan", "report_missing", "register", "found", "acknowledge")


RESOLUTIONS = (RELOCATE, CLOSE_LOAN, REPORT_MISSING, REGISTER, FOUND, ACKNOWLEDGE)


ALLOWED: dict[FindingKind, tuple[str, ...]] = {
    FindingKind.MISPLACED: (RELOCATE, ACKNOWLEDGE),
    # R-156 (issue 19): a carrier not found is located (moved to where it is) or reported missing, never waved
    # off: an acknowledgement would leave the R-155 clock unstarted.
    FindingKind.MISSING: (REPORT_MISSING, RELOCATE),
    FindingKind.NOT_COVERED: (REPORT_MISSING, ACKNOWLEDGE),
    FindingKind.LOAN_NOT_CLOSED: (CLOSE_LOAN, ACKNOWLEDGE),
    FindingKind.AMBIGUOUS: (RELOCATE, ACKNOWLEDGE),
    FindingKind.GONE_SEEN: (ACKNOWLEDGE,),
    FindingKind.MISSING_SEEN: (FOUND, ACKNOWLEDGE),
    FindingKind.UNKNOWN_CODE: (REGISTER, ACKNOWLEDGE),
    FindingKind.OUTSIDE_SCOPE: (RELOCATE, ACKNOWLEDGE),
    FindingKind.CLONE_SUSPECT: (ACKNOWLEDGE,),
    FindingKind.UNCONFIRMED_TOP_SECRET: (ACKNOWLEDGE,),
    FindingKind.NOT_VISITED: (ACKNOWLEDGE,),
}
