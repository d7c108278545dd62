"""Load on loopback: concurrent clients hit the shortlist and decision endpoints of a live server.

Starts the service on a free 127.0.0.1 port over a temporary copy of the demo store (fictional
organisations, needs, seeds), runs a bounded number of requests from N client threads, prints
requests/s and p50/p95 per endpoint, then checks in the database that every decision the clients
got a 201 for is stored exactly once.
Usage: python scripts/bench_api.py [--clients 8] [--requests 200] [--max-seconds 120]
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=200, help="decision requests in total")
    ap.add_argument("--shortlists", type=int, default=40, help="shortlist requests in total")
    ap.add_argument("--max-seconds", type=float, default=120)
    args = ap.parse_args()
    import httpx
    import uvicorn
    from sqlmodel import select

    from api.app import create_app
    from matcher.search.embed import get_embedder
    from matcher.services.auth import create_user
    from matcher.store.db import session_scope
    from matcher.store.tables import Decision
    from scripts.bench_feedback import build_demo

    with tempfile.TemporaryDirectory() as tmp:
        from matcher.config import Settings

        embedder = get_embedder(Settings(), cached=False)
        engine, settings, _ = build_demo(Path(tmp), embedder)
        create_user(engine, "bench@example.jp", "coordinator", "bench-password-123")
        app = create_app(settings)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        token = httpx.post(f"{base}/api/token", json={"email": "bench@example.jp", "password": "bench-password-123"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + args.max_seconds
        latencies: dict[str, list[float]] = {"shortlist": [], "decision": []}
        accepted_ids: list[int] = []
        suggestion_ids: list[int] = []
        lock = threading.Lock()
        errors: list[str] = []

        def shortlist_worker(worker: int) -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
                for i in range(worker, args.shortlists, args.clients):
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
            with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
                for i in range(worker, args.requests, args.clients):
                    if time.monotonic() > deadline:
                        return
                    sid = suggestion_ids[i % len(suggestion_ids)]
                    t = time.perf_counter()
                    r = c.post("/api/decisions", json={"suggestion_id": sid, "verdict": "accept" if i % 2 else "reject"})
                    with lock:
                        latencies["decision"].append(1000 * (time.perf_counter() - t))
                        if r.status_code == 201:
                            accepted_ids.append(r.json()["decision_id"])
                        else:
                            errors.append(f"decision {r.status_code}")

        results = {}
        for name, worker in (("shortlist", shortlist_worker), ("decision", decision_worker)):
            threads = [threading.Thread(target=worker, args=(w,)) for w in range(args.clients)]
            t = time.perf_counter()
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            results[name] = time.perf_counter() - t
        server.should_exit = True
        with session_scope(engine) as s:
            stored = [d.id for d in s.exec(select(Decision))]

    print(f"\n{args.clients} concurrent clients on loopback")
    print(f"{'endpoint':28} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7}")
    for name, path in (("shortlist", "POST /api/needs/{id}/shortlist"), ("decision", "POST /api/decisions")):
        lat = latencies[name]
        if lat:
            print(f"{path:28} {len(lat):8d} {len(lat) / results[name]:7.1f} {np.percentile(lat, 50):7.1f} "
                  f"{np.percentile(lat, 95):7.1f}")
    lost = set(accepted_ids) - set(stored)
    dup = len(stored) - len(set(stored))
    print(f"decisions acknowledged {len(accepted_ids)}, stored {len(stored)}, lost {len(lost)}, duplicated {dup}, "
          f"errors {len(errors)}")
    if lost or dup or len(stored) != len(accepted_ids):
        raise SystemExit("decisions were lost or duplicated")


if __name__ == "__main__":
    main()
