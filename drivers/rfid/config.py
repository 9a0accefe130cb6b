"""RFID readers in the `[devices]` table: which keys each reader kind takes, and opening one as a live stream.

The schema and the loader live in `drivers.scanners.config` (one table, one loader, one error style for every
device); this module owns what differs for RFID: per-kind defaults (Chafon speaks 57600 baud, the others 115200),
which set-up commands `power` and `region` become for each codec (built once at load time, so a value the reader
would refuse is a configuration error before any port is opened), and `open_reader`, which turns a configured
reader into a running stream that hands `Read | DeviceStatus` events to one callback — the same shape a scanner
driver has, so the counter and `tracker stocktake live` treat both alike.

A tag lying on a counter pad is singulated every inventory round; `presence=True` lets through only its arrival
(the sliding duplicate window: a tag is news again only after `dup_window` seconds unseen), while a stock-take
wants every read above the RSSI floor because reconciliation weighs places by read counts and peak RSSI. It must
never import `tracker` or `tui`, and never open a device while a configuration is only being checked.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Self

from drivers.reads import DeviceState, DeviceStatus, Read
from drivers.rfid.base import TagRead
from drivers.scanners.dedup import DuplicateFilter
from drivers.transport import Backoff, LinkGuard, Running, Transport, TransportError, find_by_id, open_transport

if TYPE_CHECKING:
    from drivers.device_config import DeviceConfig
    from drivers.rfid.session import StreamProtocol

SERIAL_RFID_KINDS = ("magicrf", "thingmagic", "chafon", "tsl")
DEFAULT_BAUDRATE = {"magicrf": 115200, "thingmagic": 115200, "chafon": 57600, "tsl": 115200}
DEFAULT_DUP_WINDOW = 2.0
# Keys every RFID kind takes, and those only some readers have a command for.
COMMON_KEYS = frozenset({"kind", "url", "by_id", "by_id_dir", "baudrate", "dup_window", "rssi_threshold",
                         "antenna_rssi"})
KIND_KEYS: Mapping[str, frozenset[str]] = {
    "magicrf": COMMON_KEYS | {"power", "region"},
    "thingmagic": COMMON_KEYS | {"power", "region"},
    "chafon": COMMON_KEYS | {"power", "address", "protocol"},
    "tsl": COMMON_KEYS,
    "llrp": frozenset({"kind", "url", "dup_window", "rssi_threshold", "antenna_rssi", "power", "antennas"}),
}

EventSink = Callable[[Read | DeviceStatus], None]


# What the counter and the live stock-take need of any opened device: start it, stop it (`with` does both).
LiveDevice = Running


def llrp_available() -> bool:
    """sllurp is an optional GPL extra: an LLRP reader is configurable only where it is installed."""
    return importlib.util.find_spec("sllurp") is not None


def region_value(region: str) -> str | int:
    """TOML gives a region as a name ("EU") or a raw code; a code the firmware knows but we have not named
    must still reach the reader, so digits stay a number."""
    return int(region) if region.isdigit() else region


def setup_commands(config: DeviceConfig) -> bytes:
    """The bytes that set power and region after every (re)connect; raises ValueError for a value the codec
    refuses (so loading the configuration finds it, not the first connect at the counter)."""
    out = b""
    if config.kind == "magicrf":
        from drivers.rfid import magicrf

        if config.region:
            out += magicrf.set_region(region_value(config.region))
        if config.power is not None:
            out += magicrf.set_power(config.power)
    elif config.kind == "thingmagic":
        from drivers.rfid import thingmagic

        if config.region:
            out += thingmagic.set_region(region_value(config.region))
        if config.power is not None:
            out += thingmagic.set_read_power(config.power)
    elif config.kind == "chafon":
        from drivers.rfid import chafon

        if not 0 <= config.address <= 0xFF:
            raise ValueError(f"address must be 0..255, not {config.address}")
        chafon.check_protocol(config.protocol or chafon.AUTO)
        if config.power is not None:
            if config.power != int(config.power):
                raise ValueError(f"a Chafon reader takes whole dBm, not {config.power:g}")
            out += chafon.set_power(int(config.power), config.address)
    return out


def check(config: DeviceConfig) -> None:
    """Everything about an RFID entry that can be wrong without opening the reader (ValueError says what)."""
    if config.kind in SERIAL_RFID_KINDS and not (config.url or config.by_id):
        raise ValueError(f"a {config.kind} reader needs url (e.g. /dev/ttyUSB0) or by_id (serial number)")
    if config.kind == "llrp":
        if not config.url:
            raise ValueError("an llrp reader needs url (host or host:port)")
        if not llrp_available():
            from drivers.rfid.llrp import EXTRA_HINT

            raise ValueError(f"LLRP readers need the optional sllurp package (GPL-3.0): {EXTRA_HINT}")
        if not config.antennas or any(a < 1 for a in config.antennas):
            raise ValueError("antennas are numbered from 1")
    setup_commands(config)


class TslTrigger:
    """A TSL handheld as a stream: it reports an inventory block each time the operator pulls the trigger, so
    there is nothing to send; every transponder of a good block is a read."""

    restart_after = 3600.0

    def __init__(self) -> None:
        from drivers.rfid.tsl import BlockAssembler

        self._assembler = BlockAssembler()
        self._buf = b""
        self.rejected = 0

    def start(self) -> bytes:
        return b""

    def stop(self) -> bytes:
        return b""

    def reset(self) -> None:
        from drivers.rfid.tsl import BlockAssembler

        self._buf = b""
        self._assembler = BlockAssembler()

    def feed(self, data: bytes) -> tuple[list[TagRead], bytes]:
        from drivers.rfid.tsl import split_lines

        lines, self._buf, dropped = split_lines(self._buf + data)
        self.rejected += dropped
        tags: list[TagRead] = []
        for line in lines:
            block = self._assembler.feed(line)
            if block is not None and block.ok:
                tags.extend(block.tags)
                self.rejected += block.rejected
        return tags, b""


class ReadFilter:
    """The RSSI floor (per antenna) and, for a counter pad, the sliding presence window, in front of a sink."""

    def __init__(self, config: DeviceConfig, sink: EventSink, *, presence: bool,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sink = sink
        self.default_floor = config.rssi_threshold
        self.floors = dict(config.antenna_rssi)
        self.window = DuplicateFilter(config.dup_window if presence else 0.0)
        self.clock = clock
        self.below_floor = 0
        self._lock = threading.Lock()

    def __call__(self, event: Read | DeviceStatus) -> None:
        if isinstance(event, Read):
            floor = self.floors.get(event.antenna, self.default_floor) if event.antenna is not None \
                else self.default_floor
            if floor is not None and event.rssi is not None and event.rssi < floor:
                self.below_floor += 1
                return
            with self._lock:
                if not self.window.admit(event.code, self.clock()):
                    return
        self.sink(event)


class LlrpLive(Running):
    """An LLRP reader kept inventorying on a thread: sllurp does not reconnect, so a lost reader is reopened
    with the same back-off as a serial device, and each change is reported as a status."""

    def __init__(self, config: DeviceConfig, sink: EventSink, backoff: Backoff | None = None) -> None:
        self.config = config
        self.sink = sink
        self.backoff = backoff or Backoff(initial=0.5, maximum=30.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reader: object | None = None

    def _status(self, state: DeviceState, detail: str = "") -> None:
        self.sink(DeviceStatus(self.config.name, state, detail))

    def _run(self) -> None:
        from drivers.rfid.base import RfidError
        from drivers.rfid.llrp import LLRP_PORT, LlrpReader, LlrpSettings

        host, _, port = self.config.url.removeprefix("llrp://").partition(":")
        settings = LlrpSettings(antennas=self.config.antennas, tx_power_dbm=self.config.power)
        delays = self.backoff.delays()
        while not self._stop.is_set():
            reader = LlrpReader(host, int(port or LLRP_PORT), settings=settings, device=self.config.name)
            try:
                reader.start()
            except (RfidError, OSError) as exc:
                self._status(DeviceState.RECONNECTING, str(exc))
                self._stop.wait(next(delays))
                continue
            self._reader = reader
            delays = self.backoff.delays()
            self._status(DeviceState.CONNECTED)
            for read in reader.reads():
                self.sink(read)
            if not self._stop.is_set():
                self._status(DeviceState.RECONNECTING, "connection closed")
                self._stop.wait(next(delays))

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name=f"llrp:{self.config.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        reader = self._reader
        if reader is not None:
            reader.stop()  # type: ignore[attr-defined]
        if self._thread is not None:
            self._thread.join(3.0)
        self._status(DeviceState.DISCONNECTED)


def _protocol(config: DeviceConfig) -> StreamProtocol:
    if config.kind == "magicrf":
        from drivers.rfid.magicrf import MagicRfStream

        return MagicRfStream()
    if config.kind == "thingmagic":
        from drivers.rfid.thingmagic import ThingMagicStream

        return ThingMagicStream()
    if config.kind == "chafon":
        from drivers.rfid.chafon import ChafonPolling

        return ChafonPolling(config.address, protocol=config.protocol or "auto")
    return TslTrigger()


def open_reader(config: DeviceConfig, on_event: EventSink, *, presence: bool = False) -> LiveDevice:
    """Build (not start) a live RFID reader whose reads and statuses go to `on_event`, from the reader thread.

    `presence` keeps a tag lying on a pad to one read per arrival (the counter); without it every read above
    the floor is passed on (a stock-take pass)."""
    sink = ReadFilter(config, on_event, presence=presence)
    if config.kind == "llrp":
        return LlrpLive(config, sink)
    if config.kind not in SERIAL_RFID_KINDS:
        raise ValueError(f"device {config.name!r} is not an RFID reader (kind {config.kind})")
    from drivers.rfid.session import RfidStream

    guard = LinkGuard()  # a link left behind by a reader that went away is not followed

    def opener() -> Transport:
        url = config.url
        if config.by_id:
            found = find_by_id(config.by_id, config.by_id_dir)
            if found is None:
                raise TransportError(f"no device matching {config.by_id!r} under {config.by_id_dir}")
            url = str(found)
        guard.check(url)
        port = open_transport(url, baudrate=config.baudrate, timeout=0.02)
        guard.opened(url)
        return port

    return RfidStream(config.where, _protocol(config), device=config.name, on_read=sink, on_status=sink,
                      opener=opener, setup=setup_commands(config))
