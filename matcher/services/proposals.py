"""What a company may see of a suggestion: one description for its page, its digest and the page
behind a mail link, so all three say the same thing and none says more than it may.

A company sees a suggestion only from its own side of the pair: as the requester (its need, or
its own profile, is the query) or as the candidate (it was proposed for another's need or
profile), or as a member of a proposed joint-order group. It never sees a 非公開 need of
another organisation, never the name, place, certificates or text of an organisation that is
not public (公開=いいえ: 「非公開の企業・機関（窓口からご紹介します）」), never a coordinator's
identity, verdict reason, comment or score. A person (人材) proposed for its need is seen only by
the requester and only after the person agreed (``services.invitations``). Its own answer is the latest of its replies on the
pair, whatever channel it came through (the page, the API, a mail link).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from sqlalchemy import Engine
from sqlmodel import select

from matcher.labels import ANSWER_JA, PERSON_CATEGORY_JA
from matcher.services.suggestions import StoredEdge, Verdict, read_edges
from matcher.store.db import session_scope
from matcher.store.tables import Decision, Need, Organization, Person, ResearchSeed, Suggestion, split_list

HIDDEN_NAME = "非公開の企業・機関（窓口からご紹介します）"
Direction = Literal["partner_for_your_need", "research_for_your_need", "group_for_your_need", "advisor_for_your_need",
                    "partner_for_your_company", "research_for_your_company", "your_company_for_a_need",
                    "your_company_for_a_partner", "your_company_in_a_group"]


@dataclass(frozen=True, kw_only=True)
class Reply:
    answer: str  # interested | declined
    comment: str | None
    at: datetime
    previous: str | None = None  # the answer it replaced, if the company changed its mind
    previous_at: datetime | None = None

    @property
    def answer_ja(self) -> str:
        return ANSWER_JA.get(self.answer, self.answer)


@dataclass(frozen=True, kw_only=True)
class CompanyItem:
    """One suggestion as one company may read it."""

    suggestion_id: int
    direction: Direction
    need_title: str | None
    partner_name: str
    partner_detail: str
    url: str | None
    why: str
    accepted_at: datetime | None = None
    reply: Reply | None = None

    @property
    def headline(self) -> str:
        return {
            "partner_for_your_need": f"協力先候補: {self.partner_name}",
            "research_for_your_need": f"研究シーズ: {self.partner_name}",
            "group_for_your_need": f"共同受注グループの候補: {self.partner_name}",
            "advisor_for_your_need": f"アドバイザー: {self.partner_name}",
            "partner_for_your_company": f"おすすめの連携先: {self.partner_name}",
            "research_for_your_company": f"研究シーズ: {self.partner_name}",
            "your_company_for_a_need": f"{self.partner_name}の案件のご紹介",
            "your_company_for_a_partner": f"連携のご提案: {self.partner_name}",
            "your_company_in_a_group": f"共同受注グループへのお誘い（依頼元: {self.partner_name}）",
        }[self.direction]

    @property
    def about(self) -> str:
        return {
            "partner_for_your_need": f"御社の案件「{self.need_title}」について",
            "research_for_your_need": f"{self.partner_detail}（御社の案件「{self.need_title}」について）",
            "group_for_your_need": f"御社の案件「{self.need_title}」を分担して担える企業の組み合わせです",
            "advisor_for_your_need": f"御社の案件「{self.need_title}」について、ご本人の了承を得てご紹介します",
            "partner_for_your_company": "御社の技術紹介と近い企業です",
            "research_for_your_company": f"{self.partner_detail}の研究と御社の技術が近いとしてご紹介します",
            "your_company_for_a_need": f"「{self.need_title}」の協力先として、御社をご紹介したいと考えています",
            "your_company_for_a_partner": "御社の技術と近い企業として、連携をご提案します",
            "your_company_in_a_group": f"案件「{self.need_title}」を複数の企業で分担する共同受注のご提案です",
        }[self.direction]


@dataclass
class _Store:
    """What describing a batch of suggestions needs, read once."""

    needs: dict[int, Need]
    orgs: dict[int, Organization]
    seeds: dict[int, ResearchSeed]
    people: dict[int, Person]
    person_answers: dict[tuple[int, int], str]  # (need, person) → agreed | declined


def _load(s, sugs: list[StoredEdge]) -> _Store:
    need_ids = {g.query_id for g in sugs if g.query_type == "need"}
    needs = {n.id: n for n in s.exec(select(Need).where(Need.id.in_(need_ids or {-1})))}
    seed_ids = {g.candidate_id for g in sugs if g.candidate_type == "seed"} | {
        g.query_id for g in sugs if g.query_type == "seed"}
    seeds = {x.id: x for x in s.exec(select(ResearchSeed).where(ResearchSeed.id.in_(seed_ids or {-1})))}
    org_ids = {n.org_id for n in needs.values()} | {x.org_id for x in seeds.values() if x.org_id}
    for g in sugs:
        org_ids |= {g.requester_org_id, g.candidate_org_id} - {None}
        if g.query_type == "organization":
            org_ids.add(g.query_id)
        if g.candidate_type == "organization":
            org_ids.add(g.candidate_id)
        org_ids |= {m.org_id for m in g.members}
    orgs = {o.id: o for o in s.exec(select(Organization).where(Organization.id.in_(org_ids or {-1})))}
    person_ids = {g.candidate_id for g in sugs if g.candidate_type == "person"}
    people = {p.id: p for p in s.exec(select(Person).where(Person.id.in_(person_ids or {-1})))}
    return _Store(needs, orgs, seeds, people, answers_of(s, person_ids))


def answers_of(s, person_ids: set[int]) -> dict[tuple[int, int], str]:
    """(need, person) → the person's latest answer on the pair (any run's suggestion of it)."""
    rows = s.exec(select(Decision.verdict, Suggestion.query_id, Suggestion.candidate_id).where(
        Decision.suggestion_id == Suggestion.id, Decision.kind == "person_reply", Suggestion.candidate_type == "person",
        Suggestion.candidate_id.in_(person_ids or {-1})).order_by(Decision.decided_at, Decision.id)).all()
    return {(q, p): verdict for verdict, q, p in rows}


def public_name(o: Organization | None) -> str:
    return o.name if o is not None and o.publish and o.deleted_at is None else HIDDEN_NAME


def _is_public(o: Organization | None) -> bool:
    return o is not None and o.publish and o.deleted_at is None


def _reason(g: StoredEdge, viewer: Literal["requester", "candidate"], other: Organization | None) -> str:
    if g.why is not None:
        return g.why.text(viewer, _is_public(other)) or "技術・事業の内容が近いと判断しました。"
    # A suggestion stored before reasons were kept as parts: its text is the coordinator's, so
    # a company reads it only when the other side is public.
    return g.reason if _is_public(other) and g.reason else "技術・事業の内容が近いと判断しました。"


def _group_text(g: StoredEdge, st: _Store, viewer_org: int) -> tuple[str, str]:
    """(who is in the group, what each covers), public names only."""
    names, covers = [], []
    for m in g.members:
        org = st.orgs.get(m.org_id)
        name = "貴社" if m.org_id == viewer_org else public_name(org)
        lead = "（幹事）" if m.role == "lead" else ""
        names.append(name + lead)
        covers.append(f"{name}: {'・'.join(m.covers)}")
    return "・".join(names), "、".join(covers)


def describe(g: StoredEdge, org_id: int, st: _Store) -> CompanyItem | None:
    """``g`` as organisation ``org_id`` may read it, or None when it is not its to see."""
    if g.candidate_type == "person":
        return _advisor(g, org_id, st)
    need = st.needs.get(g.query_id) if g.query_type == "need" else None
    base = {"suggestion_id": g.id, "url": None}
    if g.kind == "group":
        if need is None:
            return None
        members = {m.org_id for m in g.members}
        who, covers = _group_text(g, st, org_id)
        if need.org_id == org_id:
            return CompanyItem(**base, direction="group_for_your_need", need_title=need.title, partner_name=who,
                               partner_detail="", why=covers)
        if org_id in members and need.public:
            return CompanyItem(**base, direction="your_company_in_a_group", need_title=need.title,
                               partner_name=public_name(st.orgs.get(need.org_id)),
                               partner_detail="必要工程: " + "・".join(split_list(need.required_processes)),
                               why=covers)
        return None
    if need is not None and need.org_id == org_id:  # its own need
        if g.candidate_type == "seed":
            seed = st.seeds.get(g.candidate_id)
            if seed is None:
                return None
            return CompanyItem(**{**base, "url": seed.url}, direction="research_for_your_need", need_title=need.title,
                               partner_name=seed.title, partner_detail=seed.institution or "研究機関",
                               why=_reason(g, "requester", None))
        partner = st.orgs.get(g.candidate_id)
        return CompanyItem(**base, direction="partner_for_your_need", need_title=need.title,
                           partner_name=public_name(partner),
                           partner_detail=(partner.city or "") if _is_public(partner) else "",
                           why=_reason(g, "requester", partner))
    if g.query_type == "organization" and g.query_id == org_id:  # its own profile was the query
        partner = st.orgs.get(g.candidate_id) if g.candidate_type == "organization" else None
        if partner is None:
            return None
        return CompanyItem(**base, direction="partner_for_your_company", need_title=None,
                           partner_name=public_name(partner),
                           partner_detail=(partner.city or "") if _is_public(partner) else "",
                           why=_reason(g, "requester", partner))
    if g.candidate_type == "organization" and g.candidate_id == org_id:  # proposed to someone else
        if need is not None:
            if not need.public:
                return None  # 非公開: told to nobody but the requester and the coordinators
            requester = st.orgs.get(need.org_id)
            return CompanyItem(**base, direction="your_company_for_a_need", need_title=need.title,
                               partner_name=public_name(requester),
                               partner_detail="必要工程: " + "・".join(split_list(need.required_processes)),
                               why=_reason(g, "candidate", requester))
        if g.query_type == "organization":
            requester = st.orgs.get(g.query_id)
            return CompanyItem(**base, direction="your_company_for_a_partner", need_title=None,
                               partner_name=public_name(requester), partner_detail="",
                               why=_reason(g, "candidate", requester))
        if g.query_type == "seed":
            seed = st.seeds.get(g.query_id)
            if seed is None:
                return None
            return CompanyItem(**{**base, "url": seed.url}, direction="research_for_your_company", need_title=None,
                               partner_name=seed.title, partner_detail=seed.institution or "研究機関",
                               why=_reason(g, "candidate", None))
    return None


def _advisor(g: StoredEdge, org_id: int, st: _Store) -> CompanyItem | None:
    """A person proposed for the company's own need, once — and only once — the person agreed:
    then their name and contact. Before that, and for every other organisation, nothing."""
    need = st.needs.get(g.query_id) if g.query_type == "need" else None
    person = st.people.get(g.candidate_id)
    if need is None or need.org_id != org_id or person is None or person.erased_at is not None:
        return None
    if st.person_answers.get((g.query_id, g.candidate_id)) != "agreed":
        return None
    category = PERSON_CATEGORY_JA.get(person.category, "")
    contact = f"連絡先: {person.email}" if person.email else "連絡先は窓口からお知らせします"
    return CompanyItem(suggestion_id=g.id, url=None, direction="advisor_for_your_need", need_title=need.title,
                       partner_name=person.name, partner_detail="・".join(x for x in (category, contact) if x),
                       why=g.why.text("requester") if g.why is not None else "")


def current_reply(replies: list[Verdict]) -> Reply | None:
    """An organisation's current answer on a pair (the latest of its replies, with the one it
    replaced), whichever suggestion of the pair and whichever channel it came through."""
    out: Reply | None = None
    for d in replies:
        before = out
        changed = before is not None and before.answer != d.verdict
        out = Reply(answer=d.verdict, comment=d.comment, at=d.created_at,
                    previous=before.answer if changed else (before.previous if before else None),
                    previous_at=before.at if changed else (before.previous_at if before else None))
    return out


def company_items(engine: Engine, org_id: int, suggestion_ids: set[int] | None = None) -> list[CompanyItem]:
    """Every suggestion concerning the organisation, as it may read them (with its answers)."""
    sugs = read_edges(engine, concerning=org_id, ids=suggestion_ids)
    with session_scope(engine) as s:
        st = _load(s, sugs)
    out = []
    for g in sugs:
        item = describe(g, org_id, st)
        if item is not None:
            out.append(replace(item, reply=current_reply(g.replies_of(org_id))))
    return out


def company_item(engine: Engine, org_id: int, suggestion_id: int) -> CompanyItem | None:
    """One suggestion as the organisation may read it (a mail link's page), or None."""
    found = company_items(engine, org_id, {suggestion_id})
    return found[0] if found else None


def proposals_for(engine: Engine, org_id: int) -> list[CompanyItem]:
    """What a coordinator accepted that concerns this company, one card per pair (the newest
    accepted suggestion of it), newest first."""
    edges = {e.id: e for e in read_edges(engine, concerning=org_id, decided_only=True) if e.accepted}
    items = company_items(engine, org_id, set(edges))
    newest: dict[tuple, CompanyItem] = {}
    for item in sorted(items, key=lambda i: (edges[i.suggestion_id].decision.at, i.suggestion_id)):
        newest[edges[item.suggestion_id].pair] = replace(item, accepted_at=edges[item.suggestion_id].decision.at)
    return sorted(newest.values(), key=lambda i: (i.accepted_at, i.suggestion_id), reverse=True)
