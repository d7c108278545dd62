"""FAISS index benchmark: Flat (exact) vs. HNSW at 10k and 100k random unit vectors, d=384.

Uniform random vectors are the hardest case for HNSW (no cluster structure), so recall here is
a lower bound for real embeddings. efSearch is swept to show the latency/recall trade-off.
Prints build time, memory (vector store + index), p50/p95 single-query latency and recall@10
against the exact search of the same run.
Usage: python scripts/bench_index.py [--sizes 10000 100000] [--queries 200]
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


def unit(n: int, d: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def index_bytes(idx: VectorIndex) -> int:
    import faiss

    return int(faiss.serialize_index(idx._faiss).nbytes) + idx._vecs.nbytes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--ef", type=int, nargs="+", default=[64, 256, 1024], help="HNSW efSearch values")
    args = ap.parse_args()
    print(f"{'n':>7} {'index':8} {'build s':>8} {'MB':>7} {'p50 ms':>7} {'p95 ms':>7} {'recall@10':>9} {'p95 ×flat':>9}")
    for n in args.sizes:
        data = unit(n, args.dim, 0)
        queries = unit(args.queries, args.dim, 1)
        results = {}
        hnsw = None
        for kind, threshold, ef in [("flat", n + 1, 0)] + [(f"hnsw{e}", 0, e) for e in args.ef]:
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
            lat = []
            found = []
            for q in queries:
                t = time.perf_counter()
                _, ids = idx.search(q[None], 10)
                lat.append(1000 * (time.perf_counter() - t))
                found.append(ids[0])
            results[kind] = (build, index_bytes(idx) / 2**20, np.percentile(lat, 50), np.percentile(lat, 95), found)
        exact = results["flat"][4]
        for kind, (build, mb, p50, p95, found) in results.items():
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, found, strict=True)])
            print(f"{n:7d} {kind:8} {build:8.2f} {mb:7.1f} {p50:7.2f} {p95:7.2f} {recall:9.3f} "
                  f"{p95 / results['flat'][3]:9.2f}")
    print(f"peak RSS {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
