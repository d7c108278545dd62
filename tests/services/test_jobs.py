"""Hostile and careless input, as the probe of the service sent it: each gets a 4xx with a Japanese
message (or a row error inside an otherwise good import), bounded memory, and nothing half-stored."""

import pytest
from sqlmodel import select

from matcher.store.db import session_scope
from matcher.store.tables import Document
from tests.support import FIXTURES, HEADER, bearer, upload


def test_an_import_returns_before_indexing_and_the_job_catches_up(desk, embedder):
    from matcher.search.indexing import stale_documents

    c = desk["client"]
    r = upload(c, bearer(c), "new.csv", (HEADER + "IX1,索引テスト（架空）,企業,日野市,5,2599,切削,,チタンの切削,,いいえ\n").encode())
    assert r.status_code == 200 and r.json()["index"]["status"] == "queued", r.text
    job = desk["app"].state.matcher.jobs.wait(300)
    assert job.state == "done", job.error
    assert stale_documents(desk["engine"]) == 0
    status = c.get("/api/index/status", headers=bearer(c)).json()
    assert status["state"] == "done" and status["stale_documents"] == 0


def test_a_crash_after_storing_is_repaired_at_start_up(tmp_path, embedder):
    """kill -9 between the import's commit and the indexing: rows stored, never indexed."""
    from api.app import create_app
    from matcher.config import Settings
    from matcher.exchange.catalog import import_file
    from matcher.search.indexing import stale_documents
    from matcher.store.db import get_engine, upgrade

    settings = Settings(data_dir=tmp_path / "crash")
    settings.ensure_dirs()
    engine = get_engine(settings.sqlalchemy_url)
    upgrade(engine)
    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")  # stored; the indexer never ran
    assert stale_documents(engine) > 0
    app = create_app(settings)  # start-up finds the stale documents and queues a job
    job = app.state.matcher.jobs.wait(300)
    assert job is not None and job.params["reason"] == "repair" and job.state == "done", job
    assert stale_documents(engine) == 0
    with session_scope(engine) as s:
        assert all(d.indexed_hash == d.content_hash for d in s.exec(select(Document)))


def test_rq_workers_share_the_queue_through_redis(tmp_path, embedder):
    from redis import Redis
    from rq import Queue, SimpleWorker

    from matcher.config import Settings
    from matcher.exchange.catalog import import_file
    from matcher.infra.jobs import QUEUE
    from matcher.search.indexing import stale_documents
    from matcher.services.jobs import IndexJobs
    from matcher.store.db import get_engine, upgrade

    settings = Settings(data_dir=tmp_path / "rq", redis_url="redis://127.0.0.1:6379/0")
    settings.ensure_dirs()
    engine = get_engine(settings.sqlalchemy_url)
    upgrade(engine)
    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    redis = Redis.from_url(settings.redis_url)
    queue = Queue(QUEUE, connection=redis)
    queue.empty()
    jobs = IndexJobs(engine, settings, lambda: embedder)
    job = jobs.enqueue("import")
    assert jobs.enqueue("import again").id == job.id  # a queued job is reused, not duplicated
    # The worker process reads its settings from the environment, as `matcher worker` would.
    import os

    old = {k: os.environ.get(k) for k in ("MATCHER_DATA_DIR", "MATCHER_REDIS_URL")}
    os.environ.update(MATCHER_DATA_DIR=str(settings.data_dir), MATCHER_REDIS_URL=settings.redis_url)
    from matcher.config import get_settings

    get_settings.cache_clear()
    try:
        SimpleWorker([queue], connection=redis).work(burst=True)
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        get_settings.cache_clear()
    assert jobs.latest().state == "done" and stale_documents(engine) == 0


STUCK_WORKER = """
import os, sys, time
import matcher.services.jobs as jobs
jobs.run_embed_chunk = lambda handle: time.sleep(3600)  # a worker that takes a chunk and never finishes it
from redis import Redis
from rq import SimpleWorker
from matcher.infra.jobs import QUEUE
SimpleWorker([QUEUE], connection=Redis.from_url(os.environ["MATCHER_REDIS_URL"])).work()
"""


@pytest.mark.slow  # worker processes, each loading the embedder
def test_embedding_is_spread_over_workers_and_a_killed_workers_chunk_is_done_again_once(tmp_path, embedder):
    """An index job cuts its embedding into chunk jobs on the RQ queue; a worker killed while it
    holds a chunk loses nothing (the chunk is submitted again and done once), the chunks are done
    by more than one process, and the vectors land in the store, from which the index is built."""
    import contextlib
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time
    from pathlib import Path

    from redis import Redis

    from matcher.config import Settings
    from matcher.exchange.catalog import import_file
    from matcher.infra.jobs import INTERRUPTED_JA, execute
    from matcher.search.indexing import load_indexes, stale_documents
    from matcher.search.vectors import StoredVectors
    from matcher.services.jobs import EMBED_KIND, HANDLER, KIND
    from matcher.store.db import get_engine, upgrade
    from matcher.store.tables import Job

    worker_no = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").lstrip("gw") or 0)
    url = f"redis://127.0.0.1:6379/{8 + worker_no}"  # a database of its own: no other test's jobs
    redis = Redis.from_url(url)
    redis.flushdb()
    settings = Settings(data_dir=tmp_path / "spread", redis_url=url, embed_chunk_texts=2)
    settings.ensure_dirs()
    engine = get_engine(settings.sqlalchemy_url)
    upgrade(engine)
    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    env = {**os.environ, "MATCHER_DATA_DIR": str(settings.data_dir), "MATCHER_REDIS_URL": url, "MATCHER_THREADS": "1"}
    stuck = subprocess.Popen([sys.executable, "-c", STUCK_WORKER], env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)  # idle on the queue before the chunks come: it takes the first one
    worker = subprocess.Popen([str(Path(sys.executable).parent / "matcher"), "worker"], env=env,
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with session_scope(engine) as s:
            parent = Job(kind=KIND, handler=HANDLER, params={"reason": "test"}, subject="index")
            s.add(parent)
            s.flush()
            parent_id = parent.id
        run = threading.Thread(target=execute, args=(parent_id, engine, settings, {"embedder": lambda: embedder}))
        run.start()
        deadline = time.monotonic() + 120
        held = None
        while held is None and time.monotonic() < deadline:
            with session_scope(engine) as s:
                held = s.exec(select(Job).where(Job.kind == EMBED_KIND, Job.state == "running")).all()
            held = next((j for j in held if _in_group(j.worker, stuck.pid)), None)
            time.sleep(0.1)
        assert held is not None, "the stuck worker never took a chunk"
        os.killpg(stuck.pid, signal.SIGKILL)  # the worker and the work horse holding the chunk
        run.join(180)
        assert not run.is_alive()
        with session_scope(engine) as s:
            chunks = s.exec(select(Job).where(Job.kind == EMBED_KIND).order_by(Job.id)).all()
            parent = s.get(Job, parent_id)
            doc_ids = sorted(d.id for d in s.exec(select(Document)))
            hashes = [d.content_hash for d in s.exec(select(Document))]
    finally:
        for proc in (stuck, worker):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        redis.flushdb()
    assert parent.state == "done", (parent.state, parent.error_detail)
    assert parent.total == len(doc_ids) == 7
    killed = next(j for j in chunks if j.id == held.id)
    assert killed.state == "failed" and killed.error == INTERRUPTED_JA
    again = [j for j in chunks if j.params["documents"] == killed.params["documents"] and j.id != killed.id]
    assert len(again) == 1 and again[0].state == "done" and again[0].params["attempt"] == 2
    done = [j for j in chunks if j.state == "done"]
    covered = sorted(i for j in done for i in j.params["documents"])
    assert covered == doc_ids  # every document in exactly one finished chunk
    assert len({j.worker.split("@")[0] for j in done}) >= 2  # spread over processes
    assert not StoredVectors(engine).missing(embedder.model_id_for("passage"), hashes)
    assert stale_documents(engine) == 0 and len(load_indexes(settings).vectors) == 7


def _in_group(worker: str | None, leader: int) -> bool:
    """Whether ``host:pid`` is the leader or a child of that process group (RQ's work horse)."""
    import os

    pid = (worker or "").split("@")[0].rpartition(":")[2]
    try:
        return pid.isdigit() and os.getpgid(int(pid)) == leader
    except ProcessLookupError:
        return False
