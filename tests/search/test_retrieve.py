import random

import numpy as np
import pytest

from matcher.search.index import BM25Index, VectorIndex
from matcher.search.retrieve import DocMeta, Retriever, rrf_fuse

WORDS = ["切削", "研削", "板金", "溶接", "めっき", "熱処理", "塗装", "樹脂", "基板", "検査", "試作", "金型"]


def corpus(seed: int):
    """Three owner types, owners with one to four documents; some documents are missing from the
    vector index, some from BM25, some from both (as while an index job is half-way)."""
    rng = random.Random(seed)
    vecs = np.random.default_rng(seed).standard_normal((400, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    meta, doc_id = {}, 10
    for owner_type, n_owners in (("organization", 60), ("seed", 25), ("need", 15)):
        for owner in range(1, n_owners + 1):
            for kind in range(rng.randint(1, 4)):
                meta[doc_id] = DocMeta(owner_type, owner, f"k{kind}")
                doc_id += rng.randint(1, 3)  # ids with gaps
    vectors, bm25 = VectorIndex(dim=16), BM25Index()
    in_vectors = [d for d in meta if rng.random() > 0.1]
    in_bm25 = [d for d in meta if rng.random() > 0.1]
    vectors.add(in_vectors, vecs[: len(in_vectors)])
    bm25.add(in_bm25, [[rng.choice(WORDS) for _ in range(rng.randint(3, 12))] for _ in in_bm25])
    return Retriever(vectors, bm25, meta), meta, vecs[-1]


def naive_candidates(r: Retriever, meta, qvec, query_lemmas, owner_type, depth, exclude):
    """The straightforward per-document loop the vectorised retriever must agree with."""
    share = sum(m.owner_type == owner_type for m in meta.values()) / len(meta)
    fetch = min(len(r.vectors), int(depth * 3 / max(share, 0.05)) + depth)

    def owners(doc_ids):
        seen = {}
        for d in doc_ids:
            m = meta.get(int(d))
            if m is not None and m.owner_type == owner_type and m.owner_id not in exclude:
                seen.setdefault(m.owner_id, None)
        return list(seen)[:depth]

    _, dense = r.vectors.search(qvec[None, :], fetch)
    raw = r.bm25.score_array(query_lemmas)
    _, lexical = r.bm25.top_from(raw, fetch)
    dense_owners, bm25_owners = owners(i for i in dense[0] if i >= 0), owners(lexical)
    out = []
    for owner, rrf in rrf_fuse([dense_owners, bm25_owners], limit=depth):
        docs = sorted(d for d, m in meta.items() if m.owner_type == owner_type and m.owner_id == owner)
        sims = [(float(r.vectors.vector(d) @ qvec), d) for d in docs if d in r.vectors]
        lex = [float(raw[r.bm25.position(d)]) for d in docs if d in r.bm25]
        best = max(sims, key=lambda s: s[0])[1] if sims else docs[0]
        out.append(dict(owner_id=owner, rrf=rrf, dense_max=max(s for s, _ in sims) if sims else 0.0,
                        dense_mean=float(np.mean([s for s, _ in sims])) if sims else 0.0,
                        bm25_max=max(lex) if lex else 0.0, best_doc=best, doc_ids=docs,
                        dense_rank=dense_owners.index(owner) + 1 if owner in dense_owners else None,
                        bm25_rank=bm25_owners.index(owner) + 1 if owner in bm25_owners else None))
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("owner_type,depth,exclude", [("organization", 200, ()), ("organization", 7, (3, 5)),
                                                     ("seed", 10, ()), ("need", 200, (1,))])
def test_vectorised_candidates_agree_with_the_per_document_loop(seed, owner_type, depth, exclude):
    r, meta, qvec = corpus(seed)
    query = random.Random(seed).sample(WORDS, 3)
    got = r.candidates(qvec, query, owner_type, depth, exclude)
    want = naive_candidates(r, meta, qvec, query, owner_type, depth, set(exclude))
    assert [h.owner_id for h in got] == [w["owner_id"] for w in want]
    for h, w in zip(got, want, strict=True):
        assert h.doc_ids == w["doc_ids"] and h.best_doc == w["best_doc"]
        assert (h.dense_rank, h.bm25_rank) == (w["dense_rank"], w["bm25_rank"])
        for name in ("rrf", "dense_max", "dense_mean", "bm25_max"):
            assert getattr(h, name) == pytest.approx(w[name], abs=1e-6), name
    assert not {h.owner_id for h in got} & set(exclude)


def test_an_owner_type_absent_from_the_index_gets_no_candidates():
    r, _, qvec = corpus(0)
    assert r.candidates(qvec, ["切削"], "institution") == []


def test_owner_statistics_with_owners_that_have_no_documents():
    """Segments are reduced only over owners that have documents: an empty owner in the middle
    or at the end neither shortens its neighbour's segment nor gets numbers of its own."""
    r, _, qvec = corpus(1)
    indexed = [int(i) for i in r.vectors.ids[:4]]
    raw = r.bm25.score_array(["切削", "溶接"])
    groups = [[indexed[0], indexed[1]], [], [indexed[2], indexed[3]], []]
    stats = r._owner_stats(qvec, raw, groups)
    assert stats[1] == stats[3] == (0.0, 0.0, 0.0, 0)
    for docs, (dmax, dmean, _, best) in zip(groups[::2], stats[::2], strict=True):
        sims = [float(r.vectors.vector(d) @ qvec) for d in docs]
        assert dmax == pytest.approx(max(sims), abs=1e-6) and dmean == pytest.approx(np.mean(sims), abs=1e-6)
        assert best == int(np.argmax(sims))
