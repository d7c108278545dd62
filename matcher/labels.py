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
    "outcomes_import": "成果指標の取り込み",
}
TARGET_JA = {"suggestion": "提案", "organization": "企業・機関", "forum": "フォーラム", "user": "利用者"}
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
    "organizations": "企業・機関", "needs": "案件", "seeds": "研究シーズ", "promoted": "有効にした",
    "kept": "候補のまま", "manual": "手動",
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
