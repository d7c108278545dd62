"""Metrics and the evaluation jobs behind ``matcher eval``.

Every evaluation reports the product's component beside a simple baseline measured in the same
run, so a number is never read without its reference point.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matcher.errors import InvalidInput
from matcher.metrics import ranking_metrics, spearman
from matcher.search.index import BM25Index, VectorIndex
from matcher.search.retrieve import rrf_fuse
from matcher.text import lemmas, normalize


def read_jsonl(path: Path, limit: int | None = None) -> list[dict]:
    rows = []
    with Path(path).open(encoding="utf-8-sig") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path}: {line_no} 行目の JSON が壊れています", f"{path}: line {line_no}: invalid JSON ({exc.msg})") from exc
            if limit and len(rows) >= limit:
                break
    return rows


def tfidf_char_cosines(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """The baseline: character 2–3-gram TF-IDF cosine, fitted on the texts being compared."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True)
    vec.fit(list(a) + list(b))
    va, vb = vec.transform(a), vec.transform(b)
    return np.asarray(va.multiply(vb).sum(axis=1)).ravel()


@dataclass
class StsResult:
    n: int
    model: str
    spearman: float
    baseline_spearman: float



def eval_sts(path: Path, embedder, limit: int | None = None) -> StsResult:
    """Spearman of cosine vs. gold similarity; e5 uses the ``query:`` prompt for symmetric tasks."""
    rows = read_jsonl(path, limit)
    for line_no, r in enumerate(rows, start=1):
        missing = {"sentence1", "sentence2", "label"} - set(r)
        if missing:
            raise InvalidInput(f"{path}: {line_no} 件目に項目がありません: {sorted(missing)}", f"{path}: record {line_no}: missing field(s) {sorted(missing)}")
    s1 = [normalize(r["sentence1"]) for r in rows]
    s2 = [normalize(r["sentence2"]) for r in rows]
    gold = [float(r["label"]) for r in rows]
    e1, e2 = embedder.encode(s1, "query"), embedder.encode(s2, "query")
    cos = (e1 * e2).sum(axis=1)
    return StsResult(len(rows), embedder.model_id, spearman(cos, gold), spearman(tfidf_char_cosines(s1, s2), gold))


def eval_retrieval(corpus_path: Path, queries_path: Path, embedder, limit: int | None = None,
                   depth: int = 100, progress: Callable[[int], None] | None = None) -> dict:
    """Dense, BM25 and RRF-hybrid retrieval quality on JSQuAD-style JSONL (one positive each)."""
    corpus = read_jsonl(corpus_path)
    queries = read_jsonl(queries_path, limit)
    ids = np.arange(len(corpus), dtype=np.int64)
    id_of = {doc["id"]: int(i) for i, doc in zip(ids, corpus, strict=True)}
    for line_no, q in enumerate(queries, start=1):
        if q.get("positive_id") not in id_of:
            raise InvalidInput(f"{queries_path}: {line_no} 件目の positive_id がコーパスにありません", f"{queries_path}: record {line_no}: positive_id not in corpus")
    texts = [normalize(f"{d.get('title', '')}\n{d['text']}") for d in corpus]
    qtexts = [normalize(q["query"]) for q in queries]

    dense = VectorIndex(dim=384)
    dense.add(ids, embedder.encode(texts, "passage", progress))
    bm25 = BM25Index()
    bm25.add(ids, [lemmas(t, normalized=True) for t in texts])
    qvecs = embedder.encode(qtexts, "query", progress)
    _, dense_ids = dense.search(qvecs, depth)

    ranks: dict[str, list[int | None]] = {"dense": [], "bm25": [], "hybrid": []}
    for row, q in enumerate(queries):
        target = id_of[q["positive_id"]]
        d_list = [int(i) for i in dense_ids[row] if i >= 0]
        b_list = [int(i) for i in bm25.search(lemmas(qtexts[row], normalized=True), depth)[1]]
        h_list = [i for i, _ in rrf_fuse([d_list, b_list], limit=depth)]
        for name, lst in (("dense", d_list), ("bm25", b_list), ("hybrid", h_list)):
            ranks[name].append(lst.index(target) + 1 if target in lst else None)
    out = {name: ranking_metrics(r) for name, r in ranks.items()}
    out.update({"n_queries": len(queries), "n_corpus": len(corpus), "model": embedder.model_id})
    return out


def read_tsv_examples(path: Path) -> list[tuple[str, str]]:
    out = []
    with Path(path).open(encoding="utf-8-sig") as fh:
        for line_no, line in enumerate(fh, start=1):
            parts = line.rstrip("\n").split("\t")
            if line_no == 1 and parts[0] == "phrase":
                continue
            if len(parts) != 2:
                raise InvalidInput(f"{path}: {line_no} 行目は「語句<TAB>コード」の形式ではありません", f"{path}: line {line_no}: expected phrase<TAB>code")
            out.append((parts[0], parts[1]))
    return out


def eval_tagging(path: Path, embedder, limit: int | None = None, folds: int = 5, seed: int = 0) -> dict:
    """Top-1/top-5 of JSIC tagging, by k-fold cross-validation on the labelled phrases: the learned
    tagger (examples + descriptions) is fitted on the other folds each time; today's
    description-only tagger and a name-only TF-IDF baseline are scored on the same phrases."""
    import numpy as np
    from sklearn.model_selection import KFold

    from matcher.learn.jsic import JsicTagger, LearnedJsicTagger, name_only_baseline

    examples = read_tsv_examples(path)
    if limit:
        examples = [examples[i] for i in np.random.default_rng(seed).permutation(len(examples))[:limit]]
    phrases, gold = [p for p, _ in examples], [c for _, c in examples]
    description = JsicTagger(embedder).fit()
    vectors = embedder.encode([normalize(p) for p in phrases], "query")
    learned: list[list[str]] = [[] for _ in phrases]
    for train, test in KFold(n_splits=folds, shuffle=True, random_state=seed).split(phrases):
        tagger = LearnedJsicTagger(embedder, description=description).fit([examples[i] for i in train], vectors[train])
        for i, top in zip(test, tagger.top_k([phrases[i] for i in test], 5, vectors[test]), strict=True):
            learned[i] = [c for c, _ in top]
    today = description.top_k(phrases, 5)
    base = name_only_baseline(phrases, 5)

    def acc(pred: list[list[str]], k: int) -> float:
        return round(sum(g in p[:k] for g, p in zip(gold, pred, strict=True)) / max(len(gold), 1), 4)

    return {"n": len(gold), "folds": folds, "top1": acc(learned, 1), "top5": acc(learned, 5),
            "descriptions_only": {"name": "jsic-descriptions", "top1": acc(today, 1), "top5": acc(today, 5)},
            "baseline": {"name": "tfidf-char-names", "top1": acc(base, 1), "top5": acc(base, 5)}}
