"""Hostile and careless input, as the probe of the service sent it: each gets a 4xx with a Japanese
message (or a row error inside an otherwise good import), bounded memory, and nothing half-stored."""

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
