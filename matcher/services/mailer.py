"""Composing and sending real email: Japanese, UTF-8, text and HTML alternatives, RFC 8058.

Headers with Japanese (Subject, the sender's display name) are written as MIME encoded-words by
the standard library's SMTP policy; bodies are UTF-8 (base64 where a line would not survive
transport). ``Message-ID`` and ``Date`` are fixed when a digest is queued, and a resend rebuilds
the message from the outbox row, so a retried message is the same message.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import cached_property

from matcher.config import Settings
from matcher.store.tables import EmailMessage
from matcher.text import one_line


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
        lines = [f"{one_line(self.org_name)} ご担当者様", "",
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
        from jinja2 import Environment, PackageLoader, select_autoescape

        env = Environment(loader=PackageLoader("matcher", "templates"), autoescape=select_autoescape(["html"]))
        return env.get_template("digest.html").render(letter=self)


def _domain(settings: Settings) -> str:
    address = parseaddr(settings.smtp_sender)[1]
    return address.rsplit("@", 1)[-1] if "@" in address else "localhost"


def build(settings: Settings, *, to: str, subject: str, text: str, html: str, message_id: str, date: datetime,
          unsubscribe_url: str) -> MimeMessage:
    """The message with exactly the headers set here: every header value is one line."""
    msg = MimeMessage(policy=policy.SMTP)
    msg["From"] = one_line(settings.smtp_sender)
    msg["To"] = one_line(to)
    msg["Subject"] = one_line(subject)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg["List-Unsubscribe"] = f"<{one_line(unsubscribe_url)}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def compose(settings: Settings, letter: DigestLetter, now: datetime) -> MimeMessage:
    return build(settings, to=letter.to, subject=letter.subject, text=letter.text, html=letter.html,
                 message_id=make_msgid(domain=_domain(settings)), date=now, unsubscribe_url=letter.unsubscribe_url)


def rebuild(settings: Settings, row: EmailMessage) -> bytes:
    """The queued message again, byte for byte the same content (same Message-ID and Date, the
    unsubscribe URL as stored when it was composed — never read back from the body)."""
    msg = build(settings, to=row.to_address, subject=row.subject, text=row.body, html=row.body_html,
                message_id=row.message_id, date=row.created_at, unsubscribe_url=row.unsubscribe_url)
    return msg.as_bytes(policy=policy.SMTP)


def smtp_connection(settings: Settings) -> smtplib.SMTP:
    conn = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    conn.ehlo()
    if settings.smtp_starttls:
        conn.starttls(context=ssl.create_default_context())
        conn.ehlo()
    if settings.smtp_user:
        conn.login(settings.smtp_user, settings.smtp_password or "")
    return conn
