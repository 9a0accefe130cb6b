"""`tracker incoming …`, `tracker package …`, `tracker transit …`: 收文登记, packages and seals, dispatch and courier
hops with their receipts, and the dispatch and incoming registers.

Each command identifies the operator (and every other party with their own PIN: TRACKER_COURIER_PIN,
TRACKER_COMPANION_PIN, TRACKER_GIVER_PIN, TRACKER_TAKER_PIN) and makes one call to `tracker.services.incoming`,
`.packages` or `.transit`; it never checks a rule itself. Labels printed at registration go through the label printer
`tracker.cli` wires in (`common.print_labels`), as `carrier add --print` does.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from tracker.cli.common import (
    EXIT_USAGE,
    JsonFlag,
    check_codes,
    ensure_lang,
    fail,
    operator,
    out,
    parse_when,
    party,
    print_json,
    print_labels,
    run,
    say,
    settings,
    store,
    table,
    when,
)
from tracker.lazy import lazy

if TYPE_CHECKING:
    from tracker.reports import transit_pdf, transit_registers
    from tracker.services import incoming, packages, registry, transit
else:
    transit_pdf, transit_registers = lazy("tracker.reports.transit_pdf"), lazy("tracker.reports.transit_registers")
    incoming, packages = lazy("tracker.services.incoming"), lazy("tracker.services.packages")
    registry, transit = lazy("tracker.services.registry"), lazy("tracker.services.transit")
from tracker.domain import utc_iso

incoming_app = typer.Typer(no_args_is_help=True, help="Incoming items (收文登记): register, deliver 亲启 items, "
                                                        "proxies, the incoming register.")
package_app = typer.Typer(no_args_is_help=True, help="Packages (封装): new, pack by scanning, seal, open, show.")
transit_app = typer.Typer(no_args_is_help=True, help="Dispatch and courier transit (发文、机要交通): dispatch, hop, "
                                                       "receive, list, show, receipts, the dispatch register.")

Since = Annotated[str | None, typer.Option(help="From this time (local), e.g. 2026-11-01.")]
Until = Annotated[str | None, typer.Option(help="Before this time (local), e.g. 2026-12-01.")]


def _copy(copy: str | None) -> tuple[int | None, int | None]:
    if not copy:
        return None, None
    try:
        a, b = copy.split("/")
        return int(a), int(b)
    except ValueError:
        fail(EXIT_USAGE, "--copy is n/N, e.g. 3/5.", "--copy 格式为 n/N，例如 3/5。")


def _seals(values: list[str]) -> dict[str, str]:
    seals: dict[str, str] = {}
    for v in values:
        package, sep, number = v.partition("=")
        if not sep or not package.strip() or not number.strip():
            fail(EXIT_USAGE, f"--seal is PACKAGE=NUMBER (or PACKAGE=BROKEN), not {v!r}.",
                 f"--seal 格式为 封装编号=封志号（或 封装编号=BROKEN），而不是 {v!r}。")
        seals[package.strip().upper()] = number.strip()
    return seals


def _number(text: str) -> int:
    try:
        return int(transit.check_code(text))
    except ValueError:
        fail(EXIT_USAGE, f"{text!r} is not a transit number.", f"{text!r} 不是传递编号。")


def _period(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    return parse_when(since), parse_when(until)


# --- incoming ----------------------------------------------------------------------------------------------------


def _incoming_json(v: incoming.IncomingView) -> dict[str, Any]:
    return {"id": v.id, "carrier": v.carrier, "sender": v.sender, "sender_doc": v.sender_doc, "level": v.level,
            "copy": v.copy, "pages": v.pages, "seal_intact": v.seal_intact, "personal_to": v.personal_to,
            "transit": v.transit, "incident": v.incident, "received_by": v.received_by,
            "received_at": utc_iso(v.received_at), "delivered_to": v.delivered_to,
            "delivered_at": utc_iso(v.delivered_at) if v.delivered_at else None, "place": v.place}


@incoming_app.command("register")
def incoming_register(
    location: Annotated[str, typer.Option(help="The receiving registry's place.")],
    sender: Annotated[str, typer.Option(help="Who sent it (来文单位).")],
    classification: Annotated[str, typer.Option(help="Level marked on the item.")],
    copy: Annotated[str | None, typer.Option(help="Copy n/N printed on the item.")] = None,
    pages: Annotated[int | None, typer.Option(help="Pages or items counted (清点).")] = None,
    sender_doc: Annotated[str | None, typer.Option(help="The sender's document number (来文字号).")] = None,
    period: Annotated[str | None, typer.Option(help="10y, 2030-12-31 or long")] = None,
    scope: Annotated[str | None, typer.Option(help="Units; @badge for people; separated by ;")] = None,
    title: Annotated[str, typer.Option()] = "",
    kind: Annotated[str, typer.Option()] = "paper",
    seal_broken: Annotated[bool, typer.Option("--seal-broken", help="The envelope's seal was broken (an "
                                                                   "incident).")] = False,
    personal_to: Annotated[str | None, typer.Option(help="亲启: the addressee's badge; registered unopened.")] = None,
    print_label: Annotated[bool, typer.Option("--print", help="Print its label afterwards.")] = False,
) -> None:
    """Register one incoming item (收文登记): numbered, counted, its seal checked, before anyone opens it."""
    ensure_lang()
    n, total = _copy(copy)
    actor = operator()
    data = registry.CarrierInput(location=location, classification=classification, kind=kind, period=period,
                                 scope=scope, title=title, copy_number=n, copy_total=total, pages=pages)
    v = run(lambda: incoming.register(store().uow(), actor, data, sender, sender_doc, not seal_broken, personal_to,
                                      site=settings().site))
    out.print(Text(say(f"Registered incoming #{v.id} as {v.carrier}.", f"已登记收文 #{v.id}，编号 {v.carrier}。")))
    if v.incident is not None:
        out.print(Text(say(f"Broken seal: incident #{v.incident} opened.", f"封志破损：已报事件 #{v.incident}。")))
    if print_label:
        print_labels([v.carrier], False)


@incoming_app.command("deliver")
def incoming_deliver(code: str, to: Annotated[str, typer.Option("--to", help="Addressee or proxy badge "
                                                                           "(signs: TRACKER_TAKER_PIN).")]) -> None:
    """Hand a 亲启 item, unopened, to its addressee or their proxy (R-21)."""
    ensure_lang()
    check_codes(code)
    actor = operator()
    taker = party(to, "taker")
    run(lambda: incoming.deliver(store().uow(), actor, code, taker))
    out.print(Text(say(f"{code.strip()} handed to {to}.", f"{code.strip()} 已交 {to}。")))


@incoming_app.command("proxy")
def incoming_proxy(proxy: str) -> None:
    """The operator designates a proxy for their own 亲启 items (R-21)."""
    ensure_lang()
    actor = operator()
    run(lambda: incoming.designate_proxy(store().uow(), actor, proxy))
    out.print(Text(say(f"{proxy} receives your 亲启 items.", f"{proxy} 可代收您的亲启件。")))


@incoming_app.command("list")
def incoming_list(waiting: Annotated[bool, typer.Option(help="Only 亲启 items not yet delivered.")] = False,
                  since: Since = None, until: Until = None, as_json: JsonFlag = False) -> None:
    """The incoming register, oldest first."""
    ensure_lang()
    actor = operator()
    start, end = _period(since, until)
    rows = run(lambda: incoming.listing(store().uow(), actor, start, end, waiting))
    if as_json:
        print_json([_incoming_json(v) for v in rows])
        return
    table(say("Incoming register", "收文登记簿"),
          [say("No.", "收文号"), say("Received", "收文时间"), say("Carrier", "编号"), say("Sender", "来文单位"),
           say("Sender's No.", "来文字号"), say("Copy", "份号"), say("Seal", "封志"), say("Personal to", "亲启"),
           say("Delivered", "交付")],
          [[v.id, when(v.received_at), v.carrier, v.sender, v.sender_doc, v.copy,
            say("intact", "完好") if v.seal_intact else say("broken", "破损"), v.personal_to, v.delivered_to]
           for v in rows])


@incoming_app.command("report")
def incoming_report(path: Path, since: Since = None, until: Until = None) -> None:
    """Write the incoming register for a period to PATH (.pdf, .xlsx or .csv)."""
    ensure_lang()
    actor = operator()
    start, end = _period(since, until)
    rows = run(lambda: incoming.listing(store().uow(), actor, start, end))
    tz = store().policy.tz
    run(lambda: transit_registers.write("incoming", transit_registers.incoming_rows(rows, tz), path, "收文登记簿"))
    out.print(Text(say(f"Wrote {path} ({len(rows)} items).", f"已写入 {path}（{len(rows)} 件）。")))


# --- packages ----------------------------------------------------------------------------------------------------


def _package_json(v: packages.PackageView) -> dict[str, Any]:
    return {"code": v.code, "kind": v.kind, "status": v.status, "seal": v.seal, "parent": v.parent,
            "carriers": list(v.carriers), "packages": list(v.packages), "all_carriers": list(v.all_carriers)}


@package_app.command("new")
def package_new(kind: Annotated[str, typer.Option(help="envelope, bag or box")] = "envelope") -> None:
    """A new, empty package with its own code (PKG-…)."""
    ensure_lang()
    actor = operator()
    code = run(lambda: packages.create(store().uow(), actor, kind, site=settings().site))
    out.print(Text(code))


@package_app.command("pack")
def package_pack(package: str, codes: Annotated[list[str], typer.Argument(help="Carriers or sealed packages.")]
                 ) -> None:
    """Pack carriers (or nest sealed packages) into an open package, by scanning them."""
    ensure_lang()
    actor = operator()
    added = run(lambda: packages.pack(store().uow(), actor, package, codes))
    out.print(Text(say(f"Packed into {package.strip().upper()}: {' '.join(added)}.",
                       f"已装入 {package.strip().upper()}：{' '.join(added)}。")))


@package_app.command("seal")
def package_seal(package: str, seal: Annotated[str, typer.Option("--seal", help="The seal strip's number.")]) -> None:
    """Seal a package, or re-seal it with a new strip (the old number stays in the ledger)."""
    ensure_lang()
    actor = operator()
    old = run(lambda: packages.seal(store().uow(), actor, package, seal))
    out.print(Text(say(f"Sealed with {seal}" + (f" (was {old})." if old else "."),
                       f"已封口，封志 {seal}" + (f"（原为 {old}）。" if old else "。"))))


@package_app.command("open")
def package_open(package: str, seal: Annotated[str, typer.Option("--seal", help="The seal number read "
                                                                              "(or BROKEN).")],
                 found: Annotated[list[str] | None, typer.Argument(help="Everything scanned out of it.")] = None,
                 as_json: JsonFlag = False) -> None:
    """Open a sealed package at its destination and count its contents against the packing list."""
    ensure_lang()
    actor = operator()
    r = run(lambda: packages.open_package(store().uow(), actor, package, seal, found or []))
    if as_json:
        print_json({"package": r.package, "seal_ok": r.seal_ok, "missing": list(r.missing),
                    "extra": list(r.extra), "incidents": list(r.incidents)})
        return
    out.print(Text(say(f"Opened {r.package}: seal {'as recorded' if r.seal_ok else 'NOT as recorded'}; "
                       f"missing {len(r.missing)}, extra {len(r.extra)}.",
                       f"已拆封 {r.package}：封志{'相符' if r.seal_ok else '不符'}；缺少 {len(r.missing)} 件，"
                       f"多出 {len(r.extra)} 件。")))
    for code in r.missing:
        out.print(Text(say(f"missing: {code}", f"缺少：{code}")))
    for code in r.extra:
        out.print(Text(say(f"not on the list: {code}", f"清单外：{code}")))
    for n in r.incidents:
        out.print(Text(say(f"Incident #{n} opened.", f"已报事件 #{n}。")))


@package_app.command("show")
def package_show(package: str, as_json: JsonFlag = False) -> None:
    """A package, its seal and its packing list."""
    ensure_lang()
    with store().uow(readonly=True) as uow:
        v = run(lambda: packages.show(uow, package))
    if as_json:
        print_json(_package_json(v))
        return
    table(say(f"Package {v.code}", f"封装 {v.code}"), [say("field", "项目"), say("value", "内容")],
          [[say("kind", "类型"), v.kind], [say("status", "状态"), v.status], [say("seal", "封志"), v.seal],
           [say("inside", "所在封装"), v.parent], [say("carriers", "载体"), " ".join(v.carriers)],
           [say("packages", "内层封装"), " ".join(v.packages)],
           [say("all carriers", "全部载体"), " ".join(v.all_carriers)]])


# --- transit -----------------------------------------------------------------------------------------------------


def _transit_json(v: transit.TransitView) -> dict[str, Any]:
    return {"id": v.id, "status": v.status, "from": v.from_place, "to": v.to_place, "to_site": v.to_site,
            "holder": v.holder, "companion": v.companion, "personal_to": v.personal_to, "level": v.level,
            "due_at": utc_iso(v.due_at), "dispatched_at": utc_iso(v.dispatched_at), "dispatched_by": v.dispatched_by,
            "received_at": utc_iso(v.received_at) if v.received_at else None, "received_by": v.received_by,
            "note": v.note, "carriers": list(v.carriers), "packages": list(v.packages),
            "hops": [{"number": h.number, "kind": h.kind, "giver": h.giver, "taker": h.taker,
                      "companion": h.companion, "place": h.place, "at": utc_iso(h.at), "seals": list(h.seals),
                      "incident": h.incident, "ledger_head": f"{h.head_seq}:{h.head_hash}"} for h in v.hops]}


@transit_app.command("dispatch")
def transit_dispatch(
    items: Annotated[list[str], typer.Argument(help="Carriers and sealed packages.")],
    from_place: Annotated[str, typer.Option("--from", help="The dispatching registry's place.")],
    to_place: Annotated[str, typer.Option("--to", help="The destination registry's place.")],
    courier: Annotated[str, typer.Option(help="Courier badge (signs: TRACKER_COURIER_PIN).")],
    companion: Annotated[str | None, typer.Option(help="Second courier for 绝密 (TRACKER_COMPANION_PIN).")] = None,
    due: Annotated[str | None, typer.Option(help="Due at the destination: a time or +Nh.")] = None,
    personal_to: Annotated[str | None, typer.Option(help="亲启: the addressee's badge.")] = None,
    note: Annotated[str, typer.Option()] = "",
) -> None:
    """发文: hand carriers and sealed packages to a courier; prints the transit number."""
    ensure_lang()
    actor = operator()
    taker = party(courier, "courier")
    second = party(companion, "companion") if companion else None
    when_due = parse_when(due)
    n = run(lambda: transit.dispatch(store().uow(), actor, from_place, to_place, items, taker, second,
                                     due=when_due, personal_to=personal_to, note=note))
    out.print(Text(say(f"Dispatched as transit #{n}.", f"已发文，传递编号 #{n}。")))


def _move(number: str, giver: str, taker: str, seal: list[str] | None, companion: str | None, place: str | None,
          final: bool) -> None:
    ensure_lang()
    n = _number(number)
    seals = _seals(seal or [])
    actor = operator()
    g, t = party(giver, "giver"), party(taker, "taker")
    second = party(companion, "companion") if companion else None
    if final:
        hop_no = run(lambda: transit.receive(store().uow(), actor, n, g, t, seals))
        out.print(Text(say(f"Transit #{n} received (hop {hop_no}).", f"传递 #{n} 已签收（第 {hop_no} 次交接）。")))
    else:
        hop_no = run(lambda: transit.hop(store().uow(), actor, n, g, t, seals, second, place))
        out.print(Text(say(f"Transit #{n}: hop {hop_no} recorded.", f"传递 #{n}：第 {hop_no} 次交接已登记。")))


Giver = Annotated[str, typer.Option(help="Giver badge (signs: TRACKER_GIVER_PIN).")]
Taker = Annotated[str, typer.Option(help="Taker badge (signs: TRACKER_TAKER_PIN).")]
SealOption = Annotated[list[str] | None, typer.Option("--seal", help="PACKAGE=NUMBER read on each package.")]


@transit_app.command("hop")
def transit_hop(number: str, giver: Giver, taker: Taker, seal: SealOption = None,
                companion: Annotated[str | None, typer.Option(help="Second courier for 绝密.")] = None,
                place: Annotated[str | None, typer.Option(help="Where the hop happens.")] = None) -> None:
    """One hand-to-hand hop on the way: both sign, every package's seal is read."""
    _move(number, giver, taker, seal, companion, place, final=False)


@transit_app.command("receive")
def transit_receive(number: str, giver: Giver, taker: Taker, seal: SealOption = None) -> None:
    """Receipt at the destination registry: the carriers go into its place and its incoming register."""
    _move(number, giver, taker, seal, None, None, final=True)


@transit_app.command("list")
def transit_list(to_site: Annotated[str | None, typer.Option("--to-site", help="Only what is on its way to this "
                                                                              "site.")] = None,
                 include_received: Annotated[bool, typer.Option("--all", help="Received transits too.")] = False,
                 as_json: JsonFlag = False) -> None:
    """Open transits (what is on its way), oldest first."""
    ensure_lang()
    actor = operator()
    rows = run(lambda: transit.listing(store().uow(), actor, to_site, not include_received))
    if as_json:
        print_json([_transit_json(v) for v in rows])
        return
    table(say("Transits", "传递"),
          [say("No.", "编号"), say("From", "发件"), say("To", "收件"), say("Level", "密级"), say("Holder", "持有人"),
           say("Due", "应到"), say("Carriers", "载体"), say("Status", "状态")],
          [[f"#{v.id}", v.from_place, v.to_place, v.level, v.holder, when(v.due_at), len(v.carriers),
            say(v.status, "传递中" if v.status == "in_transit" else "已签收")] for v in rows])


@transit_app.command("show")
def transit_show(number: str, as_json: JsonFlag = False) -> None:
    """One transit with its packages and every hop."""
    ensure_lang()
    n = _number(number)
    actor = operator()
    v = run(lambda: transit.show(store().uow(), actor, n))
    if as_json:
        print_json(_transit_json(v))
        return
    table(say(f"Transit #{v.id} {v.from_place} → {v.to_place} ({v.status})",
              f"传递 #{v.id} {v.from_place} → {v.to_place}（{v.status}）"),
          [say("Hop", "次"), say("Giver", "交出"), say("Taker", "接收"), say("Second", "同行"), say("Time", "时间"),
           say("Seals", "封志")],
          [[h.number, h.giver, h.taker, h.companion, when(h.at),
            "; ".join(f"{s['package']} {s['seen']}" for s in h.seals)] for h in v.hops])


@transit_app.command("receipt")
def transit_receipt(number: str, path: Path,
                    hop: Annotated[int | None, typer.Option(help="One hop's receipt; the whole transit sheet "
                                                                 "without it.")] = None) -> None:
    """Write a hop's receipt, or the transit sheet of the whole chain, as PDF."""
    ensure_lang()
    n = _number(number)
    actor = operator()
    v = run(lambda: transit.show(store().uow(), actor, n))
    tz = store().policy.tz
    if hop is None:
        run(lambda: transit_pdf.write_transit_sheet(v, path, tz))
    else:
        run(lambda: transit_pdf.write_hop_receipt(v, hop, path, tz))
    out.print(Text(say(f"Wrote {path}.", f"已写入 {path}。")))


@transit_app.command("register")
def transit_register(path: Path, since: Since = None, until: Until = None) -> None:
    """Write the dispatch register (发文登记簿) for a period to PATH (.pdf, .xlsx or .csv)."""
    ensure_lang()
    actor = operator()
    start, end = _period(since, until)
    rows = run(lambda: transit.listing(store().uow(), actor, None, False, start, end))
    tz = store().policy.tz
    run(lambda: transit_registers.write("dispatch", transit_registers.dispatch_rows(rows, tz), path, "发文登记簿"))
    out.print(Text(say(f"Wrote {path} ({len(rows)} transits).", f"已写入 {path}（{len(rows)} 次传递）。")))
