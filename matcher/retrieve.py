"""Hybrid candidate generation: dense (FAISS) and lexical (BM25) lists fused by reciprocal rank.

Retrieval is recall-oriented; ranking happens later. RRF (Cormack, Clarke & Büttcher, SIGIR 2009)
needs no score calibration between the two lists, which is why it is the fusion used here.
"""

from __future__ import annotations

from collections.abc import Sequence

RRF_K = 60  # the constant from the original paper; flattens the head so one list cannot dominate


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
