"""Evaluation results as the CLI prints them."""

from __future__ import annotations

from typing import Any

from matcher.evaluate import StsResult


def sts_json(r: StsResult) -> dict[str, Any]:
    return {"n": r.n, "embedder": {"model": r.model, "spearman": round(r.spearman, 4)},
            "baseline": {"name": "tfidf-char-2-3", "spearman": round(r.baseline_spearman, 4)}}
