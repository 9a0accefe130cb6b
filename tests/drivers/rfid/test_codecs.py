"""Golden byte vectors from vendor documentation and transport logs, and property tests on every framer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.rfid import chafon, magicrf, thingmagic, tsl
from drivers.rfid.base import FrameError, TagRead
from drivers.rfid.crc import _crc16_thingmagic_nibbles, checksum8, crc16_gen2, crc16_mcrf4xx, crc16_thingmagic


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# -- MagicRF M100 --
# MagicRF M100 user manual ("M100 / QM100 command set"), command and notification examples.
M100_SINGLE_POLL = h("BB 00 22 00 00 22 7E")  # single-poll inventory command
M100_NOTICE = h("BB 02 22 00 11 C9 34 00 30 75 1F EB 70 5C 59 04 E3 D5 0D 70 3A 76 EF 7E")  # tag notification
M100_NO_TAG = h("BB 01 FF 00 01 15 16 7E")  # error response 0x15: inventory found no tag
M100_MULTI_POLL_10000 = h("BB 00 27 00 03 22 27 10 83 7E")  # multi-poll, CNT = 10000
M100_STOP = h("BB 00 28 00 00 28 7E")
M100_STOP_OK = h("BB 01 28 00 01 00 2A 7E")
M100_SET_POWER_20DBM = h("BB 00 B6 00 02 07 D0 8F 7E")
M100_SET_REGION_CN900 = h("BB 00 07 00 01 01 09 7E")


def test_m100_commands_match_the_manual() -> None:
    assert magicrf.single_poll() == M100_SINGLE_POLL
    assert magicrf.multi_poll(10000) == M100_MULTI_POLL_10000
    assert magicrf.stop_multi_poll() == M100_STOP
    assert magicrf.set_power(20) == M100_SET_POWER_20DBM
    assert magicrf.set_region("CN900") == M100_SET_REGION_CN900


def test_m100_notification_decodes_to_rssi_pc_epc() -> None:
    tags, rest, bad = magicrf.decode(M100_NOTICE)
    assert (rest, bad) == (b"", 0)
    assert tags == [TagRead("30751FEB705C5904E3D50D70", rssi=-55.0, antenna=1, pc=0x3400, raw=M100_NOTICE)]
    assert checksum8(M100_NOTICE[1:-2]) == 0xEF
    # The notification's tag CRC is the Gen2 CRC-16 of PC+EPC.
    assert crc16_gen2(M100_NOTICE[6:20]) == 0x3A76


def test_m100_error_and_ack_frames() -> None:
    frames, _, _ = magicrf.split_frames(M100_NO_TAG + M100_STOP_OK)
    assert [magicrf.error_code(f) for f in frames] == [0x15, None]
    assert frames[1].command == magicrf.CMD_STOP_MULTI and frames[1].params == b"\x00"


def test_m100_rejects_bad_checksum_and_bad_tag_crc() -> None:
    bad_sum = bytearray(M100_NOTICE)
    bad_sum[-2] ^= 1
    assert magicrf.decode(bytes(bad_sum))[0] == []
    bad_epc = bytearray(M100_NOTICE)
    bad_epc[10] ^= 0x40
    bad_epc[-2] = checksum8(bad_epc[1:-2])  # the frame checksum passes, the tag CRC must not
    frames, _, _ = magicrf.split_frames(bytes(bad_epc))
    assert len(frames) == 1
    with pytest.raises(FrameError, match="tag CRC"):
        magicrf.parse_tag(frames[0])
    assert magicrf.decode(bytes(bad_epc))[0] == []


# -- ThingMagic Mercury --
# ThingMagic transport logs published with SparkFun's Nano M6E library ("Example Communication Logs"), and
# the CRC routine of ThingMagic's serial_reader_l3.c.
TM_VERSION = h("FF 00 03 1D 0C")
TM_VERSION_ANSWER = h("FF 14 03 00 00 14 12 08 00 30 00 00 02 20 15 03 10 01 03 01 47 00 00 00 10 EB FF")
TM_SET_REGION_NA2 = h("FF 01 97 0D 4B B0")
TM_SET_POWER_27DBM = h("FF 02 92 0A 8C 4B D5")
TM_START_CONTINUOUS = h("FF 10 2F 00 00 01 22 00 00 05 07 22 10 00 1B 03 E8 01 FF DD 2B")
TM_START_ACK = h("FF 04 2F 00 00 01 22 00 00 6D C3")
TM_STOP_CONTINUOUS = h("FF 03 2F 00 00 02 5E 86")
TM_KEEPALIVE = h("FF 00 22 04 00 84 E0")
TM_STOP_ACK = h("FF 01 2F 00 00 02 30 E6")
TM_TAG_E200 = h(
    "FF 28 22 00 00 10 00 1B 01 FF 01 01 C9 11 0E 08 30 00 00 00 13 00 00 05 00 00 0F 00 80 30 00 E2"
    " 00 10 26 76 0E 01 79 15 90 71 25 19 85 57 97"
)
TM_TAG_596F = h(
    "FF 20 22 00 00 10 00 1B 01 FF 01 01 C7 11 0E 08 30 00 00 00 0F 00 00 05 00 00 0F 00 40 10 00 59"
    " 6F 59 6F F3 13 89 90"
)


def test_thingmagic_commands_match_the_logs() -> None:
    assert thingmagic.version() == TM_VERSION
    assert thingmagic.set_region("NA2") == TM_SET_REGION_NA2
    assert thingmagic.set_read_power(27) == TM_SET_POWER_27DBM
    assert thingmagic.start_continuous_read() == TM_START_CONTINUOUS
    assert thingmagic.stop_continuous_read() == TM_STOP_CONTINUOUS
    assert crc16_thingmagic(h("00 03")) == 0x1D0C


def test_thingmagic_stream_from_a_log_decodes() -> None:
    stream = TM_START_ACK + TM_TAG_E200 + TM_TAG_596F + TM_KEEPALIVE + TM_STOP_ACK
    frames, rest, bad = thingmagic.split_responses(stream)
    assert (rest, bad) == (b"", 0)
    assert [f.opcode for f in frames] == [0x2F, 0x22, 0x22, 0x22, 0x2F]
    assert thingmagic.is_keepalive(frames[3])
    tags, _, _ = thingmagic.decode(stream)
    assert [(t.epc, t.rssi, t.antenna, t.frequency_khz) for t in tags] == [
        ("E20010267 60E017915907125".replace(" ", ""), -55.0, 1, 919600),
        ("596F596F", -57.0, 1, 919600),
    ]


def test_thingmagic_version_answer_is_valid() -> None:
    frames, _, bad = thingmagic.split_responses(TM_VERSION_ANSWER)
    assert bad == 0 and frames[0].status == 0 and len(frames[0].data) == 20


def test_thingmagic_encoder_reproduces_a_logged_tag_frame() -> None:
    record = thingmagic.encode_tag_record(
        h("E20010267 60E0179159071 25".replace(" ", "")), rssi=-55, frequency_khz=919600, timestamp_ms=0x13
    )
    assert thingmagic.encode_response(0x22, 0, record) == TM_TAG_E200


# -- Chafon / UHFReader18 --
# UHFReader18 user manual v2.0 (CRC-16: PRESET_VALUE 0xFFFF, POLYNOMIAL 0x8408, low byte first); the frames
# below are its inventory / reader-information commands, cross-checked with the ru5102 driver's tests.
CF_INVENTORY_ADR0 = h("04 00 01 DB 4B")
CF_INVENTORY_BROADCAST = h("04 FF 01 1B B4")
CF_INVENTORY_ADR10 = bytes([4, 10, 0x01, 171, 182])
CF_READER_INFO = h("04 00 21 D9 6A")
CF_NO_TAG = bytes([5, 0, 1, 251, 242, 61])


def test_chafon_commands_and_crc() -> None:
    assert chafon.inventory() == CF_INVENTORY_ADR0
    assert chafon.inventory(0xFF) == CF_INVENTORY_BROADCAST
    assert chafon.inventory(10) == CF_INVENTORY_ADR10
    assert chafon.reader_info() == CF_READER_INFO
    assert crc16_mcrf4xx(b"abcdef") == 64265


def test_chafon_no_tag_and_tag_list() -> None:
    frames, _, bad = chafon.split_responses(CF_NO_TAG)
    assert bad == 0 and frames[0].status == chafon.STATUS_NO_TAG and chafon.parse_tags(frames[0]) == []
    epcs = [h("E20000172211010218905C4A"), h("300833B2DDD9014000000000")]
    answer = chafon.encode_response(1, chafon.STATUS_INVENTORY_DONE, chafon.encode_tag_list(epcs))
    tags, _, _ = chafon.decode(answer)
    assert [t.epc for t in tags] == ["E20000172211010218905C4A", "300833B2DDD9014000000000"]
    assert all(t.rssi is None for t in tags)


def test_chafon_malformed_tag_list_is_refused() -> None:
    broken = chafon.encode_response(1, chafon.STATUS_INVENTORY_DONE, b"\x02\x0c" + bytes(12))
    frames, _, _ = chafon.split_responses(broken)
    with pytest.raises(FrameError):
        chafon.parse_tags(frames[0])


# -- TSL ASCII 2.0 --
TSL_BLOCK = (
    b"CS: .iv -c on -pc on -r on\r\nPC: 3000\r\nEP: 3034257BF7194E4000001A85\r\nCR: EE2C\r\nRI: -56\r\n"
    b"EP: 3034257BF7194E4000001A86\r\nRI: -61\r\nOK:\r\n"
)


def test_tsl_block_parses_with_and_without_pc_crc() -> None:
    [block] = tsl.parse_blocks(TSL_BLOCK)
    assert block.ok and block.command == ".iv -c on -pc on -r on"
    assert [(t.epc, t.rssi, t.pc) for t in block.tags] == [
        ("3034257BF7194E4000001A85", -56.0, 0x3000),
        ("3034257BF7194E4000001A86", -61.0, None),
    ]


def test_tsl_bad_crc_line_drops_the_transponder() -> None:
    [block] = tsl.parse_blocks(TSL_BLOCK.replace(b"CR: EE2C", b"CR: EE2D"))
    assert [t.epc for t in block.tags] == ["3034257BF7194E4000001A86"] and block.rejected == 1


def test_tsl_error_block_and_trigger() -> None:
    [err, trig] = tsl.parse_blocks(b"CS: .xx\r\nER: 001\r\nSW: single\r\nCS: .iv\r\nEP: 1234\r\nOK:\r\n")
    assert (err.ok, err.error) == (False, "001")
    assert trig.triggered and [t.epc for t in trig.tags] == ["1234"]


# -- properties: any split, any noise --
epc96 = st.binary(min_size=12, max_size=12)
rssi = st.integers(min_value=-90, max_value=-20)


def _magicrf_frame(epc: bytes, r: int) -> bytes:
    pc = (len(epc) // 2 << 11).to_bytes(2, "big")
    return magicrf.encode(0x22, bytes((r & 0xFF,)) + pc + epc + crc16_gen2(pc + epc).to_bytes(2, "big"), 2)


def _tm_frame(epc: bytes, r: int) -> bytes:
    return thingmagic.encode_response(0x22, 0, thingmagic.encode_tag_record(epc, rssi=r))


def _cf_frame(epc: bytes, r: int) -> bytes:
    return chafon.encode_response(1, 1, chafon.encode_tag_list([epc]))


CODECS = {
    "magicrf": (_magicrf_frame, magicrf.decode),
    "thingmagic": (_tm_frame, thingmagic.decode),
    "chafon": (_cf_frame, chafon.decode),
}


def _feed_in_pieces(decode, data: bytes, cuts: list[int]) -> list[str]:  # type: ignore[no-untyped-def]
    epcs: list[str] = []
    rest = b""
    last = 0
    for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
        tags, rest, _ = decode(rest + data[last:cut])
        epcs.extend(t.epc for t in tags)
        last = cut
    return epcs


@pytest.mark.parametrize("codec", CODECS)
@settings(max_examples=60, deadline=None)
@given(tags=st.lists(st.tuples(epc96, rssi), min_size=1, max_size=8), cuts=st.lists(st.integers(0, 10_000)))
def test_any_split_yields_the_same_tags(codec: str, tags: list[tuple[bytes, int]], cuts: list[int]) -> None:
    encode, decode = CODECS[codec]
    data = b"".join(encode(e, r) for e, r in tags)
    assert _feed_in_pieces(decode, data, cuts) == [e.hex().upper() for e, _ in tags]


@pytest.mark.parametrize("codec", CODECS)
@settings(max_examples=60, deadline=None)
@given(
    tags=st.lists(st.tuples(epc96, rssi), min_size=1, max_size=6),
    noise=st.lists(st.binary(max_size=12), min_size=7, max_size=7),
)
def test_noise_between_frames_never_invents_or_loses_a_tag(
    codec: str, tags: list[tuple[bytes, int]], noise: list[bytes]
) -> None:
    encode, decode = CODECS[codec]
    frames = [encode(e, r) for e, r in tags]
    data = b"".join(n + f for n, f in zip(noise, frames, strict=False)) + noise[-1]
    found, _, _ = decode(data)
    expected = {e.hex().upper() for e, _ in tags}
    # Noise can hide a frame behind a false start, but every tag decoded must be one that was sent.
    assert {t.epc for t in found} <= expected
    clean = b"".join(frames)
    assert {t.epc for t in decode(clean)[0]} == expected


@pytest.mark.parametrize("codec", CODECS)
@settings(max_examples=80, deadline=None)
@given(epc=epc96, r=rssi, position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_a_corrupted_frame_never_becomes_a_read(codec: str, epc: bytes, r: int, position: int, flip: int) -> None:
    encode, decode = CODECS[codec]
    frame = bytearray(encode(epc, r))
    i = position % len(frame)
    frame[i] ^= flip
    tags, _, _ = decode(bytes(frame))
    # Flipping the RSSI byte of MagicRF or ThingMagic is caught by the frame check; nothing that decodes may
    # carry an EPC other than the one sent.
    assert all(t.epc == epc.hex().upper() for t in tags)
    if codec != "chafon" or i != 0:
        assert tags == [] or bytes(frame) == encode(epc, r)


@settings(max_examples=60, deadline=None)
@given(tags=st.lists(st.tuples(epc96, rssi), max_size=6), cuts=st.lists(st.integers(0, 5000)))
def test_tsl_any_split(tags: list[tuple[bytes, int]], cuts: list[int]) -> None:
    reads = [TagRead(e.hex().upper(), rssi=float(r)) for e, r in tags]
    data = tsl.encode_block(".iv -c on -pc on -r on", reads)
    assembler = tsl.BlockAssembler()
    blocks = []
    rest = b""
    last = 0
    for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
        lines, rest, _ = tsl.split_lines(rest + data[last:cut])
        blocks.extend(b for b in (assembler.feed(line) for line in lines) if b is not None)
        last = cut
    assert len(blocks) == 1 and [(t.epc, t.rssi) for t in blocks[0].tags] == [(t.epc, t.rssi) for t in reads]


@given(st.binary(max_size=300))
def test_fast_thingmagic_crc_equals_the_reference_nibble_loop(data: bytes) -> None:
    assert crc16_thingmagic(data) == _crc16_thingmagic_nibbles(data)
