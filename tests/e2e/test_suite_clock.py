"""The suite's clock reaches every process of a test, no client can reach the application's clock, and the
time-sensitive tests pass with the machine's clock a year ahead (issue 14: `make test` failed on a fresh clone for
days because two racing processes judged an approval on the wall clock while the test granted it on a fixed one).

`test_time_sensitive_tests_pass_a_year_ahead` is the proof: it runs the tests that judge times (loans due, overdue
alerts, approval windows, the check-out race, local times, stock-take uploads) again under libfaketime with the
machine's date moved 400 days forward, in a fresh pytest process, and requires them all to pass. A test that read
the machine's calendar anywhere — in the test, in the `tracker` command, in a racing child process, in PostgreSQL —
would see a different date from the register's and fail there; `_probe_wall_clock` in that run proves the date
really moved. Without `faketime` (Debian package `faketime`, installed by `make faketime`) the test is skipped
saying so; in CI (CI=true) that skip is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import suite_time
from tests_support import invoke, use_cli_demo

import tracker.store

ROOT = Path(__file__).resolve().parents[2]
SHIFT_DAYS = 400
PROBE = "PROBE_WALL_CLOCK_AFTER"

# The tests that judge times, run again a year ahead. Each is a whole module: a time dependence hides in fixtures.
TIME_SENSITIVE = [
    "tests/e2e/test_local_times.py",
    "tests/e2e/test_cli.py",
    "tests/e2e/test_checkin_cli.py",
    "tests/e2e/test_two_person_cli.py",
    "tests/integration/test_concurrency.py",
    "tests/integration/test_services.py",
    "tests/integration/test_checkin_order.py",
    "tests/stocktake/test_cli.py",
    "tests/stocktake/test_seen_again.py",
    "tests/unit/test_rules.py",
    "tests/e2e/test_suite_clock.py::test_probe_wall_clock",
]

NOW_CODE = "import tracker.store as s; print(s.current_time().isoformat())"

# The shape of the bug that broke `make test` (issue 14): a test written on day D grants an approval for 48 hours
# from D, and a process judges it on the machine's clock. It passes for two days; the shifted run fails it at once.
CANARY = """
from datetime import UTC, datetime, timedelta

from tracker.domain import ApprovalPurpose
from tracker.rules import ApprovalFacts, Policy, check_approval
from tracker.store import wall_clock

WRITTEN = datetime.fromtimestamp({written!r}, UTC)


def test_an_approval_judged_on_the_machine_clock():
    granted = ApprovalFacts(1, ApprovalPurpose.LOAN, (), frozenset({{"BJ-000001S"}}), WRITTEN,
                            WRITTEN + timedelta(hours=48))
    assert check_approval(granted, ApprovalPurpose.LOAN, "BJ-000001S", wall_clock(), Policy(), "R-63") == []
"""


def _python_now(env: dict[str, str]) -> datetime:
    done = subprocess.run([sys.executable, "-c", NOW_CODE], env=env, capture_output=True, text=True, timeout=60,
                          check=True)
    return datetime.fromisoformat(done.stdout.strip())


def test_a_process_a_test_starts_runs_on_the_suite_calendar() -> None:
    child = _python_now(dict(os.environ))
    assert abs(child - tracker.store.current_time()) < timedelta(minutes=2), child


def test_the_tracker_command_run_by_a_test_sees_what_the_test_sees(cli_demo: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Overdue loans are counted against now: in-process and as a separate `tracker` process, the same count."""
    env = use_cli_demo(cli_demo, tmp_path, monkeypatch)
    code, out = invoke("status", "--json")
    assert code == 0, out
    here = json.loads(out)["overdue"]
    exe = Path(sys.executable).parent / "tracker"
    done = subprocess.run([str(exe), "status", "--json"], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["overdue"] == here
    assert 0 < here < json.loads(out)["by_status"]["on_loan"]  # the demo's loans from yesterday, not all of them


def test_a_client_cannot_move_the_applications_clock() -> None:
    """The attack: set the suite's variable (or anything like it) for an installed `tracker`. Without the tests'
    own start-up hook on its path the application reads the machine's clock, whatever the environment says."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env[suite_time.VARIABLE] = f"1999-01-01T00:00:00+00:00@{time.monotonic()!r}"
    before = datetime.now(UTC)
    child = _python_now(env)
    assert before - timedelta(seconds=5) <= child <= datetime.now(UTC) + timedelta(seconds=5), child
    sources = [p for d in ("tracker", "tui", "drivers", "labels") for p in (ROOT / d).rglob("*.py")]
    assert sources and not [p for p in sources if suite_time.VARIABLE in p.read_text(encoding="utf-8")]


def test_probe_wall_clock() -> None:
    """Part of the shifted run below: the machine's clock there is really a year ahead of the run that started it
    (and the suite's calendar is where it always is). Outside that run there is nothing to probe."""
    after = os.environ.get(PROBE)
    if not after:
        pytest.skip("only run inside the shifted run of test_time_sensitive_tests_pass_a_year_ahead")
    assert time.time() > float(after) + (SHIFT_DAYS - 1) * 86400, "libfaketime did not move the clock"
    assert abs(tracker.store.current_time() - suite_time.START) < timedelta(days=1)


@pytest.mark.slow
def test_time_sensitive_tests_pass_a_year_ahead(tmp_path: Path) -> None:
    if os.environ.get(PROBE):
        pytest.skip("already inside the shifted run")
    faketime = shutil.which("faketime")
    if faketime is None:
        msg = "libfaketime's `faketime` not installed (Debian package 'faketime', `make faketime`): the suite " \
              "was not run with the machine's clock a year ahead"
        if os.environ.get("CI") == "true":
            pytest.fail(msg + " — not allowed in CI", pytrace=False)
        pytest.skip(msg)
    # A fresh run: its own conftest starts its own suite clock; nothing of this run's clock is handed down.
    env = {k: v for k, v in os.environ.items()
           if k not in (suite_time.VARIABLE, "PYTHONPATH") and not k.startswith(("PYTEST_", "FAKETIME"))}
    env[PROBE] = repr(time.time())
    # First, that the shifted run can fail at all: the canary passes on the machine's clock and fails a year ahead.
    canary = tmp_path / "canary" / "test_canary.py"
    canary.parent.mkdir()
    canary.write_text(CANARY.format(written=time.time()), encoding="utf-8")
    plain = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(canary)]
    kw: dict[str, Any] = {"cwd": canary.parent, "env": env, "capture_output": True, "text": True, "timeout": 120}
    assert subprocess.run(plain, **kw).returncode == 0
    shifted = subprocess.run([faketime, "-f", f"+{SHIFT_DAYS}d", *plain], **kw)
    assert shifted.returncode == 1 and "R-63" in shifted.stdout, shifted.stdout[-2000:]
    done = subprocess.run(
        [faketime, "-f", f"+{SHIFT_DAYS}d", sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-rs", "-x", "--basetemp", str(tmp_path / "shifted"), "-n", "0",
         # The clock is the subject, not the database: the SQLite variants prove it in half the time (the suite's
         # 10-minute budget); the PostgreSQL ones run on the same clock code in the plain suite.
         "-m", "not postgres", *TIME_SENSITIVE],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
    assert done.returncode == 0, tail
    assert "only run inside the shifted run" not in done.stdout, tail  # the probe ran, and passed
