"""Forum events and their participant lists (imported through the one import pipeline)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from matcher.errors import InvalidInput, NotFound
from matcher.exchange.pipeline import ImportReport, run_import
from matcher.exchange.spec import clean
from matcher.store.db import session_scope
from matcher.store.tables import ForumEvent, Organization, Participant

MAX_PARTICIPANTS = 2000
MAX_ROUNDS = 6


def find_event(engine: Engine, ref: str | int) -> ForumEvent:
    with session_scope(engine) as s:
        event = s.get(ForumEvent, int(ref)) if str(ref).isdigit() else None
        event = event or s.exec(select(ForumEvent).where(ForumEvent.name == str(ref))).first()
        if event is None:
            raise NotFound(f"フォーラム「{ref}」が見つかりません", f"no forum event {ref!r}")
        return event


def create_event(engine: Engine, name: str, held_on: datetime | None = None) -> ForumEvent:
    name = clean(name)[:200]
    if not name:
        raise InvalidInput("フォーラム名を入力してください", "an event name is required")
    with session_scope(engine) as s:
        event = s.exec(select(ForumEvent).where(ForumEvent.name == name)).first()
        if event is None:
            event = ForumEvent(name=name, held_on=held_on)
            s.add(event)
            s.flush()
        return event


@dataclass(kw_only=True)
class ParticipantImport(ImportReport):
    """An import of a forum's participants: the report, and the event they were registered for."""

    event_id: int
    event: str


def list_events(engine: Engine) -> list[ForumEvent]:
    with session_scope(engine) as s:
        return list(s.exec(select(ForumEvent).order_by(ForumEvent.id.desc())))


def import_participants(engine: Engine, path: Path, event_name: str, name: str | None = None,
                        actor: str | None = None, strict: bool = False) -> ParticipantImport:
    """Participants from CSV/XLSX/JSON (Japanese headers) through the one import pipeline; a
    person already registered for the event (same organisation and name) is updated, not
    duplicated (``strict``: nothing is stored when any row is bad). The report's ``extra`` names
    the event."""
    with session_scope(engine) as s:
        orgs = {ext: (i, kind) for ext, i, kind in
                s.exec(select(Organization.external_id, Organization.id, Organization.kind)
                       .where(Organization.deleted_at.is_(None)))}
    event = create_event(engine, event_name)

    def store(session, records, report: ImportReport) -> None:
        existing = {(p.org_id, p.person): p for p in
                    session.exec(select(Participant).where(Participant.event_id == event.id))}
        for rec in records:
            row = rec.model
            org_id, org_kind = orgs[row.org_external_id]
            values = {"kind": row.kind or org_kind, "wishes": sorted({orgs[w][0] for w in row.wishes} - {org_id}),
                      "avoid": sorted({orgs[a][0] for a in row.avoid} - {org_id}), "host_table": row.host_table,
                      "cancelled": False}
            current = existing.get((org_id, row.person))
            if current is None:
                session.add(Participant(event_id=event.id, org_id=org_id, person=row.person, **values))
                report.add("inserted")
            else:
                for k, v in values.items():
                    setattr(current, k, v)
                session.add(current)
                report.add("updated")

    report = run_import(engine, path, "participants", store, strict=strict, name=name, actor=actor,
                        context={"known_orgs": set(orgs)}, audit="forum_import", max_rows=MAX_PARTICIPANTS)
    report = ParticipantImport(**{f.name: getattr(report, f.name) for f in fields(report)},
                               event_id=event.id, event=event.name)
    return report


def participants(engine: Engine, event_id: int, include_cancelled: bool = False) -> list[Participant]:
    with session_scope(engine) as s:
        q = select(Participant).where(Participant.event_id == event_id)
        if not include_cancelled:
            q = q.where(Participant.cancelled.is_(False))
        return list(s.exec(q.order_by(Participant.id)))


