"""The FastAPI application: JSON API under /api, Japanese pages at /, OpenAPI at /docs."""

from __future__ import annotations

import importlib
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from api.deps import SESSION_COOKIE, AppState
from api.security import BodyLimit, SecurityHeaders
from matcher.config import Settings, get_settings
from matcher.errors import MatcherError
from matcher.exchange.spec import FieldError
from matcher.views.admin import HealthOut

ERROR_TITLES = {401: "ログインが必要です", 403: "権限がありません", 404: "見つかりません", 409: "処理できません",
                410: "ご利用いただけません", 413: "ファイルが大きすぎます", 422: "入力に誤りがあります",
                429: "しばらく待ってください", 500: "内部エラー", 503: "一時的に利用できません"}
RETRY_AFTER_S = 5
# Every resource module of api/routes, in the order its routes are matched.
ROUTE_MODULES = ("auth", "organizations", "imports", "needs", "people", "groups", "decisions", "proposals", "directory",
                 "models", "users", "audit", "exports", "docs", "forum", "kpi", "mail")


class MatcherApp(FastAPI):
    """FastAPI with the protections that must see every response outermost: proxy headers (only
    from configured proxies), then security headers around even the 500 handler."""

    def build_middleware_stack(self):
        settings: Settings = self.state.matcher.settings
        stack = SecurityHeaders(super().build_middleware_stack(), SESSION_COOKIE)
        if settings.trusted_proxies:
            from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

            stack = ProxyHeadersMiddleware(stack, trusted_hosts=settings.trusted_proxies)
        return stack


def create_app(settings: Settings | None = None, warm: bool = False) -> FastAPI:
    """``warm``: load the match context (indexes, embedder, scorer) before serving, so the first
    requests of every worker do not pay for it (what ``matcher serve`` does)."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if warm:
            import contextlib

            from starlette.concurrency import run_in_threadpool

            from matcher.errors import NotReady

            with contextlib.suppress(NotReady):  # nothing indexed yet: the first shortlist will say so
                await run_in_threadpool(app.state.matcher.context)
        yield

    settings = settings or get_settings()
    app = MatcherApp(title="日野市 企業マッチング API", version="0.1.0", docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="Hino matchmaking engine: organisations, needs, shortlists, decisions, model versions.")
    app.state.matcher = AppState.create(settings)

    from api.routes.docs import swagger_assets

    for module in ROUTE_MODULES:
        resource = importlib.import_module(f"api.routes.{module}")
        for name in ("api", "pages"):
            if hasattr(resource, name):
                app.include_router(getattr(resource, name))
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    app.mount("/docs-assets", StaticFiles(directory=str(swagger_assets())), name="docs-assets")

    @app.get("/healthz", tags=["health"])
    def healthz() -> HealthOut:
        return HealthOut(status="ok")

    app.add_middleware(BodyLimit, upload_limit=settings.max_upload_bytes + 65536,
                       default_limit=settings.max_body_bytes)

    def error_response(request: Request, status: int, detail, headers=None):
        if request.url.path.startswith("/api") or "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": detail}, status_code=status, headers=headers)
        from api.routes.common import templates

        title = ERROR_TITLES.get(status, "エラー")
        text = detail if isinstance(detail, str) else str(detail.get("message", "")) if isinstance(detail, dict) else ""
        # Pages speak Japanese only: messages are written "日本語 / English".
        text = text.split(" / ")[0] or title
        return templates.TemplateResponse(request, "error.html", {"user": None, "csrf": "", "title": title,
                                                                   "detail": text, "status": status},
                                          status_code=status, headers=headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if exc.status_code == 303 and exc.headers and "Location" in exc.headers:
            return RedirectResponse(exc.headers["Location"], 303)
        return error_response(request, exc.status_code, exc.detail, exc.headers)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        """A bug: logged with its traceback by the server, shown to the user in Japanese only."""
        import logging

        logging.getLogger("matcher").exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "内部エラーが発生しました。時間をおいて再度お試しください。")

    @app.exception_handler(MatcherError)
    async def domain_error(request: Request, exc: MatcherError):
        """The one place domain errors become HTTP: the class says the status."""
        return error_response(request, exc.status, exc.message)

    @app.exception_handler(DBAPIError)
    async def database_unavailable(request: Request, exc: DBAPIError):
        """The database went away (a restart, a failover, a dropped connection): 503 with
        Retry-After, never an unhandled exception. The pool pre-pings, so the next request gets
        a fresh connection; what was not committed was not acknowledged."""
        import logging

        if not (exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)):
            raise exc
        logging.getLogger("matcher").warning("database unavailable on %s %s: %s", request.method, request.url.path,
                                             type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__)
        return error_response(request, 503, "データベースに一時的に接続できません。しばらくしてから再度お試しください。"
                                             " / the database is temporarily unavailable",
                              headers={"Retry-After": str(RETRY_AFTER_S)})

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        if not request.url.path.startswith("/api") and "text/html" in request.headers.get("accept", ""):
            # A browser with a bad value in the address: the site's Japanese page, not JSON.
            in_path = any((e.get("loc") or ("",))[0] == "path" for e in exc.errors())
            if in_path:
                return error_response(request, 404, "ページが見つかりません（アドレスに誤りがあります）")
            return error_response(request, 422, "アドレスの値に誤りがあります。リンクから開き直してください。")
        errors = []
        for e in exc.errors():
            ctx = e.get("ctx") or {}
            loc = [str(x) for x in e.get("loc", ())]
            field = FieldError(str(ctx.get("field") or (loc[-1] if loc else "")), str(ctx.get("ja") or e.get("msg")),
                               str(ctx.get("en") or e.get("msg")))
            errors.append({"loc": loc, "field": field.field, "message": field.message_ja, "msg": field.message_en,
                           "type": e.get("type")})
        return JSONResponse({"detail": {"message": "入力に誤りがあります / invalid request", "errors": errors}},
                            status_code=422)

    def openapi():
        if app.openapi_schema:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        # Every error body here is {"detail": message or structured report} (see the handlers above),
        # including 422s, so document that instead of FastAPI's default list-only shape.
        spec.setdefault("components", {}).setdefault("schemas", {})["HTTPValidationError"] = {
            "title": "Error", "type": "object", "properties": {"detail": {"title": "Detail"}}}
        app.openapi_schema = spec
        return spec

    app.openapi = openapi
    return app


def app_factory() -> FastAPI:
    """For `uvicorn --factory api.app:app_factory` (``matcher serve``): warmed before serving."""
    return create_app(warm=True)
