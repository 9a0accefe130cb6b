"""The counter's configured devices — serial/SSI/Honeywell scanners, cameras and RFID pads — run off the UI.

`DeviceHub` opens every non-wedge device of the `[devices]` table on one background thread (building a driver can
import OpenCV or wait on a port, and the login screen must be up at once) and hands every event to `deliver` from
the device's own thread; the app moves them onto the UI loop in arrival order. A device that cannot be built or
opened becomes an ERROR/RECONNECTING status — the drivers retry with their back-off — and never an exception that
reaches the app. RFID readers are opened with `presence=True`, so a carrier lying on a pad is one read per arrival,
not one per inventory round. The hub knows nothing of codes or screens: the app routes reads like wedge scans.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from drivers.device_config import DeviceConfig
from drivers.reads import DeviceState, DeviceStatus, Read
from drivers.rfid.config import LiveDevice
from drivers.scanners.config import open_live

Deliver = Callable[[Read | DeviceStatus], None]


class DeviceHub:
    def __init__(self, configs: Sequence[DeviceConfig], deliver: Deliver) -> None:
        self.configs = [c for c in configs if c.kind != "wedge"]
        self.deliver = deliver
        self.running: list[LiveDevice] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Open the devices in the background; returns at once."""
        if not self.configs:
            return
        self._thread = threading.Thread(target=self._open_all, name="devices-open", daemon=True)
        self._thread.start()

    def _open_all(self) -> None:
        for config in self.configs:
            if self._stopped.is_set():
                return
            try:
                device = open_live(config, self.deliver, presence=True)
                device.start()
            except Exception as exc:  # any fault of one device must leave the counter running
                self.deliver(DeviceStatus(config.name, DeviceState.ERROR, f"{type(exc).__name__}: {exc}"))
                continue
            with self._lock:
                if self._stopped.is_set():
                    device.stop()
                    return
                self.running.append(device)

    def stop(self) -> None:
        """Stop every device (called when the app ends); a device that fails to stop cannot keep the app up."""
        self._stopped.set()
        with self._lock:
            running, self.running = self.running, []
        for device in running:
            try:
                device.stop()
            except Exception:  # noqa: S110 - the app is ending; a stuck port must not stop that
                pass
        if self._thread is not None:
            self._thread.join(2.0)
