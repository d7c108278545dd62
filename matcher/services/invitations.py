"""人材: a coordinator's accepted proposal goes to the person first, and only then to the company.

An accepted (need, person) suggestion becomes one invitation e-mail to the person — once per
pair, whatever runs proposed it again: the outbox key is the pair — with one-click 引き受ける /
辞退 links that show the proposal and ask before they record (mail scanners fetch every link), and
配信停止 / 登録削除. What the person reads of the need is what its company made public: a 非公開
need is described by its required processes alone and its company is not named. The requesting
company sees the person's name and contact only after the person agreed
(``services.proposals``). A person who withdraws is never proposed again; one who erases their
registration leaves only anonymous counts (``erase_person``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from matcher.config import Settings
from matcher.graph.explain import EdgeReason
from matcher.learn.decisions import latest_decisions
from matcher.store.db import session_scope
from matcher.store.tables import (
    AuditLog,
    Decision,
    Document,
    EmailMessage,
    MailLink,
    Need,
    Organization,
    Person,
    Suggestion,
    erased_person_key,
    split_list,
    utcnow,
)

PERSON_ANSWERS = {"agreed": "引き受ける", "declined": "辞退する"}
LINK_ANSWER = {"agree": "agreed", "decline": "declined"}
DEFAULT_HOURS = 8  # an engagement's hours when the proposal came from a shortlist, not the batch


@dataclass(frozen=True, kw_only=True)
class PersonItem:
    """A proposal as the person may read it (the mail and the link's page)."""

    suggestion_id: int
    person_id: int
    headline: str
    about: str
    partner_detail: str
    why: str
    hours: int
    reply: None = None  # the page's template reads a company's reply here; a person's is ``answer``
    answer: str | None = None  # agreed | declined, the person's latest on this pair


def invitation_key(need_id: int, person_id: int) -> str:
    return f"invite:{need_id}:{person_id}"


def _public(org: Organization | None) -> bool:
    return org is not None and org.publish and org.deleted_at is None


def person_item(sug: Suggestion, need: Need | None, requester: Organization | None,
                answer: str | None = None) -> PersonItem | None:
    if need is None:
        return None
    open_need = need.public
    named = open_need and _public(requester)
    why = EdgeReason.from_json(sug.detail)
    headline = f"案件「{need.title}」" if open_need else "非公開の案件（企業名と詳細は、お引き受けの後に担当者からお伝えします）"
    about = (f"依頼元: {requester.name}（{requester.city or '所在地非公開'}）" if named
             else "依頼元の企業名は、お引き受けの後にお伝えします")
    return PersonItem(suggestion_id=sug.id, person_id=sug.candidate_id, headline=headline, about=about,
                      partner_detail="必要工程: " + "・".join(split_list(need.required_processes)),
                      why=why.text("candidate", named) if why else "", hours=sug.hours or DEFAULT_HOURS,
                      answer=answer)


def person_answers(engine: Engine, person_id: int) -> dict[tuple[int, int], str]:
    """(need, person) → the person's latest answer on the pair, from any run's suggestion."""
    from matcher.services.proposals import answers_of

    with session_scope(engine) as s:
        return answers_of(s, {person_id})


def pending(engine: Engine) -> list[tuple[Suggestion, Person, Need, Organization | None]]:
    """Accepted person suggestions whose pair has no invitation yet, for people who still consent
    and can be written to: the newest accepted suggestion of each pair."""
    accepted = {sid for sid, d in latest_decisions(engine).items() if d.verdict == "accept"}
    with session_scope(engine) as s:
        sugs = s.exec(select(Suggestion).where(Suggestion.kind == "person",
                                               Suggestion.id.in_(accepted or {-1})).order_by(Suggestion.id)).all()
        newest = {(g.query_id, g.candidate_id): g for g in sugs}
        sent = set(s.exec(select(EmailMessage.idempotency_key).where(
            EmailMessage.idempotency_key.in_([invitation_key(*k) for k in newest] or ["-"]))))
        people = {p.id: p for p in s.exec(select(Person).where(Person.id.in_({k[1] for k in newest} or {-1})))}
        needs = {n.id: n for n in s.exec(select(Need).where(Need.id.in_({k[0] for k in newest} or {-1})))}
        orgs = {o.id: o for o in s.exec(select(Organization).where(
            Organization.id.in_({n.org_id for n in needs.values()} or {-1})))}
    out = []
    for (need_id, person_id), sug in sorted(newest.items()):
        person, need = people.get(person_id), needs.get(need_id)
        if invitation_key(need_id, person_id) in sent or person is None or need is None:
            continue
        if not person.consent or person.unsubscribed_at is not None or not person.email:
            continue
        out.append((sug, person, need, orgs.get(need.org_id)))
    return out


def _token() -> tuple[str, str]:
    token = secrets.token_urlsafe(24)
    return token, hashlib.sha256(token.encode()).hexdigest()


def queue_invitations(engine: Engine, settings: Settings, now: datetime | None = None) -> list[EmailMessage]:
    """One invitation per pending pair, each with its links, in one transaction per message; a
    pair already queued by a concurrent run is skipped (the outbox key is unique)."""
    from matcher.services.mailer import InvitationLetter, compose_invitation

    now = now or datetime.now(UTC)
    base = settings.public_url.rstrip("/")
    queued = []
    for sug, person, need, requester in pending(engine):
        item = person_item(sug, need, requester)
        tokens = {a: _token() for a in ("agree", "decline", "unsubscribe", "erase")}
        url = {a: f"{base}/mail/{t}" for a, (t, _) in tokens.items()}
        letter = InvitationLetter(person_name=person.name, to=person.email or "", item=item, agree_url=url["agree"],
                                  decline_url=url["decline"], unsubscribe_url=url["unsubscribe"],
                                  erase_url=url["erase"], contact=settings.contact)
        msg = compose_invitation(settings, letter, now)
        try:
            with session_scope(engine) as s:
                row = EmailMessage(idempotency_key=invitation_key(need.id, person.id), person_id=person.id,
                                   to_address=letter.to, subject=str(msg["Subject"]), body=letter.text,
                                   body_html=letter.html, message_id=str(msg["Message-ID"]),
                                   unsubscribe_url=letter.unsubscribe_url, status="queued", created_at=now)
                s.add(row)
                s.flush()
                expires = now + timedelta(days=settings.mail_link_days)
                for action, (_, h) in tokens.items():
                    s.add(MailLink(token_hash=h, message_id=row.id, person_id=person.id,
                                   suggestion_id=sug.id if action in LINK_ANSWER else None, action=action,
                                   expires_at=expires, created_at=now))
            queued.append(row)
        except IntegrityError:
            continue
    return queued


def record_person_reply(engine: Engine, suggestion_id: int, person_id: int, answer: str) -> str:
    """recorded | changed | same — one answer per (need, person) pair, a change kept as a new row."""
    if answer not in PERSON_ANSWERS:
        raise ValueError(answer)
    with session_scope(engine) as s:
        sug = s.get(Suggestion, suggestion_id)
        if sug is None or sug.candidate_type != "person" or sug.candidate_id != person_id:
            raise ValueError(suggestion_id)
    before = person_answers(engine, person_id).get((sug.query_id, sug.candidate_id))
    if before == answer:
        return "same"
    with session_scope(engine) as s:
        s.add(Decision(suggestion_id=suggestion_id, kind="person_reply", verdict=answer, coordinator=None))
        s.add(AuditLog(actor=f"mail:person:{person_id}", action="person_reply", target=f"suggestion:{suggestion_id}",
                       detail={"answer": answer}))
    return "changed" if before else "recorded"


def unsubscribe_person(engine: Engine, person_id: int, now: datetime | None = None) -> None:
    """配信停止: no more invitations, and not proposed at all (a proposal would need a mail)."""
    with session_scope(engine) as s:
        s.exec(update(Person).where(Person.id == person_id).values(unsubscribed_at=now or utcnow()))
        s.add(AuditLog(actor=f"mail:person:{person_id}", action="person_unsubscribe", target=f"person:{person_id}"))


ERASED_NAME = "（登録削除済み）"


def find_person_id(engine: Engine, ref: str) -> int | None:
    """A registered (not yet erased) person by 人材ID, or by id."""
    with session_scope(engine) as s:
        found = s.exec(select(Person.id).where(Person.external_id == ref.strip(), Person.erased_at.is_(None))).first()
        if found is None and ref.strip().isdigit():
            found = s.exec(select(Person.id).where(Person.id == int(ref), Person.erased_at.is_(None))).first()
    return found


def erase_person(engine: Engine, person_id: int, actor: str) -> bool:
    """登録削除: every personal field of the row is blanked (the row stays, anonymous, so its id
    is never given to someone else whose suggestions it would then seem to own), and the
    person's searchable document, invitations and links go; their suggestions keep only what
    counts (type, scores, features, decisions — no reason, background or score breakdown), so
    the KPI still counts advisors matched and hours assigned. The next index sync tombstones the
    document and compaction drops it; until then nothing loads it for matching. The old 人材ID is
    kept only as a hash, so the office's roster file, re-imported, refuses that row instead of
    registering the person again. Returns whether there was such a person to erase."""
    now = utcnow()
    with session_scope(engine) as s:
        person = s.get(Person, person_id)
        if person is None or person.erased_at is not None:
            return False
        s.exec(delete(MailLink).where(MailLink.person_id == person_id))
        s.exec(delete(EmailMessage).where(EmailMessage.person_id == person_id))
        s.exec(delete(Document).where(Document.owner_type == "person", Document.owner_id == person_id))
        s.exec(update(Suggestion).where(Suggestion.candidate_type == "person", Suggestion.candidate_id == person_id)
               .values(explanation="", detail=None, drivers=None))
        for column, value in {"external_id": f"erased:{person_id}", "erased_key": erased_person_key(person.external_id),
                              "name": ERASED_NAME, "category": "other",
                              "background": "", "specialities": "", "intro": "", "hours_per_month": None,
                              "contact_mode": "both", "city": None, "languages": "", "email": None,
                              "affiliation": None, "conflicts": "", "consent": False, "publish": False,
                              "record_hash": "", "source_file": None, "source_row": None, "erased_at": now,
                              "updated_at": now}.items():
            setattr(person, column, value)
        s.add(person)
        s.add(AuditLog(actor=actor, action="person_erase", target=f"person:{person_id}"))
    return True
