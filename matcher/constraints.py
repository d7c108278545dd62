"""Hard constraints on the scored graph, and exposure caps for a batch.

A candidate is never suggested to itself or to its own corporate group, never across a declared
conflict or competitor pair, and never when it has opted out. In a batch (all open needs), each
organisation may appear in at most ``cap`` shortlists: the batch is solved as a capped assignment
(max-flow at min cost with OR-Tools), which maximises the total score the caps leave, and the
score the caps cost is reported. Every exclusion carries a reason ("why not").
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

REASONS_JA = {
    "self": "依頼元の企業自身です",
    "same_group": "依頼元と同じ企業グループです",
    "conflict": "除外ペアとして登録されています",
    "competitor": "競合関係として登録されています",
    "opt_out": "提案の受け取り・掲載を停止しています",
    "exposure_cap": "一括提案での掲載回数の上限に達しました",
}
REASONS_EN = {
    "self": "the requester itself",
    "same_group": "same corporate group as the requester",
    "conflict": "declared conflict pair",
    "competitor": "declared competitors",
    "opt_out": "opted out of suggestions",
    "exposure_cap": "exposure cap reached in this batch",
}


@dataclass
class ConstraintSet:
    groups: dict[int, str] = field(default_factory=dict)  # org id → corporate group
    conflicts: set[frozenset[int]] = field(default_factory=set)
    competitors: set[frozenset[int]] = field(default_factory=set)
    opted_out: set[int] = field(default_factory=set)

    def why_not(self, requester: int | None, candidate: int) -> str | None:
        """The reason code that forbids this edge, or None when it is allowed."""
        if candidate in self.opted_out:
            return "opt_out"
        if requester is None:
            return None
        if requester == candidate:
            return "self"
        g1, g2 = self.groups.get(requester), self.groups.get(candidate)
        if g1 and g1 == g2:
            return "same_group"
        pair = frozenset((requester, candidate))
        if pair in self.conflicts:
            return "conflict"
        if pair in self.competitors:
            return "competitor"
        return None

    def split(self, requester: int | None, candidates: Iterable[int]) -> tuple[list[int], list[tuple[int, str]]]:
        kept, excluded = [], []
        for c in candidates:
            reason = self.why_not(requester, c)
            if reason:
                excluded.append((c, reason))
            else:
                kept.append(c)
        return kept, excluded


@dataclass
class CapResult:
    chosen: dict[int, list[int]]  # query → candidates (in input score order)
    capped_out: dict[int, list[int]]  # query → candidates in its uncapped top-k that the cap removed
    uncapped_total: float
    capped_total: float
    status: str

    @property
    def cost(self) -> float:
        return self.uncapped_total - self.capped_total


SCALE = 1_000_000  # OR-Tools min-cost flow needs integer costs


def capped_assignment(scores: dict[int, list[tuple[int, float]]], k: int, cap: int) -> CapResult:
    """Pick ≤ k candidates per query, each candidate in ≤ cap queries, maximising total score.

    ``scores``: query → [(candidate, score)] (already constraint-filtered). Scores are shifted to
    be positive so that filling a slot is always preferred to leaving it empty.
    """
    from ortools.graph.python import min_cost_flow

    uncapped = {q: sorted(c, key=lambda cs: (-cs[1], cs[0]))[:k] for q, c in scores.items()}
    uncapped_total = sum(s for lst in uncapped.values() for _, s in lst)
    queries = sorted(scores)
    cands = sorted({c for lst in scores.values() for c, _ in lst})
    if not queries or not cands:
        return CapResult({q: [] for q in queries}, {}, 0.0, 0.0, "optimal")
    low = min(s for lst in scores.values() for _, s in lst)
    shift = -low + 1.0 if low <= 0 else 0.0
    src, sink = 0, 1
    q_node = {q: 2 + i for i, q in enumerate(queries)}
    c_node = {c: 2 + len(queries) + i for i, c in enumerate(cands)}
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs: list[tuple[int, int, int]] = []
    for q in queries:
        flow.add_arc_with_capacity_and_unit_cost(src, q_node[q], k, 0)
        # Only the top (k + cap-slack) candidates per query matter; deeper ones never win.
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
    return CapResult(chosen, {q: v for q, v in capped_out.items() if v}, uncapped_total, capped_total, "optimal")


def default_cap(n_queries: int, k: int, share: float = 0.25) -> int:
    """No organisation in more than a quarter of a batch's shortlists (at least k slots' worth)."""
    return max(2, math.ceil(share * n_queries))
