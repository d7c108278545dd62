"""Keeps the on-disk index versions in step with the stored documents.

A document is (re)indexed only when its content hash differs from the hash the index holds
(``Document.indexed_hash``) or when the published version does not hold it; documents that
disappeared from the store are tombstoned. A sync writes one new segment with only those
documents (``search.segments``), so its cost follows the change, not the corpus. Embeddings go
through the cache, so even a lost index rebuilds without re-embedding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, func, or_, tuple_, update
from sqlmodel import select

from matcher.config import Settings
from matcher.search import segments
from matcher.search.segments import IndexStore, IndexVersion, Manifest, open_version
from matcher.search.vectors import StoredVectors
from matcher.store.db import session_scope
from matcher.store.tables import Document
from matcher.text import lemmas


@dataclass
class SyncReport:
    documents: int
    indexed: int
    removed: int
    embedded: int
    version: str | None = None  # the version published (None: nothing changed)
    compacted: bool = False


@dataclass(frozen=True)
class CompactReport:
    version: str
    segments_before: int
    rows_before: int
    rows: int


def index_root(settings: Settings) -> Path:
    return settings.data_dir / "index"


def index_version(settings: Settings) -> str | None:
    """The published version's name (None before the first sync): what caches key on."""
    return IndexStore(index_root(settings)).current_name()


def load_indexes(settings: Settings) -> IndexVersion:
    """The published version, memory-mapped (``version.vectors`` and ``version.bm25`` are what
    the retriever searches)."""
    return open_version(index_root(settings), ef_search=settings.hnsw_ef_search, preload=settings.index_preload)


@contextmanager
def index_lock(settings: Settings) -> Iterator[None]:
    """One writer of the index at a time, across threads and processes on this machine."""
    import fcntl

    path = index_root(settings) / ".lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def model_changed(settings: Settings) -> bool:
    """The published version was embedded by another model than the configured one (a sync
    re-embeds every document)."""
    from matcher.search.embed import passage_model_id

    current = IndexStore(index_root(settings)).current()
    return current is not None and current.model != passage_model_id(settings)


def document_count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return session.exec(select(func.count()).select_from(Document)).one()


def unembedded_documents(engine: Engine, settings: Settings, model: str) -> list[int]:
    """Ids of documents the next sync re-indexes (every one when nothing is published under
    ``model``, else the stale ones) whose text has no stored vector under ``model``: the
    embedding it would do, which ``services.jobs`` spreads over workers."""
    current = IndexStore(index_root(settings)).current()
    query = select(Document.id, Document.content_hash).order_by(Document.id)
    if current is not None and current.model == model:
        query = query.where(or_(Document.indexed_hash.is_(None), Document.indexed_hash != Document.content_hash))
    with session_scope(engine) as session:
        rows = session.exec(query).all()
    missing = set(StoredVectors(engine).missing(model, [h for _, h in rows]))
    return [int(i) for i, h in rows if h in missing]


def stale_documents(engine: Engine) -> int:
    """Documents stored but not (or not as they are now) in the indexes: what a sync would do."""
    with session_scope(engine) as session:
        return session.exec(select(func.count()).select_from(Document).where(
            or_(Document.indexed_hash.is_(None), Document.indexed_hash != Document.content_hash))).one()


def sync_indexes(engine: Engine, settings: Settings, embedder,
                 progress: Callable[[int], None] | None = None,
                 on_total: Callable[[int], None] | None = None) -> SyncReport:
    with index_lock(settings):
        return _sync(engine, settings, embedder, progress, on_total)


def _sync(engine: Engine, settings: Settings, embedder, progress: Callable[[int], None] | None,
          on_total: Callable[[int], None] | None) -> SyncReport:
    store = IndexStore(index_root(settings))
    current = store.current()
    with session_scope(engine) as session:
        docs = session.exec(select(Document.id, Document.text, Document.content_hash,
                                   Document.indexed_hash)).all()
    model = embedder.model_id_for("passage")
    # Vectors from another model (or precision) are not comparable with today's queries: when
    # the configured document model changed, every document is re-embedded into a new version.
    same_model = current is not None and current.model == model
    held = open_version(store.root) if same_model else IndexVersion(None)
    held_rows = held.rows_of([int(d[0]) for d in docs]) if docs else np.zeros(0, dtype=np.int64)
    stale = [d for d, row in zip(docs, held_rows, strict=True) if d[3] != d[2] or row < 0]
    live = np.array(sorted(int(d[0]) for d in docs), dtype=np.int64)
    gone = held.live_ids[~np.isin(held.live_ids, live)]
    if on_total:
        on_total(len(stale))
    before = getattr(embedder, "encoded_", 0)
    report = SyncReport(len(docs), len(stale), len(gone), 0)
    if not stale and not len(gone) and same_model:
        return report
    version = store.next_version()
    entries = []
    replaced = np.concatenate([np.array([int(d[0]) for d in stale], dtype=np.int64), gone])
    for seg, entry in zip(held.segments, current.segments if same_model else (), strict=True):
        dead = seg.dead | np.isin(np.asarray(seg.ids), replaced)
        if dead.all():
            continue  # nothing of it is live: the new version does not name it
        entries.append(store.tombstone(entry, dead, version) if dead.sum() != seg.dead.sum() else entry)
    segments.checkpoint("tombstones-written")
    dim = current.dim if current is not None else 0
    if stale:
        vecs = stored_vectors(engine, model, [(d[2], d[1]) for d in stale], embedder, progress)
        dim = int(vecs.shape[1])
        entries.append(store.new_segment(version, np.array([int(d[0]) for d in stale], dtype=np.int64), vecs,
                                         [lemmas(d[1], normalized=True) for d in stale],
                                         hnsw_threshold=settings.hnsw_threshold))
    manifest = Manifest(version=version, model=model, dim=dim, segments=tuple(entries))
    store.publish(manifest)
    _mark_indexed(engine, [(int(d[0]), d[2]) for d in stale])
    store.collect_garbage()
    report.embedded = getattr(embedder, "encoded_", 0) - before
    report.version = manifest.name
    if manifest.needs_compaction():
        report.compacted = _compact(settings, store) is not None
    return report


def _mark_indexed(engine: Engine, pairs: list[tuple[int, str]]) -> None:
    """Record what the published version holds, in batches: a document edited since it was read
    keeps its mismatch (its id and hash no longer match the pair), so the next sync takes it."""
    with session_scope(engine) as session:
        for start in range(0, len(pairs), 500):
            chunk = pairs[start:start + 500]
            session.exec(update(Document).where(tuple_(Document.id, Document.content_hash).in_(chunk))
                         .values(indexed_hash=Document.content_hash))


def stored_vectors(engine: Engine, model: str, items: list[tuple[str, str]], embedder,
                   progress: Callable[[int], None] | None = None) -> np.ndarray:
    """The vectors of (content hash, text) items, in order: from the store, embedding (and
    storing) only the texts no worker has embedded yet. The index is built from the stored
    (float16) values, so every machine builds the same version from the same store."""
    store = StoredVectors(engine)
    hashes = [h for h, _ in items]
    todo = store.missing(model, hashes)
    if progress and len(items) > len(todo):
        progress(len(items) - len(todo))
    if todo:
        text_of = dict(items)
        fresh = embedder.encode([text_of[h] for h in todo], "passage", progress)
        store.put_many(model, dict(zip(todo, fresh, strict=True)))
    found = store.get_many(model, hashes)
    return np.stack([found[h] for h in hashes]).astype(np.float32)


def compact_indexes(settings: Settings, force: bool = False) -> CompactReport | None:
    """Merge the published version's segments into one (live rows only), when there are too many
    segments or tombstones (or ``force``). Readers keep the version they hold until they reload."""
    with index_lock(settings):
        store = IndexStore(index_root(settings))
        current = store.current()
        if current is None or not (force or current.needs_compaction()):
            return None
        return _compact(settings, store)


def _compact(settings: Settings, store: IndexStore) -> CompactReport | None:
    current = store.current()
    if current is None:
        return None
    held = open_version(store.root)
    ids, vecs, docs = [], [], []
    for seg in held.segments:
        rows = np.flatnonzero(~seg.dead)
        ids.append(np.asarray(seg.ids)[rows])
        vecs.append(np.asarray(seg.vectors[rows], dtype=np.float32))
        docs.extend(seg.lemma_lists(rows))
    entries, version = [], store.next_version()
    if docs:
        entries.append(store.new_segment(version, np.concatenate(ids), np.concatenate(vecs), docs,
                                         hnsw_threshold=settings.hnsw_threshold))
    manifest = Manifest(version=version, model=current.model, dim=current.dim, segments=tuple(entries))
    store.publish(manifest)
    store.collect_garbage()
    return CompactReport(manifest.name, len(current.segments), current.rows, len(docs))
