"""One-click links from the email digests: replies, unsubscribe (RFC 8058), the desk link. A GET
only shows the proposal and asks (mail scanners fetch every link); the POST records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import State
from api.routes.common import (
    render,
)
from matcher.services.mail_links import ANSWERS, LinkResult, follow_link

pages = APIRouter(include_in_schema=False)


Token = Annotated[str, PathParam(max_length=200)]


PAGES = {  # status → (HTTP status, title, message)
    "invalid": (404, "無効なリンク", "このリンクは無効です。メールに記載のリンクをそのままお使いください。"),
    "expired": (410, "リンクの有効期限切れ", "このリンクは有効期限が切れています。窓口までご連絡ください。"),
    "unavailable": (410, "ご覧いただけないご紹介", "このご紹介は現在ご覧いただけません。窓口までお問い合わせください。"),
    "used": (409, "使用済みのリンク", "このリンクは既に使われています。回答の変更は「貴社への提案」の画面からできます。"),
    "recorded": (200, "ご回答ありがとうございます", "「{answer}」を承りました。"),
    "changed": (200, "回答を変更しました", "ご回答を「{answer}」に変更しました。"),
    "same": (200, "ご回答ありがとうございます", "「{answer}」のご回答は既に承っています。"),
    "unsubscribed": (200, "配信を停止しました", "メールの配信を停止しました。再開をご希望の場合は窓口までご連絡ください。"),
}


def _page(request: Request, st, token: str, result: LinkResult) -> Response:
    if result.status == "opened":
        return RedirectResponse("/proposals", status_code=303)
    if result.status == "confirm":
        if result.action == "unsubscribe":
            return render(request, st, "mail_link.html", None, title="配信停止", message="企業マッチングからのメール配信を停止しますか？",
                          confirm_url=f"/mail/{token}", confirm_label="配信を停止する")
        answer = ANSWERS[result.action]
        return render(request, st, "mail_link.html", None, title="ご回答の確認", item=result.item,
                      message=f"このご紹介に「{answer}」と回答します。よろしければ下のボタンを押してください。",
                      confirm_url=f"/mail/{token}", confirm_label=f"「{answer}」と回答する")
    status, title, message = PAGES[result.status]
    answer = result.item.reply.answer_ja if result.item and result.item.reply else ANSWERS.get(result.action, "")
    return render(request, st, "mail_link.html", None, status_code=status, title=title,
                  message=message.format(answer=answer), item=result.item, used_at=result.used_at)


@pages.get("/mail/{token}", response_class=HTMLResponse)
def mail_link(token: Token, request: Request, st: State) -> Response:
    """Shows what the link is about and asks; records nothing."""
    return _page(request, st, token, follow_link(st.engine, token))


@pages.post("/mail/{token}", response_class=HTMLResponse)
def mail_link_post(token: Token, request: Request, st: State) -> Response:
    """The page's button, and RFC 8058 one-click unsubscribe (body ``List-Unsubscribe=One-Click``)."""
    return _page(request, st, token, follow_link(st.engine, token, confirm=True))
