"""The service's security surface: every route × every role, escaping, limits, rate limiting."""

import pytest
from fastapi.testclient import TestClient

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def client(live_server):
    with TestClient(live_server["app"]) as c:
        yield c


@pytest.fixture(scope="module")
def tokens(client):
    out = {"anon": None}
    for role, email in (("admin", "admin@example.jp"), ("coordinator", "coord@example.jp"),
                        ("company", "company@example.jp")):
        r = client.post("/api/token", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        out[role] = r.json()["access_token"]
    return out


def hdr(token):
    return {"Authorization": f"Bearer {token}"} if token else {}


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


def test_company_sees_only_its_own_organisation_and_accepted_proposals(client, tokens, live_server):
    r = client.get("/api/organizations", headers=hdr(tokens["company"]))
    assert [o["external_id"] for o in r.json()["items"]] == ["HC0002"]
    shortlist = client.post("/api/needs/1/shortlist?k=10", headers=hdr(tokens["admin"])).json()
    # Suggestions and internal decisions are the coordinators' business.
    assert client.get("/api/suggestions", headers=hdr(tokens["company"])).status_code == 403
    before = client.get("/api/proposals", headers=hdr(tokens["company"])).json()["items"]
    # Need 1 belongs to another company; rejecting or merely listing HC0002 shows the company nothing.
    mine = [c for c in shortlist["candidates"] if c.get("org", {}).get("external_id") == "HC0002"]
    for c in mine:
        client.post("/api/decisions", json={"suggestion_id": c["suggestion_id"], "verdict": "reject", "reason": "size"},
                    headers=hdr(tokens["coordinator"]))
    assert client.get("/api/proposals", headers=hdr(tokens["company"])).json()["items"] == before
    everything = client.get("/api/suggestions", headers=hdr(tokens["coordinator"])).json()["items"]
    assert len(everything) >= len(shortlist["candidates"])


def test_script_in_a_company_name_is_escaped_in_pages(client, tokens):
    evil = "<script>alert('x')</script>悪意テスト（架空）"
    r = client.post("/api/organizations", json={"external_id": "XSS1", "name": evil, "profile": "<b>太字</b>"},
                    headers=hdr(tokens["coordinator"]))
    assert r.status_code == 201, r.text
    page = client.get("/directory", params={"q": "悪意テスト"})
    assert "&lt;script&gt;alert(" in page.text and "<script>alert(" not in page.text
    assert "&lt;b&gt;" in page.text


def test_oversized_upload_is_413(client, tokens, live_server):
    limit = live_server["settings"].max_upload_bytes
    big = b"a" * (limit + 10)
    r = client.post("/api/import", files={"file": ("big.csv", big, "text/csv")}, headers=hdr(tokens["coordinator"]))
    assert r.status_code == 413 and "大きすぎ" in r.text


def test_malformed_json_is_422_with_a_message(client, tokens):
    r = client.post("/api/organizations", content=b'{"external_id": "X", "name": ', headers={
        **hdr(tokens["coordinator"]), "Content-Type": "application/json"})
    assert r.status_code == 422 and "invalid request" in r.text
    r = client.post("/api/organizations", json={"external_id": "X", "name": "n", "employees": -5},
                    headers=hdr(tokens["coordinator"]))
    assert r.status_code == 422


def test_import_upload_reports_rows_like_the_cli(client, tokens):
    csv = "企業ID,企業名,従業員数\nUP1,アップロード（架空）,10\nUP2,,-1\n".encode("cp932")
    r = client.post("/api/import?kind=organizations", files={"file": ("o.csv", csv, "text/csv")},
                    headers=hdr(tokens["coordinator"]))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["inserted"] == 1 and {(e["row"], e["field"]) for e in out["rejected"]} == {(3, "name"), (3, "employees")}


def test_sql_looking_input_is_harmless(client, tokens):
    for q in ("' OR 1=1 --", "%", "_", "'; DROP TABLE organization; --"):
        r = client.get("/api/organizations", params={"q": q}, headers=hdr(tokens["coordinator"]))
        assert r.status_code == 200
        assert r.json()["total"] == 0
    assert client.get("/api/organizations", headers=hdr(tokens["coordinator"])).json()["total"] > 100


def test_login_is_rate_limited(client):
    codes = [client.post("/api/token", json={"email": "nobody@example.jp", "password": "wrong-password"}).status_code
             for _ in range(7)]
    assert codes[:5] == [401] * 5 and codes[-1] == 429


def test_forms_without_csrf_are_refused(client, tokens):
    client.cookies.set("matcher_session", tokens["coordinator"])
    r = client.post("/suggestions/1/decision", data={"verdict": "accept"})
    assert r.status_code == 403
    client.cookies.clear()


def test_session_cookie_is_httponly_and_samesite(client):
    page = client.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", data={"email": "coord@example.jp", "password": PASSWORD, "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "matcher_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    client.cookies.clear()


def test_healthz_and_openapi(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    spec = client.get("/openapi.json").json()
    assert "/api/needs/{need_id}/shortlist" in spec["paths"]


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


def test_login_limits_are_per_normalised_account_and_per_address():
    from matcher.services.auth import LoginLimiter

    lim = LoginLimiter("memory://", per_account="3/minute", per_address="5/minute")
    assert all(lim.allow("yamada@example.jp", "10.0.0.1") for _ in range(3))
    assert not lim.allow(" YAMADA@example.jp", "10.0.0.2")  # same account, another spelling, another address
    assert all(lim.allow(f"user{i}@example.jp", "10.0.0.3") for i in range(5))
    assert not lim.allow("fresh@example.jp", "10.0.0.3")  # spraying one address across accounts stops too


def test_login_limits_are_shared_through_redis():
    """Two workers (two limiter objects) see one counter when MATCHER_REDIS_URL is set."""
    import uuid

    from matcher.services.auth import LoginLimiter

    a = LoginLimiter("redis://127.0.0.1:6379/0", per_account="2/minute")
    b = LoginLimiter("redis://127.0.0.1:6379/0", per_account="2/minute")
    account = f"{uuid.uuid4().hex}@example.jp"
    assert a.allow(account, "-") and b.allow(account, "-")
    assert not a.allow(account, "-") and not b.allow(account, "-")
    b.reset(account)
    assert a.allow(account, "-")


def test_domain_errors_map_to_status_in_one_handler(client, tokens):
    r = client.post("/api/decisions", json={"suggestion_id": 2_000_000_000, "verdict": "accept"},
                    headers=hdr(tokens["coordinator"]))
    assert r.status_code == 404 and "提案ID" in r.json()["detail"]
    r = client.post("/api/decisions", json={"suggestion_id": 1, "verdict": "accept", "reason": "distance"},
                    headers=hdr(tokens["coordinator"]))
    assert r.status_code == 422 and any(e["field"] == "reason" for e in r.json()["detail"]["errors"])
    r = client.post("/api/models/no-such-version/promote", headers=hdr(tokens["admin"]))
    assert r.status_code == 404 and "no-such-version" in r.json()["detail"]
