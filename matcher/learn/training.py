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

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlmodel import select

from matcher.graph.features import FEATURES, complete
from matcher.graph.scorers import (
    ResidualRanker,
    feature_matrix,
    pair_index,
)
from matcher.metrics import ndcg_at, weighted_auc
from matcher.store.db import session_scope
from matcher.store.tables import Decision, Suggestion

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
    auc = weighted_auc(ts.y[mask], scores[mask], np.ones(int(mask.sum())))
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




