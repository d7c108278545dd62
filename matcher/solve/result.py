"""What every solver returns, so solvers are interchangeable (as openreview-matcher's are).

Each solver module offers ``solve(problem, time_limit_s, seed) -> Solution`` and never assumes
optimality: the status says what was proven — ``optimal`` (the bound meets the objective),
``feasible`` (a solution, with the bound where the solver has one), ``infeasible`` (proven: no
solution exists; ``value`` is what the problem says instead), ``truncated`` (stopped by the
wall-clock limit before its own budget ended — on a slower machine; the value is the best found).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

T = TypeVar("T")
Status = Literal["optimal", "feasible", "infeasible", "truncated"]


@dataclass(frozen=True, kw_only=True)
class Solution(Generic[T]):
    value: T
    status: Status
    objective: float
    bound: float | None  # proven bound where the solver has one (≥ objective when maximising)
    seconds: float
    seed: int = 0
    sense: Literal["max", "min"] = "max"

    @property
    def gap(self) -> float | None:
        """Relative distance between objective and bound (0 when optimal; None without a bound)."""
        if self.status == "optimal":
            return 0.0
        if self.bound is None:
            return None
        diff = self.bound - self.objective if self.sense == "max" else self.objective - self.bound
        return max(0.0, diff / max(abs(self.bound if self.sense == "max" else self.objective), 1e-9))
