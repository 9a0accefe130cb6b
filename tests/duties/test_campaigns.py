"""A clear-back campaign end to end on both databases: the carriers out when it opens, returns by check-in (with
their returner), verification scans, stragglers named with their holders, a late campaign on the duties list, and
the signed report read back from its PDF; then the same through the command line."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from tests_support import Clock, approve, count_events, invoke, use_cli_demo

from tracker import duties
from tracker.demo import badge, place
from tracker.ledger import verify
from tracker.reports.campaign_pdf import write_report
from tracker.services import campaigns, circulation, registry
from tracker.services.common import Refused, Signed
from tracker.store import Store

SHELF = place("BJ", "R2C1S1")


def pdf_text(path: Path) -> str:
    doc = pdfium.PdfDocument(str(path))
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


def lend(store: Store, people: dict[str, Signed], to: str) -> str:
    code = registry.register(store.uow(), people["clerk"], registry.CarrierInput(
        location=SHELF, classification="secret", period="10y", scope="法规处;技术处", copy_number=1, copy_total=1))
    a = approve(store, people["approver"], "loan", code, grantee=badge(to))
    circulation.check_out(store.uow(), people["clerk"], code, people[to], approval_id=a,
                          reading_place=place("BJ", "R1"))
    return code


def test_campaign_with_stragglers(store: Store, people: dict[str, Signed], clock: Clock, tmp_path: Path) -> None:
    back, late1, late2 = (lend(store, people, who) for who in ("reader_important", "reader_important",
                                                               "reader_core"))
    home = registry.register(store.uow(), people["clerk"], registry.CarrierInput(
        location=SHELF, classification="secret", period="10y", scope="法规处", copy_number=1, copy_total=1))
    with pytest.raises(Refused) as e:  # the registry returns carriers; the security office runs campaigns
        campaigns.new(store.uow(), people["clerk"], clock() + timedelta(days=3), level="secret")
    assert e.value.rules == ["R-25"]
    n = campaigns.new(store.uow(), people["officer"], clock() + timedelta(days=3), level="secret")
    c = campaigns.show(store.uow(), n)
    assert {i.code for i in c.items} == {back, late1, late2}  # what is out, not what is in store (home)
    assert {i.code: i.holder for i in c.items}[late2] == badge("reader_core")
    circulation.check_in(store.uow(), people["clerk"], back, returned_by=people["reader_important"])
    before = count_events(store)
    for codes, rule in (([late1], "R-66"), ([home], "R-132")):  # still out; never on the campaign
        with pytest.raises(Refused) as e:
            campaigns.scan(store.uow(), people["clerk"], n, codes)
        assert e.value.rules == [rule]
    assert count_events(store) == before
    assert campaigns.scan(store.uow(), people["clerk"], n, [back]) == [back]
    c = campaigns.show(store.uow(), n)
    got = {i.code: i for i in c.items}[back]
    assert got.returned_by == badge("reader_important") and got.verified_by == badge("clerk")
    assert {i.code for i in c.stragglers} == {late1, late2}
    clock.advance(days=4)
    with store.uow(readonly=True) as uow:
        late = [d for d in duties.compute(uow, days=0) if d.kind == "campaign" and d.subject == f"#{n}"]
    assert late and late[0].late_since == c.due_at and "2 carrier(s) still out" in late[0].en
    done = campaigns.close(store.uow(), people["officer"], n, "两件逾期未还，已通知本人")
    assert done.status == "closed" and done.head_seq is not None and {i.code for i in done.stragglers} == {late1, late2}
    text = pdf_text(write_report(done, tmp_path / "campaign.pdf", store.policy.tz))
    assert "Stragglers" in text and late1 in text and late2 in text and badge("reader_core") in text
    assert f"{done.head_seq}:{done.head_hash}" in text.replace("\r", "").replace("\n", "")
    with pytest.raises(Exception, match="already closed"):
        campaigns.close(store.uow(), people["officer"], n)
    with store.engine.connect() as conn:
        assert verify(conn).ok


def test_year_end_preset_and_the_command_line(cli_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_cli_demo(cli_demo, tmp_path, monkeypatch, TRACKER_RETURNER_PIN="482916")
    officer = {"TRACKER_OPERATOR": badge("officer")}
    code, out = invoke("campaign", "new", "--year-end", "2099", **officer)
    assert code == 0, out
    shown = json.loads(invoke("campaign", "show", "1", "--json")[1])
    assert shown["kind"] == "year_end" and shown["items"] and shown["stragglers"]
    first = shown["items"][0]
    code, out = invoke("checkin", first["code"], "--returned-by", first["holder"])
    assert code == 0, out
    assert invoke("campaign", "scan", "1", first["code"])[0] == 0
    shown = json.loads(invoke("campaign", "show", "1", "--json")[1])
    assert first["code"] not in shown["stragglers"] and len(shown["stragglers"]) == len(shown["items"]) - 1
    code, out = invoke("campaign", "close", "1", "--pdf", str(tmp_path / "r.pdf"), **officer)
    assert code == 0 and "straggler" in out, out
    text = pdf_text(tmp_path / "r.pdf")
    assert "年终收缴" in text and shown["stragglers"][0] in text
    code, out = invoke("duties", "--json", "--days", "0")
    assert code == 0 and any(d["kind"] == "return_overdue" for d in json.loads(out))
    code, out = invoke("duties", "--week", "--pdf", str(tmp_path / "week.pdf"))
    assert code == 0 and "逾期未还" in pdf_text(tmp_path / "week.pdf")
