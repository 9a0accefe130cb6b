"""LLRP through sllurp against the LLRP binary emulator on 127.0.0.1 (skipped when the [llrp] extra is absent)."""

from __future__ import annotations

import struct

import pytest

from drivers.emulators import rfid_llrp as emu
from drivers.emulators.rfid_population import TagPopulation
from drivers.rfid.llrp import LlrpReader, LlrpSettings, tag_from_report

sllurp_llrp = pytest.importorskip("sllurp.llrp")


def test_emulator_messages_decode_with_an_independent_decoder() -> None:
    reader = emu.LlrpReaderEmulator(TagPopulation(), antennas=2)
    try:
        caps = sllurp_llrp.LLRPMessage(
            msgbytes=emu.message(emu.GET_READER_CAPABILITIES_RESPONSE, 7, reader.capabilities())
        )
        body = caps.msgdict["GET_READER_CAPABILITIES_RESPONSE"]
        assert caps.isSuccess() and body["ID"] == 7
        assert body["GeneralDeviceCapabilities"]["MaxNumberOfAntennaSupported"] == 2
        powers = body["RegulatoryCapabilities"]["UHFBandCapabilities"]["TransmitPowerLevelTableEntry"]
        assert len(powers) == 81 and powers[-1]["TransmitPowerValue"] == 3000
        spec = emu.RoSpec(1, True, (1,), 2, [], 0, dict.fromkeys(emu.SELECTOR_BITS, True))
        report = emu.message(emu.RO_ACCESS_REPORT, 9, reader._tag_report(spec, "3014E6A0" + "00" * 8, 2, -51, 10**15))
        [tag] = sllurp_llrp.LLRPMessage(msgbytes=report).msgdict["RO_ACCESS_REPORT"]["TagReportData"]
        assert (tag["AntennaID"], tag["PeakRSSI"], tag["ROSpecID"], tag["TagSeenCount"]) == (2, -51, 1, 1)
        assert tag_from_report(tag).epc == "3014E6A0" + "00" * 8  # type: ignore[union-attr]
    finally:
        reader.stop()


def test_rospec_parsing_reads_session_antennas_and_masks() -> None:
    rospec = sllurp_llrp.LLRPROSpec(None, 1, antennas=(1, 3), session=3, tag_filter_mask=["34"])
    data = sllurp_llrp.LLRPMessage(msgdict={"ADD_ROSPEC": {"ID": 1, "ROSpecID": 1, "ROSpec": rospec}}).msgbytes
    spec = emu.RoSpec.parse(data[10:])
    assert (spec.rospec_id, spec.start_immediate, spec.antennas, spec.session) == (1, True, (1, 3), 3)
    assert set(spec.masks) == {(1, 0x20, "00110100")}  # one select mask per antenna configuration
    assert spec.matches("3414E6A0" + "00" * 8) and not spec.matches("3014E6A0" + "00" * 8)
    assert spec.selector["AntennaID"] and spec.selector["PeakRSSI"]


def test_inventory_session_2_filter_keepalive_and_close() -> None:
    population = TagPopulation.shelf(150, seed=9, antennas=(1, 2), foreign=12)
    settings = LlrpSettings(antennas=(1, 2), session=2, epc_prefixes=("34",), keepalive_ms=150, report_every_n_tags=20)
    with emu.LlrpReaderEmulator(population, antennas=4) as reader_emu:
        reads = LlrpReader("127.0.0.1", reader_emu.port, settings=settings, device="fx9600").inventory(0.5)
        assert reader_emu.closed_by_client.wait(2.0)
    carriers = {t.epc for t in population.carriers()}
    codes = [r.code for r in reads]
    # S2 single target: each tag reported once per run; the filter kept the 12 foreign SGTINs silent.
    assert len(codes) == len(set(codes)) and set(codes) <= carriers and len(codes) >= 0.95 * len(carriers)
    assert all(r.antenna in (1, 2) and r.rssi is not None and r.device == "fx9600" for r in reads)
    seen = reader_emu.received
    for name in ("GET_READER_CAPABILITIES", "SET_READER_CONFIG", "ADD_ROSPEC", "ENABLE_ROSPEC", "CLOSE_CONNECTION"):
        assert name in seen
    assert seen.index("ADD_ROSPEC") < seen.index("ENABLE_ROSPEC") < seen.index("CLOSE_CONNECTION")
    assert reader_emu.keepalives_sent >= 1 and reader_emu.keepalive_acks >= 1
    assert reader_emu.reports_sent >= len(codes) // 20


def test_session_0_reports_repeatedly_and_start_rospec_is_answered() -> None:
    population = TagPopulation.shelf(10, seed=2)
    with emu.LlrpReaderEmulator(population, antennas=1, rounds=4) as reader_emu:
        reads = LlrpReader("127.0.0.1", reader_emu.port, settings=LlrpSettings(session=0)).inventory(0.4)
        assert len(reads) > len({r.code for r in reads})
        # A raw START_ROSPEC for an unknown ROSpec gets an LLRP error status, not silence.
        import socket

        with socket.create_connection(("127.0.0.1", reader_emu.port), timeout=2) as sock:
            sock.recv(4096)  # connection event
            sock.sendall(emu.message(emu.START_ROSPEC, 5, struct.pack("!I", 77)))
            answer = sllurp_llrp.LLRPMessage(msgbytes=sock.recv(4096))
            assert answer.getName() == "START_ROSPEC_RESPONSE" and not answer.isSuccess()


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="session"):
        LlrpSettings(session=4)
    with pytest.raises(ValueError, match="not hex"):
        LlrpSettings(epc_prefixes=("3G",))
