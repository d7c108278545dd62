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
from api.security import attachment
from matcher.exchange.spec import ENTITIES, REASONS
from matcher.services import directory
from matcher.store.tables import User
from matcher.views import ranker_ja

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _jst(value: Any, time: bool = True) -> str:
    """Every time on a page is Japan time: 「2026年12月2日 05:06」."""
    from datetime import datetime

    from matcher.dates import format_jst

    if isinstance(value, str) and value:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return format_jst(value, time) if isinstance(value, datetime) else ""


templates.env.filters["jst"] = _jst
templates.env.filters["ranker"] = lambda version: ranker_ja(version) if version else ""
LOGIN_CSRF_COOKIE = "matcher_login_csrf"
VERDICT_JA = {"accept": "承認", "reject": "却下", "skip": "保留"}
REASONS_JA = {code: ja for code, (ja, _) in REASONS.items()}
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
        return RedirectResponse("/proposals", 303)
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
    return render(request, st, "needs.html", user, needs=items, total=total, q=q[:200])


@router.get("/needs/export.xlsx")
def needs_export(request: Request, st: State, user: OptionalUser) -> Response:
    from matcher.exchange.export import table_xlsx

    page_user(request, user, "admin", "coordinator")
    _, items = directory.search_needs(st.engine, "", limit=100_000)
    rows = [[n["external_id"], n["org_name"], n["title"], n["text"], "・".join(n["required_processes"]),
             "受付中" if n["status"] == "open" else "終了"] for n in items]
    return xlsx_response(table_xlsx("案件", ["案件ID", "依頼元", "件名", "内容", "必要工程", "状態"], rows), "needs.xlsx")


def xlsx_response(data: bytes, filename: str) -> Response:
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": attachment(filename)})


# Pages say only what the server chose to say: ?message= names one of these, never free text.
MESSAGES = {"decided": "判定を記録しました。", "shortlisted": "候補リストを作成しました。",
            "replied": "回答を送りました。ありがとうございました。", "promoted": "ランカーの版を切り替えました。",
            "rolled_back": "一つ前の版に戻しました。", "grouped": "共同受注グループを提案しました。",
            "dropped": "グループから外しました。"}


def need_board(st, need_id: int) -> dict[str, Any]:
    """The need page's cards: the latest run, each with its pair's latest decision; rejected
    candidates apart, with the score broken down and the fit in words."""
    from matcher.learn.training import score_breakdowns
    from matcher.views import fit_label, ranker_ja

    rows = directory.suggestion_rows(st.engine, "need", need_id, latest_run_only=True)
    for row, breakdown in zip(rows, score_breakdowns(st.engine, [(r["model_version"], r["features"]) for r in rows]),
                              strict=True):
        row["breakdown"], row["fit"] = breakdown, fit_label(row["score"])
    rejected = [r for r in rows if r["decision"] and r["decision"]["verdict"] == "reject"]
    version = rows[0]["model_version"] if rows else None
    return {"suggestions": [r for r in rows if r not in rejected], "rejected": rejected,
            "ranker": ranker_ja(version) if version else None, "history": directory.need_history(st.engine, need_id),
            "groups": directory.group_rows(st.engine, need_id)}


@router.get("/needs/{need_id}", response_class=HTMLResponse)
def need_page(need_id: Id, request: Request, st: State, user: OptionalUser, message: str = "",
              whynot: str = "") -> Response:
    from matcher.errors import MatcherError

    user = page_user(request, user, "admin", "coordinator")
    need = directory.get_need(st.engine, need_id)
    if need is None:
        raise HTTPException(404, "案件が見つかりません / need not found")
    why, why_error = None, None
    if whynot.strip():
        from matcher.services.shortlists import why_not
        from matcher.views import why_not_out

        try:
            why = why_not_out(why_not(st.context(), need_id, whynot.strip()[:64]))
        except MatcherError as exc:
            why_error = exc.message_ja
    return render(request, st, "need.html", user, need=need, verdict_ja=VERDICT_JA, reasons_ja=REASONS_JA,
                  message=MESSAGES.get(message, ""), whynot=whynot[:64], why=why, why_error=why_error,
                  **need_board(st, need_id))


@router.get("/needs/{need_id}/shortlist.xlsx")
def need_shortlist_export(need_id: Id, request: Request, st: State, user: OptionalUser) -> Response:
    from matcher.exchange.export import table_xlsx

    page_user(request, user, "admin", "coordinator")
    need = directory.get_need(st.engine, need_id)
    if need is None:
        raise HTTPException(404, "案件が見つかりません / need not found")
    rows = directory.suggestion_rows(st.engine, "need", need_id, latest_run_only=True)
    body = [[r["rank"], "企業" if r["candidate_type"] == "organization" else "研究シーズ", r["candidate_external_id"],
             r["candidate_name"], r["candidate_city"], round(r["score"], 4), r["reason"],
             VERDICT_JA.get((r["decision"] or {}).get("verdict"), "未判定"),
             REASONS_JA.get((r["decision"] or {}).get("reason"), ""), (r["decision"] or {}).get("by") or ""]
            for r in rows]
    headers = ["順位", "種別", "ID", "名称", "所在地・機関", "スコア", "理由", "判定", "却下の理由", "担当者"]
    return xlsx_response(table_xlsx("候補リスト", headers, body), f"shortlist-{need['external_id']}.xlsx")


@router.post("/needs/{need_id}/shortlist")
async def need_shortlist(need_id: Id, request: Request, st: State, user: OptionalUser) -> RedirectResponse:
    from starlette.concurrency import run_in_threadpool

    from matcher.services.shortlists import shortlist_need

    page_user(request, user, "admin", "coordinator")
    await check_csrf(request, st)
    await run_in_threadpool(lambda: shortlist_need(st.context(), need_id, "all", 5))
    return RedirectResponse(f"/needs/{need_id}?message=shortlisted", 303)


@router.post("/needs/{need_id}/groups")
async def need_groups(need_id: Id, request: Request, st: State, user: OptionalUser) -> RedirectResponse:
    from starlette.concurrency import run_in_threadpool

    from matcher.services.groups import propose_groups

    page_user(request, user, "admin", "coordinator")
    await check_csrf(request, st)
    await run_in_threadpool(lambda: propose_groups(st.context(), need_id, 3, 5))
    return RedirectResponse(f"/needs/{need_id}?message=grouped#groups", 303)


@router.get("/sig", response_class=HTMLResponse)
async def sig_page(request: Request, st: State, user: OptionalUser) -> Response:
    from starlette.concurrency import run_in_threadpool

    from matcher import views
    from matcher.services.sig import propose_sigs

    user = page_user(request, user, "admin", "coordinator")
    proposal = await run_in_threadpool(lambda: views.as_json(views.sigs_out(propose_sigs(st.context()))))
    return render(request, st, "sig.html", user, proposal=proposal)


@router.post("/groups/{suggestion_id}/drop")
async def group_drop(suggestion_id: Id, request: Request, st: State, user: OptionalUser) -> RedirectResponse:
    from matcher.learn.decisions import drop_group_member

    user = page_user(request, user, "admin", "coordinator")
    form = await check_csrf(request, st)
    org = str(form.get("org_id") or "")
    need_id = str(form.get("need_id") or "")
    if not (org.isascii() and org.isdigit() and len(org) <= 10 and need_id.isascii() and need_id.isdigit()
            and len(need_id) <= 10):
        raise HTTPException(422, "入力が正しくありません。")
    drop_group_member(st.engine, suggestion_id, int(org), user.email)
    return RedirectResponse(f"/needs/{int(need_id)}?message=dropped#groups", 303)


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
    if verdict == "reject" and not reason:
        raise HTTPException(422, "却下するときは理由を選んでください。")
    record_decision(st.engine, suggestion_id, verdict, reason if verdict == "reject" else None, user.email)
    return RedirectResponse(target, 303)


@router.get("/orgs/{org_id}", response_class=HTMLResponse)
def org_page(org_id: Id, request: Request, st: State, user: OptionalUser) -> Response:
    user = page_user(request, user)
    if user.role == "company" and user.org_id != org_id:
        raise HTTPException(404, "企業が見つかりません / organisation not found")
    org = directory.get_organization(st.engine, org_id)
    if org is None:
        raise HTTPException(404, "企業が見つかりません / organisation not found")
    return render(request, st, "org.html", user, org=org)


@router.get("/proposals", response_class=HTMLResponse)
def proposals_page(request: Request, st: State, user: OptionalUser, message: str = "") -> Response:
    from matcher.services.proposals import proposals_for

    user = page_user(request, user, "company")
    return render(request, st, "proposals.html", user, proposals=proposals_for(st.engine, user.org_id or -1),
                  contact=st.settings.contact, message=MESSAGES.get(message, ""))


@router.post("/proposals/{suggestion_id}/reply")
async def proposal_reply(suggestion_id: Id, request: Request, st: State, user: OptionalUser) -> RedirectResponse:
    from matcher.learn.decisions import record_company_reply
    from matcher.services.proposals import proposals_for

    user = page_user(request, user, "company")
    form = await check_csrf(request, st)
    answer = str(form.get("answer") or "")[:20]
    if suggestion_id not in {p.suggestion_id for p in proposals_for(st.engine, user.org_id or -1)}:
        raise HTTPException(404, "提案が見つかりません / no such proposal")
    record_company_reply(st.engine, suggestion_id, answer, str(form.get("comment") or "")[:1000], user.email,
                         user.org_id or -1)
    return RedirectResponse(f"/proposals?message=replied#p{suggestion_id}", 303)


@router.get("/directory", response_class=HTMLResponse)
def directory_page(request: Request, st: State, user: OptionalUser, q: str = "", city: str = "", process: str = "",
                   cert: str = "", size: str = "", page: int = 1) -> Response:
    q, city, process, cert = q[:200], city[:100], process[:100], cert[:100]
    size = size if size in directory.SIZE_CLASSES else ""
    result = directory.directory_search(st.engine, q, city, process, cert, size, max(1, min(page, 100_000)))
    filters = {"q": q, "city": city, "process": process, "cert": cert, "size": size}
    return render(request, st, "directory.html", user, result=result, filters=filters)


@router.get("/directory/{external_id}", response_class=HTMLResponse)
def directory_org_page(external_id: str, request: Request, st: State, user: OptionalUser) -> Response:
    org = directory.public_organization(st.engine, external_id[:64])
    if org is None:
        raise HTTPException(404, "企業が見つかりません（非公開か、登録されていません）")
    return render(request, st, "public_org.html", user, org=org)


def index_state(st) -> dict[str, Any]:
    return st.jobs.status().as_json()


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
    labels = {f.name: f.label for spec in ENTITIES.values() for f in spec.fields}
    for e in report["rejected"]:
        e["label"] = labels.get(e["field"], e["field"])
    return render(request, st, "import.html", user, report=report, index=index_state(st))


@router.get("/import/template.xlsx")
def import_template(request: Request, st: State, user: OptionalUser) -> Response:
    """The import format itself: a sheet per kind with its headers and one example row."""
    from matcher.exchange.export import workbook_bytes
    from matcher.exchange.spec import ENTITIES

    page_user(request, user, "admin", "coordinator")
    examples = {
        "organizations": {"external_id": "HC9001", "name": "日野サンプル精工（架空）", "kind": "企業", "city": "日野市",
                          "employees": 45, "processes": "切削;研削", "certifications": "ISO9001",
                          "profile": "ステンレスとアルミの精密切削。", "publish": "はい", "email_opt_in": "いいえ"},
        "needs": {"external_id": "HN9001", "org_external_id": "HC9001", "title": "試作部品の切削と検査",
                  "text": "アルミ部品の5軸加工と三次元測定をお願いしたい。", "required_processes": "切削;検査", "status": "受付中"},
        "seeds": {"external_id": "HS9001", "institution": "サンプル大学", "title": "難削材の高能率切削",
                  "keywords": "切削;工具", "summary": "チタン合金の切削条件の研究。"},
    }
    sheets = {}
    for kind, label in (("organizations", "企業・機関"), ("needs", "案件"), ("seeds", "研究シーズ")):
        fields = ENTITIES[kind].fields
        sheets[label] = ([f.headers[0] for f in fields], [[examples[kind].get(f.name, "") for f in fields]])
    return xlsx_response(workbook_bytes(sheets), "import-template.xlsx")
