"""What each company hears about in its digest: the items a coordinator accepted for it (its own
needs' partners and seeds, other companies' public needs it was proposed for) and, with
``--suggest``, its own best suggested collaborators — never a pair already told or answered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from matcher.services.proposals import company_items
from matcher.services.suggestions import accepted_edges, read_edges
from matcher.store.db import session_scope
from matcher.store.tables import Decision, DigestItem, Organization, Suggestion


@dataclass(frozen=True, kw_only=True)
class DigestEntry:
    suggestion_id: int
    kind: str  # accepted | introduction | suggested
    headline: str
    about: str
    reason: str


@dataclass(kw_only=True)
class Digest:
    org_id: int
    org_name: str
    to: str
    entries: list[DigestEntry]


def eligible_orgs(engine: Engine, org_id: int | None = None) -> list[Organization]:
    with session_scope(engine) as s:
        q = select(Organization).where(Organization.deleted_at.is_(None), Organization.email_opt_in.is_(True),
                                       Organization.email.is_not(None), Organization.email_bouncing_at.is_(None))
        if org_id is not None:
            q = q.where(Organization.id == org_id)
        return list(s.exec(q.order_by(Organization.id)))


_KIND = {"partner_for_your_need": "accepted", "research_for_your_need": "accepted", "advisor_for_your_need": "accepted",
         "partner_for_your_company": "accepted", "your_company_for_a_need": "introduction",
         "your_company_for_a_partner": "introduction", "research_for_your_company": "introduction"}


def collect(engine: Engine, orgs: list[Organization], suggested: dict[int, list[int]] | None = None) -> list[Digest]:
    """Each company's new items, described as its page describes them (``services.proposals``):
    what a coordinator accepted that concerns it, plus (``suggested``: organisation → its own
    best matches' suggestion ids) — never a pair it was already told about, nor one it already
    answered on the web."""
    accepted = {e.id for e in accepted_edges(engine)}
    own_ids = {sid for ids in (suggested or {}).values() for sid in ids}
    with session_scope(engine) as s:
        told_ids = s.exec(select(DigestItem.org_id, DigestItem.suggestion_id)).all()
    pairs = {e.id: e.pair for e in read_edges(engine, ids={sid for _, sid in told_ids} | accepted | own_ids)}
    told = {(org, pairs[sid]) for org, sid in told_ids if sid in pairs}
    out = []
    for org in orgs:
        own = set((suggested or {}).get(org.id, []))
        items = company_items(engine, org.id, accepted | own)
        entries: list[DigestEntry] = []
        seen: set[tuple] = set()
        for item in sorted(items, key=lambda i: i.suggestion_id):
            key = pairs.get(item.suggestion_id)
            if item.direction not in _KIND or item.reply is not None or (org.id, key) in told or key in seen:
                continue
            if item.suggestion_id not in accepted and item.direction != "partner_for_your_company":
                continue  # only a company's own suggested matches go out without a coordinator
            seen.add(key)
            kind = _KIND[item.direction] if item.suggestion_id in accepted else "suggested"
            entries.append(DigestEntry(suggestion_id=item.suggestion_id, kind=kind, headline=item.headline,
                                       about=item.about, reason=item.why))
        if entries:
            out.append(Digest(org_id=org.id, org_name=org.name, to=org.email or "", entries=entries))
    return out


def suggested_collaborators(ctx: Any, orgs: list[Organization], min_score: float, k: int = 3) -> dict[int, list[int]]:
    """(c): each company's own shortlist (its profile as the query), the best ``k`` at or above
    ``min_score``, stored as suggestions so that replies to them are learned from: organisation
    → those suggestions' ids, best first."""
    from matcher.services.shortlists import shortlist_org

    out: dict[int, list[int]] = {}
    for org in orgs:
        if org.id not in ctx.org_parties:
            continue
        answered = _answered_partners(ctx.engine, org.id)
        sl = shortlist_org(ctx, org.id, k=k + len(answered), store=True)
        good = [e.suggestion_id for e in sl.candidates
                if e.score >= min_score and e.suggestion_id and e.candidate.id not in answered][:k]
        if good:
            out[org.id] = good
    return out


def _answered_partners(engine: Engine, org_id: int) -> set[int]:
    """Organisations this company already answered about (either side of the pair, any channel):
    it is never asked about them again."""
    with session_scope(engine) as s:
        rows = s.exec(select(Suggestion.requester_org_id, Suggestion.candidate_org_id).where(
            Decision.suggestion_id == Suggestion.id, Decision.kind == "company_reply",
            Decision.org_id == org_id)).all()
    return {x for pair in rows for x in pair if x is not None and x != org_id}
