"""Demo register: realistic data made through the real services, so the demo exercises the same rules as production.

Three sites, thirteen people of every clearance and role, and carriers of every kind and level, some on loan, some
overdue, some copied with copy numbers. The demo PIN of everyone is 482916: it exists to try the software and must
never be used on a real register (`tracker demo` refuses a register that already has people in it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from labels.codes import make_badge_code, make_location_code
from tracker.domain import CarrierKind, Classification, DomainError
from tracker.schema import Carrier
from tracker.services import approvals, circulation, personnel, registry
from tracker.services.common import Refused, Signed, authenticate
from tracker.store import Store

DEMO_PIN = "482916"
SITES = {"BJ": "北京总部", "SH": "上海分部", "GZ": "广州分部"}
UNITS = ("办公室", "法规处", "技术处")


@dataclass(frozen=True)
class DemoPerson:
    key: str
    name: str
    unit: str
    clearance: str
    roles: tuple[str, ...]


PEOPLE = (
    DemoPerson("admin", "王建国", "办公室", "core", ("admin",)),
    DemoPerson("officer", "李秀英", "办公室", "core", ("security_officer", "clerk")),
    DemoPerson("clerk", "张伟", "办公室", "core", ("clerk",)),
    DemoPerson("clerk2", "刘洋", "办公室", "important", ("clerk",)),
    DemoPerson("courier", "陈刚", "办公室", "core", ("courier",)),
    DemoPerson("courier2", "杨帆", "办公室", "important", ("courier",)),
    DemoPerson("approver", "赵敏", "办公室", "core", ("approver", "office_leader", "committee")),
    DemoPerson("approver2", "黄磊", "法规处", "core", ("approver",)),
    DemoPerson("auditor", "周婷", "办公室", "important", ("auditor",)),
    DemoPerson("reader_core", "吴强", "技术处", "core", ()),
    DemoPerson("reader_important", "徐静", "法规处", "important", ()),
    DemoPerson("reader_general", "孙丽", "法规处", "general", ()),
    DemoPerson("approver3", "郑刚", "技术处", "important", ("approver",)),
)


def badge(key: str) -> str:
    return make_badge_code("BJ", f"{[p.key for p in PEOPLE].index(key) + 1:05d}")


def place(site: str, part: str) -> str:
    return make_location_code(site, part)


def seed_people_and_places(store: Store, pin: str = DEMO_PIN) -> dict[str, Signed]:
    """People and the location tree; returns everyone signed in with the demo PIN."""
    personnel.bootstrap(store.uow(), [personnel.NewPerson(badge(p.key), p.name, p.unit, p.clearance, p.roles, pin)
                                      for p in PEOPLE])
    sig = authenticate(store.uow(), badge(PEOPLE[0].key), pin)
    for site, name in SITES.items():
        registry.add_location(store.uow(), sig, place(site, "SITE"), name, "site", "top_secret")
        registry.add_location(store.uow(), sig, place(site, "R1"), f"{name} 机要室", "room", "top_secret",
                              parent=place(site, "SITE"), reading_place=True)
        registry.add_location(store.uow(), sig, place(site, "R1SAFE1"), f"{name} 机要室 保险柜1", "safe",
                              "top_secret", parent=place(site, "R1"))
        registry.add_location(store.uow(), sig, place(site, "R2"), f"{name} 档案室", "room", "secret",
                              parent=place(site, "SITE"))
        for cab in (1, 2):
            registry.add_location(store.uow(), sig, place(site, f"R2C{cab}"), f"{name} 档案室 {cab}号柜",
                                  "cabinet", "secret", parent=place(site, "R2"))
            for shelf in (1, 2, 3):
                registry.add_location(store.uow(), sig, place(site, f"R2C{cab}S{shelf}"),
                                      f"{name} 档案室 {cab}号柜 第{shelf}层", "shelf", "secret",
                                      parent=place(site, f"R2C{cab}"))
    return {p.key: authenticate(store.uow(), badge(p.key), pin) for p in PEOPLE}


_TITLES = ("关于年度保密检查工作的通知", "技术方案评审纪要", "项目合同草案", "会议记录", "内部审计报告",
           "设备采购清单", "人员调整方案", "年度工作总结", "应急预案", "规划纲要（征求意见稿）")
_LEVELS = (Classification.TOP_SECRET, Classification.SECRET, Classification.CONFIDENTIAL, Classification.INTERNAL,
           Classification.UNCLASSIFIED)


def _carrier_rows(n: int, rng: random.Random) -> list[registry.CarrierInput]:
    rows = []
    kinds = list(CarrierKind)
    for i in range(n):
        site = list(SITES)[i % 3]
        level = _LEVELS[rng.choices(range(5), weights=(1, 3, 4, 2, 1))[0]]
        kind = kinds[i % len(kinds)] if i % 3 else CarrierKind.PAPER
        if level == Classification.TOP_SECRET:
            loc = place(site, "R1SAFE1")
        else:
            loc = place(site, f"R2C{rng.randint(1, 2)}S{rng.randint(1, 3)}")
        secret = level.rank >= 2
        total = rng.randint(1, 5)
        rows.append(registry.CarrierInput(
            location=loc, classification=level.value, kind=kind.value,
            period=rng.choice(("10y", "20y", "long", "2030-12-31", "5y")) if secret else None,
            scope=";".join(rng.sample(UNITS, rng.randint(1, 3))) if secret else None,
            title=f"{rng.choice(_TITLES)} {i + 1}", doc_number=f"{site}密〔2026〕{i + 1}号",
            issuer=rng.choice(("市保密局", "本单位办公室", "上级机关")),
            copy_number=rng.randint(1, total) if level.rank >= 3 else None,
            copy_total=total if level.rank >= 3 else None,
            pages=rng.randint(1, 80) if kind == CarrierKind.PAPER else None,
            capacity=rng.choice(("16GB", "64GB", "700MB", "1TB")) if kind.is_storage_medium else None,
        ))
    return rows


def build_demo(store: Store, carriers: int = 500, seed: int = 20261125, end_of_life: bool = False) -> dict[str, int]:
    """A whole demo register; returns counts of what was made. With `end_of_life` (as `tracker demo` does) it also
    has a destroyed and an open destruction batch; the TUI's snapshot scenes are built without them."""
    rng = random.Random(seed)
    now = store.clock()
    # People, places and carriers are registered three days back, before the oldest loan (two days back): a demo
    # history never shows a carrier lent before it was registered.
    founding = Store(store.url, store.terminal, clock=lambda: now - timedelta(days=3), policy=store.policy)
    try:
        early = seed_people_and_places(founding)
        rows = _carrier_rows(carriers, rng)
        codes: list[str] = []
        for site in SITES:
            mine = [r for r in rows if r.location.startswith(f"LOC-{site}-")]
            if mine:  # a small demo may leave a site without carriers
                codes += registry.import_rows(founding.uow(), early["clerk"], mine, site=site)
    finally:
        founding.dispose()
    sig = {p.key: authenticate(store.uow(), badge(p.key), DEMO_PIN) for p in PEOPLE}
    approver = sig["approver"]
    copies = 0
    for code in rng.sample(codes, min(10, len(codes))):
        a = approvals.grant(store.uow(), approver, "copy", [code], now + timedelta(hours=4), copies=2,
                            requested_by=badge("clerk"))
        try:
            copies += len(registry.copy(store.uow(), sig["clerk"], code, 2, a))
        except Refused:
            pass
    # Loans: some today, some from yesterday (overdue now), made through the real check-out.
    earlier = Store(store.url, store.terminal, clock=lambda: now - timedelta(days=2), policy=store.policy)
    loans = overdue = 0
    readers = ("reader_core", "reader_important", "reader_general")
    for i, code in enumerate(rng.sample(codes, min(60, len(codes)))):
        who = readers[i % 3]
        target = earlier if i % 4 == 0 else store
        when = target.clock()
        try:
            a = approvals.grant(target.uow(), approver, "loan", [code], when + timedelta(hours=8),
                                grantee=badge(who))
            reader = Signed(sig[who].badge, when)
            circulation.check_out(target.uow(), sig["clerk"], code, reader, approval_id=a,
                                  reading_place=place(code[:2], "R1"))
        except Refused:
            continue  # the rulebook said no (clearance, scope): the demo keeps only loans the rules allow
        loans += 1
        overdue += target is earlier
    earlier.dispose()
    # A request waiting at the approvals screen: the clerk asked for a loan, no approver has decided yet.
    pending = 0
    for code in codes:
        try:
            approvals.request(store.uow(), sig["clerk"], "loan", [code], now + timedelta(hours=8),
                              grantee=badge("reader_core"), note="项目评审需要")
        except (Refused, DomainError):
            continue
        pending += 1
        break
    batches = _destruction_batches(store, sig, codes) if end_of_life else 0
    records = _lifecycle_records(store, sig) if end_of_life else 0
    return {"people": len(PEOPLE), "carriers": len(codes) + copies, "copies": copies, "loans": loans,
            "overdue": overdue, "pending": pending, "destruction_batches": batches, "lifecycle_records": records}


def _lifecycle_records(store: Store, sig: dict[str, Signed]) -> int:
    """Everyone's vetting, this year's pledge, two trainings and a passed exam, recorded by the security officer
    (R-161, R-163), so the duties calendar of `make run` shows what is really due rather than a missing record for
    every person. The officer's own stay unrecorded: nobody records their own (三员分立), which leaves one real duty."""
    today = store.clock().astimezone(store.policy.tz).date()
    start = today.replace(month=1, day=1)
    made = 0
    for p in PEOPLE:
        if p.key == "officer":
            continue
        for kind, on, result in (("vetting", today - timedelta(days=200), "passed"), ("pledge", start, None),
                                 ("training", start, None), ("training", today, None), ("exam", today, "passed")):
            personnel.record(store.uow(), sig["officer"], badge(p.key), kind, on, result)
            made += 1
    return made


def _destruction_batches(store: Store, sig: dict[str, Signed], codes: list[str]) -> int:
    """One batch destroyed under two supervisors, and one still being listed (issue 18), from the last carriers
    registered (the first ones are what the walkthroughs use)."""
    from tracker.services import destruction

    clerk, now = sig["clerk"], store.clock()
    done = destruction.new(store.uow(), clerk, "2026年第3季度销毁")
    waiting = destruction.new(store.uow(), clerk, "2026年第4季度销毁")
    listed: dict[int, list[str]] = {done: [], waiting: []}
    for code in reversed(codes):
        target = done if len(listed[done]) < 3 else waiting
        if len(listed[waiting]) >= 2:
            break
        try:
            with store.uow(readonly=True) as uow:
                level = uow.session.execute(select(Carrier.classification).where(Carrier.code == code)).scalar()
            if level == Classification.TOP_SECRET.value:
                continue  # the demo's auditor (重要) supervises: keep 绝密 out of the destroyed batch
            destruction.add(store.uow(), clerk, target, [code])
        except Refused:
            continue
        listed[target].append(code)
    if not listed[done]:
        return 0  # a demo of a carrier or two has nothing to spare for destruction
    approval = destruction.submit(store.uow(), clerk, done, now + timedelta(days=7), "年度清理")
    approvals.decide(store.uow(), sig["approver"], approval, True)
    destruction.scan(store.uow(), clerk, done, listed[done])
    destruction.complete(store.uow(), sig["clerk2"], done, [sig["officer"], sig["auditor"]],
                         {"paper": "shredding", "notebook": "shredding", "*": "physical"},
                         store.policy.destruction_sites[0])
    return 2

