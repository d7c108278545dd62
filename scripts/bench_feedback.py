"""Feedback simulation: a synthetic coordinator with a hidden preference teaches the ranker.

The coordinator prefers partners in the requester's own city, holding ISO9001, with 20–300
employees, covering ≥ 80 % of the required processes (one point each; accepts at ≥ 3 points,
with 10 % noise). They read each shortlist from the top: rank r is examined with probability
r^-0.7, so low ranks are judged less often (the position bias the trainer corrects).
Each round: shortlist every demo need (k=10) with the active ranker → decisions → `train`
(with its promotion gate) → next round. The table is the hidden-preference nDCG@10 per round
(graded gain 2^points − 1, ideal = best 10 of the retrieved candidates); round 0 is cold start.
Usage: python scripts/bench_feedback.py [--rounds 6] [--out test-output/feedback_curve.png]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def hidden_points(ctx, query, party) -> int:
    from matcher.graph.features import covered_processes

    cov = len(covered_processes(query, party)) / len(query.required) if query.required else 0.0
    requester_city = ctx.orgs[query.org_id].city if query.org_id in ctx.orgs else None
    return (int(party.city is not None and party.city == requester_city) + int("ISO9001" in party.certifications)
            + int(party.employees is not None and 20 <= party.employees <= 300) + int(cov >= 0.8))


def hidden_ndcg(ctx, query, shortlist_ids: list[int], pool_ids: list[int], k: int = 10) -> float:
    gain = {i: 2 ** hidden_points(ctx, query, ctx.org_parties[i]) - 1 for i in pool_ids}
    dcg = sum(gain.get(i, 0) / math.log2(r + 1) for r, i in enumerate(shortlist_ids[:k], start=1))
    ideal = sorted(gain.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(r + 1) for r, g in enumerate(ideal, start=1))
    return dcg / idcg if idcg else 0.0


def build_demo(data_dir: Path, embedder, database_url: str | None = None):
    from matcher.config import Settings
    from matcher.exchange.catalog import import_file
    from matcher.search.embed import CachedEmbedder, EmbeddingCache
    from matcher.search.indexing import sync_indexes
    from matcher.store.db import get_engine, upgrade

    settings = Settings(data_dir=data_dir, database_url=database_url)
    settings.ensure_dirs()
    engine = get_engine(settings.sqlalchemy_url)
    upgrade(engine)
    corpora = ROOT / "corpora" / "demo"
    for name in ("organizations", "needs", "seeds"):
        import_file(engine, corpora / f"{name}.csv", name)
    cached = CachedEmbedder(embedder, EmbeddingCache(data_dir / "cache.sqlite"))
    sync_indexes(engine, settings, cached)
    return engine, settings, cached


def simulate(engine, settings, embedder, rounds: int = 6, seed: int = 7, k: int = 10) -> list[dict]:
    from matcher.learn.decisions import record_decision
    from matcher.learn.training import train
    from matcher.services.context import load_context
    from matcher.services.shortlists import query_vector, shortlist_need

    rng = random.Random(seed)
    clock = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    curve = []
    for rnd in range(rounds + 1):
        ctx = load_context(engine, settings, embedder)
        scores, n_dec = [], 0
        for need in sorted(ctx.needs.values(), key=lambda n: n.id):
            query = ctx.need_party(need)
            pool = [e.candidate.id for e in ctx.edges.rank(query, "organization", query_vector(ctx, query)).edges]
            out = shortlist_need(ctx, need.id, "partners", k, store=True)
            ids = [e.candidate.id for e in out.candidates]
            scores.append(hidden_ndcg(ctx, query, ids, pool, k))
            if rnd == rounds:
                continue  # the last round only measures
            for e in out.candidates:
                if rng.random() > (e.rank or 1) ** -0.7:
                    continue  # not examined
                pts = hidden_points(ctx, query, e.candidate)
                accept = (pts >= 3) != (rng.random() < 0.1)
                clock += timedelta(minutes=3)
                record_decision(engine, e.suggestion_id, "accept" if accept else "reject",
                                None if accept else "その他", "sim-coordinator")
                n_dec += 1
        row = {"round": rnd, "ndcg@10": round(sum(scores) / len(scores), 4), "model": ctx.model_version,
               "decisions_this_round": n_dec}
        if rnd < rounds:
            t = time.perf_counter()
            result = train(engine, settings)
            row["train_status"] = result["status"]
            row["train_seconds"] = round(time.perf_counter() - t, 2)
        curve.append(row)
        clock += timedelta(days=7)
    return curve


def plot(curve: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([r["round"] for r in curve], [r["ndcg@10"] for r in curve], marker="o", label="active ranker")
    ax.axhline(curve[0]["ndcg@10"], color="grey", linestyle="--", label="cold start")
    ax.set_xlabel("feedback round")
    ax.set_ylabel("hidden-preference nDCG@10")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def train_timing(n: int) -> float:
    """Seconds to fit the learned ranker on n synthetic decisions (the trainer's hot loop)."""
    import numpy as np

    from matcher.graph.features import FEATURES
    from matcher.graph.scorers import LearnedRanker

    rng = np.random.default_rng(0)
    X = rng.random((n, len(FEATURES)))
    y = (X[:, 0] + 0.3 * rng.standard_normal(n) > 0.5).astype(int)
    groups = np.arange(n) // 10
    t = time.perf_counter()
    for method in ("pointwise", "pairwise"):
        LearnedRanker(method=method).fit(X, y, np.ones(n), groups)
    return time.perf_counter() - t


def flood(engine, n: int, seed: int = 0) -> None:
    """n suggestions with random feature snapshots and one decision each, bulk-inserted."""

    import numpy as np
    from sqlalchemy import insert

    from matcher.graph.features import FEATURES
    from matcher.store.tables import Decision, Suggestion

    rng = np.random.default_rng(seed)
    X = rng.random((n, len(FEATURES)))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    sugg = [{"id": i + 1, "run_id": f"flood{i // 100}", "query_type": "need", "query_id": i // 10,
             "candidate_type": "organization", "candidate_id": i % 500 + 1, "kind": "partner", "rank": i % 10 + 1,
             "score": 0.0, "model_version": "cold-start-v1", "explanation": "", "created_at": start,
             "features": dict(zip(FEATURES, X[i].round(4).tolist(), strict=True))} for i in range(n)]
    decs = [{"suggestion_id": i + 1, "verdict": "accept" if X[i, 0] + 0.2 * rng.standard_normal() > 0.5 else "reject",
             "decided_at": start + timedelta(minutes=i), "created_at": start} for i in range(n)]
    with engine.begin() as conn:
        for a in range(0, n, 5000):
            conn.execute(insert(Suggestion), sugg[a : a + 5000])
            conn.execute(insert(Decision), decs[a : a + 5000])


def flood_timing(n: int) -> tuple[float, str]:
    """Seconds for `train` (read decisions from the store, IPS, select, fit, gate) after n decisions."""
    from matcher.config import Settings
    from matcher.learn.training import train
    from matcher.store.db import get_engine, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        settings.ensure_dirs()
        engine = get_engine(settings.sqlalchemy_url)
        upgrade(engine)
        flood(engine, n)
        t = time.perf_counter()
        result = train(engine, settings)
        return time.perf_counter() - t, result["status"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--out", type=Path, default=ROOT / "test-output" / "feedback_curve.png")
    args = ap.parse_args()
    from matcher.config import Settings
    from matcher.search.embed import get_embedder

    embedder = get_embedder(Settings(), cached=False)
    with tempfile.TemporaryDirectory() as tmp:
        engine, settings, cached = build_demo(Path(tmp), embedder)
        curve = simulate(engine, settings, cached, args.rounds)
    print(f"\n{'round':>5} {'nDCG@10':>8} {'×cold':>6} {'ranker':>16} {'decisions':>9} {'gate':>10}")
    for r in curve:
        print(f"{r['round']:5d} {r['ndcg@10']:8.4f} {r['ndcg@10'] / curve[0]['ndcg@10']:6.2f} {r['model']:>16} "
              f"{r['decisions_this_round']:9d} {r.get('train_status', ''):>10}")
    plot(curve, args.out)
    print(f"plot: {args.out}")
    print(f"\n{'decisions':>9} {'fit only s':>10} {'matcher train s':>15} {'status':>10}")
    for n in (1_000, 10_000, 100_000):
        secs, status = flood_timing(n)
        print(f"{n:9d} {train_timing(n):10.2f} {secs:15.2f} {status:>10}")
    print("target: training on 10,000 decisions ≤ 5 s")


if __name__ == "__main__":
    main()
