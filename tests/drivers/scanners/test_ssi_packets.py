"""SSI packets: checksums against published byte strings, and framer properties over splits and garbage."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.scanners.ssi_packets import (
    SOURCE_DECODER,
    BadPacket,
    Nak,
    Op,
    Packet,
    SsiFramer,
    ack,
    checksum,
    encode,
    nak,
)


def test_known_packets() -> None:
    # Host CMD_ACK, CMD_NAK(RESEND) and START_SESSION as printed in SSI host drivers and decoder guides.
    assert ack() == bytes.fromhex("04 D0 04 00 FF 28")
    assert nak(Nak.RESEND) == bytes.fromhex("05 D1 04 00 01 FF 25")
    assert nak(Nak.DENIED) == bytes.fromhex("05 D1 04 00 06 FF 20")
    assert encode(Op.START_SESSION) == bytes.fromhex("04 E4 04 00 FF 14")


@given(st.binary(min_size=1, max_size=250))
def test_checksum_makes_the_sum_zero(body: bytes) -> None:
    assert (sum(body) + checksum(body)) & 0xFFFF == 0


def test_oversized_packet_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="holds 251"):
        encode(Op.DECODE_DATA, bytes(252))


decodes = st.lists(
    st.tuples(st.sampled_from([0x03, 0x1B, 0x1C]), st.binary(min_size=0, max_size=60)), min_size=1, max_size=8
)


def _stream(items: list[tuple[int, bytes]]) -> tuple[bytes, list[bytes]]:
    packets = [encode(Op.DECODE_DATA, bytes([t]) + d, source=SOURCE_DECODER) for t, d in items]
    return b"".join(packets), packets


def _feed(stream: bytes, cuts: list[int]) -> list[Packet | BadPacket]:
    framer = SsiFramer()
    points = sorted({c % (len(stream) + 1) for c in cuts})
    out: list[Packet | BadPacket] = []
    for a, b in zip([0, *points], [*points, len(stream)], strict=True):
        out += framer.feed(stream[a:b], 0.0)
    return out


@settings(max_examples=120, deadline=None)
@given(decodes, st.lists(st.integers(0, 100_000), max_size=40))
def test_any_split_yields_the_same_packets(items: list[tuple[int, bytes]], cuts: list[int]) -> None:
    stream, packets = _stream(items)
    out = _feed(stream, cuts)
    assert [p.raw for p in out if isinstance(p, Packet)] == packets
    assert not any(isinstance(p, BadPacket) for p in out)


@settings(max_examples=120, deadline=None)
@given(decodes, st.lists(st.binary(max_size=12), min_size=1), st.lists(st.integers(0, 100_000)))
def test_garbage_between_packets_never_yields_a_packet(
    items: list[tuple[int, bytes]], garbage: list[bytes], cuts: list[int]
) -> None:
    _, packets = _stream(items)
    noisy = b"".join(garbage[i % len(garbage)] + p for i, p in enumerate(packets))
    got = [p.raw for p in _feed(noisy, cuts) if isinstance(p, Packet)]
    # Every packet the framer accepts is one that was sent, in order; garbage can cost a packet (it is NAKed and
    # re-sent) but never add one.
    it = iter(packets)
    assert all(any(g == p for p in it) for g in got)


@given(decodes, st.lists(st.integers(0, 3), min_size=1, max_size=8))
def test_wakeups_and_short_garbage_cost_nothing(items: list[tuple[int, bytes]], junk: list[int]) -> None:
    # Bytes below 4 can never be a length byte: 0x00 wake-ups and such noise are skipped without losing a packet.
    _, packets = _stream(items)
    noisy = b"".join(bytes(junk) + p for p in packets)
    assert [p.raw for p in _feed(noisy, []) if isinstance(p, Packet)] == packets


def test_bad_checksum_is_reported_once_and_the_next_packet_still_reads() -> None:
    good = encode(Op.DECODE_DATA, b"\x03BJ-0000015", source=SOURCE_DECODER)
    bad = good[:-1] + bytes([good[-1] ^ 0xFF])
    out = SsiFramer().feed(bad + good, 0.0)
    assert [type(x).__name__ for x in out] == ["BadPacket", "Packet"]
    assert isinstance(out[0], BadPacket) and out[0].reason == "checksum mismatch"


def test_incomplete_packet_is_reported_after_silence() -> None:
    framer = SsiFramer(incomplete_after=0.2)
    good = encode(Op.DECODE_DATA, b"\x03BJ-1", source=SOURCE_DECODER)
    assert framer.feed(good[:5], 0.0) == []
    assert framer.poll(0.1) == []
    out = framer.poll(0.3)
    assert len(out) == 1 and isinstance(out[0], BadPacket) and "incomplete" in out[0].reason
    assert [p.raw for p in framer.feed(good, 0.4) if isinstance(p, Packet)] == [good]


def test_packet_flags() -> None:
    raw = encode(Op.DECODE_DATA, b"\x03X", source=SOURCE_DECODER, status=0x03)
    (p,) = SsiFramer().feed(raw, 0.0)
    assert isinstance(p, Packet)
    assert p.retransmit and p.continuation and p.name == "DECODE_DATA" and p.data == b"\x03X"
