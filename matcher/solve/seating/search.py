"""Tabu search over swap and move moves with incremental (delta) evaluation, from a feasible
constructive start, restarted from perturbed bests until the iteration budget ends; the same seed
gives the same seating."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from matcher.solve.result import Solution, Status
from matcher.solve.seating.instance import (
    SeatingInstance,
    _aff,
    _bad,
    companies_everywhere,
    is_company,
    objective,
    upper_bound,
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
    status: Status = "optimal" if proven or obj >= bound else "truncated" if truncated else "feasible"
    return Solution(value=Seating(rounds, iterations), status=status, objective=obj, bound=bound,
                    seconds=seconds, seed=seed)


class _State:
    """One round's seating with counts that make a move's feasibility and delta O(table size)."""

    def __init__(self, inst: SeatingInstance, seats: list[list[int]]) -> None:
        self.inst = inst
        self.mix = companies_everywhere(inst)
        self.seats = seats  # round → person → table
        self.members = [[set() for _ in inst.tables] for _ in seats]
        for r, row in enumerate(seats):
            for p, t in enumerate(row):
                if t >= 0:  # -1: not seated yet
                    self.members[r][t].add(p)
        self.met: dict[tuple[int, int], int] = {}
        for r in range(len(seats)):
            for t in range(len(inst.tables)):
                for a, b in itertools.combinations(sorted(self.members[r][t]), 2):
                    self.met[(a, b)] = self.met.get((a, b), 0) + 1

    def fits(self, r: int, p: int, t: int, leaving: int | None = None) -> bool:
        """Can p sit at table t in round r (with ``leaving`` gone from it)?"""
        inst = self.inst
        for q in self.members[r][t]:
            if q in (leaving, p):
                continue
            key = (p, q) if p < q else (q, p)
            if inst.people[q][1] == inst.people[p][1] or key in inst.conflicts or self.met.get(key, 0) > 0:
                return False
        return True

    def mixed(self, r: int, t: int, leaving: int | None = None, joining: int | None = None) -> bool:
        """Does table t keep a company (when it has anyone) after ``leaving`` goes and ``joining``
        comes? Always true when the forum has fewer companies than tables."""
        if not self.mix:
            return True
        people = (self.members[r][t] - {leaving}) | ({joining} if joining is not None else set())
        return not people or any(is_company(self.inst, q) for q in people)

    def gain(self, r: int, p: int, t: int, leaving: int | None = None) -> int:
        return sum(_aff(self.inst, p, q) for q in self.members[r][t] if q not in (p, leaving))

    def move(self, r: int, p: int, t: int) -> None:
        old = self.seats[r][p]
        self.members[r][old].discard(p)
        for q in self.members[r][old]:
            key = (p, q) if p < q else (q, p)
            self.met[key] -= 1
        for q in self.members[r][t]:
            key = (p, q) if p < q else (q, p)
            self.met[key] = self.met.get(key, 0) + 1
        self.members[r][t].add(p)
        self.seats[r][p] = t


class OutOfTime(Exception):
    """The wall-clock limit passed before a first feasible seating was built."""


def construct(inst: SeatingInstance, rng: random.Random, deadline: float = float("inf")) -> list[list[int]] | None:
    """A feasible start: fixed seats first, then people in random order to the least occupied
    table that keeps every rule (the most affinity among equals). Raises ``OutOfTime`` past
    ``deadline`` (a ``time.perf_counter`` value), so construction counts against the limit too."""
    n, tables = len(inst.people), len(inst.tables)
    seats: list[list[int]] = []
    state = _State(inst, [])
    for r in range(inst.rounds):
        row = [-1] * n
        state.seats.append(row)
        state.members.append([set() for _ in range(tables)])
        for p, t in inst.fixed.items():
            row[p] = t
            state.members[r][t].add(p)
        # Most constrained first: those who already met the most people (and those in a conflict
        # pair) are seated while tables are still open; random among equals.
        degree = [0] * n
        for (a, b), k in state.met.items():
            degree[a] += k
            degree[b] += k
        for a, b in inst.conflicts:
            degree[a] += 1
            degree[b] += 1
        order = [p for p in range(n) if p not in inst.fixed]
        rng.shuffle(order)
        # Companies first when every table needs one, each to a table that has none yet.
        order.sort(key=lambda p: (not (state.mix and is_company(inst, p)), -degree[p]))
        for p in order:
            if time.perf_counter() > deadline:
                raise OutOfTime()
            options = [t for t in range(tables) if len(state.members[r][t]) < inst.tables[t][1] and state.fits(r, p, t)]
            if not options:
                return None
            # Fill evenly (full tables early make later rounds impossible under "never meet
            # twice"), and among equally full tables take the one with the most affinity.
            lacking = [t for t in options if state.mix and is_company(inst, p)
                       and not any(is_company(inst, q) for q in state.members[r][t])]
            t = max(lacking or options, key=lambda t: (-len(state.members[r][t]), state.gain(r, p, t), -t))
            row[p] = t
            state.members[r][t].add(p)
        if not all(state.mixed(r, t) for t in range(tables)):
            return None  # a table without a company: start again in another order
        for t in range(tables):
            for a, b in itertools.combinations(sorted(state.members[r][t]), 2):
                state.met[(a, b)] = state.met.get((a, b), 0) + 1
        seats.append(row)
    return seats


ITERATIONS_PER_SECOND = 2500  # the tabu search's pace on one 2-core CI machine (bench_seating prints it)
HARD_LIMIT_FACTOR = 3.0  # a slower machine stops at this multiple of the budget, and says so


def solve(inst: SeatingInstance, time_limit_s: float = 30.0, seed: int = 0,
          progress: Callable[[float, int, float], None] | None = None,
          iterations: int | None = None) -> Solution[Seating]:
    """Tabu search with restarts. The budget is counted in iterations (``time_limit_s`` ×
    ``ITERATIONS_PER_SECOND`` unless given), not in wall-clock time, so the same instance and seed
    give the same seating on any machine and under any load; only a machine more than
    ``HARD_LIMIT_FACTOR`` times slower stops early (status ``truncated``). ``progress`` (if
    given) is called with (seconds, best objective, fraction of the budget done) at each
    improvement and every 2,048 iterations."""
    started = time.perf_counter()
    budget = iterations if iterations is not None else max(1, round(time_limit_s * ITERATIONS_PER_SECOND))
    hard_deadline = started + max(time_limit_s, 1.0) * HARD_LIMIT_FACTOR
    rng = random.Random(seed)
    start = None
    try:
        for _ in range(200):
            start = construct(inst, rng, hard_deadline)
            if start is not None:
                break
    except OutOfTime:
        raise _bad(f"制限時間（{time_limit_s:g} 秒 × {HARD_LIMIT_FACTOR:g}）内に最初の席順を作れませんでした"
                   "（参加者・テーブル・ラウンドを減らすか、時間を延ばしてください）",
                   f"no first seating within the time limit ({time_limit_s:g} s × {HARD_LIMIT_FACTOR:g})") from None
    if start is None:
        raise _bad("制約をすべて満たす席順が見つかりませんでした（テーブルを増やすか、制約を見直してください）",
                   "no seating satisfies every rule (add tables or relax constraints)")
    best = [row[:] for row in start]
    best_obj = objective(inst, best)
    if progress is not None:
        progress(0.0, best_obj, 0.0)
    movable = [p for p in range(len(inst.people)) if p not in inst.fixed]
    truncated = False
    state = _State(inst, [row[:] for row in best])
    current = best_obj
    tabu: dict[tuple[int, int, int], int] = {}
    it = stall = 0
    tenure = 7
    while it < budget and movable:
        if it % 256 == 0 and time.perf_counter() > hard_deadline:
            truncated = True
            break
        if progress is not None and it % 2048 == 0:
            progress(time.perf_counter() - started, best_obj, it / budget)
        it += 1
        r = rng.randrange(inst.rounds)
        best_move, best_delta = None, None
        for _ in range(60):  # a sample of the neighbourhood: swaps and moves in one round
            p = rng.choice(movable)
            tp = state.seats[r][p]
            t = rng.randrange(len(inst.tables))
            if t == tp:
                continue
            if len(state.members[r][t]) < inst.tables[t][1] and rng.random() < 0.3:
                if state.fits(r, p, t) and state.mixed(r, tp, leaving=p) and state.mixed(r, t, joining=p):
                    delta = state.gain(r, p, t) - state.gain(r, p, tp)
                    cand = ("move", p, t, None)
                else:
                    continue
            else:
                others = [q for q in state.members[r][t] if q not in inst.fixed]
                if not others:
                    continue
                q = rng.choice(others)
                if not (state.fits(r, p, t, leaving=q) and state.fits(r, q, tp, leaving=p)
                        and state.mixed(r, t, leaving=q, joining=p) and state.mixed(r, tp, leaving=p, joining=q)):
                    continue
                delta = (state.gain(r, p, t, leaving=q) - state.gain(r, p, tp) + state.gain(r, q, tp, leaving=p)
                         - state.gain(r, q, t))
                cand = ("swap", p, t, q)
            is_tabu = tabu.get((r, p, t), 0) > it
            if is_tabu and current + delta <= best_obj:
                continue  # aspiration: a tabu move is taken only if it beats the best
            if best_delta is None or delta > best_delta:
                best_move, best_delta = cand, delta
        if best_move is None:
            continue
        kind, p, t, q = best_move
        tp = state.seats[r][p]
        if kind == "move":
            state.move(r, p, t)
        else:
            state.move(r, p, t)
            state.move(r, q, tp)
            tabu[(r, q, t)] = it + tenure
        tabu[(r, p, tp)] = it + tenure
        current += best_delta
        if current > best_obj:
            best_obj, best, stall = current, [row[:] for row in state.seats], 0
            if progress is not None:
                progress(time.perf_counter() - started, best_obj, it / budget)
        else:
            stall += 1
        if stall > 3000:  # restart from the best, perturbed by random feasible swaps
            state = _State(inst, [row[:] for row in best])
            stall, tabu = 0, {}
            for _ in range(20):
                r = rng.randrange(inst.rounds)
                p, q = rng.sample(movable, 2) if len(movable) > 1 else (movable[0], movable[0])
                tp, tq = state.seats[r][p], state.seats[r][q]
                if (tp != tq and state.fits(r, p, tq, leaving=q) and state.fits(r, q, tp, leaving=p)
                        and state.mixed(r, tq, leaving=q, joining=p) and state.mixed(r, tp, leaving=p, joining=q)):
                    state.move(r, p, tq)
                    state.move(r, q, tp)
            current = objective(inst, state.seats)
    rounds = tuple(tuple(row) for row in best)
    assert objective(inst, rounds) == best_obj, "incremental evaluation drifted"
    return seating_solution(inst, rounds, time.perf_counter() - started, seed, it, truncated)
