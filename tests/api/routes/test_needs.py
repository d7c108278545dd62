"""Hostile and careless input, as the probe of the service sent it: each gets a 4xx with a Japanese
message (or a row error inside an otherwise good import), bounded memory, and nothing half-stored."""

from matcher.store.db import session_scope
from matcher.store.tables import Decision, Suggestion
from tests.support import bearer, page_login


def test_pages_never_show_free_text_from_the_query_string(desk):
    c = desk["client"]
    page_login(c)
    with session_scope(desk["engine"]) as s:
        from matcher.store.tables import Need

        s.add(Need(external_id="Q1", org_id=1, title="件名", text="内容"))
    need_id = c.get("/api/needs", headers=bearer(c)).json()["items"][0]["id"]
    r = c.get(f"/needs/{need_id}", params={"message": "偽のお知らせ: http://evil.example"})
    assert r.status_code == 200 and "evil.example" not in r.text


def test_pages_show_japan_time_and_no_raw_codes(desk):
    from datetime import UTC, datetime

    from matcher.services.decisions import drop_group_member
    from matcher.store.tables import AuditLog, Need

    c, engine = desk["client"], desk["engine"]
    with session_scope(engine) as s:
        need = Need(external_id="J1", org_id=1, title="時刻の確認", text="内容")
        s.add(need)
        s.flush()
        sug = Suggestion(run_id="j", query_type="need", query_id=need.id, candidate_type="organization", candidate_id=2,
                         kind="partner", rank=1, score=0.5, model_version="cold-start-v1")
        group = Suggestion(run_id="j2", query_type="need", query_id=need.id, candidate_type="group", candidate_id=2,
                           kind="group", rank=1, score=0.4, model_version="cold-start-v1",
                           members=[{"org_id": 2, "role": "lead", "covers": ["板金"], "features": {}},
                                    {"org_id": 3, "role": "member", "covers": ["塗装"], "features": {}}])
        s.add_all([sug, group])
        s.flush()
        s.add(Decision(suggestion_id=sug.id, verdict="accept", coordinator="coord@example.jp",
                       decided_at=datetime(2026, 12, 1, 20, 6, tzinfo=UTC)))
        s.add(AuditLog(action="outcomes_import", target="outcomes.csv", detail={"inserted": 2, "rejected": 0}))
        need_id, group_id = need.id, group.id
    drop_group_member(engine, group_id, 3, "coord@example.jp")
    page_login(c, "admin@example.jp")
    page = c.get(f"/needs/{need_id}").text
    assert "2026年12月2日 05:06" in page  # 20:06 UTC is 05:06 the next morning in Japan
    assert "cold-start" not in page and "初期設定の重み" in page
    assert "共同受注グループ: " in page and "をグループから外した" in page and ">3<" not in page
    audit = c.get("/admin/audit").text
    assert "成果指標の取り込み" in audit and "グループから企業を外す" in audit and "追加: 2" in audit
    assert "outcomes_import" not in audit and "group_drop" not in audit and '{"' not in audit
