"""The promotion gate: a candidate and the active version on the same hold-out lists.

Both re-rank the coordinators' newest lists (``training.holdout_split``) and are compared list by
list: nDCG@10 per list and AUC across the lists, each difference with a paired bootstrap 95 %
interval over lists. ``gate_decision`` says whether the candidate is better with evidence, and
``gate_ja`` says in Japanese what was compared with what and why it was or was not promoted.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from matcher.labels import ranker_ja
from matcher.learn.training import (
    BOOTSTRAP,
    COLD_START,
    MIN_DECISIONS,
    MIN_LISTS,
    NDCG_FLOOR,
    WORSE_TOLERANCE,
    TrainingSet,
    list_ndcg,
)
from matcher.metrics import weighted_auc


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
    auc_diff = weighted_auc(y, cand[every], w) - weighted_auc(y, active[every], w)
    boot = []
    for row in picks[:BOOTSTRAP // 4]:
        sel = np.concatenate([used[i] for i in row])
        boot.append(weighted_auc(hold.y[sel], cand[sel], hold.weight[sel]) - weighted_auc(hold.y[sel], active[sel], hold.weight[sel]))
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


def gate_ja(result: Any) -> str:
    """The promotion gate's verdict as a coordinator reads it: what was compared with what, on how
    many lists, by how much, and what was done."""
    n = result.decisions
    if result.status == "skipped":
        return (f"学習しませんでした: 使える判定が {n} 件です（{MIN_DECISIONS} 件以上で学習します）。"
                "承認・却下の判定が両方あることも必要です。")
    metrics = result.metrics or {}
    cand, act, gate = metrics.get("candidate", {}), metrics.get("active", {}), metrics.get("gate", {})
    fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
    signed = lambda v: "—" if v is None else f"{v:+.3f}"  # noqa: E731
    lo, hi = (gate.get("ci95") or [None, None])[:2]
    alo, ahi = (gate.get("auc_ci95") or [None, None])[:2]
    others = ranker_ja(result.compared_with or COLD_START)
    residual = ("初期設定の重みをそのまま使い、判定に合わせて目盛りだけを調整しました" if result.l2 is None
                else "初期設定の重みを土台に、判定から分かった差分を学習しました（差分の大きさは交差検証で決めました）")
    head = (f"判定 {n:,} 件から新しい版（{ranker_ja(result.version or '')}）を作りました。{residual}。"
            f"学習に使っていない最新の候補リスト {gate.get('lists', 0)} 件で、現行の「{others}」と同じリストを並べ直して比べました: "
            f"上位10件の並びの良さ（nDCG@10）は新しい版 {fmt(cand.get('ndcg@10'))}・現行 {fmt(act.get('ndcg@10'))}"
            f"（リストごとの差の平均 {signed(gate.get('mean_diff'))}、95% 信頼区間 {signed(lo)}〜{signed(hi)}、"
            f"良くなったリスト {gate.get('better_lists', 0)} 件・悪くなったリスト {gate.get('worse_lists', 0)} 件）、"
            f"承認と却下の見分け（AUC）は新しい版 {fmt(cand.get('auc'))}・現行 {fmt(act.get('auc'))}"
            f"（差 {signed(gate.get('auc_diff'))}、95% 信頼区間 {signed(alo)}〜{signed(ahi)}）。")
    decision = gate.get("decision")
    if result.status == "promoted":
        because = "並びが平均で良くなり" if decision == "ndcg" else "承認と却下の見分けがはっきり良くなり"
        return head + f"{because}、並びも悪くならないため、この版を有効にしました。"
    if decision == "too_few" or gate.get("lists", 0) < MIN_LISTS:
        return head + f"比べられるリストが {MIN_LISTS} 件に満たないため判断せず、候補として保存しました。"
    if decision == "maybe_worse":
        return head + "並びが悪くなる可能性を否定できないため有効にせず、候補として保存しました（管理者が手動で有効にできます）。"
    return head + "現行より良いとは言えないため有効にせず、候補として保存しました（管理者が手動で有効にできます）。"
