"""The service's security surface: every route × every role, escaping, limits, rate limiting.

Hostile and careless input, as the probe of the service sent it: each gets a 4xx with a Japanese
message (or a row error inside an otherwise good import), bounded memory, and nothing half-stored."""

import re

from sqlmodel import select

from matcher.store.db import session_scope
from matcher.store.tables import Decision
from tests.support import JAPANESE, _suggestion, assert_japanese_4xx, bearer, hdr, page_login


def test_concurrent_decisions_over_http_are_neither_lost_nor_duplicated(live_server, tokens):
    import threading

    import httpx
    from sqlmodel import select

    from matcher.store.db import session_scope
    from matcher.store.tables import Decision

    url, headers = live_server["url"], hdr(tokens["coordinator"])
    sids = [c["suggestion_id"] for c in httpx.post(f"{url}/api/needs/2/shortlist?k=10", headers=headers,
                                                   timeout=60).json()["candidates"]]
    acked: list[int] = []
    lock = threading.Lock()

    def client(w):
        with httpx.Client(base_url=url, headers=headers, timeout=60) as c:
            for i in range(15):
                r = c.post("/api/decisions", json={"suggestion_id": sids[(w + i) % len(sids)], "verdict": "reject",
                                                   "reason": "size"})
                assert r.status_code == 201, r.text
                with lock:
                    acked.append(r.json()["decision_id"])

    threads = [threading.Thread(target=client, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with session_scope(live_server["engine"]) as s:
        stored = [d.id for d in s.exec(select(Decision).where(Decision.id.in_(acked)))]
    assert len(acked) == 90 and sorted(stored) == sorted(set(acked)) and len(stored) == 90


def test_the_decision_form_validates_before_it_writes(desk):
    c, engine = desk["client"], desk["engine"]
    page_login(c)
    sid = _suggestion(engine)
    page = c.get("/needs")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = c.post(f"/suggestions/{sid}/decision", data={"csrf_token": csrf, "verdict": "accept", "need_id": "²"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/needs"
    r = c.post(f"/suggestions/{sid}/decision", data={"csrf_token": csrf, "verdict": "たぶん", "need_id": "1"},
               follow_redirects=False, headers={"Accept": "text/html"})
    assert_japanese_4xx(r, 422)
    with session_scope(engine) as s:
        assert len(s.exec(select(Decision).where(Decision.suggestion_id == sid)).all()) == 1
    r = c.post("/needs/2147483647/shortlist", data={"csrf_token": csrf}, headers={"Accept": "text/html"})
    assert r.status_code in (404, 409) and "<html" in r.text and JAPANESE.search(r.text)


def test_a_client_never_dates_a_decision_and_imports_are_bounded(desk, tmp_path):
    from datetime import UTC, datetime, timedelta

    from matcher.services.decisions import import_feedback

    c, engine = desk["client"], desk["engine"]
    sid = _suggestion(engine)
    before = datetime.now(UTC)
    r = c.post("/api/decisions", json={"suggestion_id": sid, "verdict": "accept", "decided_at": "9999-12-31T23:59:59",
                                       "coordinator": "someone-else"}, headers=bearer(c))
    assert r.status_code == 201, r.text
    with session_scope(engine) as s:
        dec = s.get(Decision, r.json()["decision_id"])
    assert before - timedelta(seconds=1) <= dec.decided_at <= datetime.now(UTC) and dec.coordinator == "coord@example.jp"
    (tmp_path / "f.csv").write_text(
        "提案ID,判定,判定日時\n"
        f"{sid},承認,9999-12-31 23:59:59\n{sid},却下,2021-05-01 10:00\n{sid},承認,2026-11-30 10:00\n", encoding="utf-8")
    report = import_feedback(engine, tmp_path / "f.csv")
    assert report.inserted == 1 and [(e.row, e.field) for e in report.errors] == [(2, "decided_at"), (3, "decided_at")]
    assert all("計画開始" in e.message_ja for e in report.errors)
    with session_scope(engine) as s:
        imported = s.exec(select(Decision).where(Decision.suggestion_id == sid).order_by(Decision.id.desc())).first()
    assert imported.decided_at == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # typed in Japan time
