"""Joint-order groups and study groups (SIG) as JSON."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from matcher.labels import fit_label
from matcher.services.groups import GroupProposal
from matcher.services.sig import SigMember, SigProposal
from matcher.views.shortlists import NeedOut, need_out


class MemberOrgOut(BaseModel):
    id: int
    external_id: str
    name: str
    city: str | None


class GroupMemberOut(BaseModel):
    org: MemberOrgOut
    covers: list[str]
    role: str


class LeadOut(BaseModel):
    id: int
    name: str


class GroupOut(BaseModel):
    rank: int
    score: float
    fit: float  # the members' mean edge score
    fit_label: str  # 適合度 高 / 中 / 低, as for a single candidate
    suggestion_id: int | None
    status: str
    gap: float
    lead: LeadOut
    members: list[GroupMemberOut]
    covered: list[str]
    explanation: str


class NearestOut(BaseModel):
    process: str
    kind: str
    id: int
    external_id: str
    name: str
    why: str


class InfeasibleOut(BaseModel):
    uncovered: list[str]
    nearest: list[NearestOut]


class SoloOut(BaseModel):
    """A firm that can do every required process alone (「単独で対応可能」)."""

    org: MemberOrgOut
    score: float
    fit_label: str
    reason: str


class GroupsOut(BaseModel):
    need: NeedOut
    mode: str  # complement | capacity (同一工程の共同受注)
    groups: list[GroupOut]
    solo: list[SoloOut]
    infeasible: InfeasibleOut | None


def groups_out(p: GroupProposal) -> GroupsOut:
    groups = [GroupOut(rank=g.rank, score=g.score, fit=g.fit, fit_label=fit_label(g.fit),
                       suggestion_id=g.suggestion_id, status=g.status, gap=g.gap,
                       lead=LeadOut(id=g.lead.id, name=g.lead.name), covered=list(g.covered),
                       explanation=g.explanation,
                       members=[GroupMemberOut(org=MemberOrgOut(id=m.edge.candidate.id,
                                                                external_id=m.edge.candidate.external_id,
                                                                name=m.edge.candidate.name, city=m.edge.candidate.city),
                                               covers=list(m.covers), role=m.role) for m in g.members])
              for g in p.groups]
    infeasible = None
    if p.uncovered:
        infeasible = InfeasibleOut(uncovered=p.uncovered, nearest=[
            NearestOut(process=n.process, kind=n.kind, id=n.id, external_id=n.external_id, name=n.name, why=n.why)
            for n in p.nearest])
    solo = [SoloOut(org=MemberOrgOut(id=e.candidate.id, external_id=e.candidate.external_id, name=e.candidate.name,
                                     city=e.candidate.city), score=e.score, fit_label=fit_label(e.score), reason=e.reason)
            for e in p.solo]
    return GroupsOut(need=need_out(p.need), mode=p.mode, groups=groups, solo=solo, infeasible=infeasible)


class SigMemberOut(BaseModel):
    id: int
    external_id: str
    name: str
    kind: str
    why: str


class SigOut(BaseModel):
    label: str
    terms: list[str]
    members: list[SigMemberOut]
    seeds: list[SigMemberOut]
    convener: SigMemberOut


class SigsOut(BaseModel):
    sigs: list[SigOut]
    method: dict[str, Any]


def _sig_member(m: SigMember) -> SigMemberOut:
    p = m.party
    kind = p.kind or ("seed" if p.type == "seed" else "organization")
    return SigMemberOut(id=p.id, external_id=p.external_id, name=p.name, kind=kind, why=m.why)


def sigs_out(p: SigProposal) -> SigsOut:
    return SigsOut(sigs=[SigOut(label=s.label, terms=s.terms, members=[_sig_member(m) for m in s.members],
                                seeds=[_sig_member(m) for m in s.seeds], convener=_sig_member(s.convener))
                         for s in p.sigs],
                   method={"name": p.method, "k": p.k, "silhouette": p.silhouette,
                           "scores": {m: {str(k): v for k, v in ks.items()} for m, ks in p.scores.items()}})
