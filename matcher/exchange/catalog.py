"""Storing validated records: idempotent upserts keyed by external id, and their documents.

Re-importing the same file changes nothing (``unchanged``); an edited row is ``updated`` and only
the documents whose text changed get a new content hash, which is what the indexer looks at.
Each import runs in one transaction, so a failure part-way loses nothing already stored.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from matcher.exchange.export import csv_cell
from matcher.exchange.ingest import ParsedFile, RawRow, Record, RowError, RowValidator, parse_file
from matcher.exchange.spec import Kind, NeedRow, OrganizationRow, SeedRow, organization_values
from matcher.store.db import session_scope
from matcher.store.tables import (
    AuditLog,
    Capability,
    Document,
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


@dataclass
class IngestReport:
    file: str
    kind: str
    encoding: str
    format: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RowError] = field(default_factory=list)
    stored: bool = True
    report_path: str | None = None
    rejects_path: str | None = None

    def as_json(self, inline_limit: int | None = None, paths: bool = True) -> dict[str, Any]:
        """``inline_limit`` caps the listed row errors (the CSV holds them all); ``paths=False``
        names report files without the server's directories (what the web service shows)."""
        shown = self.rejected if inline_limit is None else self.rejected[:inline_limit]
        name = (lambda p: p) if paths else (lambda p: Path(p).name if p else None)
        return {"file": self.file, "kind": self.kind, "encoding": self.encoding, "format": self.format,
                "inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": [e.as_json() for e in shown], "rejected_count": len(self.rejected),
                "rejected_rows": len({e.row for e in self.rejected}), "stored": self.stored,
                "report": name(self.report_path), "rejects_file": name(self.rejects_path)}


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


def _sync_capabilities(session: Session, org_id: int, codes: list[str], current: dict[str, Capability]) -> None:
    declared = {f"jsic:{c}" for c in codes}
    for code, cap in current.items():
        if cap.source == "declared" and code.startswith("jsic:") and code not in declared:
            session.delete(cap)
    for code in declared - set(current):
        session.add(Capability(org_id=org_id, code=code, source="declared", confidence=1.0))


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


def store_records(session: Session, parsed: ParsedFile) -> tuple[int, int, int]:
    """Upsert the parsed records; returns (inserted, updated, unchanged)."""
    model = {"organizations": Organization, "needs": Need, "seeds": ResearchSeed}[parsed.kind]
    owner = {"organizations": "organization", "needs": "need", "seeds": "seed"}[parsed.kind]
    keys = [r.model.external_id for r in parsed.records]
    existing = {o.external_id: o for o in _chunked_in(session, model, model.external_id, keys)}
    org_ids = _org_id_map(session) if parsed.kind in ("needs", "seeds") else {}
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    changed: list[tuple[Record, Any, dict[str, str], str]] = []
    for rec in parsed.records:
        status, obj = _upsert(rec, model, existing, parsed.file)
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
    caps_by_org: dict[int, dict[str, Capability]] = {}
    if parsed.kind == "organizations":
        for cap in _chunked_in(session, Capability, Capability.org_id, ids):
            caps_by_org.setdefault(cap.org_id, {})[cap.code] = cap
    for rec, obj, docs, title in changed:
        if parsed.kind == "organizations":
            _sync_capabilities(session, obj.id, rec.model.jsic, caps_by_org.get(obj.id, {}))
        sync_documents(session, owner, obj.id, title, docs, parsed.file, rec.row, docs_by_owner.get(obj.id, {}))
    return counts["inserted"], counts["updated"], counts["unchanged"]


def _org_id_map(session: Session) -> dict[str, int]:
    return {ext: id_ for ext, id_ in session.exec(select(Organization.external_id, Organization.id))}


# -- the import job ------------------------------------------------------------------------------
def import_file(engine: Engine, path: Path, kind: Kind, strict: bool = False, sheet: str | None = None,
                reports_dir: Path | None = None, actor: str | None = None,
                defaults: dict[str, Any] | None = None, name: str | None = None) -> IngestReport:
    """Validate a file and store its valid rows (all-or-nothing with ``strict``). ``name`` is
    what reports and the store call the file (an upload's own name, not a temporary path)."""
    with session_scope(engine) as session:
        known = set(_org_id_map(session)) if kind in ("needs", "seeds") else set()
    parsed = parse_file(Path(path), kind, known, sheet, defaults, name)
    report = IngestReport(parsed.file, kind, parsed.encoding, parsed.format, rejected=parsed.errors)
    if strict and parsed.errors:
        report.stored = False
    else:
        with session_scope(engine) as session:
            report.inserted, report.updated, report.unchanged = store_records(session, parsed)
            session.add(AuditLog(actor=actor, action="ingest", target=parsed.file, detail=
                {"kind": kind, "inserted": report.inserted, "updated": report.updated,
                 "unchanged": report.unchanged, "rejected": len(parsed.errors)}))
    if reports_dir is not None:
        write_reports(report, parsed, reports_dir)
    return report


INLINE_ERRORS = 100  # row errors listed in a report or a response; the CSV of rejected rows has all
KEEP_REPORTS = 200  # newest report files kept; older ones are pruned on every import


def prune_reports(reports_dir: Path, keep: int = KEEP_REPORTS) -> int:
    files = sorted((p for p in reports_dir.glob("*") if p.is_file()), key=lambda p: p.stat().st_mtime, reverse=True)
    for p in files[keep:]:
        p.unlink(missing_ok=True)
    return max(0, len(files) - keep)


def write_reports(report: IngestReport, parsed: ParsedFile, reports_dir: Path) -> None:
    """The JSON report, and (if any row was rejected) the rejected rows with their errors as CSV."""
    import re

    reports_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    stem = re.sub(r"[^0-9A-Za-z_.-]+", "_", Path(parsed.file).stem)[:40] or "import"
    report_path = reports_dir / f"{stem}-{stamp}.report.json"
    if report.rejected:
        rejects_path = reports_dir / f"{stem}-{stamp}.rejects.csv"
        by_row: dict[int, list[RowError]] = {}
        for e in report.rejected:
            by_row.setdefault(e.row, []).append(e)
        headers: list[str] = []
        for raw in parsed.rows:
            headers.extend(h for h in raw.original if h not in headers)
        with rejects_path.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["行番号", "項目", "エラー", *headers])
            for raw in parsed.rows:
                for e in by_row.get(raw.row, []):
                    w.writerow([csv_cell(v) for v in (raw.row, e.field, e.message,
                                                      *(raw.original.get(h, "") for h in headers))])
        report.rejects_path = str(rejects_path)
    report.report_path = str(report_path)
    report_path.write_text(json.dumps(report.as_json(INLINE_ERRORS, paths=False), ensure_ascii=False, indent=2), encoding="utf-8")
    prune_reports(reports_dir)


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
    parsed = ParsedFile(source, kind, [record], [], [], "json", "api")
    with session_scope(engine) as session:
        inserted, updated, _ = store_records(session, parsed)
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
