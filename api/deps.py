"""Shared state and dependencies: settings, engine, the current user, role guards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine

from matcher.config import Settings
from matcher.services.auth import LoginLimiter, Tokens, secret_key
from matcher.services.context import ContextCache, MatchContext
from matcher.store.db import get_engine, session_scope, upgrade
from matcher.store.tables import User

SESSION_COOKIE = "matcher_session"


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    tokens: Tokens
    limiter: LoginLimiter
    contexts: ContextCache

    @classmethod
    def create(cls, settings: Settings) -> AppState:
        from matcher.search.embed import get_embedder

        settings.ensure_dirs()
        engine = get_engine(settings.sqlalchemy_url)
        upgrade(engine)
        limiter = LoginLimiter(settings.redis_url or "memory://")
        return cls(settings, engine, Tokens(secret_key(settings.data_dir, settings.secret_key)), limiter,
                   ContextCache(engine, settings, lambda: get_embedder(settings)))

    def context(self) -> MatchContext:
        """The match context, reloaded whenever the store's data version or the indexes moved."""
        return self.contexts.get()


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
