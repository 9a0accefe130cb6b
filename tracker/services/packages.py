"""Packages and seals (封装、封志, R-18, R-88, R-94): envelopes, bags and boxes with their own code, a packing list
made by scanning, a seal number, nesting, and the opening that counts every carrier against the list.

A package holds carriers; it is never one, and it never moves custody by itself: whoever holds a sealed package
holds every carrier in it (the transit service moves them). Scanning a sealed package at a hop accounts for its
contents without opening it; opening it at the destination checks each carrier. A seal read other than the one
recorded, or a broken one, and a packing list that does not match what came out, are incidents for the security
officer (`incidents.open_in`, in the same transaction). This module must never let a carrier sit on two unopened
packing lists, or a package be opened, re-packed or nested while it travels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from labels.codes import CodeError, classify_code, make_package_code, parse_package_code
from tracker.domain import CarrierStatus, DomainError, EventType, IncidentKind, PackageKind, utc_iso
from tracker.ledger import EventDraft
from tracker.rules import Action, Violation, check_opening
from tracker.schema import Carrier, Package, PackageItem, Person, Transit, TransitItem
from tracker.services.common import NotFound, Signed, actor_facts, get_carrier, refuse
from tracker.services.incidents import open_in
from tracker.store import UnitOfWork
from tracker.text import clean

SEAL_BROKEN = "BROKEN"  # what a hop records as the seal read when the strip is broken


@dataclass(frozen=True, slots=True)
class PackageView:
    code: str
    kind: str
    status: str
    seal: str | None
    parent: str | None
    carriers: tuple[str, ...]  # directly on its packing list
    packages: tuple[str, ...]  # nested directly in it
    all_carriers: tuple[str, ...]  # every carrier inside, nested packages included


@dataclass(frozen=True, slots=True)
class Opening:
    package: str
    seal_ok: bool
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    incidents: tuple[int, ...]


def valid_package_code(text: str) -> str:
    try:
        return parse_package_code(text).text
    except CodeError as e:
        raise DomainError(f"R-18: {e.message_en}.", f"R-18：{e.message_zh}。") from None


def get_package(uow: UnitOfWork, code: str, lock: bool = True) -> Package:
    q = select(Package).where(Package.code == valid_package_code(code))
    if lock:
        q = q.with_for_update()
    p = uow.session.execute(q.execution_options(populate_existing=True)).scalar_one_or_none()
    if p is None:
        raise NotFound(f"No package with code {code.strip()!r}.", f"没有编号为 {code.strip()!r} 的封装。")
    return p


def _seal_text(seal: str) -> str:
    text = (clean("seal", seal, limit=64) or "").strip()
    if not text:
        raise DomainError("Give the seal number on the strip (--seal).", "请填写封条上的封志号（--seal）。")
    return text


def create(uow: UnitOfWork, actor: Signed, kind: str = "envelope", site: str = "BJ") -> str:
    """A new, empty, open package with the next code of the site; its label is printed like a carrier's."""
    with uow:
        actor_facts(uow, actor, Action.PACK)
        k = PackageKind.parse(kind)
        prefix = f"PKG-{site}-"
        last = uow.session.execute(select(Package.code).where(Package.code.like(f"{prefix}%"))
                                   .order_by(func.length(Package.code).desc(), Package.code.desc()).limit(1)
                                   ).scalar_one_or_none()
        code = make_package_code(site, parse_package_code(last).serial + 1 if last else 1)
        now = uow.now()
        uow.session.add(Package(code=code, kind=k.value, status="open", created_by=actor.badge, created_at=now))
        uow.ledger.append(EventDraft(EventType.PACKAGE_CREATED, actor=actor.badge,
                                     payload={"package": code, "kind": k.value}), now)
        uow.commit()
        return code


def _in_transit(uow: UnitOfWork, carrier_ids: Iterable[int]) -> bool:
    ids = list(carrier_ids)
    return bool(ids) and uow.session.execute(
        select(func.count()).select_from(TransitItem).where(TransitItem.open_carrier_id.in_(ids))).scalar_one() > 0


def pack(uow: UnitOfWork, actor: Signed, package_code: str, codes: Sequence[str]) -> list[str]:
    """Scan carriers (and sealed packages, to nest them) into an open package: its packing list (装箱单)."""
    with uow:
        actor_facts(uow, actor, Action.PACK)
        pkg = get_package(uow, package_code)
        if pkg.status != "open":
            refuse([Violation("R-88", f"{pkg.code} is {pkg.status}: only an open package is packed.",
                              f"{pkg.code} 已{'封口' if pkg.status == 'sealed' else '拆封'}：只能向未封口的封装"
                              "装入。")],
                   "pack", None, actor.badge)
        if not codes:
            raise DomainError("Scan at least one carrier or package.", "请至少扫描一件载体或封装。")
        now = uow.now()
        problems: list[Violation] = []
        added: list[str] = []
        for text in codes:
            if classify_code(text) == "package":
                child = get_package(uow, text)
                if child.id == pkg.id or _is_ancestor(uow, child, pkg):
                    problems.append(Violation("R-88", f"{child.code} cannot go inside itself.",
                                              f"{child.code} 不能装入自身。"))
                elif child.status != "sealed":
                    problems.append(Violation("R-88", f"{child.code} is {child.status}: seal it before nesting it.",
                                              f"{child.code} 未封口：请先封装再装入。"))
                elif child.parent_id is not None:
                    problems.append(Violation("R-88", f"{child.code} is already inside another package.",
                                              f"{child.code} 已装入其他封装。"))
                elif _in_transit(uow, _carrier_ids(uow, child)):
                    problems.append(Violation("R-17", f"{child.code} is travelling.", f"{child.code} 正在传递中。"))
                else:
                    child.parent_id = pkg.id
                    added.append(child.code)
                continue
            c = get_carrier(uow, text)
            on = uow.session.execute(select(PackageItem.package_id).where(PackageItem.open_carrier_id == c.id)
                                     ).scalar_one_or_none()
            if c.status != CarrierStatus.IN_STORE.value:
                problems.append(Violation("R-17", f"{c.code} is not in store ({c.status}): pack carriers from the "
                                                  "registry.", f"{c.code} 不在库：只能封装在库载体。"))
            elif on is not None:
                problems.append(Violation("R-18", f"{c.code} is already packed in another package.",
                                          f"{c.code} 已装入其他封装。"))
            else:
                uow.session.add(PackageItem(package_id=pkg.id, carrier_id=c.id, packed_at=now, open_carrier_id=c.id))
                uow.session.flush()
                added.append(c.code)
        refuse(problems, "pack", None, actor.badge)
        uow.ledger.append(EventDraft(EventType.PACKED, carrier=added[0] if len(added) == 1 else None,
                                     actor=actor.badge, payload={"package": pkg.code, "items": added}), now)
        uow.commit()
        return added


def seal(uow: UnitOfWork, actor: Signed, package_code: str, seal_number: str) -> str | None:
    """Seal a package with the number on its seal strip, or re-seal it (a new strip after an inspection or a broken
    seal): the old number goes into the ledger. Returns the previous seal number, if any."""
    with uow:
        actor_facts(uow, actor, Action.PACK)
        number = _seal_text(seal_number)
        pkg = get_package(uow, package_code)
        if pkg.status == "opened":
            refuse([Violation("R-88", f"{pkg.code} was opened: make a new package.",
                              f"{pkg.code} 已拆封：请使用新的封装。")], "seal", None, actor.badge)
        if pkg.status == "open" and not _carrier_ids(uow, pkg):
            refuse([Violation("R-18", f"{pkg.code} is empty: pack carriers before sealing it.",
                              f"{pkg.code} 为空：请先装入载体再封口。")], "seal", None, actor.badge)
        travelling = _holders_in_transit(uow, _carrier_ids(uow, pkg))
        if travelling and travelling != {actor.badge}:
            # A new seal number while the package travels is only its holder's to record: anyone else could make a
            # tampered package match its strip before the next hop reads it.
            refuse([Violation("R-17", f"{pkg.code} is travelling, held by {', '.join(sorted(travelling))}: only its "
                                      "holder re-seals it.",
                              f"{pkg.code} 正在传递中，由 {'、'.join(sorted(travelling))} 持有：只有持有人可以重新"
                              "封口。")],
                   "seal", None, actor.badge)
        old = pkg.seal
        now = uow.now()
        pkg.status, pkg.seal, pkg.sealed_at = "sealed", number, now
        uow.ledger.append(EventDraft(EventType.PACKAGE_SEALED, actor=actor.badge,
                                     payload={"package": pkg.code, "seal": number, "previous": old,
                                              "carriers": sorted(_codes(uow, _carrier_ids(uow, pkg)))}), now)
        uow.commit()
        return old


def open_package(uow: UnitOfWork, actor: Signed, package_code: str, seal_seen: str,
                 found: Sequence[str]) -> Opening:
    """Open a sealed package at its destination and count what came out against its packing list (清点).

    The seal read is compared with the one recorded; every carrier (and nested package) scanned out is compared with
    the list. Differences open incidents; a carrier on the list that did not come out is reported missing (下落不明:
    the register must not say it is on the shelf). Nested packages stay sealed, to be opened in their turn."""
    with uow:
        actor_facts(uow, actor, Action.PACK)
        seen = _seal_text(seal_seen)
        pkg = get_package(uow, package_code)
        if pkg.status != "sealed" or pkg.parent_id is not None:
            refuse([Violation("R-88", f"{pkg.code} is not a sealed package in hand (it is {pkg.status}"
                                      f"{', inside another package' if pkg.parent_id else ''}).",
                              f"{pkg.code} 不是可拆的已封装件。")], "open_package", None, actor.badge)
        ids = _carrier_ids(uow, pkg)
        if _in_transit(uow, ids):
            refuse([Violation("R-20", f"{pkg.code} is still travelling: it is opened after receipt at the "
                                      "destination registry.", f"{pkg.code} 仍在传递中：须由收件机要室签收后拆封。")],
                   "open_package", None, actor.badge)
        now = uow.now()
        direct = {c for c, in uow.session.execute(
            select(Carrier.code).join(PackageItem, PackageItem.carrier_id == Carrier.id)
            .where(PackageItem.package_id == pkg.id))}
        nested = {p for p, in uow.session.execute(select(Package.code).where(Package.parent_id == pkg.id))}
        scanned = frozenset(t.strip().upper() for t in found if t.strip())
        missing, extra = check_opening(frozenset(direct | nested), scanned)
        opened: list[int] = []
        seal_ok = seen == pkg.seal
        if not seal_ok:
            kind = IncidentKind.SEAL_BROKEN if seen.upper() == SEAL_BROKEN else IncidentKind.SEAL_MISMATCH
            opened.append(open_in(uow, kind, f"{pkg.code}: seal {pkg.seal} recorded, {seen} found on opening",
                                  actor=actor.badge, carriers=sorted(_codes(uow, ids)),
                                  evidence={"package": pkg.code, "expected": pkg.seal, "seen": seen}))
        if missing or extra:
            opened.append(open_in(uow, IncidentKind.CONTENTS_MISMATCH,
                                  f"{pkg.code} opened: {len(missing)} missing, {len(extra)} not on the list",
                                  actor=actor.badge, carriers=[*missing, *extra],
                                  evidence={"package": pkg.code, "missing": missing, "extra": extra,
                                            "seal": seen}))
        for code in missing:
            if classify_code(code) == "package":
                continue
            c = get_carrier(uow, code)
            if c.status == CarrierStatus.IN_STORE.value:
                place = c.location.code if c.location else None
                c.status, c.location_id, c.missing_since, c.updated_at = (CarrierStatus.MISSING.value, None, now,
                                                                          now)
                uow.ledger.append(EventDraft(EventType.REPORTED_MISSING, carrier=c.code, actor=actor.badge,
                                             from_location=place,
                                             payload={"note": f"not in {pkg.code} on opening",
                                                      "incident": opened[-1]}), now)
        for item in uow.session.execute(select(PackageItem).where(PackageItem.package_id == pkg.id)).scalars():
            item.open_carrier_id = None
        for child in uow.session.execute(select(Package).where(Package.parent_id == pkg.id)).scalars():
            child.parent_id = None  # out of its parent, still sealed
        pkg.status, pkg.opened_at, pkg.opened_by = "opened", now, actor.badge
        uow.ledger.append(EventDraft(EventType.PACKAGE_OPENED, actor=actor.badge,
                                     payload={"package": pkg.code, "seal": seen, "seal_ok": seal_ok,
                                              "found": sorted(scanned), "missing": missing, "extra": extra,
                                              "incidents": opened, "at": utc_iso(now)}), now)
        uow.commit()
        return Opening(pkg.code, seal_ok, tuple(missing), tuple(extra), tuple(opened))


def show(uow: UnitOfWork, code: str) -> PackageView:
    """A package and its packing list, read without a permission check (the caller's read transaction)."""
    pkg = get_package(uow, code, lock=False)
    return view(uow, pkg)


def view(uow: UnitOfWork, pkg: Package) -> PackageView:
    direct = sorted(c for c, in uow.session.execute(
        select(Carrier.code).join(PackageItem, PackageItem.carrier_id == Carrier.id)
        .where(PackageItem.package_id == pkg.id)))
    nested = sorted(p for p, in uow.session.execute(select(Package.code).where(Package.parent_id == pkg.id)))
    parent = uow.session.execute(select(Package.code).where(Package.id == pkg.parent_id)).scalar_one_or_none() \
        if pkg.parent_id else None
    everything = sorted(_codes(uow, _carrier_ids(uow, pkg))) if pkg.status != "opened" else direct
    return PackageView(pkg.code, pkg.kind, pkg.status, pkg.seal, parent, tuple(direct), tuple(nested),
                       tuple(everything))


def _is_ancestor(uow: UnitOfWork, maybe: Package, of: Package) -> bool:
    parent_id = of.parent_id
    while parent_id is not None:
        if parent_id == maybe.id:
            return True
        parent_id = uow.session.execute(select(Package.parent_id).where(Package.id == parent_id)).scalar_one()
    return False


def _carrier_ids(uow: UnitOfWork, pkg: Package) -> list[int]:
    """Every carrier on the unopened packing lists of `pkg` and of the packages nested in it, at any depth."""
    out: list[int] = []
    todo = [pkg.id]
    while todo:
        pid = todo.pop()
        out += list(uow.session.execute(select(PackageItem.carrier_id).where(
            PackageItem.package_id == pid, PackageItem.open_carrier_id.is_not(None))).scalars())
        todo += list(uow.session.execute(select(Package.id).where(Package.parent_id == pid)).scalars())
    return out


def _holders_in_transit(uow: UnitOfWork, carrier_ids: list[int]) -> set[str]:
    """The badges holding the open transits these carriers travel on (none when they are not travelling)."""
    if not carrier_ids:
        return set()
    rows = uow.session.execute(
        select(Person.badge).join(Transit, Transit.holder_id == Person.id)
        .join(TransitItem, TransitItem.transit_id == Transit.id)
        .where(TransitItem.open_carrier_id.in_(carrier_ids)).distinct()).scalars()
    return set(rows)


def carriers_of(uow: UnitOfWork, pkg: Package) -> list[Carrier]:
    """The carriers inside a package, nested ones included, locked in code order."""
    ids = _carrier_ids(uow, pkg)
    if not ids:
        return []
    rows = uow.session.execute(select(Carrier).where(Carrier.id.in_(ids)).order_by(Carrier.code)
                               .with_for_update(of=Carrier)).unique().scalars()
    return list(rows)


def _codes(uow: UnitOfWork, ids: list[int]) -> list[str]:
    if not ids:
        return []
    return list(uow.session.execute(select(Carrier.code).where(Carrier.id.in_(ids))).scalars())
