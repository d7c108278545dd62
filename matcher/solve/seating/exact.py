"""CP-SAT on tiny instances: a proven optimum to check the tabu search against."""

from __future__ import annotations

import itertools
import time

from matcher.solve.result import Solution
from matcher.solve.seating.instance import SeatingInstance, _aff, _bad, companies_everywhere, is_company
from matcher.solve.seating.search import Seating, seating_solution

MAX_EXACT_TERMS = 3_000_000  # pair × table × round products above which the CP-SAT model is not built


def exact_model_size(inst: SeatingInstance) -> int:
    n = len(inst.people)
    return n * (n - 1) // 2 * len(inst.tables) * inst.rounds


def solve(inst: SeatingInstance, time_limit_s: float = 30.0, seed: int = 0,
          proven_only: bool = True) -> Solution[Seating] | None:
    """CP-SAT (a check for the tabu search). With ``proven_only`` the proven optimum or None;
    otherwise the best seating CP-SAT found within the budget (None when it found none). The
    model has a product variable per pair, table and round; past ``MAX_EXACT_TERMS`` it is not
    built at all (InvalidInput says so) rather than exhausting memory."""
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    n, T, R = len(inst.people), len(inst.tables), inst.rounds
    if exact_model_size(inst) > MAX_EXACT_TERMS:
        raise _bad(f"厳密解法には大きすぎます（{exact_model_size(inst):,} 変数）",
                   f"instance too large for the exact model ({exact_model_size(inst):,} pair-table-round terms)")
    m = cp_model.CpModel()
    x = {(p, t, r): m.new_bool_var(f"x{p}_{t}_{r}") for p in range(n) for t in range(T) for r in range(R)}
    for p in range(n):
        for r in range(R):
            m.add_exactly_one(x[p, t, r] for t in range(T))
            if p in inst.fixed:
                m.add(x[p, inst.fixed[p], r] == 1)
    for t, (_, cap) in enumerate(inst.tables):
        for r in range(R):
            m.add(sum(x[p, t, r] for p in range(n)) <= cap)
            by_org: dict[str, list[int]] = {}
            for p in range(n):
                by_org.setdefault(inst.people[p][1], []).append(p)
            for ps in by_org.values():
                if len(ps) > 1:
                    m.add(sum(x[p, t, r] for p in ps) <= 1)
            if companies_everywhere(inst):  # a table in use has a company
                companies = sum(x[p, t, r] for p in range(n) if is_company(inst, p))
                for p in range(n):
                    if not is_company(inst, p):
                        m.add(x[p, t, r] <= companies)
    terms = []
    for a, b in itertools.combinations(range(n), 2):
        together = []
        for t in range(T):
            for r in range(R):
                y = m.new_bool_var("")
                m.add_multiplication_equality(y, [x[a, t, r], x[b, t, r]])
                together.append(y)
        if (a, b) in inst.conflicts:
            m.add(sum(together) == 0)
        else:
            m.add(sum(together) <= 1)
            w = _aff(inst, a, b)
            if w:
                terms.append(w * sum(together))
    m.maximize(sum(terms) if terms else 0)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.random_seed = seed
    solver.parameters.num_workers = 2
    status = solver.solve(m)
    if status != cp_model.OPTIMAL and (proven_only or status != cp_model.FEASIBLE):
        return None
    rounds = tuple(tuple(next(t for t in range(T) if solver.value(x[p, t, r])) for p in range(n)) for r in range(R))
    return seating_solution(inst, rounds, time.perf_counter() - started, seed, proven=status == cp_model.OPTIMAL)
