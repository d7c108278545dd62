"""The group solver against a greedy baseline: generated weighted set-cover instances (OR-Library
style, up to 300 rows × 3,000 columns) and the demo's joint-order group problems.

Prints, per instance: the exact solver's cost, its status and proven gap, its time; the greedy
cost and its gap to the solver's lower bound. Usage:
    python scripts/bench_groups.py [--seconds 60] [--skip-demo]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = [(50, 500), (100, 1000), (200, 2000), (300, 3000)]


def generate(rows: int, cols: int, density: float = 0.02, seed: int = 0):
    """Beasley's recipe: each row covered by ≥ 2 random columns, each column covers ≥ 1 row, costs 1–100."""
    from matcher.solve.setcover import SetCoverInstance

    rng = random.Random(seed)
    cover = [set(rng.sample(range(cols), max(2, int(density * cols)))) for _ in range(rows)]
    for c in range(cols):
        if not any(c in r for r in cover):
            cover[rng.randrange(rows)].add(c)
    return SetCoverInstance(tuple(rng.randint(1, 100) for _ in range(cols)), tuple(tuple(sorted(r)) for r in cover))


def set_cover_table(seconds: float) -> None:
    from matcher.solve.setcover import greedy_set_cover, solve

    print(f"\nweighted set cover (CP-SAT {seconds:.0f} s limit) vs greedy (Chvátal + redundancy removal)")
    print(f"{'rows×cols':>10} {'exact cost':>10} {'status':>8} {'bound':>8} {'proven gap':>10} {'exact s':>8} "
          f"{'greedy cost':>11} {'vs exact':>9} {'greedy s':>8}")
    for rows, cols in SIZES:
        inst = generate(rows, cols, seed=rows)
        exact = solve(inst, seconds)
        greedy = greedy_set_cover(inst)
        print(f"{rows:>4}×{cols:<5} {exact.objective:10.0f} {exact.status:>8} {exact.bound or 0:8.1f} "
              f"{exact.gap or 0:10.2%} {exact.seconds:8.2f} {greedy.objective:11.0f} "
              f"{(greedy.objective - exact.objective) / exact.objective:+9.2%} {greedy.seconds:8.3f}")


def greedy_group(problem):
    """The baseline for groups: cheapest cover where a firm costs the member cost minus its score."""
    from matcher.solve.setcover import SetCoverInstance, greedy_set_cover

    cands = list(problem.candidates)
    rows = tuple(tuple(i for i, c in enumerate(cands) if p in c.covers) for p in problem.required)
    inst = SetCoverInstance(tuple(max(1, problem.member_cost + 1000 - c.score) for c in cands), rows)
    chosen = [cands[i].id for i in greedy_set_cover(inst).value]
    return chosen if problem.feasible(chosen) else None


def demo_table(seconds: float) -> None:
    import tempfile

    from matcher.config import Settings
    from matcher.search.embed import get_embedder
    from matcher.services.context import load_context
    from matcher.services.groups import build_problem
    from matcher.services.shortlists import query_vector
    from matcher.solve.groups import k_best
    from scripts.bench_feedback import build_demo

    with tempfile.TemporaryDirectory() as tmp:
        engine, settings, cached = build_demo(Path(tmp), get_embedder(Settings(), cached=False))
        ctx = load_context(engine, settings, cached)
        print("\njoint-order groups on the demo needs (≥ 2 required processes; pool ≤ 40 firms, size ≤ 5)")
        print(f"{'need':>6} {'procs':>5} {'pool':>4} {'exact obj':>9} {'status':>8} {'exact ms':>8} "
              f"{'greedy obj':>10} {'greedy gap':>10}")
        gaps, times = [], []
        for need in sorted(ctx.needs.values(), key=lambda n: n.id):
            query = ctx.need_party(need)
            if len(query.required) < 2:
                continue
            edges = ctx.edges.rank(query, "organization", query_vector(ctx, query)).edges
            problem = build_problem(ctx, query, edges, 5)
            started = time.perf_counter()
            found = k_best(problem, k=1, time_limit_s=seconds)
            ms = 1000 * (time.perf_counter() - started)
            if not found:
                print(f"{need.external_id:>6} {len(query.required):5d} {len(problem.candidates):4d} {'—':>9} "
                      f"{'none':>8} {ms:8.1f} (uncovered: {'・'.join(problem.uncovered())})")
                continue
            greedy = greedy_group(problem)
            g_obj = problem.objective(greedy) if greedy else None
            gap = (found[0].objective - g_obj) / max(abs(found[0].objective), 1) if g_obj is not None else None
            gaps.append(gap if gap is not None else 1.0)
            times.append(ms)
            print(f"{need.external_id:>6} {len(query.required):5d} {len(problem.candidates):4d} {found[0].objective:9.0f} "
                  f"{found[0].status:>8} {ms:8.1f} {g_obj if g_obj is not None else '—':>10} "
                  f"{gap if gap is not None else float('nan'):10.2%}")
        if times:
            import numpy as np

            print(f"exact: p50 {np.percentile(times, 50):.1f} ms, max {max(times):.1f} ms; greedy below the optimum "
                  f"on {sum(g > 1e-9 for g in gaps)} of {len(gaps)} needs, mean gap {np.mean(gaps):.2%}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--skip-demo", action="store_true")
    args = ap.parse_args()
    set_cover_table(args.seconds)
    if not args.skip_demo:
        demo_table(min(args.seconds, 10.0))


if __name__ == "__main__":
    main()
