"""Label languages never gain a command from data (issue 16): whatever text a carrier holds (document number, title,
names), a ZPL or TSPL job renders it as data only. Checked by the project's printer emulators: the job sent to
`LabelPrinterEmulator` prints exactly one label per carrier and holds exactly the commands a harmless text gives,
and `emulator_raster` still prints each label's barcodes with the carrier's code.

Before the fix a document number ``A"⏎PRINT 99⏎TEXT 1,1,"0",0,1,1,"`` made the TSPL emulator count 100 labels for one.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest
import zxingcpp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from labels.codes import make_carrier_code
from labels.emulator import LabelPrinterEmulator
from labels.emulator_raster import rasterise_tspl, rasterise_zpl
from labels.layout import LabelContent, load_layout
from labels.marking import make_marking
from labels.render.tspl import render_tspl, render_tspl_batch, tspl_quote
from labels.render.zpl import ZplOptions, render_zpl, render_zpl_batch, zpl_escape
from labels.text import printable

LAYOUT = load_layout("envelope")  # a carrier layout showing the document number, sender and recipient
CODES = [make_carrier_code("BJ", n) for n in (7, 8)]
ATTACKS = [
    'A"\r\nPRINT 99\r\nTEXT 1,1,"0",0,1,1,"',
    "^XZ^XA^FO0,0^FDinjected^FS^PQ99^XZ",
    "~JR~HS_5E~PS",
    "\\&\\&line\\(*)",
    "\x1b!?\x00\x85\u2028\u2029\x9b",
    "京密〔2026〕\r12号\n^PQ5",
]
ZPL_COMMAND = re.compile(r"[\^~][A-Z@][A-Z0-9@]?")


@pytest.fixture(scope="module")
def printer() -> Iterator[LabelPrinterEmulator]:
    with LabelPrinterEmulator() as em:
        yield em


def contents(doc_number: str, title: str) -> list[LabelContent]:
    marking = make_marking("机密", 10, (3, 5))
    fields = {**marking.fields(bilingual=True), "title": doc_number, "sender": title, "recipient": title}
    return [LabelContent(code, fields) for code in CODES]


def harmless(items: list[LabelContent]) -> list[LabelContent]:
    """The same labels with every text replaced by one letter, ASCII where the text shows as ASCII (the font differs)
    and an empty field left empty (it drops its element)."""
    return [LabelContent(c.code, {k: ("" if not v else "X" if printable(v).isascii() else "文")
                                  for k, v in c.fields.items()}) for c in items]


def send(printer: LabelPrinterEmulator, job: bytes) -> tuple[int, int]:
    """Labels printed and jobs recorded for `job`, as the printer counts them."""
    printed, jobs = printer.printed, len(printer.jobs)
    with socket.create_connection((printer.host, printer.port)) as s:
        s.sendall(job)
    printer.wait_for_jobs(jobs + len(CODES))
    return printer.printed - printed, len(printer.jobs) - jobs


def decoded(img: object) -> set[str]:
    return {r.text for r in zxingcpp.read_barcodes(img)}  # type: ignore[arg-type]


def tspl_words(job: bytes) -> list[str]:
    lines = job.decode("gb18030").split("\r\n")
    assert lines[-1] == "" and all("\r" not in ln and "\n" not in ln for ln in lines)
    return [ln.split(" ", 1)[0] for ln in lines[:-1]]


hostile = st.one_of(st.sampled_from(ATTACKS), st.text(max_size=40),
                    st.lists(st.sampled_from(['"', "\r", "\n", "^", "~", "_", "\\", "PRINT 9", "^XZ", "\x1b", "文"]),
                             max_size=12).map("".join))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc_number=hostile, title=hostile)
@example(doc_number=ATTACKS[0], title=ATTACKS[1])
@example(doc_number="{x}{", title="{0}")  # the job was once built with str.format over the data
def test_tspl_job_prints_one_label_per_carrier_whatever_the_text(printer: LabelPrinterEmulator, doc_number: str,
                                                                  title: str) -> None:
    items = contents(doc_number, title)
    job = render_tspl_batch(LAYOUT, items)
    assert send(printer, job) == (len(CODES), len(CODES))
    jobs = printer.jobs[-len(CODES):]
    for one, plain, code in zip(jobs, harmless(items), CODES, strict=True):
        assert tspl_words(one) == tspl_words(render_tspl(LAYOUT, plain))
        assert code in decoded(rasterise_tspl(one))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc_number=hostile, title=hostile, cjk_font=st.sampled_from([None, "E:SIMSUN.TTF"]))
@example(doc_number=ATTACKS[1], title=ATTACKS[2], cjk_font="E:SIMSUN.TTF")
def test_zpl_job_prints_one_label_per_carrier_whatever_the_text(printer: LabelPrinterEmulator, doc_number: str,
                                                                 title: str, cjk_font: str | None) -> None:
    items = contents(doc_number, title)
    options = ZplOptions(cjk_font=cjk_font)
    job = render_zpl_batch(LAYOUT, items, options).encode("utf-8")
    assert send(printer, job) == (len(CODES), len(CODES))
    jobs = printer.jobs[-len(CODES):]
    for one, plain, code in zip(jobs, harmless(items), CODES, strict=True):
        text = one.decode("utf-8")
        assert ZPL_COMMAND.findall(text) == ZPL_COMMAND.findall(render_zpl(LAYOUT, plain, options))
        assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", text)  # only the job's own line feeds
        assert code in decoded(rasterise_zpl(one))


def test_escapes_show_the_data_literally() -> None:
    assert tspl_quote('A"\r\nPRINT 99') == '"A\\["]\\x0d\\x0aPRINT 99"'
    assert zpl_escape("^XZ~JR_\r\x1b") == "_5EXZ_7EJR_5F_0D_1B"
    job = render_zpl(LAYOUT, contents("a\\&b\x07", "x")[0])
    assert "a\\\\&b\\\\x07" in job  # ^FB's line break is doubled away; BEL shown as text
