"""LLRP fixed readers (Impinj Speedway / R700, Zebra FX series) through sllurp, an optional extra.

sllurp is GPL-3.0, so the Apache-2.0 core never requires it: it is imported only when an LLRP reader is
opened, and its absence is reported as an error naming `pip install 'carrier-tracker[llrp]'`. This module owns
the ROSpec we ask for (Gen2 session S2 or S3 single-target inventory so a shelf of tags answers once per run
instead of flooding, EPC prefix filters, AntennaID / PeakRSSI / seen-count in every report, keep-alives), the
turn of sllurp's tag-report dictionaries into `TagRead`s and `Read`s, and an orderly close (stop the ROSpec,
CLOSE_CONNECTION). It must never import `tracker` or `tui`, and nothing outside this module may import sllurp.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Self

from drivers.reads import Read
from drivers.rfid.base import RfidError, TagRead
from drivers.rfid.session import Clock, ClosableQueue, utc_now
from drivers.transport import Running

LLRP_PORT = 5084
EXTRA_HINT = "pip install 'carrier-tracker[llrp]'"


def _sllurp() -> ModuleType:
    try:
        import sllurp.llrp  # imported on use only: optional GPL dependency
    except ImportError as exc:
        raise RfidError(
            f"LLRP readers need the optional sllurp package (GPL-3.0), which is not installed: {EXTRA_HINT}"
        ) from exc
    module: ModuleType = sllurp.llrp
    return module


@dataclass(frozen=True)
class LlrpSettings:
    """What we ask an LLRP reader for. `session` 2 or 3 with single-target inventory keeps each tag quiet for
    the rest of the run once read; `epc_prefixes` (hex) become C1G2 select masks on the EPC bank so only our
    tags answer; `report_every_n_tags` bounds how long a tag waits in the reader before it is reported."""

    antennas: tuple[int, ...] = (1,)
    session: int = 2
    tag_population: int = 32
    epc_prefixes: tuple[str, ...] = ()
    report_every_n_tags: int = 50
    keepalive_ms: int = 10_000
    tx_power_dbm: float | None = None
    mode_identifier: int | None = None

    def __post_init__(self) -> None:
        if self.session not in (0, 1, 2, 3):
            raise ValueError(f"Gen2 session must be 0..3, not {self.session}")
        if not self.antennas or any(a < 1 for a in self.antennas):
            raise ValueError("antennas are numbered from 1")
        for prefix in self.epc_prefixes:
            if not prefix or any(c not in "0123456789abcdefABCDEF" for c in prefix):
                raise ValueError(f"EPC prefix {prefix!r} is not hex")

    def sllurp_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "antennas": list(self.antennas),
            "session": self.session,
            "tag_population": self.tag_population,
            "report_every_n_tags": self.report_every_n_tags,
            "keepalive_interval": self.keepalive_ms,
            "start_inventory": True,
            "reset_on_connect": True,
            "reconnect": False,
            "tag_content_selector": {
                "EnableROSpecID": True,
                "EnableSpecIndex": False,
                "EnableInventoryParameterSpecID": False,
                "EnableAntennaID": True,
                "EnableChannelIndex": False,
                "EnablePeakRSSI": True,
                "EnableFirstSeenTimestamp": True,
                "EnableLastSeenTimestamp": True,
                "EnableTagSeenCount": True,
                "EnableAccessSpecID": False,
            },
        }
        if self.epc_prefixes:
            config["tag_filter_mask"] = [p.upper() for p in self.epc_prefixes]
        if self.tx_power_dbm is not None:
            config["tx_power_dbm"] = float(self.tx_power_dbm)
        if self.mode_identifier is not None:
            config["mode_identifier"] = self.mode_identifier
        return config


def tag_from_report(report: Mapping[str, Any]) -> TagRead | None:
    """One sllurp TagReportData dictionary as a `TagRead`; None when it carries no EPC."""
    epc = report.get("EPC") or report.get("EPC-96")
    if not epc:
        return None
    text = epc.decode("ascii") if isinstance(epc, bytes | bytearray) else str(epc)
    rssi = report.get("PeakRSSI")
    antenna = report.get("AntennaID")
    count = report.get("TagSeenCount")
    return TagRead(
        text.upper(),
        rssi=None if rssi is None else float(rssi),
        antenna=None if antenna is None else int(antenna),
        count=int(count) if count else 1,
    )


class LlrpReader(Running):
    """One LLRP reader: connect, inventory with our ROSpec, hand tags over as `Read`s, close politely."""

    def __init__(
        self,
        host: str,
        port: int = LLRP_PORT,
        *,
        settings: LlrpSettings | None = None,
        device: str | None = None,
        clock: Clock = utc_now,
        timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.settings = settings or LlrpSettings()
        self.device = device or f"llrp://{host}:{port}"
        self._clock = clock
        self._timeout = timeout
        self._queue: ClosableQueue[Read] = ClosableQueue()
        self._client: Any = None
        self._closed = threading.Event()
        self.inventorying = threading.Event()
        self.reports = 0

    def _on_reports(self, _reader: Any, reports: list[Mapping[str, Any]]) -> None:
        self.reports += 1
        at = self._clock()
        for report in reports:
            tag = tag_from_report(report)
            if tag is not None:
                self._queue.put(tag.to_read(self.device, at))

    def start(self) -> Self:
        llrp = _sllurp()
        config = llrp.LLRPReaderConfig(self.settings.sllurp_config())
        client = llrp.LLRPReaderClient(self.host, self.port, config, timeout=self._timeout)
        client.add_tag_report_callback(self._on_reports)
        client.add_state_callback(llrp.LLRPReaderState.STATE_INVENTORYING, lambda *_a: self.inventorying.set())
        client.add_message_callback("CLOSE_CONNECTION_RESPONSE", lambda *_a: self._closed.set())
        try:
            client.connect()
        except OSError as exc:
            raise RfidError(f"{self.device}: cannot connect: {exc}") from exc
        self._client = client
        return self

    def wait_inventorying(self, timeout: float = 5.0) -> bool:
        return self.inventorying.wait(timeout)

    def stop(self, timeout: float = 3.0) -> None:
        """Delete all AccessSpecs and ROSpecs, send CLOSE_CONNECTION, then drop the socket.

        Answers are awaited through message callbacks rather than sllurp's `stopPolitely`, which registers its
        completion after sending and so can miss an answer that arrives first on a fast link.
        """
        client = self._client
        if client is None:
            return
        self._client = None
        deleted = threading.Event()
        client.add_message_callback("DELETE_ROSPEC_RESPONSE", lambda *_a: deleted.set())
        try:
            client.llrp.sendMessage({"DELETE_ACCESSSPEC": {"AccessSpecID": 0}})
            client.llrp.sendMessage({"DELETE_ROSPEC": {"ROSpecID": 0}})
            if deleted.wait(timeout):
                client.llrp.sendMessage({"CLOSE_CONNECTION": {}})
                self._closed.wait(timeout)
        except Exception:  # noqa: S110 - the socket may already be gone; closing must still finish
            pass
        finally:
            client.disconnect_requested.set()
            client.hard_disconnect()
            client.join(timeout)
            self._queue.close()

    def reads(self, timeout: float | None = None) -> Iterator[Read]:
        """Reads as they arrive, until `stop()` or `timeout` seconds without one."""
        return self._queue.items(timeout)

    def inventory(self, duration: float) -> list[Read]:
        """Connect, inventory for `duration` seconds after the ROSpec is running, close; all reads."""
        self.start()
        try:
            if not self.wait_inventorying(self._timeout):
                raise RfidError(f"{self.device}: the reader did not start inventorying")
            time.sleep(duration)
        finally:
            self.stop()
        return list(self.reads(timeout=0))
