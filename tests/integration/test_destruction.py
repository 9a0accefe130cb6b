"""Destruction batches on a real database (SQLite and PostgreSQL): the list, its approval per the matrix, the scan at
the site, the completion under two supervisors, and every refusal path of issue 18. A refusal writes nothing."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from tests_support import approve, count_events, state_of

from tracker import queries
from tracker import stocktake as st
from tracker.demo import badge, place
from tracker.domain import DomainError
from tracker.schema import Approval, DestructionItem, Event
from tracker.schema_stocktake import StocktakeExpected
from tracker.services import approvals, circulation, destruction, endoflife, incidents, registry
from tracker.services.common import Refused, Signed
from tracker.stocktake.kinds import FindingKind
from tracker.store import Store

SHELF = place("BJ", "R2C1S1")
SAFE = place("BJ", "R1SAFE1")
SITE = "本单位保密办销毁室"


def register(store: Store, clerk: Signed, level: str = "secret", kind: str = "paper", **kw: object) -> str:
    secret = level in ("top_secret", "secret", "confidential")
    data = registry.CarrierInput(
        location=str(kw.pop("location", SAFE if level == "top_secret" else SHELF)), classification=level,
        kind=kind, period="10y" if secret else None, scope="办公室;法规处;技术处" if secret else None,
        copy_number=1 if level in ("top_secret", "secret") else None,
        copy_total=2 if level in ("top_secret", "secret") else None, title=str(kw.pop("title", "待销毁文件")),
        doc_number=str(kw.pop("doc_number", f"BJ密〔2026〕{next(_DOCS)}号")))  # one carrier per document copy
    return registry.register(store.uow(), clerk, data)


_DOCS = itertools.count(7)


def approved_batch(store: Store, people: dict[str, Signed], codes: list[str], requester: str = "clerk") -> int:
    """A batch listing `codes`, submitted by `requester` and approved by as many approvers as the matrix asks."""
    b = destruction.new(store.uow(), people[requester], "2026年第4季度销毁")
    destruction.add(store.uow(), people[requester], b, codes)
    a = destruction.submit(store.uow(), people[requester], b, store.clock() + timedelta(days=3))
    for who in ("approver", "approver2"):
        if approvals.decide(store.uow(), people[who], a, True) == "granted":
            break
    return b


def test_destruction_end_to_end_one_event_per_carrier(store: Store, people: dict[str, Signed]) -> None:
    paper = register(store, people["clerk"], "secret")
    usb = register(store, people["clerk"], "confidential", kind="usb_drive")
    b = approved_batch(store, people, [paper, usb])
    assert state_of(store, paper) == ("pending_destruction", None, SHELF)
    got = destruction.scan(store.uow(), people["clerk"], b, [paper, usb])
    assert sorted(got.matched) == sorted([paper, usb]) and got.extras == []
    before = count_events(store)
    done = destruction.complete(store.uow(), people["clerk"], b, [people["officer"], people["auditor"]],
                                {"paper": "shredding", "usb_drive": "physical"}, SITE)
    assert sorted(done.destroyed) == sorted([paper, usb])
    assert count_events(store) == before + 2
    assert state_of(store, paper) == ("destroyed", None, None)
    with store.uow(readonly=True) as uow:
        head = uow.ledger.head()
        assert (done.head_seq, done.head_hash) == head
        types = [e.type for e in queries.history(uow, usb)]
        assert types == ["registered", "destruction_listed", "destroyed"]
        ev = uow.session.execute(select(Event).where(Event.carrier == usb, Event.type == "destroyed")).scalar_one()
        assert '"physical"' in ev.payload and SITE in ev.payload and ev.witness == badge("officer")
        view = destruction.view(uow, b)
        assert view.status == "completed" and view.methods == {"paper": "shredding", "usb_drive": "physical"}
        assert [s["badge"] for s in view.supervisors] == [badge("officer"), badge("auditor")]
        # the item is off the open lists: the unique open_carrier_id is released
        assert all(i.open_carrier_id is None for i in uow.session.execute(select(DestructionItem)).scalars())


def test_top_secret_batch_needs_two_approvers(store: Store, people: dict[str, Signed]) -> None:
    ts = register(store, people["clerk"], "top_secret")
    b = destruction.new(store.uow(), people["clerk"])
    destruction.add(store.uow(), people["clerk"], b, [ts])
    a = destruction.submit(store.uow(), people["clerk"], b, store.clock() + timedelta(days=3))
    assert approvals.decide(store.uow(), people["approver"], a, True) == "pending"
    with pytest.raises(Refused) as err:  # not approved yet: nothing goes to the site
        destruction.scan(store.uow(), people["clerk"], b, [ts])
    assert err.value.rules == ["R-146"]
    assert approvals.decide(store.uow(), people["approver2"], a, True) == "granted"
    destruction.scan(store.uow(), people["clerk"], b, [ts])
    destruction.complete(store.uow(), people["clerk"], b, [people["officer"], people["reader_core"]],
                         {"*": "pulping"}, SITE)
    assert state_of(store, ts)[0] == "destroyed"


def test_carriers_on_loan_missing_or_in_another_batch_cannot_be_listed(store: Store,
                                                                       people: dict[str, Signed]) -> None:
    lent, lost, listed = (register(store, people["clerk"], "internal", doc_number=f"d{i}") for i in range(3))
    circulation.check_out(store.uow(), people["clerk"], lent, people["reader_core"])
    incidents.report_missing(store.uow(), people["clerk"], lost, note="not found")
    first = destruction.new(store.uow(), people["clerk"])
    destruction.add(store.uow(), people["clerk"], first, [listed])
    second = destruction.new(store.uow(), people["clerk"])
    before = count_events(store)
    for code, words in ((lent, "on_loan"), (lost, "missing"), (listed, f"another (#{first})")):
        with pytest.raises(Refused) as err:
            destruction.add(store.uow(), people["clerk"], second, [code])
        assert err.value.rules == ["R-147"] and words in err.value.message()
        assert "销毁" in err.value.message("zh")
    with pytest.raises(Refused):  # all or nothing: one bad carrier refuses the whole list
        destruction.add(store.uow(), people["clerk"], second, [register(store, people["clerk"], "internal"), lent])
    assert count_events(store) == before + 1  # only the registration inside the last call
    assert state_of(store, lent)[0] == "on_loan"


def test_a_carrier_under_an_open_stocktake_finding_cannot_be_listed(store: Store,
                                                                    people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"], "internal")
    sid = st.start(store.uow(), people["officer"], "Q4", [SHELF], [people["officer"], people["clerk"]], units=[])
    st.ingest(store.uow(), people["clerk"], sid, st.parse_upload(SHELF, device="HH1").reads)
    st.reconcile(store.uow(), people["clerk"], sid)  # the shelf was visited and the carrier not seen: missing
    b = destruction.new(store.uow(), people["clerk"])
    with pytest.raises(Refused) as err:
        destruction.add(store.uow(), people["clerk"], b, [code])
    assert "stock-take finding (missing)" in err.value.message()


def test_removing_restores_the_status_and_submitting_freezes_the_list(store: Store,
                                                                      people: dict[str, Signed]) -> None:
    a, b_ = register(store, people["clerk"], "internal"), register(store, people["clerk"], "internal")
    b = destruction.new(store.uow(), people["clerk"])
    destruction.add(store.uow(), people["clerk"], b, [a, b_])
    destruction.remove(store.uow(), people["clerk"], b, [b_])
    assert state_of(store, b_) == ("in_store", None, SHELF)
    destruction.submit(store.uow(), people["clerk"], b, store.clock() + timedelta(days=1))
    with pytest.raises(Refused) as err:
        destruction.add(store.uow(), people["clerk"], b, [b_])
    assert "can no longer change" in err.value.message()
    with pytest.raises(Refused):
        destruction.remove(store.uow(), people["clerk"], b, [a])
    with store.uow(readonly=True) as uow:
        approval = uow.session.execute(select(Approval)).scalar_one()
        assert approval.purpose == "destruction" and approval.requester_id is not None


def test_completion_refusals(store: Store, people: dict[str, Signed]) -> None:
    paper = register(store, people["clerk"], "secret")
    usb = register(store, people["clerk"], "secret", kind="usb_drive")
    b = approved_batch(store, people, [paper, usb])
    destruction.scan(store.uow(), people["clerk"], b, [paper])
    sups = [people["officer"], people["auditor"]]
    methods = {"paper": "shredding", "usb_drive": "physical"}
    before = count_events(store)

    def refused(supervisors: list[Signed | str], how: dict[str, str], site: str = SITE,
                actor: str = "clerk2") -> Refused:
        with pytest.raises(Refused) as err:
            destruction.complete(store.uow(), people[actor], b, supervisors, how, site)
        return err.value

    assert "not scanned" in refused(sups, methods).message()  # the USB drive is still unscanned
    destruction.scan(store.uow(), people["clerk"], b, [usb, "NOT-ON-THE-LIST"])
    extra = refused(sups, methods)
    assert "NOT-ON-THE-LIST" in extra.message() and extra.rules == ["R-147"]
    destruction.set_aside(store.uow(), people["clerk"], b, "NOT-ON-THE-LIST", "returned to the registry")
    one = refused([people["officer"]], methods)
    assert one.rules == ["R-148"] and "at least 2" in one.message()
    requester = refused([people["officer"], people["clerk"]], methods)
    assert "R-148" in requester.rules and "may not also supervise" in requester.message()
    executor = refused(sups, methods, actor="officer")  # the officer completes and would witness their own act
    assert executor.rules == ["R-148"]
    unsigned = refused([people["officer"], badge("auditor")], methods)
    assert "must sign" in unsigned.message()
    fmt = refused(sups, {"paper": "shredding", "usb_drive": "format"})
    assert fmt.rules == ["R-150"] and "can be recovered" in fmt.message() and "格式化" in fmt.message("zh")
    wrong = refused(sups, {"paper": "shredding", "usb_drive": "pulping"})
    assert wrong.rules == ["R-150"] and "usb_drive may not be destroyed by pulping" in wrong.message()
    assert refused(sups, methods, site="the car park").rules == ["R-149"]
    low = refused([people["officer"], people["reader_general"]], methods)
    assert "R-159" in low.rules
    assert count_events(store) == before
    assert state_of(store, usb)[0] == "pending_destruction"
    destruction.complete(store.uow(), people["clerk2"], b, sups, methods, SITE)
    twice = refused(sups, methods)
    assert twice.rules == ["R-147"] and "already completed" in twice.message()


def test_a_denied_batch_never_reaches_the_site(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"], "internal")
    b = destruction.new(store.uow(), people["clerk"])
    destruction.add(store.uow(), people["clerk"], b, [code])
    a = destruction.submit(store.uow(), people["clerk"], b, store.clock() + timedelta(days=1))
    with pytest.raises(Refused) as own:  # the requester never approves their own list
        approvals.decide(store.uow(), people["clerk"], a, True)
    assert "R-25" in own.value.rules
    assert approvals.decide(store.uow(), people["approver"], a, False, "keep it another year") == "denied"
    with pytest.raises(Refused) as err:
        destruction.scan(store.uow(), people["clerk"], b, [code])
    assert err.value.rules == ["R-146"]
    with pytest.raises(Refused) as done:
        destruction.complete(store.uow(), people["clerk"], b, [people["officer"], people["auditor"]],
                             {"*": "shredding"}, SITE)
    assert "R-146" in done.value.rules and "denied" in done.value.message()


def test_a_partially_scanned_batch_survives_a_restart(store: Store, people: dict[str, Signed]) -> None:
    a, b_ = register(store, people["clerk"], "internal"), register(store, people["clerk"], "internal")
    b = approved_batch(store, people, [a, b_])
    destruction.scan(store.uow(), people["clerk"], b, [a])
    again = Store(store.url, store.terminal, clock=store.clock)  # another process, after a restart
    try:
        with again.uow(readonly=True) as uow:
            assert destruction.view(uow, b).unscanned == [b_]
    finally:
        again.dispose()


def test_destroyed_carrier_refused_at_the_counter_and_seen_at_a_stocktake(store: Store,
                                                                         people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"], "internal")
    b = approved_batch(store, people, [code])
    destruction.scan(store.uow(), people["clerk"], b, [code])
    destruction.complete(store.uow(), people["clerk"], b, [people["officer"], people["auditor"]],
                         {"paper": "shredding"}, SITE)
    with pytest.raises(Refused) as err:
        circulation.check_out(store.uow(), people["clerk"], code, people["reader_core"])
    assert err.value.rules == ["R-145"] and "已销毁" in err.value.message("zh")
    with store.uow(readonly=True) as uow:
        assert queries.carrier(uow, code) is not None  # still answers `carrier show`
    sid = st.start(store.uow(), people["officer"], "Q4", [SHELF], [people["officer"], people["clerk"]], units=[])
    with store.uow(readonly=True) as uow:  # not expected any more: it has left the active register
        expected = uow.session.execute(select(StocktakeExpected.code).where(
            StocktakeExpected.session_id == sid)).scalars().all()
        assert code not in expected
    st.ingest(store.uow(), people["clerk"], sid, st.parse_upload(f"{SHELF}\n{code}", device="HH1").reads)
    st.reconcile(store.uow(), people["clerk"], sid)
    kinds = {f.kind.value for f in st.findings(store.uow(readonly=True), sid) if f.subject == code}
    assert kinds == {"gone_seen"}


def test_bad_method_words_and_unknown_batch(store: Store, people: dict[str, Signed]) -> None:
    with pytest.raises(DomainError):
        destruction.new(store.uow(), people["clerk"], "bad\x07name")
    with pytest.raises(Refused) as err:
        destruction.new(store.uow(), people["reader_core"])
    assert err.value.rules == ["R-25"]
    with pytest.raises(DomainError):
        destruction.add(store.uow(), people["clerk"], 999, ["x"])
    with pytest.raises(Refused) as empty:
        destruction.submit(store.uow(), people["clerk"], destruction.new(store.uow(), people["clerk"]),
                           store.clock() + timedelta(days=1))
    assert "lists nothing" in empty.value.message()


# --- archiving, return to the issuer, transfer out ---------------------------------------------------------------

ARCHIVE = place("BJ", "R2C2S1")


def test_archive_changes_custody_to_the_archive_place(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"], "secret")
    ts = register(store, people["clerk"], "top_secret")
    endoflife.archive(store.uow(), people["clerk"], [code], ARCHIVE, "年度归档")
    assert state_of(store, code) == ("archived", None, ARCHIVE)
    with pytest.raises(Refused) as err:  # the archive cabinet is 机密 at most (R-47, R-137: 绝密 kept apart)
        endoflife.archive(store.uow(), people["clerk"], [ts], ARCHIVE)
    assert err.value.rules == ["R-47"]
    with pytest.raises(Refused) as again:
        endoflife.archive(store.uow(), people["clerk"], [code], ARCHIVE)
    assert again.value.rules == ["R-135"]
    # an archived carrier can still go on a destruction list, and comes back archived when taken off it
    b = destruction.new(store.uow(), people["clerk"])
    destruction.add(store.uow(), people["clerk"], b, [code])
    destruction.remove(store.uow(), people["clerk"], b, [code])
    assert state_of(store, code) == ("archived", None, ARCHIVE)


def test_return_and_transfer_leave_the_register_with_their_history(store: Store, people: dict[str, Signed]) -> None:
    back, away, lent = (register(store, people["clerk"], "internal", doc_number=f"r{i}") for i in range(3))
    circulation.check_out(store.uow(), people["clerk"], lent, people["reader_core"])
    before = count_events(store)
    with pytest.raises(Refused) as err:  # all or nothing: the one on loan refuses the whole call
        endoflife.transfer_out(store.uow(), people["clerk"], [away, lent], "市保密局", "王五", "HZ-2026-001",
                               people["approver"])
    assert err.value.rules == ["R-144"] and count_events(store) == before
    with pytest.raises(DomainError):
        endoflife.return_to_issuer(store.uow(), people["clerk"], [back], " ", "HZ-1")
    with pytest.raises(Refused) as who:
        endoflife.return_to_issuer(store.uow(), people["reader_core"], [back], "李四", "HZ-1", unit="上级机关")
    assert who.value.rules == ["R-25"]
    endoflife.return_to_issuer(store.uow(), people["clerk"], [back], "李四", "HZ-1", unit="上级机关")
    for leader, rule in ((None, "R-142"), (people["reader_core"], "R-142"), (badge("approver"), "R-142")):
        with pytest.raises(Refused) as unsigned:  # no leader, not a leader, a leader who did not sign (PIN)
            endoflife.transfer_out(store.uow(), people["clerk"], [away], "市保密局", "王五", "HZ-2026-001", leader)
        assert unsigned.value.rules == [rule] and "领导" in unsigned.value.message("zh")
    endoflife.transfer_out(store.uow(), people["clerk"], [away], "市保密局", "王五", "HZ-2026-001",
                           people["approver"])
    assert state_of(store, back) == ("returned_to_issuer", None, None)
    assert state_of(store, away) == ("transferred_out", None, None)
    assert count_events(store) == before + 2
    with store.uow(readonly=True) as uow:
        assert [e.type for e in queries.history(uow, away)][-1] == "transferred_out"
        ev = uow.session.execute(select(Event).where(Event.carrier == back, Event.type == "returned_to_issuer")
                                 ).scalar_one()
        assert "HZ-1" in ev.payload and "李四" in ev.payload
        moved = uow.session.execute(select(Event).where(Event.carrier == away, Event.type == "transferred_out")
                                    ).scalar_one()
        assert moved.witness == badge("approver") and badge("approver") in moved.payload  # signed off
    with pytest.raises(Refused) as gone:
        circulation.check_out(store.uow(), people["clerk"], away, people["reader_core"])
    assert gone.value.rules == ["R-145"]
    with store.uow(readonly=True) as uow:  # the period's register lists both, with receiver and receipt
        period = endoflife.departures(uow, store.clock() - timedelta(days=1), store.clock() + timedelta(seconds=1))
        earlier = endoflife.departures(uow, store.clock() - timedelta(days=9), store.clock() - timedelta(days=1))
    assert [(r["code"], r["event"]) for r in period] == [(back, "returned_to_issuer"), (away, "transferred_out")]
    assert "HZ-2026-001" in period[1]["detail"] and earlier == []


def test_a_carrier_gone_missing_after_listing_blocks_completion(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"], "internal")
    b = approved_batch(store, people, [code])
    destruction.scan(store.uow(), people["clerk"], b, [code])
    incidents.report_missing(store.uow(), people["clerk"], code, note="not in the sack at the site")
    with pytest.raises(Refused) as err:
        destruction.complete(store.uow(), people["clerk2"], b, [people["officer"], people["auditor"]],
                             {"*": "shredding"}, SITE)
    assert err.value.rules == ["R-147"] and "missing now" in err.value.message()
    assert state_of(store, code)[0] == "missing"


def test_a_denied_list_is_reopened_corrected_and_sent_again(store: Store, people: dict[str, Signed]) -> None:
    keep, go = register(store, people["clerk"], "internal"), register(store, people["clerk"], "internal")
    b = destruction.new(store.uow(), people["clerk"])
    destruction.add(store.uow(), people["clerk"], b, [keep, go])
    a = destruction.submit(store.uow(), people["clerk"], b, store.clock() + timedelta(days=1))
    with pytest.raises(Refused) as pending:
        destruction.reopen(store.uow(), people["clerk"], b)
    assert pending.value.rules == ["R-146"]
    approvals.decide(store.uow(), people["approver"], a, False, f"{keep} is still needed")
    destruction.reopen(store.uow(), people["clerk"], b)
    destruction.remove(store.uow(), people["clerk"], b, [keep])
    second = destruction.submit(store.uow(), people["clerk"], b, store.clock() + timedelta(days=1))
    assert second != a and approvals.decide(store.uow(), people["approver"], second, True) == "granted"
    assert state_of(store, keep)[0] == "in_store"


# --- repair of media and equipment (R-115–R-118) -----------------------------------------------------------------

REPAIRER = "某定点维修公司"


def test_repair_in_house_and_at_a_designated_unit(store: Store, people: dict[str, Signed]) -> None:
    usb = register(store, people["clerk"], "confidential", kind="usb_drive")
    paper = register(store, people["clerk"], "confidential")
    disk = register(store, people["clerk"], "secret", kind="removable_disk")
    officer = people["officer"]
    with pytest.raises(Refused) as err:
        endoflife.send_for_repair(store.uow(), people["clerk"], paper, "in-house", officer, "kept")
    assert err.value.rules == ["R-115"]
    endoflife.send_for_repair(store.uow(), people["clerk"], usb, "in-house", officer, "kept")
    assert state_of(store, usb) == ("on_loan", badge("officer"), None)
    circulation.check_in(store.uow(), people["clerk"], usb)
    assert state_of(store, usb) == ("in_store", None, SHELF)
    due = store.clock() + timedelta(days=5)
    designated = Store(store.url, store.terminal, clock=store.clock,
                       policy=replace(store.policy, approved_repairers=(REPAIRER,)))
    try:
        for code, repairer, storage, rules in ((usb, "路边维修店", "removed", ["R-115", "R-118"]),
                                               (usb, REPAIRER, "kept", ["R-115", "R-117"]),
                                               (disk, REPAIRER, "removed", ["R-115", "R-118"])):
            with pytest.raises(Refused) as refused:
                endoflife.send_for_repair(designated.uow(), people["clerk"], code, repairer, officer, storage, due)
            assert refused.value.rules == rules, (code, repairer, storage)
        with pytest.raises(Refused) as unsigned:
            endoflife.send_for_repair(designated.uow(), people["clerk"], usb, "in-house", badge("officer"), "kept")
        assert unsigned.value.rules == ["R-116"]
        approve(designated, people["approver"], "carry_out", usb, grantee=badge("officer"), hours=24)
        endoflife.send_for_repair(designated.uow(), people["clerk"], usb, REPAIRER, officer, "removed", due)
    finally:
        designated.dispose()
    assert state_of(store, usb) == ("carried_out", badge("officer"), None)
    with store.uow(readonly=True) as uow:
        ev = uow.session.execute(select(Event).where(Event.carrier == usb).order_by(Event.seq.desc())).scalars().first()
        assert ev is not None and ev.type == "carried_out" and REPAIRER in ev.payload and '"removed"' in ev.payload


def test_outside_archive_access_r71_r72(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"], "secret")
    # R2 is the archive room holding ARCHIVE (R2C2S1); R1, the 机要室, is a reading place but not the archive room
    reading_room, not_reading = place("BJ", "R2"), place("BJ", "R1")

    def consult(**kw: object) -> int:
        args: dict[str, object] = {"visitor": "钱七", "visitor_unit": "市档案馆", "letter": "介绍信〔2026〕12号",
                                   "parts": "第3至5页", "room": reading_room}
        args.update(kw)
        return endoflife.consult_archive(store.uow(), people["clerk"], code, **args)  # type: ignore[arg-type]

    with pytest.raises(Refused) as not_archived:
        consult()
    assert not_archived.value.rules == ["R-71"]
    endoflife.archive(store.uow(), people["clerk"], [code], ARCHIVE)
    before = count_events(store)
    for kw, rule in (({"letter": " "}, "R-71"), ({"room": not_reading}, "R-71"), ({"room": ARCHIVE}, "R-71"),
                     ({}, "R-71"), ({"extracts": 2}, "R-72")):
        with pytest.raises(Refused) as err:
            consult(**kw)
        assert rule in err.value.rules, kw
    with pytest.raises(Refused) as elsewhere:
        consult(room=not_reading)
    assert "not the archive room" in elsewhere.value.message() and "档案室" in elsewhere.value.message("zh")
    assert count_events(store) == before
    approve(store, people["approver"], "outside_loan", code, hours=24)
    consult(extracts=2, extracts_stamped=True)
    assert state_of(store, code) == ("archived", None, ARCHIVE)  # custody never left the archive
    with store.uow(readonly=True) as uow:
        ev = uow.session.execute(select(Event).where(Event.carrier == code)
                                 .order_by(Event.seq.desc())).scalars().first()
        assert ev is not None and ev.type == "archive_consulted" and "介绍信〔2026〕12号" in ev.payload


def test_an_rfid_read_ticks_its_carrier_at_the_site(store: Store, people: dict[str, Signed]) -> None:
    from labels.codes import carrier_code_to_epc

    code = register(store, people["clerk"], "internal")
    registry.set_epc(store.uow(), people["clerk"], code, carrier_code_to_epc(code), None)
    b = approved_batch(store, people, [code])
    got = destruction.scan(store.uow(), people["clerk"], b, [carrier_code_to_epc(code)])
    assert got.matched == [code] and got.extras == []
    with store.uow(readonly=True) as uow:
        item = uow.session.execute(select(DestructionItem)).scalar_one()
        assert item.scan_method == "epc" and item.scanned_by == badge("clerk")


def test_end_of_life_replays_to_the_tables_and_a_forged_destruction_is_named(store: Store,
                                                                             people: dict[str, Signed]) -> None:
    from sqlalchemy import text

    from tracker.ledger import verify

    clerk = people["clerk"]
    gone, back, away, kept, listed, fixed = (register(store, clerk, "internal", doc_number=f"v{i}") for i in range(6))
    usb = register(store, clerk, "internal", kind="usb_drive")
    b = approved_batch(store, people, [gone])
    destruction.scan(store.uow(), clerk, b, [gone])
    destruction.complete(store.uow(), people["clerk2"], b, [people["officer"], people["auditor"]], {"*": "pulping"},
                         SITE)
    open_batch = destruction.new(store.uow(), clerk)
    destruction.add(store.uow(), clerk, open_batch, [listed, fixed])
    destruction.remove(store.uow(), clerk, open_batch, [fixed])
    endoflife.archive(store.uow(), clerk, [kept], ARCHIVE)
    endoflife.return_to_issuer(store.uow(), clerk, [back], "李四", "HZ-1", unit="上级机关")
    endoflife.transfer_out(store.uow(), clerk, [away], "市保密局", "王五", "HZ-2", people["approver"])
    endoflife.send_for_repair(store.uow(), clerk, usb, "in-house", people["officer"], "kept")
    with store.engine.connect() as conn:
        report = verify(conn)
    assert report.ok, report.differences
    with store.engine.begin() as conn:  # the attack of issue 16, now against a real destruction
        conn.execute(text("UPDATE carriers SET status = 'in_store', location_id = "
                          "(SELECT id FROM locations WHERE code = :p) WHERE code = :c"), {"p": SHELF, "c": gone})
    with store.engine.connect() as conn:
        forged = verify(conn)
    assert not forged.ok and (gone, "status", "destroyed", "in_store") in {tuple(d) for d in forged.differences}


def test_every_carrier_off_the_books_is_refused_at_the_counter_and_seen_at_a_stocktake(
        store: Store, people: dict[str, Signed]) -> None:
    """Destroyed, returned and transferred carriers all left the active register: each still answers `carrier show`
    and `history`, none is expected by a new stock-take, each scanned there is a critical gone_seen finding naming
    its status, and brought to the counter each is an R-145 alarm whatever is attempted (lend, take back, hand on,
    carry out), never an ordinary "nothing to check in". An archived carrier is not lent: it is read in the archive
    room (R-71)."""
    clerk = people["clerk"]
    gone, back, away, kept = (register(store, clerk, "internal", doc_number=f"o{i}") for i in range(4))
    b = approved_batch(store, people, [gone])
    destruction.scan(store.uow(), clerk, b, [gone])
    destruction.complete(store.uow(), people["clerk2"], b, [people["officer"], people["auditor"]],
                         {"*": "shredding"}, SITE)
    endoflife.return_to_issuer(store.uow(), clerk, [back], "李四", "HZ-1", unit="上级机关")
    endoflife.transfer_out(store.uow(), clerk, [away], "市保密局", "王五", "HZ-2", people["approver"])
    endoflife.archive(store.uow(), clerk, [kept], ARCHIVE)
    left = {gone: "destroyed", back: "returned_to_issuer", away: "transferred_out"}
    before = count_events(store)
    due = store.clock() + timedelta(hours=2)
    attempts = (
        lambda code: circulation.check_out(store.uow(), clerk, code, people["reader_core"]),
        lambda code: circulation.check_in(store.uow(), clerk, code, SHELF),
        lambda code: circulation.check_in(store.uow(), clerk, code),
        lambda code: circulation.handover(store.uow(), clerk, [code], people["reader_core"],
                                          people["reader_important"]),
        lambda code: circulation.carry_out(store.uow(), clerk, code, people["reader_core"], due, None),
    )
    for code, status in left.items():
        for attempt in attempts:
            with pytest.raises(Refused) as err:
                attempt(code)
            assert err.value.rules == ["R-145"], (code, err.value.message())
            assert status in err.value.message() and "保密办" in err.value.message("zh")
    for attempt in (attempts[0], attempts[4]):
        with pytest.raises(Refused) as archived:
            attempt(kept)
        assert archived.value.rules == ["R-71"] and "archive room" in archived.value.message()
    assert count_events(store) == before  # a refusal writes nothing
    with store.uow(readonly=True) as uow:
        for code, status in left.items():
            shown = queries.carrier(uow, code)
            assert shown is not None and shown.status == status
            types = [e.type for e in queries.history(uow, code)]
            assert types[0] == "registered" and types[-1] == status
    sid = st.start(store.uow(), people["officer"], "Q4", [SHELF, ARCHIVE], [people["officer"], clerk], units=[])
    with store.uow(readonly=True) as uow:
        expected = set(uow.session.execute(select(StocktakeExpected.code).where(
            StocktakeExpected.session_id == sid)).scalars())
    assert not expected & set(left) and kept in expected  # archived stays on the books, in its archive place
    st.ingest(store.uow(), clerk, sid, st.parse_upload(f"{SHELF}\n" + "\n".join(left), device="HH1").reads)
    st.reconcile(store.uow(), clerk, sid)
    found = {f.subject: f for f in st.findings(store.uow(readonly=True), sid) if f.subject in left}
    assert {code: f.kind.value for code, f in found.items()} == dict.fromkeys(left, "gone_seen")
    assert all(f.kind.critical and f.detail == left[code] for code, f in found.items())
    assert "destroyed" in FindingKind.GONE_SEEN.en and "but seen" in FindingKind.GONE_SEEN.en  # as people read it


# --- retiring media and equipment (报废, R-104, R-120, R-121) ------------------------------------------------------


def test_retiring_media_lists_them_for_a_supervised_destruction(store: Store, people: dict[str, Signed]) -> None:
    clerk = people["clerk"]
    usb = register(store, clerk, "confidential", kind="usb_drive")
    laptop = register(store, clerk, "internal", kind="laptop")
    paper = register(store, clerk, "internal")
    lent = register(store, clerk, "internal", kind="removable_disk")
    circulation.check_out(store.uow(), clerk, lent, people["reader_core"])
    before = count_events(store)
    for codes, reason, rules in (([paper], "old", ["R-104"]), ([usb], " ", ["R-121"]),
                                 ([usb, lent], "broken", ["R-147"])):
        with pytest.raises(Refused) as err:
            destruction.retire(store.uow(), clerk, codes, reason)
        assert err.value.rules == rules, codes
        assert err.value.message("zh") != err.value.message()
    with pytest.raises(Refused) as reader:
        destruction.retire(store.uow(), people["reader_core"], [usb], "broken")
    assert reader.value.rules == ["R-25"]
    assert count_events(store) == before  # all or nothing: no batch was opened either
    with store.uow(readonly=True) as uow:
        assert destruction.batches(uow) == []
    batch, seqs = destruction.retire(store.uow(), clerk, [usb], "接口损坏，无法修复")
    again, _ = destruction.retire(store.uow(), clerk, [laptop], "更换新机", batch_id=batch)
    assert again == batch and count_events(store) == before + 3  # the batch opened, two listings
    assert state_of(store, usb) == ("pending_destruction", None, SHELF)
    with pytest.raises(Refused) as no_reuse:  # a retired medium is never lent (reused) again
        circulation.check_out(store.uow(), clerk, usb, people["reader_core"])
    assert no_reuse.value.rules == ["R-17"]
    with store.uow(readonly=True) as uow:
        listed = uow.session.execute(select(Event).where(Event.seq == seqs[0])).scalar_one()
        assert listed.type == "destruction_listed" and "接口损坏，无法修复" in listed.payload
        view = destruction.view(uow, batch)
    assert view.name.startswith("报废") and sorted(i.code for i in view.items) == sorted([usb, laptop])
    a = destruction.submit(store.uow(), clerk, batch, store.clock() + timedelta(days=3))
    approvals.decide(store.uow(), people["approver"], a, True)
    destruction.scan(store.uow(), clerk, batch, [usb, laptop])
    with pytest.raises(Refused) as fmt:  # scrapping is irreversible: a wipe is not a destruction
        destruction.complete(store.uow(), people["clerk2"], batch, [people["officer"], people["auditor"]],
                             {"*": "format"}, SITE)
    assert fmt.value.rules == ["R-150"]
    destruction.complete(store.uow(), people["clerk2"], batch, [people["officer"], people["auditor"]],
                         {"*": "physical"}, SITE)
    assert state_of(store, usb)[0] == state_of(store, laptop)[0] == "destroyed"


def test_the_supervisor_minimum_and_the_sites_are_the_registers_policy(db_url: str, clock: object,
                                                                      people: dict[str, Signed]) -> None:
    """R-148/R-149 settings live in the register's policy (no code or client override here): raised to three
    supervisors and another site by a two-person policy change, two supervisors at the old site are refused."""
    from tracker.services import policy as policy_service

    reg = Store(db_url, terminal="t", clock=clock)  # type: ignore[arg-type]
    try:
        code = register(reg, people["clerk"], "internal")
        b = approved_batch(reg, people, [code])
        destruction.scan(reg.uow(), people["clerk"], b, [code])
        n = policy_service.propose(reg.uow(), people["officer"], {"destruction_supervisors": 3,
                                                                  "destruction_sites": ["市涉密载体销毁中心"]})
        assert approvals.decide(reg.uow(), people["approver"], n, True) == "granted"
        two = [people["officer"], people["auditor"]]
        with pytest.raises(Refused) as err:
            destruction.complete(reg.uow(), people["clerk2"], b, two, {"*": "shredding"}, SITE)
        assert err.value.rules == ["R-148", "R-149"] and "at least 3" in err.value.message()
        destruction.complete(reg.uow(), people["clerk2"], b, [*two, people["reader_core"]], {"*": "shredding"},
                             "市涉密载体销毁中心")
        assert state_of(reg, code)[0] == "destroyed"
    finally:
        reg.dispose()


def test_two_sites_completing_the_same_batch_at_once_destroy_it_once(store: Store,
                                                                     people: dict[str, Signed]) -> None:
    """Two terminals press "complete" on the same batch at the same moment: the batch row lock (BEGIN IMMEDIATE on
    SQLite) lets exactly one destroy it; the other is refused as already completed, and each carrier has one event."""
    import threading

    codes = [register(store, people["clerk"], "internal") for _ in range(3)]
    b = approved_batch(store, people, codes)
    destruction.scan(store.uow(), people["clerk"], b, codes)
    before = count_events(store)
    barrier, outcomes = threading.Barrier(2), []
    terminals = [Store(store.url, f"site-{i}", clock=store.clock, policy=store.policy) for i in range(2)]

    def press(s: Store) -> None:
        barrier.wait()
        try:
            destruction.complete(s.uow(), people["clerk2"], b, [people["officer"], people["auditor"]],
                                 {"*": "shredding"}, SITE)
            outcomes.append("won")
        except Refused as e:
            outcomes.append(f"refused:{','.join(e.rules)}:{'already completed' in e.message()}")

    threads = [threading.Thread(target=press, args=(s,)) for s in terminals]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for s in terminals:
            s.dispose()
    assert sorted(outcomes) == ["refused:R-147:True", "won"], outcomes
    assert count_events(store) == before + len(codes)
    with store.uow(readonly=True) as uow:
        assert {e.carrier for e in uow.session.execute(select(Event).where(Event.type == "destroyed")).scalars()} \
            == set(codes)


def test_a_carrier_in_transit_cannot_be_listed(store: Store, people: dict[str, Signed]) -> None:
    from tracker.services import transit

    code = register(store, people["clerk"], "secret", location=place("BJ", "R1SAFE1"))
    transit.dispatch(store.uow(), people["clerk"], place("BJ", "R1"), place("SH", "R1"), [code], people["courier"])
    assert state_of(store, code)[0] == "in_transit"
    b = destruction.new(store.uow(), people["clerk"])
    before = count_events(store)
    with pytest.raises(Refused) as err:
        destruction.add(store.uow(), people["clerk"], b, [code])
    assert err.value.rules == ["R-147"] and "in the registry's custody" in err.value.message()
    assert count_events(store) == before and state_of(store, code)[0] == "in_transit"



def test_a_classified_computers_certification_is_recorded_r110(store: Store, people: dict[str, Signed]) -> None:
    from tracker.ledger import verify

    clerk = people["clerk"]
    laptop = register(store, clerk, "confidential", kind="laptop")
    usb = register(store, clerk, "confidential", kind="usb_drive")
    before = count_events(store)
    for code, who, product, cert, rule in ((usb, "clerk", "某型U盘", "认证1号", "R-110"),
                                           (laptop, "clerk", "国产某型笔记本", " ", "R-110"),
                                           (laptop, "reader_core", "国产某型笔记本", "认证1号", "R-25")):
        with pytest.raises(Refused) as err:
            endoflife.certify(store.uow(), people[who], code, product, cert)
        assert err.value.rules == [rule], code
    with pytest.raises(DomainError):
        endoflife.certify(store.uow(), clerk, laptop, "国产\x1b[31m", "认证1号")
    assert count_events(store) == before
    seq = endoflife.certify(store.uow(), clerk, laptop, "国产某型笔记本", "认证〔2026〕88号")
    assert state_of(store, laptop)[0] == "in_store"  # a fact about the device, never a movement
    with store.uow(readonly=True) as uow:
        last = queries.history(uow, laptop)[-1]
    assert (last.seq, last.type, last.payload) == (seq, "medium_certified",
                                                   {"product": "国产某型笔记本", "certificate": "认证〔2026〕88号"})
    with store.engine.connect() as conn:
        assert verify(conn).ok
