"""Shortlists: a need (or a seed, or a company) → ranked partners / research seeds, with reasons.

Each query goes retrieve → features → constraints → score → top-k → explain (``graph.edges``),
and every shortlist is stored as suggestions with rank positions, scorer version and feature
snapshot, so decisions can be learned from later. A batch over every open need is one
``ScoredGraph`` solved under an exposure cap (``solve.capped``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import insert

from matcher.graph.model import (
    CANDIDATE_TYPES,
    CapReport,
    EdgeDecision,
    Party,
    ScoredEdge,
    ScoredGraph,
    Shortlist,
    ShortlistKind,
)
from matcher.learn.decisions import pair_decisions
from matcher.search.retrieve import DEPTH
from matcher.services.context import MatchContext
from matcher.services.invitations import DEFAULT_HOURS
from matcher.solve import capped as exposure_caps
from matcher.store.db import session_scope
from matcher.store.tables import Suggestion, utcnow
from matcher.text import lemmas
from matcher.text.terms import missing_terms
from matcher.timing import Clock


def query_vector(ctx: MatchContext, query: Party) -> np.ndarray:
    return ctx.embedder.encode([query.text], "query")[0]


SUGGESTION_KIND = {"organization": "partner", "seed": "seed", "person": "person"}


def store_suggestions(ctx: MatchContext, shortlist: Shortlist, hours: int | None = None) -> None:
    """One Suggestion row per listed edge (each as its own (query, candidate) pair: a person's
    list of needs stores (need, person) pairs); the edges learn their suggestion ids. One multi-row
    INSERT … RETURNING (ids in row order) rather than ORM objects: building ten models cost more
    than writing them. ``hours``: a person's engagement hours (the batch's setting; else the default)."""
    run_id = shortlist.run_id or uuid.uuid4().hex
    shortlist.run_id = run_id
    now = utcnow()
    rows = [dict(run_id=run_id, query_type=edge.query.type, query_id=edge.query.id,
                 candidate_type=edge.candidate_type, candidate_id=edge.candidate.id,
                 requester_org_id=edge.query.org_id, candidate_org_id=edge.candidate.org_id,
                 kind=SUGGESTION_KIND[edge.candidate_type],
                 rank=edge.rank or 0, score=edge.score, model_version=ctx.model_version,
                 hours=(hours or DEFAULT_HOURS) if edge.candidate_type == "person" else None,
                 features=dict(sorted(edge.features.items())), explanation=edge.reason,
                 detail=edge.why.as_json() if edge.why else None, drivers=dict(edge.drivers) or None,
                 covered=list(edge.covered), created_at=now)
            for edge in shortlist.candidates]
    with session_scope(ctx.engine) as s:
        ids = s.execute(insert(Suggestion).returning(Suggestion.id, sort_by_parameter_order=True), rows).scalars().all()
    for edge, id_ in zip(shortlist.candidates, ids, strict=True):
        edge.suggestion_id = id_


def build_shortlist(ctx: MatchContext, query: Party, kind: ShortlistKind = "partners", k: int = 10,
                    store: bool = True, run_id: str | None = None, chosen: dict[str, list[int]] | None = None,
                    qvec: np.ndarray | None = None, timings: dict[str, float] | None = None) -> Shortlist:
    """Rank, constrain, explain and (optionally) store one shortlist. ``chosen`` overrides the
    top-k per candidate type (the batch passes its capped assignment here). ``timings`` (if
    given) accumulates seconds per stage: embed, retrieve, constraints, features, score,
    explain, store (past decisions read and suggestions written)."""
    clock = Clock(timings)
    qvec = query_vector(ctx, query) if qvec is None else qvec
    clock.lap("embed")
    candidates: list[ScoredEdge] = []
    excluded: list[ScoredEdge] = []
    for cand_type in CANDIDATE_TYPES[kind]:
        ranked = ctx.edges.rank(query, cand_type, qvec, timings=timings)
        clock.skip()  # rank kept its own stages
        picks = ranked.edges[:k]
        if chosen is not None and cand_type in chosen:
            by_id = {e.candidate.id: e for e in ranked.edges}
            picks = [by_id[i] for i in chosen[cand_type] if i in by_id]
        for r, edge in enumerate(picks, start=1):
            edge.rank = r
            candidates.append(ctx.edges.explain(edge))
        excluded.extend(ranked.excluded)
        clock.lap("explain")
    past = pair_decisions(ctx.engine, query.type, query.id)
    for edge in candidates:
        edge.decision = past.get((edge.candidate_type, edge.candidate.id))
    shortlist = Shortlist(query=query, kind=kind, model_version=ctx.model_version, candidates=candidates,
                          excluded=excluded, run_id=run_id)
    if store and candidates:
        store_suggestions(ctx, shortlist)
    clock.lap("store")
    return shortlist


# A need's shortlist, the same from the desk page, the API and the CLI unless asked otherwise:
# partner companies and research seeds, ten of each.
DEFAULT_KIND: ShortlistKind = "all"
DEFAULT_K = 10


def shortlist_need(ctx: MatchContext, ref: str | int, kind: ShortlistKind = DEFAULT_KIND, k: int = DEFAULT_K,
                   store: bool = True) -> Shortlist:
    return build_shortlist(ctx, ctx.need_party(ctx.find_need(ref)), kind, k, store)


PERSON_NEEDS_DEPTH = 50  # open needs a person's text retrieves before each is scored from its own side


def shortlist_person(ctx: MatchContext, ref: str | int, k: int = 10, store: bool = True) -> Shortlist:
    """Open needs for a person (the reverse direction). The person's text retrieves the needs;
    each edge is then scored from the need's side — the need's text against the person's, the
    need's requester for the constraints and the history — so a verdict on it is the verdict on
    the same (need, person) pair the need's own list shows, stored as that pair."""
    person = ctx.person_parties[ctx.find_person(ref).id]
    qvec = ctx.embedder.encode([person.text], "query")[0]
    hits = ctx.edges.retriever.candidates(qvec, lemmas(person.text, normalized=True), "need", PERSON_NEEDS_DEPTH)
    needs = [ctx.needs[h.owner_id] for h in hits if h.owner_id in ctx.needs and ctx.needs[h.owner_id].status == "open"]
    queries = [ctx.need_party(n) for n in needs]
    vecs = ctx.embedder.encode([q.text for q in queries], "query") if queries else []
    edges: list[ScoredEdge] = []
    excluded: list[ScoredEdge] = []
    for query, vec in zip(queries, vecs, strict=True):
        ranked = ctx.edges.rank(query, "person", vec, owners=[person.id])
        edges += ranked.edges
        excluded += ranked.excluded
    edges.sort(key=lambda e: (-e.score, e.query.id))
    candidates = [ctx.edges.explain(e) for e in edges[:k]]
    for r, edge in enumerate(candidates, start=1):
        edge.rank = r
        edge.decision = pair_decisions(ctx.engine, "need", edge.query.id).get(("person", person.id))
    shortlist = Shortlist(query=person, kind="people", model_version=ctx.model_version, candidates=candidates,
                          excluded=excluded)
    if store and candidates:
        store_suggestions(ctx, shortlist)
    return shortlist


def shortlist_seed(ctx: MatchContext, ref: str | int, k: int = 10, store: bool = True) -> Shortlist:
    """Companies for a research seed (the reverse direction of ニーズ・シーズ)."""
    return build_shortlist(ctx, ctx.seed_parties[ctx.find_seed(ref).id], "partners", k, store)


def shortlist_org(ctx: MatchContext, ref: str | int, k: int = 10, store: bool = True) -> Shortlist:
    """Partners for a company without a stated need: its own profile is the query."""
    return build_shortlist(ctx, ctx.org_parties[ctx.find_org(ref).id], "partners", k, store)


def shortlist_all_needs(ctx: MatchContext, kind: ShortlistKind = "partners", k: int = 10,
                        cap: int | None = None, store: bool = True) -> ScoredGraph:
    """Every open need at once, with an exposure cap per organisation solved as an assignment."""
    open_needs = sorted((n for n in ctx.needs.values() if n.status == "open"), key=lambda n: n.id)
    cap = cap or exposure_caps.default_cap(len(open_needs), k)
    queries = {n.id: ctx.need_party(n) for n in open_needs}
    vecs = ctx.embedder.encode([q.text for q in queries.values()], "query") if queries else []
    qvec = dict(zip(queries, vecs, strict=True))
    chosen: dict[int, dict[str, list[int]]] = {n: {} for n in queries}
    exposure: dict[str, CapReport] = {}
    for cand_type in CANDIDATE_TYPES[kind]:
        ranked = {n: ctx.edges.rank(q, cand_type, qvec[n]) for n, q in queries.items()}
        scores = {n: [(e.candidate.id, e.score) for e in r.edges[: 3 * k]] for n, r in ranked.items()}
        solution = exposure_caps.solve(exposure_caps.CapProblem(scores, k, cap))
        result = solution.value
        for n in queries:
            chosen[n][cand_type] = result.chosen.get(n, [])
        exposure[cand_type] = CapReport(uncapped_total=round(result.uncapped_total, 4),
                                        capped_total=round(result.capped_total, 4), cost=round(result.cost, 4),
                                        status=solution.status, capped_out=result.capped_out)
    run_id = uuid.uuid4().hex
    shortlists = []
    for n in open_needs:
        one = build_shortlist(ctx, queries[n.id], kind, k, store, run_id, chosen[n.id], qvec[n.id])
        capped = exposure["organization"].capped_out.get(n.id, []) if "organization" in exposure else []
        one.excluded += [ScoredEdge(query=queries[n.id], candidate=ctx.org_parties[c], excluded="exposure_cap")
                         for c in sorted(capped)]
        shortlists.append(one)
    return ScoredGraph(run_id=run_id, cap=cap, shortlists=shortlists, exposure=exposure)


@dataclass(kw_only=True)
class WhyNot:
    """Why an organisation is (or is not) on a need's shortlist, in the terms a coordinator checks:
    the processes it lacks, the need's words its texts never use, the constraint or the
    coordinator's own earlier verdict that keeps it off, and its rank against the list shown."""

    need: Party
    org: Party
    status: str  # excluded | not_retrieved | shortlisted | ranked_below
    reason_code: str | None = None
    rank: int | None = None
    score: float | None = None
    kth_score: float | None = None
    features: dict[str, float] = field(default_factory=dict)
    k: int = DEFAULT_K
    missing: tuple[str, ...] = ()  # required processes the organisation does not list
    missing_terms: tuple[str, ...] = ()  # the need's words none of its texts uses (most frequent first)
    decision: EdgeDecision | None = None  # the latest coordinator verdict on this pair, any run


MISSING_TERMS = 5


def _missing_terms(ctx: MatchContext, query: Party, org: Party) -> tuple[str, ...]:
    docs = ctx.edges.retriever.docs_of("organization", org.id)
    return tuple(missing_terms(query.text, "\n".join(ctx.edges.doc_text.get(d, "") for d in docs), MISSING_TERMS))


def why_not(ctx: MatchContext, need_ref: str | int, org_ref: str | int, k: int = DEFAULT_K) -> WhyNot:
    """``k``: the length of the list the coordinator is looking at (the page's and the API's)."""
    need = ctx.find_need(need_ref)
    org = ctx.org_parties[ctx.find_org(org_ref).id]
    query = ctx.need_party(need)
    base = {"need": query, "org": org, "k": k,
            "decision": pair_decisions(ctx.engine, "need", need.id).get(("organization", org.id)),
            "missing": tuple(p for p in query.required if p not in org.processes),
            "missing_terms": _missing_terms(ctx, query, org)}
    reason = ctx.edges.constraints.why_not(query.org_id, org.id)
    if reason:
        return WhyNot(status="excluded", reason_code=reason, **base)
    ranked = ctx.edges.rank(query, "organization", query_vector(ctx, query))
    ids = [e.candidate.id for e in ranked.edges]
    if org.id not in ids:
        return WhyNot(status="not_retrieved", **base)
    pos = ids.index(org.id)
    edge = ranked.edges[pos]
    kth = ranked.edges[min(k, len(ranked.edges)) - 1].score
    return WhyNot(status="shortlisted" if pos < k else "ranked_below", rank=pos + 1, score=edge.score,
                  kth_score=kth, features=edge.features, **base)


__all__ = ["DEPTH", "WhyNot", "build_shortlist", "query_vector", "shortlist_all_needs", "shortlist_need",
           "shortlist_org", "shortlist_person", "shortlist_seed", "why_not"]
