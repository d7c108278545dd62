"""CP-SAT on small instances: a proven optimum to check the search against, and the proof that
a room cannot be seated (with the rule that makes it so)."""

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


def _model(inst: SeatingInstance, drop: str | None = None):
    """The CP-SAT model (variables ``x[p, t, r]``); ``drop`` leaves one rule family out, to find
    which rule makes a room impossible."""
    from ortools.sat.python import cp_model

    n, T, R = len(inst.people), len(inst.tables), inst.rounds
    m = cp_model.CpModel()
    x = {(p, t, r): m.new_bool_var(f"x{p}_{t}_{r}") for p in range(n) for t in range(T) for r in range(R)}
    for p in range(n):
        for r in range(R):
            m.add_exactly_one(x[p, t, r] for t in range(T))
            if p in inst.fixed and drop != "fixed":
                m.add(x[p, inst.fixed[p], r] == 1)
    by_org: dict[str, list[int]] = {}
    for p in range(n):
        by_org.setdefault(inst.people[p][1], []).append(p)
    for t, (_, cap) in enumerate(inst.tables):
        for r in range(R):
            m.add(sum(x[p, t, r] for p in range(n)) <= cap)
            for ps in by_org.values():
                if len(ps) > 1 and drop != "org":
                    m.add(sum(x[p, t, r] for p in ps) <= 1)
            if companies_everywhere(inst) and drop != "mix":  # a table in use has a company
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
        if (a, b) in inst.conflicts and drop != "conflicts":
            m.add(sum(together) == 0)
        else:
            if drop != "repeat":
                m.add(sum(together) <= 1)
            w = _aff(inst, a, b)
            if w:
                terms.append(w * sum(together))
    m.maximize(sum(terms) if terms else 0)
    return m, x


def _run(m, time_limit_s: float, seed: int):
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.random_seed = seed
    solver.parameters.num_workers = 2
    return solver, solver.solve(m)


RULES_JA = {"repeat": "同じ相手と二度同席しないこと", "conflicts": "同席できない組み合わせ",
            "org": "同じ組織の二人を同じテーブルにしないこと", "mix": "どのテーブルにも企業を入れること",
            "fixed": "固定席"}


def infeasible_rule(inst: SeatingInstance, time_limit_s: float = 10.0) -> str | None:
    """A proof that no seating exists, in words: None unless CP-SAT proves the model infeasible
    (instances past ``MAX_EXACT_TERMS`` are not tried). The rule named is the first whose removal
    makes a seating possible, or every rule together when no single one does."""
    from ortools.sat.python import cp_model

    if exact_model_size(inst) > MAX_EXACT_TERMS // 10:
        return None
    m, _ = _model(inst)
    m.clear_objective()
    if _run(m, time_limit_s, 0)[1] != cp_model.INFEASIBLE:
        return None
    for rule, ja in RULES_JA.items():
        relaxed, _ = _model(inst, drop=rule)
        relaxed.clear_objective()
        if _run(relaxed, time_limit_s, 0)[1] in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return f"「{ja}」の規則のために席が足りません"
    return "規則の組み合わせのために席が足りません"


def solve(inst: SeatingInstance, time_limit_s: float = 30.0, seed: int = 0,
          proven_only: bool = True) -> Solution[Seating] | None:
    """CP-SAT (a check for the search). With ``proven_only`` the proven optimum or None;
    otherwise the best seating CP-SAT found within the budget (None when it found none). The
    model has a product variable per pair, table and round; past ``MAX_EXACT_TERMS`` it is not
    built at all (InvalidInput says so) rather than exhausting memory."""
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    n, T, R = len(inst.people), len(inst.tables), inst.rounds
    if exact_model_size(inst) > MAX_EXACT_TERMS:
        raise _bad(f"厳密解法には大きすぎます（{exact_model_size(inst):,} 変数）",
                   f"instance too large for the exact model ({exact_model_size(inst):,} pair-table-round terms)")
    m, x = _model(inst)
    solver, status = _run(m, time_limit_s, seed)
    if status != cp_model.OPTIMAL and (proven_only or status != cp_model.FEASIBLE):
        return None
    rounds = tuple(tuple(next(t for t in range(T) if solver.value(x[p, t, r])) for p in range(n)) for r in range(R))
    return seating_solution(inst, rounds, time.perf_counter() - started, seed, proven=status == cp_model.OPTIMAL)
