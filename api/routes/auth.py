"""Logging in and out, bearer tokens and password changes (API and pages)."""

from __future__ import annotations

import secrets
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from api.deps import SESSION_COOKIE, CurrentUser, State
from api.routes.common import (
    OptionalUser,
    api_router,
    check_csrf,
    render,
)
from matcher.views.admin import RevokedOut

api = api_router()
pages = APIRouter(include_in_schema=False)


class TokenIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"]
    role: str


class PasswordIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=10, max_length=200)


@api.post("/token", tags=["auth"])
def token(body: TokenIn, request: Request, st: State) -> TokenOut:
    """ログインしてベアラートークンを得る / exchange email + password for a bearer token."""
    from matcher.services.auth import authenticate

    if not st.limiter.allow(body.email, request.client.host if request.client else "-"):
        raise HTTPException(429, "ログイン試行が多すぎます。しばらく待ってください / too many login attempts")
    user = authenticate(st.engine, body.email, body.password)
    if user is None:
        raise HTTPException(401, "メールアドレスまたはパスワードが違います / wrong email or password")
    st.limiter.reset(body.email)
    return TokenOut(access_token=st.tokens.issue(user, kind="bearer"), token_type="bearer", role=user.role)


@api.post("/logout", status_code=204, tags=["auth"])
def logout(request: Request, user: CurrentUser, st: State) -> None:
    """このトークン（またはセッション）を失効させる / revoke the token this request carries."""
    from api.deps import request_token

    token, _ = request_token(request)
    st.tokens.revoke(token or "")


@api.post("/users/me/password", tags=["auth"])
def change_password(body: PasswordIn, request: Request, user: CurrentUser, st: State) -> RevokedOut:
    """パスワード変更。すべてのセッションが失効します / change the password; every session is revoked.
    Wrong current passwords count against the same limits as logins (a stolen token cannot keep guessing)."""
    from matcher.services.auth import password_matches, set_password

    if not st.limiter.allow(user.email, request.client.host if request.client else "-"):
        raise HTTPException(429, "試行が多すぎます。しばらく待ってください / too many attempts")
    if not password_matches(user, body.current_password):
        raise HTTPException(403, "現在のパスワードが違います / the current password is wrong")
    st.limiter.reset(user.email)
    return RevokedOut(revoked_sessions=set_password(st.engine, user.id, body.new_password, actor=user.email))


LOGIN_CSRF_COOKIE = "matcher_login_csrf"


@pages.get("/")
def home(user: OptionalUser) -> RedirectResponse:
    if user is None:
        return RedirectResponse("/directory", 303)
    if user.role == "company":
        return RedirectResponse("/proposals", 303)
    return RedirectResponse("/needs", 303)


@pages.get("/login", response_class=HTMLResponse)
def login_page(request: Request, st: State, user: OptionalUser) -> Response:
    value = secrets.token_urlsafe(24)
    resp = render(request, st, "login.html", None, csrf=value)
    resp.set_cookie(LOGIN_CSRF_COOKIE, value, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return resp


@pages.post("/login", response_class=HTMLResponse)
async def login(request: Request, st: State) -> Response:
    from matcher.services.auth import authenticate

    form = await request.form()
    email = str(form.get("email") or "")[:254]
    sent = str(form.get("csrf_token") or "")
    expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not sent or not secrets.compare_digest(sent, expected):
        raise HTTPException(403, "フォームの有効期限が切れました。ページを再読み込みしてください / CSRF check failed")
    if not st.limiter.allow(email, request.client.host if request.client else "-"):
        return render(request, st, "login.html", None, status_code=429, csrf=sent, email=email,
                      error="ログイン試行が多すぎます。1分ほど待ってから再度お試しください。")
    user = authenticate(st.engine, email, str(form.get("password") or ""))
    if user is None:
        return render(request, st, "login.html", None, status_code=401, csrf=sent, email=email,
                      error="メールアドレスまたはパスワードが違います。")
    st.limiter.reset(email)
    resp = RedirectResponse("/", 303)
    resp.set_cookie(SESSION_COOKIE, st.tokens.issue(user), httponly=True, samesite="lax", max_age=12 * 3600,
                    secure=request.url.scheme == "https")
    resp.delete_cookie(LOGIN_CSRF_COOKIE)
    return resp


@pages.post("/logout")
async def logout_form(request: Request, st: State) -> RedirectResponse:
    await check_csrf(request, st)
    st.tokens.revoke(request.cookies.get(SESSION_COOKIE) or "")
    resp = RedirectResponse("/login", 303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp
