"""Email digests: companies hear about collaborators the coordinators accepted for them.

One digest per company that has an address, opted in (メール配信=はい), is not bouncing and has
something new: (a) partners and research seeds a coordinator accepted for its own needs, (b)
introductions to other companies' public needs it was accepted for, (c) optionally its own best
suggested collaborators (``--suggest``) at or above ``MATCHER_DIGEST_MIN_SCORE``. A suggestion
once told to a company (``DigestItem``) is never told to it again; coordinators' comments and
reject reasons are never in a digest.

The outbox (``EmailMessage``: queued → sent | failed | bounced) makes sending safe to repeat:
its idempotency key is (company, digest period), so a second run in the same period composes
nothing new; a message is marked sent as soon as the server accepts it (one transaction per
message), so a run that dies mid-batch leaves exactly the unsent ones queued or failed, and the
next run sends exactly those — never a second copy of one accepted. A 4xx answer is retried with
backoff within the run; a 5xx refusal of the address marks the organisation bouncing, and it
gets no digest until its address is edited.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from matcher.config import Settings
from matcher.dates import JST
from matcher.errors import InvalidInput, NotFound
from matcher.infra.jobs import dead_here, worker_id
from matcher.infra.mail import smtp_connection
from matcher.services.digest_items import (  # noqa: F401 — re-exported: what a digest holds
    Digest,
    DigestEntry,
    collect,
    eligible_orgs,
    suggested_collaborators,
)
from matcher.services.mailer import DigestLetter, LetterItem, compose
from matcher.store.db import session_scope
from matcher.store.tables import (
    AuditLog,
    DigestItem,
    EmailMessage,
    MailLink,
    Organization,
)

log = logging.getLogger("matcher.digests")
MAX_ATTEMPTS = 5
CLAIM_LEASE = timedelta(minutes=15)  # a claim older than this belongs to a run that died
RETRIES_IN_RUN = 2  # further tries of a 4xx answer within one run
BACKOFF_S = 0.5  # first wait; doubles with each retry


# -- periods, caps, quiet hours -----------------------------------------------------------------------
def period_key(now: datetime, days: int) -> str:
    """The digest period ``now`` falls in: JST calendar days in blocks of ``days``."""
    d = now.astimezone(JST).date().toordinal() // max(days, 1)
    return f"{days}d-{d}"


def in_quiet_hours(now: datetime, spec: str) -> bool:
    """``"20-8"``: from 20:00 to 08:00 JST nothing is sent; an empty spec is never quiet."""
    if not spec.strip():
        return False
    try:
        start, end = (int(x) for x in spec.split("-"))
    except ValueError as exc:
        raise InvalidInput("MATCHER_DIGEST_QUIET_HOURS は「20-8」の形式です", f"bad quiet hours {spec!r}") from exc
    hour = now.astimezone(JST).hour
    return start <= hour < end if start < end else hour >= start or hour < end


# -- the outbox ---------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class MessageOutcome:
    """What became of one company's digest in a run (``status``: sent | queued | failed | bounced |
    preview | skipped_recent | skipped_period); the optional fields say more where there is more."""

    org_id: int | None
    to: str | None
    message_id: str | None
    status: str
    error: str | None = None  # the composing failed
    items: int | None = None  # a preview's number of proposals
    attempts: int | None = None  # delivery tries so far
    smtp: str | None = None  # the server's answer


@dataclass
class DigestRun:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    messages: list[MessageOutcome] = field(default_factory=list)
    previews: list[tuple[str, bytes]] = field(default_factory=list)  # dry run: (file name, .eml bytes)
    notes: list[str] = field(default_factory=list)
    invitations: int = 0  # people's invitations (人材) composed in this run



def _token() -> tuple[str, str]:
    token = secrets.token_urlsafe(24)
    return token, hashlib.sha256(token.encode()).hexdigest()


def _letter(settings: Settings, digest: Digest, tokens: dict[tuple[int | None, str], str]) -> DigestLetter:
    base = settings.public_url.rstrip("/")

    def url(sid: int | None, action: str) -> str:
        return f"{base}/mail/{tokens[(sid, action)]}"

    items = [LetterItem(headline=e.headline, about=e.about, reason=e.reason, interested_url=url(e.suggestion_id, "interested"),
                        declined_url=url(e.suggestion_id, "declined")) for e in digest.entries]
    return DigestLetter(org_name=digest.org_name, to=digest.to, items=items, desk_url=url(None, "desk"),
                        unsubscribe_url=url(None, "unsubscribe"), contact=settings.contact)


def queue_digest(engine: Engine, settings: Settings, digest: Digest, now: datetime) -> EmailMessage | None:
    """Compose and queue one digest with its items and links, in one transaction; None when this
    company's digest for the period already exists (a repeated or concurrent run)."""
    key = f"digest:{digest.org_id}:{period_key(now, settings.digest_days)}"
    actions = [(e.suggestion_id, a) for e in digest.entries for a in ("interested", "declined")]
    actions += [(None, "desk"), (None, "unsubscribe")]
    tokens, hashes = {}, {}
    for act in actions:
        tokens[act], hashes[act] = _token()
    letter = _letter(settings, digest, tokens)
    msg = compose(settings, letter, now)
    try:
        with session_scope(engine) as s:
            row = EmailMessage(idempotency_key=key, org_id=digest.org_id, to_address=digest.to,
                               subject=str(msg["Subject"]), body=letter.text, body_html=letter.html,
                               message_id=str(msg["Message-ID"]), unsubscribe_url=letter.unsubscribe_url,
                               status="queued", created_at=now)
            s.add(row)
            s.flush()
            for e in digest.entries:
                s.add(DigestItem(org_id=digest.org_id, suggestion_id=e.suggestion_id, message_id=row.id, kind=e.kind))
            expires = now + timedelta(days=settings.mail_link_days)
            for (sid, action), h in hashes.items():
                s.add(MailLink(token_hash=h, message_id=row.id, org_id=digest.org_id, suggestion_id=sid,
                               action=action, expires_at=expires, created_at=now))
            return row
    except IntegrityError:
        return None


def recently_sent(engine: Engine, org_id: int, now: datetime, days: int) -> bool:
    since = now - timedelta(days=days)
    with session_scope(engine) as s:
        return s.exec(select(EmailMessage.id).where(
            EmailMessage.org_id == org_id, EmailMessage.status.in_(("sent", "queued", "sending", "failed")),
            or_(EmailMessage.sent_at >= since, EmailMessage.created_at >= since))).first() is not None


def send_digests(engine: Engine, settings: Settings, now: datetime | None = None, dry_run: bool = False,
                 org_id: int | None = None, suggest: Callable[[list[Organization]], dict[int, list]] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> DigestRun:
    """Compose what is new, then send everything queued or failed (not yet given up). One
    message that cannot be composed or sent is marked failed with its reason; the run goes on."""
    now = now or datetime.now(UTC)
    run = DigestRun()
    if org_id is not None:
        with session_scope(engine) as s:
            if s.get(Organization, org_id) is None:
                raise NotFound(f"組織ID {org_id} はありません", f"no organisation {org_id}")
    orgs = eligible_orgs(engine, org_id)
    capped = [o for o in orgs if recently_sent(engine, o.id, now, settings.digest_days)]
    due = [o for o in orgs if o not in capped]
    run.skipped += len(capped)
    for o in capped:
        run.messages.append(MessageOutcome(org_id=o.id, to=o.email, message_id=None, status="skipped_recent"))
    digests = collect(engine, due, suggest(due) if suggest and not dry_run else None)
    if dry_run:
        for d in digests:
            tokens = {(e.suggestion_id, a): "preview" for e in d.entries for a in ("interested", "declined")}
            tokens |= {(None, "desk"): "preview", (None, "unsubscribe"): "preview"}
            try:
                msg = compose(settings, _letter(settings, d, tokens), now)
            except Exception as exc:  # noqa: BLE001 — one bad message never stops the others
                run.failed += 1
                run.messages.append(MessageOutcome(org_id=d.org_id, to=d.to, message_id=None, status="failed",
                                               error=f"{type(exc).__name__}: {exc}"[:200]))
                continue
            run.previews.append((f"digest-{d.org_id}.eml", bytes(msg)))
            run.messages.append(MessageOutcome(org_id=d.org_id, to=d.to, message_id=msg["Message-ID"], status="preview",
                                               items=len(d.entries)))
        return run
    for d in digests:
        try:
            queued = queue_digest(engine, settings, d, now)
        except Exception as exc:  # noqa: BLE001 — one bad message never stops the others
            log.exception("digest for organisation %s could not be composed", d.org_id)
            run.failed += 1
            run.messages.append(MessageOutcome(org_id=d.org_id, to=d.to, message_id=None, status="failed",
                                               error=f"{type(exc).__name__}: {exc}"[:200]))
            continue
        if queued is None:
            run.skipped += 1
            run.messages.append(MessageOutcome(org_id=d.org_id, to=d.to, message_id=None, status="skipped_period"))
    if org_id is None:  # a run for every company also writes to the people proposed (人材)
        from matcher.services.invitations import queue_invitations

        run.invitations = len(queue_invitations(engine, settings, now))
    if in_quiet_hours(now, settings.digest_quiet_hours):
        run.notes.append(f"送信を控える時間帯（{settings.digest_quiet_hours} 時）のため、作成したメールは次回に送ります")
        with session_scope(engine) as s:
            for m in s.exec(select(EmailMessage).where(EmailMessage.status == "queued")):
                run.messages.append(MessageOutcome(org_id=m.org_id, to=m.to_address, message_id=m.message_id,
                                                   status="queued"))
        return run
    _deliver(engine, settings, now, run, org_id, sleep)
    return run


def _due(engine: Engine, org_id: int | None) -> list[int]:
    """Ids of messages a run may try: queued, failed and not given up, or being sent (by a run
    that may have died: ``_claim`` decides)."""
    with session_scope(engine) as s:
        q = select(EmailMessage.id).where(or_(EmailMessage.status.in_(("queued", "sending")),
                                              (EmailMessage.status == "failed") & (EmailMessage.attempts < MAX_ATTEMPTS)))
        if org_id is not None:
            q = q.where(EmailMessage.org_id == org_id)
        return list(s.exec(q.order_by(EmailMessage.id)))


def _claimable(m: EmailMessage, now: datetime) -> bool:
    if m.status == "queued" or (m.status == "failed" and m.attempts < MAX_ATTEMPTS):
        return True
    # "sending" by a run that died mid-batch: its process is gone from this machine, or its claim
    # is older than any send takes. The message goes out again with the same Message-ID.
    return m.status == "sending" and (dead_here(m.claimed_by) or m.claimed_at is None or now - m.claimed_at > CLAIM_LEASE)


def _claim(engine: Engine, msg_id: int, claimant: str, now: datetime) -> EmailMessage | None:
    """→ sending, for this run only: a compare-and-set on the status, attempts and claim read,
    so of any number of concurrent runs exactly one wins each message."""
    with session_scope(engine) as s:
        row = s.get(EmailMessage, msg_id)
        if row is None or not _claimable(row, now):
            return None
        same_claim = (EmailMessage.claimed_by == row.claimed_by) if row.claimed_by is not None \
            else EmailMessage.claimed_by.is_(None)
        won = s.exec(update(EmailMessage).where(EmailMessage.id == msg_id, EmailMessage.status == row.status,
                                                EmailMessage.attempts == row.attempts, same_claim)
                     .values(status="sending", claimed_by=claimant, claimed_at=now)).rowcount
    return row if won else None


def _mark(engine: Engine, msg_id: int, claimant: str, **values: Any) -> None:
    with session_scope(engine) as s:
        s.exec(update(EmailMessage).where(EmailMessage.id == msg_id, EmailMessage.claimed_by == claimant)
               .values(**values))


def _deliver(engine: Engine, settings: Settings, now: datetime, run: DigestRun, org_id: int | None,
             sleep: Callable[[float], None]) -> None:
    from matcher.services.mailer import rebuild

    claimant = f"{worker_id()}@{secrets.token_hex(4)}"
    conn = None
    for msg_id in _due(engine, org_id):
        row = _claim(engine, msg_id, claimant, now)
        if row is None:
            continue  # another run has it
        status, answer = "failed", ""
        try:
            raw = rebuild(settings, row)
        except Exception as exc:  # noqa: BLE001 — a message that cannot be built fails alone
            raw, answer = None, f"compose: {type(exc).__name__}: {exc}"
        for attempt in range(RETRIES_IN_RUN + 1 if raw is not None else 0):
            try:
                if conn is None:
                    conn = smtp_connection(settings)
                refused = conn.sendmail(settings_sender(settings), [row.to_address], raw)
                if refused:  # only one recipient: refused means not accepted
                    code, text = refused[row.to_address]
                    raise smtplib.SMTPRecipientsRefused({row.to_address: (code, text)})
                status, answer = "sent", "250 OK"
                break
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                answer = f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
                if 500 <= code < 600:
                    status = "bounced"
                    break
            except smtplib.SMTPResponseException as exc:
                answer = f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
                if 500 <= exc.smtp_code < 600:
                    break  # permanent for this message (not the address): failed, retried next run
                _reset(conn)
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                answer = f"connection: {type(exc).__name__}: {exc}"
                conn = None
            except (smtplib.SMTPException, ValueError, UnicodeError) as exc:
                answer = f"{type(exc).__name__}: {exc}"
                _reset(conn)
                break
            if attempt < RETRIES_IN_RUN:
                sleep(BACKOFF_S * 2 ** attempt)
        attempts = row.attempts + 1
        if status == "sent":
            _mark(engine, row.id, claimant, status="sent", attempts=attempts, sent_at=now, last_error=None)
            run.sent += 1
        elif status == "bounced":
            _mark(engine, row.id, claimant, status="bounced", attempts=attempts, last_error=answer[:2000])
            with session_scope(engine) as s:
                s.exec(update(Organization).where(Organization.id == row.org_id).values(email_bouncing_at=now))
                s.add(AuditLog(action="email_bounced", target=f"organization:{row.org_id}", detail={"answer": answer[:500]}))
            run.failed += 1
        else:
            _mark(engine, row.id, claimant, status="failed", attempts=attempts, last_error=answer[:2000])
            run.failed += 1
        run.messages.append(MessageOutcome(org_id=row.org_id, to=row.to_address, message_id=row.message_id,
                                           status=status, attempts=attempts, smtp=answer[:200]))
    if conn is not None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            conn.quit()


def settings_sender(settings: Settings) -> str:
    from email.utils import parseaddr

    return parseaddr(settings.smtp_sender)[1]


def _reset(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            conn.rset()


# The one-click links moved to ``matcher.services.mail_links``; old imports keep working.
from matcher.services.mail_links import ANSWERS, LinkResult, follow_link  # noqa: E402,F401
