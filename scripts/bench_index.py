"""FAISS index benchmark: the exhaustive index vs. HNSW at 10k and 100k random unit vectors, d=384.

The exhaustive index ("flat") scans bfloat16 codes in one shard per core and re-scores in float32;
the baseline is a plain float32 matrix-vector product in numpy over the same vectors, measured in
the same run, and recall@10 is against that exact float32 ranking. Uniform random vectors are the
hardest case for HNSW (no cluster structure), so its recall here is a lower bound for real
embeddings; efSearch is swept to show the latency/recall trade-off. Prints build time, memory
(vector store + index), single-query p50 and p95 (p95 as min / median / max over ``--repeats``
passes over the queries).
Usage: python scripts/bench_index.py [--sizes 10000 100000] [--queries 200] [--repeats 5]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.search.index import VectorIndex  # noqa: E402
from scripts.benchlib import cpu_model, spread  # noqa: E402


def unit(n: int, d: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def exact_top10(data: np.ndarray, q: np.ndarray) -> np.ndarray:
    scores = data @ q
    top = np.argpartition(-scores, 10)[:10]
    return top[np.lexsort((top, -scores[top]))]


def main() -> None:
    import os

    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--ef", type=int, nargs="+", default=[64, 256, 1024], help="HNSW efSearch values")
    args = ap.parse_args()
    print(f"CPU: {cpu_model()}; cores: {os.cpu_count()}; {args.repeats} passes × {args.queries} queries; "
          "p95 as min / median / max over passes")
    print(f"{'n':>7} {'index':13} {'build s':>8} {'MB':>7} {'p50 ms':>7} {'p95 ms':>22} {'recall@10':>9} {'p95 ×numpy':>10}")
    for n in args.sizes:
        data = unit(n, args.dim, 0)
        queries = unit(args.queries, args.dim, 1)
        results = {}
        hnsw = None
        engines = [("numpy f32", None, 0), ("flat", n + 1, 0)] + [(f"hnsw ef{e}", 0, e) for e in args.ef]
        for kind, threshold, ef in engines:
            build, mb = 0.0, data.nbytes / 2**20
            if kind == "numpy f32":
                search = lambda q, data=data: exact_top10(data, q)  # noqa: E731
            else:
                if kind == "flat" or hnsw is None:
                    idx = VectorIndex(dim=args.dim, hnsw_threshold=threshold)
                    t = time.perf_counter()
                    idx.add(np.arange(n), data)
                    build = time.perf_counter() - t
                    hnsw = idx if kind != "flat" else None
                else:
                    idx = hnsw  # same graph, only efSearch changes: build time is shared
                if ef:
                    idx.set_ef_search(ef)
                mb = idx.memory_bytes() / 2**20
                search = lambda q, idx=idx: idx.search(q[None], 10)[1][0]  # noqa: E731
            p50s, p95s, found = [], [], []
            for rep in range(args.repeats):
                lat = []
                for q in queries:
                    t = time.perf_counter()
                    ids = search(q)
                    lat.append(1000 * (time.perf_counter() - t))
                    if rep == 0:
                        found.append(ids)
                p50s.append(np.percentile(lat, 50))
                p95s.append(np.percentile(lat, 95))
            results[kind] = (build, mb, float(np.median(p50s)), p95s, found)
        exact = results["numpy f32"][4]
        base = float(np.median(results["numpy f32"][3]))
        for kind, (build, mb, p50, p95, found) in results.items():
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, found, strict=True)])
            print(f"{n:7d} {kind:13} {build:8.2f} {mb:7.1f} {p50:7.2f} "
                  f"{spread(p95, 2):>22} {recall:9.3f} {np.median(p95) / base:10.2f}")
    print(f"peak RSS {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
