"""Late changes: seat additions and close gaps without moving anyone else."""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass

from matcher.solve.result import Solution
from matcher.solve.seating.instance import (
    SeatingInstance,
    _aff,
    _bad,
    companies_everywhere,
    is_company,
    violations,
)
from matcher.solve.seating.search import Seating, seating_solution


class _State:
    """A seating held as sets, for the few rule-keeping moves of a late change: one round's seating with counts that make a move's feasibility and delta O(table size)."""

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



@dataclass(frozen=True)
class Reseating:
    seating: Solution[Seating]
    moved: tuple[tuple[int, int, int, int], ...]  # (round, person, from table, to table)
    added: tuple[int, ...]


def reseat(inst: SeatingInstance, previous: dict[int, tuple[int, ...]], seed: int = 0) -> Reseating:
    """Seat after late changes, keeping everyone else where they were.

    ``previous`` maps a person (index in ``inst``) to their table per round; people of ``inst``
    not in it are late additions, people in it but gone from ``inst`` were cancelled (the caller
    has left them out). Removing people never breaks a rule, so everyone else keeps their seat;
    only a person left alone at a table (nobody to meet) moves, to the allowed table where they
    gain most; additions take the free seats where they gain most. Then, only where the
    cancellations made it necessary and possible: a table left without its company gets one from
    a table that has two, and tables are evened out to within one person of each other (moving
    from the fullest table to the emptiest one where the mover gains most). Nobody else moves.
    """
    started = time.perf_counter()
    rng = random.Random(seed)
    n, tables = len(inst.people), len(inst.tables)
    seats = [[previous[p][r] if p in previous else -1 for p in range(n)] for r in range(inst.rounds)]
    state = _State(inst, [[t for t in row] for row in seats])
    added = [p for p in range(n) if p not in previous]
    moved: list[tuple[int, int, int, int]] = []

    def free(r: int, t: int) -> bool:
        return len(state.members[r][t]) < inst.tables[t][1]

    for r in range(inst.rounds):
        for t in range(tables):
            alone = [p for p in state.members[r][t] if p >= 0]
            if len(alone) == 1 and alone[0] not in inst.fixed:
                p = alone[0]
                options = [u for u in range(tables) if u != t and free(r, u) and state.members[r][u]
                           and state.fits(r, p, u) and state.mixed(r, u, joining=p)]
                if options:
                    u = max(options, key=lambda u: (state.gain(r, p, u), -u))
                    state.move(r, p, u)
                    moved.append((r, p, t, u))
    order = added[:]
    rng.shuffle(order)
    for p in order:
        for r in range(inst.rounds):
            if p in inst.fixed:
                options = [inst.fixed[p]] if state.fits(r, p, inst.fixed[p]) and free(r, inst.fixed[p]) else []
            else:
                options = [t for t in range(tables) if free(r, t) and state.fits(r, p, t) and state.mixed(r, t, joining=p)]
            if not options:
                raise _bad(f"追加の参加者「{inst.people[p][0]}」を第 {r + 1} ラウンドに座らせる空席がありません"
                           "（席替えをやり直してください）",
                           f"no allowed free seat for late participant {inst.people[p][0]!r} in round {r + 1}; "
                           "run a full seating")
            t = max(options, key=lambda t: (state.gain(r, p, t), -len(state.members[r][t]), -t))
            state.seats[r][p] = t
            for q in state.members[r][t]:
                key = (p, q) if p < q else (q, p)
                state.met[key] = state.met.get(key, 0) + 1
            state.members[r][t].add(p)
    for r in range(inst.rounds):
        moved += _restore_companies(state, r) + _even_out(state, r)
    rounds = tuple(tuple(row) for row in state.seats)
    bad = violations(inst, rounds)
    if bad:
        raise _bad("変更後の席が規則を満たしません（席替えをやり直してください）", "; ".join(bad[:5]))
    seating = seating_solution(inst, rounds, time.perf_counter() - started, seed)
    return Reseating(seating, tuple(moved), tuple(added))


def _best_mover(state: _State, r: int, sources: list[int], target: int, want_company: bool | None = None):
    """The (gain, person, from table) that may move to ``target`` without breaking a rule."""
    inst = state.inst
    options = [(state.gain(r, p, target) - state.gain(r, p, s), p, s) for s in sources for p in state.members[r][s]
               if p not in inst.fixed and (want_company is None or is_company(inst, p) == want_company)
               and state.fits(r, p, target) and state.mixed(r, s, leaving=p) and state.mixed(r, target, joining=p)]
    return max(options, key=lambda o: (o[0], -o[1]), default=None)


def _restore_companies(state: _State, r: int) -> list[tuple[int, int, int, int]]:
    """A table that lost its only company gets one from a table that has two (when one fits)."""
    moved = []
    for t in range(len(state.inst.tables)):
        if state.mixed(r, t):
            continue
        donors = [s for s in range(len(state.inst.tables))
                  if s != t and sum(is_company(state.inst, q) for q in state.members[r][s]) >= 2]
        best = _best_mover(state, r, donors, t, want_company=True)
        if best is not None and len(state.members[r][t]) < state.inst.tables[t][1]:
            _, p, s = best
            state.move(r, p, t)
            moved.append((r, p, s, t))
    return moved


def _even_out(state: _State, r: int) -> list[tuple[int, int, int, int]]:
    """Move one person at a time from a fullest to an emptiest occupied table while they differ
    by more than one and someone may move (each move shrinks the spread, so this ends)."""
    moved = []
    inst = state.inst
    for _ in range(len(inst.people)):
        used = [t for t in range(len(inst.tables)) if state.members[r][t]]
        if not used:
            break
        sizes = {t: len(state.members[r][t]) for t in used}
        low, high = min(sizes.values()), max(sizes.values())
        if high - low <= 1:
            break
        targets = [t for t in used if sizes[t] == low and sizes[t] < inst.tables[t][1]]
        sources = [t for t in used if sizes[t] == high]
        best = max((m + (t,) for t in targets if (m := _best_mover(state, r, sources, t)) is not None),
                   key=lambda o: (o[0], -o[1], -o[3]), default=None)
        if best is None:
            break
        _, p, s, t = best
        state.move(r, p, t)
        moved.append((r, p, s, t))
    return moved

