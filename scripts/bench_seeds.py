"""Research matches (ニーズ・シーズ) as the product ranks them, judged from outside the ranker.

On the demo with the 1,538 KAKEN seeds: each need's seed candidates in the scorer's order (what
`shortlist --kind seeds` lists). A seed is judged
relevant to a need when they share a required process (JSIC-derived process tags) or a seed
keyword occurs in the need's text. Two orders: ``cosine`` (before: the e5 cosine alone, as the
類似度 column read) and ``score`` (after: the ranker). Printed for each: mean precision@5; on how many needs a relevant local
(fictional) seed ranks above every irrelevant KAKEN seed; and how the irrelevant seeds in the top 5
read as 適合度.

    python scripts/bench_seeds.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def is_kaken(seed) -> bool:
    return (seed.url or "").startswith("https://kaken.nii.ac.jp/")


def relevant(need, seed) -> bool:
    return bool(set(seed.processes) & set(need.required)) or any(len(w) > 1 and w in need.text for w in seed.keywords)


def main() -> None:
    import numpy as np

    from matcher.config import Settings
    from matcher.labels import fit_label
    from matcher.search.embed import get_embedder
    from matcher.services.context import load_context
    from matcher.services.shortlists import query_vector
    from matcher.store.db import get_engine
    from scripts.bench_feedback import Shell, demo_store

    with tempfile.TemporaryDirectory() as tmp:
        data = demo_store(Path(tmp) / "demo")
        Shell(data)("ingest", str(ROOT / "corpora" / "kaken" / "seeds.jsonl"), "--kind", "seeds")
        settings = Settings(data_dir=data)
        ctx = load_context(get_engine(settings.sqlalchemy_url), settings, get_embedder(settings))
        rows: dict[str, list[float]] = {"cosine": [], "score": []}
        local_first = {"cosine": 0, "score": 0}
        labels: dict[str, list[str]] = {"cosine": [], "score": []}
        eligible = 0
        for need in sorted(ctx.needs.values(), key=lambda n: n.id):
            query = ctx.need_party(need)
            edges = ctx.edges.rank(query, "seed", query_vector(ctx, query)).edges
            # Before: the seeds in the order of their e5 cosine alone (the 類似度 a coordinator saw,
            # 0.84–0.90 for every KAKEN seed), read through the same bands; after: the ranker's score.
            orders = {"cosine": sorted(edges, key=lambda e: (-e.features.get("dense_max", 0.0), e.candidate.id)),
                      "score": sorted(edges, key=lambda e: (-e.score, e.candidate.id))}
            shown = {"cosine": lambda e: e.features.get("dense_max", 0.0), "score": lambda e: e.score}
            local_rel = [e for e in edges if not is_kaken(e.candidate) and relevant(query, e.candidate)]
            eligible += bool(local_rel)
            for name, order in orders.items():
                top = order[:5]
                rows[name].append(sum(relevant(query, e.candidate) for e in top) / 5)
                for e in top:
                    if not relevant(query, e.candidate):
                        labels[name].append(fit_label(shown[name](e)))
                if local_rel:
                    pos = {e.candidate.id: i for i, e in enumerate(order)}
                    best_local = min(pos[e.candidate.id] for e in local_rel)
                    bad_kaken = [pos[e.candidate.id] for e in order
                                 if is_kaken(e.candidate) and not relevant(query, e.candidate)]
                    local_first[name] += best_local < min(bad_kaken, default=len(order))
    print(f"{len(rows['score'])} demo needs, {len(ctx.seeds)} seeds (KAKEN and local)")
    print(f"{'ranking':>8} {'P@5':>6} {'local relevant seed above every irrelevant KAKEN seed':>55} "
          f"{'irrelevant in top 5 read as 高/中/低':>36}")
    for name in rows:
        lab = labels[name]
        dist = "/".join(str(lab.count(x)) for x in ("高", "中", "低"))
        print(f"{name:>8} {np.mean(rows[name]):6.3f} {f'{local_first[name]} of {eligible}':>55} {dist:>36}")


if __name__ == "__main__":
    main()
