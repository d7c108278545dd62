"""Ranker versions: list, train, promote, roll back (API and the admin page)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import Admin, State
from api.routes.common import (
    MESSAGES,
    OptionalUser,
    api_router,
    check_csrf,
    page_user,
    render,
)
from matcher.labels import RANKER_STATUS_JA as STATUS_JA
from matcher.views.admin import PromotionOut, VersionsOut, promotion_out, versions_out

api = api_router()
pages = APIRouter(include_in_schema=False)




def _confirmed(form: dict[str, Any]) -> None:
    if form.get("confirm") != "yes":
        raise HTTPException(422, "確認のチェックを入れてください（全員の候補リストの順位が変わります）。")


@api.get("/models", tags=["models"])
def models(user: Admin, st: State) -> VersionsOut:
    from matcher.services.rankers import list_versions

    return versions_out(list_versions(st.engine))


@api.post("/models/{version}/promote", tags=["models"])
def promote(version: Annotated[str, PathParam(max_length=64)], user: Admin, st: State) -> PromotionOut:
    from matcher.services.rankers import promote_version

    return promotion_out(promote_version(st.engine, version, user.email))


@api.post("/models/rollback", tags=["models"])
def rollback(user: Admin, st: State) -> PromotionOut:
    from matcher.services.rankers import rollback as do_rollback

    return promotion_out(do_rollback(st.engine, user.email))


@pages.get("/models", response_class=HTMLResponse)
def models_page(request: Request, st: State, user: OptionalUser, message: str = "") -> Response:
    from matcher.services.rankers import list_versions

    user = page_user(request, user, "admin")
    versions = versions_out(list_versions(st.engine)).versions
    return render(request, st, "models.html", user, versions=versions, status_ja=STATUS_JA,
                  message=MESSAGES.get(message, ""))


@pages.post("/models/train", response_class=HTMLResponse)
async def models_train(request: Request, st: State, user: OptionalUser) -> Response:

    from matcher.services.rankers import list_versions, train

    user = page_user(request, user, "admin")
    await check_csrf(request, st)
    result = await run_in_threadpool(train, st.engine, st.settings, user.email)
    versions = versions_out(list_versions(st.engine)).versions
    return render(request, st, "models.html", user, versions=versions, status_ja=STATUS_JA, message=result.message_ja)


@pages.post("/models/{version}/promote")
async def models_promote(version: str, request: Request, st: State, user: OptionalUser) -> RedirectResponse:
    from matcher.services.rankers import promote_version

    user = page_user(request, user, "admin")
    _confirmed(await check_csrf(request, st))
    promote_version(st.engine, version[:64], user.email)
    return RedirectResponse("/models?message=promoted", 303)


@pages.post("/models/rollback")
async def models_rollback(request: Request, st: State, user: OptionalUser) -> RedirectResponse:
    from matcher.services.rankers import rollback

    user = page_user(request, user, "admin")
    _confirmed(await check_csrf(request, st))
    rollback(st.engine, user.email)
    return RedirectResponse("/models?message=rolled_back", 303)
