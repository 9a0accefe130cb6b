"""`tracker label`: preview, print and lay out labels of carriers, places and badges from the register.

This module owns the command-line way to the `labels` package: it looks codes up in the register (read-only), builds
each label's content (marking with period, copy number n/N for 绝密/机密, document number — never a classified
title), sends jobs to a label printer, and, when a job encodes an RFID tag, stores the EPC written and the TID read
back on the carrier through `registry.set_epc` (one ledger event, signed by the operator). Printing without RFID
writes nothing to the register. It never prints a traceback: bad codes, unknown layouts and printer faults are
reported in the operator's language with a non-zero exit (2 bad input, 3 refused, 4 not found, 5 printer failed).

Defaults come from the environment: TRACKER_LABEL_PRINTER (a printer URI), TRACKER_LABEL_LANGUAGE (zpl or tspl),
TRACKER_LABEL_DPI, TRACKER_GS1_PREFIX (the site's GS1 company prefix: RFID tags get GIAI-96, else GID-96).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from labels.codes import (
    CodeError,
    carrier_code_to_epc,
    classify_code,
    normalize,
    parse_badge_code,
    parse_carrier_code,
    parse_location_code,
)
from labels.layout import (
    LabelContent,
    Layout,
    LayoutError,
    badge_content,
    carrier_content,
    layout_names,
    load_layout,
    load_sheet,
    place,
    sheet_names,
)
from labels.marking import MarkingError, make_marking
from labels.samples import sample_content
from tracker.cli import common as core
from tracker.cli.common import EXIT_NOT_FOUND, EXIT_PRINTER, EXIT_REFUSED, EXIT_USAGE, ensure_lang
from tracker.cli.common import fail as _fail
from tracker.cli.common import say as _say
from tracker.lazy import lazy

if TYPE_CHECKING:  # the renderers and printers (NumPy, Pillow, ReportLab) load when a command draws or prints
    from labels import printers
    from labels.printers import PrintResult
    from labels.render import pdf as pdf_render
    from labels.render import raster as png_render
    from labels.render import svg as svg_render
    from labels.render import tspl as tspl_render
    from labels.render import zpl as zpl_render
    from tracker import epc_scope
else:
    printers, epc_scope = lazy("labels.printers"), lazy("tracker.epc_scope")
    pdf_render, png_render = lazy("labels.render.pdf"), lazy("labels.render.raster")
    svg_render, tspl_render, zpl_render = (lazy("labels.render.svg"), lazy("labels.render.tspl"),
                                           lazy("labels.render.zpl"))

label_app = typer.Typer(
    no_args_is_help=True,
    help="Labels (标签): preview, print to ZPL/TSPL printers (with RFID), A4 sheets, calibration.",
)

# The layout a carrier gets when none is named: by what the carrier physically is.
LAYOUT_FOR_KIND = {
    "paper": "document-cover",
    "notebook": "document-cover",
    "optical_disc": "disc-hub",
    "usb_drive": "usb-flag",
}
DEFAULT_CARRIER_LAYOUT = "asset"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        _fail(EXIT_USAGE, f"{name} must be a number, not {raw!r}.", f"{name} 必须是数字，而不是 {raw!r}。")


@dataclass(frozen=True)
class Resolved:
    """One code from the command line, looked up: the label content and the layout it gets by default."""

    code: str
    content: LabelContent
    default_layout: str
    kind: str


# --- looking codes up ---------------------------------------------------------------------------------------------


def carrier_label_content(view: Any, *, bilingual: bool = False) -> LabelContent:
    """Label content of a register carrier view (`tracker.queries.CarrierView`)."""
    if view.classification == "unclassified":
        raise MarkingError(
            f"{view.code} is unclassified: it has no marking to print",
            f"{view.code} 为非密载体，没有可打印的密级标志",
        )
    copy = (view.copy_number, view.copy_total) if view.copy_number and view.copy_total else None
    period = None if view.classification == "internal" else view.period
    marking = make_marking(view.classification, period, copy, printed_copy=view.kind == "paper")
    return carrier_content(view.code, marking, title=view.doc_number or None, bilingual=bilingual, epc=view.epc)


def _refuse_off_the_books(view: Any) -> None:
    """R-145 (`rules.check_new_label`), refused before any label of the job is drawn or sent."""
    from tracker.domain import CarrierStatus
    from tracker.rules import check_new_label
    from tracker.services.common import Refused

    def check() -> None:
        problems = check_new_label(view.code, CarrierStatus(view.status))
        if problems:
            raise Refused(problems, "label", view.code)

    core.run(check)  # a refusal printed as every command prints one (exit 3)


def _resolve(codes: Sequence[str], *, bilingual: bool) -> list[Resolved]:
    from tracker import queries
    from tracker.services.common import get_location, get_person

    ensure_lang()
    out: list[Resolved] = []
    with core.store().uow(readonly=True) as uow:
        for raw in codes:
            text = normalize(raw)
            kind = classify_code(text)
            view: Any = None
            parser = {"carrier": parse_carrier_code, "location": parse_location_code, "badge": parse_badge_code}
            try:
                if kind in parser:
                    parser[kind](text)  # a wrong check character is a misread, never a look-up of another code
                if kind == "epc":
                    view = queries.carrier_by_epc(uow, text)
                    if view is None:
                        decoded = epc_scope.carrier_code_for_epc(uow, text)
                        view = queries.carrier(uow, decoded) if decoded else None
                    if view is None:
                        _fail(EXIT_NOT_FOUND, f"Unknown tag {text}: no carrier of this register has this EPC.",
                              f"未知标签 {text}：本登记簿没有使用该 EPC 的载体。")
                    kind = "carrier"
                elif kind == "carrier":
                    view = queries.carrier(uow, text)
                    if view is None:
                        _fail(EXIT_NOT_FOUND, f"No carrier {text!r} in the register.", f"登记簿中没有载体 {text!r}。")
                if kind == "carrier":
                    _refuse_off_the_books(view)
                    content = carrier_label_content(view, bilingual=bilingual)
                    layout = LAYOUT_FOR_KIND.get(view.kind, DEFAULT_CARRIER_LAYOUT)
                    out.append(Resolved(view.code, content, layout, "carrier"))
                elif kind == "location":
                    loc = core.run(partial(get_location, uow, text))
                    out.append(Resolved(loc.code, LabelContent(loc.code, {"name": loc.name}), "location", kind))
                elif kind == "badge":
                    p = core.run(partial(get_person, uow, text))
                    content = badge_content(p.badge, p.name, department=p.unit or None)
                    out.append(Resolved(p.badge, content, "badge", kind))
                else:
                    _fail(
                        EXIT_USAGE,
                        f"{raw!r} is not a carrier, location, badge or EPC code.",
                        f"{raw!r} 不是载体、位置、证件编码或 EPC。",
                    )
            except CodeError as e:
                _fail(EXIT_USAGE, e.message_en, e.message_zh)
            except MarkingError as e:
                _fail(EXIT_USAGE, f"Cannot print {text}: {e.message_en}", f"无法打印 {text}：{e.message_zh}")
    return out


def _register_prefix(asked: str | None) -> str | None:
    """The GS1 prefix tags are encoded under: the register's own (issue 17), never a client's variable. A prefix asked
    for on the command line must be one of the register's."""
    with core.store().uow(readonly=True) as uow:
        own = epc_scope.company_prefixes(uow)
    if asked is not None and asked.strip() not in own:
        _fail(EXIT_USAGE, f"{asked} is not one of the register's GS1 company prefixes ({', '.join(own) or 'none'}).",
              f"{asked} 不是登记库的 GS1 厂商识别代码（{', '.join(own) or '无'}）。")
    return asked.strip() if asked else (own[0] if own else None)


def _codes(codes: list[str] | None, from_file: Path | None) -> list[str]:
    found = list(codes or [])
    if from_file is not None:
        try:
            lines = from_file.read_text(encoding="utf-8-sig").splitlines()
        except OSError as e:
            _fail(EXIT_USAGE, f"Cannot read {from_file}: {e.strerror}", f"无法读取 {from_file}：{e.strerror}")
        found += [ln.split(",")[0].strip() for ln in lines if ln.strip() and not ln.startswith("#")]
        found = [c for c in found if c.lower() != "code"]  # a CSV header
    if not found:
        _fail(EXIT_USAGE, "No codes given.", "未给出任何编码。")
    return found


def _layout(name: str) -> Layout:
    try:
        return load_layout(name)
    except LayoutError as e:
        _fail(EXIT_USAGE, e.message_en, e.message_zh)


def _groups(items: Sequence[Resolved], layout: str | None) -> list[tuple[Layout, list[Resolved]]]:
    """Labels grouped by layout, in first-seen order, each checked against its layout before anything is made."""
    order: dict[str, list[Resolved]] = {}
    for it in items:
        order.setdefault(layout or it.default_layout, []).append(it)
    groups = [(_layout(name), its) for name, its in order.items()]
    for lay, its in groups:
        for it in its:
            try:
                place(lay, it.content)
            except (LayoutError, CodeError) as e:
                en = getattr(e, "message_en", str(e))
                zh = getattr(e, "message_zh", str(e))
                _fail(EXIT_USAGE, f"{it.code}: {en}", f"{it.code}：{zh}")
    return groups


# --- commands -----------------------------------------------------------------------------------------------------


@label_app.command("layouts")
def layouts_cmd(as_json: core.JsonFlag = False) -> None:
    """List the label layouts and the A4 sheets."""
    ensure_lang()
    if as_json:
        core.print_json({
            "layouts": [{"name": name, "width_mm": lay.width, "height_mm": lay.height, "codes": list(lay.code_kinds),
                         "symbols": [b.kind for b in lay.barcodes()], "title": lay.title}
                        for name in layout_names() for lay in (load_layout(name),)],
            "sheets": [{"name": name, "columns": sh.columns, "rows": sh.rows, "label_width_mm": sh.label_width,
                        "label_height_mm": sh.label_height, "title": sh.title}
                       for name in sheet_names() for sh in (load_sheet(name),)]})
        return
    t = Table(title=_say("Layouts", "标签版式"))
    for col in ("name", "size (mm)", "codes", "symbols", "title"):
        t.add_column(col)
    for name in layout_names():
        lay = load_layout(name)
        syms = ", ".join(b.kind for b in lay.barcodes())
        t.add_row(name, f"{lay.width:g} x {lay.height:g}", "/".join(lay.code_kinds), syms, lay.title)
    core.out.print(t)
    s = Table(title=_say("A4 sheets", "A4 标签纸"))
    for col in ("name", "grid", "label (mm)", "title"):
        s.add_column(col)
    for name in sheet_names():
        sh = load_sheet(name)
        s.add_row(name, f"{sh.columns} x {sh.rows}", f"{sh.label_width:g} x {sh.label_height:g}", sh.title)
    core.out.print(s)


@label_app.command("preview")
def preview_cmd(
    code: Annotated[str | None, typer.Argument(help="Carrier, location or badge code, or an EPC.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .png, .svg or .pdf.")] = Path("label.png"),
    layout: Annotated[str | None, typer.Option(help="Layout name (default: by carrier kind).")] = None,
    dpi: Annotated[int, typer.Option(help="PNG resolution.")] = 300,
    bilingual: Annotated[bool, typer.Option(help="Add the English marking.")] = False,
    sample: Annotated[bool, typer.Option(help="Made-up content; needs no register.")] = False,
    embed_font: Annotated[bool, typer.Option("--embed-font/--builtin-font",
                                             help="PDF: embed the bundled Chinese font (default), or use reportlab's "
                                                  "built-in STSong-Light, which the viewer must have.")] = True,
) -> None:
    """Render one label to a file, to look at before printing."""
    ensure_lang()
    suffix = out.suffix.lower()
    if suffix not in (".png", ".svg", ".pdf"):
        _fail(EXIT_USAGE, "--out must end in .png, .svg or .pdf.", "--out 的扩展名必须是 .png、.svg 或 .pdf。")
    if sample:
        lay = _layout(layout or "document-cover")
        content = sample_content(lay)
    else:
        if code is None:
            _fail(EXIT_USAGE, "Give a code, or --sample.", "请给出编码，或使用 --sample。")
        [item] = _resolve([code], bilingual=bilingual)
        [(lay, _)] = _groups([item], layout)
        content = item.content
    try:
        if suffix == ".png":
            data = png_render.render_png(lay, content, dpi=dpi)
        elif suffix == ".svg":
            data = svg_render.render_svg(lay, content).encode("utf-8")
        else:
            data = pdf_render.render_pdf_label(lay, content, cjk_font="embedded" if embed_font else pdf_render.CJK_FONT)
        out.write_bytes(data)
    except (LayoutError, CodeError) as e:
        _fail(EXIT_USAGE, str(getattr(e, "message_en", e)), str(getattr(e, "message_zh", e)))
    except OSError as e:
        _fail(EXIT_USAGE, f"Cannot write {out}: {e.strerror}", f"无法写入 {out}：{e.strerror}")
    core.out.print(Text(_say(f"Wrote {out} ({lay.name}).", f"已写入 {out}（{lay.name}）。")))


def _printer_uri(printer: str | None) -> str:
    uri = printer or os.environ.get("TRACKER_LABEL_PRINTER")
    if not uri:
        _fail(
            EXIT_USAGE,
            "No printer: give --printer tcp://host:9100 (or dev:///dev/usb/lp0, serial:///dev/ttyUSB0, "
            "file:///path) or set TRACKER_LABEL_PRINTER.",
            "未指定打印机：请使用 --printer 或设置 TRACKER_LABEL_PRINTER。",
        )
    return uri


def _language(language: str | None) -> str:
    lang = (language or os.environ.get("TRACKER_LABEL_LANGUAGE") or "zpl").lower()
    if lang not in ("zpl", "tspl"):
        _fail(EXIT_USAGE, f"Printer language is zpl or tspl, not {lang!r}.", "打印机语言只能是 zpl 或 tspl。")
    return lang


@label_app.command("print")
def print_codes(
    codes: Annotated[list[str] | None, typer.Argument(help="Codes to print (carrier, location, badge, EPC).")] = None,
    layout: Annotated[str | None, typer.Option(help="Layout for all labels (default: by kind).")] = None,
    printer: Annotated[str | None, typer.Option(help="Printer URI (default: $TRACKER_LABEL_PRINTER).")] = None,
    language: Annotated[str | None, typer.Option(help="zpl or tspl (default: $TRACKER_LABEL_LANGUAGE or zpl).")] = None,
    dpi: Annotated[int | None, typer.Option(help="Printer resolution (default: $TRACKER_LABEL_DPI or 203).")] = None,
    rfid: Annotated[bool, typer.Option(help="Write the EPC into the tag and store the TID read back.")] = False,
    company_prefix: Annotated[str | None, typer.Option(help="GS1 company prefix ($TRACKER_GS1_PREFIX).")] = None,
    labels_to_try: Annotated[int, typer.Option(help="RFID: labels the printer may VOID per tag.")] = 3,
    retries: Annotated[int, typer.Option(help="RFID: times to resend a job the printer gave up on.")] = 1,
    printer_font: Annotated[str | None, typer.Option(help="ZPL: printer-resident CJK font, e.g. E:SIMSUN.TTF.")] = None,
    copies: Annotated[int, typer.Option(min=1, max=99, help="Copies of each label (not with --rfid).")] = 1,
    bilingual: Annotated[bool, typer.Option(help="Add the English marking.")] = False,
    from_file: Annotated[Path | None, typer.Option(help="Also print the codes listed in this file.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the printer.")] = 15.0,
) -> list[Any]:  # PrintResults (not named here: a signature is read at every start-up)
    """Print labels on a thermal label printer (ZPL or TSPL); with --rfid, encode each carrier's tag too.
    \f
    Other commands print through this too (e.g. right after `carrier add` or `carrier import`): called from Python
    the typer annotations are plain defaults, so there is one list of printing options and one set of defaults. With
    ``rfid`` the operator is asked to sign and each tag's EPC and TID are stored on its carrier. Exits through typer
    on bad input, a printer fault, or any label not printed (exit 5)."""
    ensure_lang()
    uri = _printer_uri(printer)
    lang = _language(language)
    res_dpi = dpi or _env_int("TRACKER_LABEL_DPI", 203)
    if rfid and copies != 1:
        _fail(EXIT_USAGE, "--copies cannot be used with --rfid.", "--copies 不能与 --rfid 同时使用。")
    prefix = _register_prefix(company_prefix)
    items = _resolve(_codes(codes, from_file), bilingual=bilingual)
    actor = None
    if rfid:
        items = _with_epcs(items, prefix)
        actor = core.operator()
    groups = _groups(items, layout)
    try:
        spec = zpl_render.RfidSpec(labels_to_try=labels_to_try, company_prefix=prefix) if rfid else None
        lp = printers.LabelPrinter(
            uri,
            language=lang,  # type: ignore[arg-type]
            zpl=zpl_render.ZplOptions(dpi=res_dpi, cjk_font=printer_font, copies=copies),
            tspl=tspl_render.TsplOptions(dpi=res_dpi, copies=copies),
            rfid=spec,
            rfid_retries=retries,
            timeout=timeout,
        )
        for lay, its in groups:  # every label drawn before the first is sent: one that cannot fit prints none
            lp.jobs(lay, [it.content for it in its])
    except (printers.PrinterError, LayoutError) as e:
        _fail(EXIT_USAGE, e.message_en, e.message_zh)
    results: list[PrintResult] = []
    for lay, its in groups:
        try:
            results += lp.print_labels(lay, [it.content for it in its])
        except printers.PrinterError as e:
            _report(results)
            _fail(EXIT_PRINTER, e.message_en, e.message_zh)
    if rfid:
        _store_tags(actor, items, results)
    _report(results)
    if not all(r.ok for r in results):
        raise typer.Exit(EXIT_PRINTER)
    return results


def _with_epcs(items: Sequence[Resolved], prefix: str | None) -> list[Resolved]:
    """RFID labels carry the carrier's EPC: the one registered, or the one derived from its code. An EPC that already
    belongs to another carrier is refused before any tag is written."""
    from tracker import queries

    out: list[Resolved] = []
    ensure_lang()
    with core.store().uow(readonly=True) as uow:
        for it in items:
            if it.kind != "carrier":
                _fail(EXIT_USAGE, f"{it.code}: only carriers get RFID tags.", f"{it.code}：只有载体才写入 RFID 标签。")
            epc = it.content.epc
            if epc is None:
                try:
                    epc = carrier_code_to_epc(it.code, prefix)
                except CodeError as e:
                    _fail(EXIT_USAGE, e.message_en, e.message_zh)
                owner = queries.carrier_by_epc(uow, epc)
                if owner is not None and owner.code != it.code:
                    _fail(
                        EXIT_REFUSED,
                        f"EPC {epc} of {it.code} already belongs to {owner.code} (R-18).",
                        f"{it.code} 的 EPC {epc} 已属于 {owner.code}（R-18）。",
                    )
            out.append(replace(it, content=replace(it.content, epc=epc)))
    return out


def _store_tags(actor: Any, items: Sequence[Resolved], results: Sequence[PrintResult]) -> None:
    from tracker.services import registry

    ensure_lang()
    epcs = {it.code: it.content.epc for it in items}

    def store_tag(result: PrintResult) -> None:  # the unit of work is opened inside `run`, as every command does
        registry.set_epc(core.store().uow(), actor, result.code, epcs[result.code], result.tid)

    for r in results:
        if r.ok and r.confirmed:
            core.run(partial(store_tag, r))


def _report(results: Iterable[PrintResult]) -> None:
    ensure_lang()
    t = Table(title=_say("Labels", "标签"))
    for col in (_say("code", "编码"), _say("result", "结果"), "TID", "VOID"):
        t.add_column(col)
    for r in results:
        if r.ok:
            state = _say("printed", "已打印") if r.confirmed else _say("sent", "已发送")
        else:
            state = _say(r.message_en, r.message_zh)
        t.add_row(Text(r.code), Text(state), Text(r.tid or ""), str(r.voided) if r.voided else "")
    core.out.print(t)


@label_app.command("sheet")
def sheet_cmd(
    codes: Annotated[list[str] | None, typer.Argument(help="Codes to put on the sheet(s).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="PDF file to write.")] = Path("labels.pdf"),
    sheet: Annotated[str, typer.Option(help="Sheet name (see `tracker label layouts`).")] = "a4-70x37",
    layout: Annotated[str | None, typer.Option(help="Layout for all labels (default: by kind).")] = None,
    start: Annotated[int, typer.Option(help="First free label on a part-used sheet (1 = top left).")] = 1,
    offset_x: Annotated[float, typer.Option(help="Printer offset right, mm (from the calibration page).")] = 0.0,
    offset_y: Annotated[float, typer.Option(help="Printer offset down, mm (from the calibration page).")] = 0.0,
    embed_font: Annotated[bool, typer.Option("--embed-font/--builtin-font",
                                             help="Embed the bundled Chinese font (default), or use reportlab's "
                                                  "built-in STSong-Light, which the viewer must have.")] = True,
    bilingual: Annotated[bool, typer.Option(help="Add the English marking.")] = False,
    from_file: Annotated[Path | None, typer.Option(help="Also put the codes listed in this file.")] = None,
) -> None:
    """Lay labels out on A4 label sheets as a PDF (for office printers)."""
    ensure_lang()
    items = _resolve(_codes(codes, from_file), bilingual=bilingual)
    groups = _groups(items, layout)
    if len(groups) > 1:
        _fail(
            EXIT_USAGE,
            "These codes need different layouts; give --layout or print one kind per sheet.",
            "这些编码需要不同的版式；请指定 --layout，或每张标签纸只打印一类。",
        )
    [(lay, its)] = groups
    try:
        t0 = time.perf_counter()
        data = pdf_render.render_pdf_sheet(
            lay,
            [it.content for it in its],
            sheet,
            offset_x=offset_x,
            offset_y=offset_y,
            start=start,
            cjk_font="embedded" if embed_font else pdf_render.CJK_FONT,
        )
        out.write_bytes(data)
    except LayoutError as e:
        _fail(EXIT_USAGE, e.message_en, e.message_zh)
    except OSError as e:
        _fail(EXIT_USAGE, f"Cannot write {out}: {e.strerror}", f"无法写入 {out}：{e.strerror}")
    core.out.print(
        Text(
            _say(
                f"Wrote {out}: {len(its)} labels ({lay.name}) on {sheet} in {time.perf_counter() - t0:.1f} s.",
                f"已写入 {out}：{len(its)} 张标签（{lay.name}，{sheet}）。",
            )
        )
    )


@label_app.command("calibrate")
def calibrate_cmd(
    sheet: Annotated[str, typer.Argument(help="Sheet name.")] = "a4-70x37",
    out: Annotated[Path, typer.Option("--out", "-o", help="PDF file to write.")] = Path("calibration.pdf"),
    offset_x: Annotated[float, typer.Option(help="Offset in use, mm.")] = 0.0,
    offset_y: Annotated[float, typer.Option(help="Offset in use, mm.")] = 0.0,
) -> None:
    """Write the calibration page of a sheet: print it, lay it on a label sheet, read off the offset."""
    ensure_lang()
    try:
        out.write_bytes(pdf_render.render_calibration_pdf(sheet, offset_x=offset_x, offset_y=offset_y))
    except LayoutError as e:
        _fail(EXIT_USAGE, e.message_en, e.message_zh)
    except OSError as e:
        _fail(EXIT_USAGE, f"Cannot write {out}: {e.strerror}", f"无法写入 {out}：{e.strerror}")
    core.out.print(Text(_say(f"Wrote {out}.", f"已写入 {out}。")))


@label_app.command("status")
def status_cmd(
    printer: Annotated[str | None, typer.Option(help="Printer URI (default: $TRACKER_LABEL_PRINTER).")] = None,
    language: Annotated[str | None, typer.Option(help="zpl or tspl.")] = None,
) -> None:
    """Ask the label printer whether it is ready (ZPL ~HS, TSPL <ESC>!?)."""
    ensure_lang()
    lp_lang = _language(language)
    try:
        st = printers.LabelPrinter(_printer_uri(printer), language=lp_lang, timeout=5).status()  # type: ignore[arg-type]
    except printers.PrinterUriError as e:
        _fail(EXIT_USAGE, e.message_en, e.message_zh)
    except printers.PrinterError as e:
        _fail(EXIT_PRINTER, e.message_en, e.message_zh)
    if st.ready:
        core.out.print(Text(_say("Printer ready.", "打印机就绪。")))
        return
    _fail(EXIT_PRINTER, f"Printer not ready: {st.describe('en')}.", f"打印机未就绪：{st.describe('zh')}。")


@label_app.command("emulate")
def emulate_cmd(
    port: Annotated[int, typer.Option(help="TCP port to listen on (0 = any free port).")] = 9100,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    seconds: Annotated[float, typer.Option(help="Stop after this many seconds (0 = until Ctrl-C).")] = 0.0,
) -> None:
    """Run a ZPL/TSPL label printer emulator (with an RFID encoder) for demos and trials without hardware."""
    from labels.emulator import LabelPrinterEmulator

    ensure_lang()
    try:
        em = LabelPrinterEmulator(host, port)
    except OSError as e:
        _fail(EXIT_USAGE, f"Cannot listen on {host}:{port}: {e.strerror}", f"无法监听 {host}:{port}：{e.strerror}")
    with em:
        core.out.print(Text(_say(f"Label printer emulator at {em.uri}", f"标签打印机模拟器：{em.uri}")))
        try:
            deadline = time.monotonic() + seconds if seconds > 0 else None
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        core.out.print(
            Text(
                _say(
                    f"{em.printed} printed, {em.voided} void, {len(em.tags)} tags encoded.",
                    f"已打印 {em.printed} 张，作废 {em.voided} 张，写入 {len(em.tags)} 个标签。",
                )
            )
        )
