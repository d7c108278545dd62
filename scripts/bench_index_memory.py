"""Memory of N search workers on one machine: memory-mapped index versions vs. private copies.

One index version of ``--docs`` documents is written as the product writes it (one segment:
float32 vectors, bfloat16 scan shards, bm25s's saved matrices). ``--workers`` processes then each
open it and answer dense and BM25 queries, and all of them are measured while alive at the same
time from ``/proc/<pid>/smaps_rollup``: RSS (what each process touches), PSS (its fair share of
pages it shares with the others) and private memory. Baseline, in the same run: the same workers
each loading their own copy (what every worker did before segments: vectors read into memory,
scan codes built per process, BM25 loaded without mmap).

The documents are synthetic (random unit vectors, lemma lists of 20 tokens drawn from a Zipf
distribution over 50,000 terms): memory depends on the sizes, not on what the vectors mean.
Usage: python scripts/bench_index_memory.py [--docs 1000000] [--workers 4]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.benchlib import cpu_model  # noqa: E402

DIM = 384


def write_version(root: Path, n: int) -> float:
    from matcher.search.segments import IndexStore, Manifest

    rng = np.random.default_rng(0)
    vecs = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):  # in slices: the writer's own peak stays bounded
        block = rng.standard_normal((min(100_000, n - start), DIM)).astype(np.float32)
        vecs[start:start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    terms = np.minimum(rng.zipf(1.3, size=(n, 20)), 50_000)
    docs = [[f"t{t}" for t in row] for row in terms]
    started = time.perf_counter()
    store = IndexStore(root)
    entry = store.new_segment(1, np.arange(n, dtype=np.int64), vecs, docs, hnsw_threshold=n + 1)
    store.publish(Manifest(version=1, model="bench", dim=DIM, segments=(entry,)))
    return time.perf_counter() - started


def memory(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if parts and parts[0].rstrip(":") in ("Rss", "Pss", "Private_Clean", "Private_Dirty", "Anonymous"):
            out[parts[0].rstrip(":")] = int(parts[1]) / 1024
    out["Private"] = out.pop("Private_Clean", 0) + out.pop("Private_Dirty", 0)
    return out


def worker(root: str, mode: str, ready, done) -> None:
    import faiss

    from matcher.search.index import flat_shards
    from matcher.search.segments import open_version

    faiss.omp_set_num_threads(1)
    version = open_version(Path(root))
    rng = np.random.default_rng(1)
    if mode == "private":  # every worker's own copy, as before segments
        import bm25s

        seg = version.segments[0]
        seg.vectors = np.array(seg.vectors)
        seg.__dict__["_faiss"] = flat_shards(seg.vectors)
        seg.bm25 = bm25s.BM25.load(str(seg.folder / "bm25"), mmap=False)
    for _ in range(20):
        q = rng.standard_normal(DIM).astype(np.float32)
        version.vectors.search((q / np.linalg.norm(q))[None, :], 200)
        version.bm25.search([f"t{t}" for t in rng.integers(1, 50, 4)], 200)
    ready.set()
    done.wait()


def measure(root: Path, mode: str, workers: int) -> list[dict[str, float]]:
    ctx = mp.get_context("spawn")
    done = ctx.Event()
    readies = [ctx.Event() for _ in range(workers)]
    procs = [ctx.Process(target=worker, args=(str(root), mode, r, done)) for r in readies]
    for p in procs:
        p.start()
    for r in readies:
        r.wait(1800)
    figures = [memory(p.pid) for p in procs]
    done.set()
    for p in procs:
        p.join(60)
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args()
    print(f"machine: {cpu_model()}; {args.docs:,} documents, {args.workers} workers", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "index"
        build = write_version(root, args.docs)
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20
        print(f"index version written in {build:.1f} s, {size:,.0f} MB on disk")
        print("| workers load | RSS MB per worker (mean) | PSS MB per worker (mean) | private MB per worker | "
              "PSS all workers MB | ÷ private copies |")
        print("|---|---|---|---|---|---|")
        rows = {mode: measure(root, mode, args.workers) for mode in ("private", "mapped")}
        base = sum(f["Pss"] for f in rows["private"])
        for mode, label in (("private", "own copy each (baseline)"), ("mapped", "memory-mapped version")):
            f = rows[mode]
            total = sum(x["Pss"] for x in f)
            print(f"| {label} | {np.mean([x['Rss'] for x in f]):,.0f} | {np.mean([x['Pss'] for x in f]):,.0f} | "
                  f"{np.mean([x['Private'] for x in f]):,.0f} | {total:,.0f} | {total / base:.2f} |")


if __name__ == "__main__":
    main()
