"""An upload's batch identity is its reads, not its bytes: the same list saved again with CRLF line ends, an extra
blank line, trailing spaces or a byte-order mark is the same batch, so the stock-take books its reads once; a list
with any read changed, added, dropped or moved is another batch. The stock-take upload service takes its batch ids
from here (end to end on both databases: tests/stocktake/test_upload_identity.py)."""

from __future__ import annotations

import hashlib
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.scanners.batch import content_batch_id, content_lines, parse_plain

codes = st.lists(
    st.text(string.ascii_uppercase + string.digits + "-*", min_size=1, max_size=16), min_size=1, max_size=30
)


def _resaved(lines: list[str], crlf: bool, blanks: list[int], spaces: list[int], bom: bool, final: bool) -> str:
    out: list[str] = []
    for i, line in enumerate(lines):
        out.extend([""] * (blanks[i % len(blanks)] if blanks else 0))
        out.append(line + " " * (spaces[i % len(spaces)] if spaces else 0))
    end = "\r\n" if crlf else "\n"
    return ("\ufeff" if bom else "") + end.join(out) + (end if final else "")


@settings(max_examples=120, deadline=None)
@given(
    lines=codes,
    crlf=st.booleans(),
    blanks=st.lists(st.integers(0, 2), max_size=4),
    spaces=st.lists(st.integers(0, 3), max_size=4),
    bom=st.booleans(),
)
def test_a_resaved_list_is_the_same_batch_and_its_reads_keep_their_keys(
    lines: list[str], crlf: bool, blanks: list[int], spaces: list[int], bom: bool
) -> None:
    original = "".join(line + "\n" for line in lines)
    resaved = _resaved(lines, crlf, blanks, spaces, bom, final=True)
    assert content_lines(resaved) == content_lines(original) == lines
    assert content_batch_id(resaved) == content_batch_id(original) == content_batch_id(resaved.encode())
    first = parse_plain(original.encode(), device="HH1", batch_id=content_batch_id(original))
    again = parse_plain(resaved.encode("utf-8"), device="HH1", batch_id=content_batch_id(resaved))
    assert [(r.key, r.read.code) for r in first.records] == [(r.key, r.read.code) for r in again.records]


@settings(max_examples=80, deadline=None)
@given(lines=codes, data=st.data())
def test_a_list_with_other_reads_is_another_batch(lines: list[str], data: st.DataObject) -> None:
    changed = list(lines)
    what = data.draw(st.sampled_from(["add", "drop", "edit", "swap"]))
    if what == "add" or len(lines) == 1:
        changed.append(data.draw(st.text(string.digits, min_size=1, max_size=6)))
    elif what == "drop":
        changed.pop(data.draw(st.integers(0, len(lines) - 1)))
    elif what == "edit":
        i = data.draw(st.integers(0, len(lines) - 1))
        changed[i] = changed[i] + "0"
    else:
        changed = changed[1:] + changed[:1]
    if changed == lines:
        return
    assert content_batch_id("\n".join(changed)) != content_batch_id("\n".join(lines))


def test_a_clean_file_keeps_the_id_its_raw_text_had() -> None:
    text = "BJ-0001238\nBJ-0001245\n"
    # what the stock-take stored for such a file before: batches already in a register keep their identity
    assert content_batch_id(text) == "sha-" + hashlib.sha256(text.encode()).hexdigest()[:16]
    resaved = text.replace("\n", "\r\n") + "\r\n"
    assert "sha-" + hashlib.sha256(resaved.encode()).hexdigest()[:16] != content_batch_id(resaved)  # the defect
