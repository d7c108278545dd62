"""Ranking and correlation metrics, shared by evaluation and by the ranker's promotion gate."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
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


def weighted_auc(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> float:
    """Weighted AUC (Mann–Whitney with ties halved)."""
    pos, neg = y == 1, y == 0
    if not pos.any() or not neg.any():
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    s_sorted, y_sorted, w_sorted = s[order], y[order], w[order]
    neg_w = np.where(y_sorted == 0, w_sorted, 0.0)
    cum_neg = np.cumsum(neg_w)
    # For each positive: the negative weight strictly below it, plus half the tied negatives.
    uniq, start = np.unique(s_sorted, return_index=True)
    end = np.r_[start[1:], len(s_sorted)]
    below = np.r_[0.0, cum_neg][start]
    tied = cum_neg[end - 1] - below
    group = np.searchsorted(uniq, s_sorted)
    credit = below[group] + 0.5 * tied[group]
    pw = np.where(y_sorted == 1, w_sorted, 0.0)
    return float((pw * credit).sum() / (pw.sum() * neg_w.sum()))
