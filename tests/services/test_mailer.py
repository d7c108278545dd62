"""Email digests against a real SMTP server on loopback (aiosmtpd): content and headers parsed
back, a server that drops the connection, a server that answers 4xx then recovers, a refused
address, idempotent re-runs, one-click replies and unsubscribe end to end."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlmodel import select

from matcher.exchange.catalog import import_file
from matcher.services import digests
from matcher.services.decisions import record_decision
from matcher.store.db import session_scope
from matcher.store.tables import Need, Organization, Suggestion
from tests.support import NOON, Recorder, by_to, smtp_server

EXPECTED_HEADERS = {"From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post",
                    "Auto-Submitted", "Content-Type", "MIME-Version"}


BREAKERS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\u202e", "\x00",
            "\x9b", "\u200b", "\ufeff"]


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


@hyp_settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(alphabet=st.one_of(st.characters(), st.sampled_from([b for b in BREAKERS if len(b) == 1])),
                    min_size=1, max_size=40),
       title=st.text(alphabet=st.one_of(st.characters(), st.sampled_from([b for b in BREAKERS if len(b) == 1])),
                     min_size=1, max_size=40),
       breaker=st.sampled_from(BREAKERS))
# Found by a random run: a title made only of removed characters leaves a name that *is*
# 「興味あり: https://evil.example/」, which would start the greeting line like one of our links.
@example(name="日野精機", title="\u200b", breaker="\u2028")
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
        assert all(e.field == "name" for e in report.errors)
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
