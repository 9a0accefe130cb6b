"""A CSV upload the csv module itself cannot read is refused like any bad line: a bilingual domain error naming the
line, nothing stored (found by tests/integration/test_hostile_input_fuzz.py: a bare carriage return inside an
unquoted field escaped as `_csv.Error`)."""

from __future__ import annotations

import pytest

from tracker import stocktake
from tracker.domain import DomainError


def test_an_unreadable_csv_line_is_a_domain_error() -> None:
    data = "code,time\nBJ-000001X\rtail,2026-01-01T00:00:00Z\n"
    with pytest.raises(DomainError) as e:
        stocktake.parse_upload(data, device="HH1", name="reads.csv")
    assert "not readable as CSV" in e.value.en and "CSV" in e.value.zh
