"""Inventory aggregation: many raw tag reads in, one line per tag out.

A reader reports the same tag dozens of times a second, on several antennas, sometimes from the neighbouring
shelf (a cross-read, weak) and sometimes not at all (near metal). This module owns turning that into what a
stock-take needs: per EPC the first and last time seen, how often, the peak RSSI and the antennas that saw it;
a de-duplication window for live screens; an RSSI floor per antenna that drops cross-reads; the list of what
is still missing for a second pass; and foreign tags (another EPC scheme or company prefix) kept apart. It
works on `drivers.reads.Read` with `kind=epc` from any reader, is pure (no I/O, no clock of its own) and must
never import `tracker` or `tui`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from drivers.reads import Read, ReadKind
from drivers.rfid.epc import EpcPolicy


@dataclass(slots=True)
class AntennaStats:
    count: int = 0
    peak_rssi: float | None = None


@dataclass(slots=True)
class TagSummary:
    """Everything the inventory knows about one EPC."""

    epc: str
    first_seen: datetime
    last_seen: datetime
    count: int = 0
    peak_rssi: float | None = None
    antennas: dict[int, AntennaStats] = field(default_factory=dict)
    devices: set[str] = field(default_factory=set)
    foreign: bool = False

    @property
    def best_antenna(self) -> int | None:
        """The antenna with the strongest peak: where the tag most likely is. Ties go to the antenna with more
        reads, then the lower number, so the answer never depends on arrival order."""
        if not self.antennas:
            return None
        return min(
            self.antennas.items(),
            key=lambda kv: (
                -(kv[1].peak_rssi if kv[1].peak_rssi is not None else float("-inf")),
                -kv[1].count,
                kv[0],
            ),
        )[0]

    def to_read(self, device: str) -> Read:
        return Read(
            code=self.epc,
            kind=ReadKind.EPC,
            device=device,
            at=self.first_seen,
            rssi=self.peak_rssi,
            antenna=self.best_antenna,
        )


@dataclass(frozen=True)
class InventoryConfig:
    """`dedup_window` in seconds; `rssi_threshold` is the floor (dBm) for every antenna unless
    `antenna_thresholds` names its own. A read below its floor is a cross-read candidate and is not counted.
    Reads without RSSI (some readers report none) are never dropped by a floor."""

    dedup_window: float = 2.0
    rssi_threshold: float | None = None
    antenna_thresholds: Mapping[int, float] = field(default_factory=dict)
    policy: EpcPolicy = field(default_factory=EpcPolicy)

    def floor(self, antenna: int | None) -> float | None:
        if antenna is not None and antenna in self.antenna_thresholds:
            return self.antenna_thresholds[antenna]
        return self.rssi_threshold


class Inventory:
    """Aggregates reads of one stock-take pass (or several merged passes)."""

    def __init__(self, config: InventoryConfig | None = None) -> None:
        self.config = config or InventoryConfig()
        self.tags: dict[str, TagSummary] = {}
        self.reads_seen = 0
        self.reads_below_floor = 0
        self._weak: dict[str, int] = {}
        self._last_emitted: dict[str, float] = {}
        self._own_cache: dict[str, bool] = {}
        self._floors: dict[int | None, float | None] = {}

    def _floor(self, antenna: int | None) -> float | None:
        try:
            return self._floors[antenna]
        except KeyError:
            value = self._floors[antenna] = self.config.floor(antenna)
            return value

    def add(self, read: Read) -> bool:
        """Count one read. True when it is news for a live screen: the first accepted sighting of the tag, or
        the first after `dedup_window` seconds without one. Below-floor reads are never news."""
        if read.kind is not ReadKind.EPC:
            raise ValueError(f"inventory takes EPC reads, not {read.kind} ({read.code!r})")
        self.reads_seen += 1
        epc = read.code
        rssi = read.rssi
        antenna = read.antenna
        floor = self._floor(antenna)
        if floor is not None and rssi is not None and rssi < floor:
            self.reads_below_floor += 1
            self._weak[epc] = self._weak.get(epc, 0) + 1
            return False
        at = read.at
        tag = self.tags.get(epc)
        if tag is None:
            own = self._own_cache.get(epc)
            if own is None:
                own = self._own_cache[epc] = self.config.policy.is_own(epc)
            tag = self.tags[epc] = TagSummary(epc, at, at, foreign=not own)
        elif at < tag.first_seen:
            tag.first_seen = at
        if at > tag.last_seen:
            tag.last_seen = at
        tag.count += 1
        if rssi is not None and (tag.peak_rssi is None or rssi > tag.peak_rssi):
            tag.peak_rssi = rssi
        if antenna is not None:
            stats = tag.antennas.get(antenna)
            if stats is None:
                stats = tag.antennas[antenna] = AntennaStats()
            stats.count += 1
            if rssi is not None and (stats.peak_rssi is None or rssi > stats.peak_rssi):
                stats.peak_rssi = rssi
        if read.device:
            tag.devices.add(read.device)
        stamp = at.timestamp()
        last = self._last_emitted.get(epc)
        if last is None or stamp - last >= self.config.dedup_window:
            self._last_emitted[epc] = stamp
            return True
        return False

    def add_all(self, reads: Iterable[Read]) -> int:
        """Count many reads; returns how many were news."""
        add = self.add
        return sum(1 for read in reads if add(read))

    def dedupe(self, reads: Iterable[Read]) -> Iterator[Read]:
        """The reads that are news, in order: what a live screen shows while the inventory counts all."""
        add = self.add
        for read in reads:
            if add(read):
                yield read

    def own(self) -> list[TagSummary]:
        return sorted((t for t in self.tags.values() if not t.foreign), key=lambda t: t.epc)

    def foreign(self) -> list[TagSummary]:
        return sorted((t for t in self.tags.values() if t.foreign), key=lambda t: t.epc)

    def weak_only(self) -> list[str]:
        """EPCs heard only below their antenna's floor: cross-reads from the next shelf, or a tag worth a
        closer second pass."""
        return sorted(epc for epc in self._weak if epc not in self.tags)

    def results(self, device: str = "inventory") -> list[Read]:
        """One `Read` per own tag (kind epc), with its peak RSSI, strongest antenna and first sighting."""
        return [tag.to_read(device) for tag in self.own()]

    def missing(self, expected: Iterable[str]) -> set[str]:
        """Expected EPCs not (yet) seen above the floor: the list for a second pass."""
        return {epc.upper() for epc in expected} - self.tags.keys()

    def merge(self, other: Inventory) -> None:
        """Fold a second pass into this one (same rules: its floor already applied to its reads)."""
        for epc, theirs in other.tags.items():
            mine = self.tags.get(epc)
            if mine is None:
                self.tags[epc] = replace(
                    theirs,
                    antennas={a: AntennaStats(s.count, s.peak_rssi) for a, s in theirs.antennas.items()},
                    devices=set(theirs.devices),
                )
                continue
            mine.first_seen = min(mine.first_seen, theirs.first_seen)
            mine.last_seen = max(mine.last_seen, theirs.last_seen)
            mine.count += theirs.count
            mine.peak_rssi = _max(mine.peak_rssi, theirs.peak_rssi)
            for antenna, stats in theirs.antennas.items():
                own = mine.antennas.setdefault(antenna, AntennaStats())
                own.count += stats.count
                own.peak_rssi = _max(own.peak_rssi, stats.peak_rssi)
            mine.devices |= theirs.devices
        for epc, n in other._weak.items():
            self._weak[epc] = self._weak.get(epc, 0) + n
        self.reads_seen += other.reads_seen
        self.reads_below_floor += other.reads_below_floor


def _max(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
