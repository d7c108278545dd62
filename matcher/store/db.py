"""Engine, sessions and migrations. SQLite under the data dir by default; PostgreSQL by URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Engine, event, update
from sqlalchemy.exc import DBAPIError
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
        event.listen(engine, "connect", _postgres_session)
    return engine


def _postgres_session(dbapi_conn, _record) -> None:
    # The desk's queries at national scale cost enough for PostgreSQL to JIT-compile them, and
    # compiling took longer (~70 ms) than running them; the engine runs no analytical queries.
    with dbapi_conn.cursor() as cur:
        cur.execute("SET jit = off")
    dbapi_conn.commit()


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
    bump_scopes(session, {SCOPE_OF.get(type(obj)) for obj in (*session.new, *session.dirty, *session.deleted)})


def bump_scopes(session: Session, scopes: set[str | None]) -> None:
    done: set[str] = session.info.setdefault("bumped_scopes", set())
    for scope in sorted(s for s in scopes if s and s not in done):
        session.connection().execute(update(tables.StoreVersion).where(tables.StoreVersion.scope == scope)
                                     .values(version=tables.StoreVersion.version + 1))
        done.add(scope)


ANALYZE_AFTER = 10_000  # rows copied at once


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def bulk_insert(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Many new rows of one table inside the session's transaction, without building an ORM
    object per row (that was most of a 100k-row import): PostgreSQL's COPY, executemany batches
    on SQLite. Every row carries the same keys; the table's store scope is bumped as a flush would."""
    if not rows:
        return
    table = model.__table__
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
    else:
        import psycopg
        from psycopg import sql

        cols = [c for c in table.columns if c.name in rows[0]]
        binds = [_json_text if isinstance(c.type, JSON) else c.type.bind_processor(conn.dialect) for c in cols]
        names = sql.SQL(", ").join(sql.Identifier(c.name) for c in cols)
        raw = conn.connection.driver_connection
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table.name), names)
        try:
            with raw.cursor() as cur:
                with cur.copy(statement) as copy:  # noqa: SIM117 — the ANALYZE below runs after the copy ends
                    for row in rows:
                        copy.write_row([f(row[c.name]) if f else row[c.name] for c, f in zip(cols, binds, strict=True)])
                if len(rows) >= ANALYZE_AFTER:
                    # Fresh statistics, and every cached plan on the table replanned: a plan made
                    # while the table was empty (a sequential scan) would otherwise stay.
                    cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table.name)))
        except psycopg.Error as exc:  # the same exception classes the ORM path raises
            raise DBAPIError.instance(statement.as_string(raw), None, exc, psycopg.Error) from exc
    bump_scopes(session, {SCOPE_OF.get(model)})


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
