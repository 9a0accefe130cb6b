"""Handheld batch files: parsing, problems by line number, and idempotency keys across repeated uploads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.scanners.batch import (
    BatchFileError,
    detect_format,
    parse_batch_file,
    parse_cs4070,
    parse_opticon,
    parse_plain,
)

BEIJING = timezone(timedelta(hours=8))

# The record layout printed in Opticon's OPN-2006 batch guide (code, serial, time, date), CRLF line ends.
OPTICON = (
    b"BJ-0000015,003278,14:41:03,23/11/2024\r\n"
    b"BJ-0000023,003278,14:41:04,23/11/2024\r\n"
    b"BJ-0000015,003278,14:41:09,23/11/2024\r\n"
)


def test_opticon_records() -> None:
    batch = parse_opticon(OPTICON, tz=BEIJING)
    assert batch.format == "opticon" and not batch.problems and not batch.truncated
    first = batch.records[0]
    assert first.read.code == "BJ-0000015" and first.read.device == "003278"
    assert first.read.at == datetime(2024, 11, 23, 6, 41, 3, tzinfo=UTC)  # 14:41 in Beijing
    assert [r.key.sequence for r in batch.records] == [1, 2, 3]
    assert len({r.key.batch for r in batch.records}) == 1
    assert first.read.raw == b"BJ-0000015,003278,14:41:03,23/11/2024"


def test_opticon_quantity_format() -> None:
    data = b"BJ-0000015,12,003278,14:41:03,23/11/2024\r\nBJ-0000023,1,003278,14:41:04,23/11/2024\r\n"
    batch = parse_opticon(data, tz=UTC)
    assert [(r.read.code, r.quantity) for r in batch.records] == [("BJ-0000015", 12), ("BJ-0000023", 1)]


def test_repeated_and_grown_uploads_keep_their_keys() -> None:
    once = parse_opticon(OPTICON, tz=UTC)
    again = parse_opticon(OPTICON, tz=UTC)
    grown = parse_opticon(OPTICON + b"BJ-0000031,003278,14:45:00,23/11/2024\r\n", tz=UTC)
    keys = [r.key for r in once.records]
    assert keys == [r.key for r in again.records]
    assert [r.key for r in grown.records][:3] == keys and grown.records[3].key.sequence == 4
    other_day = parse_opticon(OPTICON.replace(b"23/11/2024", b"24/11/2024"), tz=UTC)
    assert other_day.records[0].key.batch != keys[0].batch  # a new stock-take round is a new batch


def test_upload_cut_short_holds_back_the_broken_line() -> None:
    cut = OPTICON + b"BJ-0000031,003278,14:4"
    batch = parse_opticon(cut, tz=UTC)
    assert batch.truncated and len(batch.records) == 3
    assert batch.problems[0].line == 4 and "cut short" in batch.problems[0].reason
    # the complete upload later adds the fourth read with the next sequence and the same batch
    full = parse_opticon(OPTICON + b"BJ-0000031,003278,14:45:00,23/11/2024", tz=UTC)
    assert not full.truncated and full.records[3].key.sequence == 4
    assert full.records[3].key.batch == batch.records[0].key.batch


def test_a_date_cut_short_is_not_a_date() -> None:
    batch = parse_opticon(OPTICON + b"BJ-0000031,003278,14:45:00,23/11/202", tz=UTC)
    assert batch.truncated and len(batch.records) == 3


def test_bad_lines_are_reported_with_line_numbers() -> None:
    data = OPTICON + b"BJ-0000031,003278,25:00:00,23/11/2024\r\n,003278,14:41:03,23/11/2024\r\nonly-a-code\r\n"
    batch = parse_opticon(data, tz=UTC)
    assert len(batch.records) == 3
    assert [(p.line, p.reason.split(" ")[0]) for p in batch.problems] == [(4, "time"), (5, "empty"), (6, "expected")]


def test_two_scanners_in_one_file_have_their_own_sequences() -> None:
    data = OPTICON + b"BJ-0000099,004001,09:00:00,24/11/2024\r\n"
    batch = parse_opticon(data, tz=UTC)
    keys = [(r.key.device, r.key.sequence) for r in batch.records]
    assert keys == [("003278", 1), ("003278", 2), ("003278", 3), ("004001", 1)]


def test_codes_with_commas_survive() -> None:
    batch = parse_opticon(b"A,B,C,003278,14:41:03,23/11/2024\r\n", tz=UTC, quantity=False)
    assert batch.records[0].read.code == "A,B,C"


def test_cs4070_barcode_txt() -> None:
    data = b"BJ-0000015\r\nBJ-0000023\r\n]d1LOC-BJ-R3C2S4E\r\nBJ-00000"
    at = datetime(2024, 11, 23, tzinfo=UTC)
    batch = parse_cs4070(data, device="CS4070-S19", uploaded_at=at)
    assert [r.read.code for r in batch.records] == ["BJ-0000015", "BJ-0000023", "LOC-BJ-R3C2S4E"]
    assert batch.records[2].read.symbology == "datamatrix"
    assert batch.truncated and batch.problems[0].line == 4
    assert all(r.read.at == at and r.key.device == "CS4070-S19" for r in batch.records)
    assert parse_cs4070(data, device="CS4070-S19").records[0].key == batch.records[0].key
    with pytest.raises(BatchFileError, match="device serial"):
        parse_cs4070(data, device="")


def test_plain_lists_accept_a_missing_final_line_end() -> None:
    batch = parse_plain(b"BJ-0000015\n\n  BJ-0000023  \nBJ-0000031", device="list", batch_id="upload-7")
    assert [r.read.code for r in batch.records] == ["BJ-0000015", "BJ-0000023", "BJ-0000031"]
    assert batch.records[0].key.batch == "upload-7" and not batch.truncated
    assert [r.line for r in batch.records] == [1, 3, 4]


def test_chinese_windows_encoding() -> None:
    batch = parse_plain("BJ-0000015\r\n载体-1\r\n".encode("gb18030"), device="list")
    assert [r.read.code for r in batch.records] == ["BJ-0000015", "载体-1"]


def test_not_text_is_refused() -> None:
    with pytest.raises(BatchFileError, match="not a text file"):
        parse_plain(b"\x00\x01\x02", device="x")


def test_detect_and_parse_files(tmp_path: Path) -> None:
    (tmp_path / "SCANNED.TXT").write_bytes(OPTICON)
    (tmp_path / "Barcode.txt").write_bytes(b"BJ-0000015\r\n")
    (tmp_path / "export.csv").write_bytes(OPTICON)
    (tmp_path / "list.txt").write_bytes(b"BJ-0000015\n")
    assert parse_batch_file(tmp_path / "SCANNED.TXT", tz=UTC).format == "opticon"
    assert parse_batch_file(tmp_path / "Barcode.txt", device="CS1").format == "cs4070"
    assert detect_format("export.csv", OPTICON) == "opticon"
    assert parse_batch_file(tmp_path / "list.txt", device="pc").format == "plain"
    with pytest.raises(BatchFileError, match="cannot read"):
        parse_batch_file(tmp_path / "missing.txt")


@given(st.lists(st.from_regex(r"BJ-[0-9]{7}[A-Z0-9]", fullmatch=True), min_size=1, max_size=30), st.data())
def test_any_prefix_of_an_upload_gives_the_same_keys(codes: list[str], data: st.DataObject) -> None:
    text = "".join(f"{c},003278,10:{i // 60:02d}:{i % 60:02d},01/12/2024\r\n" for i, c in enumerate(codes))
    full = parse_opticon(text.encode(), tz=UTC)
    cut = data.draw(st.integers(0, len(text)))
    partial = parse_opticon(text[:cut].encode(), tz=UTC)
    # An upload cut anywhere is a prefix: its keys are exactly the first keys of the whole upload.
    assert [r.key for r in partial.records] == [r.key for r in full.records][: len(partial.records)]
    assert [r.read.code for r in partial.records] == codes[: len(partial.records)]
