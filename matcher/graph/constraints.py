"""Hard constraints on the scored graph.

A candidate is never suggested to itself or to its own corporate group, never across a declared
conflict or competitor pair, and never when it has opted out; a person never to their own
employer, to an organisation they declared a conflict, nor across their employer's pairs. Every exclusion carries a reason
code ("why not") with a Japanese and an English label. Exposure caps for a batch are a solver's
job (``matcher.solve.capped``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


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

    def why_not_person(self, requester: int | None, affiliation: int | None, conflicts: tuple[int, ...]) -> str | None:
        """A person inherits their employer's declared pairs (a competitor's engineer does not
        advise its rival) and adds their own (a former employer declared as a conflict). The
        employer's opt-out is the employer's, not the person's."""
        if requester is None:
            return None
        if requester in conflicts:
            return "person_conflict"
        if affiliation is None:
            return None
        if requester == affiliation:
            return "own_employer"
        reason = self.why_not(requester, affiliation)
        return None if reason == "opt_out" else reason

    def split(self, requester: int | None, candidates: Iterable[int]) -> tuple[list[int], list[tuple[int, str]]]:
        kept, excluded = [], []
        for c in candidates:
            reason = self.why_not(requester, c)
            if reason:
                excluded.append((c, reason))
            else:
                kept.append(c)
        return kept, excluded
