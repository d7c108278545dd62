"""The desk's 人材 pages: the registry, a person's page with 登録削除, the need page's people, the
batch from the list page, and the KPI after a person agreed — on a private copy of the demo."""

import re

from fastapi.testclient import TestClient
from sqlmodel import select

from matcher.services import shortlists as sl
from matcher.services.decisions import record_decision
from matcher.services.invitations import erase_person, record_person_reply
from matcher.services.kpi import kpi_report
from matcher.services.people import assign_advisors
from matcher.store.db import session_scope
from matcher.store.tables import Need, Person
from tests.support import PASSWORD, page_login


def _csrf(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _client(settings):
    from api.app import create_app
    from matcher.services.auth import create_user
    from matcher.store.db import get_engine

    engine = get_engine(settings.sqlalchemy_url)
    create_user(engine, "people-coord@example.jp", "coordinator", PASSWORD)
    create_user(engine, "people-company@example.jp", "company", PASSWORD, "HC0002")
    return engine, TestClient(create_app(settings))


def test_registry_person_page_and_need_page(demo_copy):
    engine, client = _client(demo_copy)
    with client:
        page_login(client, "people-coord@example.jp")
        listed = client.get("/people")
        assert listed.status_code == 200 and "登録 60 人" in listed.text and "本人同意なし" in listed.text
        with session_scope(engine) as s:
            need = s.exec(select(Need).where(Need.external_id == "HN030")).one()
        page = client.get(f"/needs/{need.id}")
        r = client.post(f"/needs/{need.id}/people", data={"csrf_token": _csrf(page)}, follow_redirects=True)
        assert r.status_code == 200 and "人材の候補" in r.text
        person_ids = [int(i) for i in re.findall(r'href="/people/(\d+)"', r.text)]
        assert person_ids, "the need page lists its people"
        person = client.get(f"/people/{person_ids[0]}")
        assert person.status_code == 200 and need.title in person.text and "未判定" in person.text
        unticked = client.post(f"/people/{person_ids[0]}/erase", data={"csrf_token": _csrf(person)})
        assert unticked.status_code == 422 and "チェック" in unticked.text
        r = client.post(f"/people/{person_ids[0]}/erase", data={"csrf_token": _csrf(person), "confirm": "yes"},
                        follow_redirects=True)
        assert "個人情報を削除しました" in r.text and "登録削除済み" in r.text
        with session_scope(engine) as s:
            assert s.get(Person, person_ids[0]).email is None
        batch = client.post("/people/assign", data={"csrf_token": _csrf(listed), "k": "1", "hours": "abc"})
        assert batch.status_code == 200 and "割当" in batch.text  # a careless number is not an error page
    with client:
        page_login(client, "people-company@example.jp")
        assert client.get("/people", follow_redirects=False).status_code == 403
        assert client.get(f"/people/{person_ids[1]}", follow_redirects=False).status_code == 403


def test_kpi_counts_advisors_and_hours_and_keeps_them_after_erasure(own_demo):
    a = assign_advisors(own_demo, k=1, hours_per_engagement=10, min_score=0.4)
    picks = [e for one in a.shortlists for e in one.candidates][:2]
    assert len(picks) == 2
    for e in picks:
        record_decision(own_demo.engine, e.suggestion_id, "accept", by="coord@example.jp")
        record_person_reply(own_demo.engine, e.suggestion_id, e.candidate.id, "agreed")
    one = sl.shortlist_need(own_demo, "HN001", "people", 1)  # a plain shortlist: the default hours
    record_person_reply(own_demo.engine, one.candidates[0].suggestion_id, one.candidates[0].candidate.id, "declined")
    total = kpi_report(own_demo.engine).totals().counts
    assert total["advisors_matched"] == 2 and total["advisor_hours"] == 20
    erase_person(own_demo.engine, picks[0].candidate.id, "coord@example.jp")
    after = kpi_report(own_demo.engine).totals().counts
    assert after["advisors_matched"] == 2 and after["advisor_hours"] == 20
