"""Several uvicorn workers on PostgreSQL share sessions (database), login limits (Redis) and
cached data (keyed by the store's version): what one worker does, every worker sees."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.support import PG_ADMIN_URL, ROOT, require_pg

MATCHER = str(Path(sys.executable).parent / "matcher")


@pytest.fixture()
def two_workers(tmp_path):
    require_pg("the worker tests")
    from matcher.store.db import get_engine

    schema = f"w_{uuid.uuid4().hex[:10]}"
    admin = get_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    env = {**os.environ, "MATCHER_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1",
           "MATCHER_DATABASE_URL": f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}",
           "MATCHER_REDIS_URL": "redis://127.0.0.1:6379/0"}
    subprocess.run([MATCHER, "ingest", str(ROOT / "tests" / "fixtures" / "orgs_small.csv"), "--no-index"],
                   env=env, check=True, capture_output=True, timeout=300)
    subprocess.run([MATCHER, "users", "create", "w@example.jp", "--role", "coordinator", "--password", "worker-pass-123"],
                   env=env, check=True, capture_output=True, timeout=120)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([MATCHER, "serve", "--port", str(port), "--workers", "2"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        time.sleep(3)  # both workers up
        yield {"url": base, "log": tmp_path / "serve.log"}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def test_two_workers_share_sessions_limits_and_data(two_workers):
    base = two_workers["url"]
    assert len(set(re.findall(r"Started server process \[(\d+)\]", two_workers["log"].read_text()))) == 2
    with httpx.Client(base_url=base, timeout=30) as c:
        token = c.post("/api/token", json={"email": "w@example.jp", "password": "worker-pass-123"}).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        r = c.post("/api/organizations", json={"external_id": "W1", "name": "ワーカー試験（架空）"}, headers=h)
        assert r.status_code == 201, r.text
        # New connections spread over both workers: every one accepts the token and sees the new row.
        for _ in range(16):
            with httpx.Client(base_url=base, timeout=30) as fresh:
                found = fresh.get("/api/organizations", params={"q": "ワーカー試験"}, headers=h)
                assert found.status_code == 200 and found.json()["total"] == 1
        assert c.post("/api/logout", headers=h).status_code == 204
        for _ in range(16):
            with httpx.Client(base_url=base, timeout=30) as fresh:
                assert fresh.get("/api/needs", headers=h).status_code == 401
        account = f"{uuid.uuid4().hex[:8]}@example.jp"
        codes = []
        for _ in range(6):
            with httpx.Client(base_url=base, timeout=30) as fresh:
                codes.append(fresh.post("/api/token", json={"email": account, "password": "nope"}).status_code)
        assert codes == [401] * 5 + [429]
