"""Ranker versions as the desk and the CLI use them: train a candidate and run the gate, list
the versions with their Japanese names, promote, roll back, explain one suggestion's score."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from matcher.config import Settings
from matcher.graph.features import FEATURES
from matcher.graph.scorers import ResidualRanker
from matcher.learn.gate import gate_decision, gate_ja, paired_gate
from matcher.learn.training import (
    COLD_START,
    MIN_DECISIONS,
    MIN_LISTS,
    NO_RESIDUAL,
    build_training_set,
    choose_penalty,
    evaluate_scores,
    holdout_split,
)
from matcher.learn.versions import (
    Explanation,
    Promotion,
    VersionInfo,
    _log,
    _next_version,
    active_scorer,
    active_version,
    explain_suggestion,
    list_versions,
    promote_version,
    rollback,
    versions_dir,
)
from matcher.store.db import session_scope
from matcher.store.tables import ModelVersion


@dataclass(frozen=True, kw_only=True)
class TrainResult:
    """What a training run did: ``status`` promoted | candidate | skipped, the version made, the
    figures the gate compared (``metrics``: candidate, active, gate, selection) and why."""

    status: str
    reason: str
    decisions: int
    compared_with: str
    version: str | None = None
    l2: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    seconds: float = 0.0

    @property
    def message_ja(self) -> str:
        return gate_ja(self)


def _json_safe(value: Any) -> Any:
    """NaN (a metric undefined on a one-class hold-out) is not JSON; store it as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def train(engine: Engine, settings: Settings, actor: str | None = None) -> TrainResult:
    """Train a candidate version from the decisions so far and run the promotion gate."""
    started = time.perf_counter()
    ts = build_training_set(engine)
    n = len(ts)
    active = active_version(engine)
    active_name = active.version if active else COLD_START
    if n < MIN_DECISIONS:
        return TrainResult(status="skipped", decisions=n, compared_with=active_name,
                           reason=f"判定が {n} 件しかありません（{MIN_DECISIONS} 件未満は初期スコアのまま） / "
                                  f"only {n} labelled decisions; the cold-start scorer stays below {MIN_DECISIONS}")
    if len(set(ts.y[ts.coordinator].tolist())) < 2:
        return TrainResult(status="skipped", decisions=n, compared_with=active_name,
                           reason="判定がすべて承認（またはすべて却下）で、学べることがありません / decisions contain only "
                                  "one verdict (all accepts or all rejects): nothing to learn")
    train_idx, hold_idx = holdout_split(ts, active.data_to if active else None)
    tr, hold = ts.subset(train_idx), ts.subset(hold_idx)
    if len(set(tr.y.tolist())) < 2:
        return TrainResult(status="skipped", decisions=n, compared_with=active_name,
                           reason="学習用の判定が一方の判定だけです / the training part holds only one verdict")
    l2, selection = choose_penalty(tr)
    version = _next_version(engine)
    # "No residual" is still fitted (a, b rescale the cold-start score): the calibrated probability.
    candidate = ResidualRanker(l2=l2 if l2 is not None else NO_RESIDUAL, version=version).fit(tr.X, tr.y, tr.weight,
                                                                                              tr.groups)
    current = active_scorer(engine)
    cand_scores, act_scores = candidate.score(hold.X), current.score(hold.X)
    cand_m, act_m = evaluate_scores(cand_scores, hold), evaluate_scores(act_scores, hold)
    gate = paired_gate(cand_scores, act_scores, hold)
    promote, why = gate_decision(gate)
    gate["decision"] = why
    if promote:
        reason = (f"promoted: better than {active_name} on {gate['lists']} hold-out lists "
                  f"(mean nDCG@10 {gate['mean_diff']:+.4f}, 95% CI {gate['ci95'][0]:+.4f}..{gate['ci95'][1]:+.4f}; "
                  f"AUC {gate['auc_diff']:+.4f}, 95% CI {gate['auc_ci95'][0]:+.4f}..{gate['auc_ci95'][1]:+.4f})")
    elif why == "too_few":
        reason = f"kept as candidate: only {gate['lists']} hold-out lists with an accept (at least {MIN_LISTS} needed)"
    else:
        reason = (f"kept as candidate: vs {active_name} on {gate['lists']} hold-out lists mean nDCG@10 "
                  f"{gate['mean_diff']:+.4f} (95% CI {gate['ci95'][0]:+.4f}..{gate['ci95'][1]:+.4f}), "
                  f"AUC {gate['auc_diff']:+.4f} (95% CI {gate['auc_ci95'][0]:+.4f}..{gate['auc_ci95'][1]:+.4f})")
    path = versions_dir(settings) / version
    candidate.save(path)
    metrics = {"candidate": cand_m, "active": act_m, "gate": gate, "selection": selection}
    meta = {"version": version, "kind": ResidualRanker.kind, "l2": l2, "a": round(candidate.a_, 4),
            "features": list(FEATURES), "decisions": n, "train": len(tr), "holdout": len(hold),
            "compared_with": active_name, "data_from": ts.decided_at[0].isoformat(),
            "data_to": ts.decided_at[-1].isoformat(), "metrics": metrics,
            "propensity": {str(k): round(v, 4) for k, v in ts.propensity.items()}, "gate": reason}
    (path / "version.json").write_text(json.dumps(_json_safe(meta), ensure_ascii=False, indent=2))
    with session_scope(engine) as s:
        s.add(ModelVersion(version=version, kind=ResidualRanker.kind, path=str(path), metrics=_json_safe(metrics),
                           features=list(FEATURES), events_used=n, data_from=ts.decided_at[0],
                           data_to=ts.decided_at[-1], status="candidate", note=reason))
    _log(engine, "train", version, {"metrics": _json_safe(metrics), "gate": reason}, actor)
    if promote:
        promote_version(engine, version, actor, reason="gate")
    return TrainResult(status="promoted" if promote else "candidate", version=version, l2=l2, decisions=n,
                       metrics=_json_safe(metrics), reason=reason, compared_with=active_name, path=str(path),
                       seconds=round(time.perf_counter() - started, 3))


# The desk's and the CLI's one door to the versions (kept in ``learn.versions``).
__all__ = ["Explanation", "Promotion", "TrainResult", "VersionInfo", "explain_suggestion", "list_versions",
           "promote_version", "rollback", "train"]
