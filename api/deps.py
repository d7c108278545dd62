"""Shared state and dependencies: settings, engine, the current user, role guards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from matcher.config import Settings
from matcher.infra.jobs import JobRunner
from matcher.infra.sessions import LoginLimiter, Tokens, secret_key
from matcher.services.context import ContextCache, MatchContext
from matcher.services.jobs import IndexJobs
from matcher.store.db import get_engine, upgrade
from matcher.store.tables import User

SESSION_COOKIE = "matcher_session"


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    tokens: Tokens
    limiter: LoginLimiter
    contexts: ContextCache
    runner: JobRunner
    jobs: IndexJobs

    @classmethod
    def create(cls, settings: Settings) -> AppState:
        from matcher.search.embed import get_embedder

        settings.ensure_dirs()
        engine = get_engine(settings.sqlalchemy_url)
        upgrade(engine)
        limiter = LoginLimiter(settings.redis_url or "memory://")
        contexts = ContextCache(engine, settings, lambda: get_embedder(settings))
        # One runner for every background job; in thread mode its jobs borrow this process's
        # embedder and cached match context instead of loading their own.
        runner = JobRunner(engine, settings, {"embedder": lambda: get_embedder(settings), "context": contexts.get})
        runner.repair()  # jobs a dead process left running are failed (and can be run again)
        jobs = IndexJobs(engine, settings, lambda: get_embedder(settings), runner)
        jobs.repair()  # anything stored but never indexed (a crash mid-import) is queued now
        return cls(settings, engine, Tokens(secret_key(settings.data_dir, settings.secret_key), engine), limiter,
                   contexts, runner, jobs)

    def context(self) -> MatchContext:
        """The match context, reloaded whenever the store's data version or the indexes moved."""
        return self.contexts.get()


def state(request: Request) -> AppState:
    return request.app.state.matcher


State = Annotated[AppState, Depends(state)]


CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def request_token(request: Request) -> tuple[str | None, bool]:
    """(token, came from the cookie): a bearer header wins over the browser's cookie."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), False
    return request.cookies.get(SESSION_COOKIE), True


def optional_user(request: Request, st: State) -> User | None:
    token, from_cookie = request_token(request)
    if not token or len(token) > 512:
        return None
    user = st.tokens.user(token)
    # The JSON API takes a cookie session only with the CSRF header a page of ours can compute:
    # a cross-site form post or fetch carries the cookie but cannot know that header.
    if (user is not None and from_cookie and request.url.path.startswith("/api")
            and request.method not in SAFE_METHODS
            and not st.tokens.check_csrf(token, request.headers.get(CSRF_HEADER))):
        raise HTTPException(403, "CSRF トークンがありません（API はベアラートークンか X-CSRF-Token ヘッダーが必要です）"
                                 " / cookie sessions need the X-CSRF-Token header on the API")
    return user


# Declares the bearer scheme in OpenAPI (so "Authorize" in /docs works); the token itself is
# read by ``request_token``, which also accepts the browser's session cookie.
bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="POST /api/token で受け取る access_token / the access_token from POST /api/token")


def current_user(user: Annotated[User | None, Depends(optional_user)],
                 _: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None) -> User:
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
