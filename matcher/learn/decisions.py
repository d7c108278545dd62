"""Coordinator decisions as the learner reads them: append-only, the latest one counts.

A later decision on the same suggestion supersedes an earlier one without deleting it, so the
history of how a coordinator changed their mind stays auditable (``services.decisions`` records
them); here they are read back — per suggestion, per (query, candidate) pair — for training, for
the decision-history features and for what a re-run shows on a pair's card.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import select

from matcher.graph.model import EdgeDecision
from matcher.store.db import session_scope
from matcher.store.tables import Decision, Suggestion


def pair_key(s: Suggestion) -> tuple[str, int, str, int]:
    """The (query, candidate) pair a suggestion is about, whichever run listed it."""
    return s.query_type, s.query_id, s.candidate_type, s.candidate_id


def latest_pairs(engine: Engine, kind: str = "coordinator") -> list[tuple[Decision, Suggestion]]:
    """(latest decision, its suggestion) per decided suggestion: by decision time, then insertion.
    ``kind``: coordinators' verdicts, or companies' replies (``company_reply``)."""
    with session_scope(engine) as s:
        rows = s.exec(select(Decision, Suggestion).where(Decision.suggestion_id == Suggestion.id, Decision.kind == kind)
                      .order_by(Decision.decided_at, Decision.id)).all()
    latest: dict[int, tuple[Decision, Suggestion]] = {}
    for dec, sug in rows:
        latest[sug.id] = (dec, sug)
    return list(latest.values())


def latest_decisions(engine: Engine, kind: str = "coordinator") -> dict[int, Decision]:
    """suggestion id → its latest decision of that kind."""
    return {sug.id: dec for dec, sug in latest_pairs(engine, kind)}


def pair_decisions(engine: Engine, query_type: str, query_id: int) -> dict[tuple[str, int], EdgeDecision]:
    """The latest coordinator decision on each (query, candidate) pair, whichever run it was made
    in: what a re-run shows on the pair's new card."""
    with session_scope(engine) as s:
        rows = s.exec(select(Decision, Suggestion).where(
            Decision.suggestion_id == Suggestion.id, Decision.kind == "coordinator",
            Suggestion.query_type == query_type, Suggestion.query_id == query_id)
            .order_by(Decision.decided_at, Decision.id)).all()
    out: dict[tuple[str, int], EdgeDecision] = {}
    for dec, sug in rows:
        out[(sug.candidate_type, sug.candidate_id)] = EdgeDecision(
            verdict=dec.verdict, reason=dec.reason, by=dec.coordinator, at=dec.decided_at, suggestion_id=sug.id)
    return out
