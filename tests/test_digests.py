"""Email digests against a real SMTP server on loopback (aiosmtpd): content and headers parsed
back, a server that drops the connection, a server that answers 4xx then recovers, a refused
address, idempotent re-runs, one-click replies and unsubscribe end to end."""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlmodel import select

from matcher.exchange.catalog import import_file
from matcher.learn.decisions import record_decision
from matcher.services import digests
from matcher.store.db import session_scope
from matcher.store.tables import Decision, EmailMessage, MailLink, Need, Organization, Suggestion
from tests.conftest import smtp_server

NOON = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 12:00 JST, outside quiet hours


class Recorder:
    """An SMTP handler that keeps what it accepted, and can misbehave on cue."""

    def __init__(self) -> None:
        self.accepted: list[email.message.EmailMessage] = []
        self.drop_after: int | None = None
        self.temp_failures = 0
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.drop_after is not None and len(self.accepted) >= self.drop_after:
            server.transport.close()  # the server goes away mid-batch
            return "421 closing"
        if self.temp_failures > 0:
            self.temp_failures -= 1
            return "451 4.3.0 try again later"
        self.accepted.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"


@pytest.fixture()
def smtp():
    handler = Recorder()
    with smtp_server(handler) as port:
        yield handler, port


@pytest.fixture()
def store(engine, settings, smtp, tmp_path):
    """Four companies (three opted in), a public and a confidential need, accepted suggestions."""
    _, port = smtp
    settings.smtp_port = port
    settings.public_url = "https://matching.example.jp"
    (tmp_path / "orgs.csv").write_text(
        "企業ID,企業名,種別,メール,メール配信\n"
        "A1,依頼精工株式会社（架空）,企業,a1@example.jp,はい\n"
        "B1,協力板金株式会社（架空）,企業,b1@example.jp,はい\n"
        "C1,表面処理工業株式会社（架空）,企業,c1@example.jp,はい\n"
        "D1,配信しない工業（架空）,企業,d1@example.jp,いいえ\n", encoding="utf-8")
    assert not import_file(engine, tmp_path / "orgs.csv", "organizations").rejected
    (tmp_path / "needs.csv").write_text(
        "案件ID,企業ID,件名,内容,公開区分\n"
        "N1,A1,筐体の板金と塗装,ステンレス筐体の板金と粉体塗装をお願いしたい。,公開\n"
        "N2,A1,新製品の試作（社外秘）,次期製品の試作部品。,非公開\n", encoding="utf-8")
    assert not import_file(engine, tmp_path / "needs.csv", "needs").rejected
    with session_scope(engine) as s:
        org = {o.external_id: o.id for o in s.exec(select(Organization))}
        need = {n.external_id: n.id for n in s.exec(select(Need))}
        rows = [Suggestion(run_id="r1", query_type="need", query_id=need[n], candidate_type="organization",
                           candidate_id=org[c], kind="partner", rank=i, score=0.7, model_version="cold-start-v1",
                           explanation=f"板金・塗装の工程が合う（{c}）")
                for i, (n, c) in enumerate((("N1", "B1"), ("N1", "C1"), ("N2", "C1"), ("N1", "D1")), 1)]
        s.add_all(rows)
        s.flush()
        sids = [r.id for r in rows]
    for sid in sids:
        record_decision(engine, sid, "accept", by="coord@example.jp")
    record_decision(engine, sids[1], "reject", reason="distance", by="coord@example.jp")  # latest wins
    record_decision(engine, sids[1], "accept", by="coord@example.jp")
    return engine, settings, org, sids


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


def by_to(handler: Recorder) -> dict[str, email.message.EmailMessage]:
    return {m["To"]: m for m in handler.accepted}


def test_digests_are_real_japanese_email_with_one_click_links(store, smtp):
    engine, settings, org, sids = store
    handler, _ = smtp
    run = digests.send_digests(engine, settings, now=NOON, sleep=lambda s: None)
    assert (run.sent, run.failed) == (3, 0)
    mails = by_to(handler)
    assert set(mails) == {"a1@example.jp", "b1@example.jp", "c1@example.jp"}  # D1 did not opt in
    a1 = mails["a1@example.jp"]
    assert "依頼精工" in a1["Subject"] and "=?utf-8?" in a1.as_string().split("Subject:")[1].split("\n")[0].lower()
    assert a1["Message-ID"] and a1["Date"] and a1["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert a1["List-Unsubscribe"].strip().startswith("<https://matching.example.jp/mail/")
    assert a1.get_content_type() == "multipart/alternative"
    text = a1.get_body(("plain",)).get_content()
    html = a1.get_body(("html",)).get_content()
    assert "協力板金" in text and "表面処理工業" in text and "興味あり" in html and "関心なし" in html
    assert "distance" not in text and "距離" not in text  # a coordinator's internal judgement never leaks
    # C1 was accepted for the public need N1 (introduction) and the confidential N2 (never told).
    c1 = mails["c1@example.jp"].get_body(("plain",)).get_content()
    assert "筐体の板金と塗装" in c1 and "社外秘" not in c1 and "新製品" not in c1
    # Nothing new: a second run sends nothing, even later in another period.
    again = digests.send_digests(engine, settings, now=NOON + timedelta(days=8), sleep=lambda s: None)
    assert again.sent == 0 and len(handler.accepted) == 3


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
    from matcher.learn.decisions import record_company_reply
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


def test_digests_never_ask_about_what_the_company_already_answered(store, smtp):
    from matcher.learn.decisions import record_company_reply

    engine, settings, org, sids = store
    handler, _ = smtp
    record_company_reply(engine, sids[0], "interested", None, "b1@example.jp", org["B1"])  # B1 answered on the web
    digests.send_digests(engine, settings, now=NOON, sleep=lambda s: None)
    mails = by_to(handler)
    assert "b1@example.jp" not in mails  # its only item was answered
    a1 = mails["a1@example.jp"].get_body(("plain",)).get_content()
    assert "協力板金" in a1  # the requester did not answer: it still hears about the partner


def test_a_dropped_connection_then_the_next_run_sends_exactly_the_rest(store, smtp):
    engine, settings, _, _ = store
    handler, _ = smtp
    handler.drop_after = 2
    first = digests.send_digests(engine, settings, now=NOON, sleep=lambda s: None)
    assert first.sent == 2 and first.failed == 1 and len(handler.accepted) == 2
    failed = [m for m in first.messages if m["status"] == "failed"]
    assert len(failed) == 1 and ("connection" in failed[0]["smtp"] or "421" in failed[0]["smtp"])
    handler.drop_after = None
    second = digests.send_digests(engine, settings, now=NOON + timedelta(hours=1), sleep=lambda s: None)
    assert second.sent == 1 and len(handler.accepted) == 3
    assert len({m["Message-ID"] for m in handler.accepted}) == 3  # no second copy of any message
    assert handler.accepted[-1]["To"] == failed[0]["to"]
    with session_scope(engine) as s:
        statuses = sorted(m.status for m in s.exec(select(EmailMessage)))
    assert statuses == ["sent", "sent", "sent"]


def test_temporary_failures_are_retried_with_backoff(store, smtp):
    engine, settings, _, _ = store
    handler, _ = smtp
    handler.temp_failures = 2
    waits: list[float] = []
    run = digests.send_digests(engine, settings, now=NOON, sleep=waits.append)
    assert run.sent == 3 and run.failed == 0 and waits == [0.5, 1.0] and len(handler.accepted) == 3


def test_a_refused_address_stops_digests_until_it_is_edited(store, smtp, tmp_path):
    engine, settings, org, sids = store
    handler, _ = smtp
    handler.refuse = {"c1@example.jp"}
    run = digests.send_digests(engine, settings, now=NOON, sleep=lambda s: None)
    assert run.sent == 2 and [m["status"] for m in run.messages if m["to"] == "c1@example.jp"] == ["bounced"]
    with session_scope(engine) as s:
        assert s.get(Organization, org["C1"]).email_bouncing_at is not None
    assert all(o.external_id != "C1" for o in digests.eligible_orgs(engine))
    (tmp_path / "fix.csv").write_text("企業ID,企業名,メール,メール配信\nC1,表面処理工業株式会社（架空）,c1-new@example.jp,はい\n",
                                      encoding="utf-8")
    import_file(engine, tmp_path / "fix.csv", "organizations")
    assert any(o.external_id == "C1" for o in digests.eligible_orgs(engine))


def test_dry_run_writes_previews_and_changes_nothing(store, smtp):
    engine, settings, _, _ = store
    handler, _ = smtp
    run = digests.send_digests(engine, settings, now=NOON, dry_run=True)
    assert len(run.previews) == 3 and handler.accepted == []
    parsed = email.message_from_bytes(run.previews[0][1], policy=policy.default)
    assert parsed["Subject"].startswith("【日野市 企業マッチング】")
    with session_scope(engine) as s:
        assert s.exec(select(EmailMessage)).all() == []


def test_quiet_hours_and_frequency_cap(store, smtp):
    engine, settings, org, sids = store
    handler, _ = smtp
    night = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)  # 22:00 JST
    run = digests.send_digests(engine, settings, now=night, sleep=lambda s: None)
    assert run.sent == 0 and {m["status"] for m in run.messages} == {"queued"} and handler.accepted == []
    morning = night + timedelta(hours=11)  # 09:00 JST: the queued ones go out
    run = digests.send_digests(engine, settings, now=morning, sleep=lambda s: None)
    assert run.sent == 3
    # A new accepted item two days later waits for the cap (7 days), then goes (to the requester
    # only: N2 is confidential, so B1 never hears of it).
    with session_scope(engine) as s:
        sug = s.get(Suggestion, sids[2])
        extra = Suggestion(run_id="r2", query_type=sug.query_type, query_id=sug.query_id, candidate_type="organization",
                           candidate_id=org["B1"], kind="partner", rank=9, score=0.8, model_version="m",
                           explanation="再提案")
        s.add(extra)
        s.flush()
        extra_id = extra.id
    record_decision(engine, extra_id, "accept", by="coord@example.jp")
    soon = digests.send_digests(engine, settings, now=morning + timedelta(days=2), sleep=lambda s: None)
    assert soon.sent == 0 and any(m["status"] == "skipped_recent" for m in soon.messages)
    later = digests.send_digests(engine, settings, now=morning + timedelta(days=8), sleep=lambda s: None)
    assert later.sent == 1 and len(handler.accepted) == 4


def test_digest_send_command(settings, smtp, tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from matcher.store.db import get_engine, upgrade

    handler, port = smtp
    engine = get_engine(settings.sqlalchemy_url)
    upgrade(engine)
    (tmp_path / "orgs.csv").write_text("企業ID,企業名,メール,メール配信\nA1,依頼精工（架空）,a1@example.jp,はい\n"
                                       "B1,協力板金（架空）,b1@example.jp,はい\n", encoding="utf-8")
    import_file(engine, tmp_path / "orgs.csv", "organizations")
    (tmp_path / "needs.csv").write_text("案件ID,企業ID,件名,内容\nN1,A1,板金,板金加工の依頼。\n", encoding="utf-8")
    import_file(engine, tmp_path / "needs.csv", "needs")
    with session_scope(engine) as s:
        sug = Suggestion(run_id="c", query_type="need", query_id=1, candidate_type="organization", candidate_id=2,
                         kind="partner", rank=1, score=0.7, model_version="m", explanation="板金の工程が合う")
        s.add(sug)
        s.flush()
        sid = sug.id
    record_decision(engine, sid, "accept", by="c")
    env = {**os.environ, "MATCHER_DATA_DIR": str(settings.data_dir), "MATCHER_SMTP_PORT": str(port),
           "MATCHER_DIGEST_QUIET_HOURS": ""}
    matcher = str(Path(sys.executable).parent / "matcher")
    preview = subprocess.run([matcher, "digest", "send", "--dry-run", "--out", str(tmp_path / "eml"), "--json"],
                             capture_output=True, text=True, timeout=120, env=env)
    assert preview.returncode == 0, preview.stderr
    out = json.loads(preview.stdout)
    assert {m["status"] for m in out["messages"]} == {"preview"} and len(list((tmp_path / "eml").glob("*.eml"))) == 2
    sent = subprocess.run([matcher, "digest", "send", "--json"], capture_output=True, text=True, timeout=120, env=env)
    assert sent.returncode == 0, sent.stderr
    out = json.loads(sent.stdout)
    assert out["sent"] == 2 and out["failed"] == 0 and set(out) >= {"sent", "failed", "skipped", "messages"}
    assert all({"org_id", "to", "message_id", "status"} <= set(m) for m in out["messages"])
    assert len(handler.accepted) == 2
    again = json.loads(subprocess.run([matcher, "digest", "send", "--json"], capture_output=True, text=True,
                                      timeout=120, env=env).stdout)
    assert again["sent"] == 0 and len(handler.accepted) == 2


# -- sent once, whatever runs at the same time ---------------------------------------------------------
class SlowRecorder(Recorder):
    """Accepts each message only after ``delay`` seconds, and only if the client is still there
    (a real server has not accepted what it never answered 250 to)."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.started = 0

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        self.started += 1
        await asyncio.sleep(self.delay)
        if server.transport is None or server.transport.is_closing():
            return "451 4.3.0 client gone"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture()
def slow_smtp():
    handler = SlowRecorder(0.05)
    with smtp_server(handler) as port:
        yield handler, port


def many_companies(engine, tmp_path, n: int) -> list[int]:
    """``n`` opted-in companies, each accepted as a partner for one public need of a requester."""
    rows = "".join(f"P{i:02d},協力工業{i:02d}（架空）,企業,p{i:02d}@example.jp,はい\n" for i in range(n))
    (tmp_path / "many.csv").write_text("企業ID,企業名,種別,メール,メール配信\nR0,依頼工業（架空）,企業,,いいえ\n" + rows,
                                       encoding="utf-8")
    assert not import_file(engine, tmp_path / "many.csv", "organizations").rejected
    (tmp_path / "need.csv").write_text("案件ID,企業ID,件名,内容\nRN,R0,治具の製作,治具の設計と製作。\n", encoding="utf-8")
    assert not import_file(engine, tmp_path / "need.csv", "needs").rejected
    with session_scope(engine) as s:
        ids = {o.external_id: o.id for o in s.exec(select(Organization))}
        need = s.exec(select(Need).where(Need.external_id == "RN")).one()
        sugs = [Suggestion(run_id="m", query_type="need", query_id=need.id, candidate_type="organization",
                           candidate_id=ids[f"P{i:02d}"], requester_org_id=ids["R0"], candidate_org_id=ids[f"P{i:02d}"],
                           kind="partner", rank=i + 1, score=0.7, model_version="cold-start-v1", explanation="治具")
                for i in range(n)]
        s.add_all(sugs)
        s.flush()
        sids = [g.id for g in sugs]
    for sid in sids:
        record_decision(engine, sid, "accept", by="coord@example.jp")
    return sids


@pytest.mark.parametrize("runs", [2, 4])
def test_concurrent_runs_deliver_each_message_exactly_once(engine, settings, slow_smtp, tmp_path, runs):
    import threading

    handler, port = slow_smtp
    settings.smtp_port, settings.public_url, settings.digest_quiet_hours = port, "https://matching.example.jp", ""
    many_companies(engine, tmp_path, 12)
    barrier = threading.Barrier(runs)
    results, errors = [], []

    def one_run():
        try:
            barrier.wait()
            results.append(digests.send_digests(engine, settings, now=NOON, sleep=lambda s: None))
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    ids = [m["Message-ID"] for m in handler.accepted]
    assert len(handler.accepted) == 12 and len(set(ids)) == 12  # 12 companies, 12 messages, no copy
    assert sorted(m["To"] for m in handler.accepted) == sorted(f"p{i:02d}@example.jp" for i in range(12))
    assert sum(r.sent for r in results) == 12 and sum(r.failed for r in results) == 0
    with session_scope(engine) as s:
        assert sorted({m.status for m in s.exec(select(EmailMessage))}) == ["sent"]


def test_a_run_killed_mid_batch_is_finished_by_the_next_run_without_a_copy(settings, tmp_path):
    """kill -9 of `matcher digest send` while the server holds one message: the next run sends
    exactly the rest (the killed one included, never one the server had accepted)."""
    import os
    import signal
    import subprocess
    import sys
    import time as clock
    from pathlib import Path

    from matcher.store.db import get_engine, upgrade

    handler = SlowRecorder(0.4)
    with smtp_server(handler) as port:
        engine = get_engine(settings.sqlalchemy_url)
        upgrade(engine)
        many_companies(engine, tmp_path, 8)
        env = {**os.environ, "MATCHER_DATA_DIR": str(settings.data_dir), "MATCHER_SMTP_PORT": str(port),
               "MATCHER_DIGEST_QUIET_HOURS": "", "MATCHER_PUBLIC_URL": "https://matching.example.jp"}
        proc = subprocess.Popen([str(Path(sys.executable).parent / "matcher"), "digest", "send", "--json"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = clock.monotonic() + 120
        while handler.started < 4 and clock.monotonic() < deadline:  # three accepted, the fourth in the server
            clock.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        assert len(handler.accepted) == 3
        settings.smtp_port, settings.digest_quiet_hours = port, ""
        with session_scope(engine) as s:
            assert sorted(m.status for m in s.exec(select(EmailMessage))) == ["queued"] * 4 + ["sending"] + ["sent"] * 3
        second = digests.send_digests(engine, settings, sleep=lambda s: None)
        assert second.sent == 5 and len(handler.accepted) == 8
        assert len({m["Message-ID"] for m in handler.accepted}) == 8 and len({m["To"] for m in handler.accepted}) == 8


def test_one_message_that_cannot_be_built_fails_alone(store, smtp, monkeypatch):
    from matcher.services import mailer

    engine, settings, org, _ = store
    handler, _ = smtp
    real = mailer.rebuild

    def broken_for_c1(s, row):
        if row.to_address == "c1@example.jp":
            raise ValueError("broken header for this one")
        return real(s, row)

    monkeypatch.setattr(mailer, "rebuild", broken_for_c1)
    run = digests.send_digests(engine, settings, now=NOON, sleep=lambda s: None)
    assert run.sent == 2 and run.failed == 1 and set(by_to(handler)) == {"a1@example.jp", "b1@example.jp"}
    with session_scope(engine) as s:
        c1 = s.exec(select(EmailMessage).where(EmailMessage.to_address == "c1@example.jp")).one()
    assert c1.status == "failed" and "broken header" in c1.last_error


# -- no stored text can add a header or a line ----------------------------------------------------------
EXPECTED_HEADERS = {"From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post",
                    "Auto-Submitted", "Content-Type", "MIME-Version"}
BREAKERS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\u202e", "\x00",
            "\x9b", "\u200b", "\ufeff"]


@hyp_settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(alphabet=st.one_of(st.characters(), st.sampled_from([b for b in BREAKERS if len(b) == 1])),
                    min_size=1, max_size=40),
       title=st.text(alphabet=st.one_of(st.characters(), st.sampled_from([b for b in BREAKERS if len(b) == 1])),
                     min_size=1, max_size=40),
       breaker=st.sampled_from(BREAKERS))
def test_any_unicode_in_names_and_titles_leaves_exactly_our_headers(prop_store, name, title, breaker):
    engine, cfg, handler, counter = prop_store
    counter[0] += 1
    n = counter[0]
    evil = f"{name}{breaker}Bcc: victim{n}@example.org{breaker}配信停止: https://evil.example/{n}{breaker}"
    orgs = [{"企業ID": f"Q{n}", "企業名": evil, "メール": f"q{n}@example.jp", "メール配信": "はい"},
            {"企業ID": f"W{n}", "企業名": f"{title}{breaker}興味あり: https://evil.example/", "メール": f"w{n}@example.jp",
             "メール配信": "はい"}]
    # JSON (escaped): any code point, NUL and lone surrogates included, reaches the row validation.
    (cfg.data_dir / f"orgs{n}.json").write_text(json.dumps(orgs), encoding="utf-8")
    report = import_file(engine, cfg.data_dir / f"orgs{n}.json", "organizations")
    if report.rejected:  # a name made only of removed characters is a row error, and nothing is stored
        assert all(e.field == "name" for e in report.rejected)
        return
    need = [{"案件ID": f"NQ{n}", "企業ID": f"Q{n}", "件名": f"{title}{breaker}Bcc: x@evil.example", "内容": "本文"}]
    (cfg.data_dir / f"need{n}.json").write_text(json.dumps(need), encoding="utf-8")
    need_report = import_file(engine, cfg.data_dir / f"need{n}.json", "needs")
    with session_scope(engine) as s:
        ids = {o.external_id: o.id for o in s.exec(select(Organization).where(
            Organization.external_id.in_([f"Q{n}", f"W{n}"])))}
        need = s.exec(select(Need).where(Need.external_id == f"NQ{n}")).first()
        if need is None:
            assert need_report.rejected
            return
        sug = Suggestion(run_id=f"p{n}", query_type="need", query_id=need.id, candidate_type="organization",
                         candidate_id=ids[f"W{n}"], requester_org_id=ids[f"Q{n}"], candidate_org_id=ids[f"W{n}"],
                         kind="partner", rank=1, score=0.7, model_version="cold-start-v1",
                         explanation=f"理由{breaker}興味あり: https://evil.example/")
        s.add(sug)
        s.flush()
        sid = sug.id
    record_decision(engine, sid, "accept", by="coord@example.jp")
    before = len(handler.accepted)
    run = digests.send_digests(engine, cfg, now=NOON, sleep=lambda s: None)
    assert run.failed == 0 and run.sent == 2
    for msg in handler.accepted[before:]:
        assert set(msg.keys()) == EXPECTED_HEADERS, set(msg.keys())
        assert all(msg.get_all(h) and len(msg.get_all(h)) == 1 for h in ("From", "To", "Subject", "List-Unsubscribe"))
        assert msg["List-Unsubscribe"].strip().startswith("<https://matching.example.jp/mail/")
        assert msg["To"] in (f"q{n}@example.jp", f"w{n}@example.jp")
        text = msg.get_body(("plain",)).get_content()
        links = [ln for ln in text.splitlines() if ln.strip().startswith(("興味あり:", "関心なし:", "配信停止:"))]
        assert links and all("https://matching.example.jp/mail/" in ln for ln in links), links


@pytest.fixture()
def prop_store(tmp_path_factory):
    """One SQLite store and one SMTP server for every example of the property test."""
    from matcher.config import Settings
    from matcher.store.db import get_engine, upgrade

    handler = Recorder()
    with smtp_server(handler) as port:
        data = tmp_path_factory.mktemp("prop")
        cfg = Settings(data_dir=data, smtp_port=port, public_url="https://matching.example.jp", digest_quiet_hours="")
        engine = get_engine(cfg.sqlalchemy_url)
        upgrade(engine)
        yield engine, cfg, handler, [0]


def test_stored_values_from_before_cleaning_cannot_forge_headers_either(store, smtp):
    """Rows written before text was cleaned (or by hand): the outputs are built one line each."""
    engine, settings, org, _ = store
    handler, _ = smtp
    with session_scope(engine) as s:
        a1 = s.get(Organization, org["A1"])
        a1.name = "依頼精工\u2028Bcc: leak@evil.example\u2028配信停止: https://evil.example/x"
        s.add(a1)
    run = digests.send_digests(engine, settings, now=NOON, sleep=lambda s: None)
    assert run.failed == 0 and run.sent == 3
    a1_mail = by_to(handler)["a1@example.jp"]
    assert set(a1_mail.keys()) == EXPECTED_HEADERS and "evil.example" not in a1_mail["List-Unsubscribe"]
    assert "Bcc" not in a1_mail
