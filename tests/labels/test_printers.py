"""Printer jobs and the printer conversation, against the emulator over real TCP, a pty and files: golden ZPL/TSPL
jobs, RFID encode with TID read-back, VOID retries, status queries, transports and their errors."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import numpy as np
import pytest

from labels.codes import carrier_code_to_epc, epc_to_carrier_code, make_carrier_code
from labels.emulator import LabelPrinterEmulator
from labels.layout import LayoutError, carrier_content, layout_names, load_layout
from labels.marking import make_marking
from labels.printers import (
    DeviceTransport,
    FileTransport,
    LabelPrinter,
    PrinterError,
    SerialTransport,
    open_transport,
    parse_hs,
    parse_tspl_status,
    query_status,
    send_rfid_job,
)
from labels.render.tspl import TsplOptions, render_tspl
from labels.render.zpl import RfidSpec, ZplOptions, render_zpl
from labels.samples import sample_content
from labels.text import render_text_bitmap

GOLDEN = Path(__file__).with_name("golden")
PRINTER_FONT = ZplOptions(dpi=203, cjk_font="E:SIMSUN.TTF")  # resident font: no host-rendered bitmaps in goldens


def _golden(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_bytes(data)
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1 once and review it"
    assert data == path.read_bytes(), f"{name} differs from its golden file"


@pytest.mark.parametrize("name", layout_names())
def test_zpl_and_tspl_jobs_match_golden_files(name: str, printer: LabelPrinterEmulator) -> None:
    layout = load_layout(name)
    content = sample_content(layout)
    LabelPrinter(printer.uri, zpl=PRINTER_FONT, timeout=5).print_labels(layout, [content])
    LabelPrinter(printer.uri, language="tspl", timeout=5).print_labels(layout, [content])
    jobs = printer.wait_for_jobs(2)
    # Each connection is served by its own emulator thread, so the two jobs may be recorded in either order.
    [zpl] = [j for j in jobs if j.startswith(b"^XA")]
    [tspl] = [j for j in jobs if not j.startswith(b"^XA")]
    _golden(f"{name}.zpl", zpl)
    _golden(f"{name}.tspl", tspl)
    assert zpl.startswith(b"^XA") and zpl.endswith(b"^XZ") and tspl.rstrip().endswith(b"PRINT 1,1")
    # The printer's own barcode commands carry the code; nothing is drawn as a picture of a barcode.
    kinds = {b.kind for b in layout.barcodes()}
    assert (b"^BC" in zpl) == ("code128" in kinds) and (b"^BX" in zpl) == ("datamatrix" in kinds)
    assert (b"^BQ" in zpl) == ("qr" in kinds) and b"^GF" not in zpl
    assert zpl.count(content.code.encode()) == len(layout.barcodes()) + 1  # each symbol plus the readable line
    assert (b'"128"' in tspl) == ("code128" in kinds) and (b"DMATRIX" in tspl) == ("datamatrix" in kinds)
    if "marking" in content.fields:
        assert "机密★10年".encode() in zpl and "机密★10年".encode("gb18030") in tspl
    assert printer.printed == 2


def test_chinese_as_graphics_is_the_bundled_font_bitmap() -> None:
    layout = load_layout("document-cover")
    zpl = render_zpl(layout, sample_content(layout), ZplOptions(dpi=203))
    assert "机密" not in zpl  # printed as a graphic, no printer font needed
    fields = re.findall(r"\^GFA,(\d+),(\d+),(\d+),([0-9A-F]+)", zpl)
    assert len(fields) >= 3  # marking, copy, title
    total, _, per_row, data = fields[0]
    assert int(total) == len(data) // 2
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(data), dtype=np.uint8)).reshape(-1, int(per_row) * 8)
    size = round(5.2 * 203 / 25.4)  # the marking's size at 203 dpi; its 47 mm box needs no shrinking
    expected = render_text_bitmap("机密★10年", size, True)
    assert bits.shape[0] == expected.shape[0] and expected.any()
    assert (bits[:, : expected.shape[1]].astype(bool) == expected).all()
    assert not bits[:, expected.shape[1] :].any()  # row padding is blank


def test_rfid_job_writes_the_epc_and_asks_for_the_tid(printer: LabelPrinterEmulator) -> None:
    layout = load_layout("document-cover")
    code = make_carrier_code("BJ", 4711)
    content = carrier_content(code, make_marking("绝密", "长期", (1, 2)))
    lp = LabelPrinter(printer.uri, zpl=PRINTER_FONT, rfid=RfidSpec(company_prefix="6901234"), timeout=5)
    [result] = lp.print_labels(layout, [content])
    epc = carrier_code_to_epc(code, "6901234")
    [job] = printer.jobs
    sent = render_zpl(layout, content, PRINTER_FONT, RfidSpec(company_prefix="6901234")).encode()
    _golden("document-cover-rfid.zpl", sent)
    assert sent.startswith(b"~RVE\n") and sent.rstrip().endswith(job)  # the emulator records the ^XA..^XZ format
    assert f"^RFW,H,,,A^FD{epc}^FS".encode() in job
    assert b"^RS8,,,3,N" in job and b"^RFR,H,0,12,2^FN1^FS" in job and b"^HV1,24,TID:,_0D_0A,L" in job
    [tag] = printer.tags
    assert tag.epc == epc and epc_to_carrier_code(tag.epc, "6901234") == code
    assert result.ok and result.confirmed and result.tid == tag.tid and result.voided == 0 and result.attempts == 1


def test_void_inside_the_printer_is_counted(printer: LabelPrinterEmulator) -> None:
    layout = load_layout("asset")
    content = sample_content(layout)
    printer.fail_next_encodes = 2
    [r] = LabelPrinter(printer.uri, rfid=RfidSpec(labels_to_try=3), timeout=5).print_labels(layout, [content])
    assert r.ok and r.voided == 2 and r.attempts == 1 and r.tid == printer.tags[0].tid
    assert printer.voided == 2 and len(printer.jobs) == 1


def test_void_beyond_the_printer_retries_is_resent_and_reported(printer: LabelPrinterEmulator) -> None:
    layout = load_layout("asset")
    contents = [sample_content(layout, make_carrier_code("BJ", n)) for n in (1, 2)]
    printer.fail_next_encodes = 3
    lp = LabelPrinter(printer.uri, rfid=RfidSpec(labels_to_try=2), rfid_retries=1, timeout=5)
    first, second = lp.print_labels(layout, contents)
    assert first.ok and first.voided == 3 and first.attempts == 2  # 2 VOIDs, resend, 1 VOID, then encoded
    assert second.ok and second.voided == 0
    assert len(printer.jobs) == 3 and [t.epc for t in printer.tags] == [carrier_code_to_epc(c.code) for c in contents]


def test_rfid_failure_is_reported_not_hidden(printer: LabelPrinterEmulator) -> None:
    layout = load_layout("asset")
    printer.rfid_present = False
    [r] = LabelPrinter(printer.uri, rfid=RfidSpec(labels_to_try=2), rfid_retries=1, timeout=5).print_labels(
        layout, [sample_content(layout)]
    )
    assert not r.ok and r.tid is None and r.voided == 4 and r.attempts == 2
    assert "VOID" in r.message_en and "作废" in r.message_zh
    assert printer.tags == []


def test_rfid_needs_a_printer_that_answers(tmp_path: Path) -> None:
    layout = load_layout("asset")
    with pytest.raises(PrinterError) as exc:
        LabelPrinter(f"file://{tmp_path}/x.zpl", rfid=RfidSpec()).print_labels(layout, [sample_content(layout)])
    assert "write-only" in exc.value.message_en
    with pytest.raises(PrinterError):
        LabelPrinter("tcp://127.0.0.1:9", language="tspl", rfid=RfidSpec())
    with pytest.raises(LayoutError):
        render_tspl(layout, carrier_content(sample_content(layout).code, make_marking("秘密", 3), epc="35" + "0" * 22))


def test_a_silent_printer_is_an_error_not_a_hang() -> None:
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    try:
        t = open_transport(f"tcp://127.0.0.1:{port}", timeout=2)
        conn, _ = srv.accept()
        with pytest.raises(PrinterError) as exc:
            send_rfid_job(t, b"~RVE^XA^XZ", timeout=0.3)
        assert "no RFID encode result" in exc.value.message_en
        assert query_status(t, "zpl", timeout=0.3).problems == ("no_answer",)
        conn.close()
        t.close()
    finally:
        srv.close()


def test_status_queries(printer: LabelPrinterEmulator) -> None:
    lp = LabelPrinter(printer.uri, timeout=5)
    assert lp.status().ready
    printer.paper_out = True
    printer.head_open = True
    st = lp.status()
    assert not st.ready and st.problems == ("paper_out", "head_open") and st.describe("zh") == "缺纸, 打印头打开"
    tspl = LabelPrinter(printer.uri, language="tspl", timeout=5).status()
    assert tspl.problems == ("head_open", "paper_out")
    assert printer.status_queries == 3


def test_printer_not_ready_prints_nothing(printer: LabelPrinterEmulator) -> None:
    layout = load_layout("asset")
    printer.ribbon_out = True
    with pytest.raises(PrinterError) as exc:
        LabelPrinter(printer.uri, timeout=5).print_labels(layout, [sample_content(layout)])
    assert "ribbon out" in exc.value.message_en and "碳带" in exc.value.message_zh
    assert printer.jobs == []


def test_a_bad_label_refuses_the_whole_batch(printer: LabelPrinterEmulator) -> None:
    layout = load_layout("asset")
    good = sample_content(layout)
    bad = carrier_content(good.code[:-1] + ("A" if good.code[-1] != "A" else "B"), make_marking("秘密", 5))
    with pytest.raises(ValueError):
        LabelPrinter(printer.uri, timeout=5).print_labels(layout, [good, bad])
    assert printer.jobs == []


def test_status_parsers() -> None:
    hs = b"\x02030,1,1,1245,000,1,0,0,000,0,0,1\x03\r\n\x02001,0,1,1,0,2,4,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n"
    assert parse_hs(hs).problems == (
        "paper_out",
        "paused",
        "buffer_full",
        "over_temperature",
        "head_open",
        "ribbon_out",
    )
    assert parse_hs(b"garbage").problems == ("no_answer",)
    assert parse_tspl_status(b"\x00").ready
    busy = parse_tspl_status(b"\x20")
    assert busy.ready and busy.busy
    assert parse_tspl_status(b"\x8a").problems == ("paper_jam", "ribbon_out", "other_error")
    assert parse_tspl_status(b"").problems == ("no_answer",)


def test_serial_printer_on_a_pty(printer: LabelPrinterEmulator) -> None:
    port = printer.attach_pty()
    layout = load_layout("asset")
    lp = LabelPrinter(f"serial://{port}?baud=115200", rfid=RfidSpec(), timeout=5)
    assert lp.status().ready
    [r] = lp.print_labels(layout, [sample_content(layout)])
    assert r.ok and r.tid == printer.tags[0].tid
    with SerialTransport(port, baud=9600) as t:
        assert query_status(t, "tspl").ready


def test_device_file_transport(printer: LabelPrinterEmulator) -> None:
    port = printer.attach_pty()  # a character device that is not a regular file, as /dev/usb/lp0 is
    layout = load_layout("location")
    results = LabelPrinter(f"dev://{port}", language="tspl").print_labels(layout, [sample_content(layout)])
    assert [r.confirmed for r in results] == [False]
    [job] = printer.wait_for_jobs(1)
    assert job == render_tspl(layout, sample_content(layout), TsplOptions())
    with pytest.raises(PrinterError) as exc:
        DeviceTransport("/nonexistent/lp0")
    assert "/nonexistent/lp0" in exc.value.message_en


def test_file_and_directory_sinks(tmp_path: Path) -> None:
    layout = load_layout("disc-hub")
    contents = [sample_content(layout, make_carrier_code("BJ", n)) for n in range(3)]
    out = tmp_path / "spool.zpl"
    LabelPrinter(f"file://{out}").print_labels(layout, contents)
    LabelPrinter(f"file://{out}").print_labels(layout, contents[:1])
    assert out.read_bytes().count(b"^XA") == 4
    spool = tmp_path / "spool"
    spool.mkdir()
    with FileTransport(spool) as t:
        t.write(b"^XA^XZ")
        t.write(b"^XA^XZ")
        assert len(t.written) == 2 and len(set(t.written)) == 2
    assert sorted(p.read_bytes() for p in spool.iterdir()) == [b"^XA^XZ", b"^XA^XZ"]


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("lpd://printer/queue", "unknown printer URI"),
        ("tcp://", "names no host"),
        ("tcp://host:notaport", "bad port"),
        ("file://", "names no path"),
        ("file:///no/such/dir/x.zpl", "no such directory"),
        ("serial:///dev/ttyUSB0?baud=fast", "baud"),
        ("serial:///nonexistent/ttyUSB9", "cannot open serial port"),
    ],
)
def test_bad_printer_uris(uri: str, words: str) -> None:
    with pytest.raises(PrinterError) as exc:
        open_transport(uri)
    assert words in exc.value.message_en and exc.value.message_zh


def test_unreachable_tcp_printer_is_a_clear_error() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(PrinterError) as exc:
        open_transport(f"tcp://127.0.0.1:{port}", timeout=2)
    assert "cannot connect" in exc.value.message_en and "无法连接" in exc.value.message_zh
