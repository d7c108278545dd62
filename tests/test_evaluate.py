import json
import subprocess
import sys
from pathlib import Path

import pytest

from matcher.evaluate import tfidf_char_cosines
from matcher.metrics import ndcg_at, ranking_metrics
from matcher.search.retrieve import rrf_fuse
from tests.support import CORPORA, ROOT

MATCHER = str(Path(sys.executable).parent / "matcher")


def _run(*args):
    proc = subprocess.run([MATCHER, *args], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stdout  # exactly one JSON object on stdout
    return json.loads(lines[0])


def test_ranking_metrics_on_known_ranks():
    m = ranking_metrics([1, 3, None, 10])
    assert m["recall@1"] == 0.25
    assert m["recall@5"] == 0.5
    assert m["recall@10"] == 0.75
    assert m["mrr@10"] == pytest.approx((1 + 1 / 3 + 0 + 1 / 10) / 4, abs=1e-4)


def test_ndcg_single_relevant_item():
    assert ndcg_at([1], 1) == 1.0
    assert ndcg_at([2], 1) == pytest.approx(0.6309, abs=1e-4)
    assert ndcg_at([], 1) == 0.0


def test_rrf_rewards_agreement_and_is_deterministic():
    fused = rrf_fuse([[1, 2, 3], [3, 1, 4]])
    assert [i for i, _ in fused][:2] == [1, 3]
    assert rrf_fuse([[5, 6], [6, 5]]) == rrf_fuse([[5, 6], [6, 5]])
    assert [i for i, _ in rrf_fuse([[5, 6], [6, 5]])] == [5, 6]  # tie broken by id


def test_tfidf_baseline_scores_identical_text_highest():
    cos = tfidf_char_cosines(["精密板金加工", "精密板金加工"], ["精密板金加工", "樹脂成形"])
    assert cos[0] == pytest.approx(1.0) and cos[1] < 0.2


@pytest.mark.slow  # runs the command in a subprocess or loads the embedder
def test_eval_sts_json_shape_and_embedder_beats_baseline():
    out = _run("eval", "sts", str(CORPORA / "jglue" / "jsts_train.jsonl"), "--limit", "300", "--json")
    assert out["n"] == 300
    assert set(out["embedder"]) >= {"model", "spearman"}
    assert out["embedder"]["spearman"] > out["baseline"]["spearman"] > 0.3


@pytest.mark.slow  # runs the command in a subprocess or loads the embedder
def test_eval_retrieval_json_shape_on_a_subset(tmp_path):
    corpus = [json.loads(x) for x in (CORPORA / "jglue" / "jsquad_ir_valid_corpus.jsonl").read_text().splitlines()[:120]]
    keep = {d["id"] for d in corpus}
    queries = [q for q in map(json.loads, (CORPORA / "jglue" / "jsquad_ir_valid_queries.jsonl").read_text().splitlines())
               if q["positive_id"] in keep][:60]
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in corpus))
    (tmp_path / "q.jsonl").write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in queries))
    out = _run("eval", "retrieval", "--corpus", str(tmp_path / "c.jsonl"), "--queries", str(tmp_path / "q.jsonl"), "--json")
    for method in ("dense", "bm25", "hybrid"):
        assert set(out[method]) == {"recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"}
        assert out[method]["recall@10"] >= out[method]["recall@1"]
    assert out["dense"]["recall@10"] > 0.8
    assert out["hybrid"]["mrr@10"] >= min(out["dense"]["mrr@10"], out["bm25"]["mrr@10"])


@pytest.mark.slow  # runs the command in a subprocess or loads the embedder
def test_eval_sts_names_the_bad_record(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"sentence1": "a", "sentence2": "b", "label": 1}\n{"sentence1": "a"}\n')
    proc = subprocess.run([MATCHER, "eval", "sts", str(bad), "--json"], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "record 2" in proc.stderr and "sentence2" in proc.stderr
