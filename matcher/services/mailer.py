"""The digest letter and a person's invitation: what a company's (or a person's) email says (plain text and HTML, in Japanese), composed
into a message by ``matcher.infra.mail``. ``Message-ID`` and ``Date`` are fixed when a digest is
queued, and a resend rebuilds the message from the outbox row, so a retried message is the same
message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage as MimeMessage
from functools import cached_property
from typing import Any

from matcher.config import Settings
from matcher.infra.mail import build, new_message_id
from matcher.store.tables import EmailMessage
from matcher.text import one_line

# What our own lines start with; a stored value never starts a line the same way.
_OUR_LABELS = ("興味あり", "関心なし", "配信停止", "これまでのご提案", "お問い合わせ", "引き受ける", "辞退する", "登録削除")


def _greeting(name: str) -> str:
    """「{name} ご担当者様」, the name quoted when it would start the line like one of our links."""
    shown = one_line(name)
    if shown.lstrip().startswith(_OUR_LABELS):
        shown = f"「{shown}」"
    return f"{shown} ご担当者様"


@dataclass(frozen=True, kw_only=True)
class LetterItem:
    headline: str
    about: str
    reason: str
    interested_url: str
    declined_url: str


@dataclass(frozen=True, kw_only=True)
class DigestLetter:
    org_name: str
    to: str
    items: list[LetterItem]
    desk_url: str
    unsubscribe_url: str
    contact: str

    @property
    def subject(self) -> str:
        return one_line(f"【日野市 企業マッチング】{one_line(self.org_name, 80)}様へ 新しいご紹介 {len(self.items)} 件")

    @cached_property
    def text(self) -> str:
        """The plain-text part. Every value from the store is written as one line, so no name or
        title can add a line that looks like a link or an instruction of ours."""
        lines = [_greeting(self.org_name), "",
                 "日野市 産業振興課の企業マッチングから、御社に関係する新しいご紹介をお届けします。",
                 "ご関心の有無をリンクからお知らせください（ログインは不要です）。", ""]
        for i, item in enumerate(self.items, 1):
            lines += [f"■ {i}. {one_line(item.headline)}", f"  {one_line(item.about)}"]
            if item.reason:
                lines.append(f"  理由: {one_line(item.reason)}")
            lines += [f"  興味あり: {item.interested_url}", f"  関心なし: {item.declined_url}", ""]
        lines += [f"これまでのご提案は企業マッチングの画面でご覧いただけます: {self.desk_url}", "",
                  f"お問い合わせ: {self.contact}",
                  f"配信停止: {self.unsubscribe_url}", ""]
        return "\n".join(lines)

    @cached_property
    def html(self) -> str:
        return _html("digest.html", self)


def _html(template: str, letter) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("matcher", "templates"), autoescape=select_autoescape(["html"]))
    return env.get_template(template).render(letter=letter)


@dataclass(frozen=True, kw_only=True)
class InvitationLetter:
    """A person's invitation (人材): one proposal, its 引き受ける / 辞退 links, and the two ways out."""

    person_name: str
    to: str
    item: Any  # services.invitations.PersonItem
    agree_url: str
    decline_url: str
    unsubscribe_url: str
    erase_url: str
    contact: str

    @property
    def subject(self) -> str:
        return "【日野市 企業マッチング】アドバイザーのご依頼（ご意向の確認）"

    @cached_property
    def text(self) -> str:
        item = self.item
        lines = [f"{one_line(self.person_name, 80)} 様", "",
                 "日野市 産業振興課の企業マッチングです。ご登録の専門分野に合う企業の案件があり、",
                 "アドバイザーとしてご紹介したいと考えています。",
                 "お引き受けいただける場合に限り、依頼元の企業にお名前と連絡先をお伝えします。",
                 "それまで企業にはお知らせしません（ログインは不要です）。", "",
                 f"■ {one_line(item.headline)}", f"  {one_line(item.about)}",
                 f"  {one_line(item.partner_detail)}・想定 月 {item.hours} 時間程度"]
        if item.why:
            lines.append(f"  理由: {one_line(item.why)}")
        lines += [f"  引き受ける: {self.agree_url}", f"  辞退する: {self.decline_url}", "",
                  f"お問い合わせ: {self.contact}",
                  f"登録削除（ご登録の個人情報をすべて削除）: {self.erase_url}",
                  f"配信停止: {self.unsubscribe_url}", ""]
        return "\n".join(lines)

    @cached_property
    def html(self) -> str:
        return _html("invitation.html", self)


def compose_invitation(settings: Settings, letter: InvitationLetter, now: datetime) -> MimeMessage:
    return build(settings, to=letter.to, subject=letter.subject, text=letter.text, html=letter.html,
                 message_id=new_message_id(settings), date=now, unsubscribe_url=letter.unsubscribe_url)


def compose(settings: Settings, letter: DigestLetter, now: datetime) -> MimeMessage:
    return build(settings, to=letter.to, subject=letter.subject, text=letter.text, html=letter.html,
                 message_id=new_message_id(settings), date=now, unsubscribe_url=letter.unsubscribe_url)


def rebuild(settings: Settings, row: EmailMessage) -> bytes:
    """The queued message again, byte for byte the same content (same Message-ID and Date, the
    unsubscribe URL as stored when it was composed — never read back from the body)."""
    msg = build(settings, to=row.to_address, subject=row.subject, text=row.body, html=row.body_html,
                message_id=row.message_id, date=row.created_at, unsubscribe_url=row.unsubscribe_url)
    return msg.as_bytes(policy=policy.SMTP)


