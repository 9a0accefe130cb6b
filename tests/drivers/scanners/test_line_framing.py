"""Line framer: properties over arbitrary splits and garbage, and the specific refusals."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.scanners.framing import Frame, LineFramer, LineSettings, Rejected, Reply, encode_line

# Noise as the tests define it, independently of the framer: bytes line noise produces that never occur in a scan
# (C0 controls other than the CR/LF/TAB line ends and the EOT/FS/GS/RS data separators, DEL, never-UTF-8 bytes).
NOISE = bytes(
    [b for b in range(0x20) if b not in (0x04, 0x09, 0x0A, 0x0D, 0x1C, 0x1D, 0x1E)]
    + [0x7F, 0xC0, 0xC1, *range(0xF5, 0x100)]
)

codes = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"), include_characters="\x1d"
    ),
    min_size=1,
    max_size=40,
)
code_lists = st.lists(codes, min_size=1, max_size=12)
noise = st.binary(min_size=1, max_size=8).map(lambda b: bytes(NOISE[x % len(NOISE)] for x in b))
line_settings = st.builds(
    LineSettings,
    terminator=st.sampled_from(["cr", "lf", "crlf", "tab"]),
    prefix=st.sampled_from([b"", b"\x02", b"@@"]),
    suffix=st.sampled_from([b"", b"\x03", b"#"]),
)


def frames(out: list[Frame | Rejected | Reply]) -> list[str]:
    return [x.text for x in out if isinstance(x, Frame)]


def feed_split(settings_: LineSettings, stream: bytes, cuts: list[int]) -> list[str]:
    framer = LineFramer(settings_)
    out: list[Frame | Rejected | Reply] = []
    points = sorted({c % (len(stream) + 1) for c in cuts})
    for a, b in zip([0, *points], [*points, len(stream)], strict=True):
        out += framer.feed(stream[a:b], 0.0)
    return frames(out)


def _fits(code: str, s: LineSettings) -> bool:
    """Codes that can be sent through `s` unambiguously: no terminator, prefix or suffix inside."""
    raw = code.encode()
    return b"\t" not in raw and (not s.prefix or s.prefix not in raw) and (not s.suffix or s.suffix not in raw)


@settings(max_examples=120, deadline=None)
@given(line_settings, code_lists, st.lists(st.integers(min_value=0, max_value=10_000), max_size=30))
def test_any_split_yields_the_same_reads(s: LineSettings, sent: list[str], cuts: list[int]) -> None:
    sent = [c for c in sent if _fits(c, s)]
    stream = b"".join(encode_line(c, s) for c in sent)
    assert feed_split(s, stream, []) == sent
    assert feed_split(s, stream, cuts) == sent


@settings(max_examples=120, deadline=None)
@given(line_settings, code_lists, st.lists(noise, min_size=1, max_size=13), st.lists(st.integers(0, 9999)))
def test_noise_between_frames_never_yields_a_read(
    s: LineSettings, sent: list[str], garbage: list[bytes], cuts: list[int]
) -> None:
    sent = [c for c in sent if _fits(c, s)]
    # A configured suffix byte is not noise to this framer (it is part of the framing).
    garbage = [g.translate(None, s.suffix) or b"\x00" for g in garbage]
    stream = b""
    for i, code in enumerate(sent):
        stream += garbage[i % len(garbage)] + encode_line(code, s)
    stream += garbage[-1]
    assert feed_split(s, stream, cuts) == sent


@settings(max_examples=100, deadline=None)
@given(code_lists, st.binary(max_size=30), st.lists(st.integers(0, 9999)))
def test_with_a_prefix_any_garbage_between_frames_is_skipped(
    sent: list[str], garbage: bytes, cuts: list[int]
) -> None:
    s = LineSettings(prefix=b"\x02", suffix=b"\x03", terminator="crlf")
    garbage = garbage.replace(b"\x02", b"")
    sent = [c for c in sent if _fits(c, s)]
    stream = b"".join(garbage + encode_line(c, s) for c in sent)
    assert feed_split(s, stream, cuts) == sent


@settings(max_examples=100, deadline=None)
@given(code_lists, st.data())
def test_noise_inside_a_frame_refuses_only_that_frame(sent: list[str], data: st.DataObject) -> None:
    s = LineSettings()
    victim = data.draw(st.integers(0, len(sent) - 1))
    junk = data.draw(noise)
    stream = b""
    for i, code in enumerate(sent):
        raw = encode_line(code, s)
        if i == victim:
            at = data.draw(st.integers(1, len(raw) - 1))
            raw = raw[:at] + junk + raw[at:]
        stream += raw
    out = LineFramer(s).feed(stream, 0.0)
    assert frames(out) == [c for i, c in enumerate(sent) if i != victim]
    assert any(isinstance(x, Rejected) and "noise" in x.reason for x in out)


def test_control_bytes_inside_the_data_are_refused() -> None:
    f = LineFramer(LineSettings(suffix=b"\x03"))
    out = f.feed(b"\x03BJ-1\x03\rBJ-2\x03\r", 0.0)
    assert frames(out) == ["BJ-2"]
    assert isinstance(out[0], Rejected) and "control byte" in out[0].reason


def test_crlf_and_blank_lines() -> None:
    f = LineFramer(LineSettings(terminator="cr"))
    assert frames(f.feed(b"A1\r\n\r\nB2\n", 0.0)) == ["A1", "B2"]


def test_missing_suffix_is_refused() -> None:
    f = LineFramer(LineSettings(suffix=b"#"))
    out = f.feed(b"AB#\rCD\r", 0.0)
    assert frames(out) == ["AB"]
    assert [x.reason for x in out if isinstance(x, Rejected)] == ["missing suffix b'#'"]


def test_a_new_prefix_cuts_the_unfinished_frame() -> None:
    f = LineFramer(LineSettings(prefix=b"\x02"))
    out = f.feed(b"\x02BJ-0001\x02BJ-0002\r", 0.0)
    assert frames(out) == ["BJ-0002"]
    assert isinstance(out[0], Rejected) and out[0].raw == b"\x02BJ-0001"


def test_over_long_frame_is_refused() -> None:
    f = LineFramer(LineSettings(max_length=8))
    out = f.feed(b"123456789\r12345678\r", 0.0)
    assert frames(out) == ["12345678"]
    assert isinstance(out[0], Rejected) and "longer" in out[0].reason


def test_invalid_utf8_is_refused_but_gbk_is_configurable() -> None:
    gbk = "涉密载体".encode("gbk")
    assert frames(LineFramer().feed(gbk + b"\r", 0.0)) == []
    assert frames(LineFramer(LineSettings(encoding="gbk")).feed(gbk + b"\r", 0.0)) == ["涉密载体"]
    assert frames(LineFramer().feed("涉密载体\r".encode(), 0.0)) == ["涉密载体"]


def test_gs1_separators_are_data() -> None:
    assert frames(LineFramer().feed(b"]C101034531200000111\x1d10ABC\r", 0.0)) == ["]C101034531200000111\x1d10ABC"]


def test_stale_partial_is_not_glued_to_the_next_scan() -> None:
    f = LineFramer(LineSettings(stale_after=0.5))
    assert f.feed(b"BJ-00", 0.0) == []
    out = f.feed(b"BJ-0000015\r", 2.0)
    assert frames(out) == ["BJ-0000015"]
    assert isinstance(out[0], Rejected)


def test_terminator_none_ends_frames_on_silence() -> None:
    f = LineFramer(LineSettings(terminator="none", idle_timeout=0.05))
    assert f.feed(b"BJ-00", 0.00) == []
    assert f.feed(b"00015", 0.02) == []  # 20 ms gap: same frame
    assert f.poll(0.06) == []  # 40 ms since the last byte
    assert frames(f.poll(0.08)) == ["BJ-0000015"]
    assert f.feed(b"X1", 0.10) == []
    assert frames(f.feed(b"Y2", 0.30)) == ["X1"]  # the gap before Y2 ended X1
    assert frames(f.poll(0.40)) == ["Y2"]


def test_terminator_none_with_suffix_or_prefix_needs_no_silence() -> None:
    f = LineFramer(LineSettings(terminator="none", suffix=b"\x03"))
    assert frames(f.feed(b"A1\x03B2\x03", 0.0)) == ["A1", "B2"]
    g = LineFramer(LineSettings(terminator="none", prefix=b"\x02"))
    assert frames(g.feed(b"\x02A1\x02B2", 0.0)) == ["A1"]


def test_reset_reports_the_half_frame() -> None:
    f = LineFramer()
    f.feed(b"BJ-00", 0.0)
    lost = f.reset()
    assert len(lost) == 1 and isinstance(lost[0], Rejected) and lost[0].raw == b"BJ-00"
    assert frames(f.feed(b"01\r", 0.1)) == ["01"]


def test_settings_are_checked() -> None:
    import pytest

    with pytest.raises(ValueError, match="terminator"):
        LineSettings(terminator="etx")
    with pytest.raises(ValueError, match="contains the terminator"):
        LineSettings(suffix=b"\r")
    with pytest.raises(LookupError):
        LineSettings(encoding="no-such-codec")


def test_replies_are_told_apart_from_scans() -> None:
    f = LineFramer(reply_marks=b"\x05\x06\x15")
    out = f.feed(b"BJ-1\rBEPBEP1\x06.BJ-2\r", 0.0)
    assert frames(out) == ["BJ-1", "BJ-2"]
    assert [x.text for x in out if isinstance(x, Reply)] == ["BEPBEP1\x06."]
