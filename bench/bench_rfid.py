"""RFID codec + inventory aggregation throughput, against a bare loop that only cuts the same bytes into frames.

Run: .venv/bin/python bench/bench_rfid.py   (target: >= 50,000 tag reads/s for codec + aggregation)

The byte streams are what an M100 module and a 4-port Mercury module send for a shelf of 2,000 tags read
many times over, fed in 4 KiB chunks as a serial port delivers them. Three loops run on the same bytes:
bare framing (find the header, take the length, slice — no checks), the codec (framing with checksum,
tag-CRC check, parse to `TagRead`), and codec + `Read` + `Inventory.add` (de-duplication, per-antenna floor,
peak RSSI).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.emulators.rfid_magicrf import notification
from drivers.emulators.rfid_population import TagPopulation
from drivers.rfid import magicrf, thingmagic
from drivers.rfid.inventory import Inventory, InventoryConfig

CHUNK = 4096
TARGET = 50_000


def stream_magicrf(population: TagPopulation, rounds: int) -> tuple[bytes, int]:
    parts = []
    n = 0
    for r in range(rounds):
        for obs in population.observe(r, antennas=(1,)):
            parts.append(notification(obs.epc, obs.rssi))
            n += 1
    return b"".join(parts), n


def stream_thingmagic(population: TagPopulation, rounds: int) -> tuple[bytes, int]:
    parts = []
    n = 0
    for r in range(rounds):
        for obs in population.observe(r):
            record = thingmagic.encode_tag_record(bytes.fromhex(obs.epc), rssi=obs.rssi, antenna=obs.antenna)
            parts.append(thingmagic.encode_response(0x22, 0, record))
            n += 1
    return b"".join(parts), n


def bare_split(data: bytes, header: int, overhead: int, length_at: Callable[[bytes, int], int]) -> int:
    """Only cut frames: find the start byte, read the length, slice. No checks, no objects."""
    frames = 0
    buf = b""
    start = bytes((header,))
    for k in range(0, len(data), CHUNK):
        buf += data[k : k + CHUNK]
        i = 0
        n = len(buf)
        while True:
            j = buf.find(start, i)
            if j < 0 or n - j < overhead:
                break
            end = j + length_at(buf, j) + overhead
            if end > n:
                break
            _frame = buf[j:end]
            frames += 1
            i = end
        buf = buf[i:]
    return frames


def codec_only(data: bytes, decode: Callable[[bytes], tuple[list[object], bytes, int]]) -> int:
    tags = 0
    rest = b""
    for k in range(0, len(data), CHUNK):
        found, rest, _ = decode(rest + data[k : k + CHUNK])
        tags += len(found)
    return tags


def codec_and_inventory(data: bytes, decode: Callable[..., tuple[list[magicrf.TagRead], bytes, int]]) -> int:
    inventory = Inventory(InventoryConfig(dedup_window=2.0, rssi_threshold=-70.0))
    add = inventory.add
    rest = b""
    at = datetime.now(UTC)
    for k in range(0, len(data), CHUNK):
        found, rest, _ = decode(rest + data[k : k + CHUNK])
        for tag in found:
            add(tag.to_read("bench", at))
    return inventory.reads_seen


def timed(fn: Callable[[], int]) -> tuple[int, float]:
    best = float("inf")
    count = 0
    for _ in range(3):
        t0 = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - t0)
    return count, best


def run(name: str, data: bytes, reads: int, header: int, overhead: int, length_at, decode) -> float:  # type: ignore[no-untyped-def]
    frames, t_bare = timed(lambda: bare_split(data, header, overhead, length_at))
    tags, t_codec = timed(lambda: codec_only(data, decode))
    seen, t_full = timed(lambda: codec_and_inventory(data, decode))
    assert frames == tags == seen == reads, (frames, tags, seen, reads)
    rate_bare, rate_codec, rate_full = reads / t_bare, reads / t_codec, reads / t_full
    print(f"{name}: {reads:,} tag reads, {len(data) / 1e6:.1f} MB")
    print(f"  bare framing loop          {rate_bare:12,.0f} reads/s")
    print(f"  codec (checks + parse)     {rate_codec:12,.0f} reads/s   {rate_codec / rate_bare:5.2f} x bare")
    print(f"  codec + inventory          {rate_full:12,.0f} reads/s   {rate_full / rate_bare:5.2f} x bare")
    return rate_full


def main() -> int:
    single = TagPopulation.shelf(2000, seed=1)
    quad = TagPopulation.shelf(2000, seed=1, antennas=(1, 2, 3, 4), cross_read_ratio=0.05)
    mrf, n_mrf = stream_magicrf(single, 40)
    tm, n_tm = stream_thingmagic(quad, 30)
    rates = [
        run("MagicRF M100", mrf, n_mrf, 0xBB, 7, lambda b, j: (b[j + 3] << 8) | b[j + 4], magicrf.decode),
        run("ThingMagic Mercury", tm, n_tm, 0xFF, 7, lambda b, j: b[j + 1], thingmagic.decode),
    ]
    worst = min(rates)
    verdict = "meets" if worst >= TARGET else "MISSES"
    print(f"slowest codec + inventory: {worst:,.0f} reads/s — {verdict} the {TARGET:,} reads/s target")
    return 0 if worst >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
