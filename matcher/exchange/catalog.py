"""Storing validated records: idempotent upserts keyed by external id, and their documents.

Re-importing the same file changes nothing (``unchanged``); an edited row is ``updated`` and only
the documents whose text changed get a new content hash, which is what the indexer looks at.
Each import runs in one transaction, so a failure part-way loses nothing already stored.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from matcher.exchange.ingest import RawRow, Record, RowError, RowValidator
from matcher.exchange.pipeline import ImportReport, run_import
from matcher.exchange.spec import Kind, NeedRow, OrganizationRow, SeedRow, organization_values
from matcher.store.db import session_scope
from matcher.store.tables import (
    AuditLog,
    Document,
    IndustryCode,
    Need,
    Organization,
    ResearchSeed,
    join_list,
    utcnow,
)


def record_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- documents -----------------------------------------------------------------------------------
def _org_documents(row: OrganizationRow) -> dict[str, str]:
    docs = {"profile": row.profile, "processes": "、".join(row.processes), "equipment": row.equipment,
            "track_record": row.track_record}
    return {k: v for k, v in docs.items() if v}


def _need_documents(row: NeedRow) -> dict[str, str]:
    req = "、".join(row.required_processes)
    return {"need": "\n".join(x for x in (row.title, row.text, f"必要工程: {req}" if req else "") if x)}


def _seed_documents(row: SeedRow) -> dict[str, str]:
    kw = "、".join(row.keywords)
    return {"seed": "\n".join(x for x in (row.title, kw, row.summary) if x)}


def sync_documents(session: Session, owner_type: str, owner_id: int, title: str,
                   docs: dict[str, str], source_file: str | None, source_row: int | None,
                   existing: dict[str, Document] | None = None) -> None:
    """Create, update or delete the owner's documents; untouched text keeps its hash.
    ``existing`` (kind → Document) may be preloaded by the caller to save a query per row."""
    if existing is None:
        existing = {d.kind: d for d in session.exec(
            select(Document).where(Document.owner_type == owner_type, Document.owner_id == owner_id))}
    existing = dict(existing)
    for kind, text in docs.items():
        h = text_hash(text)
        doc = existing.pop(kind, None)
        if doc is None:
            session.add(Document(owner_type=owner_type, owner_id=owner_id, kind=kind, title=title,
                                 text=text, content_hash=h, source_file=source_file, source_row=source_row))
        elif doc.content_hash != h or doc.title != title:
            doc.text, doc.content_hash, doc.title, doc.updated_at = text, h, title, utcnow()
            doc.source_file, doc.source_row = source_file, source_row
            session.add(doc)
    for doc in existing.values():  # text removed from the source → document goes
        session.delete(doc)


def _chunked_in(session: Session, model, column, values: list, chunk: int = 900) -> list:
    out = []
    for start in range(0, len(values), chunk):
        out.extend(session.exec(select(model).where(column.in_(values[start : start + chunk]))).all())
    return out


# -- upserts -------------------------------------------------------------------------------------
def _apply_org(org: Organization, row: OrganizationRow) -> None:
    """Every field the spec stores in a column; lists as ``;``-joined text."""
    if org.email != row.email:
        org.email_bouncing_at = None  # an edited address gets another chance
    for f in OrganizationRow.FIELDS:
        if f.column and f.column != "external_id":
            value = getattr(row, f.name)
            setattr(org, f.column, join_list(value) if isinstance(value, list) else value)


def _sync_capabilities(session: Session, org_id: int, codes: list[str], current: dict[str, IndustryCode]) -> None:
    declared = {f"jsic:{c}" for c in codes}
    for code, cap in current.items():
        if cap.source == "declared" and code.startswith("jsic:") and code not in declared:
            session.delete(cap)
    for code in declared - set(current):
        session.add(IndustryCode(org_id=org_id, code=code, source="declared", confidence=1.0))


def _upsert(rec: Record, model, existing: dict[str, Any], file: str) -> tuple[str, Any]:
    """(status, object to write); the object is None when the stored record is identical."""
    data = rec.data
    h = record_hash(data)
    obj = existing.get(data["external_id"])
    if obj is not None and obj.record_hash == h:
        return "unchanged", None
    status = "updated" if obj is not None else "inserted"
    if obj is None:
        obj = model(external_id=data["external_id"], **_required_defaults(model, data))
    obj.record_hash, obj.source_file, obj.source_row, obj.updated_at = h, file, rec.row, utcnow()
    return status, obj


def _required_defaults(model, data: dict[str, Any]) -> dict[str, Any]:
    if model is Organization:
        return {"name": data["name"]}
    if model is Need:
        return {"title": data["title"], "text": data["text"], "org_id": 0}
    return {"title": data["title"]}


def store_records(session: Session, records: list[Record], kind: str, file: str) -> tuple[int, int, int]:
    """Upsert validated records of one kind; returns (inserted, updated, unchanged)."""
    model = {"organizations": Organization, "needs": Need, "seeds": ResearchSeed}[kind]
    owner = {"organizations": "organization", "needs": "need", "seeds": "seed"}[kind]
    keys = [r.model.external_id for r in records]
    existing = {o.external_id: o for o in _chunked_in(session, model, model.external_id, keys)}
    org_ids = _org_id_map(session) if kind in ("needs", "seeds") else {}
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    changed: list[tuple[Record, Any, dict[str, str], str]] = []
    for rec in records:
        status, obj = _upsert(rec, model, existing, file)
        counts[status] += 1
        if obj is None:
            continue
        d = rec.model
        if isinstance(d, OrganizationRow):
            _apply_org(obj, d)
            docs, title = _org_documents(d), d.name
        elif isinstance(d, NeedRow):
            obj.org_id = org_ids[d.org_external_id]
            obj.title, obj.text, obj.status, obj.fictional = d.title, d.text, d.status, d.fictional
            obj.public = d.public
            obj.required_processes = join_list(d.required_processes)
            docs, title = _need_documents(d), d.title
        else:
            assert isinstance(d, SeedRow)
            obj.org_id = org_ids.get(d.org_external_id) if d.org_external_id else None
            obj.title, obj.summary, obj.url = d.title, d.summary, d.url
            obj.institution, obj.source, obj.fictional = d.institution, d.source, d.fictional
            obj.keywords = join_list(d.keywords)
            docs, title = _seed_documents(d), d.title
        session.add(obj)
        changed.append((rec, obj, docs, title))
    session.flush()  # one flush gives every new row its id
    ids = [obj.id for _, obj, _, _ in changed]
    docs_by_owner: dict[int, dict[str, Document]] = {}
    for doc in _chunked_in(session, Document, Document.owner_id, ids):
        if doc.owner_type == owner:
            docs_by_owner.setdefault(doc.owner_id, {})[doc.kind] = doc
    caps_by_org: dict[int, dict[str, IndustryCode]] = {}
    if kind == "organizations":
        for cap in _chunked_in(session, IndustryCode, IndustryCode.org_id, ids):
            caps_by_org.setdefault(cap.org_id, {})[cap.code] = cap
    for rec, obj, docs, title in changed:
        if kind == "organizations":
            _sync_capabilities(session, obj.id, rec.model.jsic, caps_by_org.get(obj.id, {}))
        sync_documents(session, owner, obj.id, title, docs, file, rec.row, docs_by_owner.get(obj.id, {}))
    return counts["inserted"], counts["updated"], counts["unchanged"]


def _org_id_map(session: Session) -> dict[str, int]:
    return {ext: id_ for ext, id_ in session.exec(select(Organization.external_id, Organization.id))}


# -- the import job ------------------------------------------------------------------------------
def import_file(engine: Engine, path: Path, kind: Kind, strict: bool = False, sheet: str | None = None,
                reports_dir: Path | None = None, actor: str | None = None,
                defaults: dict[str, Any] | None = None, name: str | None = None) -> ImportReport:
    """Organisations, needs or research seeds through the one import pipeline (all-or-nothing with
    ``strict``). ``name`` is what reports and the store call the file (an upload's own name)."""
    with session_scope(engine) as session:
        context = {"known_orgs": set(_org_id_map(session))} if kind in ("needs", "seeds") else {}

    def store(session: Session, records: list[Record], report: ImportReport) -> None:
        report.inserted, report.updated, report.unchanged = store_records(session, records, kind, report.file)

    return run_import(engine, path, kind, store, strict=strict, sheet=sheet, name=name, actor=actor, context=context,
                      defaults=defaults, reports_dir=reports_dir, audit="ingest")


def upsert_one(engine: Engine, kind: Kind, values: dict[str, Any], source: str = "api",
               actor: str | None = None) -> tuple[str, list[RowError]]:
    """Validate and store a single record given as canonical field → value (the JSON API's path,
    through the same row model as files). Returns (status, errors); nothing is stored on errors."""
    with session_scope(engine) as session:
        known = set(_org_id_map(session)) if kind in ("needs", "seeds") else set()
    context = {"known_orgs": known} if kind in ("needs", "seeds") else {}
    record, errors = RowValidator(source, kind, context).validate(RawRow(1, dict(values), dict(values)))
    if errors or record is None:
        return "rejected", errors
    with session_scope(engine) as session:
        inserted, updated, _ = store_records(session, [record], kind, source)
        session.add(AuditLog(actor=actor, action=f"{kind}_upsert", target=record.model.external_id,
                             detail={"inserted": inserted, "updated": updated}))
    return ("inserted" if inserted else "updated" if updated else "unchanged"), []


def load_organization(engine: Engine, org_id: int) -> tuple[Organization, dict[str, str]] | None:
    """A live organisation and its documents (kind → text), or None."""
    with session_scope(engine) as s:
        o = s.get(Organization, org_id)
        if o is None or o.deleted_at is not None:
            return None
        docs = {d.kind: d.text for d in s.exec(select(Document).where(
            Document.owner_type == "organization", Document.owner_id == org_id))}
    return o, docs


def stored_organization(engine: Engine, org_id: int) -> dict[str, Any] | None:
    """The stored organisation as import-format values (so an edit can be re-validated whole)."""
    found = load_organization(engine, org_id)
    return organization_values(*found) if found else None
