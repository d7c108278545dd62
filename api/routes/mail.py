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
from matcher.services.invitations import PERSON_ANSWERS
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
PERSON_PAGES = {  # a person's link (人材): the same statuses, in the words a person reads
    "unavailable": (410, "ご覧いただけないご依頼", "このご依頼は現在ご覧いただけません。窓口までお問い合わせください。"),
    "used": (409, "使用済みのリンク", "このリンクは既に使われています。ご回答の変更は窓口までご連絡ください。"),
    "recorded": (200, "ご回答ありがとうございます", "「{answer}」を承りました。"
                 "{next}"),
    "changed": (200, "ご回答を変更しました", "ご回答を「{answer}」に変更しました。{next}"),
    "same": (200, "ご回答ありがとうございます", "「{answer}」のご回答は既に承っています。"),
    "unsubscribed": (200, "配信を停止しました", "今後のご紹介はお送りしません。再開をご希望の場合は窓口までご連絡ください。"),
    "erased": (200, "登録を削除しました", "ご登録の個人情報をすべて削除しました。これまでのご協力ありがとうございました。"),
}
PERSON_CONFIRM = {  # action → (title, question, button)
    "agree": ("ご回答の確認", "このご依頼を引き受けます。引き受けると、依頼元の企業にお名前と連絡先をお伝えします。", "引き受ける"),
    "decline": ("ご回答の確認", "このご依頼を辞退します。企業にはお名前をお伝えしません。", "辞退する"),
    "unsubscribe": ("配信停止", "今後のご紹介メールを停止しますか？（ご登録は残ります）", "配信を停止する"),
    "erase": ("登録削除", "ご登録の個人情報（お名前・連絡先・経歴など）をすべて削除しますか？元に戻せません。", "登録を削除する"),
}


def _person_page(request: Request, st, token: str, result: LinkResult) -> Response:
    if result.status == "confirm":
        title, question, label = PERSON_CONFIRM[result.action]
        return render(request, st, "mail_link.html", None, title=title, item=result.item, message=question,
                      confirm_url=f"/mail/{token}", confirm_label=label)
    status, title, message = PERSON_PAGES.get(result.status) or PAGES[result.status]
    answer = PERSON_ANSWERS.get(result.item.answer or "", "") if result.item else ""
    following = "担当者から依頼元の企業にお名前と連絡先をお伝えし、改めてご連絡します。" if answer == "引き受ける" else ""
    return render(request, st, "mail_link.html", None, status_code=status, title=title,
                  message=message.format(answer=answer, next=following), item=result.item, used_at=result.used_at)


def _page(request: Request, st, token: str, result: LinkResult) -> Response:
    if result.person_id is not None:
        return _person_page(request, st, token, result)
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
