"""Helpers shared by several test modules (plain functions and constants, no fixtures)."""

from __future__ import annotations

import email
import json
import os
import re
import socket
import subprocess
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from email import policy
from pathlib import Path

from matcher.store.db import session_scope
from matcher.store.tables import (
    Suggestion,
)

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "corpora"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


PG_ADMIN_URL = os.environ.get("MATCHER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_reachable() -> str | None:
    """None when the local PostgreSQL answers, else the reason it does not."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001 — any failure means "unreachable", with its reason
        return f"{type(exc).__name__}: {exc}"


PASSWORD = "correct-horse-battery"



def require_pg(what: str = "PostgreSQL tests") -> None:
    """Skip where the local PostgreSQL does not answer; fail in CI, which must exercise it."""
    import pytest

    reason = _pg_reachable()
    if reason:
        message = f"PostgreSQL at {PG_ADMIN_URL} is unreachable ({reason}); {what} NOT run"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)

def hdr(token):
    return {"Authorization": f"Bearer {token}"} if token else {}


MATCHER = str(Path(sys.executable).parent / "matcher")


def run(args, data_dir, check=True):
    env = {**os.environ, "MATCHER_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("MATCHER_DATABASE_URL", None)
    proc = subprocess.run([MATCHER, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def one_json(proc):
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0])


NOON = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 12:00 JST, outside quiet hours


class Recorder:
    """An SMTP handler that keeps what it accepted, and can misbehave on cue."""

    def __init__(self) -> None:
        self.accepted: list[email.message.EmailMessage] = []
        self.drop_after: int | None = None
        self.temp_failures = 0
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.drop_after is not None and len(self.accepted) >= self.drop_after:
            server.transport.close()  # the server goes away mid-batch
            return "421 closing"
        if self.temp_failures > 0:
            self.temp_failures -= 1
            return "451 4.3.0 try again later"
        self.accepted.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"



def by_to(handler: Recorder) -> dict[str, email.message.EmailMessage]:
    return {m["To"]: m for m in handler.accepted}


ROSTER = CORPORA / "demo" / "forum_participants.csv"


HEADER = "企業ID,企業名,種別,所在地,従業員数,業種コード,加工・技術,認証,技術紹介,メール,メール配信\n"


JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def bearer(client, email="coord@example.jp"):
    r = client.post("/api/token", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def page_login(client, email="coord@example.jp"):
    client.get("/login")
    csrf = client.cookies.get("matcher_login_csrf")
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client.cookies.get("matcher_session")


def upload(client, headers, name, data, kind="organizations"):
    return client.post(f"/api/import?kind={kind}", files={"file": (name, data, "application/octet-stream")},
                       headers=headers)


def assert_japanese_4xx(r, status=None):
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if status:
        assert r.status_code == status, (r.status_code, r.text[:300])
    assert JAPANESE.search(r.text), r.text[:300]


def _suggestion(engine) -> int:
    with session_scope(engine) as s:
        sug = Suggestion(run_id="r", query_type="need", query_id=1, candidate_type="organization", candidate_id=1,
                         kind="partner", rank=1, score=0.5, model_version="cold-start-v1")
        s.add(sug)
        s.flush()
        return sug.id


@contextmanager
def smtp_server(handler):
    """A real SMTP server (aiosmtpd) on a free loopback port with ``handler``; yields the port."""

    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
