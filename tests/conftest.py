"""Shared fixtures. The embedder is built by the set-up (make test); a missing one fails loudly."""

from __future__ import annotations

import os
from contextlib import contextmanager
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

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "corpora"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


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


PG_ADMIN_URL = os.environ.get("MATCHER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_reachable() -> str | None:
    """None when the local PostgreSQL answers, else the reason it does not."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001 — any failure means "unreachable", with its reason
        return f"{type(exc).__name__}: {exc}"


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
    """The fictional demo organisations, needs and seeds (no KAKEN, to stay quick), indexed once."""
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
    for name, kind in (("organizations", "organizations"), ("needs", "needs"), ("seeds", "seeds")):
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


@contextmanager
def smtp_server(handler):
    """A real SMTP server (aiosmtpd) on a free loopback port with ``handler``; yields the port."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
