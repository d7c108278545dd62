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
import secrets
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from matcher.config import Settings
from matcher.errors import InvalidInput, NotFound
from matcher.learn.decisions import latest_decisions, record_company_reply
from matcher.services.mailer import DigestLetter, LetterItem, compose, smtp_connection
from matcher.store.db import session_scope
from matcher.store.tables import (
    AuditLog,
    DigestItem,
    EmailMessage,
    MailLink,
    Need,
    Organization,
    ResearchSeed,
    Suggestion,
)

JST = ZoneInfo("Asia/Tokyo")
MAX_ATTEMPTS = 5
RETRIES_IN_RUN = 2  # further tries of a 4xx answer within one run
BACKOFF_S = 0.5  # first wait; doubles with each retry
ANSWERS = {"interested": "興味あり", "declined": "関心なし"}


# -- what each company hears about ------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class DigestEntry:
    suggestion_id: int
    kind: str  # accepted | introduction | suggested
    headline: str
    about: str
    reason: str


@dataclass(kw_only=True)
class Digest:
    org_id: int
    org_name: str
    to: str
    entries: list[DigestEntry]


def eligible_orgs(engine: Engine, org_id: int | None = None) -> list[Organization]:
    with session_scope(engine) as s:
        q = select(Organization).where(Organization.deleted_at.is_(None), Organization.email_opt_in.is_(True),
                                       Organization.email.is_not(None), Organization.email_bouncing_at.is_(None))
        if org_id is not None:
            q = q.where(Organization.id == org_id)
        return list(s.exec(q.order_by(Organization.id)))


def collect(engine: Engine, orgs: list[Organization],
            suggested: dict[int, list[Suggestion]] | None = None) -> list[Digest]:
    """Each company's new items: accepted suggestions about it, minus what it was already told."""
    wanted = {o.id for o in orgs}
    accepted = {sid for sid, d in latest_decisions(engine, "coordinator").items() if d.verdict == "accept"}
    with session_scope(engine) as s:
        told = set(s.exec(select(DigestItem.org_id, DigestItem.suggestion_id)).all())
        sugs = list(s.exec(select(Suggestion).where(Suggestion.id.in_(accepted or {-1}))
                           .where(Suggestion.kind != "group").order_by(Suggestion.id)))
        needs = {n.id: n for n in s.exec(select(Need))}
        names = dict(s.exec(select(Organization.id, Organization.name)).all())
        seeds = {x.id: x for x in s.exec(select(ResearchSeed).where(
            ResearchSeed.id.in_({g.candidate_id for g in sugs if g.candidate_type == "seed"} or {-1})))}
    items: dict[int, list[DigestEntry]] = {o: [] for o in wanted}

    def add(org: int, entry: DigestEntry) -> None:
        if org in items and (org, entry.suggestion_id) not in told \
                and all(e.suggestion_id != entry.suggestion_id for e in items[org]):
            items[org].append(entry)

    for g in sugs:
        need = needs.get(g.query_id) if g.query_type == "need" else None
        if need is None:
            continue
        if g.candidate_type == "organization":
            who = names.get(g.candidate_id, "")
            add(need.org_id, DigestEntry(suggestion_id=g.id, kind="accepted", headline=f"協力先候補: {who}",
                                         about=f"御社の案件「{need.title}」について", reason=g.explanation))
            if need.public and g.candidate_id != need.org_id:
                add(g.candidate_id, DigestEntry(
                    suggestion_id=g.id, kind="introduction", headline=f"{names.get(need.org_id, '')}の案件のご紹介",
                    about=f"「{need.title}」の協力先として、御社をご紹介したいと考えています", reason=g.explanation))
        elif g.candidate_type == "seed" and g.candidate_id in seeds:
            seed = seeds[g.candidate_id]
            host = seed.institution or names.get(seed.org_id or -1, "")
            add(need.org_id, DigestEntry(suggestion_id=g.id, kind="accepted", headline=f"研究シーズ: {seed.title}",
                                         about=f"{host}（御社の案件「{need.title}」について）", reason=g.explanation))
    for org, rows in (suggested or {}).items():
        for g in rows:
            add(org, DigestEntry(suggestion_id=g.id, kind="suggested",
                                 headline=f"おすすめの連携先: {names.get(g.candidate_id, '')}",
                                 about="御社の技術紹介と近い企業です", reason=g.explanation))
    return [Digest(org_id=o.id, org_name=o.name, to=o.email or "", entries=items[o.id])
            for o in orgs if items.get(o.id)]


def suggested_collaborators(ctx: Any, orgs: list[Organization], min_score: float, k: int = 3) -> dict[int, list]:
    """(c): each company's own shortlist (its profile as the query), the best ``k`` at or above
    ``min_score``, stored as suggestions so that replies to them are learned from."""
    from matcher.services.shortlists import shortlist_org

    out: dict[int, list[Suggestion]] = {}
    for org in orgs:
        if org.id not in ctx.org_parties:
            continue
        sl = shortlist_org(ctx, org.id, k=k, store=True)
        good = [e.suggestion_id for e in sl.candidates if e.score >= min_score and e.suggestion_id]
        if good:
            with session_scope(ctx.engine) as s:
                out[org.id] = list(s.exec(select(Suggestion).where(Suggestion.id.in_(good)).order_by(Suggestion.rank)))
    return out


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
@dataclass
class DigestRun:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    previews: list[tuple[str, bytes]] = field(default_factory=list)  # dry run: (file name, .eml bytes)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "failed": self.failed, "skipped": self.skipped, "messages": self.messages,
                "notes": self.notes}


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
                               message_id=str(msg["Message-ID"]), status="queued", created_at=now)
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
            EmailMessage.org_id == org_id, EmailMessage.status.in_(("sent", "queued", "failed")),
            or_(EmailMessage.sent_at >= since, EmailMessage.created_at >= since))).first() is not None


def send_digests(engine: Engine, settings: Settings, now: datetime | None = None, dry_run: bool = False,
                 org_id: int | None = None, suggest: Callable[[list[Organization]], dict[int, list]] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> DigestRun:
    """Compose what is new, then send everything queued or failed (not yet given up)."""
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
        run.messages.append({"org_id": o.id, "to": o.email, "message_id": None, "status": "skipped_recent"})
    digests = collect(engine, due, suggest(due) if suggest and not dry_run else None)
    if dry_run:
        for d in digests:
            tokens = {(e.suggestion_id, a): "preview" for e in d.entries for a in ("interested", "declined")}
            tokens |= {(None, "desk"): "preview", (None, "unsubscribe"): "preview"}
            msg = compose(settings, _letter(settings, d, tokens), now)
            run.previews.append((f"digest-{d.org_id}.eml", bytes(msg)))
            run.messages.append({"org_id": d.org_id, "to": d.to, "message_id": msg["Message-ID"], "status": "preview",
                                 "items": len(d.entries)})
        return run
    for d in digests:
        if queue_digest(engine, settings, d, now) is None:
            run.skipped += 1
            run.messages.append({"org_id": d.org_id, "to": d.to, "message_id": None, "status": "skipped_period"})
    if in_quiet_hours(now, settings.digest_quiet_hours):
        run.notes.append(f"送信を控える時間帯（{settings.digest_quiet_hours} 時）のため、作成したメールは次回に送ります")
        with session_scope(engine) as s:
            for m in s.exec(select(EmailMessage).where(EmailMessage.status == "queued")):
                run.messages.append({"org_id": m.org_id, "to": m.to_address, "message_id": m.message_id, "status": "queued"})
        return run
    _deliver(engine, settings, now, run, org_id, sleep)
    return run


def _outbox(engine: Engine, org_id: int | None) -> list[EmailMessage]:
    with session_scope(engine) as s:
        q = select(EmailMessage).where(or_(EmailMessage.status == "queued",
                                           (EmailMessage.status == "failed") & (EmailMessage.attempts < MAX_ATTEMPTS)))
        if org_id is not None:
            q = q.where(EmailMessage.org_id == org_id)
        return list(s.exec(q.order_by(EmailMessage.id)))


def _mark(engine: Engine, msg_id: int, **values: Any) -> None:
    with session_scope(engine) as s:
        s.exec(update(EmailMessage).where(EmailMessage.id == msg_id).values(**values))


def _deliver(engine: Engine, settings: Settings, now: datetime, run: DigestRun, org_id: int | None,
             sleep: Callable[[float], None]) -> None:
    from matcher.services.mailer import rebuild

    conn = None
    for row in _outbox(engine, org_id):
        raw = rebuild(settings, row)
        status, answer = "failed", ""
        for attempt in range(RETRIES_IN_RUN + 1):
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
            if attempt < RETRIES_IN_RUN:
                sleep(BACKOFF_S * 2 ** attempt)
        attempts = row.attempts + 1
        if status == "sent":
            _mark(engine, row.id, status="sent", attempts=attempts, sent_at=now, last_error=None)
            run.sent += 1
        elif status == "bounced":
            _mark(engine, row.id, status="bounced", attempts=attempts, last_error=answer[:2000])
            with session_scope(engine) as s:
                s.exec(update(Organization).where(Organization.id == row.org_id).values(email_bouncing_at=now))
                s.add(AuditLog(action="email_bounced", target=f"organization:{row.org_id}", detail={"answer": answer[:500]}))
            run.failed += 1
        else:
            _mark(engine, row.id, status="failed", attempts=attempts, last_error=answer[:2000])
            run.failed += 1
        run.messages.append({"org_id": row.org_id, "to": row.to_address, "message_id": row.message_id,
                             "status": status, "attempts": attempts, "smtp": answer[:200]})
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


# -- one-click links ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class LinkResult:
    action: str
    status: str  # recorded | already | expired | confirm | unsubscribed | opened
    org_id: int | None = None
    headline: str = ""


def follow_link(engine: Engine, token: str, confirm: bool = False, now: datetime | None = None) -> LinkResult:
    """What a click does. Replies record a ``company_reply`` once (single-use); unsubscribe opts the
    company out on POST (RFC 8058 one-click) and asks to confirm on GET; the desk link counts as
    opened and sends the company to its proposals. Every link expires."""
    now = now or datetime.now(UTC)
    digest = hashlib.sha256(token.encode()).hexdigest()
    with session_scope(engine) as s:
        link = s.exec(select(MailLink).where(MailLink.token_hash == digest)).first()
        if link is None:
            raise NotFound("このリンクは無効です", "unknown link")
        expires = link.expires_at if link.expires_at.tzinfo else link.expires_at.replace(tzinfo=UTC)
        if expires < now:
            return LinkResult(action=link.action, status="expired", org_id=link.org_id)
        if link.action in ANSWERS:
            claimed = s.exec(update(MailLink).where(MailLink.id == link.id, MailLink.used_at.is_(None))
                             .values(used_at=now)).rowcount
            if not claimed:
                return LinkResult(action=link.action, status="already", org_id=link.org_id)
        elif link.action == "unsubscribe":
            if not confirm:
                return LinkResult(action="unsubscribe", status="confirm", org_id=link.org_id)
            s.exec(update(Organization).where(Organization.id == link.org_id).values(email_opt_in=False))
            s.exec(update(MailLink).where(MailLink.id == link.id).values(used_at=now))
            s.add(AuditLog(actor=f"mail:{link.org_id}", action="unsubscribe", target=f"organization:{link.org_id}"))
            return LinkResult(action="unsubscribe", status="unsubscribed", org_id=link.org_id)
        else:
            s.exec(update(MailLink).where(MailLink.id == link.id, MailLink.used_at.is_(None)).values(used_at=now))
            return LinkResult(action=link.action, status="opened", org_id=link.org_id)
        sid, org, action = link.suggestion_id, link.org_id, link.action
    record_company_reply(engine, sid, "interested" if action == "interested" else "declined",
                         None, f"mail:{org}")
    return LinkResult(action=action, status="recorded", org_id=org)
