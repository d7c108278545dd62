"""Named features of one (query, candidate) edge of the scored graph.

Raw, monotone signals (similarities, coverage, certifications held, log size, distance class,
past decisions) so that a learned ranker can pick up preferences such as "same city" or
"ISO9001" directly; the cold-start scorer combines the same features with fixed weights.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np

from matcher.dates import as_utc
from matcher.graph.model import History, Party
from matcher.search.retrieve import Hit

FEATURES: tuple[str, ...] = (
    "dense_max", "dense_mean", "dense_scaled", "bm25", "bm25_norm", "rrf", "dense_rank_inv", "bm25_rank_inv",
    "coverage", "covers_all", "n_covered", "n_required", "cert_count", "iso9001", "cert_match",
    "log_employees", "employees_known", "small_business", "sme", "same_city", "neighbour", "tama", "elsewhere",
    "past_accepts", "past_rejects", "pair_accepts", "pair_rejects", "freshness",
)

# Hino's neighbouring cities, and the Tama area (多摩地域) for the wider distance class.
NEIGHBOURS: dict[str, set[str]] = {
    "日野市": {"八王子市", "立川市", "昭島市", "国立市", "府中市", "多摩市"},
}
TAMA = {
    "八王子市", "立川市", "武蔵野市", "三鷹市", "青梅市", "府中市", "昭島市", "調布市", "町田市", "小金井市",
    "小平市", "日野市", "東村山市", "国分寺市", "国立市", "福生市", "狛江市", "東大和市", "清瀬市",
    "東久留米市", "武蔵村山市", "多摩市", "稲城市", "羽村市", "あきる野市", "西東京市", "瑞穂町",
    "日の出町", "檜原村", "奥多摩町",
}
HOME_CITY = "日野市"
CERT_PATTERN = re.compile(r"ISO\s?\d{4,5}|JIS\s?Q\s?\d{4}|IATF\s?16949|エコアクション21", re.IGNORECASE)


def distance_class(a: str | None, b: str | None) -> str:
    a = a or HOME_CITY
    if not b:
        return "elsewhere"
    if a == b:
        return "same_city"
    if b in NEIGHBOURS.get(a, set()) or a in NEIGHBOURS.get(b, set()):
        return "neighbour"
    if a in TAMA and b in TAMA:
        return "tama"
    return "elsewhere"


@lru_cache(maxsize=4096)
def _norm_cert(c: str) -> str:
    return re.sub(r"\s+", "", c).upper()


@lru_cache(maxsize=1024)
def certs_wanted(text: str) -> frozenset[str]:
    """Certifications a text asks for (cached: a query's text is read once per candidate)."""
    return frozenset(_norm_cert(m) for m in CERT_PATTERN.findall(text))


def edge_features(query: Party, cand: Party, hit: Hit, history: History, bm25_top: float,
                  now: datetime | None = None, covered: tuple[str, ...] | None = None,
                  dist: str | None = None) -> dict[str, float]:
    """The features of one edge; ``covered`` and ``dist`` may be passed when the caller already
    has them for the edge."""
    return rounded_features([feature_values(query, cand, hit, history, bm25_top, now, covered, dist)])[0]


def rounded_features(rows: list[list[float]]) -> list[dict[str, float]]:
    """Feature rows (in ``FEATURES`` order) as dicts rounded to 6 decimals, so stored features
    read the same everywhere. One numpy call for all edges of a query: Python's ``round`` per
    value cost more than computing the features."""
    m = np.round(np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURES)), 6)
    return [dict(zip(FEATURES, r, strict=True)) for r in m.tolist()]


def feature_values(query: Party, cand: Party, hit: Hit, history: History, bm25_top: float,
                   now: datetime | None = None, covered: tuple[str, ...] | None = None,
                   dist: str | None = None) -> list[float]:
    """Unrounded feature values of one edge, in ``FEATURES`` order."""
    now = now or datetime.now(UTC)
    held = {_norm_cert(c) for c in cand.certifications}
    wanted = certs_wanted(query.text)
    covered = covered_processes(query, cand) if covered is None else covered
    dist = distance_class(query.city, cand.city) if dist is None else dist
    updated = as_utc(cand.updated_at) if cand.updated_at is not None else None
    age_days = (now - updated).days if updated else 365.0
    key = (query.org_id or -1, cand.id)
    f = {
        "dense_max": hit.dense_max,
        "dense_mean": hit.dense_mean,
        # e5 cosines crowd into 0.7–0.95; stretch that band to 0–1 so it weighs like coverage.
        "dense_scaled": min(1.0, max(0.0, (hit.dense_max - 0.70) / 0.25)),
        "bm25": hit.bm25_max,
        "bm25_norm": hit.bm25_max / bm25_top if bm25_top > 0 else 0.0,
        "rrf": hit.rrf,
        "dense_rank_inv": 1.0 / hit.dense_rank if hit.dense_rank else 0.0,
        "bm25_rank_inv": 1.0 / hit.bm25_rank if hit.bm25_rank else 0.0,
        "coverage": len(covered) / len(query.required) if query.required else 0.0,
        # One firm can do every required process alone (単独で対応可能): what a coordinator
        # checks before anything else, and not a straight line in the share covered.
        "covers_all": 1.0 if query.required and len(covered) == len(query.required) else 0.0,
        "n_covered": float(len(covered)),
        "n_required": float(len(query.required)),
        "cert_count": float(len(held)),
        "iso9001": 1.0 if "ISO9001" in held else 0.0,
        "cert_match": len(wanted & held) / len(wanted) if wanted else 0.0,
        "log_employees": math.log1p(cand.employees) if cand.employees else 0.0,
        "employees_known": 1.0 if cand.employees is not None else 0.0,
        # The legal size classes for manufacturing (中小企業基本法): 小規模 ≤ 20, 中小 ≤ 300 employees.
        "small_business": 1.0 if cand.employees is not None and cand.employees <= 20 else 0.0,
        "sme": 1.0 if cand.employees is not None and cand.employees <= 300 else 0.0,
        "same_city": 1.0 if dist == "same_city" else 0.0,
        "neighbour": 1.0 if dist == "neighbour" else 0.0,
        "tama": 1.0 if dist == "tama" else 0.0,
        "elsewhere": 1.0 if dist == "elsewhere" else 0.0,
        "past_accepts": float(history.accepts.get(cand.id, 0)),
        "past_rejects": float(history.rejects.get(cand.id, 0)),
        "pair_accepts": float(history.pair_accepts.get(key, 0)),
        "pair_rejects": float(history.pair_rejects.get(key, 0)),
        "freshness": math.exp(-max(age_days, 0) / 365.0),
    }
    return [float(f[name]) for name in FEATURES]


# Features added after suggestions were first stored, derived from what older snapshots hold, so
# a decision made before a feature existed still trains on its true value.
DERIVED: dict[str, Callable[[dict[str, float]], float]] = {
    "covers_all": lambda f: 1.0 if f.get("n_required", 0) > 0 and f.get("coverage", 0.0) >= 1.0 - 1e-9 else 0.0,
}


def complete(features: dict[str, float]) -> dict[str, float]:
    """A stored feature snapshot with every current feature (derived ones filled in)."""
    missing = [n for n in DERIVED if n not in features]
    return {**features, **{n: DERIVED[n](features) for n in missing}} if missing else features


def covered_processes(query: Party, cand: Party) -> tuple[str, ...]:
    return tuple(p for p in query.required if p in cand.processes)
