"""Load on loopback: concurrent clients hit the shortlist and decision endpoints of a live server.

For each worker count (``--workers 1,2``): one worker serves a SQLite copy of the demo store
in-process; several workers are real ``matcher serve --workers N`` processes over a fresh
PostgreSQL schema with Redis, as a deployment would run. A bounded number of requests comes from
N client threads; the table gives requests/s and p50/p95 per endpoint beside the target (shortlist
p95 ≤ 1 s with 8 clients), and every decision the clients got a 201 for is checked to be stored
exactly once.
Usage: python scripts/bench_api.py [--clients 8] [--workers 1,2] [--shortlists 40] [--requests 200]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = os.environ.get("MATCHER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TARGET_P95_MS = 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load(base: str, clients: int, shortlists: int, requests: int, max_seconds: float) -> dict:
    import httpx

    token = httpx.post(f"{base}/api/token", json={"email": "bench@example.jp", "password": "bench-password-123"}
                       ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + max_seconds
    latencies: dict[str, list[float]] = {"shortlist": [], "decision": []}
    acknowledged: list[int] = []
    suggestion_ids: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def shortlist_worker(worker: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as c:
            for i in range(worker, shortlists, clients):
                if time.monotonic() > deadline:
                    return
                t = time.perf_counter()
                r = c.post(f"/api/needs/{i % 40 + 1}/shortlist?k=10")
                with lock:
                    latencies["shortlist"].append(1000 * (time.perf_counter() - t))
                    if r.status_code == 200:
                        suggestion_ids.extend(x["suggestion_id"] for x in r.json()["candidates"])
                    else:
                        errors.append(f"shortlist {r.status_code}")

    def decision_worker(worker: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as c:
            for i in range(worker, requests, clients):
                if time.monotonic() > deadline or not suggestion_ids:
                    return
                sid = suggestion_ids[i % len(suggestion_ids)]
                t = time.perf_counter()
                r = c.post("/api/decisions", json={"suggestion_id": sid, "verdict": "accept" if i % 2 else "reject",
                                                   "reason": None if i % 2 else "other"})
                with lock:
                    latencies["decision"].append(1000 * (time.perf_counter() - t))
                    if r.status_code == 201:
                        acknowledged.append(r.json()["decision_id"])
                    else:
                        errors.append(f"decision {r.status_code}")

    seconds = {}
    for name, worker in (("shortlist", shortlist_worker), ("decision", decision_worker)):
        threads = [threading.Thread(target=worker, args=(w,)) for w in range(clients)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        seconds[name] = time.perf_counter() - t
    return {"latencies": latencies, "seconds": seconds, "acknowledged": acknowledged, "errors": errors}


def run_in_process(tmp: Path, embedder, args) -> tuple[dict, list[int]]:
    import uvicorn
    from sqlmodel import select

    from api.app import create_app
    from matcher.services.auth import create_user
    from matcher.store.db import session_scope
    from matcher.store.tables import Decision
    from scripts.bench_feedback import build_demo

    engine, settings, _ = build_demo(tmp, embedder)
    create_user(engine, "bench@example.jp", "coordinator", "bench-password-123")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    out = load(f"http://127.0.0.1:{port}", args.clients, args.shortlists, args.requests, args.max_seconds)
    server.should_exit = True
    with session_scope(engine) as s:
        return out, [d.id for d in s.exec(select(Decision))]


def run_workers(tmp: Path, embedder, workers: int, args) -> tuple[dict, list[int]]:
    import httpx
    from sqlalchemy import text
    from sqlmodel import select

    from matcher.services.auth import create_user
    from matcher.store.db import get_engine, session_scope
    from matcher.store.tables import Decision
    from scripts.bench_feedback import build_demo

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = get_engine(PG)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG}?options=-csearch_path%3D{schema}"
    proc = None
    try:
        engine, settings, _ = build_demo(tmp, embedder, database_url=url)
        create_user(engine, "bench@example.jp", "coordinator", "bench-password-123")
        port = free_port()
        env = {**os.environ, "MATCHER_DATA_DIR": str(tmp), "MATCHER_DATABASE_URL": url,
               "MATCHER_REDIS_URL": os.environ.get("MATCHER_REDIS_URL", "redis://127.0.0.1:6379/0"),
               "HF_HUB_OFFLINE": "1"}
        proc = subprocess.Popen([str(Path(sys.executable).parent / "matcher"), "serve", "--port", str(port),
                                 "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        time.sleep(2)
        out = load(base, args.clients, args.shortlists, args.requests, args.max_seconds)
        with session_scope(engine) as s:
            return out, [d.id for d in s.exec(select(Decision))]
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts; >1 runs on PostgreSQL")
    ap.add_argument("--requests", type=int, default=200, help="decision requests in total")
    ap.add_argument("--shortlists", type=int, default=40, help="shortlist requests in total")
    ap.add_argument("--max-seconds", type=float, default=180)
    args = ap.parse_args()
    from matcher.config import Settings
    from matcher.search.embed import get_embedder

    embedder = get_embedder(Settings(), cached=False)
    rows, failed = [], False
    for workers in (int(w) for w in args.workers.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            out, stored = (run_in_process(Path(tmp), embedder, args) if workers == 1
                           else run_workers(Path(tmp), embedder, workers, args))
        lost = set(out["acknowledged"]) - set(stored)
        dup = len(stored) - len(set(stored))
        failed |= bool(lost or dup or len(stored) != len(out["acknowledged"]))
        rows.append((workers, out, len(stored), len(lost), dup))
    print(f"\n{args.clients} concurrent clients on loopback, {os.cpu_count()} cores")
    print(f"{'workers':>7} {'store':10} {'endpoint':28} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p95/target':>10}")
    for workers, out, _, _, _ in rows:
        store = "SQLite" if workers == 1 else "PostgreSQL"
        for name, path in (("shortlist", "POST /api/needs/{id}/shortlist"), ("decision", "POST /api/decisions")):
            lat = out["latencies"][name]
            if lat:
                p95 = np.percentile(lat, 95)
                ratio = f"{p95 / TARGET_P95_MS:10.2f}" if name == "shortlist" else " " * 10
                print(f"{workers:7d} {store:10} {path:28} {len(lat):8d} {len(lat) / out['seconds'][name]:7.1f} "
                      f"{np.percentile(lat, 50):7.1f} {p95:7.1f} {ratio}")
    for workers, out, stored, lost, dup in rows:
        print(f"workers {workers}: decisions acknowledged {len(out['acknowledged'])}, stored {stored}, lost {lost}, "
              f"duplicated {dup}, errors {len(out['errors'])}")
    print(f"target: shortlist p95 ≤ {TARGET_P95_MS} ms with {args.clients} clients")
    if failed:
        raise SystemExit("decisions were lost or duplicated")


if __name__ == "__main__":
    main()
