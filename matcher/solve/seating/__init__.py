"""Forum seating (産業人フォーラム): tables over several rounds so that the right people meet.

Objective: the sum of pair affinity over the pairs that share a table in some round. Hard rules:
everyone seated in every round, table capacity, at most one person per organisation at a table,
no pair at the same table in two rounds, conflict pairs never together, fixed seats (a host stays
at the table in every round). The solver (``search``, its hot loop compiled in ``kernel``) is an
iterated maxima search over moves and swaps in every round with O(1) evaluation from gain
matrices; rules are penalties driven to zero by the same moves, so a full room is seated rather
than refused; only a proof (``check_feasible``'s counting, CP-SAT on small rooms) says
"impossible". The same seed and budget give the same seating. CP-SAT solves tiny instances
exactly, as a check. Bounds: each person's best rounds × (largest table − 1) affinities halved,
and the tighter b-matching LP (``lp_bound``). MDGPLIB files are read and solved by ``mdgp``.
"""


from matcher.solve.seating.exact import MAX_EXACT_TERMS, exact_model_size
from matcher.solve.seating.exact import solve as solve_exact
from matcher.solve.seating.instance import (
    SeatingInstance,
    check_feasible,
    lp_bound,
    objective,
    parse_instance,
    read_instance,
    upper_bound,
    violations,
)
from matcher.solve.seating.reseat import Reseating, reseat
from matcher.solve.seating.search import EVALS_PER_SECOND, HARD_LIMIT_FACTOR, Seating, hard_limit_s, solve

__all__ = ["EVALS_PER_SECOND", "HARD_LIMIT_FACTOR", "hard_limit_s", "MAX_EXACT_TERMS", "Reseating", "Seating", "SeatingInstance",
           "check_feasible", "lp_bound", "exact_model_size", "objective", "parse_instance", "read_instance", "reseat",
           "solve", "solve_exact", "upper_bound", "violations"]
