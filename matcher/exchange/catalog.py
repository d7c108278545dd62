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
from matcher.exchange.spec import Kind, NeedRow, OrganizationRow, PersonRow, SeedRow, organization_values
from matcher.store.db import bulk_insert, session_scope
from matcher.store.tables import (
    AuditLog,
    Document,
    IndustryCode,
    Need,
    Organization,
    Person,
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


def _chunked_in(session: Session, stmt, column, values: list, chunk: int = 900) -> list:
    """``stmt`` for the rows whose ``column`` is one of ``values``, in IN lists of ``chunk``."""
    out = []
    for start in range(0, len(values), chunk):
        out.extend(session.exec(stmt.where(column.in_(values[start : start + chunk]))).all())
    return out


# -- upserts -------------------------------------------------------------------------------------
def _values(d: OrganizationRow | NeedRow | SeedRow | PersonRow, org_ids: dict[str, int]) -> dict[str, Any]:
    """Every column the record sets; lists as ``;``-joined text."""
    if isinstance(d, (OrganizationRow, PersonRow)):
        return {f.column: join_list(v) if isinstance(v := getattr(d, f.name), list) else v
                for f in type(d).FIELDS if f.column and f.column != "external_id"}
    if isinstance(d, NeedRow):
        return {"org_id": org_ids[d.org_external_id], "title": d.title, "text": d.text, "status": d.status,
                "fictional": d.fictional, "public": d.public, "required_processes": join_list(d.required_processes)}
    return {"org_id": org_ids.get(d.org_external_id) if d.org_external_id else None, "title": d.title,
            "summary": d.summary, "url": d.url, "institution": d.institution, "source": d.source,
            "fictional": d.fictional, "keywords": join_list(d.keywords)}


def person_document(specialities: list[str], background: str, intro: str) -> str:
    return "\n".join(x for x in (f"専門分野: {'、'.join(specialities)}" if specialities else "", background, intro) if x)


def _documents(d: OrganizationRow | NeedRow | SeedRow | PersonRow) -> tuple[dict[str, str], str]:
    """The searchable texts of a record. A person has one only while they consent (``Person``),
    titled by their 人材ID, not their name."""
    if isinstance(d, PersonRow):
        return ({"person": person_document(d.specialities, d.background, d.intro)} if d.consent else {}), d.external_id
    if isinstance(d, OrganizationRow):
        return _org_documents(d), d.name
    if isinstance(d, NeedRow):
        return _need_documents(d), d.title
    return _seed_documents(d), d.title


def _defaults(model) -> dict[str, Any]:
    """A new row's column defaults, as constructing the model would give them (factories called
    once: one import, one timestamp)."""
    return {name: info.get_default(call_default_factory=True) for name, info in model.model_fields.items()
            if name != "id" and not info.is_required()}


def _sync_capabilities(session: Session, org_id: int, codes: list[str], current: dict[str, IndustryCode]) -> None:
    declared = {f"jsic:{c}" for c in codes}
    for code, cap in current.items():
        if cap.source == "declared" and code.startswith("jsic:") and code not in declared:
            session.delete(cap)
    for code in declared - set(current):
        session.add(IndustryCode(org_id=org_id, code=code, source="declared", confidence=1.0))


def _update(obj, values: dict[str, Any]) -> None:
    if isinstance(obj, Organization) and obj.email != values["email"]:
        obj.email_bouncing_at = None  # an edited address gets another chance
    for column, value in values.items():
        setattr(obj, column, value)


def store_records(session: Session, records: list[Record], kind: str, file: str) -> tuple[int, int, int]:
    """Upsert validated records of one kind; returns (inserted, updated, unchanged).

    Edited records go through the ORM (their documents and codes are diffed); new ones, the bulk
    of a big first import, are written as plain rows in batches (COPY on PostgreSQL)."""
    model = {"organizations": Organization, "needs": Need, "seeds": ResearchSeed, "people": Person}[kind]
    owner = {"organizations": "organization", "needs": "need", "seeds": "seed", "people": "person"}[kind]
    keys = [r.model.external_id for r in records]
    existing = {o.external_id: o for o in _chunked_in(session, select(model), model.external_id, keys)}
    org_ids = _org_id_map(session) if kind in ("needs", "seeds") else {}
    now = utcnow()
    unchanged = 0
    new: list[tuple[Record, dict[str, Any]]] = []
    edited: list[tuple[Record, Any]] = []
    for rec in records:
        h = record_hash(rec.data)
        obj = existing.get(rec.model.external_id)
        if obj is not None and obj.record_hash == h:
            unchanged += 1
            continue
        values = _values(rec.model, org_ids) | {"record_hash": h, "source_file": file, "source_row": rec.row,
                                                 "updated_at": now}
        if obj is None:
            new.append((rec, values | {"external_id": rec.model.external_id}))
        else:
            _update(obj, values)
            session.add(obj)
            edited.append((rec, obj))
    _insert_new(session, model, owner, new, file, now)
    _update_edited(session, kind, owner, edited, file)
    return len(new), len(edited), unchanged


def _insert_new(session: Session, model, owner: str, new: list[tuple[Record, dict[str, Any]]], file: str,
                now) -> None:
    if not new:
        return
    defaults = _defaults(model) | {"created_at": now}
    bulk_insert(session, model, [defaults | values for _, values in new])
    ids = dict(_chunked_in(session, select(model.external_id, model.id), model.external_id,
                           [v["external_id"] for _, v in new]))
    doc_defaults = _defaults(Document) | {"updated_at": now}
    docs, codes = [], []
    for rec, values in new:
        owner_id = ids[values["external_id"]]
        texts, title = _documents(rec.model)
        docs += [doc_defaults | {"owner_type": owner, "owner_id": owner_id, "kind": k, "title": title, "text": t,
                                 "content_hash": text_hash(t), "source_file": file, "source_row": rec.row}
                 for k, t in texts.items()]
        if isinstance(rec.model, OrganizationRow):
            codes += [{"org_id": owner_id, "code": f"jsic:{c}", "source": "declared", "confidence": 1.0,
                       "evidence": None} for c in sorted(set(rec.model.jsic))]
    bulk_insert(session, Document, docs)
    bulk_insert(session, IndustryCode, codes)


def _id_map(session: Session, model) -> dict[str, int]:
    return {ext: id_ for ext, id_ in session.exec(select(model.external_id, model.id))}


def _update_edited(session: Session, kind: str, owner: str, edited: list[tuple[Record, Any]], file: str) -> None:
    if not edited:
        return
    session.flush()
    ids = [obj.id for _, obj in edited]
    docs_by_owner: dict[int, dict[str, Document]] = {}
    for doc in _chunked_in(session, select(Document), Document.owner_id, ids):
        if doc.owner_type == owner:
            docs_by_owner.setdefault(doc.owner_id, {})[doc.kind] = doc
    caps_by_org: dict[int, dict[str, IndustryCode]] = {}
    if kind == "organizations":
        for cap in _chunked_in(session, select(IndustryCode), IndustryCode.org_id, ids):
            caps_by_org.setdefault(cap.org_id, {})[cap.code] = cap
    for rec, obj in edited:
        if kind == "organizations":
            _sync_capabilities(session, obj.id, rec.model.jsic, caps_by_org.get(obj.id, {}))
        docs, title = _documents(rec.model)
        sync_documents(session, owner, obj.id, title, docs, file, rec.row, docs_by_owner.get(obj.id, {}))


def _org_id_map(session: Session) -> dict[str, int]:
    return _id_map(session, Organization)


# -- the import job ------------------------------------------------------------------------------
def _context(session: Session, kind: Kind) -> dict[str, set[str]]:
    """What row validation checks against the store: the organisations a need or seed may name,
    the erased people a roster may no longer register."""
    if kind in ("needs", "seeds"):
        return {"known_orgs": set(_org_id_map(session))}
    if kind == "people":
        return {"erased_people": set(session.exec(select(Person.erased_key).where(Person.erased_key.is_not(None))))}
    return {}


def import_file(engine: Engine, path: Path, kind: Kind, strict: bool = False, sheet: str | None = None,
                reports_dir: Path | None = None, actor: str | None = None,
                defaults: dict[str, Any] | None = None, name: str | None = None) -> ImportReport:
    """Organisations, needs, research seeds or people through the one import pipeline (all-or-nothing with
    ``strict``). ``name`` is what reports and the store call the file (an upload's own name)."""
    with session_scope(engine) as session:
        context = _context(session, kind)

    def store(session: Session, records: list[Record], report: ImportReport) -> None:
        report.inserted, report.updated, report.unchanged = store_records(session, records, kind, report.file)

    return run_import(engine, path, kind, store, strict=strict, sheet=sheet, name=name, actor=actor, context=context,
                      defaults=defaults, reports_dir=reports_dir, audit="ingest")


def upsert_one(engine: Engine, kind: Kind, values: dict[str, Any], source: str = "api",
               actor: str | None = None) -> tuple[str, list[RowError]]:
    """Validate and store a single record given as canonical field → value (the JSON API's path,
    through the same row model as files). Returns (status, errors); nothing is stored on errors."""
    with session_scope(engine) as session:
        context = _context(session, kind)
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
