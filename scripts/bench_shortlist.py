"""Shortlist latency at 1k / 10k / 100k indexed documents, beside the FAISS search alone.

Documents are synthetic (random unit vectors, lemma lists drawn from a manufacturing vocabulary,
three documents per organisation) because only the scale matters here; the query is a real
Japanese need, embedded on every call. One shortlist is the service's ``build_shortlist``: query
embedding + hybrid retrieval (200 owners) + constraints + features + cold-start scoring +
explanations for the top 10 + past decisions read and ten suggestions written to SQLite.
Usage: python scripts/bench_shortlist.py [--sizes 1000 10000 100000] [--queries 50]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.benchlib import cpu_model, spread  # noqa: E402

VOCAB = ["切削", "研削", "旋削", "板金", "溶接", "めっき", "熱処理", "塗装", "樹脂", "成形", "基板", "実装", "検査", "試作", "金型", "プレス", "鋳造", "鍛造", "ステンレス", "アルミニウム", "チタン", "真鍮", "精密", "部品", "装置", "半導体", "医療", "航空", "自動車", "筐体", "小ロット", "量産", "公差", "研磨", "鏡面", "治具", "設計", "組立", "測定", "品質", "短納期", "一貫", "表面", "処理", "陽極", "酸化", "射出", "順送"]
PROCS = ["切削", "研削", "板金", "溶接", "めっき", "熱処理", "塗装", "樹脂成形", "基板実装", "検査"]
QUERIES = ["半導体製造装置向けステンレス部品の切削・溶接・研削と検査を一貫で依頼したい",
           "医療機器用チタン部品の5軸加工と鏡面仕上げの試作", "制御盤筐体の板金・溶接・粉体塗装を月50台",
           "IoT端末の基板実装と樹脂筐体の試作", "歯車の浸炭焼入れ後の歯研を一括で任せたい"]


def build_context(n_docs: int, embedder):
    from matcher.graph.constraints import ConstraintSet
    from matcher.graph.edges import EdgeBuilder
    from matcher.graph.model import Party
    from matcher.graph.scorers import ColdStartScorer
    from matcher.search.index import BM25Index, VectorIndex
    from matcher.search.retrieve import DocMeta, Retriever

    rng = random.Random(0)
    vecs = np.random.default_rng(0).standard_normal((n_docs, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.arange(1, n_docs + 1)
    from matcher.config import Settings

    vectors = VectorIndex(dim=384, hnsw_threshold=Settings().hnsw_threshold)  # as the service builds it
    vectors.add(ids, vecs)
    docs = [[rng.choice(VOCAB) for _ in range(rng.randint(15, 40))] for _ in ids]
    bm25 = BM25Index()
    bm25.add(ids, docs)
    meta = {int(i): DocMeta("organization", int((i - 1) // 3) + 1, "profile") for i in ids}
    n_orgs = (n_docs + 2) // 3
    cities = ["日野市", "八王子市", "町田市", "川崎市"]
    parties = {}
    for o in range(1, n_orgs + 1):
        parties[o] = Party(type="organization", id=o, external_id=f"B{o}", name=f"ベンチ{o}工業", org_id=o,
                           city=rng.choice(cities), employees=rng.randint(3, 300),
                           certifications=("ISO9001",) if rng.random() < 0.5 else (),
                           processes=tuple(rng.sample(PROCS, 3)))
    doc_text = {int(i): "".join(d) for i, d in zip(ids, docs, strict=True)}
    return EdgeBuilder(Retriever(vectors, bm25, meta), {"organization": parties, "seed": {}}, doc_text,
                       ConstraintSet(), {}, ColdStartScorer().fit())


STAGES = ("embed", "retrieve", "constraints", "features", "score", "explain", "store")


def one_run(ctx, n_queries: int) -> dict[str, list[float]]:
    """Per-query milliseconds of each stage (and the total, and FAISS alone) for one pass of the
    service's own ``build_shortlist`` (stored, so the store stage is real)."""
    from matcher.graph.model import Party
    from matcher.services.shortlists import build_shortlist
    from matcher.text.terms import nouns

    out: dict[str, list[float]] = {k: [] for k in (*STAGES, "total", "faiss")}
    for i in range(n_queries + 3):
        text = QUERIES[i % len(QUERIES)] + ("" if i < len(QUERIES) else f" 案件{i}")
        query = Party(type="need", id=i, text=text, city="日野市", required=("切削", "研削", "検査"))
        timings: dict[str, float] = {}
        nouns.cache_clear()  # explanations measured cold: no candidate text tokenised before
        t0 = time.perf_counter()
        shortlist = build_shortlist(ctx, query, "partners", 10, timings=timings)
        total = time.perf_counter() - t0
        assert len(shortlist.candidates) == 10 and all(e.suggestion_id for e in shortlist.candidates)
        qvec = ctx.embedder.encode([text], "query")[0]
        t = time.perf_counter()
        ctx.edges.retriever.vectors.search(qvec[None, :], 200)
        faiss_ms = 1000 * (time.perf_counter() - t)
        if i >= 3:  # warm-up
            for k in STAGES:
                out[k].append(1000 * timings.get(k, 0.0))
            out["total"].append(1000 * total)
            out["faiss"].append(faiss_ms)
    return out


def main() -> None:
    import os
    import tempfile

    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    from matcher.config import Settings
    from matcher.search.embed import get_embedder
    from matcher.services.context import MatchContext
    from matcher.store.db import get_engine, upgrade

    settings = Settings()
    embedder = get_embedder(settings, cached=False)
    tmp = tempfile.mkdtemp()
    engine = get_engine(f"sqlite:///{tmp}/bench.sqlite")
    upgrade(engine)
    print(f"CPU: {cpu_model()}; cores: {os.cpu_count()}; threads: {settings.threads or os.cpu_count()}; "
          f"embedder: {embedder.backend}, queries {embedder.quantize}, documents {embedder.passage_quantize}; "
          f"{args.repeats} runs × {args.queries} queries")
    print("per-stage p50 ms (median of runs); total p95 ms as min / median / max over runs")
    head = f"{'docs':>7} " + " ".join(f"{k:>9}" for k in STAGES) + f" {'total p95':>22} {'faiss+emb p95':>13} {'overhead':>8}"
    print(head)
    for n in args.sizes:
        ctx = MatchContext(settings, engine, embedder, orgs={}, seeds={}, needs={}, people={}, edges=build_context(n, embedder))
        runs = [one_run(ctx, args.queries) for _ in range(args.repeats)]
        stage50 = {k: float(np.median([np.percentile(r[k], 50) for r in runs])) for k in STAGES}
        p95 = [float(np.percentile(r["total"], 95)) for r in runs]
        base = [float(np.percentile(np.array(r["faiss"]) + np.array(r["embed"]), 95)) for r in runs]
        med_base = float(np.median(base))
        print(f"{n:7d} " + " ".join(f"{stage50[k]:9.2f}" for k in STAGES)
              + f" {spread(p95):>22} {med_base:13.2f} {np.median(p95) / med_base:8.2f}×")
    print("target: shortlist p95 ≤ 50 ms at 100k documents (query embedding included)")


if __name__ == "__main__":
    main()
