"""Read-side queries shared by the CLI, the TUI and the reports: summaries, search, history and alerts.

Everything here only reads, inside a read-only unit of work, and returns plain dataclasses so callers never hold ORM
objects across threads. It must never change state.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ARRAY, Integer, any_, bindparam, func, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import aliased

from tracker import duties
from tracker.domain import (
    CarrierStatus,
    Classification,
    IncidentKind,
    PersonStatus,
    SecrecyPeriod,
    local_text,
    marking_text,
)
from tracker.rules import leak_deadline
from tracker.schema import (
    Approval,
    ApprovalCarrier,
    Carrier,
    Event,
    Location,
    Meeting,
    MeetingMaterial,
    Person,
    PrintRun,
)
from tracker.services.incidents import open_incidents
from tracker.services.transit import overdue
from tracker.store import UnitOfWork
from tracker.views import FIELD_ZH as FIELD_ZH  # the view lives with its light reader; callers know it as queries'
from tracker.views import CarrierView as CarrierView
from tracker.views import value_zh as value_zh


def _view(c: Carrier) -> CarrierView:
    level = Classification(c.classification)
    period = SecrecyPeriod.parse(c.period)
    return CarrierView(
        code=c.code, kind=c.kind, classification=c.classification, marking=marking_text(level, period),
        title=c.title, doc_number=c.doc_number, status=c.status,
        holder=c.holder.badge if c.holder else None, holder_name=c.holder.name if c.holder else None,
        location=c.location.code if c.location else None, location_name=c.location.name if c.location else None,
        due_at=c.due_at, copy_number=c.copy_number, copy_total=c.copy_total, period=c.period, scope=c.scope,
        epc=c.epc, regime=c.regime, missing_since=c.missing_since, issuer=c.issuer, pages=c.pages,
        capacity=c.capacity, highest_level_held=c.highest_level_held, registered_at=c.registered_at,
    )


def carrier(uow: UnitOfWork, code: str) -> CarrierView | None:
    c = uow.session.execute(select(Carrier).where(Carrier.code == code.strip())).unique().scalar_one_or_none()
    return _view(c) if c else None


def carrier_by_epc(uow: UnitOfWork, epc: str) -> CarrierView | None:
    c = uow.session.execute(select(Carrier).where(Carrier.epc == epc.strip().upper())).unique().scalar_one_or_none()
    return _view(c) if c else None


# Texts shorter than this have no trigram of their own (see `find`).
TRIGRAM = 3
# On PostgreSQL a short text is first looked for in this many carriers, in registration order: one found in at least
# one carrier in 20 fills a page of 100 there. One found less often but still often enough that the page should fill
# within `MOST_SCAN` more carriers is read for in those; a rarer one (or one first found later) is looked up in the GIN
# index of unigrams and bigrams (migration 0019), whose every match is then read: few, for a rare text.
SHORT_SCAN = 2_000
MOST_SCAN = 12_000
# Three characters and more after the window, on PostgreSQL (`_first_in_buckets`): how many buckets of ids to read
# first for a text the window found, and the most a search reads one by one.
NEAR_BUCKETS = 2
MAX_BUCKETS = 64
_END = "\U0010ffff"  # sorts after every character: [text, text + _END) is the range of strings starting with text

_FTS = sql_text("SELECT rowid FROM carrier_search WHERE carrier_search MATCH :match ORDER BY rowid LIMIT :n")
_FTS_DOC = sql_text("SELECT rowid FROM carrier_search_doc WHERE carrier_search_doc MATCH :match ORDER BY rowid "
                    "LIMIT :n")
# One token of the unigram-and-bigram index (migration 0019): its first ids are the answer, whatever its frequency.
_GRAMS = sql_text("SELECT rowid FROM carrier_grams WHERE carrier_grams MATCH :match ORDER BY rowid LIMIT :n")
_SCAN_ALL = sql_text("SELECT id FROM carriers WHERE title LIKE :pattern ESCAPE '\\' OR code LIKE :pattern "
                     "ESCAPE '\\' OR doc_number LIKE :pattern ESCAPE '\\' ORDER BY id LIMIT :n")
_READ_PG = sql_text("SELECT count(*), max(id) FROM (SELECT id FROM carriers WHERE id > :after ORDER BY id "
                    "LIMIT :scan) AS w")
BUCKET_BITS = 16  # migration 0020's index (on `carrier_texts` since 0022) holds `id >> 16`: buckets of 65,536 ids
_HAS_BUCKETS_PG = sql_text("SELECT to_regclass('ix_carrier_texts') IS NOT NULL")


@dataclass(frozen=True)
class _Reads:
    """How `_window_pg` reads for one rank on PostgreSQL. `window`: among the next :scan carriers after :after, the
    first :n holding the text (ILIKE, as `_REST_LIKE`) — for several columns, joined by a unit separator, which no text
    holds (find drops control characters); PostgreSQL stops reading at the n-th. `index`: the first :n matches after
    :after through a GIN index, every match read from its bitmap and the first ones sorted out (`id + 0`: ordered by
    the primary key, PostgreSQL would read carriers in order testing each, through the whole register for a text
    found late). With migration 0020's index, `probe`: at most :cap matches after :after in no order (the bitmap's
    heap read stops there: fewer than :cap is every match), and `buckets`: the first :n matches after :after in the
    buckets :first…:last, bucket by bucket — GIN reads and the heap rechecks one bucket's candidates only, and the
    buckets after the one that fills the page are never read (the nested loop keeps the buckets' order, so
    `ORDER BY g.k` needs no sort, and each bucket's rows come out in id order)."""

    window: Any
    index: Any
    probe: Any = None
    buckets: Any = None


def _trigram_reads(condition: str, value: str) -> _Reads:
    """The reads of a rank of three characters and more: `condition` on the columns of `value` (constant SQL)."""
    where = f"FROM carrier_texts WHERE {condition} AND id > :after"  # the texts' copy and its index (0022)
    return _Reads(
        window=sql_text(f"SELECT id FROM (SELECT id, {value} AS v FROM carriers WHERE id > :after ORDER BY id "  # noqa: S608
                        "LIMIT :scan) AS w WHERE v ILIKE :pattern ESCAPE '\\' ORDER BY id LIMIT :n"),
        index=sql_text(f"SELECT id {where} ORDER BY id + 0 LIMIT :n"),
        probe=sql_text(f"SELECT id {where} LIMIT :cap"),
        buckets=sql_text(
            "SELECT x.id FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) WITH ORDINALITY "  # noqa: S608
            f"AS g(b, k), LATERAL (SELECT id {where} AND (id >> 16) = g.b ORDER BY id + 0 LIMIT :n) AS x "
            "ORDER BY g.k LIMIT :n"))


_LIKE = "ILIKE :pattern ESCAPE '\\'"
# The rest rank's title, code and document number (pg_trgm: migration 0020's index, or 0011's three).
_REST_VALUE = "title || chr(31) || code || chr(31) || coalesce(doc_number, '')"  # the window's text of a carrier
_REST_PG = _trigram_reads(f"(title {_LIKE} OR code {_LIKE} OR doc_number {_LIKE})", _REST_VALUE)
# The document numbers holding a text of three characters and more (their rank comes first).
_DOC_PG = _trigram_reads(f"doc_number {_LIKE}", "coalesce(doc_number, '')")
# A text shaped as a carrier code or its beginning: site letters, a hyphen and at least three letters or digits. The
# site's trigrams ('bj ', ' bj', '  b' for BJ) are held by nearly every code, so a GIN scan of the code column for the
# whole text walks their posting lists through the register: 4 ms for 'BJ-33333' at a million carriers, the most of
# any statement of the search. The code column is looked up from the hyphen on (`:narrow`: '-33333' has no site
# trigram, 0.8 ms) and the whole text rechecked on an expression the index does not hold (`code || ''`), so the
# match is still the code holding the whole text anywhere ('J-500' or 'BJ-500' in 'XBJ-5001'); titles and document
# numbers keep the whole text, whose site trigrams are rare there. Such a text is seldom common: `_SHAPED_PG` reads
# at most :cap of its matches in title, code or document number, in no order, each with whether its document number
# holds it — fewer than :cap is every match, and answers the document rank and the rest from one GIN scan; more, and
# both ranks are read as for any text but without the window of the first carriers, which seldom hold such a text.
CODE_SHAPED = re.compile(r"[A-Za-z]{2,4}(-[0-9A-Za-z]{3}.*)", re.DOTALL)
_REST_CODE = f"(title {_LIKE} OR (code ILIKE :narrow ESCAPE '\\' AND (code || '') {_LIKE}) OR doc_number {_LIKE})"
_REST_CODE_PG = _trigram_reads(_REST_CODE, _REST_VALUE)
# its probe, each match flagged, from wherever `_trigram_reads` reads the texts and their index (pass :after)
_SHAPED_PG = sql_text(_REST_CODE_PG.probe.text.replace("SELECT id ", f"SELECT id, coalesce(doc_number {_LIKE}, false) ",
                                                       1))
# The first window of both ranks of a text of three characters and more (`_window_pg`), read once: among the first
# :scan carriers, the first :most whose document number holds the text and the first :most whose title, code or
# document number does, and how many carriers were read up to which id (`_READ_PG`). One pass over the first carriers
# instead of three (two windows and their count): 1-1.5 ms less per text at a million carriers.
_HEAD_PG = sql_text(
    "SELECT (array_agg(id ORDER BY id) FILTER (WHERE d))[1:CAST(:most AS integer)], "  # noqa: S608
    "(array_agg(id ORDER BY id) FILTER (WHERE d OR r))[1:CAST(:most AS integer)], count(*), max(id) "
    f"FROM (SELECT id, coalesce(doc_number, '') {_LIKE} AS d, (title || chr(31) || code) {_LIKE} AS r "
    "FROM carriers WHERE id > :after ORDER BY id LIMIT :scan) AS w")
# One or two characters: the window as for the rest, then the GIN index of unigrams and bigrams (migrations 0019, 0021:
# their own table, which a custody update does not touch).
_GRAMS_PG = _Reads(window=_REST_PG.window, index=sql_text(
    "SELECT id FROM carrier_grams WHERE grams @> ARRAY[lower(:text)] AND id > :after ORDER BY id + 0 LIMIT :n"))


def _like(text: str) -> str:
    """`text` as a LIKE pattern matching itself anywhere: its own % and _ are literal characters here."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _quoted(text: str) -> str:
    """`text` as one FTS5 phrase: with the trigram tokenizer, a match is the text found as a substring."""
    return '"' + text.replace('"', '""') + '"'


def _like_any(*columns: Any) -> Any:
    return or_(*(c.ilike(bindparam("pattern"), escape="\\") for c in columns))


# Every statement of the search is built once: building them per keystroke cost more than running them.
_N: Any = bindparam("n")
_EXACT = (select(Carrier.id).where(or_(Carrier.code == bindparam("code"), Carrier.epc == bindparam("code")))
          .order_by(Carrier.code).limit(_N))


def _prefix(column: Any, text: str, end: str) -> Any:
    """The rows whose `column` starts with the bound text, in its order: a B-tree range. Only in byte order is it the
    prefix, whatever the characters: SQLite compares so; on PostgreSQL the range is in the "C" collation (indexed so
    by migration 0011), as a language's collation may ignore a hyphen."""
    return (select(Carrier.id).where(column >= bindparam(text), column < bindparam(end)).order_by(column)
            .limit(_N))


_CODE_PREFIX = _prefix(Carrier.code, "code", "code_end")
_DOC_PREFIX = _prefix(Carrier.doc_number, "text", "text_end")
_CODE_PREFIX_PG = _prefix(Carrier.code.collate("C"), "code", "code_end")
_DOC_PREFIX_PG = _prefix(Carrier.doc_number.collate("C"), "text", "text_end")
_REST_LIKE = (select(Carrier.id).where(_like_any(Carrier.title, Carrier.code, Carrier.doc_number))
              .order_by(Carrier.id).limit(_N))
# People and places are few: those holding the text are read first, then their carriers (a sub-select would let
# PostgreSQL walk every carrier in id order looking for a holder that is not there).
_PEOPLE = select(Person.id).where(_like_any(Person.badge, Person.name))
_PLACES = select(Location.id).where(_like_any(Location.code, Location.name))
_BY_HOLDER = (select(Carrier.id).where(Carrier.holder_id.in_(bindparam("ids", expanding=True)))
              .order_by(Carrier.id).limit(_N))
_BY_PLACE = (select(Carrier.id).where(Carrier.location_id.in_(bindparam("ids", expanding=True)))
             .order_by(Carrier.id).limit(_N))
_HOLDER, _PLACE = aliased(Person), aliased(Location)
_VIEWS_OF = (select(Carrier.id, Carrier.code, Carrier.kind, Carrier.classification, Carrier.title, Carrier.doc_number,
                    Carrier.status, _HOLDER.badge, _HOLDER.name, _PLACE.code, _PLACE.name, Carrier.due_at,
                    Carrier.copy_number, Carrier.copy_total, Carrier.period, Carrier.scope, Carrier.epc,
                    Carrier.regime, Carrier.missing_since, Carrier.issuer, Carrier.pages, Carrier.capacity,
                    Carrier.highest_level_held, Carrier.registered_at)
             .outerjoin(_HOLDER, Carrier.holder_id == _HOLDER.id)
             .outerjoin(_PLACE, Carrier.location_id == _PLACE.id))
_VIEWS = _VIEWS_OF.where(Carrier.id.in_(bindparam("ids", expanding=True)))
# PostgreSQL: the page's ids as one array parameter (`= ANY`) rather than a hundred in a list — the same statement for
# every page, which the server reads in 0.7 ms where the list took 1.2 ms (100 carriers of a million).
_VIEWS_PG = _VIEWS_OF.where(Carrier.id == any_(bindparam("ids", type_=ARRAY(Integer))))


def find(uow: UnitOfWork, text: str, limit: int = 50) -> list[CarrierView]:
    """Incremental search over code, document number, title, holder and place, ranked: the exact code (or EPC), codes
    starting with the text, document numbers holding it, then titles, codes, holders and places holding it (one
    rank). Each rank is shown by code. When a rank holds more carriers than the page has room for, the code ranks
    give the first codes and the others the first carriers registered (a page stops the read: finding the first
    codes among a million titles would read them all); whenever everything fits, the answer is the old one.

    Each rank is one indexed read stopped at `limit` rows, so a keystroke costs about the same on a million carriers
    as on a thousand: codes by prefix from their B-tree index; on SQLite, texts of three characters or more from the
    `carrier_search` FTS5 trigram index (migration 0011), on PostgreSQL from a pg_trgm GIN index (migration 0020);
    people and places are few and are read directly. One or two characters have no trigram of their own: document
    numbers are matched from their start (B-tree), and the rest through the index of every carrier's characters and
    pairs of adjacent characters (migration 0019): on SQLite one FTS5 token, read in carrier order up to the page; on
    PostgreSQL the first carriers while the text is common there (or as many more as its frequency there says fill
    the page, up to `MOST_SCAN`), else every later match of the text in a GIN index (`_window_pg`). Three characters
    and more on PostgreSQL (the document rank, then the rest) the same way, then pg_trgm's index bucket by bucket of
    ids where the text is common after the first carriers (`_first_in_buckets`): GIN can give every match only, in no
    order, and a text absent from the first carriers but common later ('Final Plan') had every match read. A text
    shaped as a code ('BJ-33333', 'bj-10000005': `CODE_SHAPED`) goes to that index at once, its code column looked
    up from the hyphen on, and its few matches answer the document rank and the rest from one read: the first
    carriers seldom hold such a text, and its site's trigrams are in nearly every code (at a million carriers the
    three code texts of the search benchmark took 13-15 ms).
    """
    t = "".join(ch for ch in text.strip() if ch >= " ")  # no control character (the index pads values with them)
    if not t or limit <= 0:
        return []
    conn = uow.session.connection()
    sqlite = uow.dialect == "sqlite"
    params = {"code": t.upper(), "code_end": t.upper() + _END, "text": t, "text_end": t + _END,
              "pattern": _like(t)}
    shaped = None if sqlite else CODE_SHAPED.fullmatch(t)
    if shaped:
        params["narrow"] = _like(shaped.group(1))
    found: dict[int, int] = {}  # carrier id: its rank, in rank order
    counted: dict[tuple[int, int], tuple[int, int]] = {}  # windows of PostgreSQL's first carriers (`_window_pg`)
    every: list[tuple[int, bool]] | None = None  # a code-shaped text's every match on PostgreSQL, when few
    head: tuple[list[int], list[int]] | None = None  # the first window of the document rank and the rest (`_HEAD_PG`)

    def ids(q: Any, **more: Any) -> list[int]:
        # each rank asks for enough rows to fill the page after dropping those already ranked higher
        return list(conn.execute(q, {**params, "n": limit + len(found), **more}).scalars())

    def take(more: list[int]) -> bool:
        rank = len(set(found.values()))
        for i in more:
            found.setdefault(i, rank)
        return len(found) >= limit

    # codes are upper case: a B-tree range is the prefix match, on both databases
    if not (take(ids(_EXACT)) or take(ids(_CODE_PREFIX if sqlite else _CODE_PREFIX_PG))):
        if len(t) < TRIGRAM:
            take(ids(_DOC_PREFIX if sqlite else _DOC_PREFIX_PG))
        elif sqlite:
            take(ids(_FTS_DOC, match=_quoted(t)))
        else:
            if shaped:
                cap = 2 * (limit + len(found))
                every = [(i, doc) for i, doc in conn.execute(_SHAPED_PG, {**params, "cap": cap, "after": -(2**31)})]
                if len(every) >= cap:
                    every = None  # not every match: read as for any text
            if every is not None:
                take(sorted(i for i, doc in every if doc)[:limit + len(found)])
            else:
                if not shaped:
                    head = _head_pg(conn, params, 4 * limit, counted)  # the rest asks for fewer than 4 pages
                take(_window_pg(conn, params, limit + len(found), _DOC_PG, counted, first=not shaped,
                                head=head[0] if head else None))
    if len(found) < limit:
        if len(t) >= TRIGRAM:
            if sqlite:
                rest = ids(_FTS, match=_quoted(t))
            elif every is not None:
                rest = sorted(i for i, _doc in every)[:limit + len(found)]
            else:
                rest = _window_pg(conn, params, limit + len(found), _REST_CODE_PG if shaped else _REST_PG, counted,
                                  first=not shaped, head=head[1] if head else None)
        elif any(unicodedata.category(ch) == "Cc" for ch in t):  # no token holds it (DEL, C1): read the carriers
            rest = ids(_SCAN_ALL if sqlite else _REST_LIKE)
        elif sqlite:
            rest = ids(_GRAMS, match=_quoted(t))
        else:
            rest = _window_pg(conn, params, limit + len(found), _GRAMS_PG, counted)
        for who, theirs in ((_PEOPLE, _BY_HOLDER), (_PLACES, _BY_PLACE)):
            matching = ids(who)
            if matching:
                rest += ids(theirs, ids=matching)
        take(sorted(set(rest) - set(found)))
    page = list(found)[:limit]  # the first carriers of each rank: by code, or in registration order
    return [v for _i, v in sorted(_views(conn, page), key=lambda iv: (found[iv[0]], iv[1].code))]  # by code


def _window_pg(conn: Any, params: dict[str, str], n: int, reads: _Reads,
               counted: dict[tuple[int, int], tuple[int, int]], first: bool = True,
               head: list[int] | None = None) -> list[int]:
    """The first `n` carriers, in registration order, holding the text in the columns of `reads` (PostgreSQL): read
    for in the first carriers, then in as many more as the text's frequency there says the page needs (at most
    `MOST_SCAN`), then looked up through a GIN index after the carriers read — the grams' index for one or two
    characters, pg_trgm's for more (`_first_in_buckets`). A common text fills its page from the first carriers; the
    index alone would read every one of its matches (50–60 ms for a common title word at a million carriers).
    `counted` keeps what `_READ_PG` said of a window during this search: the document rank and the rest read the same
    first carriers. `head`, when given, is the first window's answer already read (`_HEAD_PG`, at least `n` ids when
    there are so many). Without `first` the window is skipped (a code-shaped text, which the first carriers seldom
    hold: 3-4 ms of reading them saved) and the index read from the first carrier on."""
    found: list[int] = []
    after, window = -(2**31), SHORT_SCAN
    if not first:  # straight to the index, from the first carrier's bucket (a text rare in the first carriers)
        if (after, 1) not in counted:
            counted[after, 1] = tuple(conn.execute(_READ_PG, {"after": after, "scan": 1}).one())
        read, last = counted[after, 1]
        if not read:
            return []  # no carrier at all
        after = last - 1
    for step in range(2 if first else 0):
        if step == 0 and head is not None:
            found += head[:n]
        else:
            found += conn.execute(reads.window, {**params, "after": after, "scan": window,
                                                 "n": n - len(found)}).scalars()
        if len(found) >= n:
            return found
        if (after, window) not in counted:
            counted[after, window] = tuple(conn.execute(_READ_PG, {"after": after, "scan": window}).one())
        read, last = counted[after, window]
        if read < window:
            return found  # every carrier has been read
        after = last
        if not found:
            break
        window = (n - len(found)) * 2 * SHORT_SCAN // len(found)  # twice what the frequency in the first says
        if window > MOST_SCAN:
            break
    if reads.buckets is not None and _has_buckets(conn):
        return found + _first_in_buckets(conn, params, n - len(found), after, reads, near=bool(found))
    return found + list(conn.execute(reads.index, {**params, "after": after, "n": n - len(found)}).scalars())


def _head_pg(conn: Any, params: dict[str, str], most: int,
             counted: dict[tuple[int, int], tuple[int, int]]) -> tuple[list[int], list[int]]:
    """The first window of the document rank and of the rest (`_HEAD_PG`), its count kept in `counted`."""
    after = -(2**31)
    docs, rest, read, last = conn.execute(_HEAD_PG, {**params, "after": after, "scan": SHORT_SCAN,
                                                     "most": most}).one()
    counted[after, SHORT_SCAN] = (read, last)
    return list(docs or []), list(rest or [])


def _has_buckets(conn: Any) -> bool:
    """Whether migration 0020's bucketed trigram index exists, on `carrier_texts` since 0022 (not where the server
    lacks pg_trgm or btree_gin: each bucket would then be a read of the whole table). Asked once per database
    connection."""
    known = conn.info.get("tracker_search_buckets")
    if known is None:
        known = conn.info["tracker_search_buckets"] = bool(conn.execute(_HAS_BUCKETS_PG).scalar())
    return bool(known)


def _first_in_buckets(conn: Any, params: dict[str, str], n: int, after: int, reads: _Reads, near: bool) -> list[int]:
    """The first `n` carriers after id `after` holding the text (three characters or more, PostgreSQL), without
    reading every match as `reads.index` does. At a million carriers (search benchmark): 'Final Plan', found twice in
    the first 2,000 carriers and 1,863 times in all, took 18–35 ms through the index alone (5,727 candidates rechecked
    and sorted for a page of 100), about 2 ms from its first bucket.

    A text found in the window (`near`) is looked for in the next `NEAR_BUCKETS` buckets first: a frequent text fills
    the page there. Otherwise, or if they do not fill it, a probe reads at most twice the page's matches in no order:
    fewer than that is every match, sorted here — a rare text costs what the index alone costs. More means a text
    common after the window: its first `n` are at or below the n-th smallest id the probe saw, so the buckets up to
    that one's are read in order, and the page fills in the first of them. Each bucket read is a GIN scan (0.1–3 ms:
    most for texts whose trigrams are common, such as codes), hence the probe rather than a walk through every bucket,
    and the index alone when the ids are so sparse that more than `MAX_BUCKETS` buckets lie between."""
    got: list[int] = []
    first = after >> BUCKET_BITS
    if near:
        got = list(conn.execute(reads.buckets, {**params, "first": first, "last": first + NEAR_BUCKETS - 1,
                                                "after": after, "n": n}).scalars())
        if len(got) >= n:
            return got
        first += NEAR_BUCKETS
        after = (first << BUCKET_BITS) - 1  # every match up to there has been read
    need = n - len(got)
    probe = sorted(conn.execute(reads.probe, {**params, "after": after, "cap": 2 * need}).scalars())
    if len(probe) < 2 * need:
        return got + probe[:need]
    last = probe[need - 1] >> BUCKET_BITS
    if last - first > MAX_BUCKETS:
        return got + list(conn.execute(reads.index, {**params, "after": after, "n": need}).scalars())
    return got + list(conn.execute(reads.buckets, {**params, "first": first, "last": last, "after": after,
                                                   "n": need}).scalars())


def _views(conn: Any, ids: list[int]) -> list[tuple[int, CarrierView]]:
    """The views of carriers `ids` (with their ids), in that order, read as plain rows (a page of results per
    keystroke: the ORM's objects would cost more than the search itself)."""
    if not ids:
        return []
    rows = {r[0]: r for r in conn.execute(_VIEWS if conn.dialect.name == "sqlite" else _VIEWS_PG, {"ids": ids})}
    out = []
    for i in ids:
        if i in rows:
            (_id, code, kind, level, title, doc, status, badge, name, loc, loc_name, due, copy, total, period, scope,
             epc, regime, missing, issuer, pages, capacity, highest, registered) = rows[i]
            out.append((i, CarrierView(
                code=code, kind=kind, classification=level, marking=_marking(level, period), title=title,
                doc_number=doc, status=status, holder=badge, holder_name=name, location=loc, location_name=loc_name,
                due_at=due, copy_number=copy, copy_total=total, period=period, scope=scope, epc=epc, regime=regime,
                missing_since=missing, issuer=issuer, pages=pages, capacity=capacity, highest_level_held=highest,
                registered_at=registered)))
    return out


@lru_cache(maxsize=256)
def _marking(classification: str, period: str | None) -> str:
    return marking_text(Classification(classification), SecrecyPeriod.parse(period))


@dataclass(frozen=True)
class HistoryEntry:
    seq: int
    at: str
    type: str
    actor: str | None
    from_holder: str | None
    to_holder: str | None
    from_location: str | None
    to_location: str | None
    witness: str | None
    approval_id: int | None
    payload: dict[str, Any]


def history(uow: UnitOfWork, code: str) -> list[HistoryEntry]:
    rows = uow.session.execute(select(Event).where(Event.carrier == code.strip()).order_by(Event.seq)).scalars()
    return [HistoryEntry(e.seq, e.at, e.type, e.actor, e.from_holder, e.to_holder, e.from_location, e.to_location,
                         e.witness, e.approval_id, json.loads(e.payload)) for e in rows]


def summary(uow: UnitOfWork) -> dict[str, Any]:
    by_status = dict(uow.session.execute(select(Carrier.status, func.count()).group_by(Carrier.status)).all())
    by_level = dict(uow.session.execute(select(Carrier.classification, func.count())
                                        .group_by(Carrier.classification)).all())
    now = uow.now()
    overdue = uow.session.execute(select(func.count()).select_from(Carrier).where(
        Carrier.status.in_([s.value for s in CarrierStatus if s.with_holder]), Carrier.due_at < now)).scalar_one()
    head = uow.ledger.head()
    return {
        "carriers": sum(by_status.values()),
        "by_status": by_status,
        "by_level": by_level,
        "overdue": overdue,
        "people": uow.session.execute(select(func.count()).select_from(Person)).scalar_one(),
        "locations": uow.session.execute(select(func.count()).select_from(Location)).scalar_one(),
        "ledger_head": {"seq": head[0], "hash": head[1]},
    }


@dataclass(frozen=True)
class Alert:
    kind: str  # overdue | top_secret_out | missing | leak | departing | approval | incident | duty
    carrier: str | None
    person: str | None
    due: datetime | None
    en: str
    zh: str


def alerts(uow: UnitOfWork, for_badge: str | None = None) -> list[Alert]:
    """Everything the security officer must act on now: overdue loans, 绝密 out past the day, losses, departures."""
    now = uow.now()
    tz = uow.policy.tz  # every time a person reads is the unit's local time (issue 14: 18:00 shown as 10:00)
    out: list[Alert] = []
    out_statuses = [s.value for s in CarrierStatus if s.with_holder]
    rows = uow.session.execute(select(Carrier).where(Carrier.status.in_(out_statuses), Carrier.due_at < now)
                               .order_by(Carrier.due_at)).unique().scalars()
    # A document still out at a meeting that has ended is the meeting's duty to collect, named as such.
    at_meeting = dict(uow.session.execute(select(MeetingMaterial.carrier_id, MeetingMaterial.meeting_id).join(
        Meeting, Meeting.id == MeetingMaterial.meeting_id).where(MeetingMaterial.open_carrier_id.is_not(None))).all())
    for c in rows:
        due = c.due_at
        when = local_text(due, tz, zone=True)
        who = c.holder.badge if c.holder else "?"
        if c.id in at_meeting:
            m = at_meeting[c.id]
            out.append(Alert("meeting", c.code, who, due,
                             f"{c.code} not collected back from {who} after meeting #{m} ended {when} (R-123).",
                             f"{c.code} 在会议 #{m} 结束（{when}）后仍未从 {who} 处收回（R-123）。"))
        elif c.classification == Classification.TOP_SECRET.value:
            out.append(Alert("top_secret_out", c.code, who, due,
                             f"绝密 {c.code} not returned on time by {who} (due {when}).",
                             f"绝密载体 {c.code} 未按时归还，持有人 {who}（应于 {when} 归还）。"))
        else:
            out.append(Alert("overdue", c.code, who, due, f"{c.code} overdue with {who} since {when}.",
                             f"{c.code} 逾期未还，持有人 {who}，应还时间 {when}。"))
    missing = uow.session.execute(select(Carrier).where(Carrier.status == CarrierStatus.MISSING.value)
                                  .order_by(Carrier.missing_since)).unique().scalars()
    for c in missing:
        since = c.missing_since or now
        deadline = leak_deadline(Classification(c.classification), since, uow.policy)
        days = (now - since).days
        kind = "leak" if deadline is not None and now >= deadline else "missing"
        limit = f"{deadline.astimezone(tz):%Y-%m-%d}" if deadline else "-"
        out.append(Alert(kind, c.code, None, deadline,
                         f"{c.code} missing for {days} day(s); leak-incident deadline {limit} (R-155).",
                         f"{c.code} 下落不明 {days} 天；泄密事件期限 {limit}（R-155）。"))
    for inc in open_incidents(uow):  # on the list until the security office closes it
        opened = local_text(inc.opened_at, tz, zone=True)
        kind_zh = IncidentKind(inc.kind).zh if inc.kind in set(IncidentKind) else inc.kind
        out.append(Alert("incident", inc.carriers[0] if len(inc.carriers) == 1 else None, inc.opened_by,
                         inc.deadline, f"Incident #{inc.id} ({inc.kind}) open since {opened}: {inc.summary}",
                         f"事件 #{inc.id}（{kind_zh}）自 {opened} 起未结：{inc.summary}"))
    byproducts = uow.session.execute(
        select(PrintRun.id, PrintRun.doc_number, PrintRun.completed_at, Carrier.code)
        .join(Carrier, Carrier.id == PrintRun.byproduct_carrier_id)
        .where(Carrier.status != CarrierStatus.DESTROYED.value).order_by(PrintRun.id)).all()
    for run_id, doc, done, code in byproducts:
        out.append(Alert("byproducts", code, None, done,
                         f"By-products {code} of print run #{run_id} ({doc}) are not destroyed yet (R-34).",
                         f"印制单 #{run_id}（{doc}）的副产品 {code} 尚未销毁（R-34）。"))
    # The register-wide duties of RULES §3 once late (清查, clear-back, year-end collection, a campaign past its date):
    # the same computation as `tracker duties`, so the two never disagree.
    for d in duties.compute(uow, now, 0, (duties.stocktake_due, duties.clear_back_due, duties.campaigns_due)):
        if d.late_since is not None:
            late = local_text(d.late_since, tz, zone=True)
            out.append(Alert("duty", None, None, d.due, f"{d.en} Late since {late} ({d.rule}).",
                             f"{d.zh}（{d.rule}，自 {late} 起逾期）"))
    for t in overdue(uow):  # the courier always knows where each carrier is; a late transit is asked after
        due_text = local_text(t.due_at, tz, zone=True)
        out.append(Alert("transit_overdue", t.carriers[0] if len(t.carriers) == 1 else None, t.holder, t.due_at,
                         f"Transit #{t.id} to {t.to_place} not received by {due_text}; held by {t.holder}.",
                         f"传递 #{t.id}（至 {t.to_place}）未在 {due_text} 前签收，当前由 {t.holder} 持有。"))
    departing = uow.session.execute(select(Person).where(Person.status == PersonStatus.DEPARTING.value)).scalars()
    for p in departing:
        n = uow.session.execute(select(func.count()).select_from(Carrier).where(Carrier.holder_id == p.id)
                                ).scalar_one()
        if n:
            out.append(Alert("departing", None, p.badge, None,
                             f"{p.badge} {p.name} is departing and still holds {n} carrier(s) (R-140).",
                             f"{p.badge} {p.name} 待离岗，仍持有 {n} 件载体（R-140）。"))
    if for_badge:
        me = uow.session.execute(select(Person).where(Person.badge == for_badge)).scalar_one_or_none()
        if me is not None and "approver" in me.roles.split(","):
            pending = uow.session.execute(
                select(Approval).join(ApprovalCarrier).where(Approval.approver_id == me.id,
                                                             ApprovalCarrier.used_at.is_(None),
                                                             Approval.valid_until > now).distinct()).scalars()
            for a in pending:
                until = local_text(a.valid_until, tz, zone=True)
                out.append(Alert("approval", None, for_badge, a.valid_until,
                                 f"Approval #{a.id} ({a.purpose}) unused, valid until {until}.",
                                 f"审批 #{a.id}（{a.purpose}）尚未使用，有效期至 {until}。"))
    return out


def people(uow: UnitOfWork) -> list[dict[str, Any]]:
    rows = uow.session.execute(select(Person).order_by(Person.badge)).scalars()
    return [{"badge": p.badge, "name": p.name, "unit": p.unit, "clearance": p.clearance, "roles": p.roles,
             "status": p.status} for p in rows]


def locations(uow: UnitOfWork) -> list[dict[str, Any]]:
    parent = aliased(Location)
    rows = uow.session.execute(select(Location, parent.code).outerjoin(parent, Location.parent_id == parent.id)
                               .order_by(Location.code)).all()
    return [{"code": loc.code, "name": loc.name, "kind": loc.kind, "parent": pcode, "max_level": loc.max_level,
             "reading_place": loc.reading_place} for loc, pcode in rows]


def export_rows(uow: UnitOfWork) -> list[CarrierView]:
    return [_view(c) for c in uow.session.execute(select(Carrier).order_by(Carrier.code)).unique().scalars()]
