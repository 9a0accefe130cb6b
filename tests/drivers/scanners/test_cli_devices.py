"""`tracker devices list|test|simulate`, run as an operator would (the sub-app, a real emulator, a real
pty).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from typer.testing import CliRunner

from drivers.emulators.scanner_line import LineScannerEmulator
from drivers.transport import open_transport
from tracker.cli.devices import devices_app

ROOT = Path(__file__).resolve().parents[3]
runner = CliRunner()


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "tracker.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_list_without_configuration(tmp_path: Path) -> None:
    result = runner.invoke(devices_app, ["list", "--config", str(tmp_path / "none.toml")])
    assert result.exit_code == 0
    assert "no devices configured" in result.output


def test_list_shows_devices_and_presence(tmp_path: Path) -> None:
    with LineScannerEmulator(link=tmp_path / "by-id" / "usb-Emu_SN5-if00") as emu:
        config = write_config(tmp_path, f"""
[devices.counter-1]
kind = "serial"
by_id = "SN5"
by_id_dir = "{tmp_path / 'by-id'}"

[devices.unplugged]
kind = "ssi"
url = "{tmp_path / 'ttyACM9'}"

[devices.keyboard]
kind = "wedge"
""")
        result = runner.invoke(devices_app, ["list", "--config", str(config)])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[2:]}
    assert f"present ({emu.device})" in lines["counter-1"]
    assert lines["unplugged"].rstrip().endswith("not found")
    assert "keyboard" in lines["keyboard"]


def test_broken_configuration_is_reported_without_a_traceback(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[devices.a]\nkind = "serial"\nbaud = 9600\nurl = "/dev/ttyACM0"\n')
    result = runner.invoke(devices_app, ["list", "--config", str(config)])
    assert result.exit_code == 2
    assert "unknown key(s) baud" in result.output and "Traceback" not in result.output


def test_test_prints_reads_from_the_device(tmp_path: Path) -> None:
    with LineScannerEmulator(aim=True) as emu:
        config = write_config(tmp_path, f'[devices.counter-1]\nkind = "serial"\nurl = "{emu.device}"\n')
        stop = threading.Event()

        def keep_scanning() -> None:  # scans made before the port is opened are flushed by the open
            n = 0
            while not stop.wait(0.05):
                emu.scan(f"BJ-{n:07d}", "datamatrix")
                n += 1

        scanner = threading.Thread(target=keep_scanning)
        scanner.start()
        try:
            result = runner.invoke(devices_app, ["test", "counter-1", "--count", "2", "--timeout", "5",
                                                 "--config", str(config)])
        finally:
            stop.set()
            scanner.join()
    assert result.exit_code == 0, result.output
    assert "[connected]" in result.output
    reads = [line for line in result.output.splitlines() if line.startswith("read BJ-")]
    assert len(reads) == 2 and all(line.endswith("(datamatrix, ]d1)") for line in reads)


def test_test_reports_silence_and_unknown_names(tmp_path: Path) -> None:
    config = write_config(tmp_path, f'[devices.gone]\nkind = "serial"\nurl = "{tmp_path / "ttyACM7"}"\n')
    result = runner.invoke(devices_app, ["test", "gone", "--timeout", "0.3", "--config", str(config)])
    assert result.exit_code == 1
    assert "no read from gone" in result.output and "[disconnected]" in result.output
    result = runner.invoke(devices_app, ["test", "other", "--config", str(config)])
    assert result.exit_code == 4 and "configured: gone" in result.output


def test_simulate_refuses_unknown_kinds() -> None:
    result = runner.invoke(devices_app, ["simulate", "laser"])
    assert result.exit_code == 2 and "line, ssi, honeywell" in result.output


def test_simulate_serves_scans_on_a_pty() -> None:
    code = "from tracker.cli.devices import devices_app; devices_app()"
    args = [sys.executable, "-c", code, "simulate", "line", "BJ-0000015", "BJ-0000023", "--count", "3",
            "--interval", "0.3", "--no-aim"]
    with subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("simulated line scanner on /dev/pts/")
        port = open_transport(first.split()[-1], timeout=2.0)
        try:
            got = port.read(len(b"BJ-0000015\rBJ-0000023\rBJ-0000015\r"))
        finally:
            port.close()
        rest = proc.stdout.read()
    assert proc.returncode == 0
    assert got == b"BJ-0000015\rBJ-0000023\rBJ-0000015\r"
    assert 'kind = "serial"' in rest and rest.count("scan BJ-") == 3
