"""Japanese words for the engine's codes, in one place: what a coordinator reads instead of
``outcomes_import`` or ``{"verdict": "reject"}``."""

from __future__ import annotations

from typing import Any

ACTION_JA = {
    "ingest": "ファイルの取り込み", "organizations_upsert": "企業・機関の登録・編集", "needs_upsert": "案件の登録・編集",
    "seeds_upsert": "研究シーズの登録・編集", "decide": "判定", "feedback_import": "判定の一括取り込み",
    "company_reply": "企業の回答", "group_drop": "グループから企業を外す", "train": "ランカーの学習",
    "promote": "ランカーの版の切り替え", "rollback": "ランカーの版を戻す", "user_create": "利用者の作成",
    "sessions_revoke": "ログインの失効", "user_active": "利用者の有効・無効", "email_bounced": "メールの不達",
    "unsubscribe": "メール配信の停止", "forum_import": "フォーラム参加者の取り込み", "forum_cancel": "フォーラムのキャンセル反映",
    "forum_seat": "フォーラムの席順の作成", "forum_seat_queued": "フォーラムの席順の作成開始",
    "outcomes_import": "成果指標の取り込み", "person_reply": "人材の回答", "person_unsubscribe": "人材の配信停止",
    "person_erase": "人材の登録削除",
}
TARGET_JA = {"suggestion": "提案", "organization": "企業・機関", "forum": "フォーラム", "user": "利用者", "person": "人材"}
DETAIL_JA = {
    "verdict": "判定", "reason": "理由", "answer": "回答", "changed_from": "変更前の回答", "inserted": "追加",
    "updated": "更新", "unchanged": "変更なし", "rejected": "エラー行", "file": "ファイル", "kind": "種類",
    "role": "役割", "sessions": "失効したログイン", "why": "理由", "active": "有効", "org_id": "企業",
    "participants": "参加者", "objective": "評価値", "upper_bound": "上限の目安", "rounds": "ラウンド数",
    "table_size": "1 卓の人数", "seconds": "計算時間（秒）", "seed": "乱数の種", "event_id": "フォーラム",
    "status": "結果", "version": "版", "previous": "前の版", "decisions": "判定数", "encoding": "文字コード",
    "stored": "保存", "strict": "厳格モード",
}
VALUE_JA = {
    "accept": "承認", "reject": "却下", "skip": "保留", "interested": "興味あり", "declined": "辞退",
    "process_mismatch": "工程が合わない", "distance": "距離", "size": "規模", "existing_relationship": "既存取引あり",
    "competitor": "競合", "other": "その他", "admin": "管理者", "coordinator": "コーディネーター", "company": "企業",
    "password": "パスワード変更", "revoke": "管理者による失効", "disabled": "利用停止",
    "organizations": "企業・機関", "needs": "案件", "seeds": "研究シーズ", "people": "人材", "promoted": "有効にした",
    "kept": "候補のまま", "manual": "手動", "agreed": "引き受ける",
}

REASONS_JA = {
    "self": "依頼元の企業自身です",
    "same_group": "依頼元と同じ企業グループです",
    "conflict": "除外ペアとして登録されています",
    "competitor": "競合関係として登録されています",
    "opt_out": "提案の受け取り・掲載を停止しています",
    "exposure_cap": "一括提案での掲載回数の上限に達しました",
    "person_conflict": "本人が利益相反先として申告しています",
    "own_employer": "依頼元に所属しています",
}
REASONS_EN = {
    "self": "the requester itself",
    "same_group": "same corporate group as the requester",
    "conflict": "declared conflict pair",
    "competitor": "declared competitors",
    "opt_out": "opted out of suggestions",
    "exposure_cap": "exposure cap reached in this batch",
    "person_conflict": "the person declared a conflict with the requester",
    "own_employer": "works for the requester",
}
ROLE_JA = {"admin": "管理者", "coordinator": "コーディネーター", "company": "企業"}
PERIOD_JA = {1: "第1期（2023〜2025年度）", 2: "第2期（2026〜2029年度）", 3: "第3期（2030〜2032年度）"}
HALF_JA = {1: "上期", 2: "下期"}
METRIC_JA = {"suggestions": "提案数", "accepted": "承認", "rejected": "却下", "acceptance_rate": "承認率",
             "company_interested": "企業の回答（興味あり）", "company_declined": "企業の回答（辞退）",
             "research_matches": "研究マッチング承認", "groups_accepted": "共同受注グループ承認",
             "advisors_matched": "人材マッチング（本人承諾）", "advisor_hours": "人材の割当時間（時間/月）",
             "forum_participants": "フォーラム参加者", "forum_meetings": "フォーラムでの同席（組）",
             "digests_sent": "メール配信", "links_opened": "メールのリンク利用"}
OUTCOME_JA = {"establishments": "事業所数", "value_added": "付加価値額（百万円）",
              "value_added_per_worker": "一人当たり付加価値額（万円）"}
ANSWER_JA = {"interested": "興味あり", "declined": "辞退"}
SHEET_JA = {"organizations": "企業", "needs": "案件", "suggestions": "提案"}
NEED_STATUS_JA = {"open": "受付中", "closed": "終了"}
PERSON_CATEGORY_JA = {"senior": "シニア・OB", "active": "現役・副業", "student": "学生", "international": "留学生",
                      "other": "その他"}
CONTACT_MODE_JA = {"visit": "訪問で対応", "online": "オンラインで対応", "both": "訪問・オンラインとも対応"}
CONTACT_MODE_SHORT_JA = {"visit": "訪問", "online": "オンライン", "both": "訪問・オンライン"}
KIND_JA = {"company": "企業", "university": "大学", "institute": "研究機関", "support": "支援機関", "buyer": "販売先"}
VERDICT_JA = {"accept": "承認", "reject": "却下", "skip": "保留"}
REJECT_REASON_JA = {"process_mismatch": "工程が合わない", "distance": "距離", "size": "規模",
                    "existing_relationship": "既存取引あり", "competitor": "競合", "other": "その他"}
FORUM_STATE_JA = {"draft": "未作成", "seated": "作成済み"}
JOB_STATE_JA = {"queued": "待機中", "running": "作成中", "done": "完了", "failed": "失敗", "cancelled": "取り消し"}
SEATING_FIELD_JA = {"rounds": "ラウンド数", "table_size": "1 卓の人数", "seconds": "計算時間（秒）"}
RANKER_STATUS_JA = {"active": "有効", "candidate": "候補", "retired": "過去の版"}
FEATURE_JA = {
    "coverage": "必要工程のカバー率", "covers_all": "必要工程をすべてカバー", "dense_scaled": "内容の近さ（意味）",
    "dense_max": "内容の近さ（最大）", "dense_mean": "内容の近さ（平均）", "bm25_norm": "語句の一致",
    "bm25": "語句の一致（生値）", "rrf": "検索順位", "cert_match": "求める認証の保有", "iso9001": "ISO9001",
    "same_city": "同じ市内", "neighbour": "近隣市", "tama": "多摩地域", "elsewhere": "多摩地域外",
    "pair_accepts": "この依頼元での過去の承認", "pair_rejects": "この依頼元での過去の却下", "past_rejects": "過去の却下",
    "past_accepts": "過去の承認", "freshness": "情報の新しさ", "sme": "中小企業", "small_business": "小規模企業",
    "log_employees": "規模", "employees_known": "従業員数の登録", "n_covered": "対応できる工程数",
    "n_required": "必要工程数", "cert_count": "認証の数", "dense_rank_inv": "意味検索の順位",
    "bm25_rank_inv": "語句検索の順位", "bias": "基準値",
}


def value_ja(value: Any) -> str:
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, list):
        return "・".join(value_ja(v) for v in value)
    if value is None:
        return "—"
    if isinstance(value, dict):
        return "、".join(f"{DETAIL_JA.get(k, k)}: {value_ja(v)}" for k, v in value.items())
    return VALUE_JA.get(str(value), str(value))


def audit_ja(action: str, target: str | None, detail: dict[str, Any] | None) -> tuple[str, str, str]:
    """(operation, target, details) of one audit row, in Japanese."""
    kind, _, ref = (target or "").partition(":")
    target_ja = f"{TARGET_JA[kind]} {ref}" if kind in TARGET_JA and ref else (target or "")
    details = "、".join(f"{DETAIL_JA.get(k, k)}: {value_ja(v)}" for k, v in (detail or {}).items())
    return ACTION_JA.get(action, action), target_ja, details


def ranker_ja(version: str, decisions: int | None = None) -> str:
    """The ranker named for a coordinator, not an engineer."""
    if not version or version.startswith("cold-start"):
        return "初期設定の重み（判定からの学習前）"
    number = version.rsplit("v", 1)[-1].lstrip("0") or "0"
    learned = f"、判定 {decisions:,} 件から学習" if decisions else ""
    return f"学習済みモデル 第{number}版{learned}"


# 適合度 (fit) of a score, the same words for a firm, a seed and a group.
FIT_BANDS = ((0.6, "高"), (0.4, "中"))


def fit_label(score: float) -> str:
    return next((label for floor, label in FIT_BANDS if score >= floor), "低")

