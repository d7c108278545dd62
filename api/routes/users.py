"""Users: create, disable, reset, revoke sessions (API and the admin page)."""

from __future__ import annotations

import secrets
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from api.deps import Admin, State
from api.routes.common import (
    Id,
    OptionalUser,
    api_router,
    check_csrf,
    page_user,
    render,
)
from matcher.labels import ROLE_JA
from matcher.services.auth import create_user, list_users, set_active
from matcher.views.admin import RevokedOut, UserCreatedOut

api = api_router()
pages = APIRouter(include_in_schema=False)


class UserIn(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    role: Literal["admin", "coordinator", "company"]
    password: str = Field(min_length=10, max_length=200)
    org_external_id: str | None = None


@api.post("/users/{user_id}/revoke-sessions", tags=["users"])
def revoke_user_sessions(user_id: Id, user: Admin, st: State) -> RevokedOut:
    """利用者のすべてのセッションを失効させる（管理者） / revoke every session of a user (admin)."""
    from matcher.services.auth import revoke_sessions

    return RevokedOut(revoked_sessions=revoke_sessions(st.engine, user_id, actor=user.email))


@api.post("/users", status_code=201, tags=["users"])
def add_user(body: UserIn, user: Admin, st: State) -> UserCreatedOut:
    created = create_user(st.engine, body.email, body.role, body.password, body.org_external_id, user.email)
    return UserCreatedOut(id=created.id, email=created.email, role=created.role, org_id=created.org_id)


def _users_page(request, st, user, status_code: int = 200, **ctx) -> Response:
    return render(request, st, "users.html", user, users=list_users(st.engine), roles=ROLE_JA,
                  status_code=status_code, **ctx)


@pages.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, st: State, user: OptionalUser) -> Response:
    return _users_page(request, st, page_user(request, user, "admin"))


@pages.post("/admin/users", response_class=HTMLResponse)
async def users_create(request: Request, st: State, user: OptionalUser) -> Response:
    from matcher.services.auth import create_user

    user = page_user(request, user, "admin")
    form = await check_csrf(request, st)
    password = secrets.token_urlsafe(12)
    role = str(form.get("role") or "")[:20]
    org = str(form.get("org") or "").strip()[:64] or None
    created = create_user(st.engine, str(form.get("email") or "")[:254], role, password, org, actor=user.email)
    return _users_page(request, st, user, message=f"{created.email} を作成しました。初期パスワード: {password}"
                                                   "（この画面でしか表示されません。本人に安全な方法で伝えてください）")


@pages.post("/admin/users/{user_id}/active")
async def users_active(user_id: Id, request: Request, st: State, user: OptionalUser) -> Response:

    user = page_user(request, user, "admin")
    form = await check_csrf(request, st)
    if user_id == user.id:
        raise HTTPException(409, "自分自身は無効にできません。")
    active = form.get("active") == "yes"
    target = set_active(st.engine, user_id, active, user.email)
    return _users_page(request, st, user, message=f"{target.email} を{'有効' if active else '無効'}にしました。")


@pages.post("/admin/users/{user_id}/password", response_class=HTMLResponse)
async def users_reset(user_id: Id, request: Request, st: State, user: OptionalUser) -> Response:
    from matcher.services.auth import set_password

    user = page_user(request, user, "admin")
    await check_csrf(request, st)
    password = secrets.token_urlsafe(12)
    revoked = set_password(st.engine, user_id, password, actor=user.email)
    return _users_page(request, st, user, message=f"パスワードを再設定しました（ログイン中のセッション {revoked} 件を失効）。"
                                                   f"新しいパスワード: {password}")


@pages.post("/admin/users/{user_id}/revoke", response_class=HTMLResponse)
async def users_revoke(user_id: Id, request: Request, st: State, user: OptionalUser) -> Response:
    from matcher.services.auth import revoke_sessions

    user = page_user(request, user, "admin")
    await check_csrf(request, st)
    n = revoke_sessions(st.engine, user_id, actor=user.email)
    return _users_page(request, st, user, message=f"セッション {n} 件を失効させました。")
