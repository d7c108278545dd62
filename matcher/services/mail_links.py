"""One-click mail links: a company answers a proposal (興味あり / 関心なし), opens its desk page or
unsubscribes straight from a digest; a person (人材) agrees to or declines a proposal, stops
further ones (配信停止) or erases their registration (登録削除). Links are stored hashed, expire, and a reply link is used once."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, update
from sqlmodel import select

from matcher.services.decisions import record_company_reply
from matcher.services.invitations import (
    LINK_ANSWER,
    PersonItem,
    erase_person,
    person_answers,
    person_item,
    record_person_reply,
    unsubscribe_person,
)
from matcher.services.proposals import CompanyItem, company_item
from matcher.store.db import session_scope
from matcher.store.tables import AuditLog, MailLink, Need, Organization, Person, Suggestion

ANSWERS = {"interested": "興味あり", "declined": "関心なし"}
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True, kw_only=True)
class LinkResult:
    action: str  # interested | declined | unsubscribe | desk | "" (unknown link)
    # invalid | expired | unavailable | used | confirm | recorded | changed | same | unsubscribed | opened
    status: str
    org_id: int | None = None
    item: CompanyItem | PersonItem | None = None  # the proposal a reply link is about, as its reader may read it
    used_at: datetime | None = None
    person_id: int | None = None  # a person's link (人材): agree | decline | unsubscribe | erase


def follow_link(engine: Engine, token: str, confirm: bool = False, now: datetime | None = None) -> LinkResult:
    """What following a mail link does. A GET (``confirm=False``) never records anything — mail
    scanners fetch every link — it shows the proposal and asks; the POST records. A reply link is
    single-use; the company's answer is one per proposal (the same answer again stores nothing, a
    different one is stored as a change, whichever channel it came through). Unsubscribe is RFC
    8058 one-click on POST. Unknown, tampered, expired and used links each say so."""
    now = now or datetime.now(UTC)
    if not TOKEN_PATTERN.match(token or ""):
        return LinkResult(action="", status="invalid")
    with session_scope(engine) as s:
        link = s.exec(select(MailLink).where(MailLink.token_hash == hashlib.sha256(token.encode()).hexdigest())).first()
    if link is None:
        return LinkResult(action="", status="invalid")
    org, action = link.org_id, link.action
    if link.expires_at < now:
        return LinkResult(action=action, status="expired", org_id=org, person_id=link.person_id)
    if link.person_id is not None:
        return _follow_person_link(engine, link, confirm, now)
    if action == "unsubscribe":
        if not confirm:
            return LinkResult(action=action, status="confirm", org_id=org)
        with session_scope(engine) as s:
            s.exec(update(Organization).where(Organization.id == org).values(email_opt_in=False))
            s.exec(update(MailLink).where(MailLink.id == link.id).values(used_at=now))
            s.add(AuditLog(actor=f"mail:{org}", action="unsubscribe", target=f"organization:{org}"))
        return LinkResult(action=action, status="unsubscribed", org_id=org)
    if action not in ANSWERS:  # the desk link
        with session_scope(engine) as s:
            s.exec(update(MailLink).where(MailLink.id == link.id, MailLink.used_at.is_(None)).values(used_at=now))
        return LinkResult(action=action, status="opened", org_id=org)
    item = company_item(engine, org, link.suggestion_id) if link.suggestion_id else None
    if item is None:
        return LinkResult(action=action, status="unavailable", org_id=org)
    if link.used_at is not None:
        return LinkResult(action=action, status="used", org_id=org, item=item, used_at=link.used_at)
    if not confirm:
        return LinkResult(action=action, status="confirm", org_id=org, item=item)
    with session_scope(engine) as s:
        claimed = s.exec(update(MailLink).where(MailLink.id == link.id, MailLink.used_at.is_(None))
                         .values(used_at=now)).rowcount
    if not claimed:
        return LinkResult(action=action, status="used", org_id=org, item=item, used_at=now)
    outcome = record_company_reply(engine, link.suggestion_id, action, None, f"mail:{org}", org)
    return LinkResult(action=action, status=outcome.status, org_id=org,
                      item=company_item(engine, org, link.suggestion_id))


def _follow_person_link(engine: Engine, link: MailLink, confirm: bool, now: datetime) -> LinkResult:
    """A person's link: the same ask-then-record as a company's. Answers are single-use links,
    one answer per pair; 配信停止 and 登録削除 need the POST, and 登録削除 cannot be undone."""
    person_id, action = link.person_id, link.action
    with session_scope(engine) as s:
        person = s.get(Person, person_id)
        sug = s.get(Suggestion, link.suggestion_id) if link.suggestion_id else None
        need = s.get(Need, sug.query_id) if sug is not None and sug.query_type == "need" else None
        requester = s.get(Organization, need.org_id) if need is not None else None
    base = {"action": action, "person_id": person_id}
    if person is None or person.erased_at is not None:
        return LinkResult(**base, status="unavailable")
    if action in ("unsubscribe", "erase"):
        if not confirm:
            return LinkResult(**base, status="confirm")
        if action == "unsubscribe":
            unsubscribe_person(engine, person_id, now)
            return LinkResult(**base, status="unsubscribed")
        erase_person(engine, person_id, f"mail:person:{person_id}")
        return LinkResult(**base, status="erased")
    answer = LINK_ANSWER.get(action)
    if answer is None or sug is None:
        return LinkResult(**base, status="invalid")
    item = person_item(sug, need, requester, person_answers(engine, person_id).get((sug.query_id, sug.candidate_id)))
    if item is None or person.unsubscribed_at is not None:
        return LinkResult(**base, status="unavailable")
    if link.used_at is not None:
        return LinkResult(**base, status="used", item=item, used_at=link.used_at)
    if not confirm:
        return LinkResult(**base, status="confirm", item=item)
    with session_scope(engine) as s:
        claimed = s.exec(update(MailLink).where(MailLink.id == link.id, MailLink.used_at.is_(None))
                         .values(used_at=now)).rowcount
    if not claimed:
        return LinkResult(**base, status="used", item=item, used_at=now)
    status = record_person_reply(engine, sug.id, person_id, answer)
    return LinkResult(**base, status=status, item=person_item(sug, need, requester, answer))
