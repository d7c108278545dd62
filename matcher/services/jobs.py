"""Indexing as a background job, so an import returns as soon as its rows are stored.

With ``MATCHER_REDIS_URL`` the job goes to an RQ queue on Redis and any number of ``matcher
worker`` processes, on any machine sharing the data directory, take it; without Redis one thread
of the service runs the queued jobs in turn. Either way a job is a row in the store
(``IndexJob``: queued → running → done | failed, with progress), so every worker and page sees
the same state, and the index files are written under a lock (``search.indexing.index_lock``).
A sync indexes everything stale, so queued jobs coalesce and a killed run is repaired by the
next one (``matcher index sync``, or the service's start-up).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import select

from matcher.config import Settings, get_settings
from matcher.search.indexing import model_changed, stale_documents, sync_indexes
from matcher.store.db import session_scope
from matcher.store.tables import IndexJob

QUEUE = "matcher-index"
log = logging.getLogger("matcher.jobs")


def _set(engine: Engine, job_id: int, **values: Any) -> None:
    with session_scope(engine) as s:
        job = s.get(IndexJob, job_id)
        if job is not None:
            for k, v in values.items():
                setattr(job, k, v)
            s.add(job)


def run_index_job(job_id: int, engine: Engine | None = None, settings: Settings | None = None,
                  embedder: Any = None) -> dict[str, Any]:
    """Run one queued job (the entry point an RQ worker imports); progress goes to its row."""
    from matcher.search.embed import get_embedder
    from matcher.store.db import get_engine

    settings = settings or get_settings()
    engine = engine or get_engine(settings.sqlalchemy_url)
    # Claim the job atomically: of several workers (threads or processes) only one runs it.
    with session_scope(engine) as s:
        claimed = s.exec(update(IndexJob).where(IndexJob.id == job_id, IndexJob.state == "queued")
                         .values(state="running", started_at=datetime.now(UTC))).rowcount
    if not claimed:
        return {"skipped": True}
    progress = _Progress(engine, job_id)
    try:
        report = sync_indexes(engine, settings, embedder or get_embedder(settings), progress=progress.advance,
                              on_total=progress.set_total)
    except Exception as exc:
        _set(engine, job_id, state="failed", error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=datetime.now(UTC))
        raise
    result = report.as_json()
    _set(engine, job_id, state="done", result=result, done=progress.done, total=max(progress.total, progress.done),
         finished_at=datetime.now(UTC))
    return result


class _Progress:
    """Writes progress to the job's row at most once a second."""

    def __init__(self, engine: Engine, job_id: int) -> None:
        self.engine, self.job_id = engine, job_id
        self.total = self.done = 0
        self._last = 0.0

    def set_total(self, n: int) -> None:
        self.total = n
        _set(self.engine, self.job_id, total=n)

    def advance(self, n: int) -> None:
        self.done += n
        if time.monotonic() - self._last > 1.0:
            self._last = time.monotonic()
            _set(self.engine, self.job_id, done=self.done)


@dataclass(frozen=True, kw_only=True)
class IndexStatus:
    job_id: int | None
    state: str  # idle | queued | running | done | failed
    total: int
    done: int
    error: str | None
    stale_documents: int
    backend: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class IndexJobs:
    def __init__(self, engine: Engine, settings: Settings, embedder_factory: Callable[[], Any]) -> None:
        self.engine, self.settings, self.embedder_factory = engine, settings, embedder_factory
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        return "rq" if self.settings.redis_url else "thread"

    def enqueue(self, reason: str) -> IndexJob:
        """A queued job that will index everything stale; an already queued one is reused."""
        with session_scope(self.engine) as s:
            job = s.exec(select(IndexJob).where(IndexJob.state == "queued").order_by(IndexJob.id)).first()
            if job is not None:
                return job
            job = IndexJob(reason=reason[:64])
            s.add(job)
            s.flush()
        if self.settings.redis_url:
            from redis import Redis
            from rq import Queue

            Queue(QUEUE, connection=Redis.from_url(self.settings.redis_url)).enqueue(
                run_index_job, job.id, job_id=f"matcher-index-{job.id}-{int(time.time())}", job_timeout=6 * 3600)
        else:
            self._start_thread()
        return job

    def _start_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._drain, name="matcher-index", daemon=True)
                self._thread.start()

    def _drain(self) -> None:
        while True:
            with session_scope(self.engine) as s:
                job = s.exec(select(IndexJob).where(IndexJob.state == "queued").order_by(IndexJob.id)).first()
            if job is None:
                return
            try:
                run_index_job(job.id, self.engine, self.settings, self.embedder_factory())
            except Exception:  # noqa: BLE001 — recorded on the job row; the next job still runs
                log.exception("index job %s failed", job.id)

    def repair(self) -> IndexJob | None:
        """At start-up: jobs this process's predecessor left running are over; anything stored
        but not indexed (a kill -9 mid-import), or indexed by another embedding model, gets a job."""
        if not self.settings.redis_url:
            with session_scope(self.engine) as s:
                for job in s.exec(select(IndexJob).where(IndexJob.state == "running")).all():
                    job.state, job.error, job.finished_at = "failed", "interrupted (service restarted)", datetime.now(UTC)
                    s.add(job)
                queued = s.exec(select(IndexJob).where(IndexJob.state == "queued")).first()
            if queued is not None:
                self._start_thread()
        return self.enqueue("repair") if stale_documents(self.engine) or model_changed(self.settings) else None

    def status(self) -> IndexStatus:
        """The latest job and how many documents still wait: what the desk, API and CLI show."""
        job = self.latest()
        return IndexStatus(job_id=job.id if job else None, state=job.state if job else "idle",
                           total=job.total if job else 0, done=job.done if job else 0,
                           error=job.error if job else None, stale_documents=stale_documents(self.engine),
                           backend=self.backend)

    def latest(self) -> IndexJob | None:
        with session_scope(self.engine) as s:
            return s.exec(select(IndexJob).order_by(IndexJob.id.desc())).first()

    def wait(self, timeout_s: float = 600) -> IndexJob | None:
        """Until no job is queued or running (tests, and the CLI after an import)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self.latest()
            if job is None or job.state in ("done", "failed"):
                return job
            time.sleep(0.2)
        return self.latest()
