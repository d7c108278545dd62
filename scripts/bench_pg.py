"""PostgreSQL at national scale: bulk imports against SQLite, and the desk's queries at 400k orgs.

1. The same 100,000-organisation CSV is imported through the product's import job into a fresh
   SQLite file (the baseline) and into a fresh PostgreSQL database (COPY for new rows); the ratio
   is PostgreSQL's time over SQLite's.
2. PostgreSQL is then filled to ``--orgs`` organisations (further 100k files through the same
   job), 10 % of them with a need, and suggestions with decisions for the needs' shortlists
   (written directly: they are the desk's history, not what is measured).
3. The queries the desk runs are timed at that size: the organisation list search, the needs
   list, the public directory (one and two words, with filters, without words) and a need's
   history, each over ``--queries`` different words or needs, ``--passes`` times; the same
   queries on the SQLite baseline (100k) are timed beside them.

Organisation texts are real Japanese sentences (JSQuAD, JSTS, KAKEN, JSIC examples, demo) so the
words' frequencies are those of real text, with process and equipment tags of a job shop's.

    python scripts/bench_pg.py [--import-rows 100000] [--orgs 400000] [--queries 30] [--passes 3]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench_ann import real_texts  # noqa: E402
from scripts.benchlib import cpu_model  # noqa: E402

ADMIN = os.environ.get("MATCHER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TARGET_MS = 200.0
HEADER = ["企業ID", "企業名", "種別", "所在地", "従業員数", "業種コード", "加工・技術", "主要設備", "認証", "技術紹介",
          "実績", "メール", "メール配信", "公開", "架空"]
PROCESSES = ["切削", "研削", "旋盤加工", "フライス加工", "板金", "溶接", "レーザー加工", "プレス", "めっき", "熱処理",
             "塗装", "樹脂成形", "金型", "鋳造", "鍛造", "基板実装", "組立", "検査", "放電加工", "表面処理"]
EQUIPMENT = ["マシニングセンタ", "NC旋盤", "五軸加工機", "ワイヤー放電加工機", "三次元測定機", "ファイバーレーザー",
             "ベンディングマシン", "射出成形機", "真空炉", "TIG溶接機"]
CERTS = ["ISO9001", "ISO14001", "JISQ9100", "ISO13485", "IATF16949"]
CITIES = ["日野市", "八王子市", "立川市", "町田市", "府中市", "川崎市", "相模原市", "大田区", "横浜市", "さいたま市"]
WORDS = ["切削", "溶接", "研削", "めっき", "板金", "金型", "熱処理", "樹脂", "ステンレス", "アルミ", "チタン", "精密",
         "測定", "医療", "半導体", "自動車", "航空", "試作", "レーザー", "センサ", "材料", "表面", "検査", "組立",
         "マシニングセンタ", "ISO13485", "鋳造", "電池", "ロボット", "光学"]


def sentences(limit: int = 60_000) -> list[str]:
    docs, _ = real_texts()
    out = [d for d in dict.fromkeys(docs) if 15 <= len(d) <= 240]
    return out[:limit]


def write_orgs(path: Path, start: int, n: int, pool: list[str], seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i in range(start, start + n):
            procs = rng.sample(PROCESSES, rng.randint(1, 4))
            w.writerow([f"P{i:07d}", f"ベンチ{i}工業（架空）", "企業", rng.choice(CITIES), rng.randint(3, 300),
                        rng.choice(["2452", "2599", "2194", "2811", "3011"]), ";".join(procs),
                        "、".join(rng.sample(EQUIPMENT, 2)), ";".join(rng.sample(CERTS, rng.randint(0, 2))),
                        "".join(rng.sample(pool, 2)), rng.choice(pool), f"p{i}@example.jp", "はい",
                        "はい" if rng.random() < 0.9 else "いいえ", "はい"])


def write_needs(path: Path, org_ids: list[str], pool: list[str], seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["案件ID", "企業ID", "件名", "内容", "必要工程", "公開", "架空"])
        for i, org in enumerate(org_ids):
            w.writerow([f"PN{i:07d}", org, rng.choice(pool)[:60], rng.choice(pool),
                        ";".join(rng.sample(PROCESSES, 2)), "はい", "はい"])


def fresh_pg() -> tuple[str, str]:
    """A database of its own on the local server: (SQLAlchemy URL, name)."""
    import psycopg

    name = f"matcher_bench_{os.getpid()}"
    with psycopg.connect(ADMIN.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return ADMIN.rsplit("/", 1)[0] + f"/{name}", name


def drop_pg(name: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def timed_import(engine, path: Path, kind: str) -> float:
    from matcher.exchange.catalog import import_file

    t = time.perf_counter()
    report = import_file(engine, path, kind)
    secs = time.perf_counter() - t
    if report.errors or not report.inserted:
        raise SystemExit(f"{path.name}: {report.inserted} inserted, errors {report.errors[:3]}")
    return secs


def fill_history(engine, per_need: int = 10, decided: float = 0.3, seed: int = 0) -> int:
    """Shortlists of ``per_need`` organisations for every need, a coordinator's verdict on some."""
    from sqlmodel import select

    from matcher.dates import utcnow
    from matcher.store.db import bulk_insert, session_scope
    from matcher.store.tables import Decision, Need, Organization, Suggestion

    rng = random.Random(seed)
    now = utcnow()
    with session_scope(engine) as s:
        needs = s.exec(select(Need.id, Need.org_id)).all()
        orgs = s.exec(select(Organization.id)).all()
        rows = []
        for i, (need_id, requester) in enumerate(needs):
            for rank, cand in enumerate(rng.sample(orgs, per_need), start=1):
                rows.append({"run_id": f"bench-{i // 100}", "query_type": "need", "query_id": need_id,
                             "candidate_type": "organization", "candidate_id": cand, "requester_org_id": requester,
                             "candidate_org_id": cand, "kind": "partner", "rank": rank, "score": 1.0 / rank,
                             "model_version": "cold-start-v1", "features": {}, "members": None,
                             "explanation": "工程が一致", "detail": None, "drivers": None, "covered": None,
                             "created_at": now})
        bulk_insert(s, Suggestion, rows)
        ids = s.exec(select(Suggestion.id)).all()
        bulk_insert(s, Decision, [{"suggestion_id": sid, "kind": "coordinator", "verdict": rng.choice(["accept", "reject"]),
                                   "comment": None, "reason": None, "coordinator": "bench@example.jp", "org_id": None,
                                   "decided_at": now, "created_at": now}
                                  for sid in ids if rng.random() < decided])
    return len(rows)


def desk_queries(engine, need_ids: list[int], n: int) -> dict[str, list[Callable[[], object]]]:
    from matcher.services.directory import directory_search, search_needs, search_organizations
    from matcher.services.suggestions import need_history

    words = WORDS[:n]
    pairs = [f"{a} {b}" for a, b in zip(words, words[1:] + words[:1], strict=True)]
    return {
        "organisation list (1 word)": [lambda w=w: search_organizations(engine, w) for w in words],
        "needs list (1 word)": [lambda w=w: search_needs(engine, w) for w in words],
        "directory (1 word)": [lambda w=w: directory_search(engine, w) for w in words],
        "directory (2 words)": [lambda w=w: directory_search(engine, w) for w in pairs],
        "directory (word + city + process)": [
            lambda w=w, c=c: directory_search(engine, w, city=c, process="切削")
            for w, c in zip(words, CITIES * 4, strict=False)],
        "directory (no words, page 1–5)": [lambda p=p: directory_search(engine, "", page=p) for p in range(1, 6)],
        "need history": [lambda i=i: need_history(engine, i) for i in need_ids[:n]],
    }


def time_all(queries: dict[str, list[Callable[[], object]]], passes: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for name, calls in queries.items():
        calls[0]()  # warm (the facet cache, the plan cache)
        ms = []
        for _ in range(passes):
            for call in calls:
                t = time.perf_counter()
                call()
                ms.append((time.perf_counter() - t) * 1000)
        out[name] = ms
    return out


def p95(ms: list[float]) -> float:
    return statistics.quantiles(ms, n=20, method="inclusive")[-1] if len(ms) >= 2 else ms[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--import-rows", type=int, default=100_000)
    ap.add_argument("--orgs", type=int, default=400_000)
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--passes", type=int, default=3)
    args = ap.parse_args()
    from sqlalchemy import func, text
    from sqlmodel import select

    from matcher.store.db import get_engine, session_scope, upgrade
    from matcher.store.tables import Document, Need, Organization

    pool = sentences()
    n = args.import_rows
    url, dbname = fresh_pg()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            first = tmp / "orgs_0.csv"
            write_orgs(first, 0, n, pool, seed=0)
            lite = get_engine(f"sqlite:///{tmp / 'bench.sqlite'}")
            pg = get_engine(url)
            upgrade(lite)
            upgrade(pg)
            print(f"importing {n:,} organisations into SQLite and PostgreSQL …", file=sys.stderr)
            lite_s = timed_import(lite, first, "organizations")
            pg_s = timed_import(pg, first, "organizations")
            more = []
            for k, start in enumerate(range(n, args.orgs, n), start=1):
                path = tmp / f"orgs_{k}.csv"
                write_orgs(path, start, min(n, args.orgs - start), pool, seed=k)
                print(f"PostgreSQL: organisations {start:,}–{min(args.orgs, start + n):,} …", file=sys.stderr)
                more.append(timed_import(pg, path, "organizations"))
                path.unlink()
            with session_scope(pg) as s:
                ext = s.exec(select(Organization.external_id).order_by(Organization.id)).all()
            rng = random.Random(1)
            needs_csv = tmp / "needs.csv"
            write_needs(needs_csv, sorted(rng.sample(ext, len(ext) // 10)), pool, seed=2)
            needs_s = timed_import(pg, needs_csv, "needs")
            lite_needs = tmp / "needs_lite.csv"
            write_needs(lite_needs, sorted(rng.sample(ext[:n], n // 10)), pool, seed=3)
            timed_import(lite, lite_needs, "needs")
            print("history …", file=sys.stderr)
            suggestions = fill_history(pg)
            fill_history(lite)
            with pg.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
            counts, need_ids = {}, {}
            for name, eng in (("pg", pg), ("lite", lite)):
                with session_scope(eng) as s:
                    counts[name] = tuple(s.exec(select(func.count()).select_from(m)).one() for m in (Organization, Document))
                    need_ids[name] = list(s.exec(select(Need.id).order_by(Need.id)))
            print("timing the desk's queries …", file=sys.stderr)
            pg_ms = time_all(desk_queries(pg, random.Random(4).sample(need_ids["pg"], args.queries), args.queries),
                             args.passes)
            lite_ms = time_all(desk_queries(lite, random.Random(4).sample(need_ids["lite"], args.queries),
                                            args.queries), args.passes)
            lite.dispose()
            pg.dispose()
    finally:
        drop_pg(dbname)

    print(f"\nPostgreSQL at scale — {cpu_model()}, {os.cpu_count()} cores")
    print(f"\nimport of {n:,} organisations through the import job (same file, fresh stores)")
    print(f"{'store':34} {'seconds':>8} {'rows/s':>8} {'× SQLite':>9}")
    print(f"{'SQLite (baseline)':34} {lite_s:8.1f} {n / lite_s:8.0f} {1.0:9.2f}")
    print(f"{'PostgreSQL (COPY)':34} {pg_s:8.1f} {n / pg_s:8.0f} {pg_s / lite_s:9.2f}   target ≤ 2.00")
    for k, secs in enumerate(more, start=1):
        label = f"PostgreSQL, next {n:,} (now {(k + 1) * n:,})"
        print(f"{label:34} {secs:8.1f} {n / secs:8.0f} {secs / lite_s:9.2f}")
    print(f"PostgreSQL: {len(need_ids['pg']):,} needs imported in {needs_s:.1f} s; {suggestions:,} suggestions")
    print(f"stores: PostgreSQL {counts['pg'][0]:,} organisations / {counts['pg'][1]:,} documents; "
          f"SQLite {counts['lite'][0]:,} / {counts['lite'][1]:,}")
    print(f"\ndesk queries, ms over {args.queries} words or needs × {args.passes} passes "
          f"(target p95 ≤ {TARGET_MS:.0f} ms on PostgreSQL at {args.orgs:,})")
    print(f"{'query':36} {'PG p50':>8} {'PG p95':>8} {'PG max':>8} {'SQLite p95':>11} {'ratio':>6}  met")
    for name, ms in pg_ms.items():
        base = p95(lite_ms[name])
        print(f"{name:36} {statistics.median(ms):8.1f} {p95(ms):8.1f} {max(ms):8.1f} {base:11.1f} "
              f"{p95(ms) / base:6.2f}  {'yes' if p95(ms) <= TARGET_MS else 'NO'}")


if __name__ == "__main__":
    main()
