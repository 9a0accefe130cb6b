"""Classified meetings (涉密会议, issue 21) on a real database (SQLite and PostgreSQL): documents issued to signed-in,
cleared attendees, bound to the venue (R-124), collected back, kept only below 机密 (R-125), and a meeting closes
only when every document is accounted for and the venue was checked (R-123, R-126). Refusals write nothing."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from tests_support import Clock, approve, count_events, state_of

from tracker import queries
from tracker.demo import badge, place
from tracker.ledger import verify
from tracker.reports.meeting_record import write_pdf_record
from tracker.services import circulation, meetings, registry
from tracker.services.common import Refused, Signed
from tracker.store import Store

VENUE = place("BJ", "R1")
SAFE = place("BJ", "R1SAFE1")
SHELF = place("BJ", "R2C1S1")
_DOCS = itertools.count(1)


def register(store: Store, clerk: Signed, level: str) -> str:
    data = registry.CarrierInput(location=SAFE if level == "top_secret" else SHELF, classification=level,
                                 period="10y", scope="办公室;法规处;技术处", title="会议文件",
                                 doc_number=f"BJ会〔2026〕{next(_DOCS)}号", copy_number=1, copy_total=1)
    return registry.register(store.uow(), clerk, data)


def meeting(store: Store, people: dict[str, Signed], level: str = "secret",
            who: tuple[str, ...] = ("reader_important", "reader_core", "reader_general")) -> int:
    start = store.clock()
    return meetings.new(store.uow(), people["clerk"], "2026年第四季度保密工作会议", VENUE, start,
                        start + timedelta(hours=2), level, [badge(k) for k in who])


def _replays(store: Store) -> None:
    with store.engine.connect() as conn:
        report = verify(conn)
    assert report.ok and report.difference_count == 0, report.differences


def test_a_kept_secret_copy_holds_the_meeting_open_until_collected(store: Store, people: dict[str, Signed],
                                                                   clock: Clock) -> None:
    doc = register(store, people["clerk"], "secret")
    m = meeting(store, people)
    meetings.issue(store.uow(), people["clerk"], m, people["reader_important"], [doc])
    assert state_of(store, doc) == ("on_loan", badge("reader_important"), None)
    before = count_events(store)
    with pytest.raises(Refused) as kept:  # 机密 may not be kept
        meetings.keep(store.uow(), people["clerk"], m, doc)
    assert kept.value.rules == ["R-124"]
    with pytest.raises(Refused) as closing:
        meetings.close(store.uow(), people["clerk"], m, "会场及住地已清查，无遗留")
    assert closing.value.rules == ["R-123"] and doc in closing.value.message("en")
    with pytest.raises(Refused) as carried:  # bound to the venue: no carrying out while the meeting holds it
        a = approve(store, people["approver"], "carry_out", doc, grantee=badge("reader_important"))
        circulation.carry_out(store.uow(), people["clerk"], doc, people["reader_important"],
                              store.clock() + timedelta(days=1), a)
    assert "R-124" in carried.value.rules
    with pytest.raises(Refused) as handed:  # nor handed on to a courier
        circulation.handover(store.uow(), people["clerk"], [doc], people["reader_important"], people["courier"])
    assert handed.value.rules == ["R-124"]
    assert count_events(store) == before + 1  # only the approval
    clock.advance(hours=3)  # the meeting has ended: collecting what is still out is a duty
    with store.uow(readonly=True) as uow:
        assert [(a.kind, a.carrier) for a in queries.alerts(uow) if a.carrier == doc] == [("meeting", doc)]
    meetings.collect(store.uow(), people["clerk"], m, [doc])
    assert state_of(store, doc) == ("in_store", None, SHELF)
    with pytest.raises(Refused) as unchecked:
        meetings.close(store.uow(), people["clerk"], m, "  ")
    assert unchecked.value.rules == ["R-126"]
    head = meetings.close(store.uow(), people["clerk"], m, "会场及住地已清查，无遗留")
    with store.uow(readonly=True) as uow:
        v = meetings.view(uow, m)
        assert v.status == "closed" and (v.head_seq, v.head_hash) == head == uow.ledger.head()
        assert [(x.code, x.outcome) for x in v.materials] == [(doc, "collected")]
        signed = {a.badge: a.signed_in_at for a in v.attendees}
        assert signed[badge("reader_important")] == people["reader_important"].at
        assert signed[badge("reader_general")] is None
        assert [e.type for e in queries.history(uow, doc)] == ["registered", "meeting_issued", "meeting_collected"]
    _replays(store)


def test_a_confidential_copy_registered_as_kept_lets_the_meeting_close(
        store: Store, people: dict[str, Signed]) -> None:
    doc = register(store, people["clerk"], "confidential")
    lost = register(store, people["clerk"], "confidential")
    m = meeting(store, people)
    meetings.issue(store.uow(), people["clerk"], m, people["reader_general"], [doc, lost])
    meetings.keep(store.uow(), people["clerk"], m, doc)
    deadline = meetings.report_missing(store.uow(), people["clerk"], m, lost, "会后未交回")
    assert deadline == store.clock() + timedelta(days=60)  # R-155 for 秘密
    meetings.close(store.uow(), people["clerk"], m, "已清查会场")
    assert state_of(store, doc) == ("on_loan", badge("reader_general"), None)  # kept: the attendee holds it
    assert state_of(store, lost)[0] == "missing"
    with store.uow(readonly=True) as uow:
        assert {(x.code, x.outcome) for x in meetings.view(uow, m).materials} == {(doc, "kept"), (lost, "missing")}
    _replays(store)


def test_meeting_record_pdf_reads_back(store: Store, people: dict[str, Signed], tmp_path: Path) -> None:
    """R-127: the record names every attendee and their sign-in, every copy issued and how it came back, and the
    ledger head of the closing event."""
    docs = [register(store, people["clerk"], "confidential") for _ in range(2)]
    m = meeting(store, people, who=("reader_important", "reader_general"))
    meetings.issue(store.uow(), people["clerk"], m, people["reader_important"], docs[:1])
    meetings.issue(store.uow(), people["clerk"], m, people["reader_general"], docs[1:])
    meetings.collect(store.uow(), people["clerk"], m, docs[:1])
    meetings.keep(store.uow(), people["clerk"], m, docs[1])
    seq, digest = meetings.close(store.uow(), people["clerk"], m, "会场已清查")
    with store.uow(readonly=True) as uow:
        view = meetings.view(uow, m)
    path = write_pdf_record(view, tmp_path / "record.pdf", store.policy.tz)
    pdf = pdfium.PdfDocument(str(path))
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))).replace("\r", "").replace("\n", "")
    for expected in (badge("reader_important"), badge("reader_general"), *docs, "已收回", "登记留存", "会场已清查",
                     f"{seq}:{digest}"):
        assert expected in text, expected


def test_attendee_without_clearance_or_sign_in_or_listing_is_refused_at_issue(
        store: Store, people: dict[str, Signed]) -> None:
    doc = register(store, people["clerk"], "secret")
    m = meeting(store, people)
    before = count_events(store)
    with pytest.raises(Refused) as uncleared:  # 一般 may not hold 机密
        meetings.issue(store.uow(), people["clerk"], m, people["reader_general"], [doc])
    assert uncleared.value.rules == ["R-159"] and "R-159" in uncleared.value.message("zh")
    with pytest.raises(Refused) as unsigned:  # a badge typed, not signed with the PIN
        meetings.issue(store.uow(), people["clerk"], m, badge("reader_important"), [doc])
    assert unsigned.value.rules == ["R-127"]
    with pytest.raises(Refused) as unlisted:
        meetings.issue(store.uow(), people["clerk"], m, people["approver2"], [doc])
    assert unlisted.value.rules == ["R-127"]
    with pytest.raises(Refused) as reader:  # a reader may not run the desk
        meetings.issue(store.uow(), people["reader_core"], m, people["reader_important"], [doc])
    assert reader.value.rules == ["R-25"]
    assert count_events(store) == before and state_of(store, doc) == ("in_store", None, SHELF)
