"""Hostile and careless input, as the probe of the service sent it: each gets a 4xx with a Japanese
message (or a row error inside an otherwise good import), bounded memory, and nothing half-stored.

進行管理: fiscal calendar, counts per quarter / half / year / plan period, outcome import, page, Excel."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import httpx
from openpyxl import load_workbook

from matcher.store.db import session_scope
from matcher.store.tables import Decision, Suggestion
from tests.support import _suggestion, bearer, page_login


def test_kpi_and_history_never_fail_on_a_stored_date(desk):
    from datetime import UTC, datetime

    from matcher.services.kpi import kpi_report
    from matcher.store.tables import Need

    c, engine = desk["client"], desk["engine"]
    sid = _suggestion(engine)
    with session_scope(engine) as s:  # written by hand, or by a version before the bound
        s.add(Decision(suggestion_id=sid, verdict="accept", decided_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)))
        s.add(Need(external_id="K1", org_id=1, title="件名", text="内容"))
    assert kpi_report(engine).years is not None
    page_login(c)
    for path in ("/kpi", "/kpi.xlsx"):
        assert c.get(path).status_code == 200, path
    need_id = c.get("/api/needs", headers=bearer(c)).json()["items"][0]["id"]
    assert c.get(f"/needs/{need_id}").status_code == 200


def test_kpi_page_and_excel_for_staff_only(live_server):
    with session_scope(live_server["engine"]) as s:
        s.add(Suggestion(run_id="kpi", query_type="organization", query_id=1, candidate_type="organization",
                         candidate_id=2, kind="partner", rank=1, score=0.5, model_version="m",
                         created_at=datetime(2026, 6, 1, tzinfo=UTC)))
    with httpx.Client(base_url=live_server["url"], timeout=60, follow_redirects=False) as c:
        assert c.get("/kpi").status_code == 303
        page = c.get("/login")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        c.post("/login", data={"email": "coord@example.jp", "password": "correct-horse-battery", "csrf_token": csrf})
        page = c.get("/kpi?period=2")
        assert page.status_code == 200 and "進行管理" in page.text and "<svg" in page.text and "付加価値額" in page.text
        book = load_workbook(io.BytesIO(c.get("/kpi.xlsx?period=2").content))
        assert book.sheetnames == ["四半期", "半期", "年度・期"] and book["半期"]["B1"].value == "半期"
