"""Ranking and correlation metrics, shared by evaluation and by the ranker's promotion gate."""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy.stats import spearmanr

CUTOFFS = (1, 5, 10)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    return float(spearmanr(x, y).statistic)


def recall_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def mrr_at(rank: int | None, k: int = 10) -> float:
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def ndcg_at(ranks: Sequence[int], n_relevant: int, k: int = 10) -> float:
    """Binary-relevance nDCG@k given the 1-based ranks of the relevant items that were found."""
    dcg = sum(1.0 / math.log2(r + 1) for r in ranks if r <= k)
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(n_relevant, k) + 1))
    return dcg / ideal if ideal else 0.0


def ranking_metrics(ranks: Sequence[int | None]) -> dict[str, float]:
    """Mean recall@1/5/10, MRR@10 and nDCG@10 over queries with one relevant item each."""
    n = max(len(ranks), 1)
    out = {f"recall@{k}": sum(recall_at(r, k) for r in ranks) / n for k in CUTOFFS}
    out["mrr@10"] = sum(mrr_at(r) for r in ranks) / n
    out["ndcg@10"] = sum(ndcg_at([r] if r else [], 1) for r in ranks) / n
    return {k: round(v, 4) for k, v in out.items()}
