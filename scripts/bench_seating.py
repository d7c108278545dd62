"""Forum seating benchmark: today's solver against the one it replaced, on forum-like rooms and on
the MDGPLIB library of the grouping literature.

Forum rooms (default): generated instances shaped like a 産業人フォーラム (60, 120 and 300
participants, several people from some organisations, tables of 6–8, 3–4 rounds, a sparse affinity
graph with a few strong pairs, conflict pairs and table hosts). For each: the iterated maxima
search at each budget (default 10, 30 and 60 s), the previous tabu search (``git show
BASELINE:matcher/solve/seating/search.py``, loaded as it was) at the same budgets, both bounds —
the per-person greedy bound and the b-matching LP bound — with the ratio to each, violations, and
the pace of each search's inner loop. The convergence curve (best objective over time, 60 s run)
is printed as a table and plotted to PNG.

MDGPLIB (``--mdgp``): for each instance, the best-known value (TPSDP, Yang et al. 2022) and ours
over 5 seeds at 1× and 2× the literature's time limits (n = 120: 3 s, 240: 20 s, 480: 120 s), as
min / mean / max percent of the best-known value, with the wall seconds the budget took.

    python scripts/bench_seating.py [--budgets 10,30,60] [--sizes 60,120,300] [--png test-output/bench_seating.png]
    python scripts/bench_seating.py --mdgp [--instances RanReal_n120_ss_02,...] [--seeds 5]

Budgets are counted in evaluated moves (seconds × ``EVALS_PER_SECOND``), so the objectives are
the same on any machine; only the wall seconds depend on it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.solve.seating import (  # noqa: E402
    EVALS_PER_SECOND,
    lp_bound,
    parse_instance,
    solve,
    upper_bound,
    violations,
)
from matcher.solve.seating.mdgp import read_mdgplib, solve_mdgp  # noqa: E402
from scripts.benchlib import cpu_model  # noqa: E402

SHAPES = {60: (6, 3), 120: (8, 3), 300: (8, 4), 480: (8, 4)}  # participants → (table size, rounds)
BASELINE = "1b2ebf1"  # the last commit with the tabu search
LIMITS = {120: 3.0, 240: 20.0, 480: 120.0, 960: 600.0}
MDGP_DEFAULT = ("RanReal_n120_ss_02,RanReal_n120_ss_03,Geo_n120_ss_02,Geo_n120_ss_03,"
                "RanReal_n240_ss_02,RanReal_n240_ss_03,RanInt_n240_ss_01,Geo_n240_ss_01,Geo_n240_ss_03,"
                "RanReal_n480_ss_02,Geo_n480_ss_02,RanReal_n120_ds_01,Geo_n120_ds_01")


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


def todays_baseline() -> types.ModuleType | None:
    """The tabu search this solver replaced, exactly as committed."""
    try:
        src = subprocess.run(["git", "show", f"{BASELINE}:matcher/solve/seating/search.py"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"WARNING: baseline {BASELINE} not readable from git ({exc}); baseline rows skipped", file=sys.stderr)
        return None
    module = types.ModuleType("seating_tabu_baseline")
    sys.modules[module.__name__] = module  # dataclasses look their module up while the class is built
    exec(compile(src, f"{BASELINE}:search.py", "exec"), module.__dict__)
    return module


def forum(args) -> None:
    budgets = [float(x) for x in args.budgets.split(",")]
    sizes = [int(x) for x in args.sizes.split(",")]
    base = todays_baseline()
    print(f"CPU: {cpu_model()}; cores: {os.cpu_count()}; budget = seconds × {EVALS_PER_SECOND:,} evaluated moves "
          f"(baseline: seconds × {getattr(base, 'ITERATIONS_PER_SECOND', 0):,} tabu iterations)")
    rows, curves = [], {}
    for n in sizes:
        size, rounds = SHAPES.get(n, (8, 3))
        inst = parse_instance(generate(n, size, rounds, args.seed))
        greedy, lp = upper_bound(inst), lp_bound(inst)
        for budget in budgets:
            trace: list[tuple[float, int]] = []
            t0 = time.perf_counter()
            ours = solve(inst, budget, args.seed, progress=lambda t, best, f, trace=trace: trace.append((t, best)))
            wall = time.perf_counter() - t0
            curves[(n, budget)] = trace + [(ours.seconds, int(ours.objective))]
            rows.append((n, len(inst.tables), rounds, "IMS", budget, int(ours.objective), greedy, lp,
                         len(violations(inst, ours.value.rounds)), wall,
                         f"{ours.value.iterations / max(wall, 1e-9):,.1f} descents/s"))
            if base is not None:
                t0 = time.perf_counter()
                try:
                    old = base.solve(inst, budget, args.seed)
                    wall = time.perf_counter() - t0
                    rows.append((n, len(inst.tables), rounds, "tabu", budget, int(old.objective), greedy, lp,
                                 len(violations(inst, old.value.rounds)), wall,
                                 f"{old.value.iterations / max(wall, 1e-9):,.0f} it/s"))
                except Exception as exc:  # the baseline's own refusal ("impossible"), reported as such
                    rows.append((n, len(inst.tables), rounds, "tabu", budget, None, greedy, lp, None,
                                 time.perf_counter() - t0, str(getattr(exc, "message_en", exc))[:60]))
            print(f"  done: {n} participants, {budget:g} s", file=sys.stderr)
    header = (f"{'people':>6} {'tables':>6} {'rounds':>6} {'solver':>6} {'budget':>6} {'objective':>10} "
              f"{'greedy UB':>10} {'ratio':>6} {'LP UB':>10} {'ratio':>6} {'viol':>4} {'wall s':>7}  pace")
    print(header)
    print("-" * len(header))
    for n, t, r, engine, budget, obj, ub, lp, viol, wall, note in rows:
        ratio = f"{obj / ub:.3f}" if obj is not None and ub else "—"
        lratio = f"{obj / lp:.3f}" if obj is not None and lp else "—"
        print(f"{n:>6} {t:>6} {r:>6} {engine:>6} {budget:>6g} {obj if obj is not None else '—':>10} {ub:>10} "
              f"{ratio:>6} {lp if lp is not None else '—':>10} {lratio:>6} {viol if viol is not None else '—':>4} "
              f"{wall:>7.1f}  {note}")
    longest = max(budgets)
    print(f"\nconvergence ({longest:g} s runs): best objective at each time")
    marks = [1, 2, 5, 10, 20, 30, 45, 60, 90, 120]
    print(f"{'people':>6} " + " ".join(f"{f'{m}s':>9}" for m in marks if m <= longest * 1.5))
    for n in sizes:
        trace = curves[(n, longest)]
        cells = []
        for m in (m for m in marks if m <= longest * 1.5):
            seen = [b for t, b in trace if t <= m]
            cells.append(f"{seen[-1] if seen else '—':>9}")
        print(f"{n:>6} " + " ".join(cells))
    plot(curves, {n: lp_bound(parse_instance(generate(n, *SHAPES.get(n, (8, 3)), args.seed))) for n in sizes},
         longest, Path(args.png))
    print(f"convergence plot: {args.png}")
    pace(base, args.seed)


def pace(base: types.ModuleType | None, seed: int, seconds: float = 5.0) -> None:
    """The inner loop's speed at 120 and 480 people: moves evaluated per second (and descents)
    for today's kernel, tabu iterations per second (each samples 60 moves) for the baseline."""
    from matcher.solve.seating.search import arrays, run

    print(f"\ninner-loop pace ({seconds:g} s runs)")
    print(f"{'people':>6} {'IMS moves/s':>14} {'IMS descents/s':>15} {'tabu it/s':>10} {'tabu moves/s':>13}")
    for n in (120, 480):
        inst = parse_instance(generate(n, *SHAPES[n], seed))
        found = run(arrays(inst), int(seconds * EVALS_PER_SECOND), seed)
        old_it = old_moves = "—"
        if base is not None:
            t0 = time.perf_counter()
            try:
                old = base.solve(inst, seconds, seed)
                wall = time.perf_counter() - t0
                old_it = f"{old.value.iterations / wall:,.0f}"
                old_moves = f"{60 * old.value.iterations / wall:,.0f}"
            except Exception as exc:  # the baseline refusing the room
                old_it = str(getattr(exc, "message_en", exc))[:30]
        print(f"{n:>6} {found.evaluations / found.seconds:>14,.0f} {found.iterations / found.seconds:>15,.1f} "
              f"{old_it:>10} {old_moves:>13}")


def mdgp(args) -> None:
    lib = ROOT / "corpora" / "mdgplib"
    best = json.loads((lib / "best_known.json").read_text())
    print(f"CPU: {cpu_model()}; cores: {os.cpu_count()}; one core used; budget = limit × {EVALS_PER_SECOND:,} "
          f"evaluated moves; {args.seeds} seeds")
    header = (f"{'instance':>20} {'best known':>13} {'limit s':>7} {'1x min/mean/max %':>24} {'wall s':>7} "
              f"{'2x min/mean/max %':>24} {'wall s':>7}")
    print(header)
    print("-" * len(header))
    for name in args.instances.split(","):
        inst = read_mdgplib(lib / f"{name}.txt.gz")
        limit = LIMITS.get(inst.n, inst.n / 40)
        cells = []
        for factor in (1, 2):
            pct, walls = [], []
            for seed in range(args.seeds):
                r = solve_mdgp(inst, limit * factor, seed)
                pct.append(100 * r.objective / best[name]["best_known"])
                walls.append(r.seconds)
                print(f"  {name} ×{factor} seed {seed}: {pct[-1]:.3f} % in {r.seconds:.1f} s", file=sys.stderr)
            cells.append(f"{min(pct):7.3f}/{sum(pct) / len(pct):7.3f}/{max(pct):7.3f}")
            cells.append(f"{sum(walls) / len(walls):7.1f}")
        print(f"{name:>20} {best[name]['best_known']:>13,.2f} {limit:>7g} {cells[0]:>24} {cells[1]:>7} "
              f"{cells[2]:>24} {cells[3]:>7}", flush=True)


def plot(curves: dict, bounds: dict, longest: float, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    png.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for (n, budget), trace in sorted(curves.items()):
        if budget != longest or not bounds.get(n):
            continue
        ax.step([t for t, _ in trace], [b / bounds[n] for _, b in trace], where="post", label=f"{n} participants")
    ax.set_xlabel("seconds")
    ax.set_ylabel("best objective / LP upper bound")
    ax.set_title("Forum seating: iterated maxima search convergence")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budgets", default="10,30,60")
    ap.add_argument("--sizes", default="60,120,300")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--png", default="test-output/bench_seating.png")
    ap.add_argument("--mdgp", action="store_true", help="the MDGPLIB table instead of forum rooms")
    ap.add_argument("--instances", default=MDGP_DEFAULT)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    (mdgp if args.mdgp else forum)(args)


if __name__ == "__main__":
    main()
