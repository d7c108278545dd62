"""Keeps the on-disk indexes in step with the stored documents.

A document is (re)indexed only when its content hash differs from the hash the indexes hold
(``Document.indexed_hash``); documents that disappeared from the store are removed from the
indexes. Embeddings go through the cache, so even a lost index rebuilds without re-embedding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, or_
from sqlmodel import select

from matcher.config import Settings
from matcher.search.index import BM25Index, VectorIndex
from matcher.store.db import session_scope
from matcher.store.tables import Document
from matcher.text import lemmas


@dataclass
class IndexPaths:
    vectors: Path
    bm25: Path

    @classmethod
    def of(cls, settings: Settings) -> IndexPaths:
        root = settings.data_dir / "index"
        return cls(root / "vectors.npz", root / "bm25.json")


@dataclass
class SyncReport:
    documents: int
    indexed: int
    removed: int
    embedded: int



def load_indexes(settings: Settings) -> tuple[VectorIndex, BM25Index]:
    paths = IndexPaths.of(settings)
    vectors = VectorIndex.load(paths.vectors) if paths.vectors.exists() else VectorIndex(
        hnsw_threshold=settings.hnsw_threshold)
    bm25 = BM25Index.load(paths.bm25) if paths.bm25.exists() else BM25Index()
    return vectors, bm25


@contextmanager
def index_lock(settings: Settings) -> Iterator[None]:
    """One writer of the index files at a time, across threads and processes on this machine."""
    import fcntl

    path = settings.data_dir / "index" / ".lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def model_changed(settings: Settings) -> bool:
    """The saved vector index was embedded by another model than the configured one (a sync
    re-embeds every document)."""
    from matcher.search.embed import passage_model_id

    recorded = VectorIndex.recorded_model(IndexPaths.of(settings).vectors)
    return recorded is not None and recorded != passage_model_id(settings)


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
    vectors, bm25 = load_indexes(settings)
    with session_scope(engine) as session:
        docs = session.exec(select(Document.id, Document.text, Document.content_hash,
                                   Document.indexed_hash)).all()
    live = {int(d[0]) for d in docs}
    model = embedder.model_id_for("passage")
    # Vectors from another model (or precision) are not comparable with today's queries: when
    # the configured document model changed, every document is re-embedded.
    same_model = vectors.model == model
    stale = [d for d in docs if not same_model or d[3] != d[2] or int(d[0]) not in vectors or int(d[0]) not in bm25]
    gone = [int(i) for i in vectors.ids if int(i) not in live]
    if on_total:
        on_total(len(stale))
    before = getattr(embedder, "encoded_", 0)
    if stale:
        ids = [int(d[0]) for d in stale]
        vecs = embedder.encode([d[1] for d in stale], "passage", progress)
        vectors.update(ids, vecs)
        bm25.update(ids, [lemmas(d[1], normalized=True) for d in stale])
    if gone:
        vectors.remove(gone)
        bm25.remove(gone)
    vectors.model = model
    if stale or gone or not same_model:
        paths = IndexPaths.of(settings)
        vectors.save(paths.vectors)
        bm25.save(paths.bm25)
        with session_scope(engine) as session:
            for doc_id, _, content_hash, _ in stale:
                doc = session.get(Document, int(doc_id))
                if doc is not None and doc.content_hash == content_hash:
                    doc.indexed_hash = content_hash
                    session.add(doc)
    return SyncReport(len(docs), len(stale), len(gone), getattr(embedder, "encoded_", 0) - before)
