"""What every route module shares: the page templates and their filters, rendering with the CSRF
token, the page guard, the CSRF check of forms, upload reading, id parameters, error shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from api.deps import SESSION_COOKIE, optional_user
from api.security import attachment
from matcher.labels import ranker_ja
from matcher.store.tables import User
from matcher.views import as_json, fit_label
from matcher.views.imports import row_error_out


class ErrorOut(BaseModel):
    detail: Any = Field(description="Japanese / English message, or a structured row-level report")


_ERR = {"model": ErrorOut}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {**_ERR, "description": "ログインが必要 / authentication required"},
    403: {**_ERR, "description": "権限がない / not allowed for the role"},
    404: {**_ERR, "description": "見つからない / not found"},
    409: {**_ERR, "description": "状態と矛盾 / conflicts with the current state"},
    413: {**_ERR, "description": "大きすぎる / body too large"},
    422: {**_ERR, "description": "入力の誤り / invalid input"},
    429: {**_ERR, "description": "試行が多すぎる / rate limited"},
    503: {**_ERR, "description": "一時的に利用できない / temporarily unavailable"},
}


def api_router() -> APIRouter:
    """A resource's JSON routes: under /api, with the error shapes every operation documents."""
    return APIRouter(prefix="/api", responses=ERRORS)


MAX_ID = 2_147_483_647  # ids are 32-bit on every supported database


Id = Annotated[int, PathParam(ge=1, le=MAX_ID)]


def company_org(user) -> int | None:
    """The organisation a company user is confined to (-1, matching nothing, if it has none);
    None for staff, who see everything."""
    if user.role != "company":
        return None
    return user.org_id if user.org_id is not None else -1


def reject(errors) -> HTTPException:
    return HTTPException(422, {"message": "入力に誤りがあります / invalid input", "rejected": [as_json(row_error_out(e)) for e in errors]})


async def read_upload(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"ファイルが大きすぎます（上限 {limit // (1024 * 1024)} MB） / file larger than {limit} bytes")
    return data


def display_name(filename: str | None) -> str:
    """An upload's name as shown back: its last part, printable, at most 100 characters."""
    import unicodedata

    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in "CZ" or ch == " ").strip()
    return name[:100] if name not in ("", ".", "..") else "upload"


templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))


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


templates.env.filters["fit"] = fit_label
templates.env.filters["ranker"] = lambda version: ranker_ja(version) if version else ""




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


def xlsx_response(data: bytes, filename: str) -> Response:
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": attachment(filename)})


MESSAGES = {"decided": "判定を記録しました。", "shortlisted": "候補リストを作成しました。",
            "replied": "回答を送りました。ありがとうございました。", "promoted": "ランカーの版を切り替えました。",
            "rolled_back": "一つ前の版に戻しました。", "grouped": "共同受注グループを提案しました。",
            "dropped": "グループから外しました。"}
