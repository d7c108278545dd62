"""Stored suggestions as the API lists them (coordinators only) and a need's history."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from matcher.graph.model import EdgeDecision
from matcher.services.suggestions import Driver, NeedHistory, StoredEdge, Verdict


class DecisionOut(BaseModel):
    """A coordinator's verdict as every JSON output shows it (the one ``DecisionOut``)."""

    suggestion_id: int
    verdict: str
    reason: str | None
    by: str | None
    at: datetime


class RecordedDecisionOut(BaseModel):
    """What recording a verdict answers."""

    decision_id: int
    suggestion_id: int
    verdict: str
    reason: str | None
    coordinator: str | None


class DriverOut(BaseModel):
    feature: str
    label: str
    value: float | None
    contribution: float


class StoredSuggestionOut(BaseModel):
    id: int
    run_id: str
    query_type: str
    query_id: int
    candidate_type: str
    candidate_id: int
    candidate_name: str | None
    candidate_external_id: str | None
    candidate_city: str | None
    candidate_url: str | None
    rank: int
    score: float
    model_version: str
    reason: str
    created_at: datetime
    features: dict[str, float]
    drivers: list[DriverOut]
    covered_processes: list[str]
    decision: DecisionOut | None


class StoredSuggestionsOut(BaseModel):
    items: list[StoredSuggestionOut]


class RunOut(BaseModel):
    run_id: str
    created_at: datetime
    model_version: str
    candidates: int
    kind: str


class HistoryDecisionOut(BaseModel):
    suggestion_id: int
    run_id: str
    candidate_type: str
    candidate_id: int
    candidate_name: str | None
    kind: str
    verdict: str
    reason: str | None
    comment: str | None
    by: str | None
    at: datetime


class NeedHistoryOut(BaseModel):
    need_id: int
    runs: list[RunOut]
    decisions: list[HistoryDecisionOut]


def decision_out(v: Verdict | EdgeDecision | None) -> DecisionOut | None:
    if v is None:
        return None
    return DecisionOut(suggestion_id=v.suggestion_id, verdict=v.verdict, reason=v.reason, by=v.by, at=v.at)


def driver_out(d: Driver) -> DriverOut:
    return DriverOut(feature=d.feature, label=d.label, value=d.value, contribution=d.contribution)


def stored_suggestion_out(e: StoredEdge) -> StoredSuggestionOut:
    return StoredSuggestionOut(
        id=e.id, run_id=e.run_id, query_type=e.query_type, query_id=e.query_id, candidate_type=e.candidate_type,
        candidate_id=e.candidate_id, candidate_name=e.candidate.name, candidate_external_id=e.candidate.external_id,
        candidate_city=e.candidate.place, candidate_url=e.candidate.url, rank=e.rank, score=e.score,
        model_version=e.model_version, reason=e.reason, created_at=e.created_at, features=dict(e.features),
        drivers=[driver_out(d) for d in e.drivers], covered_processes=list(e.covered), decision=decision_out(e.decision))


def need_history_out(h: NeedHistory) -> NeedHistoryOut:
    return NeedHistoryOut(need_id=h.need_id, runs=[RunOut(**vars(r)) for r in h.runs],
                          decisions=[HistoryDecisionOut(**vars(d)) for d in h.decisions])
