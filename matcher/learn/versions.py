"""Ranker versions: a directory of JSON per version, one row per version in the store, one active.

Promotion and rollback are logged in the audit log (rollback walks that log back); cold start is
the version below every other. Only JSON from the installation's own directory is ever read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from matcher.config import Settings
from matcher.errors import Conflict, NotFound
from matcher.graph.features import FEATURES, complete
from matcher.graph.scorers import (
    BlendedRanker,
    ColdStartScorer,
    LearnedRanker,
    ResidualRanker,
    feature_matrix,
)
from matcher.learn.training import COLD_START
from matcher.store.db import session_scope
from matcher.store.tables import AuditLog, ModelVersion, Suggestion


def versions_dir(settings: Settings) -> Path:
    return settings.data_dir / "models" / "rankers"


def load_version(mv: ModelVersion):
    """A stored version as a scorer. Only JSON from the installation's own directory is read.
    Versions trained before the residual model keep loading as the blend they were."""
    path = Path(mv.path)
    cfg = json.loads((path / "ranker.json").read_text())
    if cfg.get("kind") == ResidualRanker.kind:
        return ResidualRanker.load(path, mv.version)
    meta = json.loads((path / "version.json").read_text())
    return BlendedRanker(LearnedRanker.load(path), meta["alpha"], mv.version)


def active_version(engine: Engine) -> ModelVersion | None:
    with session_scope(engine) as s:
        return s.exec(select(ModelVersion).where(ModelVersion.status == "active")).first()


def active_scorer(engine: Engine):
    mv = active_version(engine)
    return load_version(mv) if mv else ColdStartScorer().fit()


def scorer_for(engine: Engine, version: str):
    if version == COLD_START:
        return ColdStartScorer().fit()
    with session_scope(engine) as s:
        mv = s.exec(select(ModelVersion).where(ModelVersion.version == version)).first()
    if mv is None:
        raise NotFound(f"モデル版 {version} はありません", f"no model version {version!r}")
    return load_version(mv)


def _next_version(engine: Engine) -> str:
    with session_scope(engine) as s:
        n = len(s.exec(select(ModelVersion.id)).all())
    return f"ranker-v{n + 1:04d}"


def _log(engine: Engine, action: str, target: str, detail: dict[str, Any], actor: str | None = None) -> None:
    with session_scope(engine) as s:
        s.add(AuditLog(actor=actor, action=action, target=target, detail=detail))


@dataclass(frozen=True, kw_only=True)
class VersionInfo:
    version: str
    kind: str
    status: str  # active | candidate | retired
    metrics: dict[str, Any]
    events_used: int
    trained_at: datetime | None
    note: str | None
    data_from: datetime | None = None
    data_to: datetime | None = None


@dataclass(frozen=True)
class Promotion:
    active: str
    previous: str


def list_versions(engine: Engine) -> list[VersionInfo]:
    """Cold start first, then every trained version in order."""
    with session_scope(engine) as s:
        rows = s.exec(select(ModelVersion).order_by(ModelVersion.id)).all()
    active = any(r.status == "active" for r in rows)
    out = [VersionInfo(version=COLD_START, kind="cold-start", status="retired" if active else "active", metrics={},
                       events_used=0, trained_at=None, note="README に記載の初期設定の重み")]
    out += [VersionInfo(version=r.version, kind=r.kind, status=r.status, metrics=r.metrics, events_used=r.events_used,
                        trained_at=r.trained_at, note=r.note, data_from=r.data_from, data_to=r.data_to) for r in rows]
    return out


def promote_version(engine: Engine, version: str, actor: str | None = None, reason: str = "manual") -> Promotion:
    with session_scope(engine) as s:
        rows = s.exec(select(ModelVersion)).all()
        if version != COLD_START and version not in {r.version for r in rows}:
            raise NotFound(f"モデル版 {version} はありません", f"no model version {version!r}")
        previous = next((r.version for r in rows if r.status == "active"), COLD_START)
        if previous == version:
            raise Conflict(f"{version} は既に有効です", f"{version} is already the active version")
        for r in rows:
            if r.status == "active":
                r.status = "retired"
            if r.version == version:
                r.status = "active"
            s.add(r)
    _log(engine, "promote", version, {"previous": previous, "reason": reason}, actor)
    return Promotion(version, previous)


def rollback(engine: Engine, actor: str | None = None) -> Promotion:
    """Re-activate the version that was active before the current one (cold start at the bottom)."""
    with session_scope(engine) as s:
        log = s.exec(select(AuditLog).where(AuditLog.action.in_(["promote", "rollback"])).order_by(AuditLog.id)).all()
    stack = [COLD_START]
    for entry in log:
        if entry.action == "promote":
            stack.append(entry.target)
        elif len(stack) > 1:
            stack.pop()
    if len(stack) < 2:
        raise Conflict("戻せる前の版がありません", "nothing to roll back to")
    current, target = stack[-1], stack[-2]
    with session_scope(engine) as s:
        for r in s.exec(select(ModelVersion)).all():
            if r.version == current:
                r.status = "retired"
            if r.version == target:
                r.status = "active"
            s.add(r)
    _log(engine, "rollback", target, {"from": current}, actor)
    return Promotion(target, current)


@dataclass(frozen=True, kw_only=True)
class Contribution:
    feature: str
    value: float
    contribution: float


@dataclass(frozen=True, kw_only=True)
class Explanation:
    """Each feature's contribution to a stored suggestion's score, under the version that ranked it."""

    suggestion_id: int
    model_version: str
    rank: int
    score: float
    reason: str
    contributions: list[Contribution]


def explain_suggestion(engine: Engine, suggestion_id: int) -> Explanation:
    with session_scope(engine) as s:
        sug = s.get(Suggestion, suggestion_id)
        if sug is None:
            raise NotFound(f"提案ID {suggestion_id} はありません", f"no suggestion {suggestion_id}")
    features = complete(sug.features or {})
    x = feature_matrix([features], FEATURES)[0]
    contrib = scorer_for(engine, sug.model_version).contributions(x)
    ordered = sorted(contrib.items(), key=lambda kv: -abs(kv[1]))
    return Explanation(suggestion_id=sug.id, model_version=sug.model_version, rank=sug.rank, score=sug.score,
                       reason=sug.explanation,
                       contributions=[Contribution(feature=n, value=features.get(n, 0.0), contribution=round(c, 5))
                                      for n, c in ordered if c != 0.0])
