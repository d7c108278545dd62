"""Hybrid candidate generation: dense (FAISS) and lexical (BM25) lists fused by reciprocal rank.

Retrieval is recall-oriented; ranking happens later. RRF (Cormack, Clarke & Büttcher, SIGIR 2009)
needs no score calibration between the two lists, which is why it is the fusion used here.
Organisations own several documents (profile, processes, equipment, track record); documents are
retrieved, then aggregated per owner with the max and the mean of their similarities, as
reviewer-assignment matchers do (the best document says "can do", the mean says "is about").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from matcher.search.index import BM25Index, VectorIndex

RRF_K = 60  # the constant from the original paper; flattens the head so one list cannot dominate
DEPTH = 200  # owners kept per query: recall-oriented, the ranker sorts them out


def rrf_fuse(ranked_lists: Sequence[Sequence[int]], k: int = RRF_K,
             limit: int | None = None) -> list[tuple[int, float]]:
    """Fuse ranked id lists; ties broken by id so fusion is deterministic."""
    scores: dict[int, float] = {}
    for ranked in ranked_lists:
        for rank, id_ in enumerate(ranked, start=1):
            if id_ < 0:
                continue
            scores[int(id_)] = scores.get(int(id_), 0.0) + 1.0 / (k + rank)
    fused = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return fused[:limit] if limit else fused


@dataclass(frozen=True)
class DocMeta:
    owner_type: str  # organization | need | seed
    owner_id: int
    kind: str


@dataclass
class Hit:
    owner_id: int
    rrf: float
    dense_max: float = 0.0
    dense_mean: float = 0.0
    bm25_max: float = 0.0
    dense_rank: int | None = None  # 1-based rank of the owner in the dense list
    bm25_rank: int | None = None
    best_doc: int | None = None
    doc_ids: list[int] = field(default_factory=list)


def _owner_order(doc_ids: Iterable[int], meta: dict[int, DocMeta], owner_type: str,
                 exclude: set[int]) -> list[int]:
    seen: dict[int, None] = {}
    for d in doc_ids:
        m = meta.get(int(d))
        if m is not None and m.owner_type == owner_type and m.owner_id not in exclude:
            seen.setdefault(m.owner_id, None)
    return list(seen)


class Retriever:
    """Candidates of one owner type for a query, from the shared document indexes."""

    def __init__(self, vectors: VectorIndex, bm25: BM25Index, meta: dict[int, DocMeta]) -> None:
        self.vectors, self.bm25, self.meta = vectors, bm25, meta
        self.docs_of_: dict[tuple[str, int], list[int]] = {}
        for doc_id, m in sorted(meta.items()):
            self.docs_of_.setdefault((m.owner_type, m.owner_id), []).append(doc_id)
        self.count_: dict[str, int] = {}
        for m in meta.values():
            self.count_[m.owner_type] = self.count_.get(m.owner_type, 0) + 1

    def docs_of(self, owner_type: str, owner_id: int) -> list[int]:
        return self.docs_of_.get((owner_type, owner_id), [])

    def candidates(self, query_vec: np.ndarray, query_lemmas: Sequence[str], owner_type: str,
                   depth: int = DEPTH, exclude: Iterable[int] = ()) -> list[Hit]:
        exclude = set(exclude)
        # Over-fetch in proportion to how much of the index belongs to other owner types.
        share = self.count_.get(owner_type, 0) / max(len(self.meta), 1)
        fetch = min(len(self.vectors), int(depth * 3 / max(share, 0.05)) + depth)
        _, dense_ids = self.vectors.search(query_vec[None, :], fetch)
        dense_owners = _owner_order((i for i in dense_ids[0] if i >= 0), self.meta, owner_type, exclude)[:depth]
        raw = self.bm25.score_array(query_lemmas)
        _, lexical_docs = self.bm25.top_from(raw, fetch)
        bm25_owners = _owner_order(lexical_docs, self.meta, owner_type, exclude)[:depth]
        fused = rrf_fuse([dense_owners, bm25_owners], limit=depth)
        dense_rank = {o: r for r, o in enumerate(dense_owners, start=1)}
        bm25_rank = {o: r for r, o in enumerate(bm25_owners, start=1)}
        out = []
        for owner, rrf in fused:
            docs = self.docs_of(owner_type, owner)
            sims = self.vectors.exact_scores(query_vec, docs)
            found = sims[~np.isnan(sims)]
            lexical = [float(raw[p]) for p in (self.bm25.position(d) for d in docs) if p is not None]
            best = int(np.argmax(np.where(np.isnan(sims), -np.inf, sims))) if found.size else 0
            out.append(Hit(
                owner_id=owner, rrf=rrf,
                dense_max=float(found.max()) if found.size else 0.0,
                dense_mean=float(found.mean()) if found.size else 0.0,
                bm25_max=max(lexical) if lexical else 0.0,
                dense_rank=dense_rank.get(owner), bm25_rank=bm25_rank.get(owner),
                best_doc=docs[best] if docs else None, doc_ids=docs,
            ))
        return out
