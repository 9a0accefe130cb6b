"""A byte-exact MagicRF M100 module on a pty: answers single and multi-poll inventories, stop, power and
region with the frames the M100 manual documents, from a `TagPopulation` on its one antenna.

Corrupted frames are injected at the population's `crc_error_rate`: half with a wrong frame checksum, half
with a flipped EPC byte under a recomputed checksum (only the tag CRC can catch those). It must never import
`tracker` or `tui`.
"""

from __future__ import annotations

from pathlib import Path

from drivers.emulators.rfid_population import Observation, TagPopulation
from drivers.emulators.rfid_pty import PtyReaderEmulator
from drivers.rfid import magicrf as m
from drivers.rfid.base import Deframer, pc_for
from drivers.rfid.crc import crc16_gen2

ERR_INVALID_COMMAND = 0x17


def notification(epc_hex: str, rssi: int) -> bytes:
    epc = bytes.fromhex(epc_hex)
    pc = pc_for(epc).to_bytes(2, "big")
    crc = crc16_gen2(pc + epc).to_bytes(2, "big")
    return m.encode(m.CMD_SINGLE_POLL, bytes((rssi & 0xFF,)) + pc + epc + crc, m.TYPE_NOTICE)


class MagicRfEmulator(PtyReaderEmulator):
    def __init__(self, population: TagPopulation | None = None, link: Path | str | None = None) -> None:
        super().__init__(population, link=link)
        self._deframer: Deframer[m.Frame] = Deframer(m.split_frames)
        self.remaining_rounds = 0
        self.power_dbm = 26.0
        self.region = 0x01

    def reset(self) -> None:
        self._deframer.reset()
        self.remaining_rounds = 0

    def _round(self) -> bytes:
        index = self.next_round()
        rng = self.population.rng(index, "wire")
        out = bytearray()
        for obs in self.population.observe(index, antennas=(1,)):
            out += self._frame(obs, rng.random() if self.population.corrupt(rng) else None)
        return bytes(out)

    def _frame(self, obs: Observation, corruption: float | None) -> bytes:
        frame = bytearray(notification(obs.epc, obs.rssi))
        if corruption is None:
            return bytes(frame)
        self.corrupted += 1
        if corruption < 0.5:
            frame[-2] ^= 0x5A  # frame checksum wrong
        else:
            frame[10] ^= 0x01  # an EPC byte flipped, checksum recomputed: only the tag CRC notices
            frame[-2] = sum(frame[1:-2]) & 0xFF
        return bytes(frame)

    def on_bytes(self, data: bytes) -> None:
        for frame in self._deframer.feed(data):
            self.commands.append(frame.raw)
            if frame.type != m.TYPE_COMMAND:
                continue
            cmd = frame.command
            if cmd == m.CMD_SINGLE_POLL:
                tags = self._round()
                self.send(tags or m.encode(m.CMD_ERROR, bytes((m.ERR_INVENTORY_FAIL,)), m.TYPE_RESPONSE))
            elif cmd == m.CMD_MULTI_POLL and len(frame.params) == 3:
                self.remaining_rounds = (frame.params[1] << 8) | frame.params[2]
            elif cmd == m.CMD_STOP_MULTI:
                self.remaining_rounds = 0
                self.send(m.encode(m.CMD_STOP_MULTI, b"\x00", m.TYPE_RESPONSE))
            elif cmd == m.CMD_SET_POWER and len(frame.params) == 2:
                self.power_dbm = ((frame.params[0] << 8) | frame.params[1]) / 100
                self.send(m.encode(m.CMD_SET_POWER, b"\x00", m.TYPE_RESPONSE))
            elif cmd == m.CMD_SET_REGION and len(frame.params) == 1:
                self.region = frame.params[0]
                self.send(m.encode(m.CMD_SET_REGION, b"\x00", m.TYPE_RESPONSE))
            else:
                self.send(m.encode(m.CMD_ERROR, bytes((ERR_INVALID_COMMAND,)), m.TYPE_RESPONSE))

    def tick(self, now: float) -> None:
        if self.remaining_rounds > 0:
            self.remaining_rounds -= 1
            self.send(self._round())
