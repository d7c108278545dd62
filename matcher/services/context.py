"""The match context: one snapshot of the store, the indexes and the active scorer.

Loading it reads every organisation, seed and document and the index files, so it is cached.
The cache is keyed by the store's version counters and the published index version:
any change to the data, the indexes or the ranker versions gives a new key and the next caller
reloads; new decisions only refresh the decision history. Nobody invalidates it by hand.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from matcher.config import Settings
from matcher.errors import NotFound, NotReady
from matcher.graph.constraints import ConstraintSet
from matcher.graph.edges import EdgeBuilder
from matcher.graph.model import CandidateType, History, Party
from matcher.graph.parties import need_party, org_party, person_party, seed_party
from matcher.graph.scorers import Scorer
from matcher.learn.decisions import latest_pairs
from matcher.learn.versions import active_scorer
from matcher.search.indexing import index_version, load_indexes
from matcher.search.retrieve import DocMeta, Retriever
from matcher.store.db import session_scope, store_versions
from matcher.store.tables import Constraint, Document, Need, Organization, Person, ResearchSeed
from matcher.text import id_key


@dataclass
class MatchContext:
    settings: Settings
    engine: Engine
    embedder: Any
    orgs: dict[int, Organization]
    seeds: dict[int, ResearchSeed]
    needs: dict[int, Need]
    people: dict[int, Person]  # those who consent and have not withdrawn: nobody else is ever a candidate
    edges: EdgeBuilder

    @property
    def model_version(self) -> str:
        return self.edges.model_version

    @property
    def org_parties(self) -> dict[int, Party]:
        return self.edges.parties["organization"]

    @property
    def seed_parties(self) -> dict[int, Party]:
        return self.edges.parties["seed"]

    @property
    def person_parties(self) -> dict[int, Party]:
        return self.edges.parties["person"]

    def need_party(self, need: Need) -> Party:
        return need_party(need, self.orgs.get(need.org_id))

    def find_need(self, ref: str | int) -> Need:
        return _find(self.needs.values(), ref, "案件", "need", "案件ID")

    def find_org(self, ref: str | int) -> Organization:
        return _find(self.orgs.values(), ref, "組織", "organisation", "企業ID")

    def find_seed(self, ref: str | int) -> ResearchSeed:
        return _find(self.seeds.values(), ref, "シーズ", "research seed", "シーズID")

    def find_person(self, ref: str | int) -> Person:
        """Only people who consent to be suggested are found: the others are not matched at all."""
        return _find(self.people.values(), ref, "人材（本人同意あり）", "consenting person", "人材ID")


def _find(rows, ref: str | int, what_ja: str, what_en: str, id_ja: str):
    """By internal id or external id, the latter as typed: full-width and lower case find it too."""
    rows, key = list(rows), id_key(ref)
    for match in (lambda r: str(r.id) == str(ref) or r.external_id == str(ref),  # exactly as stored first
                  lambda r: str(r.id) == key or id_key(r.external_id or "") == key):
        found = next((r for r in rows if match(r)), None)
        if found is not None:
            return found
    raise NotFound(f"{what_ja}が見つかりません（{id_ja}: {ref}）", f"no {what_en} with id or {id_ja} {ref!r}")


def load_context(engine: Engine, settings: Settings, embedder, scorer: Scorer | None = None) -> MatchContext:
    version = load_indexes(settings)
    with session_scope(engine) as s:
        orgs = {o.id: o for o in s.exec(select(Organization).where(Organization.deleted_at.is_(None)))}
        seeds = {x.id: x for x in s.exec(select(ResearchSeed))}
        needs = {n.id: n for n in s.exec(select(Need))}
        people = {p.id: p for p in s.exec(select(Person).where(Person.consent.is_(True), Person.unsubscribed_at.is_(None),
                                                                Person.erased_at.is_(None)))}
        docs = s.exec(select(Document)).all()
        constraints = s.exec(select(Constraint)).all()
    indexed = version.rows_of([d.id for d in docs]) >= 0
    meta = {d.id: DocMeta(d.owner_type, d.owner_id, d.kind) for d, held in zip(docs, indexed, strict=True)
            if held and not (d.owner_type == "organization" and d.owner_id not in orgs)
            and not (d.owner_type == "person" and d.owner_id not in people)}
    org_ids = {o.external_id: i for i, o in orgs.items()}
    by_owner: dict[tuple[str, int], list[str]] = {}
    for d in docs:
        by_owner.setdefault((d.owner_type, d.owner_id), []).append(d.text)
    parties = {
        "organization": {i: org_party(o, by_owner.get(("organization", i), [])) for i, o in orgs.items()},
        "seed": {i: seed_party(x, by_owner.get(("seed", i), []), orgs.get(x.org_id)) for i, x in seeds.items()},
        "person": {i: person_party(p, by_owner.get(("person", i), []), org_ids) for i, p in people.items()},
    }
    edges = EdgeBuilder(Retriever(version.vectors, version.bm25, meta), parties, {d.id: d.text for d in docs},
                        constraint_set(orgs, constraints), load_histories(engine, needs),
                        scorer if scorer is not None else active_scorer(engine))
    return MatchContext(settings, engine, embedder, orgs, seeds, needs, people, edges)


def constraint_set(orgs: dict[int, Organization], constraints: list[Constraint]) -> ConstraintSet:
    cs = ConstraintSet(groups={i: o.corporate_group for i, o in orgs.items() if o.corporate_group},
                       opted_out={i for i, o in orgs.items() if o.unsubscribed_at is not None})
    for c in constraints:
        if c.kind == "opt_out":
            cs.opted_out.add(c.org_a)
        elif c.org_b is not None and c.kind in ("conflict", "competitor", "same_group"):
            target = cs.competitors if c.kind == "competitor" else cs.conflicts
            target.add(frozenset((c.org_a, c.org_b)))
    return cs


def load_histories(engine: Engine, needs: dict[int, Need]) -> dict[CandidateType, History]:
    """Accept/reject counts per candidate and per (requester, candidate), for each candidate type,
    from the latest decision on each suggestion (skips count for nothing)."""
    out: dict[CandidateType, History] = {}
    for dec, sug in latest_pairs(engine):
        if dec.verdict == "skip" or sug.candidate_type not in ("organization", "seed", "person"):
            continue
        h = out.setdefault(sug.candidate_type, History())
        if sug.query_type == "need":
            requester = needs[sug.query_id].org_id if sug.query_id in needs else -1
        else:
            requester = sug.query_id if sug.query_type == "organization" else -1
        counts, pair = (h.accepts, h.pair_accepts) if dec.verdict == "accept" else (h.rejects, h.pair_rejects)
        counts[sug.candidate_id] = counts.get(sug.candidate_id, 0) + 1
        pair[(requester, sug.candidate_id)] = pair.get((requester, sug.candidate_id), 0) + 1
    return out


class ContextCache:
    """The service's match context, reloaded when the key (store versions + index files) moves."""

    def __init__(self, engine: Engine, settings: Settings, embedder_factory) -> None:
        self.engine, self.settings, self.embedder_factory = engine, settings, embedder_factory
        self._ctx: MatchContext | None = None
        self._key: tuple | None = None
        self._lock = threading.Lock()

    def get(self) -> MatchContext:
        with self._lock:
            published = index_version(self.settings)
            if published is None:
                raise NotReady("索引がまだありません（取り込み後に作成されます）", "no index yet: import data first")
            versions = store_versions(self.engine)
            data_key = (versions.get("data"), published)
            if self._ctx is None or self._key is None or self._key[0] != data_key:
                self._ctx = load_context(self.engine, self.settings, self.embedder_factory())
            elif self._key[1] != versions.get("decisions"):
                self._ctx.edges.histories = load_histories(self.engine, self._ctx.needs)
            self._key = (data_key, versions.get("decisions"))
            return self._ctx
