"""Read-side queries the service and pages need: organisations and needs for the desk, and the
public technology directory (製品・技術のみえる化).

Two vocabularies describe what a firm does and are kept apart by name: *processes* (加工・工程
tags, ``Organization.processes``) and *JSIC industry codes* (``IndustryCode`` rows, declared in
the import or inferred from the profile with the sentence that implied them). The directory
filters by either.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy import Engine, exists, func, intersect, or_, text, union, union_all
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import select

from matcher.exchange.catalog import load_organization
from matcher.labels import KIND_JA, NEED_STATUS_JA
from matcher.store.db import session_scope, store_versions
from matcher.store.substring import among, containing, contains
from matcher.store.tables import Document, IndustryCode, Need, Organization, split_list
from matcher.text import id_key, normalize
from matcher.text.taxonomy import jsic_name

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Industry:
    """One JSIC code of an organisation, as the desk shows it."""

    code: str  # e.g. "2452"
    name: str
    source: str  # declared | inferred
    confidence: float
    evidence: str | None


@dataclass(frozen=True, kw_only=True)
class OrgRecord:
    """An organisation as staff (and the company itself) see it."""

    id: int
    external_id: str
    name: str
    kind: str
    city: str | None
    employees: int | None
    jsic_codes: list[str]
    processes: list[str]
    certifications: list[str]
    equipment: str | None
    email: str | None
    publish: bool
    fictional: bool
    profile: str | None
    track_record: str | None = None
    industries: list[Industry] = field(default_factory=list)

    @property
    def kind_ja(self) -> str:
        return KIND_JA.get(self.kind, self.kind)


@dataclass(frozen=True, kw_only=True)
class NeedRecord:
    id: int
    external_id: str
    org_id: int
    org_name: str | None
    title: str
    text: str | None
    required_processes: list[str]
    status: str
    public: bool

    @property
    def status_ja(self) -> str:
        return NEED_STATUS_JA.get(self.status, self.status)


@dataclass(frozen=True, kw_only=True)
class Page(Generic[T]):
    total: int
    items: list[T]
    more: bool = False  # more than ``total`` match (「1,000 件以上」): counting them is not worth a visit to each


def _industries(rows: list[IndustryCode]) -> list[Industry]:
    out = []
    for r in sorted(rows, key=lambda r: (r.source != "declared", -r.confidence, r.code)):
        code = r.code.removeprefix("jsic:")
        out.append(Industry(code=code, name=jsic_name(code) or code, source=r.source, confidence=r.confidence,
                            evidence=r.evidence))
    return out


def org_record(o: Organization, profile: str | None = None, track_record: str | None = None,
               industries: list[IndustryCode] | None = None) -> OrgRecord:
    return OrgRecord(id=o.id, external_id=o.external_id, name=o.name, kind=o.kind, city=o.city, employees=o.employees,
                     jsic_codes=split_list(o.jsic_codes), processes=split_list(o.processes),
                     certifications=split_list(o.certifications), equipment=o.equipment, email=o.email,
                     publish=o.publish, fictional=o.fictional, profile=profile, track_record=track_record,
                     industries=_industries(industries or []))


def search_organizations(engine: Engine, q: str = "", published_only: bool = False, limit: int = 50,
                         offset: int = 0, only_id: int | None = None) -> Page[OrgRecord]:
    q = normalize(q or "")
    live = [Organization.deleted_at.is_(None)]
    if published_only:
        live.append(Organization.publish.is_(True))
    if only_id is not None:
        live.append(Organization.id == only_id)
    with session_scope(engine) as s:
        dialect, more = s.get_bind().dialect.name, False
        if q and dialect == "postgresql":
            rows, total, more = _org_page_capped(s, q, live, offset, limit)
        elif q:
            key = (Organization.id, Organization.external_id)
            matched = union(*_arms(q, dialect, live, STAFF_LIST_COLUMNS, False, key)).subquery()
            ids, total = _page_and_total(s, matched, matched.c.external_id, offset, limit)
            found = {o.id: o for o in s.exec(select(Organization).where(Organization.id.in_(ids or [-1])))}
            rows = [found[i] for i in ids]
        else:
            stmt = select(Organization).where(*live)
            total = s.exec(select(func.count()).select_from(stmt.subquery())).one()
            rows = s.exec(stmt.order_by(Organization.external_id).offset(offset).limit(limit)).all()
        profiles = {d.owner_id: d.text for d in s.exec(select(Document).where(
            Document.owner_type == "organization", Document.kind == "profile",
            Document.owner_id.in_([o.id for o in rows])))}
    return Page(total=total, items=[org_record(o, profiles.get(o.id)) for o in rows], more=more)


MAX_COUNTED = 1_000  # matches of the staff list counted exactly; above, 「1,000 件以上」


def _org_page_capped(s, q: str, live: list, offset: int, limit: int) -> tuple[list[Organization], int, bool]:
    """The staff list's page on PostgreSQL. A word held by at most ``MAX_COUNTED`` organisations
    is found by index scans, counted exactly and sorted. A commoner one is not counted (that
    meant a visit to each of up to 400,000 rows): its page is read walking the external-id index
    and checking the word on each row, which for a common word stops after a few thousand."""
    by_id = (Organization.external_id, Organization.id)
    arms = _arms(q, "postgresql", live, STAFF_LIST_COLUMNS, False, (Organization.id,))
    found, complete = _first(s, arms, MAX_COUNTED + 1)
    if complete:
        rows = s.exec(select(Organization).where(among(Organization.id, found or [-1], "postgresql"))
                      .order_by(*by_id).offset(offset).limit(limit)).all()
        return list(rows), len(found), False
    rows = s.exec(select(Organization).where(*live, or_(*_literal_places(q, STAFF_LIST_COLUMNS))).order_by(*by_id).offset(offset).limit(limit)).all()
    return list(rows), MAX_COUNTED, True


def organization_id(engine: Engine, external_id: str) -> int | None:
    with session_scope(engine) as s:
        return s.exec(select(Organization.id).where(func.upper(Organization.external_id) == id_key(external_id))).first()


def get_organization(engine: Engine, org_id: int) -> OrgRecord | None:
    """One live organisation with its documents and its JSIC industries (declared and inferred)."""
    found = load_organization(engine, org_id)
    if found is None:
        return None
    o, docs = found
    with session_scope(engine) as s:
        codes = list(s.exec(select(IndustryCode).where(IndustryCode.org_id == org_id)))
    return org_record(o, docs.get("profile"), docs.get("track_record"), codes)


def need_record(n: Need, org: Organization | None) -> NeedRecord:
    return NeedRecord(id=n.id, external_id=n.external_id, org_id=n.org_id, org_name=org.name if org else None,
                      title=n.title, text=n.text, required_processes=split_list(n.required_processes),
                      status=n.status, public=n.public)


def search_needs(engine: Engine, q: str = "", limit: int = 100, offset: int = 0,
                 org_id: int | None = None) -> Page[NeedRecord]:
    q = normalize(q or "")
    with session_scope(engine) as s:
        stmt = select(Need)
        if org_id is not None:
            stmt = stmt.where(Need.org_id == org_id)
        if q:
            stmt = stmt.where(Need.id.in_(union(*containing(
                (Need.id,), (Need.title, Need.text, Need.required_processes), q, s.get_bind().dialect.name))))
        total = s.exec(select(func.count()).select_from(stmt.subquery())).one()
        rows = s.exec(stmt.order_by(Need.external_id).offset(offset).limit(limit)).all()
        orgs = {o.id: o for o in s.exec(select(Organization).where(Organization.id.in_([n.org_id for n in rows])))}
    return Page(total=total, items=[need_record(n, orgs.get(n.org_id)) for n in rows])


def get_need(engine: Engine, need_id: int) -> NeedRecord | None:
    with session_scope(engine) as s:
        n = s.get(Need, need_id)
        return need_record(n, s.get(Organization, n.org_id)) if n else None


# -- the public directory ------------------------------------------------------------------------
SIZE_CLASSES = {"s": ("20名以下", 0, 20), "m": ("21〜100名", 21, 100), "l": ("101〜300名", 101, 300),
                "xl": ("301名以上", 301, None)}
PAGE_SIZE = 20
MAX_RANKED = 1_000  # matches ranked per query: 50 pages; more words or a filter narrow a larger set


@dataclass(frozen=True, kw_only=True)
class PublicOrg:
    """What anyone may see of a published organisation: no e-mail, no employee count."""

    external_id: str
    name: str
    kind_ja: str
    city: str | None
    processes: list[str]
    certifications: list[str]
    industries: list[Industry]
    equipment: str | None
    profile: str | None
    fictional: bool
    track_record: str | None = None


@dataclass(frozen=True, kw_only=True)
class Facets:
    city: list[str]
    process: list[str]
    cert: list[str]
    industry: dict[str, str]  # JSIC middle code → name, for the industries present
    size: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class DirectoryPage:
    total: int
    more: bool  # more than ``total`` match (「1,000 件以上」): the words are too common to count
    page: int
    pages: int
    items: list[PublicOrg]
    facets: Facets


def _kana_variants(word: str) -> tuple[str, ...]:
    """The word, and its hiragana written as katakana (すてんれす → ステンレス): people type loanwords
    in hiragana when the IME has not converted them."""
    kata = "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in word)
    return (word,) if kata == word else (word, normalize(kata))


# An organisation's processes and equipment documents repeat its columns word for word, so a word
# is looked for in the columns and in the other documents (profile, track record) only. The
# predicate is constant SQL, the one the PostgreSQL index on those documents is built with.
PROSE_DOCUMENTS = text("document.owner_type = 'organization' AND document.kind NOT IN ('processes', 'equipment')")
ORG_TEXT_COLUMNS = (Organization.name, Organization.processes, Organization.equipment, Organization.certifications)
STAFF_LIST_COLUMNS = (*ORG_TEXT_COLUMNS, Organization.city)  # the staff list reads columns, not documents


def _arms(word: str, dialect: str, where: list, columns, documents: bool, key: tuple) -> list:
    """``SELECT key`` of the organisations meeting ``where`` that hold the word, one per place it
    may be (the id itself, each column, their documents), for the caller to UNION: each is an
    index scan on PostgreSQL, and counting or paging the union never reads the whole table."""
    arms = [select(*key).where(*where, Organization.external_id == word)]
    arms += containing(key, columns, word, dialect, tuple(where))
    if documents:
        arms.append(select(*key).join(Document, Document.owner_id == Organization.id).where(
            *where, PROSE_DOCUMENTS, contains(Document.text, word, dialect)))
    return arms


def _page_and_total(s, matched, order, offset: int, limit: int) -> tuple[list[int], int]:
    """One page of the matched ids and how many matched, from one evaluation of the match."""
    rows = s.exec(select(matched.c.id, func.count().over()).order_by(order, matched.c.id)
                  .offset(offset).limit(limit)).all()
    if rows:
        return [r[0] for r in rows], rows[0][1]
    return [], s.exec(select(func.count()).select_from(matched)).one() if offset else 0


@dataclass(frozen=True)
class _Matches:
    ids: list[int]  # at most MAX_RANKED, as the database found them
    total: int  # exact when ``more`` is false, else MAX_RANKED
    more: bool  # more than MAX_RANKED match: counting them exactly is not worth a visit to each row
    df: dict[tuple[str, ...], int]  # per word: published organisations holding it (estimated above the cap)


def _word_arms(variants: tuple[str, ...], dialect: str, where: list) -> list:
    return [arm for w in variants for arm in _arms(w, dialect, where, ORG_TEXT_COLUMNS, True, (Organization.id,))]


def _together_arms(words: list[tuple[str, ...]], dialect: str, where: list) -> list:
    """``SELECT id`` of the organisations meeting ``where`` that hold every word in one and the
    same place (a column, or one prose document), one per place: on PostgreSQL each is a single
    index scan over all the words' bigrams, so common words that often occur together (two
    process tags) reach the cap without a visit to each row holding only one of them."""
    def all_in(column) -> list:
        return [or_(*(contains(column, w, dialect) for w in v)) for v in words]

    arms = [select(Organization.id).where(*where, *all_in(column)) for column in ORG_TEXT_COLUMNS]
    arms.append(select(Organization.id).join(Document, Document.owner_id == Organization.id).where(
        *where, PROSE_DOCUMENTS, *all_in(Document.text)))
    return arms


def _literal_places(word: str, columns) -> list[ColumnElement[bool]]:
    """The row is the word's organisation (its id) or one of the columns contains it: plain
    comparisons, checked on a row another scan found."""
    return [Organization.external_id == word, *(column.contains(word, autoescape=True) for column in columns)]


def _holds(variants: tuple[str, ...]) -> ColumnElement[bool]:
    """The statement's organisation row holds the word in one of the places ``_arms`` reads:
    checked on the organisations another word's index scan found. The documents' test keeps the
    bigram condition, so PostgreSQL may instead hash the documents holding the word (one index
    scan) when that costs less than a lookup per organisation; it tests the LIKE first either way."""
    doc = aliased(Document)  # the arm reading documents has its own in FROM
    places = []
    for w in variants:
        places += _literal_places(w, ORG_TEXT_COLUMNS)
        places.append(exists(select(doc.id).where(
            doc.owner_id == Organization.id, doc.owner_type == "organization",
            doc.kind.not_in(("processes", "equipment")), contains(doc.text, w, "postgresql"))).correlate(Organization))
    return or_(*places)


def _first(s, arms: list, want: int) -> tuple[list[int], bool]:
    """Up to ``want`` distinct organisations from the arms, in the order the database finds them,
    and whether that is all of them. The arms are read as one UNION ALL under a LIMIT, so a word
    held by 100,000 firms costs as much as one held by a few thousand. Every row found costs (the
    other words are checked on it), so the LIMIT starts at ``want``; when firms found in several
    places left it short, it is raised in proportion to the repeats seen and the query runs again.
    Repeats are rare (two in a thousand rows at 400,000 firms), so the first LIMIT has 2 % more
    than ``want``: without it nearly every common word ran twice. (A server-side cursor would
    stop without running twice, but PostgreSQL runs cursors without parallel workers, which cost
    more than the second run.)"""
    limit = want + math.ceil(want / 50)
    while True:
        rows = s.exec(union_all(*arms).limit(limit)).all()
        ids = list(dict.fromkeys(r[0] for r in rows))
        if len(rows) < limit:
            return ids, True
        if len(ids) >= want:
            return ids[:want], False
        limit = max(2 * limit, math.ceil(limit * want / max(len(ids), 1) * 1.25))


def _estimated(s, arms: list, published: int) -> int:
    """How many published organisations hold a word too common to count: PostgreSQL's own
    estimate of the arms' rows (it keeps statistics of the indexed bigram expressions, within a
    few per cent of the truth at 400,000 firms), at most ``published``."""
    conn = s.connection()
    compiled = union_all(*arms).compile(conn, compile_kwargs={"render_postcompile": True})
    plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled.string}", compiled.params).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return min(published, int(plan[0]["Plan"]["Plan Rows"]))


def _match_words(s, words: list[tuple[str, ...]], live: list, filters: list, published: int) -> _Matches:
    """Published organisations holding every word (any of its variants) and meeting the filters,
    and each word's document frequency over all published organisations.

    Each word is first looked up alone, up to the cap (index scans under a LIMIT: exact for a
    word held by at most MAX_RANKED firms). When every word is that common, the firms holding
    them all in one place (two process tags, one profile) are read first, each place one index
    scan over all the words' bigrams; if they pass the cap, those are the ranked set. Otherwise
    the rarest word drives: its index scans, with the other words and the filters checked on
    each organisation they find, under the same LIMIT — so the cost follows the rarest word,
    never the most common one."""
    dialect = s.get_bind().dialect.name
    if dialect != "postgresql":
        return _match_in_one_pass(s, words, live, filters)
    alone = [_first(s, _word_arms(v, dialect, live), MAX_RANKED + 1) for v in words]
    df = {v: len(ids) if complete else _estimated(s, _word_arms(v, dialect, live), published)
          for v, (ids, complete) in zip(words, alone, strict=True)}
    if len(words) > 1 and not any(complete for _, complete in alone):
        ids, complete = _first(s, _together_arms(words, dialect, [*live, *filters]), MAX_RANKED + 1)
        if not complete:
            return _Matches(ids=ids[:MAX_RANKED], total=MAX_RANKED, more=True, df=df)
    lead = min(range(len(words)), key=lambda i: (not alone[i][1], df[words[i]], i))
    if len(words) == 1 and not filters:
        ids, complete = alone[0]
    else:
        where = [*live, *filters, *(_holds(v) for i, v in enumerate(words) if i != lead)]
        ids, complete = _first(s, _word_arms(words[lead], dialect, where), MAX_RANKED + 1)
    return _Matches(ids=ids[:MAX_RANKED], total=len(ids) if complete else MAX_RANKED, more=not complete, df=df)


def _match_in_one_pass(s, words: list[tuple[str, ...]], live: list, filters: list) -> _Matches:
    """Without bigram indexes (SQLite) every lookup is a scan of the table, so the cheapest plan
    is the opposite of PostgreSQL's: one statement in which each word's set is computed once (a
    CTE) and serves both its exact count and the intersection."""
    dialect = s.get_bind().dialect.name

    def holding(where: list, name: str) -> list:
        return [union(*_word_arms(variants, dialect, where)).cte(f"{name}{i}") for i, variants in enumerate(words)]

    sets = holding(live, "word")
    narrowed = holding([*live, *filters], "narrowed") if filters else sets
    both = intersect(*(select(c.c.id) for c in narrowed)) if len(narrowed) > 1 else select(narrowed[0].c.id)
    matched = both.subquery()
    dfs = [select(func.count()).select_from(c).scalar_subquery() for c in sets]
    rows = s.exec(select(matched.c.id, func.count().over(), *dfs).order_by(matched.c.id).limit(MAX_RANKED)).all()
    if not rows:
        return _Matches(ids=[], total=0, more=False, df={})
    return _Matches(ids=[r[0] for r in rows], total=rows[0][1], more=False, df=dict(zip(words, rows[0][2:], strict=True)))


BM25_K1, BM25_B = 1.2, 0.75


def _bm25_order(s, ids: list[int], words: list[tuple[str, ...]], df: dict[tuple[str, ...], int],
                published: int) -> list[int]:
    """The matched organisations by BM25 over the places the match reads (term frequency as
    occurrences in name, processes, equipment, certifications and the prose documents — the
    processes and equipment documents repeat those columns and are not counted twice; document
    frequency over ``published`` organisations), ties by name. Read as plain columns: building
    a thousand ORM objects to rank them cost more than ranking them."""
    n = max(1, published)
    dialect = s.get_bind().dialect.name
    docs: dict[int, list[str]] = {}
    for owner, body in s.exec(select(Document.owner_id, Document.text).where(
            among(Document.owner_id, ids or [-1], dialect), PROSE_DOCUMENTS)):
        docs.setdefault(owner, []).append(body)
    rows = s.exec(select(Organization.id, Organization.name, Organization.processes, Organization.equipment,
                         Organization.certifications).where(among(Organization.id, ids or [-1], dialect))).all()
    names = {r[0]: r[1] or "" for r in rows}
    texts = {r[0]: "\n".join([*(x or "" for x in r[1:]), *docs.get(r[0], [])]) for r in rows}
    avg = sum(len(x) for x in texts.values()) / max(1, len(texts))

    def score(i: int) -> float:
        text, total = texts[i], 0.0
        for v in words:
            tf = max(text.count(w) for w in v)
            idf = math.log(1 + (n - df[v] + 0.5) / (df[v] + 0.5))
            total += idf * tf * (BM25_K1 + 1) / (tf + BM25_K1 * (1 - BM25_B + BM25_B * len(text) / max(avg, 1)))
        return total

    return sorted(texts, key=lambda i: (-score(i), names[i], i))


def directory_search(engine: Engine, q: str = "", city: str = "", process: str = "", cert: str = "",
                     size: str = "", page: int = 1, industry: str = "") -> DirectoryPage:
    """Published organisations only. Every word of ``q`` must occur (AND) in the name, processes,
    equipment, certifications or profile text; words and stored text are normalised alike
    (NFKC, 表記ゆれ, hiragana read as katakana too), so 全角/半角 and variant spellings match.
    With words, results are ranked by BM25 over those fields (then name), at most ``MAX_RANKED``
    of them (the first the database finds: on PostgreSQL a query matching more says 「1,000 件以上」
    and is narrowed with another word or a filter; SQLite counts exactly); without words, by name.
    ``industry`` is a JSIC code prefix (middle ``24``, minor ``245``, detail ``2452``) matched
    against the organisations' declared and inferred industry codes."""
    words = [_kana_variants(w) for w in normalize(q or "").split() if w][:10]
    live = [Organization.deleted_at.is_(None), Organization.publish.is_(True)]
    published = _published(engine)
    with session_scope(engine) as s:
        dialect = s.get_bind().dialect.name
        filters = []
        if city:
            filters.append(Organization.city == normalize(city))
        if process:
            filters.append(contains(Organization.processes, normalize(process), dialect))
        if cert:
            filters.append(contains(Organization.certifications, normalize(cert), dialect))
        if industry.isdigit():
            filters.append(Organization.id.in_(select(IndustryCode.org_id).where(
                IndustryCode.code.startswith(f"jsic:{industry}", autoescape=True))))
        if size in SIZE_CLASSES:
            _, low, high = SIZE_CLASSES[size]
            filters.append(Organization.employees >= low)
            if high is not None:
                filters.append(Organization.employees <= high)
        more = False
        if words:
            found = _match_words(s, words, live, filters, published.count)
            total, more = found.total, found.more
            pages = max(1, -(-min(total, MAX_RANKED) // PAGE_SIZE))
            page = min(max(1, page), pages)
            shown = _bm25_order(s, found.ids, words, found.df, published.count)[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
            by_id = {o.id: o for o in s.exec(select(Organization).where(Organization.id.in_(shown or [-1])))}
            rows = [by_id[i] for i in shown]
        else:
            stmt = select(Organization).where(*live, *filters)
            total = s.exec(select(func.count()).select_from(stmt.subquery())).one()
            pages = max(1, -(-total // PAGE_SIZE))
            page = min(max(1, page), pages)
            rows = s.exec(stmt.order_by(Organization.name, Organization.id)
                          .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
        ids = [o.id for o in rows] or [-1]
        profiles = {d.owner_id: d.text for d in s.exec(select(Document).where(
            Document.owner_type == "organization", Document.kind == "profile", Document.owner_id.in_(ids)))}
        codes: dict[int, list[IndustryCode]] = {}
        for c in s.exec(select(IndustryCode).where(IndustryCode.org_id.in_(ids))):
            codes.setdefault(c.org_id, []).append(c)
    return DirectoryPage(total=total, more=more, page=page, pages=pages,
                         items=[public_org(o, profiles.get(o.id), codes.get(o.id, [])) for o in rows],
                         facets=published.facets)


@dataclass(frozen=True)
class _Published:
    count: int
    facets: Facets


_CACHE: dict[str, tuple[int | None, _Published]] = {}


def _published(engine: Engine) -> _Published:
    """How many organisations are published and the filter choices over them. Both read the
    whole table, so they are kept per engine until the store's data version moves (any import
    or edit)."""
    version = store_versions(engine).get("data")
    key = engine.url.render_as_string(hide_password=True)
    cached = _CACHE.get(key)
    if cached is None or cached[0] != version:
        with session_scope(engine) as s:
            count = s.exec(select(func.count()).select_from(Organization).where(
                Organization.deleted_at.is_(None), Organization.publish.is_(True))).one()
        cached = _CACHE[key] = (version, _Published(count=count, facets=_facets(engine)))
    return cached[1]


def _facets(engine: Engine) -> Facets:
    live = (Organization.deleted_at.is_(None), Organization.publish.is_(True))
    with session_scope(engine) as s:
        cities = s.exec(select(Organization.city).where(*live).distinct()).all()
        processes = s.exec(select(Organization.processes).where(*live).distinct()).all()
        certs = s.exec(select(Organization.certifications).where(*live).distinct()).all()
        present = s.exec(select(IndustryCode.code).join(Organization, Organization.id == IndustryCode.org_id).where(
            *live).distinct()).all()
    middles = sorted({c.removeprefix("jsic:")[:2] for c in present if c.removeprefix("jsic:")[:2].isdigit()})
    return Facets(city=sorted({c for c in cities if c}), process=sorted({p for ps in processes for p in split_list(ps)}),
                  cert=sorted({c for cs in certs for c in split_list(cs)}),
                  industry={m: jsic_name(m) or m for m in middles}, size={k: v[0] for k, v in SIZE_CLASSES.items()})


def public_org(o: Organization, profile: str | None, codes: list[IndustryCode],
               docs: dict[str, str] | None = None) -> PublicOrg:
    return PublicOrg(external_id=o.external_id, name=o.name, kind_ja=KIND_JA.get(o.kind, o.kind), city=o.city,
                     processes=split_list(o.processes), certifications=split_list(o.certifications),
                     industries=_industries(codes), equipment=o.equipment, profile=profile, fictional=o.fictional,
                     track_record=docs.get("track_record") if docs is not None else None)


def public_organization(engine: Engine, external_id: str) -> PublicOrg | None:
    with session_scope(engine) as s:
        o = s.exec(select(Organization).where(func.upper(Organization.external_id) == id_key(external_id[:64]))).first()
        codes = list(s.exec(select(IndustryCode).where(IndustryCode.org_id == o.id))) if o else []
    if o is None or not o.publish or o.deleted_at is not None:
        return None
    found = load_organization(engine, o.id)
    if found is None:
        return None
    org, docs = found
    return public_org(org, docs.get("profile"), codes, docs)
