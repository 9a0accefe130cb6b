"""What every stock-take report shows, gathered once: the session, per-place progress and the findings.

The PDF, CSV and XLSX writers take this one value so they can never disagree. It only reads, inside read-only
units of work; it must never reconcile or change anything (reconcile first, then report).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from tracker import stocktake as st
from tracker.stocktake.kinds import FindingKind
from tracker.store import Store

# Above this many findings the per-place lists leave out the carriers found as expected (they stay in CSV/XLSX).
LIST_FOUND_LIMIT = 2000


@dataclass(frozen=True)
class StocktakeReport:
    session: st.SessionView
    places: list[st.LocationProgress]
    findings: list[st.FindingView]
    # The unit's zone (the policy's): every time in a report is local, to the minute, with its zone named.
    tz: tzinfo

    @property
    def lists_found(self) -> bool:
        return len(self.findings) <= LIST_FOUND_LIMIT

    def summary(self) -> list[tuple[FindingKind, int, int]]:
        """(kind, count, unresolved) for every kind present, in the enum's order."""
        out = []
        for kind in FindingKind:
            rows = [f for f in self.findings if f.kind is kind]
            if rows:
                out.append((kind, len(rows), sum(1 for f in rows if not f.resolved)))
        return out

    def by_place(self) -> list[tuple[str, list[st.FindingView]]]:
        """Findings grouped by the place (or holder) they belong to: where expected, else where seen."""
        groups: dict[str, list[st.FindingView]] = {}
        for f in self.findings:
            if f.kind is FindingKind.FOUND and not self.lists_found:
                continue
            groups.setdefault(f.expected or f.seen or "—", []).append(f)
        return sorted(groups.items())


def gather(store: Store, sid: int) -> StocktakeReport:
    return StocktakeReport(st.session_view(store.uow(readonly=True), sid),
                           st.progress(store.uow(readonly=True), sid),
                           st.findings(store.uow(readonly=True), sid), store.policy.tz)
