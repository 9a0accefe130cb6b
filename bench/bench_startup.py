"""Start-up cost of the command line (issue 22), each printed beside a baseline measured in the same run:

1. `tracker --help` beside `python -c 'import typer, rich'` — target ≤ 5×;
2. `tracker carrier show CODE` on the demo register beside `python -c 'import sqlalchemy, typer, rich'` — target ≤ 2×.

Each figure is the median wall time of 5 runs of a fresh process (after one unmeasured run that warms the disk
cache and the bytecode), the baseline's runs taken in turns with the command's. A script that calls the CLI once
per carrier pays this for every call.
Run: `make bench` or `.venv/bin/python bench/bench_startup.py`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _targets as targets

RUNS = 5
PYTHON = sys.executable
# The console script a user runs (its own file, beside this interpreter in the virtual environment).
TRACKER = [str(Path(PYTHON).parent / "tracker")]


def _run(argv: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return took


def walls(baseline: list[str], command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Median seconds of RUNS fresh processes of the baseline and of the command, taken in turns (one unmeasured
    warm-up of each first), so both see the same machine: measured one phase after the other, a disk still busy
    with the previous benchmark's clean-up slowed whichever came first (2.25× in one `make bench`, 1.0–1.3× alone).
    A failed run stops the benchmark."""
    _run(baseline, env), _run(command, env)
    base, ours = [], []
    for _ in range(RUNS):
        base.append(_run(baseline, env))
        ours.append(_run(command, env))
    return statistics.median(base), statistics.median(ours)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        os.chdir(tmp)  # no tracker.toml here: the built-in settings and the register below
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        env["TRACKER_DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'register.sqlite'}"
        subprocess.run([*TRACKER, "demo", "--carriers", "20"], env=env, check=True, stdout=subprocess.DEVNULL)
        code = "BJ-000001S"  # the demo's first carrier

        base_help, help_ = walls([PYTHON, "-c", "import typer, rich"], [*TRACKER, "--help"], env)
        ratio = help_ / base_help
        print(f"tracker --help: median {help_ * 1000:6.0f} ms   import typer, rich: {base_help * 1000:6.0f} ms   "
              f"ratio {ratio:4.2f}x   target ≤ 5x → {targets.check('tracker --help', ratio <= 5)}")

        base_show, show = walls([PYTHON, "-c", "import sqlalchemy, typer, rich"], [*TRACKER, "carrier", "show", code],
                                env)
        ratio = show / base_show
        print(f"tracker carrier show: median {show * 1000:6.0f} ms   import sqlalchemy, typer, rich: "
              f"{base_show * 1000:6.0f} ms   ratio {ratio:4.2f}x   target ≤ 2x → "
              f"{targets.check('tracker carrier show', ratio <= 2)}")
    return targets.status()


if __name__ == "__main__":
    raise SystemExit(main())
