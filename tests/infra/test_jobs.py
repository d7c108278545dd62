"""The one job runner (matcher.infra.jobs) as indexing and forum seating use it: claim, progress,
cancellation, one active seating per event, and repair after the process running a job died."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from sqlmodel import select

from matcher.errors import Conflict
from matcher.services import forum
from matcher.store.db import session_scope
from matcher.store.tables import Job
from tests.support import CORPORA

ROSTER = CORPORA / "demo" / "forum_participants.csv"


def _state(settings):
    from api.deps import AppState

    return AppState.create(settings)


def _wait(engine, job_id: int, states: tuple[str, ...], timeout: float = 120) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(engine) as s:
            job = s.get(Job, job_id)
        if job is not None and job.state in states:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached {states}")


def _wait_progress(engine, job_id: int, timeout: float = 120) -> None:
    """Until the job has reported progress at least once (it is past loading and inside the solver)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(engine) as s:
            if s.get(Job, job_id).done > 0:
                return
        time.sleep(0.2)
    raise AssertionError("no progress reported")


def never(handle):  # pragma: no cover — a handler a test queues but never runs
    raise AssertionError("must not run")


def test_a_seating_job_killed_with_its_process_is_repaired_and_can_run_again(demo_copy, tmp_path):
    """kill -9 of the service while it seats a forum (thread mode): after a restart the job says it
    was interrupted, the earlier chart was printable all along, and the event can be seated again."""
    st = _state(demo_copy)
    event = forum.import_participants(st.engine, ROSTER, "中断テスト").event_id
    first = forum.queue_seating(st.runner, event, rounds=2, table_size=8, seconds=1)
    assert _wait(st.engine, first.id, ("done", "failed")).state == "done"
    script = textwrap.dedent(f"""
        import time
        from api.deps import AppState
        from matcher.config import get_settings
        from matcher.services import forum
        st = AppState.create(get_settings())
        job = forum.queue_seating(st.runner, {event}, rounds=3, table_size=8, seconds=600)
        print(job.id, flush=True)
        time.sleep(900)
    """)
    env = {**os.environ, "MATCHER_DATA_DIR": str(demo_copy.data_dir)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    try:
        job_id = int(proc.stdout.readline())
        running = _wait(st.engine, job_id, ("running",), timeout=180)
        assert running.worker and running.worker.endswith(f":{proc.pid}")
        _wait_progress(st.engine, job_id)
        # While it runs, the earlier seating stays printable and a second run is refused.
        assert forum.forum_chart(st.engine, event).rounds
        with pytest.raises(Conflict):
            forum.queue_seating(st.runner, event, rounds=2, table_size=8, seconds=1)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    restarted = _state(demo_copy)  # what a restart of the service does first
    job = restarted.runner.get(job_id)
    assert job.state == "failed" and "中断されました" in job.error and "もう一度実行できます" in job.error
    assert job.lock_key is None
    again = forum.queue_seating(restarted.runner, event, rounds=2, table_size=8, seconds=1)
    assert _wait(restarted.engine, again.id, ("done", "failed")).state == "done"
    assert forum.seating_job(restarted.runner, event).id == again.id


def test_a_running_job_can_be_cancelled_and_a_queued_one_at_once(demo_copy):
    st = _state(demo_copy)
    event = forum.import_participants(st.engine, ROSTER, "取消テスト").event_id
    job = forum.queue_seating(st.runner, event, rounds=3, table_size=8, seconds=600)
    _wait(st.engine, job.id, ("running",))
    _wait_progress(st.engine, job.id)
    st.runner.cancel(job.id)
    done = _wait(st.engine, job.id, ("cancelled", "failed", "done"), timeout=60)
    assert done.state == "cancelled" and done.error == "取り消しました。" and done.lock_key is None
    with session_scope(st.engine) as s:  # a queued job (never dispatched) is cancelled at once
        queued = Job(kind="probe", handler="tests.test_jobs:never", state="queued", lock_key="probe")
        s.add(queued)
        s.flush()
        queued_id = queued.id
    assert st.runner.cancel(queued_id).state == "cancelled"


def test_index_jobs_coalesce_while_queued_and_report_their_reason(demo_copy):
    from matcher.infra.jobs import JobRunner
    from matcher.services.jobs import IndexJobs
    from matcher.store.db import get_engine

    engine = get_engine(demo_copy.sqlalchemy_url)
    runner = JobRunner(engine, demo_copy)
    runner._start_lane = lambda kind: None  # nothing runs: the jobs stay queued for the check
    jobs = IndexJobs(engine, demo_copy, lambda: None, runner)
    first = jobs.enqueue("import")
    assert jobs.enqueue("import again").id == first.id and first.params == {"reason": "import"}
    with session_scope(engine) as s:
        assert len(s.exec(select(Job).where(Job.kind == "index", Job.state == "queued")).all()) == 1
    assert jobs.status().state == "queued"
