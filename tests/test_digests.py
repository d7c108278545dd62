"""Email digests against a real SMTP server on loopback (aiosmtpd): content and headers parsed
back, a server that drops the connection, a server that answers 4xx then recovers, a refused
address, idempotent re-runs, one-click replies and unsubscribe end to end."""

from __future__ import annotations

import email
import socket
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from matcher.exchange.catalog import import_file
from matcher.learn.decisions import record_decision
from matcher.services import digests
from matcher.store.db import session_scope
from matcher.store.tables import Decision, EmailMessage, MailLink, Need, Organization, Suggestion

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
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


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


def test_reply_and_unsubscribe_links_end_to_end(store, smtp, live_app):
    engine, settings, org, sids = store
    handler, _ = smtp
    digests.send_digests(engine, settings, now=datetime.now(UTC).replace(hour=3), sleep=lambda s: None)
    b1 = by_to(handler)["b1@example.jp"]
    text = b1.get_body(("plain",)).get_content()
    yes = next(line.split(": ", 1)[1] for line in text.splitlines() if line.strip().startswith("興味あり:"))
    client = live_app(engine, settings)
    path = yes.replace("https://matching.example.jp", "")
    r = client.get(path)
    assert r.status_code == 200 and "承りました" in r.text
    r = client.get(path)
    assert r.status_code == 200 and "既にご回答" in r.text  # single-use
    with session_scope(engine) as s:
        replies = s.exec(select(Decision).where(Decision.kind == "company_reply")).all()
    assert [(d.verdict, d.coordinator) for d in replies] == [("interested", f"mail:{org['B1']}")]
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
    assert client.get("/mail/" + "x" * 32).status_code == 404
    with session_scope(engine) as s:  # an expired link says so
        for link in s.exec(select(MailLink)):
            link.expires_at = datetime.now(UTC) - timedelta(days=1)
            s.add(link)
    assert client.get(path).status_code == 410


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
    # A new accepted item two days later waits for the cap (7 days), then goes.
    with session_scope(engine) as s:
        sug = s.get(Suggestion, sids[0])
        extra = Suggestion(run_id="r2", query_type=sug.query_type, query_id=sug.query_id, candidate_type="organization",
                           candidate_id=org["D1"], kind="partner", rank=9, score=0.8, model_version="m",
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
