"""Every register of RULES §4 that the register's data supports, each as one declarative `Register`: its titles, its
columns with Chinese and English headers, the ledger events it lists and how one event becomes its rows, who may read
it and who signs the printed copy (the seeds' signatures: 签收, 借阅人签字, 监销人…).

What the data does not hold yet is not printed as if it did: the 机要信件 log, the print job, extract, meeting, fax,
repair/visitor and 定密 drafting records have no events behind them (issue 19 lists them for later). A definition
never queries: `tracker.reports.registers.reader` runs one query shape for all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tracker.domain import CarrierKind, CarrierStatus, Classification, Clearance, EventType, Role, parse_utc
from tracker.reports.registers.model import Column, Context, EventRow, Register
from tracker.rules import Action

E = EventType

_EVENT_NAMES: dict[str, tuple[str, str]] = {
    E.REGISTERED: ("登记（收文）", "registered (received)"),
    E.COPIED: ("复制", "copied"),
    E.CHECKED_OUT: ("借出", "checked out"),
    E.CHECKED_IN: ("归还", "checked in"),
    E.HANDED_OVER: ("交接", "handed over"),
    E.CARRIED_OUT: ("携带外出", "carried out"),
    E.RECLASSIFIED: ("密级变更", "reclassified"),
    E.TRANSFERRED_OUT: ("移交外单位（发文）", "transferred out (sent)"),
    E.RETURNED_TO_ISSUER: ("退还发文单位（清退）", "returned to the issuer"),
    E.DESTROYED: ("销毁", "destroyed"),
    E.DESTRUCTION_LISTED: ("报废（列入销毁）", "retired (listed for destruction)"),
    E.MEDIUM_CERTIFIED: ("产品认证登记", "certification recorded"),
    E.REPORTED_MISSING: ("报告丢失", "reported missing"),
    E.FOUND: ("找回", "found"),
    E.INCIDENT_OPENED: ("事件登记", "incident opened"),
    E.INCIDENT_UPDATED: ("采取措施", "measure taken"),
    E.INCIDENT_CLOSED: ("事件结案", "incident closed"),
    E.PERSON_ADDED: ("登记涉密人员", "person registered"),
    E.PERSON_CHANGED: ("变更", "changed"),
    E.PERSON_DEPARTED: ("离岗（权限已清理）", "departed (access revoked)"),
}


def event_name(ctx: Context, type_: str) -> str:
    zh, en = _EVENT_NAMES.get(type_, (type_, type_))
    return ctx.say(zh, en)


def _labels(enum_: Any) -> dict[str, tuple[str, str]]:
    out = {}
    for m in enum_:
        try:
            out[m.value] = (m.zh, m.value)
        except KeyError:  # a value with no Chinese name yet shows as stored
            out[m.value] = (m.value, m.value)
    return out


_LEVELS, _KINDS = _labels(Classification), _labels(CarrierKind)
_STATUSES, _CLEARANCES = _labels(CarrierStatus), _labels(Clearance)


def _label(ctx: Context, table: dict[str, tuple[str, str]], value: str | None) -> str:
    """A stored enum value as people read it (机密 / secret); an unknown value shows as it is stored."""
    if not value:
        return ""
    zh, en = table.get(value, (value, value))
    return en if ctx.lang == "en" else zh


def _level(ctx: Context, value: str | None) -> str:
    return _label(ctx, _LEVELS, value)


def _kind(ctx: Context, value: str | None) -> str:
    return _label(ctx, _KINDS, value)


def _status(ctx: Context, value: str | None) -> str:
    return _label(ctx, _STATUSES, value)


def _clearance(ctx: Context, value: str | None) -> str:
    return _label(ctx, _CLEARANCES, value)


def _roles(ctx: Context, value: str | None) -> str:
    names = []
    for r in (value or "").split(","):
        try:
            names.append(ctx.say(Role(r).zh, r) if r else "")
        except ValueError:
            names.append(r)
    return "、".join(n for n in names if n)


def _copy(e: EventRow) -> str:
    return f"{e.copy_number}/{e.copy_total}" if e.copy_number is not None else ""


def _where(ctx: Context, e: EventRow) -> str:
    """Where the carrier is now (去向): its holder or its place, or what became of it."""
    if e.holder:
        return ctx.who(e.holder)
    if e.location:
        return e.location
    return _status(ctx, e.status)


def _due(e: EventRow) -> Any:
    due = e.payload.get("due")
    return parse_utc(due) if isinstance(due, str) and due.endswith("Z") else None


_SEQ = Column("seq", "序号", "Seq.", 0.5, "int")
_AT = Column("at", "时间", "Time", 1.35, "time")
_CODE = Column("code", "载体编号", "Carrier", 1.1)
_TITLE = Column("title", "标题", "Title", 2.0)
_LEVEL = Column("level", "密级", "Level", 0.5)
_DOC = Column("doc_number", "文号", "Doc. number", 1.25)


# --- carrier register / receipt and dispatch (收发文登记, 密件登记) ---------------------------------------------------


def _carrier_rows(e: EventRow, ctx: Context) -> Iterable[Sequence[Any]]:
    if e.type in (E.TRANSFERRED_OUT, E.RETURNED_TO_ISSUER):
        p = e.payload
        source = f"{p.get('unit') or ''} {p.get('receiver') or ''} {p.get('receipt') or ''}".strip()
    elif e.type == E.COPIED:
        source = ctx.say(f"复制自 {e.payload.get('original', '')}", f"copy of {e.payload.get('original', '')}")
    else:
        source = e.issuer or ""
    yield (e.seq, e.at, event_name(ctx, e.type), e.carrier, source, e.doc_number or "", e.title or "",
           _kind(ctx, e.kind), _level(ctx, e.level), e.period or "", e.scope or "", _copy(e), e.pages,
           ctx.who(e.actor), _where(ctx, e), "")


_CARRIER_COLUMNS = (
    _SEQ, _AT, Column("entry", "收/发", "Entry", 0.9), _CODE, Column("source", "来源/去向单位", "From / to", 1.3),
    _DOC, _TITLE, Column("kind", "类型", "Kind", 0.6), _LEVEL, Column("period", "保密期限", "Period", 0.6),
    Column("scope", "知悉范围", "Need to know", 1.0), Column("copy", "份号", "Copy", 0.4),
    Column("pages", "页数", "Pages", 0.4, "int"), Column("clerk", "登记人", "Registered by", 0.9),
    Column("now", "现去向", "Now with / at", 1.0), Column("sign", "签收", "Receiver's signature", 0.8, signature=True),
)
_CARRIER_EVENTS = (E.REGISTERED, E.COPIED, E.TRANSFERRED_OUT, E.RETURNED_TO_ISSUER)


# --- circulation (传阅/阅办) ------------------------------------------------------------------------------------------


def _circulation_rows(e: EventRow, ctx: Context) -> Iterable[Sequence[Any]]:
    giver = ctx.who(e.from_holder) if e.from_holder else (e.from_location or "")
    taker = ctx.who(e.to_holder) if e.to_holder else (e.to_location or "")
    yield (e.seq, e.at, event_name(ctx, e.type), e.carrier, e.title or "", _level(ctx, e.level), giver, taker,
           ctx.who(e.actor), "")


_CIRCULATION = Register(
    "circulation", "涉密载体传阅（流转）登记", "Circulation log", "RULES §4 circulation log (000:59; 000:97; 000:377)",
    (_SEQ, _AT, Column("event", "事项", "Event", 0.7), _CODE, _TITLE, _LEVEL,
     Column("from", "交出", "From", 1.2), Column("to", "接收", "To", 1.2), Column("clerk", "经办人", "Clerk", 1.0),
     Column("sign", "阅件人签字", "Reader's signature", 0.9, signature=True)),
    (E.CHECKED_OUT, E.CHECKED_IN, E.HANDED_OVER, E.CARRIED_OUT), _circulation_rows,
    signatures=(("保密员", "Clerk"), ("部门负责人", "Head of section")),
)


# --- borrowing (借阅登记本) with the loan application slip (申请借阅单) -----------------------------------------------


def _borrowing_rows(e: EventRow, ctx: Context) -> Iterable[Sequence[Any]]:
    back = ctx.returned(e.carrier, e.seq)
    purpose = e.payload.get("repair") and ctx.say(f"维修：{e.payload['repair']}", f"repair: {e.payload['repair']}")
    yield (e.seq, e.at, e.carrier, e.doc_number or "", e.title or "", _level(ctx, e.level), ctx.who(e.to_holder),
           ctx.unit_of(e.to_holder), e.approval_id, ctx.approved_by(e.approval_id), _due(e),
           e.payload.get("reading_place") or "", purpose or "", back[1] if back else None,
           ctx.who(back[2]) if back else "", "")


_BORROWING = Register(
    "borrowing", "涉密载体借阅登记", "Borrowing register", "RULES §4 borrowing register (000:61; 000:99; 004:104)",
    (_SEQ, Column("out", "借出时间", "Out", 1.35, "time"), _CODE, _DOC, _TITLE, _LEVEL,
     Column("borrower", "借阅人", "Borrower", 1.1), Column("unit", "部门", "Section", 0.7),
     Column("approval", "审批号", "Approval", 0.5, "int"), Column("approvers", "批准人", "Approved by", 1.1),
     Column("due", "借阅期限", "Due", 1.35, "time"), Column("place", "阅读场所", "Reading place", 0.9),
     Column("purpose", "用途", "Purpose", 0.7), Column("back", "归还时间", "Returned", 1.35, "time"),
     Column("closed_by", "清销人", "Closed by", 0.9),
     Column("sign", "借阅人签字", "Borrower's signature", 0.8, signature=True)),
    (E.CHECKED_OUT,), _borrowing_rows, slip=True, returns=True,
    signatures=(("保密员", "Clerk"), ("借阅部门负责人", "Head of the borrowing section")),
)


# --- copies (复制登记) -----------------------------------------------------------------------------------------------


def _copy_rows(e: EventRow, ctx: Context) -> Iterable[Sequence[Any]]:
    p = e.payload
    number = p.get("copy") or [None, None]
    approvers = ctx.approved_by(e.approval_id) or "、".join(ctx.who(b) for b in p.get("approvers") or [])
    yield (e.seq, e.at, p.get("original", ""), e.carrier, f"{number[0]}/{number[1]}", e.doc_number or "",
           e.title or "", _level(ctx, p.get("classification") or e.level), p.get("copying_unit") or "",
           e.approval_id, approvers, ctx.who(e.actor), "")


_COPIES = Register(
    "copies", "涉密载体复制登记", "Copy register", "RULES §4 copy register (000:527; 000:383; 004:90)",
    (_SEQ, _AT, Column("original", "原件编号", "Original", 1.0), Column("code", "复制件编号", "Copy", 1.0),
     Column("copy", "份号", "Copy no.", 0.5), _DOC, _TITLE, _LEVEL,
     Column("unit", "复制单位", "Copying unit", 0.8), Column("approval", "审批号", "Approval", 0.5, "int"),
     Column("approvers", "批准人", "Approved by", 1.1), Column("clerk", "复制人", "Copied by", 1.0),
     Column("stamp", "复制戳记", "Copy stamp", 0.7, signature=True)),
    (E.COPIED,), _copy_rows,
    signatures=(("批准领导", "Approving leader"), ("保密员", "Clerk")),
)


# --- carrying out (携带外出登记) --------------------------------------------------------------------------------------


def _carry_rows(e: EventRow, ctx: Context) -> Iterable[Sequence[Any]]:
    back = ctx.returned(e.carrier, e.seq)
    yield (e.seq, e.at, e.carrier, e.title or "", _level(ctx, e.level), ctx.who(e.to_holder), ctx.who(e.witness),
           e.payload.get("destination") or "", ctx.say("维修", "repair") if e.payload.get("repair") else "",
           e.approval_id, ctx.approved_by(e.approval_id), _due(e), back[1] if back else None, "")


_CARRY_OUT = Register(
    "carry_out", "涉密载体携带外出登记", "Carry-out register", "RULES §4 carry-out register (000:193; 000:209; 004:94)",
    (_SEQ, Column("out", "外出时间", "Out", 1.35, "time"), _CODE, _TITLE, _LEVEL,
     Column("custodian", "携带人", "Carried by", 1.1), Column("companion", "陪同人", "Companion", 1.1),
     Column("destination", "目的地", "Destination", 1.0), Column("purpose", "事由", "Purpose", 0.6),
     Column("approval", "审批号", "Approval", 0.5, "int"), Column("approvers", "批准人", "Approved by", 1.1),
     Column("due", "应归还", "Due", 1.35, "time"), Column("back", "归还时间", "Returned", 1.35, "time"),
     Column("sign", "携带人签字", "Carrier's signature", 0.8, signature=True)),
    (E.CARRIED_OUT,), _carry_rows, returns=True,
    signatures=(("保密员", "Clerk"), ("批准领导", "Approving leader")),
)


# --- handover (双向登记 / 移交) ---------------------------------------------------------------------------------------


def _handover_rows(e: EventRow, ctx: Context) -> Iterable[Sequence[Any]]:
    p = e.payload
    giver_at = parse_utc(p["giver_signed"]) if p.get("giver_signed") else None
    taker_at = parse_utc(p["taker_signed"]) if p.get("taker_signed") else None
    yield (e.seq, e.at, e.carrier, e.title or "", _level(ctx, e.level), ctx.who(e.from_holder), giver_at,
           ctx.who(e.to_holder), taker_at, ctx.who(e.actor), "", "")


_HANDOVER = Register(
    "handover", "涉密载体交接（双向）登记", "Handover record", "RULES §4 two-way transfer log and handover record "
    "(002:496; 000:535; 002:173)",
    (_SEQ, _AT, _CODE, _TITLE, _LEVEL, Column("giver", "交出人", "Giver", 1.1),
     Column("giver_signed", "交出人确认", "Giver signed", 1.35, "time"), Column("taker", "接收人", "Taker", 1.1),
     Column("taker_signed", "接收人确认", "Taker signed", 1.35, "time"), Column("clerk", "经办人", "Recorded by", 1.0),
     Column("giver_sign", "交出人签字", "Giver's signature", 0.8, signature=True),
     Column("taker_sign", "接收人签字", "Taker's signature", 0.8, signature=True)),
    (E.HANDED_OVER,), _handover_rows,
    signatures=(("监交领导", "Supervising leader"),),
)


# --- clear-back of departing people (清退) ----------------------------------------------------------------------------


def _clear_back_rows(e: EventRow, ctx: Context) -> Iterable[Sequence[Any]]:
    badge = e.to_holder if e.type == E.PERSON_CHANGED else e.from_holder
    if e.type == E.PERSON_CHANGED:
        if e.payload.get("status") != "departing":
            return
        held = list(e.payload.get("still_held") or [])
        step = ctx.say("离岗清退核对", "departure check")
    else:
        held = []
        step = event_name(ctx, e.type)
    yield (e.seq, e.at, ctx.who(badge), ctx.unit_of(badge), step, len(held), "、".join(held),
           ctx.who(e.actor), "")


_CLEAR_BACK = Register(
    "clear_back", "涉密载体清退登记（离岗）", "Clear-back record (departures)", "RULES §4 clear-back record "
    "(004:108; 001:175); R-140",
    (_SEQ, _AT, Column("person", "人员", "Person", 1.2), Column("unit", "部门", "Section", 0.8),
     Column("step", "事项", "Step", 1.0), Column("count", "未清退件数", "Still held", 0.6, "int"),
     Column("held", "未清退载体", "Carriers still held", 2.2), Column("officer", "核对人", "Checked by", 1.1),
     Column("sign", "本人签字", "Person's signature", 0.9, signature=True)),
    (E.PERSON_CHANGED, E.PERSON_DEPARTED), _clear_back_rows, action=Action.AUDIT,
    signatures=(("保密办", "Security officer"), ("部门负责人", "Head of section")),
)


# --- destruction (销毁清单) -------------------------------------------------------------------------------------------


def _destruction_rows(e: EventRow, ctx: Context) -> Iterable[Sequence[Any]]:
    p = e.payload
    yield (e.seq, e.at, e.carrier, e.doc_number or "", _copy(e), _kind(ctx, e.kind), _level(ctx, e.level),
           e.title or "", p.get("method") or "", p.get("site") or "", p.get("batch"), e.approval_id,
           ctx.approved_by(e.approval_id), "、".join(ctx.who(b) for b in p.get("supervisors") or []),
           ctx.who(e.actor))


_DESTRUCTION = Register(
    "destruction", "涉密载体销毁清单", "Destruction register", "RULES §4 destruction list (004:111; 004:112; 000:385)",
    (_SEQ, _AT, _CODE, _DOC, Column("copy", "份号", "Copy", 0.4), Column("kind", "类型", "Kind", 0.6), _LEVEL,
     _TITLE, Column("method", "销毁方式", "Method", 0.7), Column("site", "销毁地点", "Site", 1.0),
     Column("batch", "批次", "Batch", 0.4, "int"), Column("approval", "审批号", "Approval", 0.5, "int"),
     Column("approvers", "批准人", "Approved by", 1.1), Column("supervisors", "监销人", "Supervisors", 1.5),
     Column("by", "执行人", "Carried out by", 1.0)),
    (E.DESTROYED,), _destruction_rows, action=Action.REGISTERS,
    signatures=(("批准领导", "Approving leader"), ("监销人", "Supervisor"), ("监销人", "Supervisor"),
                ("押运人", "Escort")),
)


# --- personnel (涉密人员登记) -----------------------------------------------------------------------------------------


def _personnel_rows(e: EventRow, ctx: Context) -> Iterable[Sequence[Any]]:
    p = e.payload
    badge = e.from_holder if e.type == E.PERSON_DEPARTED else e.to_holder
    if e.type == E.PERSON_CHANGED and not p.keys() & {"clearance", "roles", "unit", "status"}:
        return  # a PIN change is not a personnel record
    if e.type == E.PERSON_CHANGED:
        parts = [ctx.say(zh, en) for key, zh, en in (("clearance", "涉密等级", "clearance"), ("roles", "岗位", "roles"),
                                                     ("unit", "部门", "section"), ("status", "状态", "status"))
                 if key in p]
        what = ctx.say("变更", "changed") + " " + "、".join(parts)
    else:
        what = event_name(ctx, e.type)
    yield (e.seq, e.at, ctx.who(badge), p.get("unit") or ctx.unit_of(badge), what, _clearance(ctx, p.get("clearance")),
           _roles(ctx, p.get("roles")) if "roles" in p else "", e.approval_id, ctx.approved_by(e.approval_id),
           ctx.who(e.actor))


_PERSONNEL = Register(
    "personnel", "涉密人员登记（等级与岗位变更）", "Personnel register",
    "RULES §4 personnel (002:235; 002:416; 004:58)",
    (_SEQ, _AT, Column("person", "人员", "Person", 1.2), Column("unit", "部门", "Section", 0.8),
     Column("change", "事项", "Change", 1.3), Column("clearance", "涉密等级", "Clearance", 0.6),
     Column("roles", "岗位", "Roles", 1.2), Column("approval", "审批号", "Approval", 0.5, "int"),
     Column("approvers", "批准人", "Approved by", 1.2), Column("by", "经办人", "Recorded by", 1.0)),
    (E.PERSON_ADDED, E.PERSON_CHANGED, E.PERSON_DEPARTED), _personnel_rows, action=Action.AUDIT,
    signatures=(("保密办", "Security officer"), ("保密委员会", "Secrecy committee")),
)


# --- reclassification and transfer (定密变更 / 移交 / 退还) -----------------------------------------------------------


def _transfer_rows(e: EventRow, ctx: Context) -> Iterable[Sequence[Any]]:
    p = e.payload
    if e.type == E.RECLASSIFIED:
        old, new = p.get("from") or {}, p.get("to") or {}
        change = (f"{_level(ctx, old.get('classification'))} {old.get('period') or ''} → "
                  f"{_level(ctx, new.get('classification'))} {new.get('period') or ''}")
        detail = p.get("basis") or ""
    else:
        change = f"{p.get('unit') or ''}"
        detail = f"{p.get('receiver') or ''} {p.get('receipt') or ''}".strip()
    yield (e.seq, e.at, event_name(ctx, e.type), e.carrier, e.doc_number or "", e.title or "", change, detail,
           e.approval_id, ctx.approved_by(e.approval_id), ctx.who(e.actor), "")


_TRANSFERS = Register(
    "transfers", "涉密载体密级变更及移交登记", "Reclassification and transfer register",
    "RULES §4 定密 record (000:517; 002:123) and two-way transfer log (002:129)",
    (_SEQ, _AT, Column("event", "事项", "Event", 1.0), _CODE, _DOC, _TITLE,
     Column("change", "变更/接收单位", "Change / receiving unit", 1.5),
     Column("detail", "依据/接收人及回执", "Basis / receiver and receipt", 1.3),
     Column("approval", "审批号", "Approval", 0.5, "int"), Column("approvers", "批准人", "Approved by", 1.1),
     Column("by", "经办人", "Recorded by", 1.0),
     Column("sign", "接收人签字", "Receiver's signature", 0.8, signature=True)),
    (E.RECLASSIFIED, E.TRANSFERRED_OUT, E.RETURNED_TO_ISSUER), _transfer_rows,
    signatures=(("保密办", "Security officer"), ("批准领导", "Approving leader")),
)


# --- incidents (丢失/找回) --------------------------------------------------------------------------------------------


def _incident_rows(e: EventRow, ctx: Context) -> Iterable[Sequence[Any]]:
    p = e.payload
    if e.type in (E.INCIDENT_OPENED, E.INCIDENT_UPDATED, E.INCIDENT_CLOSED):
        # The incident's own record: what was reported, each measure, how it ended — every kind of
        # incident (a seal, a gate, a cabinet), not only losses.
        number = f"#{p.get('incident')}"
        what = f"{event_name(ctx, e.type)} {number}"
        codes = e.carrier or " ".join(p.get("carriers") or [])
        if e.type == E.INCIDENT_OPENED:
            note = f"{p.get('kind', '')}: {p.get('summary', '')}"
        elif e.type == E.INCIDENT_UPDATED:
            note = str(p.get("measure", ""))
        else:
            note = f"{p.get('outcome', '')}: {p.get('resolution', '')}"
        deadline = parse_utc(p["deadline"]) if p.get("deadline") else None
        yield (e.seq, e.at, what, codes, e.title or "", _level(ctx, e.level), e.to_location or "", note, deadline,
               None, ctx.who(e.actor) if e.actor else ctx.say("（设备）", "(device)"))
        return
    last = ctx.who(e.from_holder) if e.from_holder else (e.from_location or e.to_location or "")
    deadline = parse_utc(p["leak_deadline"]) if p.get("leak_deadline") else None
    yield (e.seq, e.at, event_name(ctx, e.type), e.carrier, e.title or "", _level(ctx, e.level), last,
           p.get("note") or "", deadline, p.get("missing_days"), ctx.who(e.actor))


_INCIDENTS = Register(
    "incidents", "涉密载体丢失、找回及事件登记", "Loss, recovery and incident register",
    "RULES §4 incident report (000:259; 002:458)",
    (_SEQ, _AT, Column("event", "事项", "Event", 0.8), _CODE, _TITLE, _LEVEL,
     Column("last", "最后保管人/位置", "Last holder / place", 1.2), Column("note", "情况说明", "Note", 1.6),
     Column("deadline", "报告时限", "Report by", 1.35, "time"), Column("days", "丢失天数", "Days missing", 0.5, "int"),
     Column("by", "报告人", "Reported by", 1.0)),
    (E.REPORTED_MISSING, E.FOUND, E.INCIDENT_OPENED, E.INCIDENT_UPDATED, E.INCIDENT_CLOSED), _incident_rows,
    signatures=(("保密办", "Security officer"), ("单位负责人", "Head of the unit")),
)


# --- disclosure record of each 绝密 carrier (知悉范围记录) ------------------------------------------------------------


def _disclosure_rows(e: EventRow, ctx: Context) -> Iterable[Sequence[Any]]:
    how = event_name(ctx, e.type)
    people = [(e.to_holder, how)] if e.to_holder else []
    if e.witness:
        people.append((e.witness, ctx.say("陪同", "companion")))
    for badge, role in people:
        p = ctx.people.get(badge or "")
        yield (e.seq, e.at, e.carrier, e.doc_number or "", e.title or "", ctx.who(badge), p.unit if p else "",
               _clearance(ctx, p.clearance if p else None), role, e.approval_id, ctx.approved_by(e.approval_id))


_DISCLOSURE = Register(
    "disclosure", "绝密载体知悉人员记录", "Disclosure record of top-secret carriers",
    "RULES §2.5 and §4: everyone who had a 绝密 carrier (issue 19)",
    (_SEQ, _AT, _CODE, _DOC, _TITLE, Column("person", "知悉人", "Person", 1.2), Column("unit", "部门", "Section", 0.8),
     Column("clearance", "涉密等级", "Clearance", 0.6), Column("how", "方式", "How", 0.8),
     Column("approval", "审批号", "Approval", 0.5, "int"), Column("approvers", "批准人", "Approved by", 1.1)),
    (E.CHECKED_OUT, E.HANDED_OVER, E.CARRIED_OUT), _disclosure_rows, action=Action.AUDIT, top_secret_only=True,
    signatures=(("保密办", "Security officer"),),
)


def _media_rows(e: EventRow, ctx: Context) -> Iterable[Sequence[Any]]:
    """The media ledger also records each computer's product certification (R-110) and each retirement (报废, R-152)
    with its written reason; a plain destruction listing is not a retirement and shows only once destroyed."""
    if e.type == E.MEDIUM_CERTIFIED:  # which certified product the computer is
        for row in _carrier_rows(e, ctx):
            yield (*row[:4], f"{e.payload.get('product', '')} {e.payload.get('certificate', '')}".strip(), *row[5:])
        return
    if e.type != E.DESTRUCTION_LISTED:
        yield from _carrier_rows(e, ctx)
        return
    reason = e.payload.get("retired")
    if reason:
        for row in _carrier_rows(e, ctx):
            yield (*row[:4], f"{reason} (#{e.payload.get('batch')})", *row[5:])


REGISTERS: dict[str, Register] = {r.name: r for r in (
    Register("carriers", "涉密载体登记（收发）", "Carrier register (receipt and dispatch)",
             "RULES §4 carrier register (001:165; 002:129; 002:209)", _CARRIER_COLUMNS, _CARRIER_EVENTS,
             _carrier_rows, signatures=(("保密员", "Clerk"), ("保密办", "Security officer"))),
    _CIRCULATION, _BORROWING, _COPIES, _CARRY_OUT, _HANDOVER, _CLEAR_BACK, _DESTRUCTION, _PERSONNEL, _TRANSFERS,
    _INCIDENTS,
    Register("media", "存储介质台账", "Storage media ledger", "RULES §4 computer and media ledger (004:116; 000:395)",
             _CARRIER_COLUMNS, (*_CARRIER_EVENTS, E.MEDIUM_CERTIFIED, E.DESTRUCTION_LISTED, E.DESTROYED), _media_rows,
             media_only=True,
             signatures=(("保密员", "Clerk"), ("保密办", "Security officer"))),
    _DISCLOSURE,
)}
