"""The PostgreSQL benchmark runs end to end at a small size and reports every figure it claims."""

import subprocess
import sys

from tests.support import ROOT, require_pg


def test_bench_pg_imports_fills_and_times_every_desk_query():
    require_pg("the PostgreSQL benchmark smoke test")
    out = subprocess.run([sys.executable, "scripts/bench_pg.py", "--import-rows", "400", "--orgs", "800",
                          "--queries", "3", "--passes", "1"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    report = out.stdout
    assert "PostgreSQL (COPY)" in report and "SQLite (baseline)" in report
    assert "stores: PostgreSQL 800 organisations / 3,280 documents; SQLite 400 / 1,640" in report
    for query in ("organisation list (1 word)", "needs list (1 word)", "directory (1 word)", "directory (2 words)",
                  "directory (word + city + process)", "directory (no words, page 1–5)", "need history"):
        assert query in report
