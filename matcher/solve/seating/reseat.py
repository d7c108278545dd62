"""Late changes: seat additions and close gaps without moving anyone else."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from matcher.solve.result import Solution
from matcher.solve.seating.instance import SeatingInstance, _bad, violations
from matcher.solve.seating.search import Seating, _State, seating_solution


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
    gain most; additions take the free seats where they gain most. Nobody else moves.
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
                           and state.fits(r, p, u)]
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
                options = [t for t in range(tables) if free(r, t) and state.fits(r, p, t)]
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
    rounds = tuple(tuple(row) for row in state.seats)
    bad = violations(inst, rounds)
    if bad:
        raise _bad("変更後の席が規則を満たしません（席替えをやり直してください）", "; ".join(bad[:5]))
    seating = seating_solution(inst, rounds, time.perf_counter() - started, seed)
    return Reseating(seating, tuple(moved), tuple(added))
