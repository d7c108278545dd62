"""Index versions of immutable segments: the same answers as one in-memory index, a reader that
keeps its version while writers move on, and kill -9 at every moment of a sync or a compaction."""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from sqlmodel import select

from matcher.exchange.catalog import import_file
from matcher.search import segments
from matcher.search.embed import CachedEmbedder, EmbeddingCache
from matcher.search.index import BM25Index, VectorIndex
from matcher.search.indexing import compact_indexes, index_root, load_indexes, stored_vectors, sync_indexes
from matcher.search.segments import IndexStore, Manifest, open_version
from matcher.store.db import get_engine, session_scope, upgrade
from matcher.store.tables import Document
from tests.support import FIXTURES, ROOT

WORDS = ["切削", "旋盤", "溶接", "板金", "塗装", "めっき", "研削", "樹脂", "成形", "検査", "組立", "設計"]


def unit(n, d=32, seed=0):
    v = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _docs(n, seed=0, length=3):
    rng = np.random.default_rng(seed)
    return [[WORDS[int(j)] for j in rng.integers(0, len(WORDS), length)] for _ in range(n)]


def _versions(tmp_path, batches, hnsw_threshold=10_000):
    """Publish one version per batch of (ids, vectors, lemma lists), tombstoning earlier copies,
    as a sync does; returns the store and what a single in-memory index would hold."""
    store = IndexStore(tmp_path / "index")
    live: dict[int, tuple[np.ndarray, list[str]]] = {}
    entries: list = []
    for ids, vecs, docs in batches:
        version = store.next_version()
        held = open_version(store.root)
        kept = []
        for seg, entry in zip(held.segments, entries, strict=True):
            dead = seg.dead | np.isin(np.asarray(seg.ids), ids)
            kept.append(store.tombstone(entry, dead, version) if dead.sum() != seg.dead.sum() else entry)
        kept.append(store.new_segment(version, np.asarray(ids), vecs, docs, hnsw_threshold=hnsw_threshold))
        entries = kept
        store.publish(Manifest(version=version, model="m", dim=vecs.shape[1], segments=tuple(entries)))
        live.update({int(i): (v, d) for i, v, d in zip(ids, vecs, docs, strict=True)})
    return store, live


@pytest.mark.parametrize("layout", ["scan", "flat", "hnsw"])
def test_several_segments_answer_as_one_index_over_the_live_documents(tmp_path, monkeypatch, layout):
    """Each way a segment is searched — scanned (small), bfloat16 shards, HNSW graph — merged
    across segments with tombstones, against one in-memory index of the live documents."""
    if layout == "flat":
        monkeypatch.setattr(segments, "SCAN_ROWS", 0)
    hnsw_threshold = 30 if layout == "hnsw" else 10_000
    ids_a, ids_b = np.arange(0, 120), np.arange(100, 160)  # 100..119 re-indexed in the second segment
    store, live = _versions(tmp_path, [(ids_a, unit(120, seed=1), _docs(120, 1)),
                                       (ids_b, unit(60, seed=2), _docs(60, 2))], hnsw_threshold)
    version = open_version(store.root)
    assert [s.rows for s in version.segments] == [120, 60] and len(version.vectors) == 160
    assert {s.kind for s in version.segments} == {layout}
    assert int(version.segments[0].dead.sum()) == 20
    one = VectorIndex(dim=32, hnsw_threshold=10_000)
    one.add(list(live), np.array([v for v, _ in live.values()]))
    for q in unit(10, seed=3):
        s1, i1 = version.vectors.search(q[None, :], 15)
        s2, i2 = one.search(q[None, :], 15)
        if hnsw_threshold > 200:
            assert i1.tolist() == i2.tolist()
        else:
            assert len(set(i1[0]) & set(i2[0])) >= 13  # HNSW segments: approximate
        assert np.allclose(s1[0], [live[int(i)][0] @ q for i in i1[0]], atol=1e-6)  # scores exact
    probe = [5, 110, 150, 999]
    assert np.allclose(version.vectors.exact_scores(unit(1, seed=4)[0], probe)[:3],
                       [live[i][0] @ unit(1, seed=4)[0] for i in probe[:3]], atol=1e-6)
    assert np.isnan(version.vectors.exact_scores(unit(1, seed=4)[0], probe)[3])
    assert np.array_equal(version.vectors.vector(110), live[110][0])
    scores, ids = version.vectors.search(unit(1, seed=5), 200)  # more than there are
    assert sorted(ids[0][:160].tolist()) == sorted(live) and (ids[0][160:] == -1).all()
    assert (np.diff(scores[0][:160]) <= 0).all()


def _mapped(root) -> tuple[int, int]:
    """(bytes mapped, bytes resident) of this process's mappings of files under ``root``."""
    size = rss = 0
    inside = False
    with open("/proc/self/smaps") as fh:
        for line in fh:
            fields = line.split()
            if "-" in fields[0] and not fields[0].endswith(":"):
                inside = len(fields) >= 6 and fields[5].startswith(str(root))
            elif inside and fields[0] in ("Size:", "Rss:"):
                size += int(fields[1]) * 1024 if fields[0] == "Size:" else 0
                rss += int(fields[1]) * 1024 if fields[0] == "Rss:" else 0
    return size, rss


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="preload reads /proc/self/maps")
@pytest.mark.parametrize("hnsw_threshold", [10_000, 1_000])
def test_preload_maps_every_page_of_the_version_into_the_reader(tmp_path, hnsw_threshold):
    """A fresh reader pages its index in one fault at a time; with preload every page of every
    mapped file (graph included) is resident before the first query, from the shared page cache."""
    store, _ = _versions(tmp_path, [(np.arange(3000), unit(3000, d=64, seed=1), _docs(3000, 1))], hnsw_threshold)
    probe = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
             "from pathlib import Path\n"
             "from matcher.search.segments import open_version\n"
             "from tests.search.test_segments import _mapped\n"
             f"root = Path({str(store.root)!r}).resolve()\n"
             "v = open_version(root, preload=sys.argv[1] == 'on')\n"
             "print(*_mapped(root))\n")
    cold, warm = ([int(x) for x in subprocess.run([sys.executable, "-c", probe, mode], capture_output=True, text=True,
                                                  check=True).stdout.split()] for mode in ("off", "on"))
    assert cold[0] > 3000 * 64 * 4 and cold[1] < cold[0] / 2  # mapped, mostly not yet touched
    assert warm[1] == warm[0] >= cold[0]  # every page resident


def test_bm25_across_segments_scores_with_the_index_wide_idf(tmp_path):
    """Equal-length documents: the same IDF and length normalisation everywhere, so the score of
    every live document equals the score one bm25s index over the live documents gives it."""
    store, live = _versions(tmp_path, [(np.arange(0, 80), unit(80, seed=1), _docs(80, 1)),
                                       (np.arange(60, 90), unit(30, seed=2), _docs(30, 2)),
                                       (np.arange(200, 203), unit(3, seed=3), _docs(3, 3))])
    version = open_version(store.root)
    one = BM25Index()
    one.add(list(live), [d for _, d in live.values()])
    for query in (["溶接"], ["旋盤", "切削"], ["めっき", "検査", "検査"], ["存在しない語"]):
        # Tombstoned rows score nothing; they still count in N and df (as Lucene counts deleted
        # documents) until a compaction merges them away, when the scores agree exactly.
        raw = version.bm25.score_array(query)
        assert not raw[~version.alive].any()
        assert set(version.bm25.search(query, 200)[1]) <= set(live)
    compacted = _compacted(tmp_path, store)
    for query in (["溶接"], ["旋盤", "切削"], ["めっき", "検査", "検査"]):
        raw = compacted.bm25.score_array(query)
        ref = one.score_array(query)
        got = {int(i): float(raw[compacted.bm25.position(i)]) for i in live}
        want = {int(i): float(ref[one.position(i)]) for i in live}
        assert got == pytest.approx(want, rel=1e-6)


def test_positions_of_many_ids_agree_with_one_at_a_time(tmp_path):
    """The retriever looks up hundreds of documents per query in one call: it must give every
    live id its row, and -1 to a tombstoned (re-indexed elsewhere) or unknown one."""
    store, live = _versions(tmp_path, [(np.arange(0, 50), unit(50, seed=1), _docs(50, 1)),
                                       (np.arange(40, 60), unit(20, seed=2), _docs(20, 2))])
    version = open_version(store.root)
    ids = [59, 3, 999, 45, 0, -7, 45]
    got = version.bm25.positions(ids).tolist()
    assert got == [version.bm25.position(i) if version.bm25.position(i) is not None else -1 for i in ids]
    assert got[2] == got[5] == -1 and got[3] == got[6] >= 50  # 45 lives in the second segment now
    one = BM25Index()
    one.add(list(live), [d for _, d in live.values()])
    assert one.positions(ids).tolist() == [one.position(i) if i in live else -1 for i in ids]


def test_a_small_new_segment_scores_like_the_large_one(tmp_path):
    """A document synced alone scores as it would inside the large segment (index-wide IDF),
    not with the IDF of a one-document corpus."""
    docs = _docs(200, 5, length=4)
    twin = ["溶接", "板金", "検査", "設計"]
    store, _ = _versions(tmp_path, [(np.arange(200), unit(200, seed=1), docs),
                                    (np.array([500]), unit(1, seed=2), [twin])])
    both = open_version(store.root)
    alone = BM25Index()
    alone.add(list(range(200)) + [500], docs + [twin])
    raw, ref = both.bm25.score_array(["溶接", "設計"]), alone.score_array(["溶接", "設計"])
    assert raw[both.bm25.position(500)] == pytest.approx(ref[alone.position(500)], rel=1e-5)
    own = both.segments[1].bm25.get_scores(["溶接", "設計"])[0]  # the one-document corpus's own IDF
    assert own < 0.5 * raw[both.bm25.position(500)]


def _compacted(tmp_path, store):
    from matcher.config import Settings
    from matcher.search.indexing import _compact

    _compact(Settings(data_dir=tmp_path, hnsw_threshold=10_000), store)
    version = open_version(store.root)
    assert len(version.segments) == 1 and not version.segments[0].dead.any()
    return version


def test_a_reader_keeps_its_version_while_writers_publish_and_collect(tmp_path):
    store, _ = _versions(tmp_path, [(np.arange(50), unit(50, seed=1), _docs(50, 1))])
    old = open_version(store.root)
    q = unit(1, seed=9)
    before = old.vectors.search(q, 5)
    for n in range(2, 7):  # five more versions: the first one's files are collected
        _versions_more(store, n)
        store.collect_garbage()
    assert not (store.segments_dir / old.segments[0].name).exists()
    after = old.vectors.search(q, 5)
    assert np.array_equal(before[1], after[1]) and np.array_equal(before[0], after[0])
    assert old.bm25.search(["溶接"], 3)[1].size > 0  # its mapped files are still readable
    assert open_version(store.root).name == store.current().name


def _versions_more(store, seed):
    version = store.next_version()
    held = open_version(store.root)
    ids = np.arange(50)
    entries = [store.tombstone(e, s.dead | np.isin(np.asarray(s.ids), ids), version)
               for s, e in zip(held.segments, store.current().segments, strict=True)]
    entries = [e for e in entries if e.dead < e.rows]
    entries.append(store.new_segment(version, ids, unit(50, seed=seed), _docs(50, seed), hnsw_threshold=10_000))
    store.publish(Manifest(version=version, model="m", dim=32, segments=tuple(entries)))


def test_a_failed_publish_leaves_the_previous_version(tmp_path, monkeypatch):
    store, _ = _versions(tmp_path, [(np.arange(10), unit(10, seed=1), _docs(10, 1))])
    name = store.current_name()

    def broken(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        _versions_more(store, 3)
    monkeypatch.undo()
    assert store.current_name() == name and len(open_version(store.root).vectors) == 10


# -- kill -9 -------------------------------------------------------------------------------------
KILL = """
import os, signal, sys
from matcher.search import segments
point, task = sys.argv[1], sys.argv[2]
segments.checkpoint = lambda name: os.kill(os.getpid(), signal.SIGKILL) if name == point else None
from matcher.config import get_settings
from matcher.search.embed import passage_model_id
from matcher.search.indexing import compact_indexes, sync_indexes
from matcher.store.db import get_engine
settings = get_settings()

class StoredOnly:  # the test stored every vector beforehand: the sync builds from the store
    encoded_ = 0
    def model_id_for(self, prompt):
        return passage_model_id(settings)
    def encode(self, *args, **kwargs):
        raise AssertionError("nothing should be embedded")

if task == "sync":
    sync_indexes(get_engine(settings.sqlalchemy_url), settings, StoredOnly())
else:
    compact_indexes(settings, force=True)
print("not killed")
"""


def _killed_at(point: str, task: str) -> None:
    proc = subprocess.run([sys.executable, "-c", KILL, point, task], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == -signal.SIGKILL, (point, proc.returncode, proc.stdout, proc.stderr[-2000:])


def _edited(tmp_path):
    edited = tmp_path / "edited.csv"
    edited.write_text((FIXTURES / "orgs_small.csv").read_text(encoding="utf-8")
                      .replace("制御盤筐体の板金", "医療機器外装の板金").replace("NC旋盤 3台", ""), encoding="utf-8")
    return edited


def _in_step(engine, settings) -> None:
    """The index holds exactly the stored documents, each as it is now."""
    version = load_indexes(settings)
    with session_scope(engine) as s:
        docs = s.exec(select(Document)).all()
    assert sorted(version.vectors.ids.tolist()) == sorted(d.id for d in docs)
    assert all(d.indexed_hash == d.content_hash for d in docs)
    edited = next(d.id for d in docs if "医療機器外装" in d.text)
    assert version.bm25.search(["医療", "機器", "外装"], 1)[1].tolist() == [edited]
    with session_scope(engine) as s:
        text = s.get(Document, edited).text
    assert version.vectors.search(load_vector(settings, text)[None, :], 1)[1][0, 0] == edited


def load_vector(settings, text):
    cache = EmbeddingCache(settings.data_dir / "cache.sqlite")
    from matcher.search.embed import Embedder

    return CachedEmbedder(Embedder.from_settings(settings), cache).encode([text], "passage")[0]


SYNC_POINTS = ["vectors-written", "segment-files-written", "segment-renamed", "tombstones-written",
               "manifest-written", "published"]


@pytest.mark.slow  # a subprocess per kill
def test_kill_9_at_every_moment_of_a_sync_or_a_compaction_leaves_a_readable_index(settings, embedder, tmp_path):
    engine = get_engine(settings.sqlalchemy_url)
    upgrade(engine)
    cached = CachedEmbedder(embedder, EmbeddingCache(settings.data_dir / "cache.sqlite"))
    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    sync_indexes(engine, settings, cached)
    first = load_indexes(settings)
    first_ids = sorted(first.vectors.ids.tolist())
    import_file(engine, _edited(tmp_path), "organizations")
    with session_scope(engine) as s:
        docs = s.exec(select(Document)).all()
    wanted = sorted(d.id for d in docs)
    stored_vectors(engine, cached.model_id_for("passage"), [(d.content_hash, d.text) for d in docs], cached)
    for point in SYNC_POINTS:
        _killed_at(point, "sync")
        held = load_indexes(settings)  # readable: the previous version or the new one, whole
        assert sorted(held.vectors.ids.tolist()) in (first_ids, wanted), point
        assert held.bm25.search(["板金"], 3)[1].size > 0
    caught_up = sync_indexes(engine, settings, cached)
    assert caught_up.indexed == 1  # the edited document, which the store had not marked indexed
    _in_step(engine, settings)
    assert not list((index_root(settings) / "segments").glob(".tmp-*"))  # leftovers collected

    before = load_indexes(settings)
    q = load_vector(settings, "医療機器の板金外装")
    answer = before.vectors.search(q[None, :], 5)[1].tolist()
    for point in ["vectors-written", "segment-files-written", "segment-renamed", "manifest-written", "published"]:
        _killed_at(point, "compact")
        held = load_indexes(settings)
        assert held.vectors.search(q[None, :], 5)[1].tolist() == answer, point
    report = compact_indexes(settings, force=True)
    assert report is not None and report.rows == len(wanted)
    after = load_indexes(settings)
    assert len(after.segments) == 1 and after.vectors.search(q[None, :], 5)[1].tolist() == answer
    _in_step(engine, settings)
    assert sync_indexes(engine, settings, cached).version is None  # nothing left to do


def test_an_hnsw_segment_walks_at_least_as_wide_as_the_list_it_returns(tmp_path):
    """FAISS stops walking the graph once efSearch candidates beat the next one, however many
    results were asked for: a segment's list of k must come from a walk at least k wide, not
    from the configured efSearch alone (which gave 0.943 owner recall on real vectors)."""
    vecs = unit(4000, d=32, seed=7)
    store, _ = _versions(tmp_path, [(np.arange(4000), vecs, _docs(4000, 7))], hnsw_threshold=100)
    version = open_version(store.root, ef_search=8)
    seg = version.segments[0]
    assert seg.kind == "hnsw"
    queries = unit(30, d=32, seed=8)
    truth = [set(np.argsort(-(vecs @ q))[:200].tolist()) for q in queries]
    listed = [set(version.vectors.search(q[None, :], 200)[1][0].tolist()) for q in queries]
    index, _ = seg._faiss  # efSearch 8 as configured, asked for twice the list
    narrow = [set(index.search(q[None, :], 400)[1][0][:200].tolist()) for q in queries]
    recall = np.mean([len(a & t) / 200 for a, t in zip(listed, truth, strict=True)])
    recall_narrow = np.mean([len(a & t) / 200 for a, t in zip(narrow, truth, strict=True)])
    assert recall >= 0.95 and recall > recall_narrow + 0.05, (recall, recall_narrow)
