"""Persistent state: SQLModel tables, engine/session, Alembic migrations, repository helpers."""

from matcher.store.db import get_engine, session_scope, upgrade

__all__ = ["get_engine", "session_scope", "upgrade"]
