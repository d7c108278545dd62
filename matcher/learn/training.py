"""Decisions → training set → new ranker version → evaluation → promotion gate.

Position bias: coordinators read shortlists from the top, so a rejection at rank 9 means less
than one at rank 1 and many low-ranked suggestions are never judged at all. The examination
propensity of each rank is estimated from the logs (share of suggestions shown at that rank that
received any decision, relative to rank 1) and labelled examples are weighted by its inverse
(Joachims, Swaminathan & Schnabel, WSDM 2017), clipped so no single example dominates.

Gate: the candidate is compared with the active version on a time-split hold-out (the newest
20 % of decisions, never seen in training) and promoted only if its nDCG@10 is not lower and its
AUC not lower by more than 0.01; otherwise it stays a candidate, with the reason.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlmodel import select

from matcher.config import Settings
from matcher.errors import Conflict, NotFound
from matcher.graph.features import FEATURES
from matcher.graph.scorers import BlendedRanker, ColdStartScorer, LearnedRanker, blend_weight, feature_matrix
from matcher.learn.decisions import latest_decisions
from matcher.metrics import ndcg_at
from matcher.store.db import session_scope
from matcher.store.tables import AuditLog, Decision, ModelVersion, Suggestion

MIN_DECISIONS = 30  # below this the cold-start scorer ranks alone
FULL_DECISIONS = 300  # from here on the learned ranker ranks alone
HOLDOUT_SHARE = 0.2
MAX_IPS_WEIGHT = 10.0
COMPANY_REPLY_WEIGHT = 0.5  # a company's reply counts half a coordinator's verdict
AUC_TOLERANCE = 0.01
COLD_START = "cold-start-v1"


@dataclass
class TrainingSet:
    X: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    groups: np.ndarray  # one id per (run, query): the list the coordinator looked at
    ranks: np.ndarray
    decided_at: list[datetime]
    propensity: dict[int, float]

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: np.ndarray) -> TrainingSet:
        return TrainingSet(self.X[idx], self.y[idx], self.weight[idx], self.groups[idx], self.ranks[idx],
                           [self.decided_at[i] for i in idx], self.propensity)


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def estimate_propensity(shown_ranks: list[int], decided_ranks: list[int]) -> dict[int, float]:
    """Examination propensity per rank: decided share at rank r / decided share at rank 1."""
    shown = np.bincount(shown_ranks) if shown_ranks else np.zeros(1)
    decided = np.bincount(decided_ranks, minlength=len(shown)) if decided_ranks else np.zeros(len(shown))
    rates = {r: decided[r] / shown[r] for r in range(1, len(shown)) if shown[r] > 0}
    top = rates.get(1) or max(rates.values(), default=1.0) or 1.0
    out, floor = {}, 1.0
    for r in sorted(rates):
        # Examination cannot rise further down the list: keep the running minimum.
        floor = min(floor, max(rates[r] / top, 1.0 / MAX_IPS_WEIGHT))
        out[r] = floor
    return out


def build_training_set(engine: Engine) -> TrainingSet:
    latest = latest_decisions(engine)
    with session_scope(engine) as s:
        shown = s.exec(select(Suggestion.id, Suggestion.rank, Suggestion.run_id, Suggestion.query_type,
                              Suggestion.query_id, Suggestion.features, Suggestion.kind, Suggestion.members)).all()
    by_id = {row[0]: row for row in shown}
    single = {i: row for i, row in by_id.items() if row[6] != "group"}
    decided = [(d, single[d.suggestion_id]) for d in latest.values() if d.suggestion_id in single]
    propensity = estimate_propensity([r[1] for r in single.values()], [row[1] for _, row in decided])
    # Companies' replies to accepted proposals are a signal of their own: whether the match worked
    # for the company. They label the same feature snapshot, in groups of their own (a pairwise
    # ranker compares replies only with replies), at a fixed weight and without position
    # correction (a company sees every proposal sent to it).
    replies = [(d, single[d.suggestion_id]) for d in latest_decisions(engine, "company_reply").values()
               if d.suggestion_id in single]
    examples: list[tuple[Any, dict, int, float, tuple, int]] = []  # decision, features, label, weight, list, rank
    for d, row in [(d, row) for d, row in decided if d.verdict in ("accept", "reject")] + replies:
        weight = COMPANY_REPLY_WEIGHT if d.kind == "company_reply" else 1.0 / propensity.get(row[1], 1.0 / MAX_IPS_WEIGHT)
        examples.append((d, row[5] or {}, 1 if d.verdict in ("accept", "interested") else 0, weight,
                         (d.kind, row[2], row[3], row[4]), row[1]))
    examples += group_examples(engine, latest, by_id)
    examples.sort(key=lambda e: (_aware(e[0].decided_at), e[0].id))
    group_ids: dict[tuple, int] = {}
    rows, y, w, groups, ranks, times = [], [], [], [], [], []
    for d, features, label, weight, key, rank in examples:
        rows.append(features)
        y.append(label)
        w.append(weight)
        groups.append(group_ids.setdefault(key, len(group_ids)))
        ranks.append(rank)
        times.append(_aware(d.decided_at))
    return TrainingSet(feature_matrix(rows, FEATURES), np.array(y, dtype=np.int64), np.array(w),
                       np.array(groups, dtype=np.int64), np.array(ranks, dtype=np.int64), times, propensity)


def group_examples(engine: Engine, latest: dict[int, Any], by_id: dict[int, Any]) -> list[tuple]:
    """A verdict on a joint-order group labels each member's own edge (weight shared among the
    members: the group was judged, not each firm); a member the coordinator dropped from a group
    is a clear rejection of that firm for that need (full weight)."""
    out: list[tuple] = []
    dropped: dict[int, set[int]] = {}
    with session_scope(engine) as s:
        drops = s.exec(select(Decision).where(Decision.kind == "group_drop")).all()
    for d in drops:
        if d.suggestion_id in by_id and d.comment and d.comment.isdigit():
            dropped.setdefault(d.suggestion_id, set()).add(int(d.comment))
            member = next((m for m in by_id[d.suggestion_id][7] or [] if m["org_id"] == int(d.comment)), None)
            if member is not None:
                row = by_id[d.suggestion_id]
                out.append((d, member.get("features") or {}, 0, 1.0, ("group_drop", row[2], row[3], row[4]), row[1]))
    for sid, d in latest.items():
        row = by_id.get(sid)
        if row is None or row[6] != "group" or d.verdict not in ("accept", "reject"):
            continue
        members = [m for m in row[7] or [] if m["org_id"] not in dropped.get(sid, set())]
        for m in members:
            out.append((d, m.get("features") or {}, 1 if d.verdict == "accept" else 0, 1.0 / max(len(members), 1),
                        ("group", row[2], row[3], row[4]), row[1]))
    return out


def time_split(ts: TrainingSet, share: float = HOLDOUT_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """Indices of (train, hold-out): the newest ``share`` of decisions is held out."""
    n = len(ts)
    cut = max(1, int(round(n * (1 - share)))) if n > 1 else n
    return np.arange(cut), np.arange(cut, n)


def evaluate_scores(scores: np.ndarray, ts: TrainingSet) -> dict[str, float]:
    """nDCG@10 per list (relevance = accepted) averaged over lists with an accept, and AUC."""
    from sklearn.metrics import roc_auc_score

    ndcgs = []
    for g in np.unique(ts.groups):
        idx = np.flatnonzero(ts.groups == g)
        if ts.y[idx].sum() == 0:
            continue
        order = idx[np.lexsort((idx, -scores[idx]))]
        found = [r for r, i in enumerate(order, start=1) if ts.y[i] == 1]
        ndcgs.append(ndcg_at(found, int(ts.y[idx].sum()), 10))
    auc = float(roc_auc_score(ts.y, scores)) if len(set(ts.y.tolist())) == 2 else float("nan")
    return {"ndcg@10": round(float(np.mean(ndcgs)), 4) if ndcgs else float("nan"), "auc": round(auc, 4),
            "n": len(ts), "lists": len(ndcgs)}


# -- versions --------------------------------------------------------------------------------------
def versions_dir(settings: Settings) -> Path:
    return settings.data_dir / "models" / "rankers"


def load_version(mv: ModelVersion):
    """A stored version as a scorer. Only JSON from the installation's own directory is read."""
    cfg = json.loads((Path(mv.path) / "version.json").read_text())
    return BlendedRanker(LearnedRanker.load(Path(mv.path)), cfg["alpha"], mv.version)


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


def _choose_method(ts: TrainingSet) -> tuple[str, dict[str, dict[str, float]]]:
    """Pick pointwise or pairwise on an inner time split of the training data (never the hold-out)."""
    inner_train, inner_val = time_split(ts)
    results: dict[str, dict[str, float]] = {}
    for method in ("pointwise", "pairwise"):
        try:
            tr = ts.subset(inner_train)
            model = LearnedRanker(method=method).fit(tr.X, tr.y, tr.weight, tr.groups)
            results[method] = evaluate_scores(model.score(ts.X[inner_val]), ts.subset(inner_val))
        except ValueError as exc:
            results[method] = {"ndcg@10": float("nan"), "error": str(exc)}
    def key(m: str) -> float:
        v = results[m].get("ndcg@10", float("nan"))
        return -1.0 if v is None or math.isnan(v) else v
    return max(("pointwise", "pairwise"), key=key), results


def _json_safe(value: Any) -> Any:
    """NaN (a metric undefined on a one-class hold-out) is not JSON; store it as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


def _log(engine: Engine, action: str, target: str, detail: dict[str, Any], actor: str | None = None) -> None:
    with session_scope(engine) as s:
        s.add(AuditLog(actor=actor, action=action, target=target, detail=detail))


def train(engine: Engine, settings: Settings, actor: str | None = None) -> dict[str, Any]:
    """Train a candidate version from the decisions so far and run the promotion gate."""
    started = time.perf_counter()
    ts = build_training_set(engine)
    n = len(ts)
    if n < MIN_DECISIONS:
        return {"status": "skipped", "reason": f"判定が {n} 件しかありません（{MIN_DECISIONS} 件未満は初期スコアのまま） / "
                f"only {n} labelled decisions; the cold-start scorer stays below {MIN_DECISIONS}",
                "decisions": n, "active": (active_version(engine) or ModelVersion(version=COLD_START, kind="", path="")).version}
    train_idx, hold_idx = time_split(ts)
    tr, hold = ts.subset(train_idx), ts.subset(hold_idx)
    try:
        method, selection = _choose_method(tr)
        learned = LearnedRanker(method=method).fit(tr.X, tr.y, tr.weight, tr.groups)
    except ValueError as exc:
        return {"status": "skipped", "reason": str(exc), "decisions": n}
    alpha = blend_weight(len(tr), MIN_DECISIONS, FULL_DECISIONS)
    version = _next_version(engine)
    candidate = BlendedRanker(learned, alpha, version)
    current = active_scorer(engine)
    cand_m = evaluate_scores(candidate.score(hold.X), hold)
    act_m = evaluate_scores(current.score(hold.X), hold)
    better_ndcg = not (cand_m["ndcg@10"] < act_m["ndcg@10"])  # nan-safe: nan compares False
    auc_ok = math.isnan(act_m["auc"]) or math.isnan(cand_m["auc"]) or cand_m["auc"] >= act_m["auc"] - AUC_TOLERANCE
    promote = better_ndcg and auc_ok
    reason = "promoted: not worse than the active version on the hold-out" if promote else (
        f"kept as candidate: hold-out nDCG@10 {cand_m['ndcg@10']} vs active {act_m['ndcg@10']}, "
        f"AUC {cand_m['auc']} vs {act_m['auc']}")
    path = versions_dir(settings) / version
    learned.save(path)
    meta = {"version": version, "alpha": alpha, "method": method, "features": list(FEATURES),
            "decisions": n, "train": len(tr), "holdout": len(hold),
            "data_from": ts.decided_at[0].isoformat(), "data_to": ts.decided_at[-1].isoformat(),
            "metrics": {"candidate": cand_m, "active": act_m, "selection": selection},
            "propensity": {str(k): round(v, 4) for k, v in ts.propensity.items()}, "gate": reason}
    (path / "version.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2))
    previous = active_version(engine)
    with session_scope(engine) as s:
        s.add(ModelVersion(version=version, kind=f"blended-{method}", path=str(path),
                           metrics=_json_safe(meta["metrics"]), features=list(FEATURES),
                           events_used=n, data_from=ts.decided_at[0], data_to=ts.decided_at[-1],
                           status="candidate", note=reason))
    _log(engine, "train", version, {"metrics": _json_safe(meta["metrics"]), "gate": reason}, actor)
    if promote:
        promote_version(engine, version, actor, reason="gate")
    return {"status": "promoted" if promote else "candidate", "version": version, "method": method,
            "alpha": round(alpha, 3), "decisions": n, "metrics": _json_safe(meta["metrics"]), "reason": reason,
            "previous": previous.version if previous else COLD_START, "path": str(path),
            "seconds": round(time.perf_counter() - started, 3)}


def list_versions(engine: Engine) -> list[dict[str, Any]]:
    with session_scope(engine) as s:
        rows = s.exec(select(ModelVersion).order_by(ModelVersion.id)).all()
    active = any(r.status == "active" for r in rows)
    out = [{"version": COLD_START, "kind": "cold-start", "status": "retired" if active else "active",
            "metrics": {}, "events_used": 0, "trained_at": None, "note": "documented fixed weights"}]
    for r in rows:
        out.append({"version": r.version, "kind": r.kind, "status": r.status, "metrics": r.metrics,
                    "events_used": r.events_used, "trained_at": r.trained_at.isoformat(), "note": r.note,
                    "data_from": r.data_from.isoformat() if r.data_from else None,
                    "data_to": r.data_to.isoformat() if r.data_to else None})
    return out


def promote_version(engine: Engine, version: str, actor: str | None = None, reason: str = "manual") -> dict[str, Any]:
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
    return {"active": version, "previous": previous}


def rollback(engine: Engine, actor: str | None = None) -> dict[str, Any]:
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
    return {"active": target, "previous": current}


def explain_suggestion(engine: Engine, suggestion_id: int) -> dict[str, Any]:
    """Each feature's contribution to a stored suggestion's score, under the version that ranked it."""
    with session_scope(engine) as s:
        sug = s.get(Suggestion, suggestion_id)
        if sug is None:
            raise NotFound(f"提案ID {suggestion_id} はありません", f"no suggestion {suggestion_id}")
    features = sug.features or {}
    scorer = scorer_for(engine, sug.model_version)
    x = feature_matrix([features], FEATURES)[0]
    contrib = scorer.contributions(x)
    ordered = sorted(contrib.items(), key=lambda kv: -abs(kv[1]))
    return {"suggestion_id": sug.id, "model_version": sug.model_version, "rank": sug.rank, "score": sug.score,
            "reason": sug.explanation,
            "contributions": [{"feature": n, "value": features.get(n, 0.0), "contribution": round(c, 5)}
                              for n, c in ordered if c != 0.0]}


FEATURE_JA = {
    "coverage": "必要工程のカバー率", "dense_scaled": "内容の近さ（意味）", "dense_max": "内容の近さ（最大）",
    "dense_mean": "内容の近さ（平均）", "bm25_norm": "語句の一致", "bm25": "語句の一致（生値）", "rrf": "検索順位",
    "cert_match": "求める認証の保有", "iso9001": "ISO9001", "same_city": "同じ市内", "neighbour": "近隣市",
    "tama": "多摩地域", "elsewhere": "多摩地域外", "pair_accepts": "この依頼元での過去の承認",
    "pair_rejects": "この依頼元での過去の却下", "past_rejects": "過去の却下", "past_accepts": "過去の承認",
    "freshness": "情報の新しさ", "sme": "中小企業", "small_business": "小規模企業", "log_employees": "規模",
    "employees_known": "従業員数の登録", "n_covered": "対応できる工程数", "n_required": "必要工程数",
    "cert_count": "認証の数", "dense_rank_inv": "意味検索の順位", "bm25_rank_inv": "語句検索の順位",
}


def score_breakdowns(engine: Engine, rows: list[tuple[str, dict[str, float]]], top: int = 6) -> list[list[dict[str, Any]]]:
    """For (model version, feature snapshot) pairs: the features that moved each score most, in
    Japanese, under the version that ranked it (each version is loaded once)."""
    scorers: dict[str, Any] = {}
    out = []
    for version, features in rows:
        if version not in scorers:
            try:
                scorers[version] = scorer_for(engine, version)
            except NotFound:
                scorers[version] = ColdStartScorer().fit()
        x = feature_matrix([features], FEATURES)[0]
        contrib = sorted(scorers[version].contributions(x).items(), key=lambda kv: -abs(kv[1]))
        out.append([{"feature": n, "label": FEATURE_JA.get(n, n), "value": features.get(n, 0.0),
                     "contribution": round(c, 4)} for n, c in contrib if c][:top])
    return out


def gate_ja(result: dict[str, Any]) -> str:
    """The promotion gate's verdict as a coordinator reads it."""
    n = result.get("decisions", 0)
    if result.get("status") == "skipped":
        return (f"学習しませんでした: 使える判定が {n} 件です（{MIN_DECISIONS} 件以上で学習します）。"
                "承認・却下の判定が両方あることも必要です。")
    metrics = result.get("metrics", {})
    cand, act = metrics.get("candidate", {}), metrics.get("active", {})
    held = cand.get("n", 0)
    fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
    head = (f"判定 {n:,} 件から新しい版 {result.get('version')} を学習しました。"
            f"最新の {held:,} 件は学習に使わず検証に回し、現行の版と比べました: "
            f"上位10件の並びの良さ（nDCG@10）{fmt(cand.get('ndcg@10'))}（現行 {fmt(act.get('ndcg@10'))}）、"
            f"承認と却下の見分け（AUC）{fmt(cand.get('auc'))}（現行 {fmt(act.get('auc'))}）。")
    if result.get("status") == "promoted":
        return head + "現行より悪くないため、この版を有効にしました。"
    return head + "現行より下がったため有効にせず、候補として保存しました（管理者が手動で有効にできます）。"
