"""A fake LLRP fixed reader (Impinj / Zebra FX style) on 127.0.0.1: real LLRP 1.0.1 binary messages over TCP.

It covers what an LLRP client such as sllurp sends and expects: the connection event on accept,
GET_READER_CAPABILITIES (general device, LLRP, regulatory with power table, frequency hop table and C1G2 mode
table, C1G2 capabilities), GET_READER_CONFIG, SET_READER_CONFIG (keep-alive spec), ENABLE_EVENTS_AND_REPORTS,
ADD / ENABLE / START / STOP / DISABLE / DELETE_ROSPEC, DELETE_ACCESSSPEC, KEEPALIVE / KEEPALIVE_ACK and
CLOSE_CONNECTION. While a ROSpec runs it sends RO_ACCESS_REPORTs whose TagReportData carry exactly the fields
the ROSpec's TagReportContentSelector asked for (EPC-96, ROSpecID, AntennaID, PeakRSSI, first/last seen,
TagSeenCount), honours the AISpec antenna list, C1G2 EPC-mask filters, and the Gen2 session: S0 reports a tag
every round, S2/S3 single-target once per ROSpec run. Everything is encoded here from the LLRP specification,
independently of any client library. It must never import `tracker` or `tui`.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Self

from drivers.emulators.rfid_population import TagPopulation
from drivers.transport import Running

VERSION = 1
# Message types (LLRP 1.0.1 §16).
GET_READER_CAPABILITIES = 1
GET_READER_CONFIG = 2
SET_READER_CONFIG = 3
CLOSE_CONNECTION_RESPONSE = 4
GET_READER_CAPABILITIES_RESPONSE = 11
GET_READER_CONFIG_RESPONSE = 12
SET_READER_CONFIG_RESPONSE = 13
CLOSE_CONNECTION = 14
ADD_ROSPEC, DELETE_ROSPEC, START_ROSPEC, STOP_ROSPEC, ENABLE_ROSPEC, DISABLE_ROSPEC = 20, 21, 22, 23, 24, 25
RESPONSE_OF = {20: 30, 21: 31, 22: 32, 23: 33, 24: 34, 25: 35, 40: 50, 41: 51, 42: 52, 43: 53}
ADD_ACCESSSPEC, DELETE_ACCESSSPEC = 40, 41
RO_ACCESS_REPORT = 61
KEEPALIVE = 62
READER_EVENT_NOTIFICATION = 63
ENABLE_EVENTS_AND_REPORTS = 64
KEEPALIVE_ACK = 72
ERROR_MESSAGE = 100

# Parameter types.
P_UTC_TIMESTAMP = 128
P_GENERAL_DEVICE_CAPS = 137
P_RECEIVE_SENSITIVITY = 139
P_PER_ANTENNA_AIR_PROTOCOL = 140
P_GPIO_CAPS = 141
P_LLRP_CAPS = 142
P_REGULATORY_CAPS = 143
P_UHF_BAND_CAPS = 144
P_TX_POWER_ENTRY = 145
P_FREQUENCY_INFORMATION = 146
P_FREQUENCY_HOP_TABLE = 147
P_ROSPEC = 177
P_ROBOUNDARY_SPEC = 178
P_ROSPEC_START_TRIGGER = 179
P_AISPEC = 183
P_AISPEC_STOP_TRIGGER = 184
P_TAG_OBSERVATION_TRIGGER = 185
P_INVENTORY_PARAMETER_SPEC = 186
P_KEEPALIVE_SPEC = 220
P_ANTENNA_CONFIGURATION = 222
P_RO_REPORT_SPEC = 237
P_TAG_REPORT_CONTENT_SELECTOR = 238
P_TAG_REPORT_DATA = 240
P_READER_EVENT_NOTIFICATION_DATA = 246
P_CONNECTION_ATTEMPT_EVENT = 256
P_LLRP_STATUS = 287
P_C1G2_LLRP_CAPS = 327
P_C1G2_RF_MODE_TABLE = 328
P_C1G2_RF_MODE_ENTRY = 329
P_C1G2_INVENTORY_COMMAND = 330
P_C1G2_FILTER = 331
P_C1G2_TAG_INVENTORY_MASK = 332
P_C1G2_SINGULATION_CONTROL = 336

# Bytes of fixed fields before the sub-parameters, for the parameters the emulator walks into.
FIXED = {
    P_ROSPEC: 6,
    P_ROBOUNDARY_SPEC: 0,
    P_AISPEC: -1,  # antenna count + list: computed
    P_AISPEC_STOP_TRIGGER: 5,
    P_INVENTORY_PARAMETER_SPEC: 3,
    P_ANTENNA_CONFIGURATION: 2,
    P_C1G2_INVENTORY_COMMAND: 1,
    P_C1G2_FILTER: 1,
    P_RO_REPORT_SPEC: 3,
    P_TAG_REPORT_CONTENT_SELECTOR: 2,
}
# Bits of TagReportContentSelector, most significant first (LLRP §16.2.7.1).
SELECTOR_BITS = (
    "ROSpecID",
    "SpecIndex",
    "InventoryParameterSpecID",
    "AntennaID",
    "ChannelIndex",
    "PeakRSSI",
    "FirstSeenTimestamp",
    "LastSeenTimestamp",
    "TagSeenCount",
    "AccessSpecID",
)
STATUS_SUCCESS = 0
STATUS_PARAMETER_ERROR = 100
STATUS_UNSUPPORTED_MESSAGE = 108  # M_UnsupportedMessage
STATUS_INVALID_ROSPEC = 201  # A_Invalid (ROSpec not found)


def tlv(ptype: int, body: bytes) -> bytes:
    return struct.pack("!HH", ptype, 4 + len(body)) + body


def message(mtype: int, msg_id: int, body: bytes = b"") -> bytes:
    return struct.pack("!HII", (VERSION << 10) | mtype, 10 + len(body), msg_id) + body


def llrp_status(code: int = STATUS_SUCCESS, description: str = "") -> bytes:
    text = description.encode("utf-8")
    return tlv(P_LLRP_STATUS, struct.pack("!HH", code, len(text)) + text)


def walk(data: bytes) -> list[tuple[int, bytes]]:
    """Consecutive TLV parameters in `data` (TV parameters never occur in what a client sends)."""
    out = []
    pos = 0
    while pos + 4 <= len(data):
        ptype, length = struct.unpack_from("!HH", data, pos)
        if data[pos] & 0x80 or length < 4 or pos + length > len(data):
            break
        out.append((ptype & 0x3FF, data[pos + 4 : pos + length]))
        pos += length
    return out


def children(ptype: int, body: bytes) -> list[tuple[int, bytes]]:
    if ptype == P_AISPEC:
        count = struct.unpack_from("!H", body)[0]
        return walk(body[2 + 2 * count :])
    fixed = FIXED.get(ptype)
    return [] if fixed is None else walk(body[fixed:])


def find_all(params: list[tuple[int, bytes]], wanted: int) -> list[bytes]:
    found = []
    for ptype, body in params:
        if ptype == wanted:
            found.append(body)
        found.extend(find_all(children(ptype, body), wanted))
    return found


@dataclass
class RoSpec:
    rospec_id: int
    start_immediate: bool
    antennas: tuple[int, ...]
    session: int
    masks: list[tuple[int, int, str]]  # (memory bank, bit pointer, mask bits as a '0'/'1' string)
    report_n: int
    selector: dict[str, bool]
    enabled: bool = False
    running: bool = False
    reported: set[str] = field(default_factory=set)
    last_report: dict[str, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, body: bytes) -> RoSpec:
        params = walk(body)
        rospec = next((b for t, b in params if t == P_ROSPEC), None)
        if rospec is None or len(rospec) < 6:
            raise ValueError("ADD_ROSPEC without a ROSpec")
        rospec_id = struct.unpack_from("!I", rospec)[0]
        inner = [(P_ROSPEC, rospec)]
        start = find_all(inner, P_ROSPEC_START_TRIGGER)
        aispecs = find_all(inner, P_AISPEC)
        antennas: list[int] = []
        for ai in aispecs:
            count = struct.unpack_from("!H", ai)[0]
            antennas.extend(struct.unpack_from(f"!{count}H", ai, 2))
        sessions = [b[0] >> 6 for b in find_all(inner, P_C1G2_SINGULATION_CONTROL)]
        masks = []
        for m in find_all(inner, P_C1G2_TAG_INVENTORY_MASK):
            bank = m[0] >> 6
            pointer, bits = struct.unpack_from("!HH", m, 1)
            mask = "".join(f"{b:08b}" for b in m[5:])[:bits]
            masks.append((bank, pointer, mask))
        report = find_all(inner, P_RO_REPORT_SPEC)
        report_n = struct.unpack_from("!H", report[0], 1)[0] if report else 0
        # An AISpec that stops after N tags (trigger type 0, UponNTags) ends — and so reports — every N tags.
        for trigger in find_all(inner, P_TAG_OBSERVATION_TRIGGER):
            if trigger[0] == 0:
                report_n = report_n or struct.unpack_from("!H", trigger, 2)[0]
        selector_bodies = find_all(inner, P_TAG_REPORT_CONTENT_SELECTOR)
        flags = struct.unpack_from("!H", selector_bodies[0])[0] if selector_bodies else 0
        selector = {name: bool(flags & (1 << (15 - i))) for i, name in enumerate(SELECTOR_BITS)}
        return cls(
            rospec_id,
            bool(start) and start[0][0] == 1,
            tuple(antennas),
            sessions[0] if sessions else 0,
            masks,
            report_n,
            selector,
        )

    def matches(self, epc_hex: str) -> bool:
        if not self.masks:
            return True
        bits = "".join(f"{int(c, 16):04b}" for c in epc_hex)
        for bank, pointer, mask in self.masks:
            # EPC memory bank: CRC-16 and PC occupy bits 0..31, the EPC starts at bit 0x20.
            if bank == 1 and pointer >= 0x20 and bits[pointer - 0x20 : pointer - 0x20 + len(mask)] == mask:
                return True
        return False


class LlrpReaderEmulator(Running):
    """Listens on 127.0.0.1 (port 0 by default: read `port` after `start()`); one client at a time."""

    def __init__(
        self,
        population: TagPopulation | None = None,
        *,
        antennas: int = 4,
        round_interval: float = 0.02,
        rounds: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.population = population if population is not None else TagPopulation()
        self.max_antennas = antennas
        self.round_interval = round_interval
        self.rounds = rounds
        self._server = socket.create_server((host, port))
        self.host, self.port = self._server.getsockname()[:2]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conn: socket.socket | None = None
        self._send_lock = threading.Lock()
        self.received: list[str] = []
        self.rospecs: dict[int, RoSpec] = {}
        self.keepalive_ms = 0
        self.keepalive_acks = 0
        self.keepalives_sent = 0
        self.reports_sent = 0
        self.rounds_done = 0
        self.round = 0
        self._next_id = 1000
        self.closed_by_client = threading.Event()

    # -- plumbing -----------------------------------------------------------------------------------------

    def start(self) -> Self:
        thread = threading.Thread(target=self._accept_loop, name="llrp-emulator", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        try:
            self._server.close()
        except OSError:
            pass
        if self._conn is not None:
            try:
                self._conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(2.0)

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _send(self, data: bytes) -> None:
        conn = self._conn
        if conn is None:
            return
        with self._send_lock:
            try:
                conn.sendall(data)
            except OSError:
                pass

    def _accept_loop(self) -> None:
        self._server.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conn = conn
            self.rospecs.clear()
            worker = threading.Thread(target=self._inventory_loop, name="llrp-emulator-rf", daemon=True)
            worker.start()
            self._send(self._connection_event())
            self._serve(conn)
            self._conn = None
            worker.join(2.0)
            try:
                conn.close()
            except OSError:
                pass

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        conn.settimeout(0.1)
        while not self._stop.is_set():
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while len(buf) >= 10:
                word, length, msg_id = struct.unpack_from("!HII", buf)
                if length < 10:
                    return
                if len(buf) < length:
                    break
                body, buf = buf[10:length], buf[length:]
                if not self._handle(word & 0x3FF, msg_id, body):
                    return

    # -- messages -----------------------------------------------------------------------------------------

    def _connection_event(self) -> bytes:
        now_us = int(time.time() * 1_000_000)
        data = tlv(P_UTC_TIMESTAMP, struct.pack("!Q", now_us)) + tlv(P_CONNECTION_ATTEMPT_EVENT, b"\x00\x00")
        return message(READER_EVENT_NOTIFICATION, self._id(), tlv(P_READER_EVENT_NOTIFICATION_DATA, data))

    def capabilities(self) -> bytes:
        firmware = b"5.14.0.240"
        general = struct.pack("!HHIIH", self.max_antennas, 0x4000, 25882, 2001002, len(firmware)) + firmware
        general += tlv(P_RECEIVE_SENSITIVITY, struct.pack("!HH", 1, 0))
        for antenna in range(1, self.max_antennas + 1):
            general += tlv(P_PER_ANTENNA_AIR_PROTOCOL, struct.pack("!HHB", antenna, 1, 1))
        general += tlv(P_GPIO_CAPS, struct.pack("!HH", 4, 4))
        llrp_caps = tlv(P_LLRP_CAPS, struct.pack("!BBHIIIII", 0x00, 1, 0, 1, 1, 1, 1, 1))
        powers = b"".join(
            tlv(P_TX_POWER_ENTRY, struct.pack("!HH", i, 1000 + 25 * (i - 1))) for i in range(1, 82)
        )
        hops = [920_625 + 250 * k for k in range(16)]
        hop_table = tlv(
            P_FREQUENCY_HOP_TABLE, struct.pack("!BBH", 1, 0, len(hops)) + struct.pack(f"!{len(hops)}I", *hops)
        )
        freq = tlv(P_FREQUENCY_INFORMATION, b"\x80" + hop_table)
        mode = tlv(
            P_C1G2_RF_MODE_ENTRY,
            struct.pack("!IBBBBIIIII", 1000, 0x80, 2, 0, 4, 320000, 2000, 6250, 25000, 0),
        )
        band = tlv(P_UHF_BAND_CAPS, powers + freq + tlv(P_C1G2_RF_MODE_TABLE, mode))
        regulatory = tlv(P_REGULATORY_CAPS, struct.pack("!HH", 156, 1) + band)
        c1g2 = tlv(P_C1G2_LLRP_CAPS, struct.pack("!BH", 0xC0, 2))
        return llrp_status() + tlv(P_GENERAL_DEVICE_CAPS, general) + llrp_caps + regulatory + c1g2

    def _respond(self, mtype: int, msg_id: int, code: int = STATUS_SUCCESS, text: str = "") -> None:
        self._send(message(mtype, msg_id, llrp_status(code, text)))

    def _handle(self, mtype: int, msg_id: int, body: bytes) -> bool:
        self.received.append(NAMES.get(mtype, str(mtype)))
        if mtype == GET_READER_CAPABILITIES:
            self._send(message(GET_READER_CAPABILITIES_RESPONSE, msg_id, self.capabilities()))
        elif mtype == GET_READER_CONFIG:
            self._respond(GET_READER_CONFIG_RESPONSE, msg_id)
        elif mtype == SET_READER_CONFIG:
            for keepalive in find_all(walk(body[1:]), P_KEEPALIVE_SPEC):
                trigger, interval = struct.unpack_from("!BI", keepalive)
                self.keepalive_ms = interval if trigger == 1 else 0
            self._respond(SET_READER_CONFIG_RESPONSE, msg_id)
        elif mtype == ENABLE_EVENTS_AND_REPORTS:
            pass  # no response defined
        elif mtype == KEEPALIVE_ACK:
            self.keepalive_acks += 1
        elif mtype == ADD_ROSPEC:
            try:
                spec = RoSpec.parse(body)
            except (ValueError, struct.error, IndexError) as exc:
                self._respond(RESPONSE_OF[mtype], msg_id, STATUS_PARAMETER_ERROR, str(exc))
            else:
                bad = [a for a in spec.antennas if a > self.max_antennas]
                if bad:
                    self._respond(RESPONSE_OF[mtype], msg_id, STATUS_PARAMETER_ERROR, f"no antenna {bad}")
                else:
                    self.rospecs[spec.rospec_id] = spec
                    self._respond(RESPONSE_OF[mtype], msg_id)
        elif mtype in (ENABLE_ROSPEC, START_ROSPEC, STOP_ROSPEC, DISABLE_ROSPEC, DELETE_ROSPEC):
            rospec_id = struct.unpack_from("!I", body)[0] if len(body) >= 4 else 0
            targets = list(self.rospecs) if rospec_id == 0 else [rospec_id]
            if any(t not in self.rospecs for t in targets):
                self._respond(RESPONSE_OF[mtype], msg_id, STATUS_INVALID_ROSPEC, f"no ROSpec {rospec_id}")
                return True
            for t in targets:
                spec = self.rospecs[t]
                if mtype == ENABLE_ROSPEC:
                    spec.enabled = True
                elif mtype == START_ROSPEC and spec.enabled:
                    spec.reported.clear()
                elif mtype in (STOP_ROSPEC, DISABLE_ROSPEC):
                    spec.running = False
                elif mtype == DELETE_ROSPEC:
                    del self.rospecs[t]
            self._respond(RESPONSE_OF[mtype], msg_id)
            # Reports of a ROSpec that starts now must follow its response, never precede it.
            for t in targets:
                spec_now = self.rospecs.get(t)
                if spec_now is None:
                    continue
                if (mtype == ENABLE_ROSPEC and spec_now.start_immediate) or mtype == START_ROSPEC:
                    spec_now.reported.clear()
                    spec_now.running = spec_now.enabled
        elif mtype in (ADD_ACCESSSPEC, DELETE_ACCESSSPEC):
            self._respond(RESPONSE_OF[mtype], msg_id)
        elif mtype == CLOSE_CONNECTION:
            self._respond(CLOSE_CONNECTION_RESPONSE, msg_id)
            self.closed_by_client.set()
            return False
        else:
            self._respond(
                ERROR_MESSAGE, msg_id, STATUS_UNSUPPORTED_MESSAGE, f"message type {mtype} unsupported"
            )
        return True

    # -- radio --------------------------------------------------------------------------------------------

    def _tag_report(self, spec: RoSpec, epc: str, antenna: int, rssi: int, now_us: int) -> bytes:
        sel = spec.selector
        epc_bytes = bytes.fromhex(epc)
        if len(epc_bytes) == 12:
            body = bytes((0x80 | 13,)) + epc_bytes
        else:
            body = tlv(241, struct.pack("!H", len(epc_bytes) * 8) + epc_bytes)
        if sel["ROSpecID"]:
            body += struct.pack("!BI", 0x80 | 9, spec.rospec_id)
        if sel["AntennaID"]:
            body += struct.pack("!BH", 0x80 | 1, antenna)
        if sel["PeakRSSI"]:
            body += struct.pack("!Bb", 0x80 | 6, max(-128, min(127, rssi)))
        if sel["FirstSeenTimestamp"]:
            body += struct.pack("!BQ", 0x80 | 2, now_us)
        if sel["LastSeenTimestamp"]:
            body += struct.pack("!BQ", 0x80 | 4, now_us)
        if sel["TagSeenCount"]:
            body += struct.pack("!BH", 0x80 | 8, 1)
        return tlv(P_TAG_REPORT_DATA, body)

    def _run_round(self, spec: RoSpec) -> None:
        index = self.round
        self.round += 1
        antennas = (
            spec.antennas if spec.antennas and 0 not in spec.antennas else range(1, self.max_antennas + 1)
        )
        now = time.monotonic()
        now_us = int(time.time() * 1_000_000)
        reports: list[bytes] = []
        for obs in self.population.observe(index, antennas=antennas):
            if not spec.matches(obs.epc):
                continue
            if spec.session in (2, 3):
                if obs.epc in spec.reported:
                    continue  # single target: the tag stays in B for the rest of the run
                spec.reported.add(obs.epc)
            elif spec.session == 1:
                if now - spec.last_report.get(obs.epc, -10.0) < 1.0:
                    continue
                spec.last_report[obs.epc] = now
            reports.append(self._tag_report(spec, obs.epc, obs.antenna, obs.rssi, now_us))
        size = spec.report_n or len(reports) or 1
        for k in range(0, len(reports), size):
            self.reports_sent += 1
            self._send(message(RO_ACCESS_REPORT, self._id(), b"".join(reports[k : k + size])))
        self.rounds_done += 1

    def _inventory_loop(self) -> None:
        last_keepalive = time.monotonic()
        while not self._stop.is_set() and self._conn is not None:
            now = time.monotonic()
            if self.keepalive_ms and now - last_keepalive >= self.keepalive_ms / 1000:
                last_keepalive = now
                self.keepalives_sent += 1
                self._send(message(KEEPALIVE, self._id()))
            for spec in list(self.rospecs.values()):
                if spec.running and (self.rounds is None or self.rounds_done < self.rounds):
                    self._run_round(spec)
            time.sleep(self.round_interval)


NAMES = {
    GET_READER_CAPABILITIES: "GET_READER_CAPABILITIES",
    GET_READER_CONFIG: "GET_READER_CONFIG",
    SET_READER_CONFIG: "SET_READER_CONFIG",
    CLOSE_CONNECTION: "CLOSE_CONNECTION",
    ADD_ROSPEC: "ADD_ROSPEC",
    DELETE_ROSPEC: "DELETE_ROSPEC",
    START_ROSPEC: "START_ROSPEC",
    STOP_ROSPEC: "STOP_ROSPEC",
    ENABLE_ROSPEC: "ENABLE_ROSPEC",
    DISABLE_ROSPEC: "DISABLE_ROSPEC",
    ADD_ACCESSSPEC: "ADD_ACCESSSPEC",
    DELETE_ACCESSSPEC: "DELETE_ACCESSSPEC",
    KEEPALIVE_ACK: "KEEPALIVE_ACK",
    ENABLE_EVENTS_AND_REPORTS: "ENABLE_EVENTS_AND_REPORTS",
}
