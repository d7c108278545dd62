"""Indexing as a background job, so an import returns as soon as its rows are stored.

The job runs on the one job runner (``matcher.infra.jobs``: an RQ worker with
``MATCHER_REDIS_URL``, else a thread of the service), so the desk, the API and the CLI read one
row for its state and progress. A sync indexes everything stale, so a second request while one
is queued joins it (``coalesce_key``), the index files are written under a lock
(``search.indexing.index_lock``), and a killed run is repaired by the next one (``matcher index
sync``, or the service's start-up).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from matcher.config import Settings
from matcher.dates import utcnow
from matcher.infra.jobs import INTERRUPTED_JA, JobHandle, JobRunner
from matcher.search.indexing import (
    SyncReport,
    document_count,
    index_version,
    model_changed,
    stale_documents,
    sync_indexes,
)
from matcher.store.tables import Job

KIND = "index"
HANDLER = "matcher.services.jobs:run_index"


EMBED_KIND = "embed"
EMBED_HANDLER = "matcher.services.jobs:run_embed_chunk"
STEAL_AFTER_S = 1.0  # a chunk no other worker took within this long is embedded by the index job
MAX_ATTEMPTS = 3


def run_index(handle: JobHandle) -> SyncReport:
    """The index job's work: bring the indexes in step with the store, with progress. With RQ,
    the embedding is first spread over every worker in chunks (``spread_embedding``)."""
    from matcher.search.embed import get_embedder

    embedder = handle.resource("embedder") or get_embedder(handle.settings)
    if handle.settings.redis_url and spread_embedding(handle, embedder):
        handle.report(done=0, force=True)  # the sync counts the documents again, now from the store
    report = sync_indexes(handle.engine, handle.settings, embedder, progress=handle.advance,
                          on_total=handle.set_total)
    return report


@dataclass(frozen=True)
class EmbedChunkReport:
    documents: int
    embedded: int


def run_embed_chunk(handle: JobHandle) -> EmbedChunkReport:
    """One chunk of an index job's embedding: the documents' current texts, embedded unless a
    vector for that text is stored already (a chunk retried after its worker died after writing
    embeds nothing), stored for whichever machine builds the index."""
    from sqlmodel import select

    from matcher.search.embed import get_embedder
    from matcher.search.vectors import StoredVectors
    from matcher.store.db import session_scope
    from matcher.store.tables import Document

    embedder = handle.resource("embedder") or get_embedder(handle.settings)
    ids = [int(i) for i in handle.params["documents"]]
    with session_scope(handle.engine) as s:
        docs = s.exec(select(Document.content_hash, Document.text).where(Document.id.in_(ids))).all()
    model = embedder.model_id_for("passage")
    store = StoredVectors(handle.engine)
    todo = store.missing(model, [h for h, _ in docs])
    handle.set_total(len(docs))
    handle.advance(len(docs) - len(todo))
    if todo:
        text_of = dict(docs)
        vecs = embedder.encode([text_of[h] for h in todo], "passage", handle.advance)
        store.put_many(model, dict(zip(todo, vecs, strict=True)))
    return EmbedChunkReport(documents=len(docs), embedded=len(todo))


def spread_embedding(handle: JobHandle, embedder) -> int:
    """Cut the stale documents without a stored vector into chunk jobs on the RQ queue, which
    any ``matcher worker`` on any machine takes, and wait for them while embedding what nobody
    took within a second (so one worker alone still finishes). A chunk whose worker died is
    submitted again (at most three times); each chunk is claimed by one worker only. Progress is
    this job's: documents embedded of the total. Returns the chunks submitted."""
    import time

    from matcher.errors import MatcherError
    from matcher.infra.jobs import execute
    from matcher.search.indexing import unembedded_documents

    settings, engine = handle.settings, handle.engine
    pending = unembedded_documents(engine, settings, embedder.model_id_for("passage"))
    size = max(1, settings.embed_chunk_texts)
    if len(pending) <= size:
        return 0  # one chunk's worth: the sync embeds it itself
    runner = JobRunner(engine, settings, handle.resources)
    chunks = {}
    for start in range(0, len(pending), size):
        ids = pending[start:start + size]
        job = runner.submit(EMBED_KIND, EMBED_HANDLER, {"documents": ids, "parent": handle.job_id, "attempt": 1},
                            subject=f"index-job:{handle.job_id}")
        chunks[job.id] = ids
    handle.report(done=0, total=len(pending), force=True)
    submitted = len(chunks)
    while True:
        jobs = [runner.get(i) for i in sorted(chunks)]
        for job in jobs:
            if job.state == "running":
                runner.reclaim(job)
        jobs = [runner.get(job.id) for job in jobs]
        for job in jobs:
            if job.state in ("failed", "cancelled"):
                attempt = int(job.params.get("attempt", 1))
                if job.error != INTERRUPTED_JA or attempt >= MAX_ATTEMPTS:
                    raise MatcherError(f"文書の埋め込みの一部に失敗しました（{job.error}）",
                                       f"embedding chunk job {job.id} ended {job.state}: {job.error_detail}")
                ids = chunks.pop(job.id)
                again = runner.submit(EMBED_KIND, EMBED_HANDLER,
                                      {"documents": ids, "parent": handle.job_id, "attempt": attempt + 1},
                                      subject=f"index-job:{handle.job_id}")
                chunks[again.id] = ids
                submitted += 1
        handle.report(done=sum(j.done for j in jobs if j.id in chunks), total=len(pending))
        if all(j.state == "done" for j in jobs if j.id in chunks) and all(i in {j.id for j in jobs} for i in chunks):
            return submitted
        waiting = [j for j in jobs if j.state == "queued" and j.id in chunks
                   and (utcnow() - j.created_at).total_seconds() >= STEAL_AFTER_S]
        if waiting:  # steal from the back: other workers take the front
            execute(waiting[-1].id, engine, settings, {**handle.resources, "embedder": lambda: embedder})
        else:
            time.sleep(0.2)


@dataclass(frozen=True, kw_only=True)
class IndexStatus:
    job_id: int | None
    state: str  # idle | queued | running | done | failed | cancelled
    total: int
    done: int
    error: str | None
    stale_documents: int
    backend: str


class IndexJobs:
    """Index jobs on the runner: queue one, see the latest, repair at start-up."""

    def __init__(self, engine: Engine, settings: Settings, embedder_factory: Callable[[], Any],
                 runner: JobRunner | None = None) -> None:
        self.engine, self.settings = engine, settings
        self.runner = runner or JobRunner(engine, settings, {"embedder": embedder_factory})

    @property
    def backend(self) -> str:
        return self.runner.backend

    def enqueue(self, reason: str) -> Job:
        """A queued job that will index everything stale; an already queued one is reused."""
        return self.runner.submit(KIND, HANDLER, {"reason": reason[:64]}, subject="index", coalesce_key="index")

    def repair(self) -> Job | None:
        """At start-up (after the runner's own repair): anything stored but not indexed (a kill -9
        mid-import), indexed by another embedding model, or indexed in a format before segments
        (no published version), gets a job."""
        unpublished = index_version(self.settings) is None and document_count(self.engine) > 0  # an earlier format
        return (self.enqueue("repair") if stale_documents(self.engine) or model_changed(self.settings) or unpublished
                else None)

    def status(self) -> IndexStatus:
        """The latest job and how many documents still wait: what the desk, API and CLI show."""
        job = self.latest()
        return IndexStatus(job_id=job.id if job else None, state=job.state if job else "idle",
                           total=job.total if job else 0, done=job.done if job else 0,
                           error=job.error if job else None, stale_documents=stale_documents(self.engine),
                           backend=self.backend)

    def latest(self) -> Job | None:
        return self.runner.latest(KIND)

    def wait(self, timeout_s: float = 600) -> Job | None:
        """Until no index job is queued or running (tests, and the CLI after an import)."""
        return self.runner.wait(KIND, timeout_s)
