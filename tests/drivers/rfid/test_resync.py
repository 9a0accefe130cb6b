"""Every serial codec recovers from line noise at once: random bytes between valid frames — header look-alikes
that claim long lengths included — never hide a frame nor hold it back. The stream is fed byte by byte, as a slow
serial line delivers it, and each tag must come out no later than the noise before its frame allows; with the
resynchronisation it comes out the moment its own last byte arrives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.rfid import chafon, magicrf, thingmagic
from drivers.rfid.crc import crc16_gen2


def _magicrf_frame(epc: bytes) -> bytes:
    pc = (len(epc) // 2 << 11).to_bytes(2, "big")
    return magicrf.encode(0x22, b"\xc9" + pc + epc + crc16_gen2(pc + epc).to_bytes(2, "big"), 2)


def _tm_frame(epc: bytes) -> bytes:
    return thingmagic.encode_response(0x22, 0, thingmagic.encode_tag_record(epc, rssi=-50))


def _cf_frame(epc: bytes) -> bytes:
    return chafon.encode_response(1, 1, chafon.encode_tag_list([epc]))


CODECS = {"magicrf": (_magicrf_frame, magicrf.decode), "thingmagic": (_tm_frame, thingmagic.decode)}
CODECS["chafon"] = (_cf_frame, chafon.decode)

# Bytes that open a frame or pass for a long length, mixed into otherwise random noise.
_LOOKALIKES = [magicrf.HEADER, thingmagic.HEADER, magicrf.END, 0xFE, 0xF0, 0x80, 0x01, 0x00]
noise = st.lists(st.one_of(st.integers(0, 255), st.sampled_from(_LOOKALIKES)), max_size=40).map(bytes)
epc96 = st.binary(min_size=12, max_size=12)


def _fed_byte_by_byte(decode, data: bytes) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """(EPC, bytes fed when it came out) for every tag, feeding one byte at a time."""
    out: list[tuple[str, int]] = []
    rest = b""
    for k in range(len(data)):
        tags, rest, _ = decode(rest + data[k : k + 1])
        out.extend((t.epc, k + 1) for t in tags)
    return out


@pytest.mark.parametrize("codec", CODECS)
@settings(max_examples=60, deadline=None)
@given(epcs=st.lists(epc96, min_size=1, max_size=5), gaps=st.lists(noise, min_size=6, max_size=6))
def test_noise_between_frames_neither_hides_nor_delays_a_frame(
    codec: str, epcs: list[bytes], gaps: list[bytes]
) -> None:
    encode, decode = CODECS[codec]
    data = b""
    ends: list[tuple[str, int, int]] = []  # EPC, where its frame ends, the noise right before it
    for epc, gap in zip(epcs, gaps, strict=False):
        data += gap + encode(epc)
        ends.append((epc.hex().upper(), len(data), len(gap)))
    data += gaps[-1]
    got = _fed_byte_by_byte(decode, data)
    assert [e for e, _ in got] == [e for e, _, _ in ends], "a valid frame was lost or a false one read"
    for (epc, at), (_, end, before) in zip(got, ends, strict=True):
        assert at - end <= before, f"{epc} came {at - end} bytes after its frame, behind {before} bytes of noise"


@pytest.mark.parametrize("codec", CODECS)
def test_a_false_start_claiming_a_long_frame_does_not_hold_back_the_next_frame(codec: str) -> None:
    encode, decode = CODECS[codec]
    false_start = {"magicrf": b"\xbb\x02\x22\x00\xf0", "thingmagic": b"\xff\xf0\x22", "chafon": b"\xf0\x00\x01"}[codec]
    frame = encode(bytes(range(12)))
    tags, rest, skipped = decode(false_start + frame)
    assert [t.epc for t in tags] == [bytes(range(12)).hex().upper()] and rest == b""
    assert skipped >= 1
