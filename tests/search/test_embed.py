import numpy as np
import pytest

from matcher.search.embed import CachedEmbedder, Embedder, EmbedderMissing, EmbeddingCache


def _equivalence_sentences() -> list[str]:
    import json

    from tests.support import CORPORA

    out: list[str] = []
    for line in (CORPORA / "jglue" / "jsts_train.jsonl").read_text(encoding="utf-8").splitlines()[:400]:
        row = json.loads(line)
        for s in (row["sentence1"], row["sentence2"]):
            if s not in out:
                out.append(s)
    return out[:200]


def test_vectors_are_unit_float32(embedder):
    v = embedder.encode(["精密板金加工", "ステンレスの切削"], "passage")
    assert v.dtype == np.float32 and v.shape == (2, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_related_manufacturing_phrases_are_closer_than_unrelated(embedder):
    q = embedder.encode(["アルミニウムの切削加工ができる会社"], "query")[0]
    docs = embedder.encode(["当社はアルミニウム部品の精密切削を得意としています。",
                            "地域の子ども向けに料理教室を開いています。"], "passage")
    assert docs[0] @ q > docs[1] @ q + 0.05


def test_encoding_is_deterministic(embedder):
    a = embedder.encode(["溶接と塗装の一貫生産"], "passage")
    b = embedder.encode(["溶接と塗装の一貫生産"], "passage")
    assert np.array_equal(a, b)


def test_long_documents_are_split_not_truncated(embedder):
    head = "当社はステンレスの精密切削加工を行っています。" * 40
    tail = "さらにアルミニウムのダイカストと熱処理、めっきまで社内で一貫対応します。" * 40
    text = head + tail
    assert embedder.token_count(text) > 512
    parts = embedder.passages(text)
    assert len(parts) >= 2
    assert all(embedder.token_count(p) <= 512 for p in parts)
    assert "".join(parts) == text  # nothing dropped
    whole = embedder.encode([text])[0]
    head_only = embedder.encode([head])[0]
    # The tail changes the vector: a truncating embedder would return the head's vector.
    assert whole @ head_only < 0.999


def test_one_overlong_sentence_is_cut_by_characters(embedder):
    text = "切削" * 800  # no sentence boundary at all
    parts = embedder.passages(text)
    assert len(parts) >= 2 and "".join(parts) == text
    assert all(embedder.token_count(p) <= 512 for p in parts)


def test_cache_never_embeds_unchanged_text_twice(embedder, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    cached = CachedEmbedder(embedder, cache)
    first = cached.encode(["研削盤で焼入れ鋼を仕上げる", "基板実装"], "passage")
    assert cached.encoded_ == 2
    second = cached.encode(["基板実装", "研削盤で焼入れ鋼を仕上げる"], "passage")
    assert cached.encoded_ == 2  # served from the cache
    assert np.array_equal(first[0], second[1])
    cached.encode(["基板実装"], "query")  # another prompt is another key
    assert cached.encoded_ == 3
    assert len(cache) == 3


def test_cache_survives_a_new_process(embedder, tmp_path):
    path = tmp_path / "cache.sqlite"
    CachedEmbedder(embedder, EmbeddingCache(path)).encode(["鋳造"], "passage")
    again = CachedEmbedder(embedder, EmbeddingCache(path))
    again.encode(["鋳造"], "passage")
    assert again.encoded_ == 0


def test_missing_model_directory_fails_loudly(tmp_path):
    with pytest.raises(EmbedderMissing, match="build_embedder"):
        Embedder(tmp_path / "nowhere")


def test_onnx_runtime_path_equals_the_torch_model(embedder):
    """The default (ONNX Runtime) is the exported graph of the same model: vectors equal to the
    SentenceTransformer's on the 200 equivalence sentences, long texts included."""
    assert embedder.backend == "onnx"
    onnx = Embedder(embedder.model_path, threads=embedder.threads)  # fp32 for queries and passages alike
    reference = Embedder(embedder.model_path, threads=embedder.threads, backend="torch")
    texts = _equivalence_sentences() + ["精密切削。" * 400]  # one text split into passages
    cos = (onnx.encode(texts, "passage") * reference.encode(texts, "passage")).sum(axis=1)
    assert cos.mean() >= 0.999 and cos.min() >= 0.995
    few = texts[:60] + texts[-1:]  # the same graph as above with the query prefix: a sample suffices
    q = (embedder.encode(few, "query") * reference.encode(few, "query")).sum(axis=1)
    assert q.mean() >= 0.999 and q.min() >= 0.995  # the configured query path is the fp32 graph


def test_int8_option_stays_within_0_005_of_fp32_on_held_out_jsts(embedder):
    import json

    from matcher.metrics import spearman
    from tests.support import CORPORA

    quantized = Embedder(embedder.model_path, threads=embedder.threads, quantize="int8")
    assert quantized.model_id.endswith("int8") and quantized.model_id != embedder.model_id
    lines = (CORPORA / "jglue" / "jsts_train.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(x) for x in lines[1000:1600]]
    gold = [r["label"] for r in rows]

    def rho(model):
        a = model.encode([r["sentence1"] for r in rows], "query")
        b = model.encode([r["sentence2"] for r in rows], "query")
        return spearman((a * b).sum(1), gold)

    assert abs(rho(quantized) - rho(embedder)) <= 0.005


def test_int8_documents_with_fp32_queries_keep_retrieval_close_to_fp32(embedder):
    """The opt-in batch path (documents on the int8 copy, queries on fp32) on JSQuAD passages:
    the query vectors are unchanged and the ranking of the right passage stays close (measured on
    the whole set: MRR@10 −0.005; on subsets like this one up to −0.018)."""
    from matcher.evaluate import read_jsonl
    from matcher.metrics import ranking_metrics
    from matcher.text import normalize
    from tests.support import CORPORA

    mixed = Embedder(embedder.model_path, threads=embedder.threads, passage_quantize="int8")
    assert mixed.model_id == embedder.model_id and mixed.model_id_for("passage").endswith("onnx-int8")
    docs = read_jsonl(CORPORA / "jglue" / "jsquad_ir_valid_corpus.jsonl")[:150]
    position = {d["id"]: k for k, d in enumerate(docs)}
    queries = [q for q in read_jsonl(CORPORA / "jglue" / "jsquad_ir_valid_queries.jsonl")
               if q["positive_id"] in position][:400]
    texts = [normalize(f"{d.get('title', '')}\n{d['text']}") for d in docs]
    q = mixed.encode([normalize(x["query"]) for x in queries], "query")
    assert np.allclose(q[:20], embedder.encode([normalize(x["query"]) for x in queries[:20]], "query"), atol=1e-6)
    gold = np.array([position[x["positive_id"]] for x in queries])

    def metrics(doc_vectors):
        order = np.argsort(-(q @ doc_vectors.T), axis=1)
        return ranking_metrics([int(np.nonzero(row == g)[0][0]) + 1 for row, g in zip(order, gold, strict=True)])

    fp32, int8 = metrics(embedder.encode(texts, "passage")), metrics(mixed.encode(texts, "passage"))
    assert int8["mrr@10"] >= fp32["mrr@10"] - 0.025 and int8["recall@10"] >= fp32["recall@10"] - 0.02
    assert fp32["mrr@10"] > 0.8  # the reference itself retrieves (a broken model would fail both)
