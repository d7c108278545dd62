"""The service's security surface: every route × every role, escaping, limits, rate limiting."""

import pytest

from tests.support import PASSWORD, hdr

STAFF = {"admin", "coordinator"}


ALL = {"admin", "coordinator", "company"}


ROUTES = [
    ("GET", "/api/organizations", None, ALL),
    ("GET", "/api/organizations/{own}", None, ALL),
    ("GET", "/api/organizations/{other}", None, STAFF),
    ("POST", "/api/organizations", {"external_id": "API1", "name": "API作成テスト（架空）", "processes": ["切削"]}, STAFF),
    ("PATCH", "/api/organizations/{other}", {"city": "日野市"}, STAFF),
    ("GET", "/api/needs", None, ALL),
    ("GET", "/api/needs/1", None, STAFF),  # need 1 belongs to another company: 404, ids are not revealed
    ("POST", "/api/needs/1/shortlist?k=2", None, STAFF),
    ("GET", "/api/suggestions", None, STAFF),  # companies get /api/proposals instead
    ("GET", "/api/proposals", None, {"company"}),
    ("POST", "/api/decisions", {"suggestion_id": "{sid}", "verdict": "skip"}, STAFF),
    ("GET", "/api/models", None, {"admin"}),
    ("POST", "/api/models/cold-start-v1/promote", None, {"admin"}),  # already active: 409 for the admin
    ("GET", "/api/export?format=csv", None, STAFF),
    ("POST", "/api/users", {"email": "new-{role}@example.jp", "role": "coordinator", "password": PASSWORD}, {"admin"}),
]


@pytest.mark.parametrize("role", ["anon", "company", "coordinator", "admin"])
@pytest.mark.parametrize("method,path,body,allowed", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_every_route_for_every_role(client, tokens, live_server, role, method, path, body, allowed):
    from sqlmodel import select

    from matcher.store.db import session_scope
    from matcher.store.tables import Organization, Suggestion

    with session_scope(live_server["engine"]) as s:
        own = s.exec(select(Organization).where(Organization.external_id == "HC0002")).one().id
        other = s.exec(select(Organization).where(Organization.external_id == "HC0003")).one().id
        sid = s.exec(select(Suggestion.id)).first()
    if "{sid}" in str(body) and sid is None:
        sid = client.post("/api/needs/1/shortlist?k=2", headers=hdr(tokens["admin"])).json()["candidates"][0]["suggestion_id"]
    url = path.format(own=own, other=other)
    payload = None
    if body is not None:
        payload = {k: (v.format(role=role) if isinstance(v, str) and "{role}" in v else v) for k, v in body.items()}
        if payload.get("suggestion_id") == "{sid}":
            payload["suggestion_id"] = sid
    r = client.request(method, url, json=payload, headers=hdr(tokens[role]))
    if role == "anon":
        assert r.status_code == 401, r.text
    elif role in allowed:
        assert r.status_code < 400 or (r.status_code == 409 and "promote" in url), (r.status_code, r.text)
    else:
        # Another organisation's need or organisation does not exist for a company (404, as the
        # README says); a route its role may not use at all is 403.
        other_org = role == "company" and method == "GET" and url in ("/api/needs/1", f"/api/organizations/{other}")
        assert r.status_code == (404 if other_org else 403), (r.status_code, r.text)


def test_script_in_a_company_name_is_escaped_in_pages(client, tokens):
    evil = "<script>alert('x')</script>悪意テスト（架空）"
    r = client.post("/api/organizations", json={"external_id": "XSS1", "name": evil, "profile": "<b>太字</b>"},
                    headers=hdr(tokens["coordinator"]))
    assert r.status_code == 201, r.text
    page = client.get("/directory", params={"q": "悪意テスト"})
    assert "&lt;script&gt;alert(" in page.text and "<script>alert(" not in page.text
    assert "&lt;b&gt;" in page.text


def test_sql_looking_input_is_harmless(client, tokens):
    for q in ("' OR 1=1 --", "%", "_", "'; DROP TABLE organization; --"):
        r = client.get("/api/organizations", params={"q": q}, headers=hdr(tokens["coordinator"]))
        assert r.status_code == 200
        assert r.json()["total"] == 0
    assert client.get("/api/organizations", headers=hdr(tokens["coordinator"])).json()["total"] > 100


def test_forms_without_csrf_are_refused(client, tokens):
    client.cookies.set("matcher_session", tokens["coordinator"])
    r = client.post("/suggestions/1/decision", data={"verdict": "accept"})
    assert r.status_code == 403
    client.cookies.clear()
