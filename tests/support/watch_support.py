"""Helpers for tests/watch: gates and cabinets against emulated readers — a ThingMagic module on a pty reporting a
shelf population, read by the real driver (`drivers.rfid.config.open_reader`) into the real watchers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from drivers.device_config import DeviceConfig
from drivers.emulators.rfid_population import TagPopulation
from drivers.emulators.rfid_thingmagic import ThingMagicEmulator
from drivers.reads import DeviceStatus, Read
from drivers.rfid.config import open_reader
from labels.codes import carrier_code_to_epc
from tracker.services import registry
from tracker.services.common import Signed
from tracker.store import Store


def wait_for(cond: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def register(store: Store, clerk: Signed, where: str, level: str = "secret", scope: str = "法规处") -> tuple[str, str]:
    """A carrier and the EPC its label's tag carries (GID-96, the register's default scheme)."""
    data = registry.CarrierInput(location=where, classification=level, period="10y", scope=scope, title="通道门测试",
                                 copy_number=1, copy_total=1)
    code = registry.register(store.uow(), clerk, data)
    return code, carrier_code_to_epc(code)


@contextmanager
def reader(population: TagPopulation, sink: Callable[[Read | DeviceStatus], None], antennas: tuple[int, ...],
           round_interval: float = 0.02) -> Iterator[ThingMagicEmulator]:
    emulator = ThingMagicEmulator(population, antennas=antennas, round_interval=round_interval,
                                  keepalive_interval=1.0).start()
    device = open_reader(DeviceConfig(name="gate-reader", kind="thingmagic", url=emulator.path, baudrate=115200,
                                      antennas=antennas), sink)
    device.start()
    try:
        yield emulator
    finally:
        device.stop()
        emulator.stop()


def ledger_ok(store: Store) -> bool:
    """The chain holds and replays into the tables (`ledger verify`)."""
    from tracker.ledger import verify

    with store.engine.connect() as conn:
        return verify(conn).ok
