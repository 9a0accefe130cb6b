"""A byte-exact ThingMagic Mercury module (M6E Nano / Micro / 4-port M6E) on a pty: version, region, power,
antenna and option commands, and continuous read — the start acknowledgement, one streamed 0x22 tag frame per
tag per round with full metadata, keep-alives while reading, and the stop acknowledgement, byte for byte as in
ThingMagic transport logs. `rounds` limits how many inventory rounds one start produces (keep-alives go on),
which makes a run deterministic. Corrupted frames are injected at the population's `crc_error_rate`. It must
never import `tracker` or `tui`.
"""

from __future__ import annotations

import time
from pathlib import Path

from drivers.emulators.rfid_population import TagPopulation
from drivers.emulators.rfid_pty import PtyReaderEmulator
from drivers.rfid import thingmagic as t
from drivers.rfid.base import Deframer

# Data of a Nano's version answer, from a ThingMagic transport log (bootloader, hardware, firmware…).
NANO_VERSION = bytes.fromhex("1412080030000002201503100103014700000010")
STATUS_UNIMPLEMENTED_OPCODE = 0x0101


class ThingMagicEmulator(PtyReaderEmulator):
    def __init__(
        self,
        population: TagPopulation | None = None,
        *,
        antennas: tuple[int, ...] = (1,),
        rounds: int | None = None,
        keepalive_interval: float = 1.0,
        round_interval: float = 0.02,
        link: Path | str | None = None,
    ) -> None:
        super().__init__(population, link=link)
        self._deframer: Deframer[t.Frame] = Deframer(t.split_commands)
        self.antennas = antennas
        self.rounds = rounds
        self.keepalive_interval = keepalive_interval
        self.round_interval = round_interval
        self.reading = False
        self.rounds_done = 0
        self.keepalives_sent = 0
        self.power_cdbm = 2700
        self.region = 0x0D
        self._last_keepalive = 0.0
        self._last_round = 0.0
        self._read_started = 0.0

    def reset(self) -> None:
        self._deframer.reset()
        self.reading = False

    def on_bytes(self, data: bytes) -> None:
        for frame in self._deframer.feed(data):
            self.commands.append(frame.raw)
            op = frame.opcode
            if op == t.OP_VERSION:
                self.send(t.encode_response(op, 0, NANO_VERSION))
            elif op == t.OP_SET_REGION and len(frame.data) == 1:
                self.region = frame.data[0]
                self.send(t.encode_response(op, 0))
            elif op == t.OP_SET_READ_TX_POWER and len(frame.data) == 2:
                self.power_cdbm = int.from_bytes(frame.data, "big")
                self.send(t.encode_response(op, 0))
            elif op in (t.OP_SET_ANTENNA_PORT, t.OP_SET_TAG_PROTOCOL, t.OP_SET_READER_OPTIONAL_PARAMS):
                self.send(t.encode_response(op, 0))
            elif op == t.OP_MULTI_PROTOCOL_TAG_OP and len(frame.data) >= 3 and frame.data[2] == 0x01:
                self.send(t.encode_response(op, 0, bytes((0x01, t.OP_READ_TAG_ID_MULTIPLE, 0x00, 0x00))))
                self.reading = True
                self.rounds_done = 0
                self._read_started = self._last_keepalive = time.monotonic()
            elif op == t.OP_MULTI_PROTOCOL_TAG_OP and len(frame.data) == 3 and frame.data[2] == 0x02:
                self.reading = False
                self._keepalive()
                self.send(t.encode_response(op, 0, b"\x02"))
            else:
                self.send(t.encode_response(op, STATUS_UNIMPLEMENTED_OPCODE))

    def _keepalive(self) -> None:
        self.keepalives_sent += 1
        self.send(t.encode_response(t.OP_READ_TAG_ID_MULTIPLE, t.STATUS_NO_TAGS_FOUND))

    def _round(self, now: float) -> None:
        index = self.next_round()
        rng = self.population.rng(index, "wire")
        out = bytearray()
        for obs in self.population.observe(index, antennas=self.antennas):
            record = t.encode_tag_record(
                bytes.fromhex(obs.epc),
                rssi=obs.rssi,
                antenna=obs.antenna,
                timestamp_ms=int((now - self._last_keepalive) * 1000),
            )
            frame = bytearray(t.encode_response(t.OP_READ_TAG_ID_MULTIPLE, 0, record))
            if self.population.corrupt(rng):
                self.corrupted += 1
                frame[-8] ^= 0x10  # an EPC byte: the message CRC catches it
            out += frame
        self.send(bytes(out))
        self.rounds_done += 1

    def tick(self, now: float) -> None:
        if not self.reading:
            return
        if now - self._last_keepalive >= self.keepalive_interval:
            self._keepalive()
            self._last_keepalive = now
        if (
            self.rounds is None or self.rounds_done < self.rounds
        ) and now - self._last_round >= self.round_interval:
            self._last_round = now
            self._round(now)
