"""Scorers over the named edge features. Every scorer keeps one small contract:
``fit`` → self, ``score(X)`` → array, ``save``/``load`` to a directory (JSON, no pickle)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

import numpy as np

from matcher.graph.features import FEATURES


class Scorer(Protocol):
    """What the graph needs of any scorer: a version name, scores, and per-feature contributions."""

    version: str

    def score(self, X: np.ndarray) -> np.ndarray: ...

    def contributions(self, x: np.ndarray) -> dict[str, float]: ...


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



def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


class LearnedRanker:
    """Logistic regression over standardised edge features, learned from coordinator decisions.

    ``method="pointwise"`` fits accept vs. reject per suggestion; ``"pairwise"`` fits the sign of
    the difference between an accepted and a rejected suggestion of the same query (RankNet-style
    with a linear scorer), which is blind to how generous a coordinator is overall. Parameters are
    plain JSON: a version directory can be read, diffed and reviewed.
    """

    def __init__(self, C: float = 1.0, method: str = "pointwise", feature_names: tuple[str, ...] = FEATURES) -> None:
        self.C, self.method, self.feature_names = C, method, feature_names

    def fit(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None,
            groups: np.ndarray | None = None) -> LearnedRanker:
        from sklearn.linear_model import LogisticRegression

        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)
        weight = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
        if len(set(y.tolist())) < 2:
            raise ValueError("decisions contain only one verdict (all accepts or all rejects): nothing to learn")
        self.mean_ = X.mean(axis=0)
        self.scale_ = np.where(X.std(axis=0) > 1e-9, X.std(axis=0), 1.0)
        Z = (X - self.mean_) / self.scale_
        if self.method == "pointwise":
            model = LogisticRegression(C=self.C, max_iter=2000)
            model.fit(Z, y, sample_weight=weight)
            self.coef_, self.intercept_ = model.coef_[0].copy(), float(model.intercept_[0])
        elif self.method == "pairwise":
            D, w = _pairs(Z, y, weight, groups if groups is not None else np.zeros(len(y)))
            if len(D) == 0:
                raise ValueError("no query has both an accepted and a rejected suggestion: no pairs")
            model = LogisticRegression(C=self.C, fit_intercept=False, max_iter=2000)
            model.fit(np.vstack([D, -D]), np.r_[np.ones(len(D)), np.zeros(len(D))], sample_weight=np.r_[w, w])
            self.coef_, self.intercept_ = model.coef_[0].copy(), 0.0
        else:
            raise ValueError(f"unknown method {self.method!r}")
        return self

    def _check(self) -> None:
        if not hasattr(self, "coef_"):
            raise RuntimeError("LearnedRanker is not fitted")

    def score(self, X: np.ndarray) -> np.ndarray:
        self._check()
        return ((np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_) @ self.coef_ + self.intercept_

    def contributions(self, x: np.ndarray) -> dict[str, float]:
        self._check()
        z = (np.asarray(x, dtype=np.float64) - self.mean_) / self.scale_
        return {n: float(c * v) for n, c, v in zip(self.feature_names, self.coef_, z, strict=True)}

    def save(self, directory: Path) -> None:
        self._check()
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "ranker.json").write_text(json.dumps({
            "kind": "learned", "method": self.method, "C": self.C, "features": list(self.feature_names),
            "mean": self.mean_.tolist(), "scale": self.scale_.tolist(), "coef": self.coef_.tolist(),
            "intercept": self.intercept_}, indent=2))

    @classmethod
    def load(cls, directory: Path) -> LearnedRanker:
        cfg = json.loads((directory / "ranker.json").read_text())
        r = cls(cfg["C"], cfg["method"], tuple(cfg["features"]))
        r.mean_, r.scale_ = np.array(cfg["mean"]), np.array(cfg["scale"])
        r.coef_, r.intercept_ = np.array(cfg["coef"]), float(cfg["intercept"])
        return r


def _pairs(Z: np.ndarray, y: np.ndarray, w: np.ndarray, groups: np.ndarray, max_per_group: int = 400):
    rows, weights = [], []
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        pos, neg = idx[y[idx] == 1], idx[y[idx] == 0]
        for i in pos:
            for j in neg[: max(1, max_per_group // max(len(pos), 1))]:
                rows.append(Z[i] - Z[j])
                weights.append((w[i] + w[j]) / 2)
    return (np.array(rows), np.array(weights)) if rows else (np.zeros((0, Z.shape[1])), np.zeros(0))


class BlendedRanker:
    """Cold-start scorer blended with a learned ranker by how much evidence there is.

    Below ``min_decisions`` the cold-start scorer alone ranks; at ``full_decisions`` and above the
    learned ranker alone; in between, linearly. The learned logit goes through a sigmoid so both
    parts live on a 0–1 scale.
    """

    def __init__(self, learned: LearnedRanker, alpha: float, version: str,
                 cold: ColdStartScorer | None = None) -> None:
        self.learned, self.alpha, self.version = learned, alpha, version
        self.cold = cold or ColdStartScorer().fit()

    def fit(self, *_a, **_k) -> BlendedRanker:
        return self

    def score(self, X: np.ndarray) -> np.ndarray:
        return (1 - self.alpha) * self.cold.score(X) + self.alpha * _sigmoid(self.learned.score(X))

    def contributions(self, x: np.ndarray) -> dict[str, float]:
        cold = self.cold.contributions(x)
        learned = self.learned.contributions(x)
        return {n: (1 - self.alpha) * cold.get(n, 0.0) + self.alpha * learned.get(n, 0.0) * 0.25
                for n in self.learned.feature_names}


def blend_weight(n_decisions: int, min_decisions: int, full_decisions: int) -> float:
    if n_decisions < min_decisions:
        return 0.0
    return float(min(1.0, (n_decisions - min_decisions) / max(full_decisions - min_decisions, 1)))
