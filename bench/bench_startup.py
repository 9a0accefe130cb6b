"""Start-up cost of the command line (issue 22), each printed beside a baseline measured in the same run:

1. `tracker --help` beside `python -c 'import typer, rich'` — target ≤ 5×;
2. `tracker carrier show CODE` on the demo register beside `python -c 'import sqlalchemy, typer, rich'` — target ≤ 2×.

Each figure is the median wall time of 5 runs of a fresh process (after one unmeasured run that warms the disk
cache and the bytecode). A script that calls the CLI once per carrier pays this for every call.
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


def wall(argv: list[str], env: dict[str, str]) -> float:
    """Median seconds of RUNS fresh processes (one unmeasured warm-up first); a failed run stops the benchmark."""
    times = []
    for i in range(RUNS + 1):
        t = time.perf_counter()
        done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        took = time.perf_counter() - t
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
        if i:
            times.append(took)
    return statistics.median(times)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        os.chdir(tmp)  # no tracker.toml here: the built-in settings and the register below
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        env["TRACKER_DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'register.sqlite'}"
        subprocess.run([*TRACKER, "demo", "--carriers", "20"], env=env, check=True, stdout=subprocess.DEVNULL)
        code = "BJ-000001S"  # the demo's first carrier

        base_help = wall([PYTHON, "-c", "import typer, rich"], env)
        help_ = wall([*TRACKER, "--help"], env)
        ratio = help_ / base_help
        print(f"tracker --help: median {help_ * 1000:6.0f} ms   import typer, rich: {base_help * 1000:6.0f} ms   "
              f"ratio {ratio:4.2f}x   target ≤ 5x → {targets.check('tracker --help', ratio <= 5)}")

        base_show = wall([PYTHON, "-c", "import sqlalchemy, typer, rich"], env)
        show = wall([*TRACKER, "carrier", "show", code], env)
        ratio = show / base_show
        print(f"tracker carrier show: median {show * 1000:6.0f} ms   import sqlalchemy, typer, rich: "
              f"{base_show * 1000:6.0f} ms   ratio {ratio:4.2f}x   target ≤ 2x → "
              f"{targets.check('tracker carrier show', ratio <= 2)}")
    return targets.status()


if __name__ == "__main__":
    raise SystemExit(main())
