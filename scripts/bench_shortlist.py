"""Shortlist latency at 1k / 10k / 100k indexed documents, beside the FAISS search alone.

Documents are synthetic (random unit vectors, lemma lists drawn from a manufacturing vocabulary,
three documents per organisation) because only the scale matters here; the query is a real
Japanese need, embedded on every call. One shortlist = query embedding + hybrid retrieval (200
owners) + features + cold-start scoring + constraints + explanations for the top 10 (no DB write).
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

VOCAB = ["切削", "研削", "旋削", "板金", "溶接", "めっき", "熱処理", "塗装", "樹脂", "成形", "基板", "実装", "検査", "試作", "金型", "プレス", "鋳造", "鍛造", "ステンレス", "アルミニウム", "チタン", "真鍮", "精密", "部品", "装置", "半導体", "医療", "航空", "自動車", "筐体", "小ロット", "量産", "公差", "研磨", "鏡面", "治具", "設計", "組立", "測定", "品質", "短納期", "一貫", "表面", "処理", "陽極", "酸化", "射出", "順送"]
PROCS = ["切削", "研削", "板金", "溶接", "めっき", "熱処理", "塗装", "樹脂成形", "基板実装", "検査"]
QUERIES = ["半導体製造装置向けステンレス部品の切削・溶接・研削と検査を一貫で依頼したい",
           "医療機器用チタン部品の5軸加工と鏡面仕上げの試作", "制御盤筐体の板金・溶接・粉体塗装を月50台",
           "IoT端末の基板実装と樹脂筐体の試作", "歯車の浸炭焼入れ後の歯研を一括で任せたい"]


def build_context(n_docs: int, embedder):
    from matcher.graph.constraints import ConstraintSet
    from matcher.graph.edges import EdgeBuilder
    from matcher.graph.model import History, Party
    from matcher.graph.scorers import ColdStartScorer
    from matcher.search.index import BM25Index, VectorIndex
    from matcher.search.retrieve import DocMeta, Retriever

    rng = random.Random(0)
    vecs = np.random.default_rng(0).standard_normal((n_docs, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.arange(1, n_docs + 1)
    vectors = VectorIndex(dim=384)
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
                       ConstraintSet(), History(), ColdStartScorer().fit())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--queries", type=int, default=50)
    args = ap.parse_args()
    from matcher.config import Settings
    from matcher.graph.model import Party
    from matcher.search.embed import get_embedder

    embedder = get_embedder(Settings(), cached=False)
    print(f"{'docs':>7} {'search p50':>10} {'search p95':>10} {'shortlist p50':>13} {'shortlist p95':>13} {'p95 ratio':>9}")
    for n in args.sizes:
        edges = build_context(n, embedder)
        search, full = [], []
        for i in range(args.queries + 3):
            text = QUERIES[i % len(QUERIES)] + ("" if i < len(QUERIES) else f" 案件{i}")
            query = Party(type="need", id=i, text=text, city="日野市", required=("切削", "研削", "検査"))
            t = time.perf_counter()
            qvec = embedder.encode([text], "query")[0]
            ranked = edges.rank(query, "organization", qvec)
            _ = [edges.explain(e) for e in ranked.edges[:10]]
            full_ms = 1000 * (time.perf_counter() - t)
            t = time.perf_counter()
            edges.retriever.vectors.search(qvec[None, :], 200)
            search_ms = 1000 * (time.perf_counter() - t)
            if i >= 3:  # warm-up
                full.append(full_ms)
                search.append(search_ms)
        s50, s95, f50, f95 = (np.percentile(search, 50), np.percentile(search, 95),
                              np.percentile(full, 50), np.percentile(full, 95))
        print(f"{n:7d} {s50:10.2f} {s95:10.2f} {f50:13.2f} {f95:13.2f} {f95 / s95:9.1f}")
    print("target: shortlist p95 ≤ 50 ms at 100k documents")


if __name__ == "__main__":
    main()
