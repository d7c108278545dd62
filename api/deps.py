"""Shared state and dependencies: settings, engine, the current user, role guards."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine

from matcher.auth import RateLimiter, Tokens, secret_key
from matcher.config import Settings
from matcher.store.db import get_engine, session_scope, upgrade
from matcher.store.tables import User

SESSION_COOKIE = "matcher_session"


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    tokens: Tokens
    limiter: RateLimiter = field(default_factory=RateLimiter)
    _ctx: Any = None
    _history_stale: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, settings: Settings) -> AppState:
        settings.ensure_dirs()
        engine = get_engine(settings.sqlalchemy_url)
        upgrade(engine)
        return cls(settings, engine, Tokens(secret_key(settings.data_dir, settings.secret_key)))

    def context(self):
        """The match context (indexes + scorer), loaded once and reloaded after changes."""
        from matcher.embed import get_embedder
        from matcher.indexing import IndexPaths
        from matcher.shortlist import load_context

        with self._lock:
            if self._ctx is None:
                if not IndexPaths.of(self.settings).vectors.exists():
                    raise HTTPException(409, "索引がまだありません（取り込み後に作成されます） / no index yet")
                self._ctx = load_context(self.engine, self.settings, get_embedder(self.settings))
            elif self._history_stale:
                from matcher.shortlist import load_history

                self._ctx.history = load_history(self.engine, self._ctx.needs)
            self._history_stale = False
            return self._ctx

    def invalidate(self, history_only: bool = False) -> None:
        """Drop the cached context (data or model changed), or only its decision counts."""
        with self._lock:
            if history_only:
                self._history_stale = True
            else:
                self._ctx = None


def state(request: Request) -> AppState:
    return request.app.state.matcher


State = Annotated[AppState, Depends(state)]


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


def optional_user(request: Request, st: State) -> User | None:
    token = _token(request)
    if not token:
        return None
    uid = st.tokens.user_id(token)
    if uid is None:
        return None
    with session_scope(st.engine) as s:
        user = s.get(User, uid)
    return user if user and user.active else None


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise HTTPException(401, "ログインが必要です / authentication required",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


def require(*roles: str):
    def guard(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in roles:
            raise HTTPException(403, "この操作の権限がありません / not allowed for your role")
        return user

    return guard


CurrentUser = Annotated[User, Depends(current_user)]
Staff = Annotated[User, Depends(require("admin", "coordinator"))]
Admin = Annotated[User, Depends(require("admin"))]
