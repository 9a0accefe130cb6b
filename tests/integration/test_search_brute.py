"""`queries.find` gives exactly what a brute-force substring match gives, ranked as documented, on both databases and
for texts of every length (issue 22): one and two characters are served by the unigram-and-bigram index (migration
0019), three and more by the trigram indexes (0011), codes and document numbers by B-trees; none of that may change
an answer. The reference below reads every carrier, person and place in Python; the register holds Chinese and Latin
titles in both cases, LIKE's and FTS5's special characters, and is changed by plain SQL halfway (the triggers).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from sqlalchemy import text

from tracker import queries
from tracker.demo import place
from tracker.services import registry
from tracker.services.common import Signed
from tracker.store import Store

ALPHABET = "纪要会议保密通知年度鬣狗〔〕号abcABCxyZ0129 -%_\""
SHELVES = [place("BJ", "R2C1S1"), place("BJ", "R2C2S3")]


@dataclass(frozen=True)
class Row:
    id: int
    code: str
    epc: str | None
    title: str
    doc: str | None
    holder_id: int | None
    location_id: int | None


def rows_of(store: Store) -> tuple[list[Row], list[tuple[int, str, str]], list[tuple[int, str, str]]]:
    with store.engine.connect() as conn:
        rows = [Row(*r) for r in conn.execute(text(
            "SELECT id, code, epc, title, doc_number, holder_id, location_id FROM carriers ORDER BY id"))]
        people = [tuple(r) for r in conn.execute(text("SELECT id, badge, name FROM people"))]
        places = [tuple(r) for r in conn.execute(text("SELECT id, code, name FROM locations"))]
    return rows, people, places  # type: ignore[return-value]


def reference(store: Store, what: str, limit: int) -> list[str]:
    """The documented ranking, by brute force: the exact code (or EPC), then codes starting with the text (by code),
    then document numbers starting with it (one or two characters, by document number) or holding it (by carrier),
    then titles, codes and document numbers holding it, and carriers of holders and places holding it (by carrier);
    case is ignored except in the prefixes of document numbers. Each rank takes what the page still has room for."""
    rows, people, places = rows_of(store)
    t = "".join(ch for ch in what.strip() if ch >= " ")
    if not t or limit <= 0:
        return []
    low, up = t.lower(), t.upper()
    found: dict[int, int] = {}

    def take(ids: list[int]) -> bool:
        rank = len(set(found.values()))
        for i in ids[:limit + len(found)]:
            found.setdefault(i, rank)
        return len(found) >= limit

    def holds(value: str | None) -> bool:
        return value is not None and low in value.lower()

    exact = sorted((r for r in rows if up in (r.code, r.epc)), key=lambda r: r.code)
    prefix = sorted((r for r in rows if r.code.startswith(up)), key=lambda r: r.code)
    if not (take([r.id for r in exact]) or take([r.id for r in prefix])):
        if len(t) < 3:
            take([r.id for r in sorted((r for r in rows if r.doc and r.doc.startswith(t)), key=lambda r: r.doc or "")])
        else:
            take([r.id for r in rows if holds(r.doc)])
    if len(found) < limit:
        room = limit + len(found)
        rest = [r.id for r in rows if holds(r.title) or holds(r.code) or holds(r.doc)][:room]
        holders = {i for i, badge, name in people if holds(badge) or holds(name)}
        rest += [r.id for r in rows if r.holder_id in holders][:room]
        spots = {i for i, code, name in places if holds(code) or holds(name)}
        rest += [r.id for r in rows if r.location_id in spots][:room]
        rank = len(set(found.values()))
        for i in sorted(set(rest) - set(found)):
            found.setdefault(i, rank)
    codes = {r.id: r.code for r in rows}
    return [codes[i] for i in sorted(list(found)[:limit], key=lambda i: (found[i], codes[i]))]


def find(store: Store, what: str, limit: int) -> list[str]:
    with store.uow(readonly=True) as uow:
        return [v.code for v in queries.find(uow, what, limit)]


def texts(rng: random.Random, store: Store) -> list[str]:
    rows, _people, places = rows_of(store)
    values = [v for r in rows for v in (r.title, r.code, r.doc) if v] + [n for _i, _c, n in places]
    picked = set(ALPHABET) | {"", " ", "鬣狗", "zz", "Zq", "没有", "nothing here", "BJ", "bj-", "〔2"}
    picked |= {rows[0].code, rows[-1].code.lower(), rows[5].code[:7], str(rows[3].doc)}
    for _ in range(160):
        value = rng.choice(values)
        n = rng.randint(1, 10)
        start = rng.randrange(max(1, len(value) - n + 1))
        piece = value[start:start + n]
        picked.add(piece.swapcase() if rng.random() < 0.3 else piece)
    return sorted(picked)


def test_find_is_a_brute_force_substring_match_ranked(store: Store, people: dict[str, Signed],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(19)

    def title() -> str:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(2, 14))).strip() or "纪"

    rows = [registry.CarrierInput(location=SHELVES[i % 2], classification="internal", title=title(),
                                  doc_number=None if i % 9 == 0 else f"{rng.choice('京国BJ')}〔20{i % 30:02d}〕{i}号")
            for i in range(120)]
    registry.import_rows(store.uow(), people["clerk"], rows)
    # Small windows on PostgreSQL, so each of its ways to a short text answers: the first carriers, more of them,
    # the GIN index after those (alone or after the second window), and the end of the register.
    monkeypatch.setattr(queries, "SHORT_SCAN", 30)
    monkeypatch.setattr(queries, "MOST_SCAN", 40)
    for round_ in range(2):
        for what in texts(rng, store):
            for limit in (3, 10, 100):
                assert find(store, what, limit) == reference(store, what, limit), (round_, what, limit)
        with store.uow() as uow:  # a database client changes titles and document numbers: the triggers follow
            uow.session.execute(text("UPDATE carriers SET title = 'Zq鬣' || title, doc_number = NULL "
                                     "WHERE id % 4 = 1"))
            uow.session.execute(text("UPDATE carriers SET doc_number = '纪〔2099〕' || id WHERE id % 7 = 2"))
            uow.commit()
