"""Read-side queries the service and pages need: search, listings, a company's own suggestions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, or_
from sqlmodel import select

from matcher.exchange.catalog import load_organization
from matcher.exchange.spec import OrganizationRow
from matcher.store.db import session_scope
from matcher.store.tables import (
    KIND_JA,
    Decision,
    Document,
    Need,
    Organization,
    ResearchSeed,
    Suggestion,
    split_list,
)
from matcher.text import normalize

# The directory shows what the import format calls these fields, typed (lists as lists).
_LIST_COLUMNS = {f.column for f in OrganizationRow.FIELDS if f.name in ("jsic", "processes", "certifications")}
_SHOWN = ("external_id", "name", "kind", "city", "employees", "jsic_codes", "processes", "certifications", "equipment",
          "email", "publish", "fictional")


def org_summary(o: Organization, profile: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": o.id}
    for column in _SHOWN:
        value = getattr(o, column)
        out[column] = split_list(value) if column in _LIST_COLUMNS else value
    return {**out, "kind_ja": KIND_JA.get(o.kind, o.kind), "profile": profile}


def search_organizations(engine: Engine, q: str = "", published_only: bool = False, limit: int = 50,
                         offset: int = 0, only_id: int | None = None) -> tuple[int, list[dict[str, Any]]]:
    q = normalize(q or "")
    with session_scope(engine) as s:
        stmt = select(Organization).where(Organization.deleted_at.is_(None))
        if published_only:
            stmt = stmt.where(Organization.publish.is_(True))
        if only_id is not None:
            stmt = stmt.where(Organization.id == only_id)
        if q:
            stmt = stmt.where(or_(Organization.external_id == q, *(
                col.contains(q, autoescape=True) for col in (Organization.name, Organization.processes, Organization.city,
                                                             Organization.equipment, Organization.certifications))))
        total = s.exec(select(func.count()).select_from(stmt.subquery())).one()
        rows = s.exec(stmt.order_by(Organization.external_id).offset(offset).limit(limit)).all()
        profiles = {d.owner_id: d.text for d in s.exec(select(Document).where(
            Document.owner_type == "organization", Document.kind == "profile",
            Document.owner_id.in_([o.id for o in rows])))}
    return total, [org_summary(o, profiles.get(o.id)) for o in rows]


def organization_id(engine: Engine, external_id: str) -> int | None:
    with session_scope(engine) as s:
        return s.exec(select(Organization.id).where(Organization.external_id == external_id)).first()


def get_organization(engine: Engine, org_id: int) -> dict[str, Any] | None:
    found = load_organization(engine, org_id)
    if found is None:
        return None
    o, docs = found
    out = org_summary(o, docs.get("profile"))
    out["track_record"] = docs.get("track_record")
    return out


def need_summary(n: Need, org: Organization | None) -> dict[str, Any]:
    return {"id": n.id, "external_id": n.external_id, "org_id": n.org_id, "org_name": org.name if org else None,
            "title": n.title, "text": n.text, "required_processes": split_list(n.required_processes),
            "status": n.status}


def search_needs(engine: Engine, q: str = "", limit: int = 100, offset: int = 0,
                 org_id: int | None = None) -> tuple[int, list[dict[str, Any]]]:
    q = normalize(q or "")
    with session_scope(engine) as s:
        stmt = select(Need)
        if org_id is not None:
            stmt = stmt.where(Need.org_id == org_id)
        if q:
            stmt = stmt.where(or_(*(col.contains(q, autoescape=True)
                                    for col in (Need.title, Need.text, Need.required_processes))))
        total = s.exec(select(func.count()).select_from(stmt.subquery())).one()
        rows = s.exec(stmt.order_by(Need.external_id).offset(offset).limit(limit)).all()
        orgs = {o.id: o for o in s.exec(select(Organization).where(Organization.id.in_([n.org_id for n in rows])))}
    return total, [need_summary(n, orgs.get(n.org_id)) for n in rows]


def get_need(engine: Engine, need_id: int) -> dict[str, Any] | None:
    with session_scope(engine) as s:
        n = s.get(Need, need_id)
        return need_summary(n, s.get(Organization, n.org_id)) if n else None


def suggestion_rows(engine: Engine, query_type: str | None = None, query_id: int | None = None,
                    visible_to_org: int | None = None, latest_run_only: bool = False) -> list[dict[str, Any]]:
    """Stored suggestions with their latest decision; ``visible_to_org`` limits to a company's own."""
    with session_scope(engine) as s:
        stmt = select(Suggestion)
        if query_type:
            stmt = stmt.where(Suggestion.query_type == query_type, Suggestion.query_id == query_id)
        if visible_to_org is not None:
            own_needs = [n.id for n in s.exec(select(Need).where(Need.org_id == visible_to_org))]
            stmt = stmt.where(or_(
                (Suggestion.candidate_type == "organization") & (Suggestion.candidate_id == visible_to_org),
                (Suggestion.query_type == "need") & Suggestion.query_id.in_(own_needs or [-1]),
                (Suggestion.query_type == "organization") & (Suggestion.query_id == visible_to_org)))
        rows = s.exec(stmt.order_by(Suggestion.id)).all()
        if latest_run_only and rows:
            last = rows[-1].run_id
            rows = [r for r in rows if r.run_id == last]
        decisions: dict[int, Decision] = {}
        ids = [r.id for r in rows]
        for start in range(0, len(ids), 900):
            for d in s.exec(select(Decision).where(Decision.suggestion_id.in_(ids[start:start + 900]))
                            .order_by(Decision.decided_at, Decision.id)):
                decisions[d.suggestion_id] = d
        names = {o.id: o for o in s.exec(select(Organization).where(
            Organization.id.in_([r.candidate_id for r in rows if r.candidate_type == "organization"] or [-1])))}
        seeds = {x.id: x for x in s.exec(select(ResearchSeed).where(
            ResearchSeed.id.in_([r.candidate_id for r in rows if r.candidate_type == "seed"] or [-1])))}
    out = []
    for r in rows:
        d = decisions.get(r.id)
        org = names.get(r.candidate_id) if r.candidate_type == "organization" else None
        seed = seeds.get(r.candidate_id) if r.candidate_type == "seed" else None
        name = org.name if org else (seed.title if seed else None)
        where = org.city if org else (seed.institution or "KAKEN" if seed else None)
        out.append({"id": r.id, "run_id": r.run_id, "query_type": r.query_type, "query_id": r.query_id,
                    "candidate_type": r.candidate_type, "candidate_id": r.candidate_id,
                    "candidate_name": name, "candidate_city": where,
                    "candidate_url": seed.url if seed else None,
                    "rank": r.rank, "score": r.score, "model_version": r.model_version, "reason": r.explanation,
                    "features": r.features or {},
                    "decision": {"verdict": d.verdict, "reason": d.reason, "by": d.coordinator} if d else None})
    return sorted(out, key=lambda x: (x["candidate_type"], x["rank"])) if latest_run_only else out
