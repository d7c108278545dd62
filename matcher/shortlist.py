"""Shortlists: a need (or a seed, or a company) → ranked partners / research seeds, with reasons.

One ``MatchContext`` is loaded per run (store snapshot + indexes + scorer). Each query goes
retrieve → features → score → constraints → top-k, and every shortlist is stored as suggestions
with rank positions, scorer version and feature snapshot, so decisions can be learned from later.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sqlalchemy import Engine
from sqlmodel import select

from matcher.config import Settings
from matcher.constraints import REASONS_EN, REASONS_JA, ConstraintSet, capped_assignment, default_cap
from matcher.features import FEATURES, History, Party, covered_processes, distance_class, edge_features
from matcher.indexing import load_indexes
from matcher.rank import ColdStartScorer, feature_matrix
from matcher.retrieve import DEPTH, Candidate, DocMeta, Retriever
from matcher.store.db import session_scope
from matcher.store.tables import (
    KIND_JA,
    Constraint,
    Decision,
    Document,
    Need,
    Organization,
    ResearchSeed,
    Suggestion,
    split_list,
)
from matcher.taxonomy import tag_processes
from matcher.text import lemmas, normalize

ShortlistKind = Literal["partners", "seeds", "all"]
# Content-word parts of speech whose surface forms may be quoted as shared terms.
_TERM_POS = {"名詞"}
_TERM_STOP = {"加工", "製造", "部品", "対応", "会社", "当社", "製作", "可能", "実績", "技術", "こと", "依頼", "月"}


class NotFound(KeyError):
    pass


@dataclass
class MatchContext:
    settings: Settings
    engine: Engine
    embedder: Any
    retriever: Retriever
    orgs: dict[int, Organization]
    org_parties: dict[int, Party]
    seeds: dict[int, ResearchSeed]
    seed_parties: dict[int, Party]
    needs: dict[int, Need]
    doc_text: dict[int, str]
    constraints: ConstraintSet
    history: History
    scorer: Any = field(default_factory=lambda: ColdStartScorer().fit())

    @property
    def model_version(self) -> str:
        return getattr(self.scorer, "version", "unknown")


def _org_party(org: Organization, docs: list[str]) -> Party:
    text = "\n".join(docs)
    procs = tuple(dict.fromkeys(tag_processes(";".join(split_list(org.processes))) + tag_processes(text)))
    return Party("organization", org.id, org.name, text, org.id, org.city, org.employees,
                 tuple(split_list(org.certifications)), procs, (), org.updated_at)


def load_context(engine: Engine, settings: Settings, embedder, scorer=None) -> MatchContext:
    vectors, bm25 = load_indexes(settings)
    with session_scope(engine) as s:
        orgs = {o.id: o for o in s.exec(select(Organization).where(Organization.deleted_at.is_(None)))}
        seeds = {x.id: x for x in s.exec(select(ResearchSeed))}
        needs = {n.id: n for n in s.exec(select(Need))}
        docs = s.exec(select(Document.id, Document.owner_type, Document.owner_id, Document.kind, Document.text)).all()
        constraints = s.exec(select(Constraint)).all()
    meta = {int(d[0]): DocMeta(d[1], int(d[2]), d[3]) for d in docs
            if int(d[0]) in vectors and not (d[1] == "organization" and int(d[2]) not in orgs)}
    doc_text = {int(d[0]): d[4] for d in docs}
    by_owner: dict[tuple[str, int], list[str]] = {}
    for d in docs:
        by_owner.setdefault((d[1], int(d[2])), []).append(d[4])
    org_parties = {i: _org_party(o, by_owner.get(("organization", i), [])) for i, o in orgs.items()}
    seed_parties = {i: Party("seed", i, x.title, "\n".join(by_owner.get(("seed", i), [])), x.org_id,
                             orgs[x.org_id].city if x.org_id in orgs else None, None, (),
                             tuple(tag_processes(x.title + ";" + x.keywords)), (), x.updated_at)
                    for i, x in seeds.items()}
    cs = ConstraintSet(groups={i: o.corporate_group for i, o in orgs.items() if o.corporate_group},
                       opted_out={i for i, o in orgs.items() if o.unsubscribed_at is not None})
    for c in constraints:
        if c.kind == "opt_out":
            cs.opted_out.add(c.org_a)
        elif c.org_b is not None and c.kind in ("conflict", "competitor", "same_group"):
            target = cs.competitors if c.kind == "competitor" else cs.conflicts
            target.add(frozenset((c.org_a, c.org_b)))
    history = load_history(engine, needs)
    if scorer is None:
        from matcher.training import active_scorer

        scorer = active_scorer(engine)  # a reloaded service ranks with the active version
    return MatchContext(settings, engine, embedder, Retriever(vectors, bm25, meta), orgs, org_parties, seeds,
                        seed_parties, needs, doc_text, cs, history, scorer)


def load_history(engine: Engine, needs: dict[int, Need]) -> History:
    """Decision counts only — cheap to refresh after new decisions without reloading indexes."""
    with session_scope(engine) as s:
        rows = s.exec(select(Decision, Suggestion).where(Decision.suggestion_id == Suggestion.id)
                      .order_by(Decision.decided_at, Decision.id)).all()
    return _history(rows, needs)


def _history(rows, needs: dict[int, Need]) -> History:
    """The latest verdict per suggestion counts (rows come ordered by decision time, then id,
    as in ``matcher.decisions.latest_decisions``)."""
    latest: dict[int, tuple[Decision, Suggestion]] = {}
    for dec, sug in rows:
        latest[sug.id] = (dec, sug)
    h = History()
    for dec, sug in latest.values():
        if sug.candidate_type != "organization" or dec.verdict == "skip":
            continue
        requester = needs[sug.query_id].org_id if sug.query_type == "need" and sug.query_id in needs else (
            sug.query_id if sug.query_type == "organization" else -1)
        counts, pair = (h.accepts, h.pair_accepts) if dec.verdict == "accept" else (h.rejects, h.pair_rejects)
        counts[sug.candidate_id] = counts.get(sug.candidate_id, 0) + 1
        pair[(requester, sug.candidate_id)] = pair.get((requester, sug.candidate_id), 0) + 1
    return h


# -- queries ---------------------------------------------------------------------------------------
def need_party(ctx: MatchContext, need: Need) -> Party:
    requester = ctx.orgs.get(need.org_id)
    required = tuple(dict.fromkeys(code for p in split_list(need.required_processes) for code in tag_processes(p)))
    text = normalize(f"{need.title}\n{need.text}")
    return Party("need", need.id, need.title, text, need.org_id, requester.city if requester else None,
                 None, (), (), required, need.updated_at)


def find_need(ctx: MatchContext, ref: str | int) -> Need:
    for n in ctx.needs.values():
        if str(n.id) == str(ref) or n.external_id == str(ref):
            return n
    raise NotFound(f"案件が見つかりません / no need with id or 案件ID {ref!r}")


def find_org(ctx: MatchContext, ref: str | int) -> Organization:
    for o in ctx.orgs.values():
        if str(o.id) == str(ref) or o.external_id == str(ref):
            return o
    raise NotFound(f"組織が見つかりません / no organisation with id or 企業ID {ref!r}")


def find_seed(ctx: MatchContext, ref: str | int) -> ResearchSeed:
    for x in ctx.seeds.values():
        if str(x.id) == str(ref) or x.external_id == str(ref):
            return x
    raise NotFound(f"シーズが見つかりません / no research seed with id or シーズID {ref!r}")


# -- scoring ---------------------------------------------------------------------------------------
@dataclass
class Scored:
    candidate_type: str  # organization | seed
    party: Party
    hit: Candidate
    features: dict[str, float]
    score: float = 0.0


@dataclass
class Ranked:
    query: Party
    kind: str  # partner | seed
    scored: list[Scored]  # allowed, sorted by score
    excluded: list[tuple[Party, str]]


def shared_terms(query_text: str, cand_text: str, limit: int = 5) -> list[str]:
    """Nouns that literally occur in both texts (surface forms, so they can be quoted)."""
    from matcher.text import _tagger

    def nouns(text: str) -> list[str]:
        out, prefix = [], ""
        for w in _tagger()(text):
            # A prefix or a one-character noun joins the next word (半 + 導体 → 半導体), so the
            # quoted term is the word a reader sees, not a fragment of it.
            if w.feature.pos1 == "接頭辞" or (w.feature.pos1 == "名詞" and len(w.surface) == 1):
                prefix += w.surface
                continue
            s = prefix + w.surface
            prefix = ""
            if w.feature.pos1 in _TERM_POS and w.feature.pos2 != "数詞" and len(s) >= 2 and s not in _TERM_STOP:
                out.append(s)
        return out

    cand_set = set(nouns(cand_text))
    terms = [t for t in dict.fromkeys(nouns(query_text)) if t in cand_set]
    return [t for t in terms if t in query_text and t in cand_text][:limit]


def rank_candidates(ctx: MatchContext, query: Party, candidate_type: str, qvec: np.ndarray,
                    depth: int = DEPTH) -> Ranked:
    owner_type = "organization" if candidate_type == "organization" else "seed"
    hits = ctx.retriever.candidates(qvec, lemmas(query.text, normalized=True), owner_type, depth)
    parties = ctx.org_parties if candidate_type == "organization" else ctx.seed_parties
    hits = [h for h in hits if h.owner_id in parties]
    bm25_top = max((h.bm25_max for h in hits), default=0.0)
    excluded: list[tuple[Party, str]] = []
    allowed: list[Scored] = []
    for h in hits:
        party = parties[h.owner_id]
        org_id = party.id if candidate_type == "organization" else party.org_id
        reason = ctx.constraints.why_not(query.org_id, org_id) if org_id is not None else None
        if reason:
            excluded.append((party, reason))
            continue
        allowed.append(Scored(candidate_type, party, h, edge_features(query, party, h, ctx.history, bm25_top)))
    if allowed:
        scores = ctx.scorer.score(feature_matrix([s.features for s in allowed]))
        for s, v in zip(allowed, scores, strict=True):
            s.score = round(float(v), 6)
    allowed.sort(key=lambda s: (-s.score, s.party.id))
    return Ranked(query, "partner" if candidate_type == "organization" else "seed", allowed, excluded)


# -- presentation ----------------------------------------------------------------------------------
def reason_ja(query: Party, s: Scored, terms: list[str]) -> str:
    parts = []
    if s.candidate_type == "organization":
        covered = covered_processes(query, s.party)
        if query.required:
            detail = f"（{'・'.join(covered)}）" if covered else ""
            parts.append(f"必要工程 {len(query.required)} 件中 {len(covered)} 件{detail}に対応")
        dist = distance_class(query.city, s.party.city)
        where = {"same_city": f"{s.party.city}内" if s.party.city else "同一市内",
                 "neighbour": f"近隣（{s.party.city}）", "tama": f"多摩地域（{s.party.city}）"}.get(dist)
        if where:
            parts.append(where)
        certs = [c for c in s.party.certifications if c.replace(" ", "").upper().startswith(("ISO", "JISQ", "IATF"))]
        if certs:
            parts.append("・".join(certs[:2]))
    else:
        parts.append(f"研究内容の類似度 {s.hit.dense_max:.2f}")
    if terms:
        parts.append(f"共通語：{'・'.join(terms[:3])}")
    return "、".join(parts)


def org_json(org: Organization, party: Party) -> dict[str, Any]:
    return {"id": org.id, "external_id": org.external_id, "name": org.name, "kind": org.kind,
            "kind_ja": KIND_JA.get(org.kind, org.kind), "city": org.city, "employees": org.employees,
            "certifications": list(party.certifications), "capabilities": list(party.processes),
            "jsic_codes": split_list(org.jsic_codes)}


def seed_json(seed: ResearchSeed) -> dict[str, Any]:
    return {"id": seed.id, "external_id": seed.external_id, "title": seed.title, "institution": seed.institution,
            "keywords": split_list(seed.keywords), "url": seed.url, "source": seed.source}


def top_features(ctx: MatchContext, features: dict[str, float], n: int = 5) -> dict[str, float]:
    """The features that drove the score most (largest contributions), with their values."""
    x = np.array([features[f] for f in FEATURES])
    contrib = ctx.scorer.contributions(x) if hasattr(ctx.scorer, "contributions") else {}
    ordered = sorted(contrib.items(), key=lambda kv: -abs(kv[1]))[:n]
    return {name: round(value, 4) for name, value in ordered}


def candidate_json(ctx: MatchContext, query: Party, s: Scored, rank: int) -> dict[str, Any]:
    cand_text = "\n".join(ctx.doc_text.get(d, "") for d in s.hit.doc_ids)
    terms = shared_terms(query.text, cand_text)
    out: dict[str, Any] = {
        "suggestion_id": None, "rank": rank, "score": s.score, "candidate_type": s.candidate_type,
        "covered_capabilities": covered_processes(query, s.party) if s.candidate_type == "organization" else [],
        "matched_terms": terms, "features": s.features, "drivers": top_features(ctx, s.features),
        "reason": reason_ja(query, s, terms),
    }
    if s.candidate_type == "organization":
        out["org"] = org_json(ctx.orgs[s.party.id], s.party)
    else:
        out["seed"] = seed_json(ctx.seeds[s.party.id])
    return out


def excluded_json(ctx: MatchContext, party: Party, reason: str) -> dict[str, Any]:
    name = ctx.orgs[party.id].name if party.type == "organization" else ctx.seeds[party.id].title
    return {"candidate_type": party.type, "id": party.id, "name": name, "reason_code": reason,
            "reason": REASONS_JA[reason], "reason_en": REASONS_EN[reason]}


# -- storing ---------------------------------------------------------------------------------------
def store_suggestions(ctx: MatchContext, run_id: str, query: Party, items: list[dict[str, Any]]) -> None:
    with session_scope(ctx.engine) as s:
        rows = []
        for item in items:
            cand_type = item["candidate_type"]
            cand_id = item["org"]["id"] if cand_type == "organization" else item["seed"]["id"]
            row = Suggestion(run_id=run_id, query_type=query.type, query_id=query.id, candidate_type=cand_type,
                             candidate_id=cand_id, kind="partner" if cand_type == "organization" else "seed",
                             rank=item["rank"], score=item["score"], model_version=ctx.model_version,
                             features=json.dumps(item["features"], sort_keys=True), explanation=item["reason"])
            s.add(row)
            rows.append(row)
        s.flush()
        for item, row in zip(items, rows, strict=True):
            item["suggestion_id"] = row.id


# -- the public operations -------------------------------------------------------------------------
def query_vector(ctx: MatchContext, query: Party) -> np.ndarray:
    return ctx.embedder.encode([query.text], "query")[0]


CANDIDATE_TYPES: dict[str, tuple[str, ...]] = {"partners": ("organization",), "seeds": ("seed",),
                                               "all": ("organization", "seed")}


def build_shortlist(ctx: MatchContext, query: Party, kind: ShortlistKind = "partners", k: int = 10,
                    store: bool = True, run_id: str | None = None,
                    chosen: dict[str, list[int]] | None = None) -> dict[str, Any]:
    """Rank, constrain and (optionally) store one shortlist. ``chosen`` overrides the top-k per
    candidate type (the batch passes its capped assignment here)."""
    qvec = query_vector(ctx, query)
    items: list[dict[str, Any]] = []
    excluded: list[dict[str, Any]] = []
    for cand_type in CANDIDATE_TYPES[kind]:
        ranked = rank_candidates(ctx, query, cand_type, qvec)
        picks = ranked.scored[:k]
        if chosen is not None and cand_type in chosen:
            by_id = {s.party.id: s for s in ranked.scored}
            picks = [by_id[i] for i in chosen[cand_type] if i in by_id]
        items.extend(candidate_json(ctx, query, s, r) for r, s in enumerate(picks, start=1))
        excluded.extend(excluded_json(ctx, p, why) for p, why in ranked.excluded)
    if store and items:
        store_suggestions(ctx, run_id or uuid.uuid4().hex, query, items)
    return {"query": {"type": query.type, "id": query.id, "title": query.name},
            "model_version": ctx.model_version, "candidates": items, "excluded": excluded}


def shortlist_need(ctx: MatchContext, ref: str | int, kind: ShortlistKind = "partners", k: int = 10,
                   store: bool = True) -> dict[str, Any]:
    need = find_need(ctx, ref)
    query = need_party(ctx, need)
    out = build_shortlist(ctx, query, kind, k, store)
    out["need"] = {"id": need.id, "external_id": need.external_id, "org_id": need.org_id,
                   "org_name": ctx.orgs[need.org_id].name if need.org_id in ctx.orgs else None,
                   "title": need.title, "required_capabilities": list(query.required)}
    return out


def shortlist_seed(ctx: MatchContext, ref: str | int, k: int = 10, store: bool = True) -> dict[str, Any]:
    """Companies for a research seed (the reverse direction of ニーズ・シーズ)."""
    seed = find_seed(ctx, ref)
    party = ctx.seed_parties[seed.id]
    out = build_shortlist(ctx, party, "partners", k, store)
    out["seed"] = seed_json(seed)
    return out


def shortlist_org(ctx: MatchContext, ref: str | int, k: int = 10, store: bool = True) -> dict[str, Any]:
    """Partners for a company without a stated need: its own profile is the query."""
    org = find_org(ctx, ref)
    party = ctx.org_parties[org.id]
    query = Party("organization", org.id, org.name, party.text, org.id, org.city, org.employees,
                  party.certifications, party.processes, (), org.updated_at)
    out = build_shortlist(ctx, query, "partners", k, store)
    out["org"] = org_json(org, party)
    return out


def shortlist_all_needs(ctx: MatchContext, kind: ShortlistKind = "partners", k: int = 10,
                        cap: int | None = None, store: bool = True) -> dict[str, Any]:
    """Every open need at once, with an exposure cap per organisation solved as an assignment."""
    open_needs = sorted((n for n in ctx.needs.values() if n.status == "open"), key=lambda n: n.id)
    cap = cap or default_cap(len(open_needs), k)
    queries = {n.id: need_party(ctx, n) for n in open_needs}
    vecs = ctx.embedder.encode([q.text for q in queries.values()], "query")
    qvec = dict(zip(queries, vecs, strict=True))
    chosen: dict[int, dict[str, list[int]]] = {n: {} for n in queries}
    cap_report: dict[str, Any] = {"cap": cap}
    for cand_type in CANDIDATE_TYPES[kind]:
        ranked = {n: rank_candidates(ctx, q, cand_type, qvec[n]) for n, q in queries.items()}
        scores = {n: [(s.party.id, s.score) for s in r.scored[: 3 * k]] for n, r in ranked.items()}
        result = capped_assignment(scores, k, cap)
        for n in queries:
            chosen[n][cand_type] = result.chosen.get(n, [])
        cap_report[cand_type] = {"uncapped_total": round(result.uncapped_total, 4),
                                 "capped_total": round(result.capped_total, 4),
                                 "cost": round(result.cost, 4), "status": result.status,
                                 "capped_out": {str(n): v for n, v in result.capped_out.items()}}
    run_id = uuid.uuid4().hex
    shortlists = []
    for n in open_needs:
        out = build_shortlist(ctx, queries[n.id], kind, k, store, run_id, chosen[n.id])
        out["need"] = {"id": n.id, "external_id": n.external_id, "org_id": n.org_id, "title": n.title,
                       "required_capabilities": list(queries[n.id].required)}
        capped = set(cap_report.get("organization", {}).get("capped_out", {}).get(str(n.id), []))
        out["excluded"] += [excluded_json(ctx, ctx.org_parties[c], "exposure_cap") for c in sorted(capped)]
        shortlists.append(out)
    return {"shortlists": shortlists, "exposure": cap_report, "run_id": run_id}


def why_not(ctx: MatchContext, need_ref: str | int, org_ref: str | int, k: int = 10) -> dict[str, Any]:
    """Why an organisation is not (or is) on a need's shortlist."""
    need = find_need(ctx, need_ref)
    org = find_org(ctx, org_ref)
    query = need_party(ctx, need)
    reason = ctx.constraints.why_not(query.org_id, org.id)
    base = {"need": need.external_id, "org": org.external_id, "name": org.name}
    if reason:
        return {**base, "status": "excluded", "reason_code": reason, "reason": REASONS_JA[reason]}
    ranked = rank_candidates(ctx, query, "organization", query_vector(ctx, query))
    ids = [s.party.id for s in ranked.scored]
    if org.id not in ids:
        return {**base, "status": "not_retrieved",
                "reason": f"検索上位 {DEPTH} 件（意味・語句の両方）に入っていません"}
    pos = ids.index(org.id)
    s = ranked.scored[pos]
    status = "shortlisted" if pos < k else "ranked_below"
    kth = ranked.scored[min(k, len(ranked.scored)) - 1].score
    return {**base, "status": status, "rank": pos + 1, "score": s.score, "kth_score": kth,
            "features": s.features, "reason": (f"{pos + 1} 位（上位 {k} 件の最下位スコア {kth:.3f}、この候補 {s.score:.3f}）")}
