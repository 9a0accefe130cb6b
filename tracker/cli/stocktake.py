"""`tracker stocktake …` — the quarterly stock-take from the command line (mounted by `tracker.cli`).

start (team signs with badge + PIN) → bind RFID passes → upload handheld files, or stream a configured scanner or
RFID reader live → reconcile → findings / progress → resolve each finding with a reason → close → report (PDF, CSV,
XLSX). Every command calls `tracker.stocktake` and uses the main CLI's identification, exit codes and
bilingual messages; this module must never touch the database itself.
"""

from __future__ import annotations

import queue
import signal
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from drivers.reads import DeviceStatus, Read, ReadKind
from tracker.cli import common as c
from tracker.lazy import lazy

if TYPE_CHECKING:
    from tracker import stocktake as st
    from tracker.services import registry
    from tracker.stocktake import kinds
else:
    st, kinds = lazy("tracker.stocktake"), lazy("tracker.stocktake.kinds")
    registry = lazy("tracker.services.registry")

stocktake_app = typer.Typer(no_args_is_help=True,
                            help="Quarterly stock-take (清查): scope, reads, reconciliation, resolution, report.")


def _kind(text: str) -> kinds.FindingKind:
    """A finding kind by its name (`loan_not_closed`) or by the label the findings table shows, in either language."""
    wanted = text.strip().lower()
    for k in kinds.FindingKind:
        if wanted in (k.value, k.value.replace("_", "-"), k.value.replace("_", " "), k.en.lower(), k.zh):
            return k
    c.fail(c.EXIT_USAGE, f"Unknown finding kind {text!r}: use {', '.join(k.value for k in kinds.FindingKind)}.",
           f"无法识别的结果类型 {text!r}：可用 {', '.join(k.value for k in kinds.FindingKind)}。")
    raise typer.Exit(c.EXIT_USAGE)


@stocktake_app.command("start")
def start_cmd(
    scope: Annotated[list[str], typer.Option("--scope", help="Location code at the top of the scope (repeat).")],
    team: Annotated[list[str], typer.Option("--team", help="Badge of a team member (repeat); each signs with "
                                                           "their PIN (TRACKER_TEAM_PIN for scripts).")],
    name: Annotated[str, typer.Option(help="Name of the stock-take.")] = "",
    level: Annotated[list[str] | None, typer.Option("--level", help="Only these levels (repeat).")] = None,
    unit: Annotated[list[str] | None, typer.Option("--unit", help="Units whose loans are in scope (repeat).")] = None,
    custodian: Annotated[list[str] | None, typer.Option("--custodian", help="Custodian badge (repeat).")] = None,
    custodian_may_count: Annotated[bool, typer.Option(help="Allow a custodian in the team.")] = False,
    min_team: Annotated[int, typer.Option(help="Smallest team.")] = 2,
    clone_window: Annotated[float, typer.Option(help="Seconds within which one code seen in two places by two "
                                                     "devices is a clone suspicion.")] = 120.0,
    rssi_margin: Annotated[float, typer.Option(help="dB below a tag's strongest read that still counts as "
                                                    "strong (RFID placement).")] = 6.0,
    count_ratio: Annotated[float, typer.Option(help="How many times more reads the chosen place needs than any "
                                                    "rival (RFID placement).")] = 2.0,
    company_prefix: Annotated[str | None, typer.Option(help="GS1 company prefix of our GIAI tags (one of the "
                                                            "register's; default: all of them).")] = None,
) -> None:
    """Freeze the expected snapshot of the scope and record the team."""
    s = c.store()
    actor = c.operator()
    signed = [actor if m == actor.badge else c.party(m, "team") for m in team]
    cfg = st.StocktakeConfig(min_team=min_team, custodian_in_team=custodian_may_count,
                             tuning=kinds.Tuning(clone_window, rssi_margin, count_ratio, company_prefix))
    sid = c.run(lambda: st.start(s.uow(), actor, name, scope, signed, levels=level, units=unit,
                                 custodians=custodian, config=cfg))
    view = c.run(lambda: st.session_view(s.uow(readonly=True), sid))
    c.out.print(c.say(f"Stock-take #{sid} started: {view.expected} carriers expected.",
                      f"清查 #{sid} 已开始：应有载体 {view.expected} 件。"))


@stocktake_app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Stock-takes in the register."""
    rows = c.run(lambda: st.list_sessions(c.store().uow(readonly=True)))
    tz = c.store().policy.tz  # the unit's local time, as on every other screen and report
    if as_json:
        c.print_json([{"id": i, "name": n, "status": s, "created_at": t.isoformat(), "expected": e}
                      for i, n, s, t, e in rows])
        return
    c.table(c.say("Stock-takes", "清查"), ["#", "name", "status", "started", "expected"],
            [[i, n, s, f"{t.astimezone(tz):%Y-%m-%d %H:%M}", e] for i, n, s, t, e in rows])


@stocktake_app.command("bind")
def bind_cmd(
    sid: Annotated[int, typer.Argument(help="Stock-take number.")],
    device: Annotated[str, typer.Option(help="RFID reader id.")],
    batch: Annotated[str, typer.Option(help="Batch (pass) id.")],
    location: Annotated[str, typer.Option(help="Location code the pass was read in.")],
    antenna: Annotated[int, typer.Option(help="Only this antenna (0 = all).")] = 0,
) -> None:
    """Bind an RFID pass (device + batch, or one antenna) to the place it was read in."""
    s = c.store()
    actor = c.operator()
    c.run(lambda: st.bind(s.uow(), actor, sid, device, batch, location, antenna))
    c.out.print(c.say(f"{device}/{batch} bound to {location}.", f"{device}/{batch} 已绑定到 {location}。"))


@stocktake_app.command("upload")
def upload_cmd(
    sid: Annotated[int, typer.Argument(help="Stock-take number.")],
    file: Annotated[Path, typer.Argument(help="Handheld file: list of codes, CSV with code/time/device, or the "
                                              "RFID inventory export.")],
    device: Annotated[str | None, typer.Option(help="Device, when the file does not name it.")] = None,
    batch: Annotated[str | None, typer.Option(help="Batch id (default: from the file's content).")] = None,
) -> None:
    """Store a handheld upload. Uploading the same file again adds nothing."""
    s = c.store()
    try:
        data = file.read_bytes()
    except OSError as e:
        c.fail(c.EXIT_USAGE, f"Cannot read {file}: {e}", f"无法读取 {file}：{e}")
    up = c.run(lambda: st.parse_upload(data, device=device, batch=batch, name=file.name,
                                       tz=c.store().policy.tz))
    actor = c.operator()
    result = c.run(lambda: st.ingest(s.uow(), actor, sid, up.reads))
    c.out.print(c.say(f"{up.format}: {result.added} reads added, {result.duplicates} already stored.",
                      f"{up.format}：新增 {result.added} 条，已存在 {result.duplicates} 条。"))
    for note in up.held_back:
        c.out.print(c.say(f"Held back until the next upload: {note}", f"暂不导入（下次上传时导入）：{note}"))


@stocktake_app.command("reconcile")
def reconcile_cmd(sid: Annotated[int, typer.Argument(help="Stock-take number.")],
                  as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Compare the frozen snapshot with the reads; replaces the previous findings."""
    s = c.store()
    actor = c.operator()
    result = c.run(lambda: st.reconcile(s.uow(), actor, sid))
    counts = {k.value: n for k, n in result.counts.items()}
    if as_json:
        c.print_json(counts)
        return
    c.table(c.say(f"Stock-take #{sid}", f"清查 #{sid}"), ["finding", "结果", "count"],
            [[k.en, k.zh, result.counts[k]] for k in kinds.FindingKind if k in result.counts])


@stocktake_app.command("progress")
def progress_cmd(sid: Annotated[int, typer.Argument(help="Stock-take number.")],
                 as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Expected / seen / missing per place, from the last reconciliation."""
    rows = c.run(lambda: st.progress(c.store().uow(readonly=True), sid))
    if as_json:
        c.print_json([asdict(r) for r in rows])
        return
    c.table(c.say("Progress", "清点进度"), ["place", "name", "visited", "expected", "seen", "missing", "misplaced",
                                            "not covered", "other"],
            [[r.code, r.name, "yes" if r.visited else "no", r.expected, r.seen, r.missing, r.misplaced,
              r.not_covered, r.unexplained] for r in rows])


@stocktake_app.command("findings")
def findings_cmd(
    sid: Annotated[int, typer.Argument(help="Stock-take number.")],
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Only these kinds (repeat).")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only unresolved findings.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The findings of the last reconciliation."""
    kinds = [_kind(k) for k in kind or []]
    rows = c.run(lambda: st.findings(c.store().uow(readonly=True), sid, kinds or None, open_only))
    if as_json:
        c.print_json([{**asdict(f), "kind": f.kind.value} for f in rows])
        return
    c.table(c.say("Findings", "清查结果"), ["kind", "subject", "level", "expected", "seen", "by", "detail",
                                            "resolution"],
            [[c.say(f.kind.en, f.kind.zh), f.subject, f.classification, f.expected, f.seen, f.method, f.detail,
              f"{f.action}: {f.reason}" if f.action else ""] for f in rows])


@stocktake_app.command("resolve")
def resolve_cmd(
    sid: Annotated[int, typer.Argument(help="Stock-take number.")],
    kind: Annotated[str, typer.Argument(help="Finding kind, e.g. misplaced, missing, unknown_code.")],
    subject: Annotated[str, typer.Argument(help="Carrier code, code read, or location code.")],
    action: Annotated[str, typer.Argument(help="relocate, close_loan, report_missing, register, found, "
                                               "acknowledge.")],
    reason: Annotated[str, typer.Option(help="Why (required).")],
    to: Annotated[str | None, typer.Option("--to", help="Target location (relocate, close_loan, found, "
                                                        "register); default: where it was seen.")] = None,
    classification: Annotated[str | None, typer.Option(help="register: level.")] = None,
    carrier_kind: Annotated[str, typer.Option("--carrier-kind", help="register: carrier kind.")] = "paper",
    period: Annotated[str | None, typer.Option(help="register: secrecy period.")] = None,
    scope: Annotated[str | None, typer.Option(help="register: need-to-know scope.")] = None,
    copy: Annotated[str | None, typer.Option(help="register: copy n/N.")] = None,
    title: Annotated[str, typer.Option(help="register: title.")] = "",
) -> None:
    """Resolve one finding; each resolution is one ledger event (plus the custody change it makes)."""
    s = c.store()
    k = _kind(kind)
    data = None
    if action.strip().lower() == st.REGISTER:
        n = total = None
        if copy:
            try:
                n, total = (int(x) for x in copy.split("/"))
            except ValueError:
                c.fail(c.EXIT_USAGE, "--copy is n/N, e.g. 1/3.", "--copy 格式为 n/N，例如 1/3。")
        data = registry.CarrierInput(location=to or "", classification=classification, kind=carrier_kind,
                                     period=period, scope=scope, copy_number=n, copy_total=total, title=title)
    actor = c.operator()
    seq = c.run(lambda: st.resolve(s.uow(), actor, sid, k, subject, action, reason, to_location=to, carrier=data))
    c.out.print(c.say(f"Resolved ({action}); ledger event {seq}.", f"已处理（{action}），台账事件 {seq}。"))


@stocktake_app.command("resolve-all")
def resolve_all_cmd(
    sid: Annotated[int, typer.Argument(help="Stock-take number.")],
    kind: Annotated[str, typer.Argument(help="Finding kind, e.g. missing, not_covered, misplaced.")],
    action: Annotated[str, typer.Argument(help="relocate, close_loan, report_missing, found, acknowledge.")],
    reason: Annotated[str, typer.Option(help="Why (required; the same for every finding).")],
    place: Annotated[str | None, typer.Option(help="Only findings expected or seen at this place.")] = None,
    from_file: Annotated[Path | None, typer.Option("--file", help="Only the codes listed here (a scanned list, "
                                                                  "one per line).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Target location; default: where each was seen.")] = None,
) -> None:
    """Resolve every unresolved finding of one kind at once — by place or by a scanned list — with one reason: all or
    nothing, one ledger event per finding."""
    s = c.store()
    k = _kind(kind)
    subjects = None
    if from_file is not None:
        try:
            subjects = [line for line in from_file.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as e:
            c.fail(c.EXIT_USAGE, f"Cannot read {from_file}: {e}", f"无法读取 {from_file}：{e}")
    actor = c.operator()
    seqs = c.run(lambda: st.resolve_many(s.uow(), actor, sid, k, action, reason, place, subjects, to))
    c.out.print(c.say(f"Resolved {len(seqs)} finding(s) ({action}); ledger events {seqs[0]}–{seqs[-1]}.",
                      f"已处理 {len(seqs)} 项（{action}），台账事件 {seqs[0]}–{seqs[-1]}。"))


@stocktake_app.command("close")
def close_cmd(sid: Annotated[int, typer.Argument(help="Stock-take number.")]) -> None:
    """Close the stock-take: refused while any finding is unresolved."""
    s = c.store()
    actor = c.operator()
    receipt = c.run(lambda: st.close(s.uow(), actor, sid))
    c.out.print(c.say(
        f"Stock-take #{sid} closed: event {receipt.event_seq}, {receipt.reads_count} reads, digest "
        f"{receipt.reads_digest}, ledger head {receipt.ledger_head[0]}:{receipt.ledger_head[1]}.",
        f"清查 #{sid} 已结束：事件 {receipt.event_seq}，读取 {receipt.reads_count} 条，摘要 {receipt.reads_digest}，"
        f"台账链头 {receipt.ledger_head[0]}:{receipt.ledger_head[1]}。"))


@stocktake_app.command("report")
def report_cmd(
    sid: Annotated[int, typer.Argument(help="Stock-take number.")],
    pdf: Annotated[Path | None, typer.Option(help="Write the PDF report here.")] = None,
    csv: Annotated[Path | None, typer.Option(help="Write the findings CSV here.")] = None,
    xlsx: Annotated[Path | None, typer.Option(help="Write the XLSX workbook here.")] = None,
) -> None:
    """Write the report (PDF with team signature lines, CSV, XLSX)."""
    from tracker.reports import stocktake_csv, stocktake_data, stocktake_pdf, stocktake_xlsx

    if not (pdf or csv or xlsx):
        c.fail(c.EXIT_USAGE, "Say what to write: --pdf, --csv and/or --xlsx.", "请指定输出：--pdf、--csv 或 --xlsx。")
    report = c.run(lambda: stocktake_data.gather(c.store(), sid))
    written = []
    try:
        if pdf:
            written.append(stocktake_pdf.write_pdf(report, pdf))
        if csv:
            written.append(stocktake_csv.write_csv(report, csv))
        if xlsx:
            written.append(stocktake_xlsx.write_xlsx(report, xlsx))
    except OSError as e:
        c.fail(c.EXIT_USAGE, f"Cannot write the report: {e}", f"无法写入报告：{e}")
    c.out.print(c.say("Written: ", "已写入：") + ", ".join(str(p) for p in written))


# --- live reads from a configured device ----------------------------------------------------------------------------

FLUSH_SECONDS = 0.5  # reads are stored at least this often, so a crash loses at most this much of a pass


class _Tally:
    """What the running count line shows: reads stored, distinct codes, and refusals (each message once)."""

    def __init__(self) -> None:
        self.added = 0
        self.duplicates = 0
        self.codes: set[str] = set()
        self.refused = 0
        self.messages: set[str] = set()


def _store_reads(live: st.LiveIngest, reads: list[Read], tally: _Tally) -> None:
    """Store `reads`: every good one is kept, and each refused one is counted and its reason shown once."""
    if not reads:
        return
    first = live.next_seq
    for read in reads:
        live.add(read)
    try:
        result = live.flush()
    except st.ReadsRefused as e:
        result = e.result
        tally.refused += len(result.refused)
        for refused in result.refused:
            message = c.say(refused.en, refused.zh)
            if message not in tally.messages:
                tally.messages.add(message)
                c.err.print(message, style="bold red", markup=False, highlight=False)
    refused_seqs = {r.seq for r in result.refused}
    tally.added += result.added
    tally.duplicates += result.duplicates
    tally.codes.update(r.code.strip().upper() for seq, r in enumerate(reads, start=first) if seq not in refused_seqs)


@stocktake_app.command("live")
def live_cmd(
    sid: Annotated[int, typer.Argument(help="Stock-take number.")],
    device: Annotated[str, typer.Option(help="Device name from the [devices] table of tracker.toml.")],
    location: Annotated[str | None, typer.Option(help="Place being read: binds an RFID pass to it; for a scanner, "
                                                      "as if its location label was scanned first.")] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds (default: Ctrl-C).")] = None,
    batch: Annotated[str | None, typer.Option(help="Batch id (default: live-<place>); the same batch again "
                                                   "continues it, so a re-run adds to the pass.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Configuration file (default: the settings' "
                                                                  "own tracker.toml).")] = None,
) -> None:
    """Stream reads from a configured scanner or RFID reader into the stock-take until Ctrl-C (or --duration).

    Scanning a location label switches the place, as in an uploaded file. Reads are stored every half second and,
    on Ctrl-C, the ones still in flight are stored before the command ends."""
    from drivers.device_config import ConfigError
    from drivers.scanners.config import open_live

    if duration is not None and duration <= 0:
        c.fail(c.EXIT_USAGE, "--duration must be positive.", "--duration 须为正数。")
    try:
        configured = {d.name: d for d in c.load_configured(config)}
    except ConfigError as e:
        c.fail(c.EXIT_USAGE, f"Device configuration: {e}", f"设备配置错误：{e}")
    cfg = configured.get(device)
    if cfg is None:
        known = ", ".join(sorted(configured)) or "—"
        c.fail(c.EXIT_NOT_FOUND, f"No device named {device!r} in the [devices] table (configured: {known}).",
               f"[devices] 中没有名为 {device!r} 的设备（已配置：{known}）。")
    if cfg.kind == "wedge":
        c.fail(c.EXIT_USAGE, f"{device} is a keyboard-wedge scanner: scan into the stock-take screen (Ctrl+T) "
                             "or upload its file.",
               f"{device} 为键盘式扫描器：请在清查界面（Ctrl+T）扫描或上传其文件。")
    if cfg.is_rfid and not location and not batch:
        c.fail(c.EXIT_USAGE, "An RFID pass needs a place: give --location (or --batch of a pass already bound with "
                             "`tracker stocktake bind`).",
               "RFID 清点须有位置：请指定 --location（或用 --batch 指定已用 `tracker stocktake bind` 绑定的批次）。")
    place = location.strip().upper() if location else None
    batch_id = batch or (f"live-{place}" if place else "live")
    s = c.store()
    actor = c.operator()
    view = c.run(lambda: st.session_view(s.uow(readonly=True), sid))
    if view.status != "open":
        c.fail(c.EXIT_USAGE, f"Stock-take #{sid} is {view.status}, not open.",
               f"清查 #{sid} 状态为 {view.status}，未开放。")
    if place and cfg.is_rfid:
        c.run(lambda: st.bind(s.uow(), actor, sid, device, batch_id, place))
    live = c.run(lambda: st.LiveIngest(s, actor, sid, device, batch_id, flush_every=sys.maxsize))
    tally = _Tally()
    if place and not cfg.is_rfid:
        c.run(lambda: _store_reads(live, [Read(place, ReadKind.BARCODE, device=device)], tally))
    events: queue.Queue[Read | DeviceStatus] = queue.Queue()
    try:
        driver = open_live(cfg, events.put)
    except Exception as e:  # the camera backend missing, a bad URL: a sentence, never a traceback
        c.fail(c.EXIT_USAGE, f"{device}: cannot open: {e}", f"{device}：无法打开：{e}")
        raise typer.Exit(c.EXIT_USAGE) from None
    stop = threading.Event()

    def interrupted(_signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        c.err.print(c.say("Stopping: storing the last reads (Ctrl-C again to abort)…",
                          "正在停止：保存最后的读取（再按 Ctrl-C 强制退出）…"), markup=False)

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, interrupted) if in_main else None
    where = f" → {place}" if place else ""
    c.out.print(c.say(f"Reading from {device} ({cfg.kind}) into stock-take #{sid}, batch {batch_id}{where}; "
                      "Ctrl-C to stop.",
                      f"正在从 {device}（{cfg.kind}）读入清查 #{sid}，批次 {batch_id}{where}；按 Ctrl-C 停止。"),
                markup=False)
    deadline = time.monotonic() + duration if duration else None
    shown = (-1, -1)
    pending: list[Read] = []
    last_flush = time.monotonic()

    def store(reads: list[Read]) -> None:
        c.run(lambda: _store_reads(live, reads, tally))

    def report() -> None:
        nonlocal shown
        if (tally.added, len(tally.codes)) != shown:
            shown = (tally.added, len(tally.codes))
            c.out.print(c.say(f"{tally.added} reads stored, {len(tally.codes)} distinct codes",
                              f"已保存 {tally.added} 条，不同编码 {len(tally.codes)} 个"), markup=False)

    try:
        driver.start()
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            try:
                event = events.get(timeout=0.1)
            except queue.Empty:
                event = None
            if isinstance(event, Read):
                pending.append(event)
            elif isinstance(event, DeviceStatus):
                detail = f": {event.detail}" if event.detail else ""
                c.err.print(f"[{event.device} {event.state.value}]{detail}", markup=False, highlight=False)
            if pending and time.monotonic() - last_flush >= FLUSH_SECONDS:
                batch_reads, pending = pending, []
                store(batch_reads)
                last_flush = time.monotonic()
                report()
    finally:
        driver.stop()
        if in_main:
            signal.signal(signal.SIGINT, previous)
    while True:  # what the device delivered before it stopped is stored too
        try:
            event = events.get_nowait()
        except queue.Empty:
            break
        if isinstance(event, Read):
            pending.append(event)
    store(pending)
    report()
    c.out.print(c.say(f"Done: {tally.added} reads stored ({tally.duplicates} already stored, {tally.refused} "
                      f"refused), {len(tally.codes)} distinct codes. Reconcile with `tracker stocktake reconcile "
                      f"{sid}`.",
                      f"完成：保存 {tally.added} 条（已存在 {tally.duplicates} 条，拒绝 {tally.refused} 条），"
                      f"不同编码 {len(tally.codes)} 个。请运行 `tracker stocktake reconcile {sid}` 核对。"),
                markup=False)
