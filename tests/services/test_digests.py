"""Email digests against a real SMTP server on loopback (aiosmtpd): content and headers parsed
back, a server that drops the connection, a server that answers 4xx then recovers, a refused
address, idempotent re-runs, one-click replies and unsubscribe end to end."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from sqlmodel import select

from matcher.exchange.catalog import import_file
from matcher.services import digests
from matcher.services.decisions import record_decision
from matcher.store.db import session_scope
from matcher.store.tables import EmailMessage, Need, Organization, Suggestion
from tests.support import NOON, Recorder, by_to, smtp_server


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


def test_digests_never_ask_about_what_the_company_already_answered(store, smtp):
    from matcher.services.decisions import record_company_reply

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
    failed = [m for m in first.messages if m.status == "failed"]
    assert len(failed) == 1 and ("connection" in failed[0].smtp or "421" in failed[0].smtp)
    handler.drop_after = None
    second = digests.send_digests(engine, settings, now=NOON + timedelta(hours=1), sleep=lambda s: None)
    assert second.sent == 1 and len(handler.accepted) == 3
    assert len({m["Message-ID"] for m in handler.accepted}) == 3  # no second copy of any message
    assert handler.accepted[-1]["To"] == failed[0].to
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
    assert run.sent == 2 and [m.status for m in run.messages if m.to == "c1@example.jp"] == ["bounced"]
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
    assert run.sent == 0 and {m.status for m in run.messages} == {"queued"} and handler.accepted == []
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
    assert soon.sent == 0 and any(m.status == "skipped_recent" for m in soon.messages)
    later = digests.send_digests(engine, settings, now=morning + timedelta(days=8), sleep=lambda s: None)
    assert later.sent == 1 and len(handler.accepted) == 4


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


@pytest.mark.slow  # runs the command in a subprocess or loads the embedder
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


def test_suggested_collaborators_skip_partners_the_company_already_answered(own_demo):
    from matcher.services.decisions import record_company_reply
    from matcher.services.digests import suggested_collaborators

    org = next(o for o in sorted(own_demo.orgs.values(), key=lambda o: o.id) if o.kind == "company" and o.email)
    first = suggested_collaborators(own_demo, [org], min_score=0.0, k=2)[org.id]
    with session_scope(own_demo.engine) as s:
        answered = s.get(Suggestion, first[0]).candidate_org_id
    record_company_reply(own_demo.engine, first[0], "declined", None, f"mail:{org.id}", org.id)
    again = suggested_collaborators(own_demo, [org], min_score=0.0, k=2)[org.id]
    with session_scope(own_demo.engine) as s:
        partners = [s.get(Suggestion, i).candidate_org_id for i in again]
    assert len(again) == 2 and answered not in partners
