"""Destruction certificate as PDF (销毁清单 and 监销记录): the batch's list item by item and copy by copy, its approval
and approvers, the supervisors with the moment each signed, the method per kind, the site, the time, and the ledger
head right after the destruction events — so the paper record can be checked against the chain (`ledger verify`).

It lays out a completed `tracker.services.destruction.BatchView` and nothing else; it must never query the register
itself, and it never prints a list that was not destroyed as if it had been.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from tracker.domain import CarrierKind, Classification, DomainError, utc_iso
from tracker.reports.stocktake_pdf import _esc, _styles, _table
from tracker.rules import DestructionMethod
from tracker.services.destruction import BatchView


def _copy(n: int | None, total: int | None) -> str:
    return f"第{n}份 共{total}份 ({n}/{total})" if n is not None and total is not None else "—"


def write_certificate(batch: BatchView, path: Path, tz: Any = None) -> Path:
    """The certificate of a completed batch; `tz` shows local times beside the UTC ones."""
    if batch.status != "completed" or batch.completed_at is None:
        raise DomainError(f"Destruction batch #{batch.id} is not completed: there is no certificate yet.",
                          f"销毁批次 #{batch.id} 尚未完成销毁，不能出具销毁清单。")
    st = _styles()
    doc = SimpleDocTemplate(str(path), pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm,
                            title=f"Destruction certificate #{batch.id}", author="carrier-tracker")
    width = doc.width
    local = f" ({batch.completed_at.astimezone(tz):%Y-%m-%d %H:%M %Z})" if tz is not None else ""
    methods = "; ".join(f"{CarrierKind(k).zh} {k}: {DestructionMethod(m).zh} {m}"
                        for k, m in sorted(batch.methods.items()))
    story: list[Any] = [Paragraph(_esc(f"涉密载体销毁清单及监销记录 Destruction certificate — batch #{batch.id} "
                                       f"{batch.name}"), st["title"])]
    facts = [
        ["申请人 Requested by", batch.requested_by, "审批 Approval", f"#{batch.approval_id} ({batch.approval_status})"],
        ["审批人 Approved by", ", ".join(f"{b} {n}" for b, n in batch.approvers), "执行人 Carried out by",
         batch.completed_by or ""],
        ["销毁场所 Site", batch.site or "", "销毁时间 Time", utc_iso(batch.completed_at) + local],
        ["销毁方式 Method", methods, "数量 Items", str(len(batch.items))],
    ]
    story.append(_table(facts, [width * 0.14, width * 0.36, width * 0.14, width * 0.36], st["cell"]))
    story.append(Paragraph("销毁清单 List (逐件逐份核对, R-147)", st["h"]))
    rows: list[list[Any]] = [["序号 No.", "编号 Code", "文件编号 Doc number", "份号 Copy", "类型 Kind", "密级 Level",
                              "标题 Title", "现场核对 Scanned"]]
    for i, item in enumerate(batch.items, 1):
        rows.append([i, item.code, item.doc_number or "", _copy(item.copy_number, item.copy_total),
                     f"{CarrierKind(item.kind).zh} {item.kind}", f"{Classification(item.level).zh} {item.level}",
                     item.title, utc_iso(item.scanned_at) if item.scanned_at else ""])
    story.append(_table(rows, [width * x for x in (0.05, 0.12, 0.14, 0.11, 0.12, 0.1, 0.22, 0.14)], st["cell"]))
    if batch.extras:
        story.append(Paragraph("现场清单外物品（已移出）Extra items set aside at the site", st["h"]))
        story.append(_table([["编号 Code", "去向 Set aside"], *[[c, r or ""] for c, r in batch.extras]],
                            [width * 0.3, width * 0.7], st["cell"]))
    sign: list[list[Any]] = [["监销人 Supervisor", "姓名 Name", "身份验证 Signed (badge + PIN)", "签字 Signature"]]
    sign += [[s["badge"], s["name"], s["signed_at"], ""] for s in batch.supervisors]
    sig_table = _table(sign, [width * 0.18, width * 0.18, width * 0.3, width * 0.34], st["cell"])
    sig_table.setStyle(TableStyle([("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white]),
                                   ("TOPPADDING", (0, 1), (-1, -1), 12), ("BOTTOMPADDING", (0, 1), (-1, -1), 12)]))
    story.append(KeepTogether([Paragraph("监销记录 Supervision (二人以上监销, R-148)", st["h"]), sig_table]))
    story.append(Spacer(1, 4 * mm))
    story.append(Paragraph(_esc(f"台账链头 Ledger head after the destruction: {batch.head_seq}:{batch.head_hash}"),
                           st["p"]))
    doc.build(story)
    return path
