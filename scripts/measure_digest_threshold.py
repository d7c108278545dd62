"""What share of the demo's opted-in companies get at least one of their own suggested
collaborators in a `matcher digest send --suggest` run, per threshold (MATCHER_DIGEST_MIN_SCORE).

    python scripts/measure_digest_threshold.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    import numpy as np

    from matcher.config import Settings
    from matcher.search.embed import get_embedder
    from matcher.services.context import load_context
    from matcher.services.shortlists import shortlist_org
    from matcher.store.db import get_engine
    from scripts.bench_feedback import demo_store

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=demo_store(Path(tmp) / "demo"))
        ctx = load_context(get_engine(settings.sqlalchemy_url), settings, get_embedder(settings))
        opted = [o for o in ctx.orgs.values() if o.email and o.email_opt_in and o.kind == "company"]
        best = np.array([max((e.score for e in shortlist_org(ctx, o.id, k=3, store=False).candidates), default=0.0)
                         for o in opted])
    print(f"{len(opted)} opted-in companies; best own match p10 {np.percentile(best, 10):.3f}, "
          f"p50 {np.percentile(best, 50):.3f}, p90 {np.percentile(best, 90):.3f}, max {best.max():.3f}")
    print(f"{'threshold':>9} {'companies with ≥ 1':>18} {'share':>6}")
    for th in (0.6, 0.55, 0.5, 0.45):
        n = int((best >= th).sum())
        print(f"{th:9.2f} {n:18d} {n / len(opted):6.1%}")


if __name__ == "__main__":
    main()
