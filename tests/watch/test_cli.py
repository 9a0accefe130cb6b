"""The commands end to end on the demo register: bind a gate and a cabinet, list them, run `tracker watch run` against
an emulated reader named in tracker.toml with a command hook as the alarm output, read `watch log`. Also the cabinet
door controller's line protocol, over a pty."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from tests_support import CLI_REGISTER, invoke, use_cli_demo
from watch_support import wait_for

from drivers.emulators.rfid_gate import GatePopulation
from drivers.emulators.rfid_thingmagic import ThingMagicEmulator
from drivers.transport import PtyPair
from labels.codes import carrier_code_to_epc
from tracker.demo import badge, place
from tracker.watch.cabinets import Door, DoorLine, parse_door_line

ADMIN = {"TRACKER_OPERATOR": badge("admin")}
OFFICER = {"TRACKER_OPERATOR": badge("officer")}


def test_gate_and_cabinet_commands_and_a_watch_run(cli_demo: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    use_cli_demo(cli_demo, tmp_path, monkeypatch)
    code, text = invoke("gate", "add", "gate-r2", "--device", "gate1", "--inside", place("BJ", "R2"), "--outside",
                        place("BJ", "SITE"), "--antenna", "1=inside", "--antenna", "2=门外", **ADMIN)
    assert code == 0, text
    code, text = invoke("gate", "add", "gate-r2", "--device", "gate1", "--inside", place("BJ", "R2"), "--outside",
                        place("BJ", "SITE"), "--antenna", "1=inside", "--antenna", "2=outside", **ADMIN)
    assert code == 2 and "already bound" in text
    code, text = invoke("gate", "add", "gate-x", "--device", "gate1", "--inside", place("BJ", "R2"), "--outside",
                        place("BJ", "SITE"), "--antenna", "1=inside", "--antenna", "2=outside",
                        TRACKER_OPERATOR=badge("clerk"))
    assert code == 3, "a clerk may not bind readers (R-25)"
    assert invoke("cabinet", "add", place("BJ", "R2C1"), "--device", "cab1", **ADMIN)[0] == 0
    code, text = invoke("gate", "list", "--json", **ADMIN)
    assert json.loads(text) == [{"code": "GATE-R2", "kind": "gate", "device": "gate1", "inside": place("BJ", "R2"),
                                 "outside": place("BJ", "SITE"), "antennas": {"1": "inside", "2": "outside"},
                                 "created_by": badge("admin")}]
    code, text = invoke("cabinet", "list", "--json", **ADMIN)
    assert [c["code"] for c in json.loads(text)] == [place("BJ", "R2C1")]

    conn = sqlite3.connect(tmp_path / CLI_REGISTER)
    carrier = conn.execute("SELECT code FROM carriers WHERE status='in_store' AND classification='secret' "
                           "ORDER BY code").fetchone()[0]
    conn.close()
    pop = GatePopulation(seed=9)
    emulator = ThingMagicEmulator(pop, antennas=(1, 2), round_interval=0.02).start()
    (tmp_path / "tracker.toml").write_text(f'[devices.gate1]\nkind = "thingmagic"\nurl = "{emulator.path}"\n',
                                           encoding="utf-8")
    hook = tmp_path / "alarms.txt"
    pop.walk([carrier_code_to_epc(carrier)], rounds=8)
    try:
        # a pass gap well above a loaded machine's pauses between inventory rounds: one walk is one pass, one alarm
        code, text = invoke("watch", "run", "--seconds", "6", "--pass-gap", "2", "--alarm-command",
                            f"sh -c 'echo \"$TRACKER_ALARM_WHAT $TRACKER_ALARM_RULE\" >> {hook}'", **OFFICER)
    finally:
        emulator.stop()
    assert code == 0, text
    assert "GATE-R2" in text
    assert hook.read_text().split() == [carrier, "R-16"]
    code, text = invoke("watch", "log", "--json", **OFFICER)
    [entry] = [e for e in json.loads(text) if e["kind"] == "alarm"]
    assert (entry["carrier"], entry["place"], entry["direction"]) == (carrier, "GATE-R2", "out")
    code, text = invoke("--lang", "zh", "incident", "list", **OFFICER)
    assert "通道门报警" in text


def test_door_lines() -> None:
    assert parse_door_line(b"OPEN BJ-P00012K\r") == Door(True, "BJ-P00012K")
    assert parse_door_line(b"open") == Door(True, None)
    assert parse_door_line(b"CLOSE") == Door(False)
    assert parse_door_line(b"OPEN $(reboot)") == Door(True, None), "a badge that is no badge names nobody"
    assert parse_door_line(b"OPEN A B") is None and parse_door_line(b"\x00garbage") is None
    pty = PtyPair()
    seen: list[Door] = []
    line = DoorLine(pty.device, seen.append).start()
    try:
        time.sleep(0.3)
        for chunk in (b"OPEN BJ-P0001", b"2K\r\nnoise\r\n", b"CLOSE\r\n"):
            threading.Event().wait(0.05)
            os.write(pty.master_fd, chunk)
        wait_for(lambda: len(seen) == 2, timeout=5)
    finally:
        line.stop()
        pty.close()
    assert seen == [Door(True, "BJ-P00012K"), Door(False)]


def test_a_cabinet_run_through_the_door_line(cli_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`watch run` with a cabinet: its reader on a pty (ThingMagic), its door controller on another pty. A reader
    without clearance for 秘密 opens the door and takes a 秘密 carrier: an alarm and an incident, no loan."""
    from drivers.emulators.rfid_population import EmulatedTag, TagPopulation

    use_cli_demo(cli_demo, tmp_path, monkeypatch)
    cabinet = place("BJ", "R2C1")
    assert invoke("cabinet", "add", cabinet, "--device", "cab1", **ADMIN)[0] == 0
    conn = sqlite3.connect(tmp_path / CLI_REGISTER)
    inside = [r[0] for r in conn.execute(
        "SELECT c.code FROM carriers c JOIN locations l ON l.id = c.location_id WHERE c.status IN ('in_store', "
        "'archived', 'pending_destruction') AND l.code LIKE ? ORDER BY c.code", (cabinet[:-1] + "%",))]
    taken = conn.execute("SELECT c.code FROM carriers c JOIN locations l ON l.id = c.location_id WHERE c.status = "
                         "'in_store' AND c.classification = 'secret' AND l.code LIKE ? ORDER BY c.code",
                         (cabinet[:-1] + "%",)).fetchone()[0]
    conn.close()
    pop = TagPopulation([EmulatedTag(carrier_code_to_epc(c), {1: -50.0}, 0.97) for c in inside], seed=1)
    emulator = ThingMagicEmulator(pop, round_interval=0.05).start()
    door = PtyPair()
    (tmp_path / "tracker.toml").write_text(f'[devices.cab1]\nkind = "thingmagic"\nurl = "{emulator.path}"\n',
                                           encoding="utf-8")

    def someone() -> None:
        time.sleep(2.0)
        os.write(door.master_fd, f"OPEN {badge('reader_general')}\r\n".encode())
        time.sleep(0.3)
        pop.remove(carrier_code_to_epc(taken))
        time.sleep(0.3)
        os.write(door.master_fd, b"CLOSE\r\n")

    hand = threading.Thread(target=someone)
    hand.start()
    try:
        code, text = invoke("watch", "run", "--seconds", "6", "--door", f"{cabinet}={door.device}", **OFFICER)
    finally:
        hand.join()
        emulator.stop()
        door.close()
    assert code == 0, text
    code, text = invoke("watch", "log", "--json", **OFFICER)
    log = json.loads(text)
    [alarm] = [e for e in log if e["kind"] == "alarm"]
    assert (alarm["carrier"], alarm["person"], alarm["detail"]["rules"][0]) == (taken, badge("reader_general"),
                                                                                 "R-159")
    assert [e["kind"] for e in log if e["kind"] in ("taken", "put_back")] == []
    code, text = invoke("carrier", "show", taken, "--json", **OFFICER)
    assert json.loads(text)["status"] == "in_store"
