"""Coordinator decisions on suggestions: append-only, the latest one per suggestion counts.

A later decision on the same suggestion supersedes an earlier one without deleting it, so the
history of how a coordinator changed their mind stays auditable. Bulk feedback files follow the
same row-level error rules as ingestion (file, row, field, Japanese + English message).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from matcher.ingest import IngestFileError, RowError, _clean, read_raw_table
from matcher.store.db import session_scope
from matcher.store.tables import AuditLog, Decision, Suggestion

VERDICTS = {"accept": "accept", "承認": "accept", "採用": "accept", "○": "accept",
            "reject": "reject", "却下": "reject", "不採用": "reject", "×": "reject",
            "skip": "skip", "保留": "skip", "スキップ": "skip"}
REASONS: dict[str, tuple[str, str]] = {
    "process_mismatch": ("工程が合わない", "processes do not match"),
    "distance": ("距離", "too far"),
    "size": ("規模", "size does not fit"),
    "existing_relationship": ("既存取引あり", "already trading"),
    "competitor": ("競合", "competitor"),
    "other": ("その他", "other"),
}
REASON_BY_LABEL = {ja: code for code, (ja, _) in REASONS.items()} | {code: code for code in REASONS}
FEEDBACK_HEADERS = {
    "suggestion_id": ("提案ID", "suggestion_id"),
    "verdict": ("判定", "verdict"),
    "reason": ("理由", "reason"),
    "coordinator": ("担当者", "coordinator"),
    "decided_at": ("判定日時", "decided_at"),
}


class DecisionError(ValueError):
    pass


def parse_verdict(value: str) -> str:
    v = VERDICTS.get(unicodedata.normalize("NFKC", value).strip().lower())
    if v is None:
        raise DecisionError(f"判定「{value}」は不明です（accept/reject/skip） / unknown verdict {value!r}")
    return v


def parse_reason(value: str | None) -> str | None:
    if value is None or not str(value).strip():
        return None
    code = REASON_BY_LABEL.get(unicodedata.normalize("NFKC", str(value)).strip())
    if code is None:
        labels = "、".join(ja for ja, _ in REASONS.values())
        raise DecisionError(f"理由「{value}」は不明です（{labels}） / unknown reason code {value!r}")
    return code


def record_decision(engine: Engine, suggestion_id: int, verdict: str, reason: str | None = None,
                    by: str | None = None, decided_at: datetime | None = None) -> Decision:
    verdict = parse_verdict(verdict)
    reason = parse_reason(reason)
    with session_scope(engine) as s:
        if s.get(Suggestion, suggestion_id) is None:
            raise DecisionError(f"提案ID {suggestion_id} はありません / no suggestion {suggestion_id}")
        dec = Decision(suggestion_id=suggestion_id, verdict=verdict, reason=reason, coordinator=by,
                       decided_at=decided_at or datetime.now(UTC))
        s.add(dec)
        s.add(AuditLog(actor=by, action="decide", target=f"suggestion:{suggestion_id}",
                       detail=json.dumps({"verdict": verdict, "reason": reason})))
        s.flush()
        return dec


def latest_decisions(engine: Engine) -> dict[int, Decision]:
    """suggestion id → its latest decision (by decision time, then by insertion order)."""
    with session_scope(engine) as s:
        rows = s.exec(select(Decision).order_by(Decision.decided_at, Decision.id)).all()
    latest: dict[int, Decision] = {}
    for d in rows:
        latest[d.suggestion_id] = d
    return latest


@dataclass
class FeedbackReport:
    file: str
    inserted: int = 0
    rejected: list[RowError] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "inserted": self.inserted, "rejected": [e.as_json() for e in self.rejected]}


def _parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = _clean(value).replace("/", "-")
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def import_feedback(engine: Engine, path: Path, strict: bool = False) -> FeedbackReport:
    """Bulk decisions from CSV/XLSX; valid rows are stored in one transaction."""
    rows = read_raw_table(Path(path), FEEDBACK_HEADERS, required=("suggestion_id", "verdict"))
    report = FeedbackReport(str(path))
    with session_scope(engine) as s:
        known = set(s.exec(select(Suggestion.id)).all())
    good: list[Decision] = []
    for raw in rows:
        v, row = raw.values, raw.row
        errors = []
        sid_text = _clean(v.get("suggestion_id"))
        sid = int(sid_text) if sid_text.isdigit() else None
        if sid is None or sid not in known:
            errors.append(RowError(str(path), row, "suggestion_id", f"提案ID「{sid_text}」はありません",
                                   f"unknown suggestion id {sid_text!r}"))
        parsed: dict[str, Any] = {}
        for name, fn in (("verdict", parse_verdict), ("reason", parse_reason)):
            try:
                parsed[name] = fn(_clean(v.get(name))) if name == "verdict" else fn(v.get(name))
            except DecisionError as exc:
                ja, en = str(exc).split(" / ", 1)
                errors.append(RowError(str(path), row, name, ja, en))
        try:
            parsed["decided_at"] = _parse_time(v.get("decided_at"))
        except ValueError:
            errors.append(RowError(str(path), row, "decided_at", f"判定日時の形式が正しくありません: {v.get('decided_at')}",
                                   f"invalid date/time {v.get('decided_at')!r} (use YYYY-MM-DD HH:MM)"))
        if errors:
            report.rejected += errors
            continue
        good.append(Decision(suggestion_id=sid, verdict=parsed["verdict"], reason=parsed["reason"],
                             coordinator=_clean(v.get("coordinator")) or None,
                             decided_at=parsed["decided_at"] or datetime.now(UTC)))
    if strict and report.rejected:
        return report
    with session_scope(engine) as s:
        s.add_all(good)
        s.add(AuditLog(action="feedback_import", target=str(path),
                       detail=json.dumps({"inserted": len(good), "rejected": len(report.rejected)})))
    report.inserted = len(good)
    return report


__all__ = ["IngestFileError", "REASONS", "import_feedback", "latest_decisions", "record_decision"]
