"""`tracker devices`: list the configured scanners, read from one, or simulate one on a pty.

This module owns the operator's way to check scanners without the counter screen: `list` shows what
tracker.toml configures (and whether each device is plugged in), `test NAME` prints what one device reads,
`simulate line|ssi|honeywell` runs a byte-exact emulator so a counter can be tried with no hardware. It must
never touch the register's database — these commands work on a machine with no register at all — and never
print a traceback for a device or configuration fault: it says what is wrong and exits non-zero.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from drivers.device_config import ConfigError, DeviceConfig
from drivers.reads import DeviceStatus, Read
from drivers.rfid.config import SERIAL_RFID_KINDS
from drivers.scanners.config import SERIAL_KINDS, open_live
from drivers.transport import find_by_id
from tracker.cli.common import (
    EXIT_NO_READ,
    EXIT_NOT_FOUND,
    JsonFlag,
    config_file,
    echo,
    load_configured,
    print_json,
)
from tracker.cli.common import device_fail as _fail

devices_app = typer.Typer(no_args_is_help=True, help="Scanners and RFID readers: list, test and simulate.")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Configuration file (default: $TRACKER_CONFIG, ./tracker.toml, "
                                               "then the user config directory — as for every setting).")
]


def _load(config: Path | None) -> list[DeviceConfig]:
    try:
        return load_configured(config)
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _presence(device: DeviceConfig) -> str:
    """Whether the device can be found right now, without opening it."""
    if device.kind == "wedge":
        return "keyboard"
    if device.kind == "llrp":
        return "network/url"
    if device.kind in SERIAL_KINDS or device.kind in SERIAL_RFID_KINDS:
        if device.by_id:
            found = find_by_id(device.by_id, device.by_id_dir)
            return f"present ({found})" if found else "not found"
        if "://" in device.url:
            return "network/url"
        return "present" if Path(device.url).exists() else "not found"
    if device.url.isdigit():
        return "present" if Path(f"/dev/video{device.url}").exists() else "not found"
    if device.url.startswith(("rtsp://", "http://", "https://")):
        return "network/url"
    return "present" if Path(device.url).exists() else "not found"


def _framing(device: DeviceConfig) -> str:
    if device.kind in ("serial", "honeywell"):
        parts = [f"terminator={device.terminator}"]
        if device.prefix:
            parts.append(f"prefix={device.prefix!r}")
        if device.suffix:
            parts.append(f"suffix={device.suffix!r}")
        return " ".join(parts)
    if device.kind == "ssi":
        return "SSI packets"
    if device.kind == "camera":
        return f"{device.backend}: {','.join(device.formats)}"
    if device.is_rfid:
        parts = [f"{device.kind} RFID"]
        if device.power is not None:
            parts.append(f"power={device.power:g}dBm")
        if device.region:
            parts.append(f"region={device.region}")
        if device.rssi_threshold is not None:
            parts.append(f"floor={device.rssi_threshold:g}dBm")
        return " ".join(parts)
    return f"gap={device.gap_ms}ms" + (f" layout={device.layout}" if device.layout else "")


@devices_app.command("list")
def list_devices(config: ConfigOption = None, as_json: JsonFlag = False) -> None:
    """Show the configured devices and whether each is plugged in."""
    path = config_file(config)
    devices = _load(config)
    if as_json:
        print_json({"config": str(path), "devices": [
            {"name": d.name, "kind": d.kind, "where": d.where, "framing": _framing(d), "dup_window_s": d.dup_window,
             "status": _presence(d)} for d in devices]})
        return
    if not devices:
        typer.echo(f"no devices configured in {path} (add a [devices.<name>] table; see README)")
        return
    typer.echo(f"devices in {path}:")
    rows = [
        (d.name, d.kind, d.where, _framing(d), f"{d.dup_window:g}s", _presence(d)) for d in devices
    ]
    header = ("NAME", "KIND", "WHERE", "FRAMING", "DUP", "STATUS")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        typer.echo("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@devices_app.command("test")
def test_device(
    name: Annotated[str, typer.Argument(help="Device name from the [devices] table.")],
    count: Annotated[int, typer.Option(help="Stop after this many reads.")] = 5,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 30.0,
    config: ConfigOption = None,
) -> None:
    """Open one device and print what it reads (and its connection changes)."""
    devices = {d.name: d for d in _load(config)}
    if name not in devices:
        known = ", ".join(sorted(devices)) or "none"
        raise _fail(f"no device named {name!r} in {config_file(config)} (configured: {known})", EXIT_NOT_FOUND)
    device = devices[name]
    if device.kind == "wedge":
        raise _fail(f"{name!r} is a keyboard wedge: scan into the counter screen to test it")
    from drivers.scanners.camera import BackendUnavailable

    events: queue.Queue[Read | DeviceStatus] = queue.Queue()
    try:
        driver = open_live(device, events.put, presence=True)
    except (BackendUnavailable, ConfigError, ValueError) as exc:
        raise _fail(f"{name}: {exc}") from None
    what = "lay a tag on it" if device.is_rfid else "scan something"
    typer.echo(f"reading from {name} ({device.kind}, {device.where}); {what} — Ctrl-C to stop")
    reads = 0
    deadline = time.monotonic() + timeout
    driver.start()
    try:
        while reads < count and (left := deadline - time.monotonic()) > 0:
            try:
                event: Read | DeviceStatus | None = events.get(timeout=min(left, 0.5))
            except queue.Empty:
                event = None
            if isinstance(event, DeviceStatus):
                detail = f": {event.detail}" if event.detail else ""
                echo(f"[{event.state.value}]{detail}")
            elif isinstance(event, Read):
                reads += 1
                if device.is_rfid:
                    rssi = f", {event.rssi:g} dBm" if event.rssi is not None else ""
                    antenna = f", antenna {event.antenna}" if event.antenna is not None else ""
                    echo(f"read EPC {event.code}{rssi}{antenna}")
                else:
                    kind = ", ".join(x for x in (event.symbology, event.aim_id) if x) or "symbology unknown"
                    echo(f"read {event.code} ({kind})")
    except KeyboardInterrupt:
        pass
    finally:
        driver.stop()
    if reads == 0:
        raise _fail(f"no read from {name} within {timeout:g} s; check the cable, the port and the framing",
                    EXIT_NO_READ)


def _demo_codes() -> list[str]:
    """Codes that exist in the demo register (`tracker demo`, any --carriers from 9): a reader's badge, the first
    three carriers of the BJ site and a shelf, so a simulated scan at the counter finds something."""
    from labels.codes import make_carrier_code
    from tracker.demo import badge, place

    return [badge("reader_core"), *(make_carrier_code("BJ", n) for n in (1, 2, 3)), place("BJ", "R2C1S1")]


@devices_app.command("simulate")
def simulate(
    kind: Annotated[str, typer.Argument(help="Which scanner to emulate: line, ssi or honeywell.")],
    codes: Annotated[list[str] | None, typer.Argument(help="Codes to scan (default: demo badge, carriers, shelf).")]
    = None,
    interval: Annotated[float, typer.Option(help="Seconds between scans.")] = 2.0,
    count: Annotated[int, typer.Option(help="Number of scans, 0 for until Ctrl-C.")] = 0,
    link: Annotated[Path | None, typer.Option(help="Also make this symlink to the pty (a stable path).")] = None,
    aim: Annotated[bool, typer.Option(help="Send AIM symbology identifiers (line/honeywell).")] = True,
    terminator: Annotated[str, typer.Option(help="Line end sent by line/honeywell: cr, lf, crlf, tab.")] = "cr",
) -> None:
    """Run an emulated scanner on a pseudo-terminal and scan demo codes on it."""
    from drivers.emulators.scanners import CONFIG_KIND, KINDS, run_demo, start_emulator

    if kind not in KINDS:
        raise _fail(f"unknown scanner kind {kind!r}; choose one of {', '.join(KINDS)}")
    if terminator not in ("cr", "lf", "crlf", "tab"):
        raise _fail(f"terminator must be cr, lf, crlf or tab, not {terminator!r}")
    if interval < 0 or count < 0:
        raise _fail("interval and count must not be negative")
    try:
        emulator = start_emulator(kind, link=link, aim=aim, terminator=terminator)
    except OSError as exc:
        raise _fail(f"cannot create the pseudo-terminal: {exc}") from None
    todo = list(codes or _demo_codes())
    stop = threading.Event()
    previous = _stop_on_signals()
    try:
        typer.echo(f"simulated {kind} scanner on {emulator.pty.path}")
        typer.echo("point a device at it in tracker.toml:")
        typer.echo(f'  [devices.simulated]\n  kind = "{CONFIG_KIND[kind]}"\n  url = "{emulator.device}"')
        if kind != "ssi":
            typer.echo(f'  terminator = "{terminator}"')
        how_long = f"{count} scans" if count else "until Ctrl-C"
        typer.echo(f"scanning {len(todo)} code(s) every {interval:g} s, {how_long}")
        run_demo(emulator, todo, interval=interval, count=count, stop=stop,
                 on_scan=lambda code: typer.echo(f"scan {code}"))
    except KeyboardInterrupt:
        stop.set()
    finally:
        emulator.close()  # removes the link: a counter pointed at it must find no device, not a reused pty
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop_on_signals() -> dict[int, Any]:
    """SIGTERM and SIGHUP (a service stopped, a terminal closed) stop the simulator as Ctrl-C does, so its pty link
    is removed; by default they would end the process at once and leave the link pointing at a freed /dev/pts number
    that the next program's pty takes. Returns the handlers replaced."""
    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    return {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGHUP)}
