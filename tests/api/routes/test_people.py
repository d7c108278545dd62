"""人材 over the API: coordinators only, typed responses, and nothing of a person reaches a company."""

from sqlmodel import select

from matcher.store.db import session_scope
from matcher.store.tables import Person
from tests.support import PASSWORD, hdr


def test_people_routes_are_the_coordinators(client, tokens):
    for method, url in (("get", "/api/people"), ("post", "/api/people/1/shortlist"), ("post", "/api/people/assign"),
                        ("post", "/api/needs/1/shortlist?kind=people")):
        assert getattr(client, method)(url, headers=hdr(tokens["company"])).status_code == 403, url
        assert getattr(client, method)(url).status_code == 401, url
    listed = client.get("/api/people?limit=500", headers=hdr(tokens["coordinator"])).json()
    assert listed["total"] == 60 and len(listed["items"]) == 60
    assert "email" not in listed["items"][0] and "example.jp" not in str(listed)
    assert any(not p["consent"] for p in listed["items"])


def test_a_person_without_consent_is_not_found_for_matching(client, tokens, live_server):
    with session_scope(live_server["engine"]) as s:
        refused = s.exec(select(Person).where(Person.consent.is_(False))).first()
    r = client.post(f"/api/people/{refused.id}/shortlist", headers=hdr(tokens["coordinator"]))
    assert r.status_code == 404 and "人材" in r.json()["detail"]


def test_an_accepted_person_stays_off_the_companys_pages(client, tokens, live_server):
    """Seen by the requester (the need's own company) after a coordinator accepted its people."""
    from matcher.services.auth import create_user, find_user
    from matcher.store.tables import Need, Organization

    with session_scope(live_server["engine"]) as s:
        need = s.exec(select(Need).order_by(Need.id)).first()
        requester = s.get(Organization, need.org_id)
    create_user(live_server["engine"], "requester-people@example.jp", "company", PASSWORD, requester.external_id)
    company = hdr(client.app.state.matcher.tokens.issue(find_user(live_server["engine"], "requester-people@example.jp"),
                                                        kind="bearer"))
    need_id = need.id
    assert [n["id"] for n in client.get("/api/needs", headers=company).json()["items"]].count(need_id) == 1
    people = client.post(f"/api/needs/{need_id}/shortlist?kind=people&k=3", headers=hdr(tokens["coordinator"])).json()
    assert [c["candidate_type"] for c in people["candidates"]] == ["person"] * 3
    for c in people["candidates"]:
        r = client.post("/api/decisions", json={"suggestion_id": c["suggestion_id"], "verdict": "accept"},
                        headers=hdr(tokens["coordinator"]))
        assert r.status_code == 201, r.text
    ids = {c["suggestion_id"] for c in people["candidates"]}
    names = [c["person"]["name"] for c in people["candidates"]]
    proposals = client.get("/api/proposals", headers=company).json()["items"]
    assert not ids & {p["suggestion_id"] for p in proposals}
    page = client.get("/proposals", headers=company).text + client.get(f"/needs/{need_id}", headers=company).text
    assert not any(name in page for name in names)


def test_the_advisory_batch_over_the_api(client, tokens):
    r = client.post("/api/people/assign?k=1&hours=10&min_score=0.4", headers=hdr(tokens["coordinator"]))
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["status"] == "optimal" and plan["k"] == 1 and plan["hours_per_engagement"] == 10
    assert all(len(n["advisors"]) <= 1 for n in plan["needs"])
    assert all(p["engagements"] <= p["capacity"] for p in plan["people"])
    assert client.post("/api/people/assign?k=0", headers=hdr(tokens["coordinator"])).status_code == 422
    schema = client.get("/openapi.json").json()
    assert "AssignmentOut" in schema["components"]["schemas"] and "PersonOut" in schema["components"]["schemas"]
