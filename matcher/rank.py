"""Scorers over the named edge features. Every scorer keeps one small contract:
``fit`` → self, ``score(X)`` → array, ``save``/``load`` to a directory (JSON, no pickle)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from matcher.features import FEATURES

# Cold-start weights, chosen by hand before any decision exists, in order of what a coordinator
# checks first: can they do the required processes (coverage), is the profile about the need
# (dense similarity, lexical overlap), then certificates, distance, and past verdicts.
COLD_START_WEIGHTS: dict[str, float] = {
    "coverage": 0.30,
    "dense_scaled": 0.30,
    "dense_mean": 0.05,
    "bm25_norm": 0.15,
    "cert_match": 0.06,
    "iso9001": 0.03,
    "same_city": 0.04,
    "neighbour": 0.025,
    "tama": 0.01,
    "pair_accepts": 0.02,
    "pair_rejects": -0.05,
    "past_rejects": -0.005,
    "freshness": 0.005,
}


class ColdStartScorer:
    """A documented linear combination of features; the ranker used before enough decisions."""

    version = "cold-start-v1"

    def __init__(self, weights: dict[str, float] | None = None, feature_names: tuple[str, ...] = FEATURES) -> None:
        self.weights, self.feature_names = dict(weights or COLD_START_WEIGHTS), feature_names

    def fit(self, X: np.ndarray | None = None, y: np.ndarray | None = None) -> ColdStartScorer:
        unknown = set(self.weights) - set(self.feature_names)
        if unknown:
            raise ValueError(f"weights for unknown features: {sorted(unknown)}")
        self.coef_ = np.array([self.weights.get(n, 0.0) for n in self.feature_names], dtype=np.float64)
        return self

    def score(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "coef_"):
            self.fit()
        X = np.asarray(X, dtype=np.float64)
        # Repeated verdicts saturate: the 5th rejection says little more than the 2nd.
        idx = [self.feature_names.index(n) for n in ("pair_accepts", "pair_rejects", "past_rejects")
               if n in self.feature_names]
        X = X.copy()
        X[:, idx] = np.tanh(X[:, idx])
        return X @ self.coef_

    def contributions(self, x: np.ndarray) -> dict[str, float]:
        if not hasattr(self, "coef_"):
            self.fit()
        return {n: float(v * w) for n, v, w in zip(self.feature_names, x, self.coef_, strict=True) if w}

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "config.json").write_text(json.dumps(
            {"kind": "cold-start", "version": self.version, "weights": self.weights,
             "features": list(self.feature_names)}, ensure_ascii=False, indent=2))

    @classmethod
    def load(cls, directory: Path) -> ColdStartScorer:
        cfg = json.loads((directory / "config.json").read_text())
        return cls(cfg["weights"], tuple(cfg["features"])).fit()


def feature_matrix(rows: list[dict[str, float]], names: tuple[str, ...] = FEATURES) -> np.ndarray:
    return np.array([[r.get(n, 0.0) for n in names] for r in rows], dtype=np.float64).reshape(len(rows), len(names))

