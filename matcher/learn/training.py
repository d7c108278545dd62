"""Decisions → training set → new ranker version → evaluation → promotion gate.

Position bias: coordinators read shortlists from the top, so a rejection at rank 9 means less
than one at rank 1 and many low-ranked suggestions are never judged at all. The examination
propensity of each rank is estimated from the logs (share of suggestions shown at that rank that
received any decision, relative to rank 1) and labelled examples are weighted by its inverse
(Joachims, Swaminathan & Schnabel, WSDM 2017), clipped so no single example dominates.

The model builds on what the cold-start scorer knows (``graph.scorers.ResidualRanker``: the
cold-start score rescaled, plus a penalised residual). How far the residual may move away from
the documented weights is measured, not a constant: the penalty is chosen by cross-validation
over whole shortlists of the training data, so with little evidence the model *is* the cold-start
ranking and it departs from it only as far as that helps on lists it has not seen.

Features are the snapshot stored with each suggestion when it was made — before any decision on
it — so the history features (past accepts and rejects of the pair) never contain the label being
learned or evaluated. Company replies (興味あり / 辞退) are a signal of their own: their own lists,
half a coordinator's weight each, and together never more than a quarter of the coordinators'
weight, so they refine but never outvote the coordinators' shortlist.

Gate: candidate and active version score the same hold-out — the coordinators' newest lists (at
least ``MIN_LISTS`` of them, and where possible only lists newer than what the active version was
trained on) — and are compared list by list: nDCG@10 per list and AUC across the lists, each
difference with a paired bootstrap 95 % interval over lists (``gate_decision``). With too few
lists nothing is decided.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
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
    pair_index,
)
from matcher.labels import ranker_ja
from matcher.metrics import ndcg_at
from matcher.store.db import session_scope
from matcher.store.tables import AuditLog, Decision, ModelVersion, Suggestion

MIN_DECISIONS = 30  # below this nothing is trained: the cold-start scorer ranks
MIN_LISTS = 10  # hold-out lists (with an accept) needed for the gate to decide anything
HOLDOUT_SHARE = 0.25  # of the lists, the newest
MAX_IPS_WEIGHT = 10.0
COMPANY_REPLY_WEIGHT = 0.5  # a company's reply counts half a coordinator's verdict …
REPLY_SHARE_CAP = 0.25  # … and all replies together at most a quarter of the coordinators' weight
WORSE_TOLERANCE = 0.01  # a candidate better at AUC may be at most this much lower in mean nDCG@10
NDCG_FLOOR = 0.02  # a candidate better on average in nDCG@10: its 95 % interval may not reach below −this
L2_GRID = (1e4, 1e3, 100.0, 30.0, 10.0, 3.0, 1.0)  # strong → weak: each fit warm-starts the next
NO_RESIDUAL = 1e12
CV_FOLDS = 3
BOOTSTRAP = 2000
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
    coordinator: np.ndarray  # True for a coordinator's verdict, False for a company's reply
    suggestions: np.ndarray  # the suggestion each example labels

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: np.ndarray) -> TrainingSet:
        return TrainingSet(self.X[idx], self.y[idx], self.weight[idx], self.groups[idx], self.ranks[idx],
                           [self.decided_at[i] for i in idx], self.propensity, self.coordinator[idx],
                           self.suggestions[idx])

    def lists(self) -> list[np.ndarray]:
        """Each list's example indices, oldest list first (by its newest decision)."""
        if len(self.groups) == 0:
            return []
        order = np.argsort(self.groups, kind="stable")
        out = np.split(order, np.flatnonzero(np.diff(self.groups[order])) + 1)
        return sorted(out, key=lambda idx: (max(self.decided_at[i] for i in idx), int(idx[0])))


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


def _latest_verdicts(engine: Engine) -> tuple[dict[int, Any], list[Any]]:
    """(suggestion → latest coordinator decision, the latest company reply per suggestion and
    answering organisation), as plain rows: a training run reads every decision once."""
    with session_scope(engine) as s:
        rows = s.exec(select(Decision.id, Decision.suggestion_id, Decision.kind, Decision.verdict, Decision.org_id,
                             Decision.decided_at, Decision.comment)
                      .where(Decision.kind.in_(("coordinator", "company_reply")))
                      .order_by(Decision.decided_at, Decision.id)).all()
    coordinator: dict[int, Any] = {}
    replies: dict[tuple[int, int | None], Any] = {}
    for row in rows:
        if row.kind == "coordinator":
            coordinator[row.suggestion_id] = row
        else:
            replies[(row.suggestion_id, row.org_id)] = row
    return coordinator, list(replies.values())


def build_training_set(engine: Engine) -> TrainingSet:
    latest, reply_rows = _latest_verdicts(engine)
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
    replies = [(d, single[d.suggestion_id]) for d in reply_rows if d.suggestion_id in single]
    examples: list[tuple[Any, dict, int, float, tuple, int]] = []  # decision, features, label, weight, list, rank
    for d, row in [(d, row) for d, row in decided if d.verdict in ("accept", "reject")] + replies:
        weight = COMPANY_REPLY_WEIGHT if d.kind == "company_reply" else 1.0 / propensity.get(row[1], 1.0 / MAX_IPS_WEIGHT)
        key = (d.kind, d.org_id, row[2], row[3], row[4]) if d.kind == "company_reply" else (d.kind, row[2], row[3], row[4])
        examples.append((d, complete(row[5] or {}), 1 if d.verdict in ("accept", "interested") else 0, weight, key,
                         row[1]))
    examples += group_examples(engine, latest, by_id)
    examples.sort(key=lambda e: (e[0].decided_at, e[0].id))
    group_ids: dict[tuple, int] = {}
    rows, y, w, groups, ranks, times, coord, sids = [], [], [], [], [], [], [], []
    for d, features, label, weight, key, rank in examples:
        sids.append(d.suggestion_id)
        rows.append(features)
        y.append(label)
        w.append(weight)
        groups.append(group_ids.setdefault(key, len(group_ids)))
        ranks.append(rank)
        times.append(d.decided_at)
        coord.append(d.kind != "company_reply")
    w_arr, coord_arr = np.array(w, dtype=np.float64), np.array(coord, dtype=bool)
    reply_total, coord_total = w_arr[~coord_arr].sum(), w_arr[coord_arr].sum()
    if reply_total > REPLY_SHARE_CAP * coord_total > 0:
        w_arr[~coord_arr] *= REPLY_SHARE_CAP * coord_total / reply_total
    return TrainingSet(feature_matrix(rows, FEATURES), np.array(y, dtype=np.int64), w_arr,
                       np.array(groups, dtype=np.int64), np.array(ranks, dtype=np.int64), times, propensity, coord_arr,
                       np.array(sids, dtype=np.int64))


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
                out.append((d, complete(member.get("features") or {}), 0, 1.0, ("group_drop", row[2], row[3], row[4]),
                            row[1]))
    for sid, d in latest.items():
        row = by_id.get(sid)
        if row is None or row[6] != "group" or d.verdict not in ("accept", "reject"):
            continue
        members = [m for m in row[7] or [] if m["org_id"] not in dropped.get(sid, set())]
        for m in members:
            out.append((d, complete(m.get("features") or {}), 1 if d.verdict == "accept" else 0, 1.0 / max(len(members), 1),
                        ("group", row[2], row[3], row[4]), row[1]))
    return out


def list_ndcg(scores: np.ndarray, ts: TrainingSet, idx: np.ndarray, k: int = 10) -> float | None:
    """nDCG@k of one list ranked by ``scores`` (relevance = accepted); None without an accept."""
    if ts.y[idx].sum() == 0:
        return None
    order = idx[np.lexsort((idx, -scores[idx]))]
    found = [r for r, i in enumerate(order, start=1) if ts.y[i] == 1]
    return ndcg_at(found, int(ts.y[idx].sum()), k)


def evaluate_scores(scores: np.ndarray, ts: TrainingSet) -> dict[str, float]:
    """On the coordinators' lists (what the ranker orders): nDCG@10 per list (relevance =
    accepted) averaged over lists with an accept, and AUC."""
    ndcgs = [v for idx in ts.lists() if ts.coordinator[idx].all() and (v := list_ndcg(scores, ts, idx)) is not None]
    mask = ts.coordinator
    auc = _auc(ts.y[mask], scores[mask], np.ones(int(mask.sum())))
    return {"ndcg@10": round(float(np.mean(ndcgs)), 4) if ndcgs else float("nan"), "auc": round(auc, 4),
            "n": len(ts), "lists": len(ndcgs)}


def holdout_split(ts: TrainingSet, after: datetime | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(train, hold-out) example indices, whole lists each: the newest ``HOLDOUT_SHARE`` of the
    lists, at least ``MIN_LISTS`` with an accept (none held out, and so nothing promoted, while
    there are fewer than twice that). With ``after`` (when the
    active version's data ends), the hold-out keeps to lists newer than that when enough are."""
    lists = [idx for idx in ts.lists() if ts.coordinator[idx].all()]
    judged = [idx for idx in lists if ts.y[idx].sum() > 0]
    if len(judged) < 2 * MIN_LISTS:  # too few to hold enough out and still learn: no gate decision
        return np.arange(len(ts)), np.zeros(0, dtype=np.int64)
    want = max(MIN_LISTS, math.ceil(HOLDOUT_SHARE * len(judged)))
    fresh = [idx for idx in lists if after is None or min(ts.decided_at[i] for i in idx) > after]
    pool = fresh if sum(ts.y[idx].sum() > 0 for idx in fresh) >= want else lists
    hold, seen = [], 0
    for idx in reversed(pool):
        if seen >= want:
            break
        hold.append(idx)
        seen += int(ts.y[idx].sum() > 0)
    hold_set = {int(i) for idx in hold for i in idx}
    # A company's reply to a held-out suggestion would tell the model that a coordinator accepted it.
    held = {int(ts.suggestions[i]) for i in hold_set}
    train_idx = np.array([i for i in range(len(ts)) if i not in hold_set and int(ts.suggestions[i]) not in held],
                         dtype=np.int64)
    return train_idx, np.array(sorted(hold_set), dtype=np.int64)


def choose_penalty(ts: TrainingSet, seed: int = 0) -> tuple[float | None, dict[str, float]]:
    """The residual penalty that predicts unseen lists best: grouped K-fold over the lists of the
    training data (a list is never split), weighted log-loss of the coordinators' verdicts on the
    held-out folds. Log-loss, not nDCG within the logged lists: a logged list only shows what the
    old ranker put on top, and how well a model re-orders those ten says little about the firms
    it would bring up from further down; the probability of an accept, position-weighted, does.
    ``None`` is "no residual" (the rescaled cold-start ranking); near-ties (within 0.2 %) go to
    the stronger penalty, so evidence has to earn each step away from the documented weights."""
    lists = [idx for idx in ts.lists() if ts.coordinator[idx].all()]
    rng = np.random.default_rng(seed)
    folds = np.array_split(rng.permutation(len(lists)), min(CV_FOLDS, max(len(lists), 1)))
    results: dict[str, float] = {}
    losses: dict[float | None, float] = {}
    warm: dict[int, np.ndarray] = {}
    pi, pj, pw = pair_index(ts.y, ts.weight, ts.groups)
    splits = []
    for fold in folds:  # each fold's training rows and its pairs, re-indexed, computed once
        val = np.concatenate([lists[i] for i in fold]) if len(fold) else np.zeros(0, dtype=np.int64)
        held = np.isin(ts.suggestions, ts.suggestions[val])
        tr = np.flatnonzero(~held)
        new = np.full(len(ts), -1)
        new[tr] = np.arange(len(tr))
        keep = (new[pi] >= 0) & (new[pj] >= 0)
        splits.append((val, tr, (new[pi[keep]], new[pj[keep]], pw[keep])))
    for l2 in (None, *L2_GRID):
        total, weight = 0.0, 0.0
        for f, (val, tr, pairs) in enumerate(splits):
            if len(val) == 0 or len(set(ts.y[tr].tolist())) < 2:
                continue
            sub = ts.subset(tr)
            model = ResidualRanker(l2=l2 if l2 is not None else NO_RESIDUAL)
            model.fit(sub.X, sub.y, sub.weight, sub.groups, start=warm.get(f), pairs=pairs)
            warm[f] = model.theta_
            p = np.clip(model.score(ts.X[val]), 1e-6, 1 - 1e-6)
            y, w = ts.y[val], ts.weight[val]
            total += float(np.sum(w * -(y * np.log(p) + (1 - y) * np.log(1 - p))))
            weight += float(w.sum())
        losses[l2] = total / weight if weight else float("inf")
        results["cold" if l2 is None else f"{l2:g}"] = round(losses[l2], 5)
    best = min(losses.values())
    for l2 in (None, *L2_GRID):  # strongest penalty within the tolerance of the best
        if losses[l2] <= best * (1 + 0.002) + 1e-12:
            return l2, results
    return None, results


def _auc(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> float:
    """Weighted AUC (Mann–Whitney with ties halved)."""
    pos, neg = y == 1, y == 0
    if not pos.any() or not neg.any():
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    s_sorted, y_sorted, w_sorted = s[order], y[order], w[order]
    neg_w = np.where(y_sorted == 0, w_sorted, 0.0)
    cum_neg = np.cumsum(neg_w)
    # For each positive: the negative weight strictly below it, plus half the tied negatives.
    uniq, start = np.unique(s_sorted, return_index=True)
    end = np.r_[start[1:], len(s_sorted)]
    below = np.r_[0.0, cum_neg][start]
    tied = cum_neg[end - 1] - below
    group = np.searchsorted(uniq, s_sorted)
    credit = below[group] + 0.5 * tied[group]
    pw = np.where(y_sorted == 1, w_sorted, 0.0)
    return float((pw * credit).sum() / (pw.sum() * neg_w.sum()))


def paired_gate(cand: np.ndarray, active: np.ndarray, hold: TrainingSet, seed: int = 0) -> dict[str, Any]:
    """Both versions on the same hold-out lists of the coordinators: per-list nDCG@10 differences
    (their mean and a paired bootstrap 95 % interval), and the difference in telling accepted from
    rejected across all those lists (AUC, position-weighted, with the same bootstrap over lists)."""
    lists = [idx for idx in hold.lists() if hold.coordinator[idx].all()]
    diffs, used = [], []
    for idx in lists:
        a, b = list_ndcg(cand, hold, idx), list_ndcg(active, hold, idx)
        if a is not None and b is not None:
            diffs.append(a - b)
            used.append(idx)
    if not diffs:
        return {"lists": 0, "mean_diff": None, "ci95": [None, None], "auc_diff": None, "auc_ci95": [None, None]}
    d = np.array(diffs)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(d), size=(BOOTSTRAP, len(d)))
    means = d[picks].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    every = np.concatenate(lists)
    y, w = hold.y[every], hold.weight[every]
    auc_diff = _auc(y, cand[every], w) - _auc(y, active[every], w)
    boot = []
    for row in picks[:BOOTSTRAP // 4]:
        sel = np.concatenate([used[i] for i in row])
        boot.append(_auc(hold.y[sel], cand[sel], hold.weight[sel]) - _auc(hold.y[sel], active[sel], hold.weight[sel]))
    boot = [b for b in boot if not math.isnan(b)]
    a_lo, a_hi = np.percentile(boot, [2.5, 97.5]) if boot else (float("nan"), float("nan"))
    return {"lists": len(d), "mean_diff": round(float(d.mean()), 4), "ci95": [round(float(lo), 4), round(float(hi), 4)],
            "better_lists": int((d > 1e-9).sum()), "worse_lists": int((d < -1e-9).sum()),
            "auc_diff": round(float(auc_diff), 4), "auc_ci95": [round(float(a_lo), 4), round(float(a_hi), 4)]}


def gate_decision(gate: dict[str, Any]) -> tuple[bool, str]:
    """(promote, why). Enough lists, and better with evidence on the coordinators' own lists:
    nDCG@10 higher on average with its 95 % interval not reaching below ``-NDCG_FLOOR``, or
    telling accepts from rejects clearly better (AUC's whole 95 % interval above zero) while
    nDCG@10 is on average not lower by more than ``WORSE_TOLERANCE``."""
    if gate["lists"] < MIN_LISTS:
        return False, "too_few"
    auc_lo = (gate.get("auc_ci95") or [None])[0]
    if gate["mean_diff"] > 0 and gate["ci95"][0] >= -NDCG_FLOOR:
        return True, "ndcg"
    if auc_lo is not None and not math.isnan(auc_lo) and auc_lo > 0 and gate["mean_diff"] >= -WORSE_TOLERANCE:
        return True, "auc"
    return False, "maybe_worse" if gate["mean_diff"] < -WORSE_TOLERANCE or gate["ci95"][0] < -NDCG_FLOOR else "not_better"


# -- versions --------------------------------------------------------------------------------------
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


def _json_safe(value: Any) -> Any:
    """NaN (a metric undefined on a one-class hold-out) is not JSON; store it as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _log(engine: Engine, action: str, target: str, detail: dict[str, Any], actor: str | None = None) -> None:
    with session_scope(engine) as s:
        s.add(AuditLog(actor=actor, action=action, target=target, detail=detail))


def train(engine: Engine, settings: Settings, actor: str | None = None) -> dict[str, Any]:
    """Train a candidate version from the decisions so far and run the promotion gate."""
    started = time.perf_counter()
    ts = build_training_set(engine)
    n = len(ts)
    active = active_version(engine)
    active_name = active.version if active else COLD_START
    if n < MIN_DECISIONS:
        return {"status": "skipped", "reason": f"判定が {n} 件しかありません（{MIN_DECISIONS} 件未満は初期スコアのまま） / "
                f"only {n} labelled decisions; the cold-start scorer stays below {MIN_DECISIONS}",
                "decisions": n, "active": active_name}
    if len(set(ts.y[ts.coordinator].tolist())) < 2:
        return {"status": "skipped", "decisions": n, "active": active_name,
                "reason": "判定がすべて承認（またはすべて却下）で、学べることがありません / decisions contain only one "
                          "verdict (all accepts or all rejects): nothing to learn"}
    train_idx, hold_idx = holdout_split(ts, active.data_to if active else None)
    tr, hold = ts.subset(train_idx), ts.subset(hold_idx)
    if len(set(tr.y.tolist())) < 2:
        return {"status": "skipped", "decisions": n, "active": active_name,
                "reason": "学習用の判定が一方の判定だけです / the training part holds only one verdict"}
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
    return {"status": "promoted" if promote else "candidate", "version": version, "method": "residual",
            "l2": l2, "decisions": n, "metrics": _json_safe(metrics), "reason": reason, "previous": active_name,
            "compared_with": active_name, "path": str(path), "seconds": round(time.perf_counter() - started, 3)}


def list_versions(engine: Engine) -> list[dict[str, Any]]:
    with session_scope(engine) as s:
        rows = s.exec(select(ModelVersion).order_by(ModelVersion.id)).all()
    active = any(r.status == "active" for r in rows)
    out = [{"version": COLD_START, "kind": "cold-start", "status": "retired" if active else "active",
            "metrics": {}, "events_used": 0, "trained_at": None, "note": "README に記載の初期設定の重み"}]
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
    """The promotion gate's verdict as a coordinator reads it: what was compared with what, on how
    many lists, by how much, and what was done."""
    n = result.get("decisions", 0)
    if result.get("status") == "skipped":
        return (f"学習しませんでした: 使える判定が {n} 件です（{MIN_DECISIONS} 件以上で学習します）。"
                "承認・却下の判定が両方あることも必要です。")
    metrics = result.get("metrics", {})
    cand, act, gate = metrics.get("candidate", {}), metrics.get("active", {}), metrics.get("gate", {})
    fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
    signed = lambda v: "—" if v is None else f"{v:+.3f}"  # noqa: E731
    lo, hi = (gate.get("ci95") or [None, None])[:2]
    alo, ahi = (gate.get("auc_ci95") or [None, None])[:2]
    others = ranker_ja(result.get("compared_with") or COLD_START)
    residual = ("初期設定の重みをそのまま使い、判定に合わせて目盛りだけを調整しました" if result.get("l2") is None
                else "初期設定の重みを土台に、判定から分かった差分を学習しました（差分の大きさは交差検証で決めました）")
    head = (f"判定 {n:,} 件から新しい版（{ranker_ja(result.get('version') or '')}）を作りました。{residual}。"
            f"学習に使っていない最新の候補リスト {gate.get('lists', 0)} 件で、現行の「{others}」と同じリストを並べ直して比べました: "
            f"上位10件の並びの良さ（nDCG@10）は新しい版 {fmt(cand.get('ndcg@10'))}・現行 {fmt(act.get('ndcg@10'))}"
            f"（リストごとの差の平均 {signed(gate.get('mean_diff'))}、95% 信頼区間 {signed(lo)}〜{signed(hi)}、"
            f"良くなったリスト {gate.get('better_lists', 0)} 件・悪くなったリスト {gate.get('worse_lists', 0)} 件）、"
            f"承認と却下の見分け（AUC）は新しい版 {fmt(cand.get('auc'))}・現行 {fmt(act.get('auc'))}"
            f"（差 {signed(gate.get('auc_diff'))}、95% 信頼区間 {signed(alo)}〜{signed(ahi)}）。")
    decision = gate.get("decision")
    if result.get("status") == "promoted":
        because = "並びが平均で良くなり" if decision == "ndcg" else "承認と却下の見分けがはっきり良くなり"
        return head + f"{because}、並びも悪くならないため、この版を有効にしました。"
    if decision == "too_few" or gate.get("lists", 0) < MIN_LISTS:
        return head + f"比べられるリストが {MIN_LISTS} 件に満たないため判断せず、候補として保存しました。"
    if decision == "maybe_worse":
        return head + "並びが悪くなる可能性を否定できないため有効にせず、候補として保存しました（管理者が手動で有効にできます）。"
    return head + "現行より良いとは言えないため有効にせず、候補として保存しました（管理者が手動で有効にできます）。"
