
import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import matcher.search.index as index_module
from matcher.search.index import BM25Index, IdLookup, VectorIndex, top_of


def unit(n, d=384, seed=0):
    v = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _exact_top(store: dict[int, np.ndarray], q: np.ndarray, k: int) -> list[int]:
    ids = sorted(store)
    scores = np.array([float(store[i] @ q) for i in ids])
    return [ids[j] for j in np.lexsort((ids, -scores))[:k]]


def test_search_returns_stable_external_ids():
    idx = VectorIndex(dim=384)
    vecs = unit(50)
    ids = np.arange(1000, 1050)
    idx.add(ids, vecs)
    scores, found = idx.search(vecs[7:8], 3)
    assert found[0, 0] == 1007
    assert scores[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_add_refuses_an_existing_id():
    idx = VectorIndex(dim=384)
    idx.add([1], unit(1))
    with pytest.raises(KeyError):
        idx.add([1], unit(1, seed=1))


def test_update_replaces_the_vector_under_the_same_id():
    idx = VectorIndex(dim=384)
    a, b = unit(2, seed=3)
    idx.add([5, 6], np.stack([a, b]))
    idx.update([5], b[None])
    assert len(idx) == 2
    _, found = idx.search(b[None], 2)
    assert set(found[0]) == {5, 6}
    assert np.allclose(idx.vector(5), b)


def test_remove_makes_an_id_unfindable():
    idx = VectorIndex(dim=384)
    vecs = unit(10)
    idx.add(range(10), vecs)
    assert idx.remove([3, 99]) == 1
    _, found = idx.search(vecs[3:4], 10)
    assert 3 not in found[0] and len(idx) == 9



def test_hnsw_switches_on_above_threshold_and_keeps_recall():
    vecs = unit(3000, seed=1)
    flat = VectorIndex(dim=384, hnsw_threshold=10_000)
    hnsw = VectorIndex(dim=384, hnsw_threshold=1000)
    flat.add(range(3000), vecs)
    hnsw.add(range(3000), vecs)
    assert flat.kind_ == "flat" and hnsw.kind_ == "hnsw"
    q = unit(50, seed=2)
    _, exact = flat.search(q, 10)
    _, approx = hnsw.search(q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, approx, strict=True)])
    assert recall >= 0.9


def test_hnsw_update_and_remove_never_return_stale_vectors():
    vecs = unit(300, seed=4)
    idx = VectorIndex(dim=384, hnsw_threshold=100)
    idx.add(range(300), vecs)
    idx.remove([0, 1])
    idx.update([2], vecs[10][None])
    scores, found = idx.search(vecs[:3], 5)
    assert 0 not in found and 1 not in found
    # Id 2 now holds vector 10; every returned score is exact for the stored vector.
    for row in range(3):
        for s, i in zip(scores[row], found[row], strict=True):
            assert s == pytest.approx(float(idx.vector(i) @ vecs[row]), abs=1e-5)


def test_sharded_scan_returns_what_an_exact_float32_scan_returns_through_appends_and_removals(monkeypatch):
    # Small shards and four "cores", so a few hundred vectors exercise the threaded shards,
    # appends to the last shard, rebalancing rebuilds and removals.
    monkeypatch.setattr(index_module, "SHARD_ROWS", 50)
    monkeypatch.setattr(index_module.os, "cpu_count", lambda: 4)
    idx = VectorIndex(dim=384)
    vecs = unit(600, seed=11)
    store = {}
    idx.add(np.arange(0, 400, 2), vecs[:200])
    store.update({int(i): v for i, v in zip(np.arange(0, 400, 2), vecs[:200], strict=True)})
    assert len(idx._shards) == 4
    for start in range(200, 500, 25):  # appends land in the last shard until it is rebalanced
        ids = np.arange(1000 + start, 1000 + start + 25)
        idx.add(ids, vecs[start : start + 25])
        store.update({int(i): v for i, v in zip(ids, vecs[start : start + 25], strict=True)})
        shards = [s.ntotal for s in idx._shards]
        assert sum(shards) == len(idx) and shards[-1] <= 2 * max(shards[0], 25)
    gone = [0, 2, 1210, 1499]
    idx.remove(gone)
    for i in gone:
        store.pop(i)
    idx.update([4], vecs[599][None])
    store[4] = vecs[599]
    for q in unit(20, seed=12):
        scores, found = idx.search(q[None], 15)
        assert found[0].tolist() == _exact_top(store, q, 15)
        assert np.allclose(scores[0], [store[int(i)] @ q for i in found[0]], atol=1e-6)
    assert idx.memory_bytes() > idx.ids.size * 384 * 4  # float32 vectors plus the bfloat16 codes


def test_bm25_shares_the_id_space_and_ranks_the_matching_document_first():
    bm = BM25Index()
    bm.add([10, 20, 30], [["ステンレス", "切削"], ["樹脂", "成形"], ["ステンレス", "溶接", "溶接"]])
    scores, ids = bm.search(["溶接"], 3)
    assert list(ids) == [30]
    _, ids = bm.search(["ステンレス", "切削"], 3)
    assert ids[0] == 10 and set(ids) == {10, 30}


def test_bm25_update_remove_and_unknown_terms():
    bm = BM25Index()
    bm.add([1, 2], [["めっき"], ["塗装"]])
    bm.update([2], [["めっき", "塗装"]])
    bm.remove([1])
    _, ids = bm.search(["めっき"], 5)
    assert list(ids) == [2]
    assert bm.search(["存在しない語"], 5)[1].size == 0


@given(st.lists(st.integers(0, 5000), unique=True, max_size=300), st.lists(st.integers(-10, 30_000), max_size=50),
       st.booleans())
@hsettings(max_examples=200, deadline=None)
def test_id_lookup_gives_each_key_its_value_and_minus_one_elsewhere_dense_or_sparse(keys, query, spread):
    """The dense table (ids nearly consecutive) and the binary search (sparse ids) are two ways
    to the same answer."""
    keys = np.array(sorted(k * (10_000 if spread else 1) for k in keys), dtype=np.int64)
    values = np.arange(len(keys), dtype=np.int64)[::-1].copy()
    lookup = IdLookup(keys, values)
    if len(keys):  # the table where the keys are compact, the binary search where they are not
        assert (lookup._table is not None) == (keys[-1] < IdLookup.DENSE_SPREAD * len(keys) + 1024)
    want = {int(k): int(v) for k, v in zip(keys, values, strict=True)}
    query = query + keys[:5].tolist()
    assert lookup.get(query).tolist() == [want.get(q, -1) for q in query]


@given(st.integers(1, 200_000), st.integers(1, 3000), st.floats(0.0, 0.99), st.booleans(), st.integers(0, 2**16))
@hsettings(max_examples=60, deadline=None)
def test_top_of_a_long_score_array_is_the_exact_top_k(n, k, zero_share, coarse, seed):
    """The sampled threshold only narrows where the top k are looked for: the scores returned
    are exactly the k largest positive ones, whatever the share of zeros or of ties."""
    rng = np.random.default_rng(seed)
    raw = rng.random(n).astype(np.float32)
    raw[rng.random(n) < zero_share] = 0.0
    if coarse:
        raw = np.round(raw, 1)  # many ties at the cut
    order = rng.permutation(n).astype(np.int64) + 1
    scores, ids = top_of(raw, order, k)
    positive = np.sort(raw[raw > 0])[::-1]
    assert scores.tolist() == positive[:k].tolist()
    assert len(set(ids.tolist())) == len(ids)
    by_id = dict(zip(order.tolist(), raw.tolist(), strict=True))
    assert [by_id[i] for i in ids.tolist()] == scores.tolist()
    pairs = list(zip(scores.tolist(), ids.tolist(), strict=True))
    assert pairs == sorted(pairs, key=lambda p: (-p[0], p[1]))  # best first, ties by id
