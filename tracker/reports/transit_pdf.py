"""Transit receipts as PDF (签收单): one per hop (both parties, the second courier, the carriers, every package with
the seal recorded and the seal read, the time in the unit's zone, and the ledger head right after the hop) and the
transit sheet of the whole chain, so the paper in the courier's bag can be checked against the chain
(`ledger verify`).

It lays out a `tracker.services.transit.TransitView` and nothing else; it must never query the register itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle

from tracker.domain import Classification, DomainError, local_text
from tracker.reports.stocktake_pdf import _esc, _styles, _table
from tracker.services.transit import HopView, TransitView

_KIND = {"dispatch": "发文交接 Dispatch", "hop": "途中交接 Hop", "receipt": "签收 Receipt"}


def _level(value: str) -> str:
    try:
        return f"{Classification(value).zh} {value}"
    except ValueError:
        return value


def _seals(hop: HopView) -> list[list[Any]]:
    rows: list[list[Any]] = [["封装 Package", "登记封志 Seal recorded", "核对封志 Seal read", "结果 Result"]]
    for s in hop.seals:
        rows.append([s["package"], s.get("expected") or "", s.get("seen") or "",
                     "相符 OK" if s.get("ok") else "不符 MISMATCH"])
    return rows


def _doc(path: Path, title: str) -> SimpleDocTemplate:
    return SimpleDocTemplate(str(path), pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                             bottomMargin=12 * mm, title=title, author="carrier-tracker")


def _head(t: TransitView, tz: Any) -> list[list[Any]]:
    return [
        ["传递编号 Transit", f"#{t.id}", "密级 Level", _level(t.level)],
        ["发件 From", t.from_place, "收件 To", f"{t.to_place} ({t.to_site})"],
        ["发文时间 Dispatched", local_text(t.dispatched_at, tz, zone=True), "应到 Due",
         local_text(t.due_at, tz, zone=True)],
        ["亲启 Personal to", t.personal_to or "—", "状态 Status", t.status],
    ]


def _carriers(t: TransitView) -> list[list[Any]]:
    where = {c: p["package"] for p in t.packages for c in p["carriers"]}
    rows: list[list[Any]] = [["序号 No.", "载体编号 Carrier", "封装 Package"]]
    rows += [[i, code, where.get(code, "—")] for i, code in enumerate(t.carriers, 1)]
    return rows


def write_hop_receipt(t: TransitView, number: int, path: Path, tz: Any) -> Path:
    """The receipt of hop `number` of transit `t`: what the taker signed for."""
    hop = next((h for h in t.hops if h.number == number), None)
    if hop is None:
        raise DomainError(f"Transit #{t.id} has no hop {number}.", f"传递 #{t.id} 没有第 {number} 次交接。")
    st = _styles()
    doc = _doc(path, f"Transit #{t.id} hop {number} receipt")
    w = doc.width
    story: list[Any] = [Paragraph(_esc(f"涉密载体交接签收单 Transit receipt — #{t.id}, {_KIND.get(hop.kind, hop.kind)} "
                                       f"{hop.number}"), st["title"])]
    story.append(_table(_head(t, tz), [w * 0.18, w * 0.32, w * 0.18, w * 0.32], st["cell"]))
    parties: list[list[Any]] = [["交出人 Giver", "接收人 Taker", "同行交通员 Second courier", "时间 Time",
                                 "地点 Place"],
                                [hop.giver, hop.taker, hop.companion or "—", local_text(hop.at, tz, zone=True),
                                 hop.place or "—"]]
    story.append(Paragraph("交接双方（刷卡并输入PIN签收）Parties, each signed with badge and PIN", st["h"]))
    story.append(_table(parties, [w * 0.2] * 5, st["cell"]))
    story.append(Paragraph("封志核对 Seals", st["h"]))
    story.append(_table(_seals(hop), [w * 0.3, w * 0.25, w * 0.25, w * 0.2], st["cell"]))
    if hop.incident is not None:
        story.append(Paragraph(_esc(f"封志不符，已报事件 #{hop.incident} Seal incident #{hop.incident} opened"),
                               st["p"]))
    story.append(Paragraph("载体清单 Carriers", st["h"]))
    story.append(_table(_carriers(t), [w * 0.1, w * 0.45, w * 0.45], st["cell"]))
    sign = _table([["交出人签字 Giver's signature", "接收人签字 Taker's signature"], ["", ""]], [w * 0.5, w * 0.5],
                  st["cell"])
    sign.setStyle(TableStyle([("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white]),
                              ("TOPPADDING", (0, 1), (-1, -1), 14), ("BOTTOMPADDING", (0, 1), (-1, -1), 14)]))
    story += [Spacer(1, 3 * mm), sign, Spacer(1, 3 * mm),
              Paragraph(_esc(f"台账链头 Ledger head after the hop: {hop.head_seq}:{hop.head_hash}"), st["p"])]
    doc.build(story)
    return path


def write_transit_sheet(t: TransitView, path: Path, tz: Any) -> Path:
    """The whole chain of a transit: every hop with its parties, seals and ledger head (传递单)."""
    st = _styles()
    doc = _doc(path, f"Transit #{t.id} sheet")
    w = doc.width
    story: list[Any] = [Paragraph(_esc(f"涉密载体传递单 Transit sheet — #{t.id}"), st["title"]),
                        _table(_head(t, tz), [w * 0.18, w * 0.32, w * 0.18, w * 0.32], st["cell"]),
                        Paragraph("交接记录 Hops", st["h"])]
    rows: list[list[Any]] = [["次 No.", "类别 Kind", "交出 Giver", "接收 Taker", "同行 Second", "时间 Time",
                              "封志 Seals", "链头 Ledger head"]]
    for h in t.hops:
        seals = "; ".join(f"{s['package']} {s.get('seen')}{'' if s.get('ok') else ' ≠ ' + str(s.get('expected'))}"
                          for s in h.seals) or "—"
        rows.append([h.number, _KIND.get(h.kind, h.kind), h.giver, h.taker, h.companion or "—",
                     local_text(h.at, tz, zone=True), seals, f"{h.head_seq}:{h.head_hash[:16]}…"])
    story.append(_table(rows, [w * x for x in (0.05, 0.1, 0.13, 0.13, 0.12, 0.14, 0.17, 0.16)], st["cell"]))
    story.append(Paragraph("载体清单 Carriers", st["h"]))
    story.append(_table(_carriers(t), [w * 0.1, w * 0.45, w * 0.45], st["cell"]))
    if t.hops:
        last = t.hops[-1]
        story.append(Paragraph(_esc(f"台账链头 Ledger head after the last hop: {last.head_seq}:{last.head_hash}"),
                               st["p"]))
    doc.build(story)
    return path
