"""A tag population for the emulated RFID readers: which tags are in the field, on which antennas, how strong.

Every emulated reader (MagicRF, ThingMagic, Chafon, TSL, LLRP) asks the same population what one inventory
round hears, so a test can run the same shelf through different protocols. A round is a pure function of the
seed and the round number: repeated runs with the same seed hear exactly the same reads. Tags can come and go
between rounds, some sit near metal (often missed), some live on the neighbouring shelf and are heard only
weakly (cross-reads), and a share of frames can be corrupted on the wire. It must never import `tracker` or
`tui`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from drivers.rfid.epc import encode_gs1_96


@dataclass(frozen=True, slots=True)
class EmulatedTag:
    """`rssi` is the mean RSSI (dBm) per antenna that can hear the tag at all."""

    epc: str
    rssi: dict[int, float]
    read_probability: float = 0.97
    cross_read: bool = False
    near_metal: bool = False

    @property
    def home_antenna(self) -> int:
        return max(self.rssi.items(), key=lambda kv: (kv[1], -kv[0]))[0]


@dataclass(frozen=True, slots=True)
class Observation:
    epc: str
    antenna: int
    rssi: int


@dataclass
class TagPopulation:
    tags: list[EmulatedTag] = field(default_factory=list)
    seed: int = 0
    noise_db: float = 3.0
    crc_error_rate: float = 0.0

    def __post_init__(self) -> None:
        self._index = {t.epc: t for t in self.tags}

    @classmethod
    def shelf(
        cls,
        n: int = 100,
        *,
        seed: int = 0,
        antennas: Sequence[int] = (1,),
        cross_read_ratio: float = 0.0,
        near_metal_ratio: float = 0.0,
        foreign: int = 0,
        company_prefix: str = "6923456",
        crc_error_rate: float = 0.0,
    ) -> TagPopulation:
        """`n` carriers on shelves read by `antennas`, plus cross-read tags from the neighbouring shelf
        (`cross_read_ratio` of n, own EPC scheme, heard only weakly) and `foreign` retail tags (SGTIN of
        another company). Strongest antenna per carrier is its shelf; a neighbouring antenna may hear it
        20-30 dB weaker."""
        rng = random.Random(seed)
        tags: list[EmulatedTag] = []
        ants = list(antennas)
        for i in range(n):
            home = ants[i % len(ants)]
            mean = rng.uniform(-60.0, -38.0)
            heard = {home: mean}
            if len(ants) > 1 and rng.random() < 0.3:
                other = ants[(ants.index(home) + 1) % len(ants)]
                heard[other] = mean - rng.uniform(20.0, 30.0)
            metal = rng.random() < near_metal_ratio
            epc = encode_gs1_96("giai-96", company_prefix, 1_000_000 + i)
            tags.append(EmulatedTag(epc, heard, 0.35 if metal else 0.97, near_metal=metal))
        for j in range(round(n * cross_read_ratio)):
            epc = encode_gs1_96("giai-96", company_prefix, 9_000_000 + j)
            tags.append(EmulatedTag(epc, {rng.choice(ants): rng.uniform(-82.0, -73.0)}, 0.6, cross_read=True))
        for k in range(foreign):
            epc = encode_gs1_96("sgtin-96", "4012345", 500_000 + k, filter_value=1)
            tags.append(EmulatedTag(epc, {rng.choice(ants): rng.uniform(-65.0, -45.0)}))
        return cls(tags, seed=seed, crc_error_rate=crc_error_rate)

    def add(self, tag: EmulatedTag) -> None:
        """A tag comes into the field (a carrier laid on the counter pad)."""
        if tag.epc not in self._index:
            self.tags.append(tag)
            self._index[tag.epc] = tag

    def remove(self, epc: str) -> None:
        """A tag leaves the field."""
        tag = self._index.pop(epc.upper(), None)
        if tag is not None:
            self.tags.remove(tag)

    def __contains__(self, epc: object) -> bool:
        return epc in self._index

    def __len__(self) -> int:
        return len(self.tags)

    def carriers(self) -> list[EmulatedTag]:
        """The tags that really are on the shelves read (not cross-reads, not foreign)."""
        return [t for t in self.tags if not t.cross_read and t.epc[:2] == "34"]

    def rng(self, round_index: int, salt: str = "") -> random.Random:
        return random.Random(f"{self.seed}:{round_index}:{salt}")

    def observe(self, round_index: int, antennas: Iterable[int] | None = None) -> list[Observation]:
        """What one inventory round hears, in a fixed order; the same (seed, round) always hears the same."""
        rng = self.rng(round_index)
        wanted = None if antennas is None else set(antennas)
        out: list[Observation] = []
        noise = self.noise_db
        for tag in self.tags:
            for antenna, mean in sorted(tag.rssi.items()):
                if wanted is not None and antenna not in wanted:
                    continue
                if rng.random() < tag.read_probability:
                    out.append(Observation(tag.epc, antenna, round(mean + rng.uniform(-noise, noise))))
        return out

    def corrupt(self, rng: random.Random) -> bool:
        return self.crc_error_rate > 0 and rng.random() < self.crc_error_rate
