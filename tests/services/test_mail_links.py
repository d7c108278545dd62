"""Email digests against a real SMTP server on loopback (aiosmtpd): content and headers parsed
back, a server that drops the connection, a server that answers 4xx then recovers, a refused
address, idempotent re-runs, one-click replies and unsubscribe end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from matcher.services import digests
from matcher.store.db import session_scope
from matcher.store.tables import Decision, MailLink, Need, Organization
from tests.support import by_to


@pytest.fixture()
def live_app():
    """The web service over the test's store (only its one-click mail routes are used here)."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    def make(engine, settings):
        app = create_app(settings, warm=False)
        app.state.matcher.engine = engine
        return TestClient(app)

    return make


def link_paths(message) -> dict[str, list[str]]:
    """The reply links of a digest's plain part: 興味あり / 関心なし → paths, in item order."""
    out: dict[str, list[str]] = {"興味あり": [], "関心なし": []}
    for line in message.get_body(("plain",)).get_content().splitlines():
        label, _, url = line.strip().partition(": ")
        if label in out and url.startswith("https://matching.example.jp/mail/"):
            out[label].append(url.replace("https://matching.example.jp", ""))
    return out


def replies(engine) -> list[tuple[str, int | None]]:
    with session_scope(engine) as s:
        return [(d.verdict, d.org_id) for d in s.exec(select(Decision).where(Decision.kind == "company_reply")
                                                     .order_by(Decision.id))]


def test_a_reply_link_shows_the_proposal_and_asks_before_it_records(store, smtp, live_app):
    engine, settings, org, sids = store
    handler, _ = smtp
    digests.send_digests(engine, settings, now=datetime.now(UTC).replace(hour=3), sleep=lambda s: None)
    links = link_paths(by_to(handler)["b1@example.jp"])
    yes, no = links["興味あり"][0], links["関心なし"][0]
    client = live_app(engine, settings)
    # A mail scanner fetching every link answers nothing.
    for path in (yes, no, yes):
        page = client.get(path)
        assert page.status_code == 200 and "回答する" in page.text and "筐体の板金と塗装" in page.text
    assert replies(engine) == []
    r = client.post(yes)
    assert r.status_code == 200 and "「興味あり」を承りました" in r.text
    assert replies(engine) == [("interested", org["B1"])]
    used = client.post(yes)  # single-use
    assert used.status_code == 409 and "既に使われています" in used.text and "現在のご回答: 興味あり" in used.text
    assert replies(engine) == [("interested", org["B1"])]
    # The opposite link still asks, shows the current answer, and a POST is recorded as a change.
    page = client.get(no)
    assert page.status_code == 200 and "現在のご回答: 興味あり" in page.text and replies(engine) == [("interested", org["B1"])]
    r = client.post(no)
    assert r.status_code == 200 and "「辞退」に変更しました" in r.text and "以前のご回答: 興味あり" in r.text
    assert replies(engine) == [("interested", org["B1"]), ("declined", org["B1"])]


def test_one_answer_per_proposal_whichever_channel_and_the_company_sees_it(store, smtp, live_app):
    """Web first, then the mail link: the link shows the web answer; the same answer again stores
    nothing; another is a change the company's own page then shows with its time."""
    from matcher.services.decisions import record_company_reply
    from matcher.services.proposals import proposals_for

    engine, settings, org, sids = store
    handler, _ = smtp
    digests.send_digests(engine, settings, now=datetime.now(UTC).replace(hour=3), sleep=lambda s: None)
    links = link_paths(by_to(handler)["b1@example.jp"])
    assert record_company_reply(engine, sids[0], "declined", "今回は見送ります", "b1@example.jp", org["B1"]).status == "recorded"
    client = live_app(engine, settings)
    page = client.get(links["関心なし"][0])
    assert "現在のご回答: 辞退" in page.text
    assert "「辞退」のご回答は既に承っています" in client.post(links["関心なし"][0]).text
    assert replies(engine) == [("declined", org["B1"])]
    client.post(links["興味あり"][0])
    mine = [p for p in proposals_for(engine, org["B1"]) if p.suggestion_id == sids[0]][0]
    assert mine.reply.answer == "interested" and mine.reply.previous == "declined" and mine.reply.at >= mine.reply.previous_at
    # The requester's own answer is its own: A1 has not answered anything.
    assert all(p.reply is None for p in proposals_for(engine, org["A1"]))


def test_unknown_tampered_expired_and_unsubscribe_links_get_japanese_pages(store, smtp, live_app):
    engine, settings, org, sids = store
    handler, _ = smtp
    digests.send_digests(engine, settings, now=datetime.now(UTC).replace(hour=3), sleep=lambda s: None)
    b1 = by_to(handler)["b1@example.jp"]
    yes = link_paths(b1)["興味あり"][0]
    client = live_app(engine, settings)
    html = {"Accept": "text/html"}
    for bad in ("/mail/" + "x" * 32, yes[:-3] + "AAA", "/mail/%3Cscript%3E", "/mail/short", "/mail/" + "é" * 40):
        r = client.get(bad, headers=html)
        assert r.status_code == 404 and "このリンクは無効です" in r.text, bad
        assert client.post(bad, headers=html).status_code == 404
    unsub = b1["List-Unsubscribe"].strip().strip("<>").replace("https://matching.example.jp", "")
    page = client.get(unsub)
    assert page.status_code == 200 and "配信を停止する" in page.text  # GET only asks
    with session_scope(engine) as s:
        assert s.get(Organization, org["B1"]).email_opt_in
    r = client.post(unsub, content="List-Unsubscribe=One-Click",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and "停止しました" in r.text
    with session_scope(engine) as s:
        assert not s.get(Organization, org["B1"]).email_opt_in
        for link in s.exec(select(MailLink)):  # an expired link says so
            link.expires_at = datetime.now(UTC) - timedelta(days=1)
            s.add(link)
    for method in ("GET", "POST"):
        r = client.request(method, yes)
        assert r.status_code == 410 and "有効期限が切れています" in r.text
    assert replies(engine) == []


def test_a_link_to_a_proposal_that_became_confidential_shows_nothing_of_it(store, smtp, live_app):
    engine, settings, org, sids = store
    handler, _ = smtp
    digests.send_digests(engine, settings, now=datetime.now(UTC).replace(hour=3), sleep=lambda s: None)
    c1 = by_to(handler)["c1@example.jp"]  # the candidate's introduction to N1
    yes = link_paths(c1)["興味あり"][0]
    with session_scope(engine) as s:
        n1 = s.exec(select(Need).where(Need.external_id == "N1")).one()
        n1.public = False
        s.add(n1)
    client = live_app(engine, settings)
    for method in ("GET", "POST"):
        r = client.request(method, yes)
        assert r.status_code == 410 and "筐体" not in r.text and "依頼精工" not in r.text
    assert replies(engine) == []
