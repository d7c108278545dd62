"""One job runner for everything long (indexing, forum seating, …): a row per job, run on an RQ
worker when ``MATCHER_REDIS_URL`` is set, else on a thread of this process.

The row is the truth every page and worker reads: state (queued → running → done | failed |
cancelled), progress, a Japanese error, who runs it. A job is claimed with a compare-and-set
(queued → running), so of several workers only one runs it; the running process beats the
row's ``heartbeat_at`` from a side thread, and a job whose worker died (its process is gone on
this machine, or its heartbeat stopped) is failed by ``repair`` at the next start-up with a
message that says so — and can be started again, because its lock is released.

A handler is ``module:function`` taking a ``JobHandle``; it reports progress through the handle,
which also tells it when a cancellation was asked for (``JobCancelled`` ends it cleanly).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from matcher.config import Settings
from matcher.dates import utcnow
from matcher.errors import Conflict, MatcherError, NotFound
from matcher.store.db import session_scope
from matcher.store.tables import Job

log = logging.getLogger("matcher.jobs")
QUEUE = "matcher-jobs"
HEARTBEAT_S = 5.0
STALE_AFTER = timedelta(seconds=60)  # a running job whose heartbeat is older was abandoned
ACTIVE = ("queued", "running")
INTERRUPTED_JA = "処理が中断されました（処理していたサービスまたはワーカーが停止しました）。もう一度実行できます。"
BUG_JA = "内部エラーで処理できませんでした。管理者に連絡してください。"
CANCELLED_JA = "取り消しました。"


class JobCancelled(Exception):
    """Raised inside a handler (by ``JobHandle.report``) once a cancellation was asked for."""


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_here(worker: str | None) -> bool:
    """Whether ``worker`` (``host:pid``, optionally ``@run``) was a process of this machine that
    no longer exists. A worker elsewhere is never known dead here: leases decide for it."""
    host, _, pid = (worker or "").split("@", 1)[0].rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid))


def _abandoned(job: Job, now) -> bool:
    """A running job nobody runs any more: its process is gone (same machine) or silent."""
    if dead_here(job.worker):
        return True
    beat = job.heartbeat_at or job.started_at or job.created_at
    return beat is None or now - beat > STALE_AFTER


def _set(engine: Engine, job_id: int, **values: Any) -> None:
    with session_scope(engine) as s:
        s.exec(update(Job).where(Job.id == job_id).values(**values))


@dataclass
class JobHandle:
    """What a handler gets: its parameters, a progress reporter, resources of the process that
    runs it (the web service's cached match context, say) and the cancellation flag."""

    engine: Engine
    settings: Settings
    job_id: int
    params: dict[str, Any]
    resources: dict[str, Callable[[], Any]] = field(default_factory=dict)
    _last: float = 0.0
    _total: int = 0
    _done: int = 0

    def resource(self, name: str) -> Any | None:
        make = self.resources.get(name)
        return make() if make is not None else None

    def report(self, done: int | None = None, total: int | None = None, force: bool = False, **figures: Any) -> None:
        """Progress (at most one write a second unless ``force``); raises ``JobCancelled`` once
        someone asked to cancel."""
        if total is not None:
            self._total = total
        if done is not None:
            self._done = done
        if not force and time.monotonic() - self._last < 1.0:
            return
        self._last = time.monotonic()
        with session_scope(self.engine) as s:
            s.exec(update(Job).where(Job.id == self.job_id).values(
                total=self._total, done=self._done, progress=figures, heartbeat_at=utcnow()))
            cancel = s.exec(select(Job.cancel_requested).where(Job.id == self.job_id)).first()
        if cancel:
            raise JobCancelled()

    def advance(self, n: int) -> None:
        self.report(done=self._done + n)

    def set_total(self, n: int) -> None:
        self.report(total=n, force=True)


def execute(job_id: int, engine: Engine | None = None, settings: Settings | None = None,
            resources: dict[str, Callable[[], Any]] | None = None) -> dict[str, Any]:
    """Claim and run one queued job (what an RQ worker calls, and the thread runner)."""
    from matcher.config import get_settings
    from matcher.store.db import get_engine

    settings = settings or get_settings()
    engine = engine or get_engine(settings.sqlalchemy_url)
    now = utcnow()
    with session_scope(engine) as s:
        claimed = s.exec(update(Job).where(Job.id == job_id, Job.state == "queued").values(
            state="running", coalesce_key=None, worker=worker_id(), started_at=now, heartbeat_at=now)).rowcount
        job = s.get(Job, job_id)
    if not claimed or job is None:
        return {"skipped": True}
    handle = JobHandle(engine, settings, job_id, dict(job.params), resources or {})
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(engine, job_id, stop), daemon=True, name=f"matcher-beat-{job_id}")
    beat.start()
    try:
        module, _, name = job.handler.partition(":")
        value = getattr(importlib.import_module(module), name)(handle)
        # What a handler returns (a typed result) is kept on the job's row as JSON.
        result = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else (value or {})
    except JobCancelled:
        _finish(engine, job_id, "cancelled", error=CANCELLED_JA)
        return {"cancelled": True}
    except MatcherError as exc:
        _finish(engine, job_id, "failed", error=exc.message_ja, error_detail=exc.message_en[:2000])
        return {"error": exc.message_ja}
    except Exception as exc:
        log.exception("job %s (%s) failed", job_id, job.kind)
        _finish(engine, job_id, "failed", error=BUG_JA, error_detail=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    finally:
        stop.set()
    _finish(engine, job_id, "done", result=result, done=max(handle._done, handle._total), total=handle._total)
    return result


def _heartbeat(engine: Engine, job_id: int, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        with contextlib.suppress(Exception):  # a database hiccup must not kill the job itself
            _set(engine, job_id, heartbeat_at=utcnow())


def _finish(engine: Engine, job_id: int, state: str, **values: Any) -> None:
    _set(engine, job_id, state=state, lock_key=None, coalesce_key=None, finished_at=utcnow(), **values)


class JobRunner:
    """Submits jobs and runs them: RQ on Redis when configured, else a thread per kind here.
    ``resources`` are what handlers running in this process may borrow (thread mode only)."""

    def __init__(self, engine: Engine, settings: Settings,
                 resources: dict[str, Callable[[], Any]] | None = None) -> None:
        self.engine, self.settings = engine, settings
        self.resources = resources or {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        return "rq" if self.settings.redis_url else "thread"

    def submit(self, kind: str, handler: str, params: dict[str, Any] | None = None, *, subject: str = "",
               lock_key: str | None = None, coalesce_key: str | None = None) -> Job:
        """Queue a job. With ``coalesce_key`` an already queued job of that key is returned
        instead; with ``lock_key`` a second active job of that key is a ``Conflict``."""
        job = Job(kind=kind, handler=handler, params=params or {}, subject=subject, lock_key=lock_key,
                  coalesce_key=coalesce_key)
        try:
            with session_scope(self.engine) as s:
                s.add(job)
                s.flush()
        except IntegrityError:
            if coalesce_key is not None:
                with session_scope(self.engine) as s:
                    queued = s.exec(select(Job).where(Job.coalesce_key == coalesce_key)).first()
                if queued is not None:
                    return queued
                return self.submit(kind, handler, params, subject=subject, lock_key=lock_key,
                                   coalesce_key=coalesce_key)  # it was claimed meanwhile: queue anew
            raise Conflict("同じ処理を実行中です。終わるまでお待ちください",
                           f"a {kind} job for {lock_key} is already queued or running") from None
        self._dispatch(job)
        return job

    def _dispatch(self, job: Job) -> None:
        if self.settings.redis_url:
            from redis import Redis
            from rq import Queue

            Queue(QUEUE, connection=Redis.from_url(self.settings.redis_url)).enqueue(
                execute, job.id, job_id=rq_id(job.id), job_timeout=6 * 3600, result_ttl=3600)
        else:
            self._start_lane(job.kind)

    def _start_lane(self, kind: str) -> None:
        with self._lock:
            thread = self._threads.get(kind)
            if thread is None or not thread.is_alive():
                thread = threading.Thread(target=self._drain, args=(kind,), name=f"matcher-jobs-{kind}", daemon=True)
                self._threads[kind] = thread
                thread.start()

    def _drain(self, kind: str) -> None:
        """Run this kind's queued jobs in order, one at a time, until none is left."""
        while True:
            with session_scope(self.engine) as s:
                job = s.exec(select(Job).where(Job.kind == kind, Job.state == "queued").order_by(Job.id)).first()
            if job is None:
                return
            try:
                execute(job.id, self.engine, self.settings, self.resources)
            except Exception:  # noqa: BLE001 — recorded on the job's row; the next job still runs
                log.exception("job %s failed", job.id)

    def cancel(self, job_id: int) -> Job:
        """A queued job is cancelled at once; a running one stops at its next progress report."""
        with session_scope(self.engine) as s:
            job = s.get(Job, job_id)
            if job is None:
                raise NotFound(f"ジョブ {job_id} はありません", f"no job {job_id}")
        if job.state == "queued":
            with session_scope(self.engine) as s:
                s.exec(update(Job).where(Job.id == job_id, Job.state == "queued").values(
                    state="cancelled", lock_key=None, coalesce_key=None, finished_at=utcnow(), error=CANCELLED_JA))
        elif job.state == "running":
            _set(self.engine, job_id, cancel_requested=True)
        return self.get(job_id)

    def repair(self) -> list[Job]:
        """At start-up: running jobs whose worker died are failed (and unlocked) with a Japanese
        message; queued jobs whose runner is gone are dispatched again. Returns the failed ones."""
        now = utcnow()
        failed = []
        with session_scope(self.engine) as s:
            running = s.exec(select(Job).where(Job.state == "running")).all()
            queued = s.exec(select(Job).where(Job.state == "queued")).all()
        for job in running:
            if _abandoned(job, now):
                with session_scope(self.engine) as s:
                    done = s.exec(update(Job).where(Job.id == job.id, Job.state == "running").values(
                        state="failed", lock_key=None, coalesce_key=None, finished_at=now, error=INTERRUPTED_JA,
                        error_detail=f"worker {job.worker} stopped (last heartbeat {job.heartbeat_at})")).rowcount
                if done:
                    failed.append(self.get(job.id))
        for job in queued:
            if self.settings.redis_url:
                from redis import Redis
                from rq.job import Job as RqJob

                if not RqJob.exists(rq_id(job.id), connection=Redis.from_url(self.settings.redis_url)):
                    self._dispatch(job)
            else:
                self._start_lane(job.kind)
        return failed

    def reclaim(self, job: Job) -> bool:
        """Fail a running job whose worker died (process gone here, or heartbeat silent), so that
        its work can be submitted again; True when this call failed it."""
        if job.state != "running" or not _abandoned(job, utcnow()):
            return False
        with session_scope(self.engine) as s:
            return bool(s.exec(update(Job).where(Job.id == job.id, Job.state == "running").values(
                state="failed", lock_key=None, coalesce_key=None, finished_at=utcnow(), error=INTERRUPTED_JA,
                error_detail=f"worker {job.worker} stopped (last heartbeat {job.heartbeat_at})")).rowcount)

    def get(self, job_id: int) -> Job:
        with session_scope(self.engine) as s:
            job = s.get(Job, job_id)
        if job is None:
            raise NotFound(f"ジョブ {job_id} はありません", f"no job {job_id}")
        return job

    def latest(self, kind: str, subject: str | None = None) -> Job | None:
        with session_scope(self.engine) as s:
            q = select(Job).where(Job.kind == kind)
            if subject is not None:
                q = q.where(Job.subject == subject)
            return s.exec(q.order_by(Job.id.desc())).first()

    def wait(self, kind: str, timeout_s: float = 600, subject: str | None = None) -> Job | None:
        """Until the latest job of the kind has ended (tests, and commands that wait)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self.latest(kind, subject)
            if job is None or job.state not in ACTIVE:
                return job
            time.sleep(0.2)
        return self.latest(kind, subject)


def rq_id(job_id: int) -> str:
    return f"matcher-job-{job_id}"
