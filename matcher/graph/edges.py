"""Scoring one query's edges: retrieve → features → constraints → score, then explain the top.

``EdgeBuilder`` holds what every edge is scored against (indexes, parties, constraints, decision
history, the active scorer). Each edge's covered processes and distance class are computed once
here and carried on the edge; explanations and rendering read them from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from matcher.graph.constraints import ConstraintSet
from matcher.graph.explain import EdgeReason
from matcher.graph.features import (
    FEATURES,
    covered_processes,
    distance_class,
    feature_values,
    rounded_features,
)
from matcher.graph.model import CandidateType, History, Party, Ranked, ScoredEdge
from matcher.graph.scorers import Scorer, feature_matrix
from matcher.search.retrieve import DEPTH, Retriever
from matcher.text import lemmas
from matcher.text.terms import TermStats, shared_terms
from matcher.timing import Clock

TERM_SAMPLE = 20_000  # owners whose nouns are counted for the term statistics


@dataclass
class EdgeBuilder:
    retriever: Retriever
    parties: dict[CandidateType, dict[int, Party]]
    doc_text: dict[int, str]
    constraints: ConstraintSet
    histories: dict[CandidateType, History]  # decisions counted per candidate type: ids collide across types
    scorer: Scorer

    _stats: dict[str, TermStats] = field(default_factory=dict, init=False, repr=False, compare=False)

    def term_stats(self, owner_type: str) -> TermStats:
        """Noun document frequencies over one candidate corpus (every organisation, or every seed),
        computed once per context: what tells a pair's specific shared words from template ones.
        Above ``TERM_SAMPLE`` owners they are counted on an evenly spaced sample: a share and an
        IDF order need proportions, not a census, and tokenising two million documents before
        the first explanation would take minutes."""
        if owner_type not in self._stats:
            owners = sorted((o, ids) for (t, o), ids in self.retriever.docs_of_.items() if t == owner_type)
            step = max(1, -(-len(owners) // TERM_SAMPLE))  # every step-th owner by id: deterministic
            self._stats[owner_type] = TermStats.of("\n".join(self.doc_text.get(d, "") for d in ids)
                                                   for _, ids in owners[::step])
        return self._stats[owner_type]

    def history(self, candidate_type: CandidateType = "organization") -> History:
        return self.histories.get(candidate_type) or History()

    @property
    def model_version(self) -> str:
        return getattr(self.scorer, "version", "unknown")

    def rank(self, query: Party, candidate_type: CandidateType, qvec: np.ndarray, depth: int = DEPTH,
             timings: dict[str, float] | None = None, owners: Iterable[int] | None = None) -> Ranked:
        """Allowed edges sorted by score (ties by id), and the excluded ones with their reason.
        ``owners``: score exactly these candidates instead of retrieving them. ``timings`` (if
        given) accumulates seconds per stage: retrieve, constraints, features, score."""
        clock = Clock(timings)
        parties = self.parties[candidate_type]
        query_lemmas = lemmas(query.text, normalized=True)
        hits = (self.retriever.hits_for(qvec, query_lemmas, candidate_type, owners) if owners is not None
                else self.retriever.candidates(qvec, query_lemmas, candidate_type, depth))
        hits = [h for h in hits if h.owner_id in parties]
        clock.lap("retrieve")
        bm25_top = max((h.bm25_max for h in hits), default=0.0)
        allowed: list[ScoredEdge] = []
        excluded: list[ScoredEdge] = []
        kept = []
        for h in hits:
            cand = parties[h.owner_id]
            reason = self.why_not(query, cand)
            if reason:
                excluded.append(ScoredEdge(query=query, candidate=cand, hit=h, excluded=reason))
            else:
                kept.append((h, cand))
        clock.lap("constraints")
        now = datetime.now(UTC)
        history = self.history(candidate_type)
        rows = []
        for h, cand in kept:
            covered = covered_processes(query, cand)
            dist = distance_class(query.city, cand.city)
            allowed.append(ScoredEdge(query=query, candidate=cand, hit=h, covered=covered, distance=dist))
            rows.append(feature_values(query, cand, h, history, bm25_top, now, covered, dist))
        for e, f in zip(allowed, rounded_features(rows), strict=True):
            e.features = f
        clock.lap("features")
        if allowed:
            scores = self.scorer.score(feature_matrix([e.features for e in allowed]))
            for e, v in zip(allowed, scores, strict=True):
                e.score = round(float(v), 6)
        allowed.sort(key=lambda e: (-e.score, e.candidate.id))
        clock.lap("score")
        return Ranked(query, candidate_type, allowed, excluded)

    def why_not(self, query: Party, cand: Party) -> str | None:
        """The hard constraint that forbids this edge, if any."""
        if cand.type == "person":
            return self.constraints.why_not_person(query.org_id, cand.affiliation_id, cand.conflicts)
        owner = cand.id if cand.type == "organization" else cand.org_id
        return self.constraints.why_not(query.org_id, owner) if owner is not None else None

    def explain(self, edge: ScoredEdge, n_drivers: int = 5) -> ScoredEdge:
        """Fill the edge's matched terms, score drivers and Japanese reason (top-k edges only:
        tokenising both texts is the costly part)."""
        cand_text = "\n".join(self.doc_text.get(d, "") for d in (edge.hit.doc_ids if edge.hit else []))
        edge.matched_terms = tuple(shared_terms(edge.query.text, cand_text, stats=self.term_stats(edge.candidate.type)))
        x = np.array([edge.features[f] for f in FEATURES])
        contrib = self.scorer.contributions(x)
        ordered = sorted(contrib.items(), key=lambda kv: -abs(kv[1]))[:n_drivers]
        edge.drivers = {name: round(value, 4) for name, value in ordered}
        edge.why = EdgeReason.of(edge)
        edge.reason = edge.why.text("coordinator")
        return edge
