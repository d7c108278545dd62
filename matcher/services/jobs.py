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
from matcher.infra.jobs import JobHandle, JobRunner
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


def run_index(handle: JobHandle) -> SyncReport:
    """The index job's work: bring the indexes in step with the store, with progress."""
    from matcher.search.embed import get_embedder

    embedder = handle.resource("embedder") or get_embedder(handle.settings)
    report = sync_indexes(handle.engine, handle.settings, embedder, progress=handle.advance,
                          on_total=handle.set_total)
    return report


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
