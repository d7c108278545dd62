"""Joint-order groups (共同受注), exactly: which firms together cover every required process.

A set-cover model with what a coordinator weighs: maximise the members' edge scores plus the
pairwise affinity of members who share a table well (past joint work, nearby, complementary
rather than overlapping capabilities), minus a cost per member (a group of two beats a group of
four that is barely better), subject to coverage of every process, a size limit and no conflict
pair inside the group. A joint order is at least two firms, and in the usual, complementary mode
every member brings a process no other member covers (a firm that adds nothing is not a partner;
a need one firm covers alone has no group, and says so). The capacity mode (同一工程の共同受注)
drops that rule: firms pool their capacity on the same processes. CP-SAT proves optimality (or
states the gap); the k best distinct groups come from no-good cuts, each solve excluding every
group found so far (``k_best``).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from matcher.solve.result import Solution


@dataclass(frozen=True)
class GroupCandidate:
    id: int
    score: int  # the edge score, scaled to an integer
    covers: frozenset[str]  # required processes this firm can do


@dataclass(frozen=True)
class GroupProblem:
    required: tuple[str, ...]
    candidates: tuple[GroupCandidate, ...]
    affinity: dict[tuple[int, int], int] = field(default_factory=dict)  # (a, b) with a < b → integer
    conflicts: frozenset[frozenset[int]] = frozenset()
    max_size: int = 5
    member_cost: int = 0
    min_size: int = 2
    complementary: bool = True  # every member covers a process no other member covers

    def uncovered(self) -> list[str]:
        """Required processes no candidate in the pool can do (then no group exists)."""
        can = set().union(*(c.covers for c in self.candidates)) if self.candidates else set()
        return [p for p in self.required if p not in can]

    def objective(self, members: Iterable[int]) -> int:
        ids = sorted(set(members))
        by_id = {c.id: c for c in self.candidates}
        return (sum(by_id[i].score for i in ids) - self.member_cost * len(ids)
                + sum(self.affinity.get((a, b), 0) for a, b in itertools.combinations(ids, 2)))

    def feasible(self, members: Iterable[int]) -> bool:
        ids = set(members)
        by_id = {c.id: c for c in self.candidates}
        covered = set().union(*(by_id[i].covers for i in ids)) if ids else set()
        if self.complementary and any(not (by_id[i].covers - set().union(*(by_id[j].covers for j in ids - {i})))
                                      for i in ids):
            return False
        return (max(1, self.min_size) <= len(ids) <= self.max_size and set(self.required) <= covered
                and not any(frozenset(p) in self.conflicts for p in itertools.combinations(ids, 2)))


def solve(problem: GroupProblem, time_limit_s: float = 10.0, seed: int = 0) -> Solution[tuple[int, ...]]:
    """The best group (the solver interface every solver shares); ``infeasible`` with no members
    when no group covers every process."""
    found = k_best(problem, 1, time_limit_s, seed)
    return found[0] if found else Solution(value=(), status="infeasible", objective=0.0, bound=None,
                                           seconds=0.0, seed=seed)


def k_best(problem: GroupProblem, k: int = 3, time_limit_s: float = 10.0, seed: int = 0) -> list[Solution[tuple[int, ...]]]:
    """The k best distinct groups, best first (fewer when fewer exist or time runs out; none when
    infeasible), each with its own status and bound."""
    from ortools.sat.python import cp_model

    if problem.uncovered() or not problem.candidates:
        return []
    model = cp_model.CpModel()
    x = {c.id: model.new_bool_var(f"x{c.id}") for c in problem.candidates}
    for proc in problem.required:
        model.add_bool_or([x[c.id] for c in problem.candidates if proc in c.covers])
    model.add(sum(x.values()) <= problem.max_size)
    model.add(sum(x.values()) >= max(1, problem.min_size))
    if problem.complementary:
        # x_i ⇒ some process of i that no other chosen member covers (u[i, p]: i alone covers p).
        for c in problem.candidates:
            alone = []
            for proc in sorted(c.covers):
                u = model.new_bool_var(f"u{c.id}_{proc}")
                model.add_implication(u, x[c.id])
                for other in problem.candidates:
                    if other.id != c.id and proc in other.covers:
                        model.add_implication(u, x[other.id].Not())
                alone.append(u)
            model.add_bool_or(alone).only_enforce_if(x[c.id]) if alone else model.add(x[c.id] == 0)
    for pair in problem.conflicts:
        a, b = tuple(pair)
        if a in x and b in x:
            model.add_bool_or([x[a].Not(), x[b].Not()])
    terms = [(c.score - problem.member_cost) * x[c.id] for c in problem.candidates]
    for (a, b), w in sorted(problem.affinity.items()):
        if a in x and b in x and w:
            y = model.new_bool_var(f"y{a}_{b}")
            model.add_multiplication_equality(y, [x[a], x[b]])
            terms.append(w * y)
    model.maximize(sum(terms))
    found: list[Solution[tuple[int, ...]]] = []
    deadline = time.monotonic() + time_limit_s
    for _ in range(k):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        started = time.perf_counter()
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = left
        solver.parameters.random_seed = seed
        solver.parameters.num_workers = 1  # one worker: the same input gives the same groups
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        members = tuple(sorted(i for i, v in x.items() if solver.value(v)))
        found.append(Solution(value=members, status="optimal" if status == cp_model.OPTIMAL else "feasible",
                              objective=float(round(solver.objective_value)), bound=float(solver.best_objective_bound),
                              seconds=time.perf_counter() - started, seed=seed))
        # No-good cut: any later group differs from this one in at least one firm.
        model.add_bool_or([x[i].Not() for i in members] + [v for i, v in x.items() if i not in members])
    return found


def brute_force_groups(problem: GroupProblem, k: int = 3) -> list[tuple[int, tuple[int, ...]]]:
    """Every feasible group by enumeration (small instances, for tests): (objective, members)."""
    ids = [c.id for c in problem.candidates]
    out = [(problem.objective(m), m) for size in range(1, problem.max_size + 1)
           for m in itertools.combinations(sorted(ids), size) if problem.feasible(m)]
    return sorted(out, key=lambda om: (-om[0], om[1]))[:k]
