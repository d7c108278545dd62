"""The service's security surface: every route × every role, escaping, limits, rate limiting.

Hostile and careless input, as the probe of the service sent it: each gets a 4xx with a Japanese
message (or a row error inside an otherwise good import), bounded memory, and nothing half-stored."""

import re

import pytest
from fastapi.testclient import TestClient

from tests.support import PASSWORD, ROOT, page_login


def test_login_limits_are_per_normalised_account_and_per_address():
    from matcher.infra.sessions import LoginLimiter

    lim = LoginLimiter("memory://", per_account="3/minute", per_address="5/minute")
    assert all(lim.allow("yamada@example.jp", "10.0.0.1") for _ in range(3))
    assert not lim.allow(" YAMADA@example.jp", "10.0.0.2")  # same account, another spelling, another address
    assert all(lim.allow(f"user{i}@example.jp", "10.0.0.3") for i in range(5))
    assert not lim.allow("fresh@example.jp", "10.0.0.3")  # spraying one address across accounts stops too


def test_login_limits_are_shared_through_redis():
    """Two workers (two limiter objects) see one counter when MATCHER_REDIS_URL is set."""
    import uuid

    from matcher.infra.sessions import LoginLimiter

    a = LoginLimiter("redis://127.0.0.1:6379/0", per_account="2/minute")
    b = LoginLimiter("redis://127.0.0.1:6379/0", per_account="2/minute")
    account = f"{uuid.uuid4().hex}@example.jp"
    assert a.allow(account, "-") and b.allow(account, "-")
    assert not a.allow(account, "-") and not b.allow(account, "-")
    b.reset(account)
    assert a.allow(account, "-")


def test_login_limits_use_the_normalised_account(desk):
    c = desk["client"]
    codes = [c.post("/api/token", json={"email": e, "password": "wrong-password"}).status_code
             for e in ("coord@example.jp", " coord@example.jp", "COORD@example.jp", "ｃｏｏｒｄ@example.jp",
                       "coord@example.jp ", "coord@example.jp")]
    assert codes[:5] == [401] * 5 and codes[5] == 429


@pytest.mark.slow  # runs the command in a subprocess or loads the embedder
def test_forwarded_for_is_believed_only_from_configured_proxies(tmp_path):
    from api.app import create_app
    from matcher.config import Settings

    def attempts(settings):
        with TestClient(create_app(settings)) as c:
            return [c.post("/api/token", json={"email": f"u{i}@example.jp", "password": "x"},
                           headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(25)]

    untrusted = attempts(Settings(data_dir=tmp_path / "a"))
    assert 429 in untrusted  # one real address, however many it claims: the per-address limit applies
    trusted = attempts(Settings(data_dir=tmp_path / "b", trusted_proxies="*"))
    assert 429 not in trusted  # behind a configured proxy, each forwarded client has its own counter


def test_security_headers_on_pages_errors_and_https(desk):
    c = desk["client"]
    for r in (c.get("/directory"), c.get("/api/needs"), c.get("/no-such-page")):
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["referrer-policy"] == "same-origin" and r.headers["x-frame-options"] == "DENY"
    page_login(c)
    assert c.get("/needs").headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in c.get("/directory").headers
    with TestClient(desk["app"], base_url="https://testserver") as s:
        s.get("/login")
        r = s.post("/login", data={"email": "coord@example.jp", "password": PASSWORD,
                                   "csrf_token": s.cookies.get("matcher_login_csrf")}, follow_redirects=False)
        assert "secure" in r.headers["set-cookie"].lower()
        assert r.headers["strict-transport-security"].startswith("max-age=")


def test_templates_have_no_inline_script():

    for t in (ROOT / "api" / "templates").glob("*.html"):
        text = t.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text) and not re.search(r"\son[a-z]+=", text), t.name
