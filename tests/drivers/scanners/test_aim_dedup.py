"""AIM identifiers and the duplicate window, as pure functions."""

from __future__ import annotations

import pytest

from drivers.scanners.aim import aim_for, is_aim_id, split_aim, symbology_for
from drivers.scanners.dedup import DuplicateFilter


@pytest.mark.parametrize(
    ("text", "aim_id", "rest", "symbology"),
    [
        ("]C0BJ-0000015", "]C0", "BJ-0000015", "code128"),
        ("]C101034531200000111", "]C1", "01034531200000111", "gs1-128"),
        ("]d1BJ-0000015", "]d1", "BJ-0000015", "datamatrix"),
        ("]d2010345312000001", "]d2", "010345312000001", "gs1-datamatrix"),
        ("]Q1LOC-BJ-R3C2S4E", "]Q1", "LOC-BJ-R3C2S4E", "qrcode"),
        ("]Q3010345312000001", "]Q3", "010345312000001", "gs1-qrcode"),
        ("]E06901234567892", "]E0", "6901234567892", "ean13"),
        ("]E469012346", "]E4", "69012346", "ean8"),
        ("]A0CODE39", "]A0", "CODE39", "code39"),
        ("]z0AZTEC", "]z0", "AZTEC", "aztec"),
        ("BJ-0000015", None, "BJ-0000015", None),
        ("]", None, "]", None),
        ("]C", None, "]C", None),
        ("]c0lowercase-code-char", None, "]c0lowercase-code-char", None),  # no symbology 'c' in the table
        ("]C!", None, "]C!", None),
    ],
)
def test_split_aim(text: str, aim_id: str | None, rest: str, symbology: str | None) -> None:
    assert split_aim(text) == (aim_id, rest)
    assert symbology_for(aim_id) == symbology


def test_aim_for_round_trips() -> None:
    for name in ("code128", "gs1-128", "datamatrix", "gs1-datamatrix", "qrcode", "ean13", "ean8"):
        aim_id = aim_for(name)
        assert aim_id is not None and is_aim_id(aim_id) and symbology_for(aim_id) == name
    assert aim_for("no-such") is None


def test_duplicate_window_slides_and_forgets() -> None:
    f = DuplicateFilter(1.0)
    assert f.admit("A", 0.0)
    assert not f.admit("A", 0.5)  # inside the window
    assert f.admit("B", 0.6)  # another code is never a duplicate
    assert not f.admit("A", 1.4)  # 0.9 s after the last sighting: still the same presentation
    assert f.admit("A", 2.5)  # 1.1 s after the last sighting: a new read
    assert f.dropped == 2
    f.admit("C", 10.0)
    assert list(f._seen) == ["C"]  # old entries are forgotten, memory stays bounded


def test_duplicate_window_off_and_checked() -> None:
    f = DuplicateFilter(0)
    assert all(f.admit("A", t) for t in (0.0, 0.0, 0.1))
    with pytest.raises(ValueError):
        DuplicateFilter(-1)
