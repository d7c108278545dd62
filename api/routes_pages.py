"""Server-rendered Japanese pages (Jinja2). Forms carry a CSRF token; sessions are signed cookies."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.deps import SESSION_COOKIE, State, optional_user
from api.routes_api import Id
from matcher.exchange.spec import REASONS
from matcher.services import directory
from matcher.store.tables import User

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
LOGIN_CSRF_COOKIE = "matcher_login_csrf"
VERDICT_JA = {"accept": "承認", "reject": "却下", "skip": "保留"}
REASONS_JA = {code: ja for code, (ja, _) in REASONS.items()}
STATUS_JA = {"active": "有効", "candidate": "候補", "retired": "過去の版"}
OptionalUser = Annotated[User | None, Depends(optional_user)]


def render(request: Request, st, name: str, user: User | None, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    token = request.cookies.get(SESSION_COOKIE)
    csrf = st.tokens.csrf(token) if token and user else ctx.pop("csrf", "")
    return templates.TemplateResponse(request, name, {"user": user, "csrf": csrf, **ctx}, status_code=status_code)


def page_user(request: Request, user: User | None, *roles: str) -> User:
    if user is None:
        raise HTTPException(303, headers={"Location": "/login"})
    if roles and user.role not in roles:
        raise HTTPException(403, "この操作の権限がありません / not allowed for your role")
    return user


async def check_csrf(request: Request, st) -> dict[str, Any]:
    form = await request.form()
    token = request.cookies.get(SESSION_COOKIE) or ""
    if not st.tokens.check_csrf(token, str(form.get("csrf_token") or "")):
        raise HTTPException(403, "フォームの有効期限が切れました。ページを再読み込みしてください / CSRF check failed")
    return dict(form)


@router.get("/")
def home(user: OptionalUser) -> RedirectResponse:
    if user is None:
        return RedirectResponse("/directory", 303)
    if user.role == "company":
        return RedirectResponse(f"/orgs/{user.org_id}" if user.org_id else "/directory", 303)
    return RedirectResponse("/needs", 303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, st: State, user: OptionalUser) -> Response:
    value = secrets.token_urlsafe(24)
    resp = render(request, st, "login.html", None, csrf=value)
    resp.set_cookie(LOGIN_CSRF_COOKIE, value, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return resp


@router.post("/login", response_class=HTMLResponse)
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


@router.post("/logout")
async def logout(request: Request, st: State) -> RedirectResponse:
    await check_csrf(request, st)
    st.tokens.revoke(request.cookies.get(SESSION_COOKIE) or "")
    resp = RedirectResponse("/login", 303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.get("/needs", response_class=HTMLResponse)
def needs_page(request: Request, st: State, user: OptionalUser, q: str = "") -> Response:
    user = page_user(request, user, "admin", "coordinator")
    total, items = directory.search_needs(st.engine, q[:200])
    return render(request, st, "needs.html", user, needs=items, total=total, q=q)


# Pages say only what the server chose to say: ?message= names one of these, never free text.
MESSAGES = {"decided": "判定を記録しました。", "shortlisted": "候補リストを作成しました。"}


@router.get("/needs/{need_id}", response_class=HTMLResponse)
def need_page(need_id: Id, request: Request, st: State, user: OptionalUser, message: str = "") -> Response:
    user = page_user(request, user, "admin", "coordinator")
    need = directory.get_need(st.engine, need_id)
    if need is None:
        raise HTTPException(404, "案件が見つかりません / need not found")
    rows = directory.suggestion_rows(st.engine, "need", need_id, latest_run_only=True)
    return render(request, st, "need.html", user, need=need, suggestions=rows, verdict_ja=VERDICT_JA,
                  reasons_ja=REASONS_JA, message=MESSAGES.get(message, ""))


@router.post("/needs/{need_id}/shortlist")
async def need_shortlist(need_id: Id, request: Request, st: State, user: OptionalUser) -> RedirectResponse:
    from starlette.concurrency import run_in_threadpool

    from matcher.services.shortlists import shortlist_need

    page_user(request, user, "admin", "coordinator")
    await check_csrf(request, st)
    await run_in_threadpool(lambda: shortlist_need(st.context(), need_id, "all", 5))
    return RedirectResponse(f"/needs/{need_id}", 303)


@router.post("/suggestions/{suggestion_id}/decision")
async def decide(suggestion_id: Id, request: Request, st: State, user: OptionalUser) -> RedirectResponse:
    from matcher.learn.decisions import record_decision

    user = page_user(request, user, "admin", "coordinator")
    form = await check_csrf(request, st)
    verdict = str(form.get("verdict") or "")[:20]
    reason = str(form.get("reason") or "")[:40] or None
    # Everything the form says is checked before anything is written, so a bad field can never
    # leave a stored decision behind an error page (and a retry cannot duplicate it).
    need_id = str(form.get("need_id") or "")
    target = "/needs"
    if need_id.isascii() and need_id.isdigit() and len(need_id) <= 10 and 1 <= int(need_id) <= 2_147_483_647:
        target = f"/needs/{int(need_id)}?message=decided#s{suggestion_id}"
    record_decision(st.engine, suggestion_id, verdict, reason if verdict == "reject" else None, user.email)
    return RedirectResponse(target, 303)


@router.get("/orgs/{org_id}", response_class=HTMLResponse)
def org_page(org_id: Id, request: Request, st: State, user: OptionalUser) -> Response:
    user = page_user(request, user)
    if user.role == "company" and user.org_id != org_id:
        raise HTTPException(403, "自社以外の企業は表示できません / companies see only their own organisation")
    org = directory.get_organization(st.engine, org_id)
    if org is None:
        raise HTTPException(404, "企業が見つかりません / organisation not found")
    suggestions = directory.suggestion_rows(st.engine, visible_to_org=org_id) if user.role == "company" else None
    return render(request, st, "org.html", user, org=org, suggestions=suggestions)


@router.get("/directory", response_class=HTMLResponse)
def directory_page(request: Request, st: State, user: OptionalUser, q: str = "") -> Response:
    total, items = directory.search_organizations(st.engine, q[:200], published_only=True, limit=100)
    return render(request, st, "directory.html", user, orgs=items, total=total, q=q)


def index_state(st) -> dict[str, Any]:
    from matcher.search.indexing import stale_documents

    job = st.jobs.latest()
    return {"state": job.state if job else "idle", "done": job.done if job else 0, "total": job.total if job else 0,
            "stale_documents": stale_documents(st.engine)}


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, st: State, user: OptionalUser) -> Response:
    user = page_user(request, user, "admin", "coordinator")
    return render(request, st, "import.html", user, index=index_state(st))


@router.post("/import", response_class=HTMLResponse)
async def import_post(request: Request, st: State, user: OptionalUser) -> Response:
    from starlette.concurrency import run_in_threadpool

    from api.routes_api import import_bytes, read_upload

    user = page_user(request, user, "admin", "coordinator")
    form = await check_csrf(request, st)
    upload = form.get("file")
    if upload is None or not hasattr(upload, "read"):
        return render(request, st, "import.html", user, status_code=422, error="ファイルを選択してください。")
    data = await read_upload(upload, st.settings.max_upload_bytes)
    kind = str(form.get("kind") or "auto")
    try:
        report = await run_in_threadpool(import_bytes, st, data, upload.filename or "upload", kind,
                                         bool(form.get("strict")), user.email)
    except HTTPException as exc:
        detail = exc.detail["message"] if isinstance(exc.detail, dict) else str(exc.detail)
        return render(request, st, "import.html", user, status_code=exc.status_code, error=detail,
                      index=index_state(st))
    return render(request, st, "import.html", user, report=report, index=index_state(st))


@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request, st: State, user: OptionalUser) -> Response:
    from matcher.learn.training import list_versions

    user = page_user(request, user, "admin")
    return render(request, st, "models.html", user, versions=list_versions(st.engine), status_ja=STATUS_JA)


@router.post("/models/{version}/promote")
async def models_promote(version: str, request: Request, st: State, user: OptionalUser) -> RedirectResponse:
    from matcher.learn.training import promote_version

    user = page_user(request, user, "admin")
    await check_csrf(request, st)
    promote_version(st.engine, version[:64], user.email)
    return RedirectResponse("/models", 303)


@router.post("/models/rollback")
async def models_rollback(request: Request, st: State, user: OptionalUser) -> RedirectResponse:
    from matcher.learn.training import rollback

    user = page_user(request, user, "admin")
    await check_csrf(request, st)
    rollback(st.engine, user.email)
    return RedirectResponse("/models", 303)
