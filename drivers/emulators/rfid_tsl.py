"""A fake TSL handheld (ASCII 2.0 over Bluetooth serial) on a pty: answers `.iv` inventories and `.vr`,
refuses unknown commands with `ER:`, and — when a test pulls the trigger — reports `SW: single` and runs the
bound inventory, so its block arrives unasked. Bad `CR:` lines are injected at the population's
`crc_error_rate`. It must never import `tracker` or `tui`.
"""

from __future__ import annotations

from pathlib import Path

from drivers.emulators.rfid_population import TagPopulation
from drivers.emulators.rfid_pty import PtyReaderEmulator
from drivers.rfid import tsl
from drivers.rfid.base import Deframer, TagRead


class TslEmulator(PtyReaderEmulator):
    def __init__(self, population: TagPopulation | None = None, link: Path | str | None = None) -> None:
        super().__init__(population, link=link)
        self._deframer: Deframer[str] = Deframer(tsl.split_lines)
        self.trigger_command = tsl.INVENTORY
        self._pending_triggers = 0

    def reset(self) -> None:
        self._deframer.reset()

    def _inventory(self, command: str, trigger: bool = False) -> bytes:
        index = self.next_round()
        best: dict[str, int] = {}
        for obs in self.population.observe(index, antennas=(1,)):
            best[obs.epc] = max(obs.rssi, best.get(obs.epc, -128))
        with_rssi = "-r on" in command
        tags = [TagRead(epc, rssi=float(r) if with_rssi else None) for epc, r in best.items()]
        block = tsl.encode_block(command, tags, trigger=trigger)
        rng = self.population.rng(index, "wire")
        if self.population.crc_error_rate:
            lines = block.split(b"\r\n")
            for i, line in enumerate(lines):
                if line.startswith(b"CR: ") and self.population.corrupt(rng):
                    self.corrupted += 1
                    lines[i] = b"CR: " + (b"0000" if line[4:] != b"0000" else b"FFFF")
            block = b"\r\n".join(lines)
        return block

    def on_bytes(self, data: bytes) -> None:
        for line in self._deframer.feed(data):
            if not line:  # a garbled line (split_lines): a real handheld answers nothing to it either
                continue
            self.commands.append(line.encode("ascii"))
            command = line.strip()
            if command.startswith(".iv"):
                self.send(self._inventory(command))
            elif command.startswith(".vr"):
                self.send(b"CS: .vr\r\nMA: Technology Solutions (UK) Ltd\r\nAS: 2.5.1\r\nOK:\r\n")
            else:
                self.send(f"CS: {command}\r\nER: 001\r\n".encode("ascii", "replace"))

    def pull_trigger(self) -> None:
        """The operator pulls the trigger once (thread-safe: the emulator thread sends the block)."""
        self._pending_triggers += 1

    def tick(self, now: float) -> None:
        while self._pending_triggers > 0:
            self._pending_triggers -= 1
            self.send(self._inventory(self.trigger_command, trigger=True))
