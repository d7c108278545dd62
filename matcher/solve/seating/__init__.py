"""Forum seating (産業人フォーラム): tables over several rounds so that the right people meet.

Objective: the sum of pair affinity over the pairs that share a table in some round. Hard rules:
everyone seated in every round, table capacity, at most one person per organisation at a table,
no pair at the same table in two rounds, conflict pairs never together, fixed seats (a host stays
at the table in every round). The solver is a tabu search over swap and move moves with
incremental (delta) evaluation, from a feasible constructive start, restarted from perturbed
bests until the time budget ends; the same seed gives the same seating. CP-SAT solves tiny
instances exactly, as a check. The upper bound gives each person their best
rounds × (largest table − 1) positive affinities, halved (each pair counted once).
"""


from matcher.solve.seating.exact import MAX_EXACT_TERMS, exact_model_size
from matcher.solve.seating.exact import solve as solve_exact
from matcher.solve.seating.instance import (
    SeatingInstance,
    check_feasible,
    objective,
    parse_instance,
    read_instance,
    upper_bound,
    violations,
)
from matcher.solve.seating.reseat import Reseating, reseat
from matcher.solve.seating.search import HARD_LIMIT_FACTOR, ITERATIONS_PER_SECOND, Seating, construct, solve

__all__ = ["HARD_LIMIT_FACTOR", "ITERATIONS_PER_SECOND", "MAX_EXACT_TERMS", "Reseating", "Seating", "SeatingInstance",
           "check_feasible", "construct", "exact_model_size", "objective", "parse_instance", "read_instance", "reseat",
           "solve", "solve_exact", "upper_bound", "violations"]
