"""Receipt, dispatch and courier transit (issue 20) on both databases: a three-hop transit between two sites with two
couriers and a nested package, seals read at every hop (a mismatch is an incident, then a re-seal), a carrier missing
on opening, the 绝密 two-courier rule, no courier-to-courier relay, 亲启 items only for the addressee or a proxy, an
incoming item with a broken seal; at every moment one accountable holder or place per carrier; the replay agrees
with the tables; the receipts are read back from the PDFs."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from sqlalchemy import select
from tests_support import Clock, count_events, state_of

from tracker import queries
from tracker.demo import badge, place
from tracker.domain import IncidentKind
from tracker.ledger import verify
from tracker.replay import replay_and_compare
from tracker.reports import transit_pdf, transit_registers
from tracker.schema import Event
from tracker.services import approvals, circulation, incidents, incoming, packages, personnel, registry, transit
from tracker.services.common import Refused, Signed
from tracker.store import Store

BJ_REG, SH_REG, SH_GATE = place("BJ", "R1"), place("SH", "R1"), place("SH", "SITE")
SAFE = place("BJ", "R1SAFE1")


def _register(store: Store, clerk: Signed, level: str = "secret", n: int = 1, doc: str = "京密〔2026〕1号") -> str:
    return registry.register(store.uow(), clerk, registry.CarrierInput(
        location=SAFE, classification=level, period="10y", scope="办公室", title="传递测试", doc_number=doc,
        copy_number=n, copy_total=9))


def _rules(e: pytest.ExceptionInfo[Refused]) -> set[str]:
    return {v.rule for v in e.value.violations}


def _one_custodian(store: Store, codes: list[str]) -> None:
    """R-17 as `tracker carrier show` reads it: exactly one of holder and place, never both, never neither."""
    with store.uow(readonly=True) as uow:
        for code in codes:
            v = queries.carrier(uow, code)
            assert v is not None
            assert (v.holder is None) != (v.location is None), (code, v.status, v.holder, v.location)


def _pdf_text(path: Path) -> str:
    doc = pdfium.PdfDocument(str(path))
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


def _replay_clean(store: Store) -> None:
    """The replay reproduces every carrier's status, holder and place from the ledger (new event types included)."""
    with store.engine.connect() as conn:
        head = conn.execute(select(Event.seq).order_by(Event.seq.desc()).limit(1)).scalar_one()
        r = replay_and_compare(conn, head)
    assert r.count == 0, r.findings
    with store.engine.connect() as conn:
        report = verify(conn)
    assert report.ok and report.replayed, report.message()


def test_three_hops_between_two_sites_with_seals_nesting_and_a_missing_carrier(
        store: Store, people: dict[str, Signed], tmp_path: Path, clock: Clock) -> None:
    clerk, officer, clerk2 = people["clerk"], people["officer"], people["clerk2"]
    a, b, c, d = (_register(store, clerk, n=i) for i in (1, 2, 3, 4))
    inner = packages.create(store.uow(), clerk, "envelope")
    assert packages.pack(store.uow(), clerk, inner, [a, b]) == [a, b]
    packages.seal(store.uow(), clerk, inner, "FZ-0001")
    outer = packages.create(store.uow(), clerk, "bag")
    assert inner.startswith("PKG-BJ-") and outer != inner
    packages.pack(store.uow(), clerk, outer, [inner, c])  # nested: a sealed envelope inside a bag
    packages.seal(store.uow(), clerk, outer, "FZ-0100")
    with store.uow(readonly=True) as uow:
        assert packages.show(uow, outer).all_carriers == tuple(sorted([a, b, c]))
    with pytest.raises(Refused) as e:  # a carrier packed once is not packed again
        packages.pack(store.uow(), clerk, packages.create(store.uow(), clerk), [a])
    assert _rules(e) == {"R-18"}

    n = transit.dispatch(store.uow(), clerk, BJ_REG, SH_REG, [outer, d], people["courier"])
    everything = [a, b, c, d]
    assert {state_of(store, x) for x in everything} == {("in_transit", badge("courier"), None)}
    _one_custodian(store, everything)
    with store.uow(readonly=True) as uow:
        assert [t.id for t in transit.overdue(uow)] == []
    assert [t.id for t in transit.listing(store.uow(), clerk2, to_site="SH")] == [n]
    assert transit.listing(store.uow(), clerk2, to_site="GZ") == []

    # no courier-to-courier relay; nothing written.
    before = count_events(store)
    with pytest.raises(Refused) as e:
        transit.hop(store.uow(), people["courier"], n, people["courier"], people["courier2"], {outer: "FZ-0100"})
    assert "R-89" in _rules(e) and count_events(store) == before
    # A hop must read every package's seal.
    with pytest.raises(Refused) as e:
        transit.hop(store.uow(), people["courier"], n, people["courier"], officer, {}, place=SH_GATE)
    assert _rules(e) == {"R-18"}

    # Hop 2: the courier hands to the gate registry, which reads another seal number: an incident, the hop stands.
    clock.advance(hours=2)
    transit.hop(store.uow(), officer, n, people["courier"], officer, {outer: "FZ-9999"}, place=SH_GATE)
    assert {state_of(store, x) for x in everything} == {("in_transit", badge("officer"), None)}
    _one_custodian(store, everything)
    [mismatch] = [i for i in incidents.listing(store.uow(), officer) if i.kind == IncidentKind.SEAL_MISMATCH]
    assert set(mismatch.carriers) == {a, b, c} and mismatch.evidence["seals"][0]["seen"] == "FZ-9999"
    assert packages.seal(store.uow(), officer, outer, "FZ-0200") == "FZ-0100"  # re-sealed after inspection

    # Hop 3: the registry to the second courier; the seal now reads as recorded.
    transit.hop(store.uow(), officer, n, officer, people["courier2"], {outer: "FZ-0200"})
    assert {state_of(store, x) for x in everything} == {("in_transit", badge("courier2"), None)}
    with pytest.raises(Refused) as e:  # only the accountable holder hands it on
        transit.receive(store.uow(), clerk2, n, people["courier"], clerk2, {outer: "FZ-0200"})
    assert "R-17" in _rules(e)
    transit.receive(store.uow(), clerk2, n, people["courier2"], clerk2, {outer: "FZ-0200"})
    assert {state_of(store, x) for x in everything} == {("in_store", None, SH_REG)}
    _one_custodian(store, everything)
    assert transit.listing(store.uow(), clerk2, to_site="SH") == []

    # Opening: the bag holds the envelope and c; the envelope lacks b.
    with pytest.raises(Refused):
        packages.open_package(store.uow(), clerk2, inner, "FZ-0001", [a, b])  # still inside the bag
    bag = packages.open_package(store.uow(), clerk2, outer, "FZ-0200", [inner, c])
    assert (bag.seal_ok, bag.missing, bag.extra, bag.incidents) == (True, (), (), ())
    env = packages.open_package(store.uow(), clerk2, inner, "FZ-0001", [a])
    assert env.missing == (b,) and env.extra == () and len(env.incidents) == 1
    assert state_of(store, b) == ("missing", None, None)
    [contents] = [i for i in incidents.listing(store.uow(), officer) if i.kind == IncidentKind.CONTENTS_MISMATCH]
    assert contents.carriers == (b,)

    with store.uow(readonly=True) as uow:
        view = transit.view(uow, n)
        rows = incoming.register_rows(uow)
    assert [h.kind for h in view.hops] == ["dispatch", "hop", "hop", "receipt"]
    assert [(h.giver, h.taker) for h in view.hops] == [
        (badge("clerk"), badge("courier")), (badge("courier"), badge("officer")),
        (badge("officer"), badge("courier2")), (badge("courier2"), badge("clerk2"))]
    assert view.hops[1].incident == mismatch.id and not view.hops[1].seals[0]["ok"]
    assert {r.carrier for r in rows} == set(everything) and {r.transit for r in rows} == {n}
    _replay_clean(store)

    tz = store.policy.tz
    for hop in view.hops:
        text = _pdf_text(transit_pdf.write_hop_receipt(view, hop.number, tmp_path / f"hop{hop.number}.pdf", tz))
        assert hop.giver in text and hop.taker in text and f"{hop.head_seq}:{hop.head_hash}" in text
        assert all(x in text for x in everything) and outer in text
        assert "UTC+08:00" in text  # times in the policy's zone, said as an offset
    text = _pdf_text(tmp_path / "hop2.pdf")
    assert "FZ-9999" in text and "FZ-0100" in text and "不符" in text
    sheet = _pdf_text(transit_pdf.write_transit_sheet(view, tmp_path / "sheet.pdf", tz))
    assert all(b_ in sheet for b_ in (badge("courier"), badge("courier2"), badge("officer"), "FZ-0200"))
    for suffix in ("pdf", "csv", "xlsx"):
        out = transit_registers.write("dispatch", transit_registers.dispatch_rows([view], tz),
                                      tmp_path / f"dispatch.{suffix}", "发文登记簿")
        assert out.stat().st_size > 0
    assert d in (tmp_path / "dispatch.csv").read_text(encoding="utf-8-sig")


def test_top_secret_travels_with_two_couriers_both_signed(store: Store, people: dict[str, Signed]) -> None:
    clerk = people["clerk"]
    ts = _register(store, clerk, "top_secret")
    before = count_events(store)
    with pytest.raises(Refused) as e:
        transit.dispatch(store.uow(), clerk, BJ_REG, SH_REG, [ts], people["courier"])
    assert _rules(e) == {"R-93"} and count_events(store) == before
    with pytest.raises(Refused) as e:  # a second person who is not a courier is not a second courier
        transit.dispatch(store.uow(), clerk, BJ_REG, SH_REG, [ts], people["courier"], companion=people["officer"])
    assert "R-93" in _rules(e)
    with pytest.raises(Refused) as e:  # the second courier signs too
        transit.dispatch(store.uow(), clerk, BJ_REG, SH_REG, [ts], people["courier"], companion=badge("courier2"))
    assert "R-18" in _rules(e)
    # A second courier cleared for 绝密 (a core reader made a courier, per the approval matrix).
    change = personnel.request_change(store.uow(), people["admin"], badge("reader_core"), roles=["courier"])
    approvals.decide(store.uow(), people["approver"], change, True)
    personnel.change_person(store.uow(), people["admin"], badge("reader_core"), roles=["courier"],
                            approval_id=change)
    second = Signed(badge("reader_core"), store.clock())
    n = transit.dispatch(store.uow(), clerk, BJ_REG, SH_REG, [ts], people["courier"], companion=second)
    assert state_of(store, ts) == ("in_transit", badge("courier"), None)
    with store.uow(readonly=True) as uow:
        assert transit.view(uow, n).companion == badge("reader_core")
    with pytest.raises(Refused) as e:  # the receiving registry may hold it too
        transit.receive(store.uow(), people["clerk2"], n, people["courier"], people["clerk2"], {})
    assert _rules(e) == {"R-159"}
    transit.receive(store.uow(), people["officer"], n, people["courier"], people["officer"], {})
    assert state_of(store, ts) == ("in_store", None, SH_REG)
    _replay_clean(store)


def test_an_overdue_transit_is_an_alert(store: Store, people: dict[str, Signed], clock: Clock) -> None:
    code = _register(store, people["clerk"])
    n = transit.dispatch(store.uow(), people["clerk"], BJ_REG, SH_REG, [code], people["courier"],
                         due=store.clock() + timedelta(hours=3))
    with store.uow(readonly=True) as uow:
        assert not [a for a in queries.alerts(uow) if a.kind == "transit_overdue"]
    clock.advance(hours=4)
    with store.uow(readonly=True) as uow:
        [alert] = [a for a in queries.alerts(uow) if a.kind == "transit_overdue"]
    assert f"#{n}" in alert.en and badge("courier") in alert.en and "传递" in alert.zh


def test_incoming_personal_item_goes_only_to_the_addressee_or_a_proxy(store: Store,
                                                                      people: dict[str, Signed]) -> None:
    clerk = people["clerk"]
    data = registry.CarrierInput(location=SAFE, classification="secret", period="10y", scope="办公室;法规处",
                                 title="亲启件", copy_number=2, copy_total=5, pages=12)
    before = count_events(store)
    with pytest.raises(Refused) as e:  # not a designated receiver
        incoming.register(store.uow(), people["reader_core"], data, sender="国家保密局", sender_doc="国保〔2026〕7号")
    assert _rules(e) == {"R-20"} and count_events(store) == before
    item = incoming.register(store.uow(), clerk, data, sender="国家保密局", sender_doc="国保〔2026〕7号",
                             personal_to=badge("approver"))
    assert (item.sender_doc, item.copy, item.pages, item.personal_to) == ("国保〔2026〕7号", "2/5", 12,
                                                                          badge("approver"))
    assert state_of(store, item.carrier) == ("in_store", None, SAFE)
    for who in ("reader_core", "approver2"):
        with pytest.raises(Refused) as e:
            incoming.deliver(store.uow(), clerk, item.carrier, people[who])
        assert _rules(e) == {"R-21"}
    incoming.designate_proxy(store.uow(), people["approver"], badge("approver2"))
    with pytest.raises(Refused) as e:  # the proxy signs for it
        incoming.deliver(store.uow(), clerk, item.carrier, badge("approver2"))
    assert _rules(e) == {"R-22"}
    incoming.deliver(store.uow(), clerk, item.carrier, people["approver2"])
    assert state_of(store, item.carrier) == ("on_loan", badge("approver2"), None)
    _one_custodian(store, [item.carrier])
    with pytest.raises(Refused):  # delivered once
        incoming.deliver(store.uow(), clerk, item.carrier, people["approver"])
    _replay_clean(store)


def test_incoming_item_with_a_broken_seal_is_registered_and_an_incident(store: Store,
                                                                       people: dict[str, Signed]) -> None:
    data = registry.CarrierInput(location=SAFE, classification="confidential", period="5y", scope="办公室",
                                 copy_number=1, copy_total=1, pages=3)
    with pytest.raises(Refused) as e:  # counted on receipt: pages and copy n/N
        incoming.register(store.uow(), people["clerk"], registry.CarrierInput(location=SAFE,
                          classification="confidential", period="5y"), sender="上级机关")
    assert _rules(e) == {"R-18"}
    item = incoming.register(store.uow(), people["clerk"], data, sender="上级机关", sender_doc="上密〔2026〕3号",
                             seal_intact=False)
    assert item.incident is not None and not item.seal_intact
    inc = incidents.view(store.uow(), people["officer"], item.incident)
    assert (inc.kind, inc.carriers) == ("seal_broken", (item.carrier,))
    with store.engine.connect() as conn:
        types = [t for t, in conn.execute(select(Event.type).where(Event.carrier == item.carrier)
                                          .order_by(Event.seq))]
        payload = conn.execute(select(Event.payload).where(Event.type == "incoming_registered")).scalar_one()
    assert types == ["registered", "incident_opened", "incoming_registered"]
    assert json.loads(payload)["seal_intact"] is False
    _replay_clean(store)


def test_only_the_holder_reseals_a_travelling_package_and_a_carrier_taken_off_the_chain_stops_it(
        store: Store, people: dict[str, Signed]) -> None:
    clerk, officer = people["clerk"], people["officer"]
    a, b = _register(store, clerk, n=1), _register(store, clerk, n=2)
    pkg = packages.create(store.uow(), clerk)
    packages.pack(store.uow(), clerk, pkg, [a])
    packages.seal(store.uow(), clerk, pkg, "FZ-1")
    n = transit.dispatch(store.uow(), clerk, BJ_REG, SH_REG, [pkg, b], people["courier"])
    # Attack: someone at the registry records a new seal number for the package the courier carries, so that a
    # package opened and re-sealed on the way would read as untouched at the next hop.
    with pytest.raises(Refused) as e:
        packages.seal(store.uow(), clerk, pkg, "FZ-FORGED")
    assert _rules(e) == {"R-17"}
    with store.uow(readonly=True) as uow:
        assert packages.show(uow, pkg).seal == "FZ-1"
    with pytest.raises(Refused):  # nor is a travelling package opened before its receipt
        packages.open_package(store.uow(), clerk, pkg, "FZ-1", [a])
    # Attack: a carrier of the transit taken off the chain at a counter mid-way — checked in, or handed to someone
    # else — is refused: it moves only by the transit's own hops and is received at its destination.
    before = count_events(store)
    with pytest.raises(Refused) as e:
        circulation.check_in(store.uow(), clerk, b, to_location=SAFE)
    assert _rules(e) == {"R-55"}
    with pytest.raises(Refused) as e:
        circulation.handover(store.uow(), clerk, [b], people["courier"], people["reader_core"])
    assert "R-55" in _rules(e)
    assert count_events(store) == before and state_of(store, b)[0] == "in_transit"
    transit.hop(store.uow(), officer, n, people["courier"], officer, {pkg: "FZ-1"}, place=SH_GATE)


def test_a_personal_transit_waits_unopened_for_its_addressee(store: Store, people: dict[str, Signed]) -> None:
    clerk, clerk2 = people["clerk"], people["clerk2"]
    code = _register(store, clerk)
    n = transit.dispatch(store.uow(), clerk, BJ_REG, SH_REG, [code], people["courier"], personal_to=badge("approver"))
    transit.receive(store.uow(), clerk2, n, people["courier"], clerk2, {})
    assert state_of(store, code) == ("in_store", None, SH_REG)
    with pytest.raises(Refused) as e:
        incoming.deliver(store.uow(), clerk2, code, people["reader_core"])
    assert _rules(e) == {"R-21"}
    # Attack: the 亲启 item lent from the registry's shelf, or carried out, instead of delivered unopened.
    for act in (lambda: circulation.check_out(store.uow(), clerk2, code, people["reader_core"]),
                lambda: circulation.carry_out(store.uow(), clerk2, code, people["reader_core"],
                                              store.clock() + timedelta(days=1), None)):
        with pytest.raises(Refused) as e:
            act()
        assert "R-21" in _rules(e)
    assert state_of(store, code) == ("in_store", None, SH_REG)
    incoming.deliver(store.uow(), clerk2, code, people["approver"])
    assert state_of(store, code) == ("on_loan", badge("approver"), None)
    waiting = incoming.listing(store.uow(), clerk2, waiting=True)
    assert waiting == []
    _replay_clean(store)
