"""People walking through an exit gate with tagged carriers, for the emulated readers (issue 23).

A `GatePopulation` is a `TagPopulation` (tags that stay in the field: a shelf near the door, visitors' goods) plus
walkers: a walker carries some tags through the gate over `rounds` inventory rounds, heard first by the antenna on
the side they come from and then by the one on the side they go to, each tag with `read_probability` per round.
Any emulated reader that asks a population what a round hears (ThingMagic on a pty, LLRP on a socket) therefore
reports a pass with its direction, its misses and its timing, over the real protocol. A walker starts at the first
round after it is added, so tests add walkers while the reader runs. It must never import `tracker` or `tui`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from drivers.emulators.rfid_population import Observation, TagPopulation


@dataclass
class Walker:
    epcs: tuple[str, ...]
    rounds: int
    direction: str = "out"
    start: int | None = None
    heard: dict[str, int] = field(default_factory=dict)  # reads per tag, for the test to compare
    first_heard: float | None = None  # time.monotonic() of the round that first heard one of its tags

    @property
    def done(self) -> bool:
        return self.start is not None and self.heard.get("_rounds", 0) >= self.rounds


@dataclass
class GatePopulation(TagPopulation):
    inside: int = 1
    outside: int = 2
    read_probability: float = 0.9
    walkers: list[Walker] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._lock = threading.Lock()

    def walk(self, epcs: Iterable[str], rounds: int = 6, direction: str = "out") -> Walker:
        """Someone walks through carrying these tags; the pass lasts `rounds` inventory rounds (≥ 5 at a real
        gate's walking pace and read rate)."""
        if direction not in ("out", "in"):
            raise ValueError("direction is 'out' or 'in'")
        w = Walker(tuple(e.upper() for e in epcs), max(1, rounds), direction)
        with self._lock:
            self.walkers.append(w)
        return w

    def walker_observations(self, w: Walker, k: int, rng: random.Random) -> list[Observation]:
        """What round `k` of a walk hears: the near antenna in the first half, the far one in the second."""
        first, second = (self.inside, self.outside) if w.direction == "out" else (self.outside, self.inside)
        antenna = first if k < w.rounds / 2 else second
        out = []
        for epc in w.epcs:
            if rng.random() < self.read_probability:
                out.append(Observation(epc, antenna, round(rng.uniform(-62.0, -40.0))))
                w.heard[epc] = w.heard.get(epc, 0) + 1
                if w.first_heard is None:
                    w.first_heard = time.monotonic()
        return out

    def observe(self, round_index: int, antennas: Iterable[int] | None = None) -> list[Observation]:
        wanted = None if antennas is None else set(antennas)
        out = super().observe(round_index, wanted)
        rng = self.rng(round_index, "walkers")
        with self._lock:
            for w in self.walkers:
                if w.start is None:
                    w.start = round_index
                k = round_index - w.start
                if 0 <= k < w.rounds:
                    out += [o for o in self.walker_observations(w, k, rng) if wanted is None or o.antenna in wanted]
                    w.heard["_rounds"] = k + 1
            self.walkers = [w for w in self.walkers if not w.done]
        return out


def simulate_pass(epcs: Sequence[str], rounds: int, read_probability: float, rng: random.Random,
                  inside: int = 1, outside: int = 2, direction: str = "out") -> list[list[Observation]]:
    """The read model of one walk, round by round, without a reader (the benchmark's 10,000 passes)."""
    pop = GatePopulation(inside=inside, outside=outside, read_probability=read_probability)
    w = Walker(tuple(epcs), rounds, direction, start=0)
    return [pop.walker_observations(w, k, rng) for k in range(rounds)]
