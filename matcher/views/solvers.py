"""Solver results as JSON: the shared ``Solution`` fields, then what each solver's value is."""

from __future__ import annotations

from typing import Any

from matcher.solve.result import Solution
from matcher.solve.seating import Seating, SeatingInstance, violations
from matcher.solve.seating.mdgp import Grouping, MdgpInstance
from matcher.solve.setcover import SetCoverInstance


def solution_json(sol: Solution[Any]) -> dict[str, Any]:
    gap = sol.gap
    return {"status": sol.status, "objective": sol.objective, "bound": sol.bound,
            "gap": None if gap is None else round(gap, 6), "seconds": round(sol.seconds, 3), "seed": sol.seed}


def set_cover_json(inst: SetCoverInstance, sol: Solution[tuple[int, ...]]) -> dict[str, Any]:
    return {**solution_json(sol), "cost": sol.objective, "columns": [j + 1 for j in sol.value],
            "n_columns": inst.n_columns, "n_rows": len(inst.rows)}


def seating_json(inst: SeatingInstance, sol: Solution[Seating]) -> dict[str, Any]:
    """The solver's figures and each round's seating by participant and table id (``upper_bound``
    and ``truncated`` kept under the names the command has always printed)."""
    rounds = sol.value.rounds
    return {**solution_json(sol), "objective": int(sol.objective), "upper_bound": int(sol.bound or 0),
            "gap": round(sol.gap or 0.0, 4),
            "rounds": [{inst.people[p][0]: inst.tables[t][0] for p, t in enumerate(r)} for r in rounds],
            "violations": len(violations(inst, rounds)), "iterations": sol.value.iterations,
            "truncated": sol.status == "truncated"}


def grouping_json(inst: MdgpInstance, sol: Solution[Grouping]) -> dict[str, Any]:
    """An MDGP run: the objective in the file's units, each element's group (0-based, as in the
    file) and each group's members."""
    members: dict[int, list[int]] = {}
    for i, g in enumerate(sol.value.groups):
        members.setdefault(g, []).append(i)
    return {**solution_json(sol), "instance": inst.name, "n": inst.n, "groups": len(inst.lo),
            "assignment": list(sol.value.groups), "members": [members.get(g, []) for g in range(len(inst.lo))],
            "evaluations": sol.value.evaluations, "descents": sol.value.iterations,
            "truncated": sol.status == "truncated"}
