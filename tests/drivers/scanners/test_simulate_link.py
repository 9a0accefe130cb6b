"""`tracker devices simulate --link`: the stable path it makes is removed however the simulator is stopped, so a
counter pointed at it finds no device instead of whatever pty gets the freed number next (issue 14)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_simulator_removes_its_link_when_stopped(tmp_path: Path, sig: signal.Signals) -> None:
    link = tmp_path / "by-id" / "usb-Simulated_Scanner-if00"
    code = "from tracker.cli.devices import devices_app; devices_app()"
    args = [sys.executable, "-c", code, "simulate", "line", "BJ-0000015", "--interval", "30", "--link", str(link)]
    with subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("simulated line scanner on /dev/pts/"), first
        assert link.is_symlink() and os.readlink(link) == first.split()[-1]
        proc.stdout.readline()  # the advice lines follow; the simulator is now waiting between scans
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        err = proc.stderr.read() if proc.stderr else ""
    deadline = time.monotonic() + 2
    while link.is_symlink() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not link.is_symlink(), f"the link outlived the simulator (exit {proc.returncode})"
    assert "Traceback" not in err, err
