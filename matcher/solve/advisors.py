"""An advisory programme's batch: advisors to open needs, within each person's monthly hours.

Every need gets at most ``k`` advisors, every person at most ``capacity[person]`` engagements
(their 対応可能時間 divided by the hours one engagement takes), and the total score of the chosen
(need, person) edges is as large as possible. That is a maximum-weight b-matching on a bipartite
graph, solved exactly as a min-cost flow (OR-Tools), the same construction as the exposure caps:
source → need (capacity k) → person (capacity 1, cost −score) → sink (capacity the person's
engagements), plus a free source → sink arc so that no slot is filled at a loss. Unlike the
exposure caps, a slot may stay empty: an advisor who does not fit the need is no help, so only
edges scoring at least ``min_score`` are offered at all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from matcher.solve.result import Solution

SCALE = 1_000_000  # min-cost flow needs integer costs


@dataclass(frozen=True)
class AdvisorProblem:
    """``scores``: need → [(person, score)], already constraint-filtered; ``capacity``: person →
    engagements they can take this month (absent: none)."""

    scores: dict[int, list[tuple[int, float]]]
    k: int
    capacity: dict[int, int]
    min_score: float = 0.0


@dataclass(frozen=True)
class AdvisorChoice:
    chosen: dict[int, list[int]]  # need → people, best first
    load: dict[int, int]  # person → engagements assigned
    total: float
    # need → people it would have had without the hours limit (its top-k eligible edges) but lost
    # to needs where they are worth more
    displaced: dict[int, list[int]]


def eligible(problem: AdvisorProblem) -> dict[int, list[tuple[int, float]]]:
    """Each need's offered edges: at least ``min_score``, to a person with capacity, best first."""
    return {q: sorted(((p, s) for p, s in lst if s >= problem.min_score and problem.capacity.get(p, 0) > 0),
                      key=lambda ps: (-ps[1], ps[0]))
            for q, lst in problem.scores.items()}


def solve(problem: AdvisorProblem, time_limit_s: float = 60.0, seed: int = 0) -> Solution[AdvisorChoice]:
    """Exact; ``time_limit_s`` and ``seed`` are the solver interface's (min-cost flow needs neither)."""
    from ortools.graph.python import min_cost_flow

    started = time.perf_counter()
    offered = eligible(problem)
    needs = sorted(offered)
    people = sorted({p for lst in offered.values() for p, _ in lst})
    empty = AdvisorChoice({q: [] for q in needs}, {}, 0.0, {})
    if not people or problem.k <= 0:
        return Solution(value=empty, status="optimal", objective=0.0, bound=0.0,
                        seconds=time.perf_counter() - started, seed=seed)
    src, sink = 0, 1
    q_node = {q: 2 + i for i, q in enumerate(needs)}
    p_node = {p: 2 + len(needs) + i for i, p in enumerate(people)}
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs: list[tuple[int, int, int]] = []
    for q in needs:
        flow.add_arc_with_capacity_and_unit_cost(src, q_node[q], problem.k, 0)
        for p, s in offered[q]:
            # A score of exactly zero is worth nothing: cost 0 ties with leaving the slot empty,
            # and the solver may do either; a positive score always beats the empty slot.
            arcs.append((flow.add_arc_with_capacity_and_unit_cost(q_node[q], p_node[p], 1, -round(s * SCALE)), q, p))
    for p in people:
        flow.add_arc_with_capacity_and_unit_cost(p_node[p], sink, problem.capacity[p], 0)
    supply = problem.k * len(needs)
    flow.add_arc_with_capacity_and_unit_cost(src, sink, supply, 0)  # an unfilled slot costs nothing
    flow.set_node_supply(src, supply)
    flow.set_node_supply(sink, -supply)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"advisor assignment failed with status {status}")
    score = {(q, p): s for q, lst in offered.items() for p, s in lst}
    chosen: dict[int, list[int]] = {q: [] for q in needs}
    for arc, q, p in arcs:
        if flow.flow(arc) > 0 and score[(q, p)] > 0:
            chosen[q].append(p)
    load: dict[int, int] = {}
    for q in needs:
        chosen[q].sort(key=lambda p: (-score[(q, p)], p))
        for p in chosen[q]:
            load[p] = load.get(p, 0) + 1
    total = sum(score[(q, p)] for q, ps in chosen.items() for p in ps)
    displaced = {q: [p for p, _ in offered[q][: problem.k] if p not in chosen[q]] for q in needs}
    choice = AdvisorChoice(chosen, load, total, {q: v for q, v in displaced.items() if v})
    return Solution(value=choice, status="optimal", objective=total, bound=total,
                    seconds=time.perf_counter() - started, seed=seed)


def engagements(hours_per_month: int | None, hours_per_engagement: int) -> int:
    """How many engagements a person's stated hours allow; a person who stated none is offered
    one (they agreed to be suggested, and a coordinator confirms the hours before anything is sent)."""
    if hours_per_month is None:
        return 1
    return hours_per_month // max(hours_per_engagement, 1)
