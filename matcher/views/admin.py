"""Administration as JSON: users, sessions, ranker versions, training runs, explanations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from matcher.labels import ranker_ja
from matcher.learn.versions import Explanation, Promotion, VersionInfo
from matcher.services.rankers import TrainResult
from matcher.views.common import plain


class HealthOut(BaseModel):
    status: str


class RevokedOut(BaseModel):
    revoked_sessions: int


class UserCreatedOut(BaseModel):
    id: int
    email: str
    role: str
    org_id: int | None


class MemberDroppedOut(BaseModel):
    decision_id: int
    suggestion_id: int
    dropped: int


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: str
    name_ja: str
    kind: str
    status: str
    metrics: dict[str, Any]
    events_used: int
    trained_at: datetime | None
    note: str | None
    data_from: datetime | None
    data_to: datetime | None


class VersionsOut(BaseModel):
    versions: list[VersionOut]


class PromotionOut(BaseModel):
    active: str
    previous: str


def version_out(v: VersionInfo) -> VersionOut:
    return VersionOut(version=v.version, name_ja=ranker_ja(v.version, v.events_used), kind=v.kind, status=v.status,
                      metrics=plain(v.metrics), events_used=v.events_used, trained_at=v.trained_at, note=v.note,
                      data_from=v.data_from, data_to=v.data_to)


def versions_out(versions: list[VersionInfo]) -> VersionsOut:
    return VersionsOut(versions=[version_out(v) for v in versions])


def promotion_out(p: Promotion) -> PromotionOut:
    return PromotionOut(active=p.active, previous=p.previous)


def train_json(r: TrainResult) -> dict[str, Any]:
    """A training run: what was made, the gate's figures and its verdict in Japanese."""
    return {**plain(r), "message_ja": r.message_ja}


def explanation_json(e: Explanation) -> dict[str, Any]:
    return plain(e)
