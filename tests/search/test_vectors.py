"""Document vectors in the store: float16 by model and content hash, written once, on SQLite and
on PostgreSQL."""

import numpy as np

from matcher.search.vectors import StoredVectors


def test_vectors_round_trip_in_float16_and_a_second_write_changes_nothing(engine):
    store = StoredVectors(engine)
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((3, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    assert store.put_many("m1", {"a": vecs[0], "b": vecs[1]}) == 2
    assert store.missing("m1", ["a", "c", "b", "c"]) == ["c"]
    assert store.missing("m2", ["a"]) == ["a"]  # another model is another vector
    assert store.put_many("m1", {"a": vecs[2], "c": vecs[2]}) == 1  # "a" keeps its first vector
    got = store.get_many("m1", ["a", "b", "c", "zz"])
    assert sorted(got) == ["a", "b", "c"]
    assert np.allclose(got["a"], vecs[0], atol=1e-3) and got["a"].dtype == np.float32
    assert abs(float(got["b"] @ vecs[1]) - 1.0) < 1e-3  # float16 keeps the cosine to about 1e-4
    assert store.count("m1") == 3 and store.count("m2") == 0
