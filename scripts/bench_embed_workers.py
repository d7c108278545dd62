"""Embedding spread over RQ workers: wall time of one index job with 1 and with 2 `matcher worker`s.

The demo corpus (organisations, needs, local seeds and the 1,538 KAKEN seeds: about 2,300
documents) is imported into a fresh store, and one index job is queued on Redis; the job cuts its
embedding into chunk jobs (``MATCHER_EMBED_CHUNK_TEXTS``) that every running `matcher worker`
takes (the job itself embeds what nobody took within a second). Timed from submitting the job to
its end: embedding, storing the vectors and building the index version. No embedding cache is
shared between runs (each run has its own data directory). The baseline is one worker, measured
in the same run; each worker gets ``--threads`` compute threads (default: cores ÷ workers, so
both runs use the whole machine).
Usage: python scripts/bench_embed_workers.py [--chunk 200] [--workers 1 2] [--redis redis://127.0.0.1:6379/15]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.benchlib import cpu_model  # noqa: E402

MATCHER = str(Path(sys.executable).parent / "matcher")


def one_run(workers: int, chunk: int, redis_url: str, threads: int | None) -> tuple[float, int, int]:
    from redis import Redis
    from sqlmodel import select

    from matcher.config import Settings
    from matcher.exchange.catalog import import_file
    from matcher.infra.jobs import JobRunner
    from matcher.services.demo import demo_files
    from matcher.services.jobs import EMBED_KIND, HANDLER, KIND
    from matcher.store.db import get_engine, session_scope, upgrade
    from matcher.store.tables import Job

    Redis.from_url(redis_url).flushdb()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", redis_url=redis_url, embed_chunk_texts=chunk)
        settings.ensure_dirs()
        engine = get_engine(settings.sqlalchemy_url)
        upgrade(engine)
        for path, kind, defaults in demo_files(settings):
            import_file(engine, path, kind, defaults=defaults)
        env = {**os.environ, "MATCHER_DATA_DIR": str(settings.data_dir), "MATCHER_REDIS_URL": redis_url,
               "MATCHER_EMBED_CHUNK_TEXTS": str(chunk),
               "MATCHER_THREADS": str(threads or max(1, (os.cpu_count() or 1) // workers))}
        procs = [subprocess.Popen([MATCHER, "worker"], env=env, start_new_session=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
        try:
            time.sleep(8)  # every worker up and waiting on the queue (the embedder loads per job)
            started = time.perf_counter()
            job = JobRunner(engine, settings).submit(KIND, HANDLER, {"reason": "bench"}, subject="index",
                                                     coalesce_key="index")
            while True:
                with session_scope(engine) as s:
                    state = s.get(Job, job.id).state
                if state not in ("queued", "running"):
                    break
                time.sleep(0.2)
            wall = time.perf_counter() - started
            with session_scope(engine) as s:
                final = s.get(Job, job.id)
                chunks = s.exec(select(Job).where(Job.kind == EMBED_KIND)).all()
            t0 = final.started_at
            for c in sorted(chunks, key=lambda c: c.started_at or t0):
                print(f"  chunk {c.id} {c.state} {c.worker} start +{(c.started_at - t0).total_seconds():.1f}s "
                      f"end +{(c.finished_at - t0).total_seconds():.1f}s", file=sys.stderr)
            print(f"  index job: queued→start {(final.started_at - final.created_at).total_seconds():.1f}s, "
                  f"run {(final.finished_at - final.started_at).total_seconds():.1f}s", file=sys.stderr)
            if final.state != "done":
                raise SystemExit(f"index job ended {final.state}: {final.error_detail}")
            return wall, final.total, len({c.worker for c in chunks if c.state == "done"})
        finally:
            for p in procs:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunk", type=int, default=200)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = ap.parse_args()
    print(f"machine: {cpu_model()}; chunks of {args.chunk} documents", file=sys.stderr)
    print("| workers | documents | wall s | documents/s | processes that embedded | speed-up vs 1 worker |")
    print("|---|---|---|---|---|---|")
    base = None
    for n in args.workers:
        wall, docs, procs = one_run(n, args.chunk, args.redis, args.threads)
        base = base or wall
        print(f"| {n} | {docs:,} | {wall:.1f} | {docs / wall:.1f} | {procs} | {base / wall:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
