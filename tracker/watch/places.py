"""Gates and cabinets as register data: which reader watches which place, which antenna faces which way.

A gate stands between an inside place and an outside place; each of its antennas faces one of them, so the order
in which a tag is heard tells the direction of a pass. A cabinet is a storage place with a reader inside it. Binding
a reader is the administrator's or the security officer's act (R-25, like adding a place), one transaction with one
ledger event. This module also resolves EPCs to carriers the way every other reader of tags does
(`tracker.epc_scope`). It never opens a device and never decides whether a pass is allowed (`tracker.rules`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select

from tracker.domain import DomainError, EventType, LocationKind
from tracker.epc_scope import carrier_code_for_epc, company_prefixes
from tracker.ledger import EventDraft
from tracker.rules import Action
from tracker.schema import Carrier, Location, ReaderPlace
from tracker.services.common import Signed, actor_facts, get_location
from tracker.store import UnitOfWork
from tracker.text import clean

Side = Literal["inside", "outside"]
_SIDES = {"inside": "inside", "in": "inside", "门内": "inside", "outside": "outside", "out": "outside",
          "门外": "outside"}
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,39}$")
_STORAGE = {LocationKind.CABINET.value, LocationKind.SAFE.value, LocationKind.SHELF.value}


@dataclass(frozen=True, slots=True)
class GateSpec:
    """A gate as the watcher needs it: `beyond` is the outside place and every place under it (a reading place
    beyond the door allows a loan to pass)."""

    code: str
    device: str
    inside: str
    outside: str
    antennas: Mapping[int, Side]
    beyond: frozenset[int]


@dataclass(frozen=True, slots=True)
class CabinetSpec:
    """A cabinet: its own location and every shelf under it (`holds`, location ids) are what its reader sees."""

    code: str
    device: str
    location_id: int
    antennas: tuple[int, ...]
    holds: frozenset[int]


@dataclass(frozen=True, slots=True)
class PlaceView:
    code: str
    kind: str
    device: str
    inside: str
    outside: str | None
    antennas: dict[str, str]
    created_by: str


def parse_antennas(items: Iterable[str]) -> dict[int, Side]:
    """`1=inside 2=outside` (or 门内/门外) as a map; each antenna named once, both sides covered."""
    out: dict[int, Side] = {}
    for item in items:
        number, _, side = item.partition("=")
        try:
            n = int(number.strip())
        except ValueError:
            n = 0
        where = _SIDES.get(side.strip().lower())
        if n < 1 or where is None or n in out:
            raise DomainError(f"Antenna {item!r}: write NUMBER=inside or NUMBER=outside, each antenna once.",
                              f"天线 {item!r}：请写作 编号=inside 或 编号=outside，每个天线只写一次。")
        out[n] = where  # type: ignore[assignment]
    if set(out.values()) != {"inside", "outside"}:
        raise DomainError("A gate needs at least one antenna facing inside and one facing outside, so the order of "
                          "reads tells the direction.",
                          "通道门至少需要一个朝内、一个朝外的天线，以便由读取顺序判断方向。")
    return out


def _code(text: str) -> str:
    code = (clean("gate", text) or "").strip().upper()
    if not _CODE.match(code):
        raise DomainError(f"Gate code {text!r}: 2–40 letters, digits, '-' or '_'.",
                          f"通道门编号 {text!r}：须为 2–40 位字母、数字、“-”或“_”。")
    return code


def _device(text: str) -> str:
    name = (clean("device", text) or "").strip()
    if not name or len(name) > 100:
        raise DomainError("Name the reader as its [devices] entry is named (--device).",
                          "请按 [devices] 中的名称指定读写器（--device）。")
    return name


def _taken(uow: UnitOfWork, code: str) -> None:
    if uow.session.execute(select(ReaderPlace.id).where(ReaderPlace.code == code)).first() is not None:
        raise DomainError(f"{code} is already bound to a reader.", f"{code} 已绑定读写器。")


def add_gate(uow: UnitOfWork, actor: Signed, code: str, device: str, inside: str, outside: str,
             antennas: Iterable[str]) -> str:
    """Bind a reader to the door between `inside` and `outside` (R-25: administrator or security officer)."""
    with uow:
        actor_facts(uow, actor, Action.MANAGE_LOCATIONS)
        gate, name, ants = _code(code), _device(device), parse_antennas(antennas)
        inner, outer = get_location(uow, inside), get_location(uow, outside)
        if inner.id == outer.id:
            raise DomainError("A gate stands between two different places.", "通道门须位于两个不同场所之间。")
        _taken(uow, gate)
        now = uow.now()
        uow.session.add(ReaderPlace(code=gate, kind="gate", device=name, inside_id=inner.id, outside_id=outer.id,
                                    antennas=json.dumps({str(k): v for k, v in sorted(ants.items())}),
                                    created_at=now, created_by=actor.badge))
        uow.ledger.append(EventDraft(EventType.READER_PLACE_ADDED, actor=actor.badge, to_location=inner.code,
                                     payload={"code": gate, "kind": "gate", "device": name, "inside": inner.code,
                                              "outside": outer.code,
                                              "antennas": {str(k): v for k, v in sorted(ants.items())}}), now)
        uow.commit()
        return gate


def add_cabinet(uow: UnitOfWork, actor: Signed, location: str, device: str, antennas: Iterable[int] = (1,)) -> str:
    """Make a storage place a smart cabinet read by `device` (R-25: administrator or security officer)."""
    with uow:
        actor_facts(uow, actor, Action.MANAGE_LOCATIONS)
        name = _device(device)
        place = get_location(uow, location)
        if place.kind not in _STORAGE:
            raise DomainError(f"{place.code} is a {place.kind}: a smart cabinet is a cabinet, safe or shelf.",
                              f"{place.code} 不是柜、保险柜或层架，不能作为智能柜。")
        ants = sorted(set(antennas))
        if not ants or ants[0] < 1:
            raise DomainError("Antennas are numbered from 1.", "天线编号从 1 开始。")
        _taken(uow, place.code)
        now = uow.now()
        uow.session.add(ReaderPlace(code=place.code, kind="cabinet", device=name, inside_id=place.id,
                                    outside_id=None, antennas=json.dumps(ants), created_at=now,
                                    created_by=actor.badge))
        uow.ledger.append(EventDraft(EventType.READER_PLACE_ADDED, actor=actor.badge, to_location=place.code,
                                     payload={"code": place.code, "kind": "cabinet", "device": name,
                                              "antennas": ants}), now)
        uow.commit()
        return place.code


def _codes(uow: UnitOfWork) -> dict[int, str]:
    return {r[0]: r[1] for r in uow.session.execute(select(Location.id, Location.code))}


def listing(uow: UnitOfWork, kind: str | None = None) -> list[PlaceView]:
    with uow:
        codes = _codes(uow)
        q = select(ReaderPlace).order_by(ReaderPlace.code)
        if kind:
            q = q.where(ReaderPlace.kind == kind)
        out = []
        for r in uow.session.execute(q).scalars():
            raw = json.loads(r.antennas)
            ants = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else \
                {str(a): "inside" for a in raw}
            out.append(PlaceView(r.code, r.kind, r.device, codes[r.inside_id],
                                 codes[r.outside_id] if r.outside_id else None, ants, r.created_by))
        return out


def _under(parents: Mapping[int, int | None], root: int) -> frozenset[int]:
    out = {root}
    changed = True
    while changed:
        changed = False
        for child, parent in parents.items():
            if parent in out and child not in out:
                out.add(child)
                changed = True
    return frozenset(out)


def load(uow: UnitOfWork) -> tuple[list[GateSpec], list[CabinetSpec]]:
    """Every gate and cabinet of the register, ready for the watchers."""
    with uow:
        codes = _codes(uow)
        parents = {r[0]: r[1] for r in uow.session.execute(select(Location.id, Location.parent_id))}
        gates: list[GateSpec] = []
        cabinets: list[CabinetSpec] = []
        for r in uow.session.execute(select(ReaderPlace).order_by(ReaderPlace.code)).scalars():
            raw = json.loads(r.antennas)
            if r.kind == "gate" and r.outside_id is not None:
                ants: dict[int, Side] = {int(k): v for k, v in raw.items()}
                # Beyond the door: the outside place and what is under it, except the inside (a room is under its site).
                gates.append(GateSpec(r.code, r.device, codes[r.inside_id], codes[r.outside_id], ants,
                                      _under(parents, r.outside_id) - _under(parents, r.inside_id)))
            elif r.kind == "cabinet":
                cabinets.append(CabinetSpec(r.code, r.device, r.inside_id, tuple(int(a) for a in raw),
                                            _under(parents, r.inside_id)))
        return gates, cabinets


@dataclass(frozen=True, slots=True)
class Tag:
    """What a tag is to the register: a carrier (`code`), ours but unregistered, or another organisation's."""

    epc: str
    kind: Literal["carrier", "ours", "foreign"]
    code: str | None


class TagResolver:
    """EPC → carrier code, remembered: a carrier's EPC and code never change, so each tag is looked up once."""

    def __init__(self) -> None:
        self._known: dict[str, Tag] = {}
        self._prefixes: tuple[str, ...] | None = None

    def cached(self, epcs: Iterable[str]) -> dict[str, Tag] | None:
        """The tags if every one is already known (no transaction needed), else None."""
        try:
            return {e: self._known[e] for e in epcs}
        except KeyError:
            return None

    def resolve(self, uow: UnitOfWork, epcs: Iterable[str]) -> dict[str, Tag]:
        wanted = {e.upper() for e in epcs}
        missing = [e for e in wanted if e not in self._known]
        if missing:
            if self._prefixes is None:
                self._prefixes = company_prefixes(uow)
            by_epc: dict[str, str] = {}
            for i in range(0, len(missing), 500):
                chunk = missing[i:i + 500]
                for row in uow.session.execute(select(Carrier.epc, Carrier.code).where(Carrier.epc.in_(chunk))):
                    if row[0]:
                        by_epc[row[0]] = row[1]
            decoded = {e: by_epc.get(e) or carrier_code_for_epc(self._prefixes, e) for e in missing}
            codes = [c for c in decoded.values() if c]
            known: set[str] = set()
            for i in range(0, len(codes), 500):
                known.update(uow.session.execute(select(Carrier.code).where(Carrier.code.in_(codes[i:i + 500])))
                             .scalars())
            for e, found in decoded.items():
                if found in known:
                    self._known[e] = Tag(e, "carrier", found)
                else:
                    # Remembered until `forget_unregistered`: a tag of ours may be registered while the watcher runs.
                    self._known[e] = Tag(e, "ours" if found else "foreign", found)
        return {e: self._known[e] for e in wanted}

    def forget_unregistered(self) -> None:
        self._known = {e: t for e, t in self._known.items() if t.kind == "carrier"}
