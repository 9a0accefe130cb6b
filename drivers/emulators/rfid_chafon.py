"""A byte-exact Chafon reader on a pty, speaking UHFReader18 (CF-RU5102) or UHFReader288 (`protocol=`):
answer-mode inventory with its tag list split over 'more data' frames — in the family's own layout, whichever
inventory command the host sends, as a real reader does — reader information (8 or 12 bytes), transmit power, and
— when switched to active mode — tags pushed unasked as 0xEE frames. Corrupted frames (wrong CRC) are injected
at the population's `crc_error_rate`. It must never import `tracker` or `tui`.
"""

from __future__ import annotations

from pathlib import Path

from drivers.emulators.rfid_population import TagPopulation
from drivers.emulators.rfid_pty import PtyReaderEmulator
from drivers.rfid import chafon as c
from drivers.rfid.base import Deframer

TAGS_PER_FRAME = 16
READER_INFO = bytes((0x02, 0x1E, 0x09, 0x03, 0x3E, 0x00, 0x1E, 0x0A))  # v2.30, UHFReader18, 6C+6B, 30 dBm
# UHFReader288: the same eight, then antenna bits (antenna 1), beeper on, output off, antenna check off.
READER_INFO_288 = bytes((0x03, 0x0C, 0x20, 0x03, 0x3E, 0x00, 0x1E, 0x0A, 0x01, 0x01, 0x00, 0x00))
STATUS_ILLEGAL_COMMAND = 0xFE


class ChafonEmulator(PtyReaderEmulator):
    def __init__(
        self,
        population: TagPopulation | None = None,
        *,
        address: int = 0x00,
        active: bool = False,
        protocol: str = c.UHFREADER18,
        link: Path | str | None = None,
    ) -> None:
        if protocol not in c.PROTOCOLS:
            raise ValueError(f"an emulated Chafon reader speaks {' or '.join(c.PROTOCOLS)}, not {protocol!r}")
        super().__init__(population, link=link)
        self.protocol = protocol
        self._deframer: Deframer[c.Frame] = Deframer(c.split_commands)
        self.address = address
        self.active = active
        self.power_dbm = 30
        self.inventories = 0

    def reset(self) -> None:
        self._deframer.reset()

    def _maybe_corrupt(self, frame: bytes, salt: int) -> bytes:
        rng = self.population.rng(self.round, f"wire{salt}")
        if not self.population.corrupt(rng):
            return frame
        self.corrupted += 1
        broken = bytearray(frame)
        broken[-1] ^= 0xA5
        return bytes(broken)

    def _observed(self) -> list[tuple[bytes, int]]:
        index = self.next_round()
        seen: dict[str, int] = {}
        for obs in self.population.observe(index, antennas=(1,)):
            seen.setdefault(obs.epc, round(obs.rssi) & 0xFF)
        return [(bytes.fromhex(e), r) for e, r in seen.items()]

    def _epcs(self) -> list[bytes]:
        return [epc for epc, _ in self._observed()]

    def _tag_list(self, chunk: list[tuple[bytes, int]]) -> bytes:
        if self.protocol == c.UHFREADER288:
            return c.encode_tag_list_288(chunk)
        return c.encode_tag_list([epc for epc, _ in chunk])

    def on_bytes(self, data: bytes) -> None:
        for frame in self._deframer.feed(data):
            self.commands.append(frame.raw)
            if frame.address not in (self.address, c.BROADCAST):
                continue
            if frame.command == c.CMD_INVENTORY:
                self.inventories += 1
                epcs = self._observed()
                if not epcs:
                    if self.protocol == c.UHFREADER288:  # an empty list on antenna 1, not a "no tag" status
                        empty = c.encode_tag_list_288([])
                        self.send(c.encode_response(c.CMD_INVENTORY, c.STATUS_INVENTORY_DONE, empty, self.address))
                    else:
                        self.send(c.encode_response(c.CMD_INVENTORY, c.STATUS_NO_TAG, b"", self.address))
                    continue
                chunks = [epcs[i : i + TAGS_PER_FRAME] for i in range(0, len(epcs), TAGS_PER_FRAME)]
                out = bytearray()
                for k, chunk in enumerate(chunks):
                    status = c.STATUS_INVENTORY_DONE if k == len(chunks) - 1 else c.STATUS_MORE_DATA
                    frame_bytes = c.encode_response(c.CMD_INVENTORY, status, self._tag_list(chunk), self.address)
                    # The closing frame is never corrupted, so the host always learns the list has ended.
                    out += frame_bytes if status == c.STATUS_INVENTORY_DONE else self._maybe_corrupt(frame_bytes, k)
                self.send(bytes(out))
            elif frame.command == c.CMD_READER_INFO:
                info = READER_INFO_288 if self.protocol == c.UHFREADER288 else READER_INFO
                self.send(c.encode_response(c.CMD_READER_INFO, c.STATUS_OK, info, self.address))
            elif frame.command == c.CMD_SET_POWER and len(frame.data) == 1 and frame.data[0] <= 30:
                self.power_dbm = frame.data[0]
                self.send(c.encode_response(c.CMD_SET_POWER, c.STATUS_OK, b"", self.address))
            else:
                self.send(c.encode_response(frame.command, STATUS_ILLEGAL_COMMAND, b"", self.address))

    def tick(self, now: float) -> None:
        if self.active:
            for k, epc in enumerate(self._epcs()):
                self.send(self._maybe_corrupt(c.encode_response(c.RECMD_ACTIVE, c.STATUS_OK, epc, self.address), k))
