"""The service's security surface: every route × every role, escaping, limits, rate limiting.

Hostile and careless input, as the probe of the service sent it: each gets a 4xx with a Japanese
message (or a row error inside an otherwise good import), bounded memory, and nothing half-stored."""

import re

from fastapi.testclient import TestClient

from tests.support import HEADER, PASSWORD, assert_japanese_4xx, bearer, page_login


def test_login_is_rate_limited(client):
    codes = [client.post("/api/token", json={"email": "nobody@example.jp", "password": "wrong-password"}).status_code
             for _ in range(7)]
    assert codes[:5] == [401] * 5 and codes[-1] == 429


def test_session_cookie_is_httponly_and_samesite(client):
    page = client.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", data={"email": "coord@example.jp", "password": PASSWORD, "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "matcher_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    client.cookies.clear()


def test_logout_revokes_the_cookie_and_the_bearer_token(desk):
    c = desk["client"]
    cookie = page_login(c)
    page = c.get("/needs")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert c.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    c.cookies.clear()
    stolen = TestClient(desk["app"], cookies={"matcher_session": cookie})
    assert stolen.get("/needs", follow_redirects=False).status_code == 303  # back to the login page
    token = bearer(c)
    assert c.get("/api/needs", headers=token).status_code == 200
    assert c.post("/api/logout", headers=token).status_code == 204
    assert c.get("/api/needs", headers=token).status_code == 401


def test_admins_and_password_changes_revoke_sessions(desk):
    c = desk["client"]
    coord = bearer(c)
    admin = bearer(c, "admin@example.jp")
    from matcher.services.auth import find_user

    uid = find_user(desk["engine"], "coord@example.jp").id
    r = c.post(f"/api/users/{uid}/revoke-sessions", headers=admin)
    assert r.status_code == 200 and r.json()["revoked_sessions"] >= 1
    assert c.get("/api/needs", headers=coord).status_code == 401
    coord = bearer(c)
    r = c.post("/api/users/me/password", json={"current_password": PASSWORD, "new_password": "another-long-pass"},
               headers=coord)
    assert r.status_code == 200 and c.get("/api/needs", headers=coord).status_code == 401
    assert c.post("/api/token", json={"email": "coord@example.jp", "password": "another-long-pass"}).status_code == 200


def test_the_json_api_needs_a_csrf_header_with_a_cookie_session(desk):
    c = desk["client"]
    cookie = page_login(c)
    r = c.post("/api/organizations", json={"external_id": "CS1", "name": "クッキー（架空）"})
    assert_japanese_4xx(r, 403)
    r = c.post("/api/import", files={"file": ("o.csv", (HEADER + "CS2,フォーム（架空）\n").encode(), "text/csv")})
    assert_japanese_4xx(r, 403)
    csrf = desk["app"].state.matcher.tokens.csrf(cookie)
    r = c.post("/api/organizations", json={"external_id": "CS3", "name": "ヘッダー付き（架空）"},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text


def test_the_password_change_shares_the_login_limits(desk):
    c = desk["client"]
    hdr = bearer(c, "company@example.jp")
    codes = [c.post("/api/users/me/password", json={"current_password": f"wrong-{i}", "new_password": "x" * 12},
                    headers=hdr).status_code for i in range(8)]
    assert codes[:5] == [403] * 5 and set(codes[5:]) == {429}, codes
    r = c.post("/api/users/me/password", json={"current_password": PASSWORD, "new_password": "y" * 12}, headers=hdr)
    assert_japanese_4xx(r, 429)  # even the right password waits: the guessing is what is limited
