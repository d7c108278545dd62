"""Forum seating benchmark: tabu search vs CP-SAT at the same time budget, against the upper bound.

Generated instances shaped like a 産業人フォーラム: 60, 120 and 300 participants, several people
from some organisations, tables of 6–8, 3–4 rounds, a sparse affinity graph with a few strong
pairs (wishes), conflict pairs and table hosts. For each: the tabu search at 10 s and 30 s of
iteration budget, CP-SAT with the same wall-clock budgets (its model has a variable per pair,
table and round, so at 300 people it is not built: the row says so), the upper bound (each
person's best rounds × (table size − 1) affinities) and the ratio to it, and violations.
Also prints the tabu search's iterations per second (``ITERATIONS_PER_SECOND`` is calibrated
from it) and writes a convergence plot (best objective / upper bound over time) as PNG.

    python scripts/bench_seating.py [--budgets 10,30] [--sizes 60,120,300] [--png test-output/bench_seating.png]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matcher.errors import InvalidInput  # noqa: E402
from matcher.solve.seating import (  # noqa: E402
    ITERATIONS_PER_SECOND,
    parse_instance,
    solve,
    solve_exact,
    violations,
)
from scripts.benchlib import cpu_model  # noqa: E402

SHAPES = {60: (6, 3), 120: (8, 3), 300: (8, 4)}  # participants → (table size, rounds)


def generate(n: int, table_size: int, rounds: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    orgs = [f"O{i}" for i in range(int(n * 0.8))]
    people = [{"id": f"P{i}", "org": orgs[i] if i < len(orgs) else rng.choice(orgs),
               "kind": rng.choice(["company"] * 6 + ["university", "institute", "buyer", "support"])} for i in range(n)]
    tables = max(-(-n // table_size), 1)
    while rounds > 1 and tables * min(table_size, tables) < n:
        tables += 1
    affinity = []
    for a in range(n):
        for b in range(a + 1, n):
            r = rng.random()
            if r < 0.04:
                affinity.append([f"P{a}", f"P{b}", rng.randint(600, 1500)])  # a wish or an accepted match
            elif r < 0.30:
                affinity.append([f"P{a}", f"P{b}", rng.randint(50, 600)])  # an edge score
    conflicts = [[f"P{a}", f"P{b}"] for a, b in (rng.sample(range(n), 2) for _ in range(n // 20))]
    fixed = [{"participant": f"P{i}", "table": f"T{i}"} for i in range(min(tables, n // 30))]
    return {"rounds": rounds, "tables": [{"id": f"T{t}", "capacity": table_size} for t in range(tables)],
            "participants": people, "affinity": affinity, "conflicts": conflicts, "fixed": fixed}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budgets", default="10,30")
    ap.add_argument("--sizes", default="60,120,300")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--png", default="test-output/bench_seating.png")
    args = ap.parse_args()
    budgets = [float(x) for x in args.budgets.split(",")]
    sizes = [int(x) for x in args.sizes.split(",")]
    print(f"CPU: {cpu_model()}; cores: {os.cpu_count()}; CP-SAT workers: 2; "
          f"tabu budget = seconds × {ITERATIONS_PER_SECOND} iterations")
    rows, curves = [], {}
    for n in sizes:
        size, rounds = SHAPES.get(n, (8, 3))
        inst = parse_instance(generate(n, size, rounds, args.seed))
        for budget in budgets:
            trace: list[tuple[float, int]] = []
            t0 = time.perf_counter()
            tabu = solve(inst, budget, args.seed, progress=lambda t, best, f, trace=trace: trace.append((t, best)))
            wall = time.perf_counter() - t0
            bound = int(tabu.bound or 0)
            curves[(n, budget)] = (trace + [(tabu.seconds, int(tabu.objective))], bound)
            rows.append((n, len(inst.tables), rounds, "tabu", budget, int(tabu.objective), bound,
                         len(violations(inst, tabu.value.rounds)), wall,
                         f"{tabu.value.iterations / max(wall, 1e-9):,.0f} it/s"))
            try:
                t0 = time.perf_counter()
                exact = solve_exact(inst, time_limit_s=budget, proven_only=False)
                wall = time.perf_counter() - t0
                if exact is None:
                    rows.append((n, len(inst.tables), rounds, "CP-SAT", budget, None, bound, None, wall,
                                 "no feasible seating found"))
                else:
                    rows.append((n, len(inst.tables), rounds, "CP-SAT", budget, int(exact.objective), bound,
                                 len(violations(inst, exact.value.rounds)), wall, exact.status))
            except InvalidInput as exc:
                rows.append((n, len(inst.tables), rounds, "CP-SAT", budget, None, bound, None, 0.0,
                             exc.message_en))
            print(f"  done: {n} participants, {budget:g} s", file=sys.stderr)
    header = f"{'people':>6} {'tables':>6} {'rounds':>6} {'engine':>7} {'budget':>6} {'objective':>9} " \
             f"{'upper':>7} {'ratio':>6} {'viol':>4} {'wall s':>7}  note"
    print(header)
    print("-" * len(header))
    for n, t, r, engine, budget, obj, ub, viol, wall, note in rows:
        ratio = f"{obj / ub:.3f}" if obj is not None and ub else "—"
        print(f"{n:>6} {t:>6} {r:>6} {engine:>7} {budget:>6g} {obj if obj is not None else '—':>9} {ub:>7} "
              f"{ratio:>6} {viol if viol is not None else '—':>4} {wall:>7.1f}  {note}")
    plot(curves, Path(args.png))
    print(f"convergence plot: {args.png}")


def plot(curves: dict, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    png.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for (n, budget), (trace, ub) in sorted(curves.items()):
        if budget != max(b for _, b in curves):
            continue
        xs = [t for t, _ in trace]
        ys = [best / ub if ub else 0 for _, best in trace]
        ax.step(xs, ys, where="post", label=f"{n} participants")
    ax.set_xlabel("seconds")
    ax.set_ylabel("best objective / upper bound")
    ax.set_title("Forum seating: tabu search convergence")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=120)


if __name__ == "__main__":
    main()
