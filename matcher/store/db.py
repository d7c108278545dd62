"""Engine, sessions and migrations. SQLite under the data dir by default; PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, event, update
from sqlmodel import Session, create_engine, select

from matcher.store import tables

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the web service read while a batch job writes; foreign keys are off by default.
    cur.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: a commit stays atomic and
    # survives a crash of the process; only a power cut can lose the last commits (never corrupt
    # the file). An fsync per commit was a tenth of a shortlist's time. PostgreSQL keeps its own.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


# Which scope's counter a change to each table bumps. Users, suggestions, e-mails and the audit
# log change nothing a cached match context holds.
SCOPE_OF: dict[type, str] = {
    tables.Organization: "data", tables.Document: "data", tables.IndustryCode: "data", tables.Need: "data",
    tables.ResearchSeed: "data", tables.Constraint: "data", tables.ModelVersion: "data",
    tables.Decision: "decisions",
}


@event.listens_for(Session, "after_flush")
def _bump_store_versions(session: Session, _context) -> None:
    """Bump each touched scope once per transaction, inside that transaction: a reader sees the
    new counter exactly when it can see the change."""
    touched = {SCOPE_OF.get(type(obj)) for obj in (*session.new, *session.dirty, *session.deleted)}
    done: set[str] = session.info.setdefault("bumped_scopes", set())
    for scope in sorted(s for s in touched if s and s not in done):
        session.connection().execute(update(tables.StoreVersion).where(tables.StoreVersion.scope == scope)
                                     .values(version=tables.StoreVersion.version + 1))
        done.add(scope)


@event.listens_for(Session, "after_transaction_end")
def _forget_bumps(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop("bumped_scopes", None)


def store_versions(engine: Engine) -> dict[str, int]:
    """The current counter of every scope (one small query: cheap enough for every request)."""
    with Session(engine) as s:
        return {v.scope: v.version for v in s.exec(select(tables.StoreVersion))}


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Create or upgrade the schema; returns the revision now current."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    command.upgrade(alembic_config(engine), revision)
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() or "base"


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
