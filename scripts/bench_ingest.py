"""Ingest throughput for 10,000 organisations: parse only (baseline), store, store + embed + index.

All three are measured in this run on a fresh temporary data directory (SQLite) and an empty
embedding cache; the ratio column is throughput relative to parse-only.
Usage: python scripts/bench_ingest.py [--rows 10000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADER = "企業ID,企業名,種別,所在地,従業員数,業種コード,加工・技術,主要設備,認証,技術紹介,メール,メール配信\n"
PROCS = ["切削", "研削", "板金", "溶接", "めっき", "熱処理", "樹脂成形", "基板実装", "塗装", "プレス"]
MATS = ["ステンレス", "アルミニウム", "チタン", "真鍮", "樹脂", "SPCC"]


def synthetic_csv(path: Path, n: int) -> None:
    rng = random.Random(0)
    with path.open("w", encoding="utf-8") as fh:
        fh.write(HEADER)
        for i in range(n):
            procs = rng.sample(PROCS, 3)
            mats = rng.sample(MATS, 2)
            profile = (f"{'・'.join(mats)}の{procs[0]}を中心に、{procs[1]}と{procs[2]}にも対応します。"
                       f"公差±0.0{rng.randint(1, 9)}mm、{rng.randint(1, 500)}個からの小ロットに対応。")
            fh.write(f"B{i:06d},ベンチ{i}工業（架空）,企業,日野市,{rng.randint(3, 300)},2599,{';'.join(procs)},"
                     f"マシニングセンタ {rng.randint(1, 5)}台,ISO9001,{profile},b{i}@example.jp,はい\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000)
    args = ap.parse_args()
    from matcher.config import Settings
    from matcher.exchange.catalog import import_file
    from matcher.exchange.ingest import parse_file
    from matcher.search.embed import CachedEmbedder, EmbeddingCache, get_embedder
    from matcher.search.indexing import sync_indexes
    from matcher.store.db import get_engine, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv_path = tmp / "orgs.csv"
        synthetic_csv(csv_path, args.rows)
        settings = Settings(data_dir=tmp / "data")
        settings.ensure_dirs()
        engine = get_engine(settings.sqlalchemy_url)
        upgrade(engine)
        embedder = CachedEmbedder(get_embedder(settings, cached=False), EmbeddingCache(tmp / "cache.sqlite"))

        t = time.perf_counter()
        parse_file(csv_path, "organizations")
        parse_s = time.perf_counter() - t
        t = time.perf_counter()
        report = import_file(engine, csv_path, "organizations")
        store_s = time.perf_counter() - t
        assert report.inserted == args.rows
        t = time.perf_counter()
        sync = sync_indexes(engine, settings, embedder)
        index_s = time.perf_counter() - t
        t = time.perf_counter()
        again = import_file(engine, csv_path, "organizations")
        sync_indexes(engine, settings, embedder)
        reimport_s = time.perf_counter() - t
        assert again.unchanged == args.rows

    n = args.rows
    rows = [("parse + validate only (baseline)", parse_s), ("ingest into SQLite", store_s),
            ("ingest + embed + index", store_s + index_s), ("re-import unchanged + index check", reimport_s)]
    print(f"\n{n} organisations, {sync.documents} documents ({sync.embedded} embedded)")
    print(f"{'step':36} {'seconds':>8} {'rows/s':>9} {'×baseline':>9}")
    for name, secs in rows:
        print(f"{name:36} {secs:8.2f} {n / secs:9.0f} {parse_s / secs:9.2f}")


if __name__ == "__main__":
    main()
