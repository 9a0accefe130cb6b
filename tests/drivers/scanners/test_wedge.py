"""Keyboard-wedge burst detector: scans vs typing, with no key ever lost."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.scanners.wedge import Typed, WedgeBurstDetector, WedgeEvent, WedgeScan


def run(detector: WedgeBurstDetector, keys: list[tuple[str, float]], end: float | None = None) -> list[WedgeEvent]:
    out: list[WedgeEvent] = []
    for key, at in keys:
        out += detector.poll(at)
        out += detector.feed(key, at)
    out += detector.poll(end if end is not None else (keys[-1][1] + 1.0 if keys else 1.0))
    return out


def burst(text: str, start: float, step: float = 0.004) -> list[tuple[str, float]]:
    keys = [(ch, start + i * step) for i, ch in enumerate(text)]
    return [*keys, ("enter", start + len(text) * step)]


def typed(text: str, start: float, step: float = 0.15) -> list[tuple[str, float]]:
    return [(ch, start + i * step) for i, ch in enumerate(text)]


def test_a_fast_burst_ending_in_enter_is_a_scan() -> None:
    out = run(WedgeBurstDetector(), burst("BJ-0000015", 0.0))
    assert out == [WedgeScan("BJ-0000015", 0.04, (*"BJ-0000015", "enter"))]
    read = out[0].to_read("kbd") if isinstance(out[0], WedgeScan) else None
    assert read is not None and read.code == "BJ-0000015" and read.device == "kbd"


def test_typing_is_passed_through_in_order() -> None:
    out = run(WedgeBurstDetector(), [*typed("hello", 0.0), ("enter", 0.9)])
    keys = [k for e in out if isinstance(e, Typed) for k in e.keys]
    assert keys == [*"hello", "enter"]
    assert not any(isinstance(e, WedgeScan) for e in out)


def test_typing_then_a_scan_then_typing() -> None:
    keys = [*typed("ab", 0.0), *burst("]d1BJ-0000015", 1.0), *typed("cd", 2.0), ("backspace", 2.5)]
    out = run(WedgeBurstDetector(), keys)
    scans = [e for e in out if isinstance(e, WedgeScan)]
    assert [s.code for s in scans] == ["]d1BJ-0000015"]
    read = scans[0].to_read("kbd")
    assert (read.code, read.symbology, read.aim_id) == ("BJ-0000015", "datamatrix", "]d1")
    assert [k for e in out if isinstance(e, Typed) for k in e.keys] == ["a", "b", "c", "d", "backspace"]


def test_slow_enter_makes_it_typing() -> None:
    keys = [*[(ch, i * 0.004) for i, ch in enumerate("BJ-0000015")], ("enter", 0.5)]
    out = run(WedgeBurstDetector(), keys)
    assert [k for e in out if isinstance(e, Typed) for k in e.keys] == [*"BJ-0000015", "enter"]


def test_short_bursts_and_non_character_keys_are_typing() -> None:
    assert not any(isinstance(e, WedgeScan) for e in run(WedgeBurstDetector(), burst("ab", 0.0)))
    keys = [("B", 0.0), ("J", 0.004), ("left", 0.008), ("1", 0.012), ("enter", 0.016)]
    out = run(WedgeBurstDetector(min_length=2), keys)
    assert not any(isinstance(e, WedgeScan) for e in out)
    assert [k for e in out if isinstance(e, Typed) for k in e.keys] == ["B", "J", "left", "1", "enter"]


def test_prefix_and_suffix() -> None:
    d = WedgeBurstDetector(prefix="#", suffix="$")
    out = run(d, [*burst("#BJ-1$", 0.0), *burst("BJ-2", 1.0)])
    assert [e.code for e in out if isinstance(e, WedgeScan)] == ["BJ-1"]
    assert [k for e in out if isinstance(e, Typed) for k in e.keys] == [*"BJ-2", "enter"]


def test_space_key_name_is_a_character() -> None:
    out = run(WedgeBurstDetector(), [("A", 0.0), ("space", 0.004), ("B", 0.008), ("C", 0.012), ("enter", 0.016)])
    assert [e.code for e in out if isinstance(e, WedgeScan)] == ["A BC"]


@pytest.mark.parametrize(
    ("layout", "received", "meant"),
    [
        ("de", "BJß0000015", "BJ-0000015"),
        ("de", "LOCßBJßR3C2S4E", "LOC-BJ-R3C2S4E"),
        ("fr", "BJ)ààààà&(", "BJ-0000015"),
        ("fr", "QBCZ", "ABCW"),
    ],
)
def test_layout_maps(layout: str, received: str, meant: str) -> None:
    out = run(WedgeBurstDetector(layout=layout), burst(received, 0.0))
    assert [e.code for e in out if isinstance(e, WedgeScan)] == [meant]


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match="layout"):
        WedgeBurstDetector(layout="xx")
    with pytest.raises(ValueError, match="gap"):
        WedgeBurstDetector(gap=0)


keystrokes = st.lists(
    st.tuples(
        st.sampled_from([*"ABCJ-0123456789", "enter", "tab", "backspace", "space"]),
        st.floats(min_value=0.0, max_value=0.2),
    ),
    max_size=60,
)


@settings(max_examples=120, deadline=None)
@given(keystrokes)
def test_every_key_comes_back_exactly_once(strokes: list[tuple[str, float]]) -> None:
    d = WedgeBurstDetector()
    now = 0.0
    keys: list[tuple[str, float]] = []
    for key, gap in strokes:
        now += gap
        keys.append((key, now))
    out = run(d, keys)
    returned = [k for e in out for k in e.keys]
    assert returned == [k for k, _ in keys]
    assert not d.holding


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from("BJ-0123456789"), min_size=4, max_size=30), st.floats(0.031, 2.0))
def test_human_paced_keys_are_never_a_scan(chars: list[str], pace: float) -> None:
    keys = [(c, i * pace) for i, c in enumerate(chars)]
    keys.append(("enter", len(chars) * pace))
    assert not any(isinstance(e, WedgeScan) for e in run(WedgeBurstDetector(), keys))
