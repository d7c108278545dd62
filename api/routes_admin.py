"""Admin pages: ranker versions and training, users, the audit log; and the offline API docs."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import func, select

from api.deps import State
from api.routes_api import Id
from api.routes_pages import MESSAGES, OptionalUser, check_csrf, page_user, render
from matcher.store.db import session_scope
from matcher.store.tables import AuditLog, User

router = APIRouter(include_in_schema=False)
STATUS_JA = {"active": "有効", "candidate": "候補", "retired": "過去の版"}
ROLE_JA = {"admin": "管理者", "coordinator": "コーディネーター", "company": "企業"}
AUDIT_PAGE = 50


def _confirmed(form: dict[str, Any]) -> None:
    if form.get("confirm") != "yes":
        raise HTTPException(422, "確認のチェックを入れてください（全員の候補リストの順位が変わります）。")


# -- ranker versions -------------------------------------------------------------------------------
@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request, st: State, user: OptionalUser, message: str = "") -> Response:
    from matcher.learn.training import list_versions
    from matcher.views import ranker_ja

    user = page_user(request, user, "admin")
    versions = list_versions(st.engine)
    for v in versions:
        v["name_ja"] = ranker_ja(v["version"], v["events_used"])
    return render(request, st, "models.html", user, versions=versions, status_ja=STATUS_JA,
                  message=MESSAGES.get(message, ""))


@router.post("/models/train", response_class=HTMLResponse)
async def models_train(request: Request, st: State, user: OptionalUser) -> Response:
    from starlette.concurrency import run_in_threadpool

    from matcher.learn.training import gate_ja, list_versions, train
    from matcher.views import ranker_ja

    user = page_user(request, user, "admin")
    await check_csrf(request, st)
    result = await run_in_threadpool(train, st.engine, st.settings, user.email)
    versions = list_versions(st.engine)
    for v in versions:
        v["name_ja"] = ranker_ja(v["version"], v["events_used"])
    return render(request, st, "models.html", user, versions=versions, status_ja=STATUS_JA, message=gate_ja(result))


@router.post("/models/{version}/promote")
async def models_promote(version: str, request: Request, st: State, user: OptionalUser) -> RedirectResponse:
    from matcher.learn.training import promote_version

    user = page_user(request, user, "admin")
    _confirmed(await check_csrf(request, st))
    promote_version(st.engine, version[:64], user.email)
    return RedirectResponse("/models?message=promoted", 303)


@router.post("/models/rollback")
async def models_rollback(request: Request, st: State, user: OptionalUser) -> RedirectResponse:
    from matcher.learn.training import rollback

    user = page_user(request, user, "admin")
    _confirmed(await check_csrf(request, st))
    rollback(st.engine, user.email)
    return RedirectResponse("/models?message=rolled_back", 303)


# -- users -----------------------------------------------------------------------------------------
def _users(st) -> list[dict[str, Any]]:
    from matcher.store.tables import AuthSession, Organization

    with session_scope(st.engine) as s:
        users = s.exec(select(User).order_by(User.email)).all()
        orgs = {o.id: o for o in s.exec(select(Organization).where(
            Organization.id.in_([u.org_id for u in users if u.org_id] or [-1])))}
        live = dict(s.exec(select(AuthSession.user_id, func.count()).where(AuthSession.revoked_at.is_(None))
                           .group_by(AuthSession.user_id)).all())
    return [{"id": u.id, "email": u.email, "role": ROLE_JA.get(u.role, u.role), "active": u.active,
             "org": orgs[u.org_id].name if u.org_id in orgs else "", "sessions": live.get(u.id, 0),
             "created_at": u.created_at} for u in users]


def _users_page(request, st, user, status_code: int = 200, **ctx) -> Response:
    return render(request, st, "users.html", user, users=_users(st), roles=ROLE_JA, status_code=status_code, **ctx)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, st: State, user: OptionalUser) -> Response:
    return _users_page(request, st, page_user(request, user, "admin"))


@router.post("/admin/users", response_class=HTMLResponse)
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


@router.post("/admin/users/{user_id}/active")
async def users_active(user_id: Id, request: Request, st: State, user: OptionalUser) -> Response:
    from matcher.services.auth import revoke_sessions

    user = page_user(request, user, "admin")
    form = await check_csrf(request, st)
    if user_id == user.id:
        raise HTTPException(409, "自分自身は無効にできません。")
    active = form.get("active") == "yes"
    with session_scope(st.engine) as s:
        target = s.get(User, user_id)
        if target is None:
            raise HTTPException(404, "利用者が見つかりません。")
        target.active = active
        s.add(target)
        s.add(AuditLog(actor=user.email, action="user_active", target=target.email, detail={"active": active}))
    if not active:
        revoke_sessions(st.engine, user_id, actor=user.email, why="disabled")
    return _users_page(request, st, user, message=f"{target.email} を{'有効' if active else '無効'}にしました。")


@router.post("/admin/users/{user_id}/password", response_class=HTMLResponse)
async def users_reset(user_id: Id, request: Request, st: State, user: OptionalUser) -> Response:
    from matcher.services.auth import set_password

    user = page_user(request, user, "admin")
    await check_csrf(request, st)
    password = secrets.token_urlsafe(12)
    revoked = set_password(st.engine, user_id, password, actor=user.email)
    return _users_page(request, st, user, message=f"パスワードを再設定しました（ログイン中のセッション {revoked} 件を失効）。"
                                                   f"新しいパスワード: {password}")


@router.post("/admin/users/{user_id}/revoke", response_class=HTMLResponse)
async def users_revoke(user_id: Id, request: Request, st: State, user: OptionalUser) -> Response:
    from matcher.services.auth import revoke_sessions

    user = page_user(request, user, "admin")
    await check_csrf(request, st)
    n = revoke_sessions(st.engine, user_id, actor=user.email)
    return _users_page(request, st, user, message=f"セッション {n} 件を失効させました。")


# -- audit log -------------------------------------------------------------------------------------
@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request, st: State, user: OptionalUser, page: int = 1) -> Response:
    user = page_user(request, user, "admin")
    page = max(1, min(page, 1_000_000))
    with session_scope(st.engine) as s:
        total = s.exec(select(func.count()).select_from(AuditLog)).one()
        rows = s.exec(select(AuditLog).order_by(AuditLog.id.desc()).offset((page - 1) * AUDIT_PAGE).limit(AUDIT_PAGE)).all()
    from matcher.labels import audit_ja

    entries = []
    for r in rows:
        action, target, detail = audit_ja(r.action, r.target, r.detail)
        entries.append({"at": r.at, "actor": r.actor or "（システム）", "action": action, "target": target,
                        "detail": detail})
    return render(request, st, "audit.html", user, entries=entries, page=page,
                  pages=max(1, -(-total // AUDIT_PAGE)), total=total)


# -- API docs, offline -----------------------------------------------------------------------------
SWAGGER_HTML = """<!doctype html><html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>日野市 企業マッチング API</title>
<link rel="stylesheet" href="/docs-assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="/docs-assets/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script></body></html>"""


@router.get("/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    """Swagger UI from the app's own files (no CDN): works on a machine without internet."""
    return HTMLResponse(SWAGGER_HTML)


def swagger_assets() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)
