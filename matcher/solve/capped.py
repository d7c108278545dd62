"""Exposure caps for a batch: each organisation in at most ``cap`` of the batch's shortlists.

Solved exactly as max-flow at min cost (OR-Tools): source → need (capacity k) → candidate
(capacity 1, cost −score) → sink (capacity cap).

What zero and negative scores mean: a score is a rank position's worth, not a verdict, so a
candidate with a score of zero or below is still a candidate, ranked below every positive one.
The solver therefore (1) fills as many slots as the caps allow — a shortlist is never shortened
to raise the total — and (2) among the fillings of that size maximises the total score. The
reported cost (uncapped total − capped total) is ≥ 0 whenever the caps leave every shortlist as
long as without them; it can be negative only when a cap empties a slot whose best remaining
candidate scored below zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from matcher.solve.result import Solution


@dataclass(frozen=True)
class CapProblem:
    """Pick ≤ ``k`` candidates per query, each candidate in ≤ ``cap`` queries, maximising the
    total score. ``scores``: query → [(candidate, score)] (already constraint-filtered)."""

    scores: dict[int, list[tuple[int, float]]]
    k: int
    cap: int


@dataclass(frozen=True)
class CapChoice:
    chosen: dict[int, list[int]]  # query → candidates (in score order)
    capped_out: dict[int, list[int]]  # query → candidates in its uncapped top-k that the cap removed
    uncapped_total: float
    capped_total: float

    @property
    def cost(self) -> float:
        return self.uncapped_total - self.capped_total


SCALE = 1_000_000  # OR-Tools min-cost flow needs integer costs


def solve(problem: CapProblem, time_limit_s: float = 60.0, seed: int = 0) -> Solution[CapChoice]:
    """Exact (min-cost flow has no time limit to speak of and no randomness: both are part of the
    one solver interface). Scores are shifted to be positive, so every arc is worth taking and the
    max flow fills as many slots as possible; min cost then picks the highest-scoring filling of
    that size (see the module docstring)."""
    import time

    from ortools.graph.python import min_cost_flow

    started = time.perf_counter()
    scores, k, cap = problem.scores, problem.k, problem.cap
    uncapped = {q: sorted(c, key=lambda cs: (-cs[1], cs[0]))[:k] for q, c in scores.items()}
    uncapped_total = sum(s for lst in uncapped.values() for _, s in lst)
    queries = sorted(scores)
    cands = sorted({c for lst in scores.values() for c, _ in lst})
    if not queries or not cands:
        return Solution(value=CapChoice({q: [] for q in queries}, {}, 0.0, 0.0), status="optimal", objective=0.0,
                        bound=0.0, seconds=time.perf_counter() - started, seed=seed)
    low = min(s for lst in scores.values() for _, s in lst)
    shift = -low + 1.0 if low <= 0 else 0.0
    src, sink = 0, 1
    q_node = {q: 2 + i for i, q in enumerate(queries)}
    c_node = {c: 2 + len(queries) + i for i, c in enumerate(cands)}
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs: list[tuple[int, int, int]] = []
    for q in queries:
        flow.add_arc_with_capacity_and_unit_cost(src, q_node[q], k, 0)
        # Each query's top 3k candidates are its pool: enough slack for the caps to move slots,
        # and the flow stays small whatever the retrieval depth.
        for c, s in sorted(scores[q], key=lambda cs: (-cs[1], cs[0]))[: 3 * k]:
            arc = flow.add_arc_with_capacity_and_unit_cost(q_node[q], c_node[c], 1, -int(round((s + shift) * SCALE)))
            arcs.append((arc, q, c))
    for c in cands:
        flow.add_arc_with_capacity_and_unit_cost(c_node[c], sink, cap, 0)
    total = k * len(queries)
    flow.set_node_supply(src, total)
    flow.set_node_supply(sink, -total)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"capped assignment failed with status {status}")
    score_of = {(q, c): s for q, lst in scores.items() for c, s in lst}
    chosen: dict[int, list[int]] = {q: [] for q in queries}
    for arc, q, c in arcs:
        if flow.flow(arc) > 0:
            chosen[q].append(c)
    for q in queries:
        chosen[q].sort(key=lambda c: (-score_of[(q, c)], c))
    capped_total = sum(score_of[(q, c)] for q, lst in chosen.items() for c in lst)
    capped_out = {q: [c for c, _ in uncapped[q] if c not in set(chosen[q])] for q in queries}
    choice = CapChoice(chosen, {q: v for q, v in capped_out.items() if v}, uncapped_total, capped_total)
    return Solution(value=choice, status="optimal", objective=capped_total, bound=capped_total,
                    seconds=time.perf_counter() - started, seed=seed)


def default_cap(n_queries: int, k: int, share: float = 0.25) -> int:
    """No organisation in more than a quarter of a batch's shortlists (at least k slots' worth)."""
    return max(2, math.ceil(share * n_queries))
