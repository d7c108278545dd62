"""Scorers over the named edge features. Every scorer keeps one small contract:
``fit`` → self, ``score(X)`` → array, ``save``/``load`` to a directory (JSON, no pickle)."""

from __future__ import annotations

import json
import math
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
    from matcher.graph.features import complete

    rows = [complete(r) for r in rows]
    return np.array([[r.get(n, 0.0) for n in names] for r in rows], dtype=np.float64).reshape(len(rows), len(names))


def aligned(X: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """``X`` (columns in today's ``FEATURES`` order) as a model trained on ``names`` reads it: a
    version saved before a feature existed ignores it, one that knew a dropped feature sees 0."""
    X = np.asarray(X, dtype=np.float64)
    if names == FEATURES:
        return X
    index = {n: i for i, n in enumerate(FEATURES)}
    out = np.zeros((X.shape[0], len(names)))
    for j, n in enumerate(names):
        if n in index:
            out[:, j] = X[:, index[n]]
    return out



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
        return ((aligned(X, self.feature_names) - self.mean_) / self.scale_) @ self.coef_ + self.intercept_

    def contributions(self, x: np.ndarray) -> dict[str, float]:
        self._check()
        z = (aligned(np.asarray(x).reshape(1, -1), self.feature_names)[0] - self.mean_) / self.scale_
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


# Past verdicts (the firm's across every requester, and this pair's) say what earlier lists showed
# and how that went, not what suits a need: learned from the ranker's own past lists they feed
# back on themselves — a firm once accepted would be locked into the top and the better firms it
# hides would never be shown (the simulation measured exactly that: nDCG 0.84 → 0.58 after two
# rounds). They keep their documented cold-start weights, which demote a rejected pair mildly.
HISTORY = ("past_accepts", "past_rejects", "pair_accepts", "pair_rejects")


class ResidualRanker:
    """A logistic model that starts from the cold-start scorer and learns only what it misses.

    ``logit(x) = a·cold(x) + b + w·z(x)``, ``z`` the standardised features; ``score`` is
    ``sigmoid(logit)``, an estimated probability that a coordinator accepts. ``a`` and ``b``
    rescale the documented weights onto the decisions; ``w`` is the residual, held at zero by an
    L2 penalty ``l2·|w|²`` that the trainer chooses by cross-validation — with little evidence the
    penalty wins and the ranking *is* the cold-start ranking; with more, the residual grows only as
    far as it helps on held-out lists. The loss combines pointwise log-loss (calibrated scores for
    the 適合度 bands) with pairwise log-loss between accepted and rejected suggestions of one list
    (ranking, blind to how generous a coordinator is overall), in proportion ``mix`` (Sculley,
    "Combined regression and ranking", KDD 2010). Parameters are plain JSON.
    """

    kind = "residual"

    def __init__(self, l2: float = 1.0, mix: float = 0.5, feature_names: tuple[str, ...] = FEATURES,
                 cold: ColdStartScorer | None = None, version: str = "residual",
                 fixed: tuple[str, ...] = HISTORY) -> None:
        self.l2, self.mix, self.feature_names, self.version = l2, mix, feature_names, version
        self.cold = cold or ColdStartScorer(feature_names=feature_names).fit()
        self.fixed = tuple(n for n in fixed if n in feature_names)

    def fit(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None,
            groups: np.ndarray | None = None, start: np.ndarray | None = None,
            pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> ResidualRanker:
        """``start``: parameters to start from (a neighbouring penalty's fit: the trainer's path);
        ``pairs``: the (accepted, rejected, weight) index pairs, when the caller has them already."""
        from scipy.optimize import minimize

        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        w8 = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
        if len(set(y.tolist())) < 2:
            raise ValueError("decisions contain only one verdict (all accepts or all rejects): nothing to learn")
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 1e-9, std, 1.0)
        Z = (X - self.mean_) / self.scale_
        c = self.cold.score(X)
        pi, pj, pw = pairs if pairs is not None else pair_index(y, w8, np.zeros(len(y)) if groups is None
                                                                else np.asarray(groups))
        n_point, n_pair = w8.sum(), pw.sum()
        point_share = self.mix if n_pair > 0 else 1.0
        d = Z.shape[1]
        free = np.array([n not in self.fixed for n in self.feature_names])
        Z = Z * free  # a fixed feature keeps only its cold-start weight (no residual to learn)
        dc, dz = c[pi] - c[pj], Z[pi] - Z[pj]

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            a, b, w = theta[0], theta[1], theta[2:]
            s = a * c + Z @ w
            z = s + b
            # Pointwise: weighted log-loss, per unit of weight.
            p = _sigmoid(z)
            lp = np.sum(w8 * (np.logaddexp(0.0, z) - y * z)) / n_point
            g_z = w8 * (p - y) / n_point
            grad = np.r_[g_z @ c, g_z.sum(), Z.T @ g_z] * point_share
            total = point_share * lp
            if n_pair > 0:
                m = a * dc + dz @ w
                lq = np.sum(pw * np.logaddexp(0.0, -m)) / n_pair
                g_m = -pw * _sigmoid(-m) / n_pair
                grad = grad + (1 - point_share) * np.r_[g_m @ dc, 0.0, dz.T @ g_m]
                total += (1 - point_share) * lq
            # The residual alone is penalised; the rescaled cold-start score is the prior.
            total += self.l2 * float(w @ w) / max(n_point, 1.0)
            grad[2:] += 2 * self.l2 * w / max(n_point, 1.0)
            return total, grad

        base = float(np.clip(np.average(y, weights=w8), 1e-3, 1 - 1e-3))
        theta0 = np.r_[4.0, math.log(base / (1 - base)) - 4.0 * float(np.average(c, weights=w8)), np.zeros(d)]
        if start is not None and len(start) == len(theta0):
            theta0 = start
        res = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 500})
        self.theta_ = res.x.copy()
        self.a_, self.b_, self.w_ = float(res.x[0]), float(res.x[1]), res.x[2:].copy()
        return self

    def _check(self) -> None:
        if not hasattr(self, "w_"):
            raise RuntimeError("ResidualRanker is not fitted")

    def logit(self, X: np.ndarray) -> np.ndarray:
        """``X`` in today's ``FEATURES`` order (a version trained on other features aligns it)."""
        self._check()
        X = aligned(X, self.feature_names)
        return self.a_ * self.cold.score(X) + self.b_ + ((X - self.mean_) / self.scale_) @ self.w_

    def score(self, X: np.ndarray) -> np.ndarray:
        return _sigmoid(self.logit(X))

    def contributions(self, x: np.ndarray) -> dict[str, float]:
        """Each feature's share of the score, read in score units: the cold-start weight's part
        (rescaled) plus the residual's, times the slope of the sigmoid at this score."""
        self._check()
        slope = float(self.score(np.asarray(x).reshape(1, -1))[0])
        slope = slope * (1 - slope)
        x = aligned(np.asarray(x).reshape(1, -1), self.feature_names)[0]
        cold = self.cold.contributions(x)
        z = (x - self.mean_) / self.scale_
        return {n: slope * (self.a_ * cold.get(n, 0.0) + float(w * v))
                for n, w, v in zip(self.feature_names, self.w_, z, strict=True)}

    def save(self, directory: Path) -> None:
        self._check()
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "ranker.json").write_text(json.dumps({
            "kind": self.kind, "l2": self.l2, "mix": self.mix, "features": list(self.feature_names),
            "fixed": list(self.fixed),
            "cold_weights": self.cold.weights, "a": self.a_, "b": self.b_, "residual": self.w_.tolist(),
            "mean": self.mean_.tolist(), "scale": self.scale_.tolist()}, indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, directory: Path, version: str = "residual") -> ResidualRanker:
        cfg = json.loads((directory / "ranker.json").read_text())
        features = tuple(cfg["features"])
        r = cls(cfg["l2"], cfg["mix"], features, ColdStartScorer(cfg["cold_weights"], features).fit(), version,
                tuple(cfg.get("fixed", ())))
        r.a_, r.b_, r.w_ = float(cfg["a"]), float(cfg["b"]), np.array(cfg["residual"])
        r.mean_, r.scale_ = np.array(cfg["mean"]), np.array(cfg["scale"])
        return r


def pair_index(y: np.ndarray, w: np.ndarray, groups: np.ndarray,
                max_per_group: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(accepted, rejected, weight) index pairs within each list (at most ``max_per_group`` a list)."""
    pi, pj = [], []
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.diff(groups[order])) + 1
    for idx in np.split(order, bounds):
        pos, neg = idx[y[idx] == 1], idx[y[idx] == 0]
        if len(pos) == 0 or len(neg) == 0:
            continue
        a, b = np.repeat(pos, len(neg)), np.tile(neg, len(pos))
        pi.append(a[:max_per_group])
        pj.append(b[:max_per_group])
    if not pi:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    i, j = np.concatenate(pi), np.concatenate(pj)
    return i, j, (w[i] + w[j]) / 2
