"""The audit log as an admin reads it: newest first, a page at a time, in Japanese."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import func, select

from matcher.labels import audit_ja
from matcher.store.db import session_scope
from matcher.store.tables import AuditLog

PER_PAGE = 50


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str  # in Japanese
    target: str
    detail: str


@dataclass(frozen=True, kw_only=True)
class AuditPage:
    entries: list[AuditEntry]
    page: int
    pages: int
    total: int


def audit_page(engine: Engine, page: int = 1, per_page: int = PER_PAGE) -> AuditPage:
    page = max(1, min(page, 1_000_000))
    with session_scope(engine) as s:
        total = s.exec(select(func.count()).select_from(AuditLog)).one()
        rows = s.exec(select(AuditLog).order_by(AuditLog.id.desc()).offset((page - 1) * per_page).limit(per_page)).all()
    entries = []
    for r in rows:
        action, target, detail = audit_ja(r.action, r.target, r.detail)
        entries.append(AuditEntry(at=r.at, actor=r.actor or "（システム）", action=action, target=target, detail=detail))
    return AuditPage(entries=entries, page=page, pages=max(1, -(-total // per_page)), total=total)
