"""The multi-machine topology on one machine: PostgreSQL + Redis + 2 API workers + 2 job workers.

What `deploy/systemd/` runs on real machines, started here as processes against the local
PostgreSQL (a database of its own) and Redis (a database number of its own): one
``matcher serve --workers 2`` (two uvicorn worker processes behind one port) and two
``matcher worker`` processes taking indexing, embedding and seating jobs from the RQ queue. Every
process reads the same ``MATCHER_*`` settings; the data directory holds only what every machine
may keep apart (the embedding cache, the index versions each machine builds or mounts).

    python scripts/topology.py up      # start it and print the URL and the settings; Ctrl-C stops it
    python scripts/topology.py check   # start it, run the load test below, stop it; exit 1 on a loss

The load test sends at the same time shortlists (every demo need, twice), coordinator decisions
on the suggestions they return, and imports of new organisations (each import queues an index
job on the workers), then checks that nothing was lost or doubled: every decision answered 201
is stored once, every imported organisation exists once and is indexed, every request was
answered without a 5xx.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MATCHER = str(Path(sys.executable).parent / "matcher")
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
COORDINATOR = ("topology@example.jp", "topology-pass-2026")


@dataclass
class Topology:
    url: str
    env: dict[str, str]
    database: str
    processes: list[subprocess.Popen] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def topology(workdir: Path, redis_db: int = 13, api_workers: int = 2, job_workers: int = 2) -> Iterator[Topology]:
    """Start everything on a fresh database with the demo data loaded; stop and drop it after."""
    import httpx
    from redis import Redis
    from sqlalchemy import create_engine, text

    database = f"topology_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    redis_url = f"redis://127.0.0.1:6379/{redis_db}"
    Redis.from_url(redis_url).flushdb()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MATCHER_DATA_DIR": str(workdir / "data"),
           "MATCHER_DATABASE_URL": f"{PG}/{database}", "MATCHER_REDIS_URL": redis_url, "MATCHER_THREADS": "1",
           "MATCHER_EMBED_CHUNK_TEXTS": "200"}
    port = _free_port()
    top = Topology(url=f"http://127.0.0.1:{port}", env=env, database=database)
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run([MATCHER, "demo", "--json"], env=env, check=True, capture_output=True, timeout=900)
        subprocess.run([MATCHER, "users", "create", COORDINATOR[0], "--role", "coordinator", "--password",
                        COORDINATOR[1]], env=env, check=True, capture_output=True, timeout=120)
        commands = [[MATCHER, "serve", "--port", str(port), "--workers", str(api_workers)]]
        commands += [[MATCHER, "worker"] for _ in range(job_workers)]
        for k, cmd in enumerate(commands):
            log = (logs / f"process-{k}.log").open("w")
            top.processes.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                  start_new_session=True))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{top.url}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.3)
        time.sleep(3)  # every API worker up
        yield top
    finally:
        for proc in top.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in top.processes:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        Redis.from_url(redis_url).flushdb()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class LoadResult:
    shortlists: int = 0
    decisions_sent: list[int] = field(default_factory=list)  # ids of decisions answered 201
    imported: list[str] = field(default_factory=list)  # external ids of imported organisations
    errors: list[str] = field(default_factory=list)  # any 5xx or unexpected answer


def load_test(top: Topology, imports: int = 3, rounds: int = 2) -> LoadResult:
    """Shortlists, decisions and imports at the same time, over several connections."""
    import httpx

    result = LoadResult()
    lock = threading.Lock()
    with httpx.Client(base_url=top.url, timeout=120) as c:
        token = c.post("/api/token", json={"email": COORDINATOR[0], "password": COORDINATOR[1]}).json()["access_token"]
        needs = [n["id"] for n in c.get("/api/needs", params={"limit": 200},
                                       headers={"Authorization": f"Bearer {token}"}).json()["items"]]
    headers = {"Authorization": f"Bearer {token}"}

    def note(problem: str) -> None:
        with lock:
            result.errors.append(problem)

    def shortlists_and_decisions(part: list[int]) -> None:
        with httpx.Client(base_url=top.url, timeout=120, headers=headers) as c:
            for _ in range(rounds):
                for need in part:
                    r = c.post(f"/api/needs/{need}/shortlist", params={"kind": "partners", "k": 5})
                    if r.status_code != 200:
                        note(f"shortlist {need}: {r.status_code} {r.text[:200]}")
                        continue
                    with lock:
                        result.shortlists += 1
                    for s in [c for c in r.json()["candidates"] if c["suggestion_id"]][:2]:
                        d = c.post("/api/decisions", json={"suggestion_id": s["suggestion_id"], "verdict": "accept"})
                        if d.status_code != 201:
                            note(f"decision {s['suggestion_id']}: {d.status_code} {d.text[:200]}")
                        else:
                            with lock:
                                result.decisions_sent.append(d.json()["decision_id"])

    def importer(k: int) -> None:
        ids = [f"TP{k}{j:03d}" for j in range(20)]
        rows = "".join(f"{i},トポロジー試験{i}株式会社（架空）,企業,日野市,30,2599,旋盤加工,,,"
                       f"精密切削と治具の設計製作（試験{i}）,,いいえ\n" for i in ids)
        body = ("企業ID,企業名,種別,所在地,従業員数,業種コード,加工・技術,主要設備,認証,技術紹介,メール,メール配信\n"
                + rows).encode()
        with httpx.Client(base_url=top.url, timeout=300, headers=headers) as c:
            r = c.post("/api/import", files={"file": (f"topology-{k}.csv", body, "text/csv")})
            if r.status_code != 200 or r.json().get("rejected_count"):
                note(f"import {k}: {r.status_code} {r.text[:300]}")
            else:
                with lock:
                    result.imported.extend(ids)

    halves = [needs[0::2], needs[1::2]]
    threads = [threading.Thread(target=shortlists_and_decisions, args=(h,)) for h in halves]
    threads += [threading.Thread(target=importer, args=(k,)) for k in range(imports)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(1200)
    return result


def verify(top: Topology, result: LoadResult, timeout_s: float = 600) -> list[str]:
    """What was acknowledged is stored once, and the workers indexed every import."""
    from sqlalchemy import create_engine, text

    problems = list(result.errors)
    engine = create_engine(top.env["MATCHER_DATABASE_URL"])
    deadline = time.monotonic() + timeout_s
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            active = conn.execute(text("SELECT count(*) FROM job WHERE state IN ('queued', 'running')")).scalar()
            stale = conn.execute(text("SELECT count(*) FROM document WHERE indexed_hash IS NULL "
                                      "OR indexed_hash <> content_hash")).scalar()
            if not active and not stale:
                break
            time.sleep(1)
            conn.rollback()
        else:
            problems.append(f"jobs still active or documents unindexed after {timeout_s:.0f} s")
        stored = conn.execute(text("SELECT id FROM decision WHERE coordinator = :c"), {"c": COORDINATOR[0]}).scalars().all()
        if sorted(stored) != sorted(result.decisions_sent):
            problems.append(f"decisions: {len(result.decisions_sent)} acknowledged, {len(stored)} stored")
        orgs = conn.execute(text("SELECT external_id, count(*) FROM organization WHERE external_id LIKE 'TP%' "
                                 "GROUP BY external_id")).all()
        if sorted(o for o, _ in orgs) != sorted(result.imported) or any(n != 1 for _, n in orgs):
            problems.append(f"organisations: {len(result.imported)} imported, {len(orgs)} stored")
        failed = conn.execute(text("SELECT id, kind, error_detail FROM job WHERE state = 'failed'")).all()
        problems += [f"job {i} ({k}) failed: {e}" for i, k, e in failed]
    engine.dispose()
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=("up", "check"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, topology(Path(tmp)) as top:
        if args.command == "up":
            print(json.dumps({"url": top.url, "database": top.database,
                              **{k: v for k, v in top.env.items() if k.startswith("MATCHER_")}}, ensure_ascii=False))
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
            return
        started = time.perf_counter()
        result = load_test(top)
        problems = verify(top, result)
        print(json.dumps({"shortlists": result.shortlists, "decisions": len(result.decisions_sent),
                          "imported": len(result.imported), "seconds": round(time.perf_counter() - started, 1),
                          "problems": problems}, ensure_ascii=False))
        raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
