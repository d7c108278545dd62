"""In-memory search indexes with stable int64 ids: a FAISS vector index and a BM25 index over
lemmas, and the pieces the on-disk segments (``search.segments``) share with them: the exact
dot product, the bfloat16 flat shards, the top-k of a score array.

The in-memory indexes serve evaluations and benchmarks that index a corpus once; the product's
indexes are the segment versions, written by ``search.indexing``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

SHARD_ROWS = 25_000
K1, B = 1.2, 0.75  # BM25 (bm25s, Lucene variant)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dots(rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Inner products of a few hundred rows with one query. einsum, not BLAS: a multi-threaded
    BLAS call this small costs more in waking and then spinning threads (which steal the cores
    from the FAISS shards and ONNX Runtime right after it) than the arithmetic itself. Every
    exact score in this module comes from here, so the same pair always gets the same value."""
    return np.einsum("ij,j->i", rows, query)


def shard_count(rows: int) -> int:
    """One shard per core once the index is large enough for threads to pay (a shard of ~25k
    vectors scans in about a millisecond)."""
    return max(1, min(os.cpu_count() or 1, rows // SHARD_ROWS))


def flat_shards(vecs: np.ndarray):
    """Exhaustive scan over bfloat16 codes (memory traffic is what a scan costs), one shard per
    core so a single query uses every core; callers re-score what they fetched against the
    float32 vectors, so scores and order stay exact. Labels are row positions. Returns the index
    and its shards (IndexShards does not own them: the caller keeps them alive)."""
    import faiss

    dim = vecs.shape[1]
    index = faiss.IndexShards(dim, True, True)  # threaded, successive ids
    shards = []
    for rows in np.array_split(np.arange(len(vecs)), shard_count(len(vecs))):
        shard = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_bf16, faiss.METRIC_INNER_PRODUCT)
        if len(rows):
            shard.add(np.ascontiguousarray(vecs[rows[0]:rows[-1] + 1], dtype=np.float32))
        index.add_shard(shard)
        shards.append(shard)
    index.syncWithSubIndexes()
    return index, shards


class IdLookup:
    """Sorted int64 keys → values, looked up many at a time. Keys here are database ids, nearly
    consecutive, so a table indexed by the id answers with one memory access per key where a
    binary search takes twenty, each a cache miss once the arrays are out of cache: 800 ids
    against a million cost 0.7 ms inside a shortlist that way, 0.05 ms this way. Sparse keys
    (a table more than DENSE_SPREAD times their number) keep the binary search."""

    DENSE_SPREAD = 4

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        self.keys = np.asarray(keys, dtype=np.int64)
        self.values = np.asarray(values, dtype=np.int64)
        self._table: np.ndarray | None = None
        n = len(self.keys)
        if n and self.keys[0] >= 0 and self.keys[-1] < self.DENSE_SPREAD * n + 1024:
            dtype = np.int32 if self.values.max(initial=0) < 2**31 else np.int64
            self._table = np.full(int(self.keys[-1]) + 1, -1, dtype=dtype)
            self._table[self.keys] = self.values

    def get(self, query: np.ndarray | Sequence[int]) -> np.ndarray:
        """The value of each key (-1 where it is absent)."""
        q = np.asarray(query, dtype=np.int64).reshape(-1)
        out = np.full(len(q), -1, dtype=np.int64)
        if not len(self.keys) or not len(q):
            return out
        if self._table is not None:
            ok = (q >= 0) & (q < len(self._table))
            out[ok] = self._table[q[ok]]
            return out
        at = np.minimum(np.searchsorted(self.keys, q), len(self.keys) - 1)
        hit = self.keys[at] == q
        out[hit] = self.values[at[hit]]
        return out


def top_of(raw: np.ndarray, order: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) of a score array aligned with ``order``, zero scores dropped, ties
    broken by id."""
    if raw.size == 0 or k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    k = min(k, raw.size)
    part = _top_positions(raw, k) if k < raw.size else np.arange(raw.size)
    part = part[raw[part] > 0]
    sel = part[np.lexsort((order[part], -raw[part]))]
    return raw[sel].astype(np.float32), order[sel].astype(np.int64)


def _top_positions(raw: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest values (any order; ties at the cut as ``argpartition`` picks).
    On a long array a strided sample gives a threshold that about 2k values pass; when at least
    k pass, the top k are among them and only those are partitioned (a million BM25 scores:
    one comparison pass instead of a selection over all). Otherwise, every value is selected."""
    n = raw.size
    step = n // (64 * k) if k else 0
    if step >= 4:
        sample = raw[::step]
        rank = max(1, (2 * k) // step)
        threshold = float(np.partition(sample, len(sample) - rank)[len(sample) - rank])
        if threshold > 0:
            found = np.flatnonzero(raw >= threshold)
            if len(found) >= k:
                return found[np.argpartition(-raw[found], k - 1)[:k]]
    return np.argpartition(-raw, k - 1)[:k]


def _as_ids(ids: Sequence[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(ids, dtype=np.int64).reshape(-1)
    if len(np.unique(arr)) != len(arr):
        raise ValueError("duplicate ids in one call")
    return arr


class VectorIndex:
    """Inner-product search over unit vectors; exhaustive below ``hnsw_threshold``, HNSW above.

    The exhaustive scan reads bfloat16 codes (half the memory traffic of float32, and decoding is
    a shift) split into shards that FAISS scans on parallel threads, and fetches twice k; the
    fetched vectors are re-scored in float32, so scores are exact and the top k differs from a
    float32 scan only if bfloat16 error (about 1e-3 on a unit-vector cosine) exceeded the gap
    between rank k and rank 2k.

    HNSW cannot delete, so removed or updated vectors stay in the graph as stale entries:
    searches over-fetch by the number of stale entries and re-score every hit exactly against
    the stored vectors (so returned scores are always exact), and the graph is rebuilt once
    stale entries pass a fifth of the index.
    """

    def __init__(self, dim: int = 384, hnsw_threshold: int = 200_000, hnsw_m: int = 32,
                 ef_construction: int = 80, ef_search: int = 256, model: str = "") -> None:
        self.dim, self.hnsw_threshold, self.hnsw_m = dim, hnsw_threshold, hnsw_m
        self.ef_construction, self.ef_search = ef_construction, ef_search
        self.model = model  # the embedding model the vectors came from ("" = not recorded)
        self._ids = np.zeros(0, dtype=np.int64)
        self._vecs = np.zeros((0, dim), dtype=np.float32)
        self._pos: dict[int, int] = {}
        self._faiss = None
        self._shards: list = []  # flat: the bfloat16 shards inside the IndexShards
        self._stale = 0
        self.kind_ = "flat"

    # -- state --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, id_: int) -> bool:
        return int(id_) in self._pos

    @property
    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def vector(self, id_: int) -> np.ndarray:
        return self._vecs[self._pos[int(id_)]].copy()

    def _check(self, vecs: np.ndarray, n: int) -> np.ndarray:
        vecs = np.ascontiguousarray(vecs, dtype=np.float32).reshape(-1, self.dim)
        if len(vecs) != n:
            raise ValueError(f"{n} ids but {len(vecs)} vectors")
        return vecs

    # -- mutation -----------------------------------------------------------------------------
    def add(self, ids: Sequence[int] | np.ndarray, vecs: np.ndarray) -> None:
        ids = _as_ids(ids)
        vecs = self._check(vecs, len(ids))
        clash = [int(i) for i in ids if int(i) in self._pos]
        if clash:
            raise KeyError(f"ids already indexed (use update): {clash[:5]}")
        start = len(self._ids)
        self._ids = np.concatenate([self._ids, ids])
        self._vecs = np.concatenate([self._vecs, vecs])
        for k, i in enumerate(ids):
            self._pos[int(i)] = start + k
        if self._faiss is None or (self.kind_ == "flat" and (len(self) > self.hnsw_threshold
                                                               or not self._append_keeps_balance(len(ids)))):
            self._rebuild()
        elif self.kind_ == "flat":
            # Appended rows go to the last shard: shard labels run on (successive ids), so a
            # label stays a position in self._vecs.
            self._shards[-1].add(vecs)
            self._faiss.syncWithSubIndexes()
        else:
            self._faiss.add_with_ids(vecs, ids)

    def remove(self, ids: Sequence[int] | np.ndarray) -> int:
        ids = [int(i) for i in _as_ids(ids) if int(i) in self._pos]
        if not ids:
            return 0
        keep = np.ones(len(self._ids), dtype=bool)
        keep[[self._pos[i] for i in ids]] = False
        self._ids, self._vecs = self._ids[keep], self._vecs[keep]
        self._pos = {int(i): k for k, i in enumerate(self._ids)}
        if self.kind_ == "flat":
            self._rebuild()  # positions moved; re-encoding is cheap next to any search
        else:
            self._stale += len(ids)
            if self._stale > max(1, len(self) // 5):
                self._rebuild()
        return len(ids)

    def update(self, ids: Sequence[int] | np.ndarray, vecs: np.ndarray) -> None:
        """Replace (or insert) vectors under the same ids."""
        ids = _as_ids(ids)
        vecs = self._check(vecs, len(ids))
        self.remove(ids)
        self.add(ids, vecs)

    def _rebuild(self) -> None:
        import faiss

        if len(self) > self.hnsw_threshold:
            inner = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = self.ef_construction
            inner.hnsw.efSearch = self.ef_search
            self.kind_ = "hnsw"
            index = faiss.IndexIDMap2(inner)
            if len(self):
                index.add_with_ids(self._vecs, self._ids)
        else:
            index, self._shards = flat_shards(self._vecs)
            self.kind_ = "flat"
        self._faiss, self._stale = index, 0

    def _append_keeps_balance(self, n_new: int) -> bool:
        """Appending fills the last shard (the rows just added are already counted in len(self));
        rebuild instead when the shard count should change or the last shard would grow past
        twice the first."""
        if len(self._shards) != shard_count(len(self)):
            return False
        return self._shards[-1].ntotal + n_new <= 2 * max(self._shards[0].ntotal, SHARD_ROWS // 2)

    def memory_bytes(self) -> int:
        """What the index holds in memory: the float32 vectors plus the FAISS codes or graph."""
        import faiss

        parts = self._shards if self.kind_ == "flat" else [self._faiss] if self._faiss is not None else []
        return int(self._vecs.nbytes + sum(faiss.serialize_index(p).nbytes for p in parts))

    def set_ef_search(self, ef: int) -> None:
        """HNSW search breadth: higher finds more true neighbours at more cost."""
        import faiss

        self.ef_search = ef
        if self.kind_ == "hnsw":
            faiss.downcast_index(self._faiss.index).hnsw.efSearch = ef

    # -- search -------------------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query; missing slots have id -1 and score -inf."""
        q = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        scores = np.full((len(q), k), -np.inf, dtype=np.float32)
        ids = np.full((len(q), k), -1, dtype=np.int64)
        if not len(self) or k <= 0:
            return scores, ids
        if self.kind_ == "flat":
            # Over-fetch past bfloat16 error; FAISS labels are positions in self._vecs.
            _, raw = self._faiss.search(q, min(len(self), 2 * k))
            positions = [row[row >= 0] for row in raw]
        else:
            # HNSW: over-fetch past stale entries and approximation; labels are ids, and a stale
            # entry may repeat a live id or name a removed one.
            _, raw = self._faiss.search(q, min(len(self) + self._stale, max(k + self._stale, 2 * k)))
            positions = [np.unique([self._pos[int(i)] for i in row if i >= 0 and int(i) in self._pos]).astype(np.int64)
                         for row in raw]
        for r, pos in enumerate(positions):
            # Exact float32 scores of what was fetched; ties broken by id so the same input
            # always gives the same order.
            exact = dots(self._vecs[pos], q[r])
            found = self._ids[pos]
            order = np.lexsort((found, -exact))[:k]
            scores[r, : len(order)], ids[r, : len(order)] = exact[order], found[order]
        return scores, ids

    def exact_scores(self, query: np.ndarray, ids: Sequence[int]) -> np.ndarray:
        """Exact inner products of one query with the given indexed ids (absent → nan)."""
        q = np.asarray(query, dtype=np.float32).reshape(self.dim)
        out = np.full(len(ids), np.nan, dtype=np.float32)
        positions = [self._pos.get(int(i)) for i in ids]
        known = [k for k, p in enumerate(positions) if p is not None]
        if known:
            out[known] = dots(self._vecs[[positions[k] for k in known]], q)
        return out


class BM25Index:
    """BM25 (bm25s, Lucene variant) over lemma lists, keyed by the same ids as the vectors.

    bm25s indexes a fixed corpus, so edits mark the index dirty and it is rebuilt on the next
    search: right for a corpus indexed once (evaluations, benchmarks). The product's BM25 lives
    in immutable segments (``search.segments``), one bm25s model each.
    """

    def __init__(self, k1: float = K1, b: float = B) -> None:
        self.k1, self.b = k1, b
        self._docs: dict[int, list[str]] = {}
        self._model = None
        self._order = np.zeros(0, dtype=np.int64)
        self._position: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, id_: int) -> bool:
        return int(id_) in self._docs

    def add(self, ids: Sequence[int], docs: Sequence[Sequence[str]]) -> None:
        ids = _as_ids(ids)
        clash = [int(i) for i in ids if int(i) in self._docs]
        if clash:
            raise KeyError(f"ids already indexed (use update): {clash[:5]}")
        self.update(ids, docs)

    def update(self, ids: Sequence[int], docs: Sequence[Sequence[str]]) -> None:
        ids = _as_ids(ids)
        if len(ids) != len(docs):
            raise ValueError(f"{len(ids)} ids but {len(docs)} documents")
        for i, d in zip(ids, docs, strict=True):
            self._docs[int(i)] = [str(t) for t in d]
        self._model = None

    def remove(self, ids: Sequence[int]) -> int:
        n = sum(1 for i in _as_ids(ids) if self._docs.pop(int(i), None) is not None)
        if n:
            self._model = None
        return n

    def _ensure(self) -> None:
        if self._model is not None:
            return
        import bm25s

        self._order = np.array(sorted(self._docs), dtype=np.int64)
        model = bm25s.BM25(k1=self.k1, b=self.b)
        corpus = [self._docs[int(i)] or [""] for i in self._order]
        model.index(corpus, show_progress=False)
        self._model = model
        self._position = {int(i): p for p, i in enumerate(self._order)}

    def score_array(self, query: Sequence[str]) -> np.ndarray:
        """BM25 score of every document (aligned with ``ordered_ids``) for one lemma query."""
        if not self._docs:
            return np.zeros(0, dtype=np.float32)
        self._ensure()
        vocab = self._model.vocab_dict
        terms = [t for t in query if t in vocab]
        if not terms:
            return np.zeros(len(self._order), dtype=np.float32)
        return np.asarray(self._model.get_scores(terms), dtype=np.float32)

    @property
    def ordered_ids(self) -> np.ndarray:
        self._ensure()
        return self._order

    def positions(self, ids: Sequence[int]) -> np.ndarray:
        """Each id's position in a score array (-1 where it is not indexed)."""
        self._ensure()
        return np.fromiter((self._position.get(int(i), -1) for i in ids), dtype=np.int64, count=len(ids))

    def position(self, id_: int) -> int | None:
        self._ensure()
        return self._position.get(int(id_))

    def top_from(self, raw: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) of a score array, zero scores dropped, ties broken by id."""
        return top_of(raw, self._order, k)

    def search(self, query: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) for one lemma query; ties broken by id."""
        return self.top_from(self.score_array(query), k)
