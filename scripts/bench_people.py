"""人材 matching on the demo, judged from outside the ranker, and the advisory batch against greedy.

A person is judged relevant to a need when one of their 専門分野 (as written, two characters or
more) occurs in the need's title, text or required processes — plain string matching, not the
process tags the ranker's coverage feature uses. Two orders of each need's people: ``cosine``
(the e5 cosine alone) and ``score`` (the ranker). Printed: mean precision@3 and how many needs
have a relevant person first.

The batch (k advisors per need, each person within ⌊hours / hours per engagement⌋): the exact
min-cost-flow assignment against a greedy baseline measured in the same run (needs in id order,
each taking its best people who still have hours), total score and engagements filled.

    python scripts/bench_people.py [--k 2] [--hours 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def relevant(need_text: str, required: list[str], person) -> bool:
    return any(len(w) > 1 and (w in need_text or any(w in r or r in w for r in required))
               for w in person.specialities)


def greedy(scores: dict[int, list[tuple[int, float]]], k: int, capacity: dict[int, int], min_score: float):
    left = dict(capacity)
    total, filled = 0.0, 0
    for need in sorted(scores):
        taken = 0
        for person, score in sorted(scores[need], key=lambda ps: (-ps[1], ps[0])):
            if taken == k or score < min_score:
                break
            if left.get(person, 0) > 0:
                left[person] -= 1
                taken += 1
                total += score
                filled += 1
    return total, filled


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=2)
    ap.add_argument("--hours", type=int, default=10)
    ap.add_argument("--min-score", type=float, default=0.4)
    args = ap.parse_args()

    from matcher.config import Settings
    from matcher.search.embed import get_embedder
    from matcher.services.context import load_context
    from matcher.services.shortlists import query_vector
    from matcher.solve import advisors
    from matcher.store.db import get_engine
    from matcher.store.tables import split_list
    from scripts.bench_feedback import Shell, demo_store

    with tempfile.TemporaryDirectory() as tmp:
        data = demo_store(Path(tmp) / "demo")
        Shell(data)("ingest", str(ROOT / "corpora" / "demo" / "people.csv"), "--kind", "people")
        settings = Settings(data_dir=data)
        ctx = load_context(get_engine(settings.sqlalchemy_url), settings, get_embedder(settings))
        precision = {"cosine": [], "score": []}
        first = {"cosine": 0, "score": 0}
        scores: dict[int, list[tuple[int, float]]] = {}
        open_needs = sorted((n for n in ctx.needs.values() if n.status == "open"), key=lambda n: n.id)
        for need in open_needs:
            query = ctx.need_party(need)
            edges = ctx.edges.rank(query, "person", query_vector(ctx, query)).edges
            scores[need.id] = [(e.candidate.id, e.score) for e in edges]
            text, required = f"{need.title}\n{need.text}", split_list(need.required_processes)
            orders = {"cosine": sorted(edges, key=lambda e: (-e.features.get("dense_max", 0.0), e.candidate.id)),
                      "score": sorted(edges, key=lambda e: (-e.score, e.candidate.id))}
            for name, order in orders.items():
                top = [relevant(text, required, e.candidate) for e in order[:3]]
                precision[name].append(sum(top) / 3)
                first[name] += bool(top and top[0])
        n = len(open_needs)
        print(f"{ctx.edges.model_version}: {len(ctx.person_parties)} consenting people, {n} open needs")
        print("| order | precision@3 | relevant person first |")
        print("|---|---|---|")
        for name in ("cosine", "score"):
            print(f"| {name} | {sum(precision[name]) / n:.3f} | {first[name]} of {n} |")

        capacity = {p: advisors.engagements(party.hours_per_month, args.hours) for p, party in ctx.person_parties.items()}
        started = time.perf_counter()
        exact = advisors.solve(advisors.AdvisorProblem(scores, args.k, capacity, args.min_score))
        exact_s = time.perf_counter() - started
        started = time.perf_counter()
        g_total, g_filled = greedy(scores, args.k, capacity, args.min_score)
        greedy_s = time.perf_counter() - started
        filled = sum(len(v) for v in exact.value.chosen.values())
        print(f"\nbatch: k={args.k}, {args.hours} h per engagement, min score {args.min_score}")
        print("| assignment | total score | engagements | seconds |")
        print("|---|---|---|---|")
        print(f"| greedy (needs in id order) | {g_total:.3f} | {g_filled} | {greedy_s:.4f} |")
        print(f"| exact (min-cost flow) | {exact.value.total:.3f} | {filled} | {exact_s:.4f} |")
        print(f"ratio exact / greedy total: {exact.value.total / g_total:.4f}" if g_total else "greedy assigned nothing")


if __name__ == "__main__":
    main()
