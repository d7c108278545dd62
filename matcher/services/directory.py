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


def _names(s, rows) -> tuple[dict[int, Organization], dict[int, ResearchSeed]]:
    orgs = {o.id: o for o in s.exec(select(Organization).where(
        Organization.id.in_([r.candidate_id for r in rows if r.candidate_type == "organization"] or [-1])))}
    seeds = {x.id: x for x in s.exec(select(ResearchSeed).where(
        ResearchSeed.id.in_([r.candidate_id for r in rows if r.candidate_type == "seed"] or [-1])))}
    return orgs, seeds


def _decision_json(d: Decision | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {"verdict": d.verdict, "reason": d.reason, "by": d.coordinator, "at": d.decided_at.isoformat(),
            "suggestion_id": d.suggestion_id}


def suggestion_rows(engine: Engine, query_type: str | None = None, query_id: int | None = None,
                    latest_run_only: bool = False) -> list[dict[str, Any]]:
    """Stored suggestions with the latest coordinator decision (for coordinators only). With
    ``latest_run_only`` the decision is the pair's: the newest verdict on the same candidate for
    the same query in any run, so a re-run shows what was already decided."""
    with session_scope(engine) as s:
        stmt = select(Suggestion).where(Suggestion.kind != "group")
        if query_type:
            stmt = stmt.where(Suggestion.query_type == query_type, Suggestion.query_id == query_id)
        rows = s.exec(stmt.order_by(Suggestion.id)).all()
        decided = s.exec(select(Decision, Suggestion).where(
            Decision.suggestion_id == Suggestion.id, Decision.kind == "coordinator",
            *([Suggestion.query_type == query_type, Suggestion.query_id == query_id] if query_type else []))
            .order_by(Decision.decided_at, Decision.id)).all()
        by_suggestion = {sug.id: d for d, sug in decided}
        by_pair = {(sug.query_type, sug.query_id, sug.candidate_type, sug.candidate_id): d for d, sug in decided}
        if latest_run_only and rows:
            # The latest run, plus every pair rejected in an earlier run that the latest run no
            # longer lists (its newest card): a rejection stays visible, it does not vanish.
            last = rows[-1].run_id
            pair = lambda r: (r.query_type, r.query_id, r.candidate_type, r.candidate_id)  # noqa: E731
            shown = {pair(r) for r in rows if r.run_id == last}
            older: dict[tuple, Suggestion] = {}
            for r in rows:
                d = by_pair.get(pair(r))
                if r.run_id != last and pair(r) not in shown and d is not None and d.verdict == "reject":
                    older[pair(r)] = r
            rows = [r for r in rows if r.run_id == last] + list(older.values())
        orgs, seeds = _names(s, rows)
    out = []
    for r in rows:
        d = (by_pair.get((r.query_type, r.query_id, r.candidate_type, r.candidate_id)) if latest_run_only
             else by_suggestion.get(r.id))
        org = orgs.get(r.candidate_id) if r.candidate_type == "organization" else None
        seed = seeds.get(r.candidate_id) if r.candidate_type == "seed" else None
        out.append({"id": r.id, "run_id": r.run_id, "query_type": r.query_type, "query_id": r.query_id,
                    "candidate_type": r.candidate_type, "candidate_id": r.candidate_id,
                    "candidate_name": org.name if org else (seed.title if seed else None),
                    "candidate_external_id": org.external_id if org else (seed.external_id if seed else None),
                    "candidate_city": org.city if org else (seed.institution or "KAKEN" if seed else None),
                    "candidate_url": seed.url if seed else None,
                    "rank": r.rank, "score": r.score, "model_version": r.model_version, "reason": r.explanation,
                    "created_at": r.created_at.isoformat(), "features": r.features or {},
                    "decision": _decision_json(d)})
    if latest_run_only and out:
        return sorted(out, key=lambda x: (x["run_id"] != rows[0].run_id, x["candidate_type"], x["rank"]))
    return out


def group_rows(engine: Engine, need_id: int) -> list[dict[str, Any]]:
    """The need's latest proposed joint-order groups, members named, with the latest verdict and
    any members a coordinator dropped."""
    with session_scope(engine) as s:
        rows = s.exec(select(Suggestion).where(Suggestion.kind == "group", Suggestion.query_type == "need",
                                               Suggestion.query_id == need_id).order_by(Suggestion.id)).all()
        if not rows:
            return []
        last = rows[-1].run_id
        rows = [r for r in rows if r.run_id == last]
        decisions = s.exec(select(Decision).where(Decision.suggestion_id.in_([r.id for r in rows]))
                           .order_by(Decision.decided_at, Decision.id)).all()
        ids = {m["org_id"] for r in rows for m in r.members or []}
        orgs = {o.id: o for o in s.exec(select(Organization).where(Organization.id.in_(list(ids) or [-1])))}
    verdict: dict[int, Decision] = {}
    dropped: dict[int, set[int]] = {}
    for d in decisions:
        if d.kind == "coordinator":
            verdict[d.suggestion_id] = d
        elif d.kind == "group_drop" and d.comment and d.comment.isdigit():
            dropped.setdefault(d.suggestion_id, set()).add(int(d.comment))
    return [{"id": r.id, "rank": r.rank, "score": r.score, "explanation": r.explanation,
             "decision": _decision_json(verdict.get(r.id)),
             "members": [{"org_id": m["org_id"], "name": orgs[m["org_id"]].name if m["org_id"] in orgs else "",
                          "city": orgs[m["org_id"]].city if m["org_id"] in orgs else "", "role": m["role"],
                          "covers": m["covers"], "dropped": m["org_id"] in dropped.get(r.id, set())}
                         for m in r.members or []]} for r in sorted(rows, key=lambda r: r.rank)]


def need_history(engine: Engine, need_id: int) -> dict[str, Any]:
    """Every run of a need's shortlist and every decision on it, coordinators' and companies',
    each naming what was decided on (a group by its members, a dropped member by name)."""
    with session_scope(engine) as s:
        rows = s.exec(select(Suggestion).where(Suggestion.query_type == "need", Suggestion.query_id == need_id)
                      .order_by(Suggestion.id)).all()
        by_id = {r.id: r for r in rows}
        decisions = s.exec(select(Decision).where(Decision.suggestion_id.in_(list(by_id) or [-1]))
                           .order_by(Decision.decided_at, Decision.id)).all()
        orgs, seeds = _names(s, rows)
        member_ids = {m["org_id"] for r in rows for m in r.members or []} | {
            d.org_id for d in decisions if d.kind == "group_drop" and d.org_id}
        members = dict(s.exec(select(Organization.id, Organization.name).where(
            Organization.id.in_(member_ids or {-1}))).all())
    runs: dict[str, dict[str, Any]] = {}
    for r in rows:
        run = runs.setdefault(r.run_id, {"run_id": r.run_id, "created_at": r.created_at.isoformat(),
                                         "model_version": r.model_version, "candidates": 0,
                                         "kind": "groups" if r.kind == "group" else "shortlist"})
        run["candidates"] += 1

    def name(sug: Suggestion) -> str | None:
        if sug.kind == "group":
            return "共同受注グループ: " + "・".join(members.get(m["org_id"], "") for m in sug.members or [])
        if sug.candidate_type == "organization":
            o = orgs.get(sug.candidate_id)
            return o.name if o else None
        x = seeds.get(sug.candidate_id)
        return x.title if x else None

    def note(d: Decision) -> str | None:
        if d.kind == "group_drop":
            return f"「{members.get(d.org_id or -1, '（削除された企業）')}」をグループから外した"
        return d.comment

    return {"need_id": need_id, "runs": sorted(runs.values(), key=lambda r: r["created_at"], reverse=True),
            "decisions": [{"suggestion_id": d.suggestion_id, "run_id": by_id[d.suggestion_id].run_id,
                           "candidate_type": by_id[d.suggestion_id].candidate_type,
                           "candidate_id": by_id[d.suggestion_id].candidate_id,
                           "candidate_name": name(by_id[d.suggestion_id]), "kind": d.kind, "verdict": d.verdict,
                           "reason": d.reason, "comment": note(d), "by": d.coordinator,
                           "at": d.decided_at.isoformat()} for d in reversed(decisions)]}


# -- the public directory ------------------------------------------------------------------------
SIZE_CLASSES = {"s": ("20名以下", 0, 20), "m": ("21〜100名", 21, 100), "l": ("101〜300名", 101, 300),
                "xl": ("301名以上", 301, None)}
PAGE_SIZE = 20


def directory_search(engine: Engine, q: str = "", city: str = "", process: str = "", cert: str = "",
                     size: str = "", page: int = 1) -> dict[str, Any]:
    """Published organisations only. Every word of ``q`` must occur (AND) in the name, processes,
    equipment, certifications or profile text; words and stored text are normalised alike
    (NFKC, 表記ゆれ), so 全角/半角 and variant spellings match."""
    words = [w for w in normalize(q or "").split() if w][:10]
    with session_scope(engine) as s:
        stmt = select(Organization).where(Organization.deleted_at.is_(None), Organization.publish.is_(True))
        for w in words:
            in_docs = select(Document.owner_id).where(Document.owner_type == "organization",
                                                      Document.text.contains(w, autoescape=True))
            stmt = stmt.where(or_(Organization.external_id == w, Organization.id.in_(in_docs), *(
                col.contains(w, autoescape=True) for col in (Organization.name, Organization.processes,
                                                             Organization.equipment, Organization.certifications))))
        if city:
            stmt = stmt.where(Organization.city == normalize(city))
        if process:
            stmt = stmt.where(Organization.processes.contains(normalize(process), autoescape=True))
        if cert:
            stmt = stmt.where(Organization.certifications.contains(normalize(cert), autoescape=True))
        if size in SIZE_CLASSES:
            _, low, high = SIZE_CLASSES[size]
            stmt = stmt.where(Organization.employees >= low)
            if high is not None:
                stmt = stmt.where(Organization.employees <= high)
        total = s.exec(select(func.count()).select_from(stmt.subquery())).one()
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        rows = s.exec(stmt.order_by(Organization.external_id).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
        profiles = {d.owner_id: d.text for d in s.exec(select(Document).where(
            Document.owner_type == "organization", Document.kind == "profile",
            Document.owner_id.in_([o.id for o in rows] or [-1])))}
        facets = s.exec(select(Organization.city, Organization.processes, Organization.certifications).where(
            Organization.deleted_at.is_(None), Organization.publish.is_(True))).all()
    cities = sorted({c for c, _, _ in facets if c})
    processes = sorted({p for _, ps, _ in facets for p in split_list(ps)})
    certs = sorted({c for _, _, cs in facets for c in split_list(cs)})
    return {"total": total, "page": page, "pages": pages, "items": [public_org(o, profiles.get(o.id)) for o in rows],
            "facets": {"city": cities, "process": processes, "cert": certs,
                       "size": {k: v[0] for k, v in SIZE_CLASSES.items()}}}


def public_org(o: Organization, profile: str | None, docs: dict[str, str] | None = None) -> dict[str, Any]:
    """What anyone may see of a published organisation: no e-mail, no employee count."""
    out = {"external_id": o.external_id, "name": o.name, "kind_ja": KIND_JA.get(o.kind, o.kind), "city": o.city,
           "processes": split_list(o.processes), "certifications": split_list(o.certifications),
           "equipment": o.equipment, "profile": profile, "fictional": o.fictional}
    if docs is not None:
        out["track_record"] = docs.get("track_record")
    return out


def public_organization(engine: Engine, external_id: str) -> dict[str, Any] | None:
    with session_scope(engine) as s:
        o = s.exec(select(Organization).where(Organization.external_id == external_id[:64])).first()
    if o is None or not o.publish or o.deleted_at is not None:
        return None
    found = load_organization(engine, o.id)
    if found is None:
        return None
    org, docs = found
    return public_org(org, docs.get("profile"), docs)
