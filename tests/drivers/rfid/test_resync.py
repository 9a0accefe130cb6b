"""Every serial codec recovers from line noise at once: random bytes between valid frames — header look-alikes
that claim long lengths, frames cut short (a bad length) and whole frames with one byte changed (a bad CRC or
checksum) included — never hide a frame nor hold it back. The stream is fed byte by byte, as a slow serial line
delivers it, to the very objects the live readers feed (`MagicRfStream`, `ThingMagicStream`, `ChafonPolling` in
either Chafon protocol, `TslTrigger`), and each tag must come out no later than the
noise before its frame allows; with the resynchronisation it comes out the moment its own last byte arrives.

LLRP is not here: its framing is sllurp's, over TCP, which delivers no line noise."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.rfid import chafon, magicrf, thingmagic, tsl
from drivers.rfid.base import TagRead
from drivers.rfid.chafon import ChafonPolling
from drivers.rfid.config import TslTrigger
from drivers.rfid.crc import crc16_gen2
from drivers.rfid.magicrf import MagicRfStream
from drivers.rfid.thingmagic import ThingMagicStream


def _magicrf_frame(epc: bytes) -> bytes:
    pc = (len(epc) // 2 << 11).to_bytes(2, "big")
    return magicrf.encode(0x22, b"\xc9" + pc + epc + crc16_gen2(pc + epc).to_bytes(2, "big"), 2)


def _tm_frame(epc: bytes) -> bytes:
    return thingmagic.encode_response(0x22, 0, thingmagic.encode_tag_record(epc, rssi=-50))


def _cf18_frame(epc: bytes) -> bytes:
    return chafon.encode_response(1, 1, chafon.encode_tag_list([epc]))


def _cf288_frame(epc: bytes) -> bytes:
    return chafon.encode_response(1, 1, chafon.encode_tag_list_288([(epc, 0x5A)], antenna=2))


def _cf_active_frame(epc: bytes) -> bytes:
    return chafon.encode_response(chafon.RECMD_ACTIVE, chafon.STATUS_OK, epc)


def _tsl_block(epc: bytes) -> bytes:
    return tsl.encode_block(tsl.INVENTORY, [TagRead(epc.hex().upper(), rssi=-51.0)])


class _Stream:
    def feed(self, data: bytes) -> tuple[list[TagRead], bytes]: ...


# name -> (one valid frame carrying an EPC, a fresh live decoder fed as the reader feeds it)
CODECS: dict[str, tuple[Callable[[bytes], bytes], Callable[[], _Stream]]] = {
    "magicrf": (_magicrf_frame, MagicRfStream),
    "thingmagic": (_tm_frame, ThingMagicStream),
    "chafon-uhfreader18": (_cf18_frame, lambda: ChafonPolling(protocol=chafon.UHFREADER18)),
    "chafon-uhfreader288": (_cf288_frame, lambda: ChafonPolling(protocol=chafon.UHFREADER288)),
    "chafon-active-mode": (_cf_active_frame, lambda: ChafonPolling(protocol=chafon.UHFREADER18)),
    "tsl": (_tsl_block, TslTrigger),
}

# Bytes that open a frame or pass for a long length, mixed into otherwise random noise.
_LOOKALIKES = [magicrf.HEADER, thingmagic.HEADER, magicrf.END, 0xFE, 0xF0, 0x80, 0x01, 0x00, 0x0D, 0x0A, 0x3A]
_random = st.lists(st.one_of(st.integers(0, 255), st.sampled_from(_LOOKALIKES)), max_size=40).map(bytes)
epc96 = st.binary(min_size=12, max_size=12)


def _noise(codec: str) -> st.SearchStrategy[bytes]:
    """Random bytes, or a frame of this codec cut short (its length says more than comes: a bad length; for TSL a
    line run into the next) or with one byte changed (a bad CRC, checksum or end byte), each followed by a little
    more noise."""
    encode = CODECS[codec][0]

    @st.composite
    def broken(draw: st.DrawFn) -> bytes:
        frame = encode(draw(epc96))
        if draw(st.booleans()):
            # a TSL answer is whole once its "OK:" is (what follows it is the next line's business)
            whole = len(frame) - (len(b"OK:\r\n") if codec == "tsl" else 0)
            frame = frame[: draw(st.integers(1, whole - 1))]
        elif codec == "tsl":  # text with a CRC over the EPC only: a changed EPC digit is what its CRC catches
            at = frame.index(b"EP: ") + 4 + draw(st.integers(0, 23))
            digit = draw(st.sampled_from([d for d in b"0123456789ABCDEF" if d != frame[at]]))
            frame = frame[:at] + bytes((digit,)) + frame[at + 1 :]
        else:
            i = draw(st.integers(0, len(frame) - 1))
            frame = frame[:i] + bytes((frame[i] ^ draw(st.integers(1, 255)),)) + frame[i + 1 :]
        return frame + draw(st.binary(max_size=4))

    return st.one_of(_random, broken())


def _fed_byte_by_byte(stream: _Stream, data: bytes) -> list[tuple[str, int]]:
    """(EPC, bytes fed when it came out) for every tag, feeding one byte at a time."""
    out: list[tuple[str, int]] = []
    for k in range(len(data)):
        tags, _ = stream.feed(data[k : k + 1])
        out.extend((t.epc, k + 1) for t in tags)
    return out


@pytest.mark.parametrize("codec", CODECS)
@settings(max_examples=60, deadline=None)
@given(data=st.data(), epcs=st.lists(epc96, min_size=1, max_size=5))
def test_noise_between_frames_neither_hides_nor_delays_a_frame(codec: str, data: st.DataObject,
                                                                epcs: list[bytes]) -> None:
    encode, stream = CODECS[codec]
    gaps = [data.draw(_noise(codec)) for _ in range(len(epcs) + 1)]
    sent = b""
    ends: list[tuple[str, int, int]] = []  # EPC, where its frame ends, the noise right before it
    for epc, gap in zip(epcs, gaps, strict=False):
        sent += gap + encode(epc)
        ends.append((epc.hex().upper(), len(sent), len(gap)))
    sent += gaps[-1]
    got = _fed_byte_by_byte(stream(), sent)
    assert [e for e, _ in got] == [e for e, _, _ in ends], "a valid frame was lost or a false one read"
    for (epc, at), (_, end, before) in zip(got, ends, strict=True):
        assert at - end <= before, f"{epc} came {at - end} bytes after its frame, behind {before} bytes of noise"
        assert at == end, f"{epc} came {at - end} bytes after its own last byte"


FALSE_STARTS = {
    "magicrf": b"\xbb\x02\x22\x00\xf0",
    "thingmagic": b"\xff\xf0\x22",
    "chafon-uhfreader18": b"\xf0\x00\x01",
    "chafon-uhfreader288": b"\xf0\x00\x01",
    "chafon-active-mode": b"\xf0\x00\xee",
    "tsl": b"EP: 3034",  # a line that never ends: the next line break ends it
}


@pytest.mark.parametrize("codec", CODECS)
def test_a_false_start_claiming_a_long_frame_does_not_hold_back_the_next_frame(codec: str) -> None:
    encode, stream = CODECS[codec]
    frame = encode(bytes(range(12)))
    got = _fed_byte_by_byte(stream(), FALSE_STARTS[codec] + frame)
    assert got == [(bytes(range(12)).hex().upper(), len(FALSE_STARTS[codec]) + len(frame))]


@pytest.mark.parametrize("codec", ["magicrf", "thingmagic", "chafon-uhfreader18", "chafon-uhfreader288"])
def test_a_frame_with_a_bad_crc_is_skipped_and_never_read(codec: str) -> None:
    encode, stream = CODECS[codec]
    bad = bytearray(encode(bytes(12)))
    bad[-3] ^= 0x01  # inside the data (magicrf: the checksum byte before END)
    tags = _fed_byte_by_byte(stream(), bytes(bad) + encode(bytes(range(12))))
    assert [e for e, _ in tags] == [bytes(range(12)).hex().upper()]
