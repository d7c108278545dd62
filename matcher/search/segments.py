"""Index versions made of immutable segments: what a sync writes and what every reader maps.

Layout under ``$MATCHER_DATA_DIR/index/``::

    segments/s000007/ids.npy          int64 document ids, one row each
    segments/s000007/vectors.npy      float32 unit vectors (memory-mapped by readers)
    segments/s000007/bm25/            bm25s's own saved format (CSC score matrix, vocabulary)
    segments/s000007/lemmas.npy       each row's lemma ids in that vocabulary, with offsets.npy:
                                      what compaction re-indexes without re-tokenizing
    segments/s000007/flat-000.faiss   bfloat16 scan shards (labels = row positions), or
    segments/s000007/hnsw.faiss       the HNSW graph for a segment above the HNSW threshold; both
                                      memory-mapped (IO_FLAG_MMAP_IFC) by every reader; a segment
                                      of at most SCAN_ROWS rows has neither (it is scanned)
    segments/s000007/dead-v000012.npy rows deleted as of version 12 (a tombstone file per version,
                                      never rewritten)
    versions/v000012.json             manifest: model, dimension, segments and their tombstones
    CURRENT                           the published version's name (replaced with os.replace)

A writer never modifies a file a manifest names: a sync adds one segment holding only what
changed, tombstones the older copies of what it re-indexed or what disappeared, writes a new
manifest and then CURRENT — the commit point. A process killed at any moment therefore leaves
the previous version whole, and whatever it had not yet recorded in the store
(``Document.indexed_hash``) is picked up by the next sync. Files no recent version names are
collected by the next writer (readers of an older version keep their mappings: an unlinked file
stays readable while it is mapped).

BM25 runs per segment on bm25s's precomputed scores, re-weighted to the index-wide IDF (document
frequencies summed over segments, tombstoned rows included until they are merged away, as Lucene
counts deleted documents), so a document scores the same in a small new segment as it would in
the large one; only the length normalisation stays per segment. With one segment — after a
compaction, or a first sync — the scores are exactly bm25s's.
"""

from __future__ import annotations

import ctypes
import json
import logging
import math
import os
import re
import shutil
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from matcher.search.index import K1, SHARD_ROWS, B, IdLookup, atomic_write_bytes, dots, flat_shards, top_of

log = logging.getLogger(__name__)

FORMAT = 2
KEEP_VERSIONS = 3  # published versions whose files stay on disk (readers still opening one)
MAX_SEGMENTS = 8  # compaction merges past this many segments ...
MAX_DEAD_SHARE = 0.2  # ... or past this share of tombstoned rows
SCAN_ROWS = SHARD_ROWS  # a segment this small carries no search structure: it is scanned
_VERSION = re.compile(r"^v(\d{6})\.json$")


def checkpoint(name: str) -> None:
    """A named moment of a write (tests kill the process here); does nothing."""


# -- manifests ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SegmentEntry:
    name: str
    rows: int
    dead_file: str | None = None  # tombstones as of some version, inside the segment's folder
    dead: int = 0


@dataclass(frozen=True)
class Manifest:
    version: int
    model: str
    dim: int
    segments: tuple[SegmentEntry, ...] = ()

    @property
    def name(self) -> str:
        return f"v{self.version:06d}"

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.segments)

    @property
    def dead(self) -> int:
        return sum(s.dead for s in self.segments)

    def needs_compaction(self) -> bool:
        return len(self.segments) > MAX_SEGMENTS or (self.rows > 0 and self.dead > MAX_DEAD_SHARE * self.rows)

    def to_json(self) -> bytes:
        return json.dumps({"format": FORMAT, "version": self.version, "model": self.model, "dim": self.dim,
                           "segments": [s.__dict__ for s in self.segments]}, ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        doc = json.loads(data)
        if doc.get("format") != FORMAT:
            raise ValueError(f"unsupported index manifest format {doc.get('format')!r}")
        return cls(version=int(doc["version"]), model=str(doc["model"]), dim=int(doc["dim"]),
                   segments=tuple(SegmentEntry(**s) for s in doc["segments"]))


class IndexStore:
    """The index folder: versions, segments, the CURRENT pointer, and garbage collection.
    Writers hold ``search.indexing.index_lock``; readers need no lock."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.segments_dir = self.root / "segments"
        self.versions_dir = self.root / "versions"

    def current(self) -> Manifest | None:
        """The published manifest, or None before the first sync."""
        pointer = self.root / "CURRENT"
        try:
            name = pointer.read_text().strip()
            return Manifest.from_json((self.versions_dir / f"{name}.json").read_bytes())
        except FileNotFoundError:
            return None

    def current_name(self) -> str | None:
        try:
            return (self.root / "CURRENT").read_text().strip() or None
        except FileNotFoundError:
            return None

    def next_version(self) -> int:
        found = [int(m.group(1)) for p in self._list(self.versions_dir) if (m := _VERSION.match(p.name))]
        return max(found, default=0) + 1

    def publish(self, manifest: Manifest) -> None:
        """Write the manifest, then switch CURRENT to it: readers see the old or the new version."""
        atomic_write_bytes(self.versions_dir / f"{manifest.name}.json", manifest.to_json())
        checkpoint("manifest-written")
        atomic_write_bytes(self.root / "CURRENT", manifest.name.encode())
        checkpoint("published")

    def new_segment(self, version: int, ids: np.ndarray, vectors: np.ndarray,
                    lemma_lists: Sequence[Sequence[str]], hnsw_threshold: int, hnsw_m: int = 32,
                    ef_construction: int = 80) -> SegmentEntry:
        """Write the segment of ``version`` under a temporary name, then rename it into place (a
        directory rename is atomic): a half-written segment never carries a segment's name. The
        name is the version's number, which is never reused once published; a folder already
        under it is the leftover of a writer killed before publishing."""
        self.segments_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.segments_dir / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        _save(tmp / "ids.npy", np.asarray(ids, dtype=np.int64))
        _save(tmp / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
        checkpoint("vectors-written")
        lemmas, offsets = _write_bm25(tmp / "bm25", lemma_lists)
        _save(tmp / "lemmas.npy", lemmas)
        _save(tmp / "offsets.npy", offsets)
        if len(ids) > hnsw_threshold:
            _write_hnsw(tmp / "hnsw.faiss", vectors, hnsw_m, ef_construction)
        elif len(ids) > SCAN_ROWS:
            _write_flat(tmp, vectors)
        _fsync_dir(tmp)
        checkpoint("segment-files-written")
        name = f"s{version:06d}"
        shutil.rmtree(self.segments_dir / name, ignore_errors=True)
        os.rename(tmp, self.segments_dir / name)
        _fsync_dir(self.segments_dir)
        checkpoint("segment-renamed")
        return SegmentEntry(name=name, rows=len(ids))

    def tombstone(self, entry: SegmentEntry, dead: np.ndarray, version: int) -> SegmentEntry:
        """A new tombstone file for ``entry`` (the old one stays for the versions that name it)."""
        dead_file = f"dead-v{version:06d}.npy"
        _save(self.segments_dir / entry.name / dead_file, np.flatnonzero(dead).astype(np.int64))
        return replace(entry, dead_file=dead_file, dead=int(dead.sum()))

    def collect_garbage(self) -> int:
        """Remove what none of the newest KEEP_VERSIONS published versions names: older manifests,
        their segments and tombstones, unpublished leftovers of killed writers. Returns files and
        folders removed."""
        current = self.current()
        if current is None:
            return 0
        keep_versions, keep_files = set(), set()
        for p in sorted(self._list(self.versions_dir), reverse=True):
            m = _VERSION.match(p.name)
            if not m or int(m.group(1)) > current.version or len(keep_versions) >= KEEP_VERSIONS:
                continue
            try:
                manifest = Manifest.from_json(p.read_bytes())
            except (ValueError, OSError):
                continue
            keep_versions.add(p.name)
            for s in manifest.segments:
                keep_files.add(s.name)
                if s.dead_file:
                    keep_files.add(f"{s.name}/{s.dead_file}")
        removed = 0
        for legacy in ("vectors.npz", "bm25.json"):  # the single-file index before segments
            if (self.root / legacy).exists():
                (self.root / legacy).unlink()
                removed += 1
        for p in self._list(self.versions_dir):
            if p.name not in keep_versions:
                p.unlink(missing_ok=True)
                removed += 1
        for seg in self._list(self.segments_dir):
            if seg.name not in keep_files:
                shutil.rmtree(seg, ignore_errors=True)
                removed += 1
                continue
            for dead in seg.glob("dead-v*.npy"):
                if f"{seg.name}/{dead.name}" not in keep_files:
                    dead.unlink(missing_ok=True)
                    removed += 1
        return removed

    @staticmethod
    def _list(folder: Path) -> list[Path]:
        return list(folder.iterdir()) if folder.exists() else []


def _save(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as fh:
        np.save(fh, array, allow_pickle=False)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with p.open("rb") as fh:
                os.fsync(fh.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_bm25(folder: Path, lemma_lists: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """bm25s over the lemma lists (an empty document indexes as the empty token, as bm25s
    expects), saved in bm25s's format; returns the rows' lemma ids in its vocabulary."""
    import bm25s

    corpus = [[str(t) for t in d] or [""] for d in lemma_lists]
    model = bm25s.BM25(k1=K1, b=B)
    model.index(corpus, show_progress=False)
    model.save(str(folder), show_progress=False)
    vocab = model.vocab_dict
    offsets = np.zeros(len(corpus) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(d) for d in corpus])
    lemmas = np.fromiter((vocab[t] for d in corpus for t in d), dtype=np.int32, count=int(offsets[-1]))
    return lemmas, offsets


def _write_flat(folder: Path, vectors: np.ndarray) -> None:
    """The bfloat16 scan shards, one file each: readers map them (IO_FLAG_MMAP_IFC), so every
    worker on a machine shares one copy of the codes."""
    import faiss

    _, shards = flat_shards(vectors)
    for k, shard in enumerate(shards):
        faiss.write_index(shard, str(folder / f"flat-{k:03d}.faiss"))


def _write_hnsw(path: Path, vectors: np.ndarray, m: int, ef_construction: int) -> None:
    import faiss

    index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(index, str(path))


# -- reading -----------------------------------------------------------------------------------
class Segment:
    """One segment as a reader maps it: arrays memory-mapped, search structure built or mapped."""

    def __init__(self, folder: Path, entry: SegmentEntry, ef_search: int) -> None:
        import bm25s

        self.name, self.folder = entry.name, folder
        self.ids = np.load(folder / "ids.npy", mmap_mode="r")
        self.vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        self.dead = np.zeros(len(self.ids), dtype=bool)
        if entry.dead_file:
            self.dead[np.load(folder / entry.dead_file)] = True
        self.n_dead = int(self.dead.sum())
        self.bm25 = bm25s.BM25.load(str(folder / "bm25"), mmap=True)
        self.ef_search = ef_search
        self._hnsw_path = folder / "hnsw.faiss"
        # What the writer gave it: a graph, scan shards, or nothing (a small segment is scanned).
        self.kind = ("hnsw" if self._hnsw_path.exists() else "flat" if any(folder.glob("flat-*.faiss"))
                     else "scan")

    @property
    def rows(self) -> int:
        return len(self.ids)

    @cached_property
    def _faiss(self):
        """The search structure, memory-mapped from the segment's files (shared by every process
        that maps them; nothing is decoded into private memory)."""
        import faiss

        flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY
        if self.kind == "hnsw":
            index = faiss.read_index(str(self._hnsw_path), flags)
            index.hnsw.efSearch = self.ef_search
            return index, []
        shards = [faiss.read_index(str(p), flags) for p in sorted(self.folder.glob("flat-*.faiss"))]
        index = faiss.IndexShards(self.vectors.shape[1], True, True)  # threaded, successive ids
        for shard in shards:
            index.add_shard(shard)
        index.syncWithSubIndexes()
        return index, shards  # IndexShards does not own its shards: keep them alive

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k live rows for one query: (scores, positions), best first, ties by id. A small
        segment (what a sync adds) is scanned exactly; a large one asks its structure."""
        if self.kind == "scan":
            return self._scan(q, k)
        index, _ = self._faiss
        if self.kind == "hnsw":
            # HNSW keeps float32 vectors, so its scores are exact: no re-scoring, and no need to
            # ask for more than k (and the tombstoned rows it still holds). FAISS stops walking
            # the graph once efSearch candidates beat the next one, whatever k is: a list of k
            # needs a walk at least k wide (on real e5 vectors the owner set reaches 0.98
            # recall only so: scripts/bench_ann.py).
            import faiss

            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
            scores, raw = index.search(q[None, :], min(self.rows, k + self.n_dead), params=params)
            keep = (raw[0] >= 0) & ~self.dead[np.maximum(raw[0], 0)]
            pos, exact = raw[0][keep], scores[0][keep]
        else:
            # bfloat16 codes: fetch past their error and past the tombstones, re-score exactly.
            _, raw = index.search(q[None, :], min(self.rows, 2 * k + self.n_dead))
            pos = raw[0][raw[0] >= 0]
            pos = np.unique(pos[~self.dead[pos]])
            exact = dots(self.vectors[pos], q)
        order = np.lexsort((self.ids[pos], -exact))[:k]
        return exact[order], pos[order]

    def _scan(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact scores of every row: up to SCAN_ROWS rows one pass over the mapped vectors
        costs less than a FAISS call plus re-scoring what it fetched (10,000 rows inside a
        shortlist at a million documents: 0.8 ms against 1.6)."""
        exact = dots(self.vectors, q) if self.rows else np.zeros(0, dtype=np.float32)
        live = np.flatnonzero(~self.dead) if self.n_dead else np.arange(self.rows)
        if k < len(live):
            live = live[np.argpartition(-exact[live], k - 1)[:k]]
        order = np.lexsort((self.ids[live], -exact[live]))[:k]
        return exact[live][order], live[order]

    def df(self, token: str) -> tuple[int, int] | None:
        """(token id, document frequency) in this segment, or None when absent."""
        tid = self.bm25.vocab_dict.get(token)
        if tid is None:
            return None
        indptr = self.bm25.scores["indptr"]
        return int(tid), int(indptr[tid + 1] - indptr[tid])

    def lemma_lists(self, rows: np.ndarray) -> list[list[str]]:
        lemmas = np.load(self.folder / "lemmas.npy", mmap_mode="r")
        offsets = np.load(self.folder / "offsets.npy", mmap_mode="r")
        inverse = np.empty(len(self.bm25.vocab_dict), dtype=object)
        for token, tid in self.bm25.vocab_dict.items():
            inverse[tid] = token
        out = []
        for r in rows:
            doc = inverse[np.asarray(lemmas[offsets[r]:offsets[r + 1]])].tolist()
            out.append([] if doc == [""] else doc)
        return out


def _idf(df: int, n: int) -> float:
    """bm25s's Lucene IDF (``scoring._score_idf_lucene``)."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


@dataclass
class IndexVersion:
    """One published version as a reader holds it: the segments and one map from a live
    document id to its row. ``vectors`` and ``bm25`` are what the retriever searches."""

    manifest: Manifest | None
    segments: list[Segment] = field(default_factory=list)

    def __post_init__(self) -> None:
        sizes = [s.rows for s in self.segments]
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.all_ids = (np.concatenate([np.asarray(s.ids) for s in self.segments]) if self.segments
                        else np.zeros(0, dtype=np.int64))
        alive = (np.concatenate([~s.dead for s in self.segments]) if self.segments else np.zeros(0, dtype=bool))
        self.alive = alive
        live_rows = np.flatnonzero(alive)
        order = np.argsort(self.all_ids[live_rows], kind="stable")
        self._live_ids = self.all_ids[live_rows][order]
        self._live_rows = live_rows[order]
        if len(self._live_ids) and (np.diff(self._live_ids) == 0).any():
            raise ValueError("an id is live in two segments")
        self._row_of = IdLookup(self._live_ids, self._live_rows)
        self.vectors = SegmentedVectors(self)
        self.bm25 = SegmentedBM25(self)

    @property
    def model(self) -> str:
        return self.manifest.model if self.manifest else ""

    @property
    def name(self) -> str | None:
        return self.manifest.name if self.manifest else None

    def rows_of(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Global row of each id's live copy (-1 where it is not indexed)."""
        return self._row_of.get(ids)

    def locate(self, row: int) -> tuple[Segment, int]:
        seg = int(np.searchsorted(self.starts, row, side="right") - 1)
        return self.segments[seg], int(row - self.starts[seg])

    @property
    def live_ids(self) -> np.ndarray:
        return self._live_ids.copy()


def open_version(root: Path, ef_search: int = 256, attempts: int = 3, preload: bool = False) -> IndexVersion:
    """The published version (an empty one before the first sync). A writer may collect an old
    version's files while this opens them: then the newer CURRENT is read again. ``preload``:
    map every page of the version into this process before returning (``preload_pages``)."""
    store = IndexStore(root)
    for attempt in range(attempts):
        manifest = store.current()
        if manifest is None:
            return IndexVersion(None)
        try:
            version = IndexVersion(manifest, [Segment(store.segments_dir / s.name, s, ef_search)
                                              for s in manifest.segments])
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise
            continue
        if preload:
            preload_pages(version)
        return version
    raise AssertionError("unreachable")


_MADV_WILLNEED, _MADV_POPULATE_READ = 3, 22  # <sys/mman.h>; POPULATE_READ since Linux 5.14


def preload_pages(version: IndexVersion) -> int:
    """Fault in every page of the version's mapped files (the search structures included, which
    open lazily otherwise) and return the bytes populated. A fresh mapping costs a page fault on
    every first touch: at a million documents the first hundred queries of a new worker ran
    about twice as slow as the next hundred (scripts/bench_scale.py). The pages come from the
    page cache, so every worker still shares one copy. Linux only; elsewhere a warning says the
    first queries will be slower."""
    for seg in version.segments:
        if seg.kind != "scan":
            seg._faiss  # noqa: B018 - opening maps the file
    folders = tuple(str(seg.folder.resolve()) + os.sep for seg in version.segments)
    if not folders:
        return 0
    if not sys.platform.startswith("linux"):
        log.warning("index preload needs Linux; the first queries page the index in one fault at a time")
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    total = 0
    with open("/proc/self/maps") as maps:
        regions = [line.split(None, 5) for line in maps]
    for fields in regions:
        if len(fields) < 6 or not fields[5].strip().startswith(folders):
            continue
        lo, hi = (int(x, 16) for x in fields[0].split("-"))
        if libc.madvise(lo, hi - lo, _MADV_POPULATE_READ) != 0:  # older kernel: readahead only
            libc.madvise(lo, hi - lo, _MADV_WILLNEED)
        total += hi - lo
    return total


class _View:
    """What both searches of a version share: its live documents."""

    def __init__(self, version: IndexVersion) -> None:
        self._v = version

    def __len__(self) -> int:
        return len(self._v._live_ids)

    def __contains__(self, id_: int) -> bool:
        return bool(self._v.rows_of([int(id_)])[0] >= 0)


class SegmentedVectors(_View):
    """Dense search over every segment of a version: each segment's live top-k, merged by exact
    score (ties by id, so the same input gives the same order)."""

    @property
    def ids(self) -> np.ndarray:
        return self._v.live_ids

    def vector(self, id_: int) -> np.ndarray:
        row = int(self._v.rows_of([int(id_)])[0])
        if row < 0:
            raise KeyError(id_)
        seg, local = self._v.locate(row)
        return np.array(seg.vectors[local], dtype=np.float32)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(queries, dtype=np.float32).reshape(len(np.atleast_2d(queries)), -1)
        scores = np.full((len(q), k), -np.inf, dtype=np.float32)
        ids = np.full((len(q), k), -1, dtype=np.int64)
        if not len(self) or k <= 0:
            return scores, ids
        for r in range(len(q)):
            parts = [(s, *s.search(q[r], k)) for s in self._v.segments]
            found = np.concatenate([np.asarray(s.ids)[pos] for s, _, pos in parts])
            exact = np.concatenate([sc for _, sc, _ in parts]).astype(np.float32)
            order = np.lexsort((found, -exact))[:k]
            scores[r, : len(order)], ids[r, : len(order)] = exact[order], found[order]
        return scores, ids

    def exact_scores(self, query: np.ndarray, ids: Sequence[int]) -> np.ndarray:
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        out = np.full(len(ids), np.nan, dtype=np.float32)
        rows = self._v.rows_of(ids)
        known = np.flatnonzero(rows >= 0)
        if not known.size:
            return out
        seg_of = np.searchsorted(self._v.starts, rows[known], side="right") - 1
        for s in np.unique(seg_of):
            pick = known[seg_of == s]
            local = rows[pick] - self._v.starts[s]
            out[pick] = dots(self._v.segments[s].vectors[local], q)
        return out


class SegmentedBM25(_View):
    """BM25 over every segment of a version, aligned with ``ordered_ids`` (every row of every
    segment in order; tombstoned rows score 0), with the index-wide IDF."""

    @property
    def ordered_ids(self) -> np.ndarray:
        return self._v.all_ids

    def positions(self, ids: Sequence[int]) -> np.ndarray:
        """Each id's position in a score array (-1 where it is not indexed), in one lookup."""
        return self._v.rows_of(ids)

    def position(self, id_: int) -> int | None:
        row = int(self.positions([int(id_)])[0])
        return row if row >= 0 else None

    def score_array(self, query: Sequence[str]) -> np.ndarray:
        total = len(self._v.all_ids)
        out = np.zeros(total, dtype=np.float32)
        if not total:
            return out
        per_segment = [[seg.df(str(t)) for t in query] for seg in self._v.segments]
        global_df = {t: sum(f[k][1] for f in per_segment if f[k] is not None)
                     for k, t in enumerate(map(str, query))}
        for seg, found, start in zip(self._v.segments, per_segment, self._v.starts, strict=False):
            scores = out[start:start + seg.rows]  # a view: each segment accumulates in place
            data, indices, indptr = (seg.bm25.scores[k] for k in ("data", "indices", "indptr"))
            for t, hit in zip(map(str, query), found, strict=True):
                if hit is None:
                    continue
                tid, df = hit
                lo, hi = int(indptr[tid]), int(indptr[tid + 1])
                weight = _idf(global_df[t], total) / _idf(df, seg.rows)
                values = np.asarray(data[lo:hi])
                # One token's postings name each row once, so a fancy-indexed add is exact (and
                # an order of magnitude faster than ``np.add.at`` on a million postings).
                scores[np.asarray(indices[lo:hi])] += values if weight == 1.0 else values * np.float32(weight)
            scores[seg.dead] = 0.0
        return out

    def top_from(self, raw: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return top_of(raw, self._v.all_ids, k)

    def search(self, query: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.top_from(self.score_array(query), k)
