"""The seating solver: an iterated maxima search (``descent.search``) from a random start that
respects table sizes and fixed seats, with rule violations as penalties driven to zero by the same
moves that raise affinity. Only a proof says "impossible": the counting checks of
``check_feasible`` before any work, or CP-SAT's infeasibility on an instance small enough for it;
otherwise a search that ends with violations says it found none in its budget.

The budget is counted in evaluated moves (``time_limit_s`` × ``EVALS_PER_SECOND``), so the same
input and seed give the same seating on any machine and under any load; a machine more than
``HARD_LIMIT_FACTOR`` times slower (``hard_limit_s``: never under ``HARD_LIMIT_FLOOR_S``) stops at the
wall clock and says so (status ``truncated``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from matcher.solve.result import Solution, Status
from matcher.solve.seating import descent, kernel
from matcher.solve.seating.instance import (
    SeatingInstance,
    _bad,
    companies_everywhere,
    lp_bound,
    objective,
    upper_bound,
    violations,
)


@dataclass(frozen=True)
class Seating:
    """Round → person index → table index (what every seating solver returns as its value)."""

    rounds: tuple[tuple[int, ...], ...]
    iterations: int = 0


def seating_solution(inst: SeatingInstance, rounds: tuple[tuple[int, ...], ...], seconds: float, seed: int = 0,
                     iterations: int = 0, truncated: bool = False, proven: bool = False) -> Solution[Seating]:
    """The shared result: optimal when proven (or when the bound is met), truncated when the wall
    clock stopped the search before its own budget."""
    obj, bound = objective(inst, rounds), upper_bound(inst)
    tight = lp_bound(inst)
    bound = bound if tight is None else min(bound, tight)
    status: Status = "optimal" if proven or obj >= bound else "truncated" if truncated else "feasible"
    return Solution(value=Seating(rounds, iterations), status=status, objective=obj, bound=bound,
                    seconds=seconds, seed=seed)


# Moves evaluated per second by the kernel on one core of the 2-core CI machine (scripts/
# bench_seating.py prints today's pace); the budget is seconds × this, so results never depend
# on the clock.
EVALS_PER_SECOND = 150_000_000
HARD_LIMIT_FACTOR = 3.0  # a slower machine stops at this multiple of the budget, and says so
# ... but never sooner than this: a short budget on a busy machine (a test suite on every core)
# must not be cut by scheduling noise, or the same input and seed would seat differently.
HARD_LIMIT_FLOOR_S = 10.0


def hard_limit_s(time_limit_s: float) -> float:
    """The wall-clock seconds after which a search stops short of its budget (and says so)."""
    return max(time_limit_s * HARD_LIMIT_FACTOR, HARD_LIMIT_FLOOR_S)
CHUNK_EVALUATIONS = 4_000_000  # how often the search comes back to Python (progress, the wall clock): ~30 ms


def arrays(inst: SeatingInstance) -> kernel.GroupingArrays:
    """The instance as the kernel reads it: dense pair values and forbidden pairs."""
    n = len(inst.people)
    W = np.zeros((n, n), dtype=np.float64)
    if inst.affinity:
        keys = np.array(list(inst.affinity.keys()), dtype=np.int64).reshape(-1, 2)
        vals = np.array(list(inst.affinity.values()), dtype=np.float64)
        W[keys[:, 0], keys[:, 1]] = vals
        W[keys[:, 1], keys[:, 0]] = vals
    orgs = {o: i for i, o in enumerate(sorted({p[1] for p in inst.people}))}
    org = np.array([orgs[p[1]] for p in inst.people], dtype=np.int64)
    C = (org[:, None] == org[None, :]).astype(np.uint8)
    for a, b in inst.conflicts:
        C[a, b] = C[b, a] = 1
    np.fill_diagonal(C, 0)
    fixed = np.full(n, -1, dtype=np.int64)
    for p, t in inst.fixed.items():
        fixed[p] = t
    return kernel.GroupingArrays(
        W=W, C=C, company=np.array([p[2] == "company" for p in inst.people], dtype=np.uint8),
        mix=companies_everywhere(inst), lo=np.zeros(len(inst.tables), dtype=np.int64),
        hi=np.array([c for _, c in inst.tables], dtype=np.int64), fixed=fixed, rounds=inst.rounds,
        norepeat=inst.rounds > 1)


@dataclass(frozen=True)
class SearchResult:
    """What the search ends with: the best seating (round → person → table), its objective in the
    problem's units, how many rule violations it still has, and what the search did."""

    seats: np.ndarray
    objective: float
    penalty: int
    evaluations: int
    iterations: int
    perturbations: int
    truncated: bool
    seconds: float


def start(g: kernel.GroupingArrays, rng: np.random.Generator) -> np.ndarray:
    """A random seating that keeps table sizes and fixed seats (rules are the search's job):
    each table gets its minimum, then people go to the least filled tables (companies spread first
    when every table needs one)."""
    n, T = g.n, g.tables
    x = np.full((g.rounds, n), -1, dtype=np.int64)
    for r in range(g.rounds):
        size = np.zeros(T, dtype=np.int64)
        for p in np.flatnonzero(g.fixed >= 0):
            x[r, p] = g.fixed[p]
            size[g.fixed[p]] += 1
        free = rng.permutation(np.flatnonzero(g.fixed < 0))
        if g.mix:
            free = free[np.argsort(-g.company[free], kind="stable")]
        for p in free:
            short = np.flatnonzero(size < g.lo)
            room = short if len(short) else np.flatnonzero(size < g.hi)
            fill = size[room] / np.maximum(g.hi[room], 1)
            choice = room[fill == fill.min()]
            t = int(choice[rng.integers(len(choice))])
            x[r, p] = t
            size[t] += 1
    return x


def run(g: kernel.GroupingArrays, evaluations: int, seed: int = 0, hard_deadline: float = float("inf"),
        progress: Callable[[float, float, float], None] | None = None, x0: np.ndarray | None = None,
        strength: int | None = None, samples: int | None = None, patience: int = 10,
        extra: int = descent.EXCHANGES | descent.ITINERARIES) -> SearchResult:
    """The iterated maxima search for ``evaluations`` evaluated moves, in chunks (progress, wall
    clock). Deterministic for a seed: the kernel's random numbers are its own, and chunks end at
    fixed evaluation counts."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    n, T, R = g.n, g.tables, g.rounds
    x = start(g, rng) if x0 is None else np.array(x0, dtype=np.int64)
    G = np.zeros((R, n, T), dtype=np.float64)
    PG = np.zeros((R, n, T), dtype=np.int32)
    M = np.zeros((n, n), dtype=np.int32)
    size = np.zeros((R, T), dtype=np.int64)
    ncomp = np.zeros((R, T), dtype=np.int64)
    rules = g.rules  # a scan of every pair: once, not per chunk
    obj, pen = kernel.rebuild(g.W, g.C, g.company, rules, g.mix, g.norepeat, x, T, G, PG, M, size, ncomp)
    cur = np.array([obj, float(pen)])
    best_x, best = x.copy(), cur.copy()
    ms = (x.copy(), G.copy(), PG.copy(), M.copy(), size.copy(), ncomp.copy(), cur.copy())
    work = descent.scratch(n, R, g.lo, g.hi, g.W) + descent.forbidden_lists(g.C)
    counts = np.zeros(5, dtype=np.int64)
    state = np.array([int(rng.integers(1, 2**62))], dtype=np.uint64)
    top = max(int(g.hi.max()), 2)
    heaviest = float(np.sort(np.abs(g.W), axis=1)[:, -top:].sum(axis=1).max()) if n else 0.0
    lam = 4.0 * heaviest + 1.0  # one violation outweighs any change of affinity a move can make
    # The shake: a few random changes, about 0.4 of a table's size (measured on MDGPLIB n = 120 and
    # 240: a whole table's worth, as Lai & Hao shake, scored lower under these budgets).
    shake = strength or max(2, round(0.4 * n / T))
    chunk = CHUNK_EVALUATIONS
    truncated = False
    while counts[0] < evaluations:
        stop = min(evaluations, int(counts[0]) + chunk)
        descent.search(g.W, g.C, g.company, rules, g.mix, g.norepeat, g.lo, g.hi, g.fixed, x, G, PG, M, size, ncomp,
                       cur, *ms, best_x, best, counts, state, lam, stop, shake, samples or n, patience, *work, extra)
        if progress is not None:
            progress(time.perf_counter() - started, float(best[0]), min(1.0, counts[0] / max(evaluations, 1)))
        if time.perf_counter() > hard_deadline and counts[0] < evaluations:
            truncated = True
            break
    return SearchResult(seats=best_x, objective=float(best[0]), penalty=int(best[1]), evaluations=int(counts[0]),
                        iterations=int(counts[1]), perturbations=int(counts[2]), truncated=truncated,
                        seconds=time.perf_counter() - started)


def solve(inst: SeatingInstance, time_limit_s: float = 30.0, seed: int = 0,
          progress: Callable[[float, int, float], None] | None = None,
          evaluations: int | None = None) -> Solution[Seating]:
    """Seat ``inst``: the iterated maxima search for ``time_limit_s`` × ``EVALS_PER_SECOND``
    evaluated moves (or ``evaluations``). ``progress`` gets (seconds, best objective, fraction
    of the budget done) after every chunk of ``CHUNK_EVALUATIONS`` (callers throttle). A seating that keeps every rule comes back;
    otherwise InvalidInput says whether the room is proven impossible (and by which rule) or only
    that none was found in the budget."""
    descent.warm()
    started = time.perf_counter()
    budget = evaluations if evaluations is not None else max(1, round(time_limit_s * EVALS_PER_SECOND))
    hard_deadline = started + hard_limit_s(time_limit_s)
    found = run(arrays(inst), budget, seed, hard_deadline,
                None if progress is None else (lambda s, o, f: progress(s, int(round(o)), f)))
    rounds = tuple(tuple(int(t) for t in row) for row in found.seats)
    if found.penalty:
        raise _unseated(inst, rounds, time_limit_s, found.truncated)
    assert not violations(inst, rounds), "the kernel's penalty disagrees with the rule check"
    return seating_solution(inst, rounds, time.perf_counter() - started, seed, found.iterations, found.truncated)


def _unseated(inst: SeatingInstance, rounds, time_limit_s: float, truncated: bool):
    """No zero-violation seating in the budget: a proof where CP-SAT can give one, else say so."""
    from matcher.solve.seating.exact import infeasible_rule

    rule = infeasible_rule(inst, time_limit_s=max(5.0, time_limit_s))
    if rule is not None:
        return _bad(f"この条件を満たす席順は存在しません（{rule}。テーブルを増やすか、制約を見直してください）",
                    f"no seating satisfies every rule (proven by CP-SAT: {rule})")
    left = "、".join(sorted({_rule_ja(v) for v in violations(inst, rounds)}))
    clock = "（計算が時間切れで打ち切られました）" if truncated else ""
    return _bad(f"{time_limit_s:g} 秒の探索では、規則をすべて守る席順が見つかりませんでした{clock}"
                f"（残った違反: {left}）。不可能と証明されたわけではありません: 時間を延ばすか、テーブルを増やしてください",
                f"no seating without violations found in the budget of {time_limit_s:g} s ({left}); not proven impossible")


def _rule_ja(violation: str) -> str:
    for key, ja in (("meets twice", "同じ相手と二度同席"), ("conflict", "同席できない組み合わせ"),
                    ("organisation", "同じ組織の二人が同席"), ("no company", "企業のいないテーブル"),
                    ("capacity", "定員超過"), ("fixed", "固定席")):
        if key in violation:
            return ja
    return violation
