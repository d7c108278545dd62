"""Consent before contact (人材): an accepted proposal goes to the person first, over a real SMTP
server; the company sees the person only after the person agreed; a person withdraws or erases
their registration from the mail."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete
from sqlmodel import select

from matcher.exchange.catalog import import_file
from matcher.services import digests
from matcher.services import shortlists as sl
from matcher.services.context import load_context
from matcher.services.decisions import record_decision
from matcher.services.invitations import ERASED_NAME, person_answers
from matcher.services.mail_links import follow_link
from matcher.services.proposals import company_items, proposals_for
from matcher.store.db import session_scope
from matcher.store.tables import (
    Decision,
    Document,
    EmailMessage,
    MailLink,
    Need,
    Organization,
    Person,
    Suggestion,
)
from tests.support import CORPORA, NOON


@pytest.fixture()
def desk(own_demo, smtp):
    """A private demo copy in which no person has been proposed yet: the shared demo store it is
    copied from may hold people accepted by the API tests (tests/api/routes/test_people.py) of the
    same worker, which the next mail run would invite too."""
    with session_scope(own_demo.engine) as s:
        proposed = select(Suggestion.id).where(Suggestion.candidate_type == "person")
        s.exec(delete(MailLink).where(MailLink.person_id.is_not(None)))
        s.exec(delete(EmailMessage).where(EmailMessage.person_id.is_not(None)))
        s.exec(delete(Decision).where(Decision.suggestion_id.in_(proposed)))
        s.exec(delete(Suggestion).where(Suggestion.candidate_type == "person"))
    handler, port = smtp
    own_demo.settings.smtp_port = port
    own_demo.settings.public_url = "https://matching.example.jp"
    return own_demo, handler


def _propose(ctx, need_ref: str = "HN030"):
    """The need's best person, accepted by a coordinator, then the mail run."""
    edge = sl.shortlist_need(ctx, need_ref, "people", 3).candidates[0]
    record_decision(ctx.engine, edge.suggestion_id, "accept", by="coord@example.jp")
    with session_scope(ctx.engine) as s:
        person = s.get(Person, edge.candidate.id)
        need = s.get(Need, edge.query.id)
        requester = s.get(Organization, need.org_id)
    return edge, person, need, requester


def _send(ctx):
    return digests.send_digests(ctx.engine, ctx.settings, now=NOON, sleep=lambda s: None)


def _mail_to(handler, address: str) -> list[str]:
    return [m.get_body(("plain",)).get_content() for m in handler.accepted if m["To"] == address]


def _token(text: str, label: str) -> str:
    return re.search(rf"{label}[^:]*: https://matching\.example\.jp/mail/([A-Za-z0-9_-]+)", text).group(1)


def _advisors(ctx, org_id: int):
    return [i for i in proposals_for(ctx.engine, org_id) + company_items(ctx.engine, org_id)
            if i.direction == "advisor_for_your_need"]


def test_the_person_hears_first_and_the_company_only_after_they_agree(desk):
    ctx, handler = desk
    edge, person, need, requester = _propose(ctx)
    assert not _advisors(ctx, requester.id)  # accepted, but the person has not agreed
    run = _send(ctx)
    assert run.invitations == 1
    [text] = _mail_to(handler, person.email)
    assert text.startswith(f"{person.name} 様") and need.title in text and "引き受ける:" in text and "辞退する:" in text
    assert "配信停止:" in text and "登録削除" in text
    assert "coord@example.jp" not in text and (requester.email or "@@") not in text  # nobody's private data
    assert not _advisors(ctx, requester.id)

    token = _token(text, "引き受ける")
    asked = follow_link(ctx.engine, token)  # a GET (or a mail scanner) records nothing
    assert asked.status == "confirm" and asked.item.headline == f"案件「{need.title}」"
    assert person_answers(ctx.engine, person.id) == {}
    assert follow_link(ctx.engine, token, confirm=True).status == "recorded"
    assert follow_link(ctx.engine, token, confirm=True).status == "used"

    [item] = {i.suggestion_id: i for i in _advisors(ctx, requester.id)}.values()
    assert item.partner_name == person.name and person.email in item.partner_detail
    others = [o for o in ctx.orgs if o != requester.id]
    assert not any(_advisors(ctx, o) for o in others[:40])  # nobody else hears of the person
    # Sent once: the next run writes no second invitation for the pair.
    again = _send(ctx)
    assert again.invitations == 0 and len(_mail_to(handler, person.email)) == 1


def test_a_person_who_declines_stays_unknown_to_the_company(desk):
    ctx, handler = desk
    edge, person, need, requester = _propose(ctx)
    _send(ctx)
    [text] = _mail_to(handler, person.email)
    token = _token(text, "辞退する")
    assert follow_link(ctx.engine, token, confirm=True).status == "recorded"
    assert person_answers(ctx.engine, person.id) == {(need.id, person.id): "declined"}
    assert not _advisors(ctx, requester.id)


def test_a_private_need_reaches_the_person_without_its_company_or_text(desk):
    ctx, handler = desk
    with session_scope(ctx.engine) as s:
        need = s.exec(select(Need).where(Need.external_id == "HN030")).one()
        need.public = False
        s.add(need)
    ctx = load_context(ctx.engine, ctx.settings, ctx.embedder)
    edge, person, need, requester = _propose(ctx)
    _send(ctx)
    [text] = _mail_to(handler, person.email)
    assert need.title not in text and requester.name not in text and need.text[:20] not in text
    assert "非公開の案件" in text and "必要工程:" in text


def test_a_person_withdraws_then_erases_their_registration(desk):
    ctx, handler = desk
    edge, person, need, requester = _propose(ctx)
    _send(ctx)
    [text] = _mail_to(handler, person.email)
    assert follow_link(ctx.engine, _token(text, "配信停止")).status == "confirm"
    assert follow_link(ctx.engine, _token(text, "配信停止"), confirm=True).status == "unsubscribed"
    fresh = load_context(ctx.engine, ctx.settings, ctx.embedder)
    assert person.id not in fresh.person_parties  # withdrawn: never proposed again
    assert person.id not in {e.candidate.id for e in sl.shortlist_need(fresh, "HN030", "people", 60, store=False).candidates}

    assert follow_link(ctx.engine, _token(text, "登録削除"), confirm=True).status == "erased"
    with session_scope(ctx.engine) as s:
        row = s.get(Person, person.id)
        docs = s.exec(select(Document).where(Document.owner_type == "person", Document.owner_id == person.id)).all()
        sugs = s.exec(select(Suggestion).where(Suggestion.candidate_type == "person",
                                               Suggestion.candidate_id == person.id)).all()
        mails = s.exec(select(EmailMessage).where(EmailMessage.person_id == person.id)).all()
        links = s.exec(select(MailLink).where(MailLink.person_id == person.id)).all()
    assert row.name == ERASED_NAME and row.email is None and row.background == row.intro == row.specialities == ""
    assert row.external_id != person.external_id and row.erased_at is not None
    assert not docs and not mails and not links
    assert sugs and all(g.explanation == "" and g.detail is None for g in sugs)  # counts stay, words go
    assert all(person.name not in str(g.features) for g in sugs)
    # The erased person's links say so; nothing can be recorded for them any more.
    assert follow_link(ctx.engine, _token(text, "引き受ける"), confirm=True).status == "invalid"
    # The office's roster still lists them: importing it again refuses that row, names it, keeps the rest.
    roster = CORPORA / "demo" / "people.csv"
    report = import_file(ctx.engine, roster, "people")
    [error] = report.errors
    assert (error.file, error.field) == (str(roster), "external_id") and "登録削除済み" in error.message_ja
    lines = roster.read_text(encoding="utf-8").splitlines()
    assert person.external_id in error.message_ja and lines[error.row - 1].startswith(f"{person.external_id},")
    assert report.unchanged == len(lines) - 2  # the header and the erased row
    with session_scope(ctx.engine) as s:
        assert s.exec(select(Person).where(Person.external_id == person.external_id)).first() is None
        assert s.get(Person, person.id).name == ERASED_NAME
