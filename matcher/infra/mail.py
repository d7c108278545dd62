"""Email as the mail server receives it: Japanese, UTF-8, text and HTML alternatives, RFC 8058
one-click unsubscribe; and the SMTP connection it is sent over.

Headers with Japanese (Subject, the sender's display name) are written as MIME encoded-words by
the standard library's SMTP policy; bodies are UTF-8 (base64 where a line would not survive
transport). Every header value is written as one line.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email import policy
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, make_msgid, parseaddr

from matcher.config import Settings
from matcher.text import one_line


def new_message_id(settings: Settings) -> str:
    return make_msgid(domain=_domain(settings))


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


def smtp_connection(settings: Settings) -> smtplib.SMTP:
    conn = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    conn.ehlo()
    if settings.smtp_starttls:
        conn.starttls(context=ssl.create_default_context())
        conn.ehlo()
    if settings.smtp_user:
        conn.login(settings.smtp_user, settings.smtp_password or "")
    return conn
