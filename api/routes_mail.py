"""One-click links from the email digests: replies, unsubscribe (RFC 8058) and the desk link.

The token in the URL is the credential (signed by being unguessable and stored only as a hash);
no password and no session. A reply is recorded once; unsubscribe asks to confirm on GET (link
scanners fetch GETs) and acts on POST, which is also what mail clients send for one-click.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import State
from api.routes_pages import render
from matcher.services.digests import follow_link

router = APIRouter(include_in_schema=False)
Token = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{16,64}$")]
MESSAGES = {
    ("interested", "recorded"): "「興味あり」を承りました。担当者からご連絡します。",
    ("declined", "recorded"): "「関心なし」を承りました。ご回答ありがとうございました。",
    ("interested", "already"): "このご紹介には既にご回答いただいています。",
    ("declined", "already"): "このご紹介には既にご回答いただいています。",
    ("unsubscribe", "unsubscribed"): "メールの配信を停止しました。再開をご希望の場合は窓口までご連絡ください。",
}


def _page(request: Request, st, title: str, message: str, status: int = 200, confirm_url: str | None = None) -> Response:
    return render(request, st, "mail_link.html", None, status_code=status, title=title, message=message,
                  confirm_url=confirm_url)


@router.get("/mail/{token}", response_class=HTMLResponse)
def mail_link(token: Token, request: Request, st: State) -> Response:
    result = follow_link(st.engine, token)
    if result.status == "expired":
        return _page(request, st, "リンクの有効期限切れ", "このリンクは有効期限が切れています。窓口までご連絡ください。", 410)
    if result.status == "confirm":
        return _page(request, st, "配信停止", "企業マッチングからのメール配信を停止しますか？", confirm_url=f"/mail/{token}")
    if result.status == "opened":
        return RedirectResponse("/proposals", status_code=303)
    return _page(request, st, "ご回答ありがとうございます", MESSAGES[(result.action, result.status)])


@router.post("/mail/{token}", response_class=HTMLResponse)
def mail_link_post(token: Token, request: Request, st: State) -> Response:
    """RFC 8058 one-click unsubscribe (body ``List-Unsubscribe=One-Click``) and the page's button."""
    result = follow_link(st.engine, token, confirm=True)
    if result.status == "expired":
        return _page(request, st, "リンクの有効期限切れ", "このリンクは有効期限が切れています。窓口までご連絡ください。", 410)
    if result.status == "opened":
        return RedirectResponse("/proposals", status_code=303)
    return _page(request, st, "ご回答ありがとうございます", MESSAGES[(result.action, result.status)])
