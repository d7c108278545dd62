"""Recording decisions: a coordinator's verdict, a company's answer, a member dropped from a
group, and bulk feedback files — append-only, each with its audit row.

One row model (``exchange.spec.DecisionRow``) validates a decision from the CLI, the API, a
page form and a bulk feedback file alike, with the same row-level errors as ingestion. Desk and
API decisions carry the server's time; only imported historic ones carry their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import select

from matcher.dates import utcnow
from matcher.errors import InvalidInput, NotFound
from matcher.exchange.pipeline import ImportReport, run_import
from matcher.exchange.spec import REASONS, DecisionRow, clean_multiline, field_errors
from matcher.store.db import session_scope
from matcher.store.tables import AuditLog, Decision, Suggestion


def validate_decision(suggestion_id: Any, verdict: Any, reason: Any = None, by: Any = None) -> DecisionRow:
    """One decision through the row model; the first problem raises ``InvalidInput``."""
    try:
        return DecisionRow.model_validate({"suggestion_id": suggestion_id, "verdict": verdict, "reason": reason,
                                           "coordinator": by})
    except ValidationError as exc:
        first = field_errors(exc)[0]
        raise InvalidInput(first.message_ja, first.message_en, field=first.field) from None

def record_decision(engine: Engine, suggestion_id: Any, verdict: Any, reason: Any = None,
                    by: str | None = None) -> Decision:
    """A coordinator's verdict from the CLI, the desk or the API, at the server's time (a client
    never dates a decision: only imported historic ones carry their own, within bounds)."""
    row = validate_decision(suggestion_id, verdict, reason, by)
    with session_scope(engine) as s:
        if s.get(Suggestion, row.suggestion_id) is None:
            raise NotFound(f"提案ID {row.suggestion_id} はありません", f"no suggestion {row.suggestion_id}")
        now = utcnow()
        dec = Decision(suggestion_id=row.suggestion_id, verdict=row.verdict, reason=row.reason,
                       coordinator=row.coordinator, decided_at=now, created_at=now)
        s.add(dec)
        s.add(AuditLog(actor=row.coordinator, action="decide", target=f"suggestion:{row.suggestion_id}",
                       detail={"verdict": row.verdict, "reason": row.reason}))
        s.flush()
        return dec

def drop_group_member(engine: Engine, suggestion_id: int, org_id: int, by: str | None) -> Decision:
    """A coordinator removes one firm from a proposed group (learned as a rejection of that firm)."""
    with session_scope(engine) as s:
        sug = s.get(Suggestion, suggestion_id)
        if sug is None or sug.kind != "group":
            raise NotFound(f"グループの提案 {suggestion_id} はありません", f"no group suggestion {suggestion_id}")
        if org_id not in {m["org_id"] for m in sug.members or []}:
            raise InvalidInput("その企業はこのグループに入っていません", f"organisation {org_id} is not in the group")
        now = utcnow()
        dec = Decision(suggestion_id=suggestion_id, kind="group_drop", verdict="reject", comment=str(org_id),
                       coordinator=by, org_id=org_id, decided_at=now, created_at=now)
        s.add(dec)
        s.add(AuditLog(actor=by, action="group_drop", target=f"suggestion:{suggestion_id}", detail={"org_id": org_id}))
        s.flush()
        return dec

COMPANY_ANSWERS = {"interested": "興味あり", "declined": "辞退"}

@dataclass(frozen=True)
class ReplyOutcome:
    decision: Decision | None
    status: str  # recorded | changed | same

def record_company_reply(engine: Engine, suggestion_id: int, answer: str, comment: str | None,
                         by: str | None, org_id: int) -> ReplyOutcome:
    """A company's answer to a proposal, stored beside the coordinators' decisions (kind
    ``company_reply``, with the answering organisation) and learned from as its own signal. One
    pair takes one answer per company: the same answer again stores nothing, a different one is
    a change (a new row, with its time; the history keeps both)."""
    if answer not in COMPANY_ANSWERS:
        raise InvalidInput("回答は「興味あり」か「辞退」です", "answer must be interested or declined")
    comment = clean_multiline(comment or "")[:1000] or None
    with session_scope(engine) as s:
        sug = s.get(Suggestion, suggestion_id)
        if sug is None:
            raise NotFound(f"提案ID {suggestion_id} はありません", f"no suggestion {suggestion_id}")
        same_pair = select(Suggestion.id).where(
            Suggestion.query_type == sug.query_type, Suggestion.query_id == sug.query_id,
            Suggestion.candidate_type == sug.candidate_type, Suggestion.candidate_id == sug.candidate_id)
        current = s.exec(select(Decision).where(Decision.kind == "company_reply", Decision.org_id == org_id,
                                                Decision.suggestion_id.in_(same_pair))
                         .order_by(Decision.created_at.desc(), Decision.id.desc())).first()
        if current is not None and current.verdict == answer and (comment is None or comment == current.comment):
            return ReplyOutcome(current, "same")
        now = utcnow()
        dec = Decision(suggestion_id=suggestion_id, kind="company_reply", verdict=answer, comment=comment,
                       coordinator=by, org_id=org_id, decided_at=now, created_at=now)
        s.add(dec)
        s.add(AuditLog(actor=by, action="company_reply", target=f"suggestion:{suggestion_id}",
                       detail={"answer": answer, "changed_from": current.verdict if current else None}))
        s.flush()
        return ReplyOutcome(dec, "recorded" if current is None else "changed")



def import_feedback(engine: Engine, path: Path, strict: bool = False, actor: str | None = None,
                    name: str | None = None) -> ImportReport:
    """Bulk decisions from CSV/XLSX/JSON through the one import pipeline: each row a decision
    (a later one on the same suggestion supersedes), its own time when it has one."""
    with session_scope(engine) as s:
        known = set(s.exec(select(Suggestion.id)).all())

    def store(session, records, report: ImportReport) -> None:
        now = utcnow()
        for rec in records:
            row = rec.model
            session.add(Decision(suggestion_id=row.suggestion_id, verdict=row.verdict, reason=row.reason,
                                 coordinator=row.coordinator or actor, decided_at=row.decided_at or now, created_at=now))
            report.add("inserted")

    return run_import(engine, path, "decisions", store, strict=strict, name=name, actor=actor,
                      context={"known_suggestions": known}, audit="feedback_import")


__all__ = ["REASONS", "import_feedback", "record_company_reply", "record_decision"]
