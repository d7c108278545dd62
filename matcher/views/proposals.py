"""What a company sees, as JSON: its proposals and its answers."""

from __future__ import annotations

from pydantic import BaseModel

from matcher.services.proposals import CompanyItem


class ReplyStateOut(BaseModel):
    answer: str
    comment: str | None
    at: str
    previous: str | None
    previous_at: str | None


class ProposalOut(BaseModel):
    suggestion_id: int
    direction: str
    need_title: str | None
    partner_name: str
    partner_detail: str
    url: str | None
    why: str
    accepted_at: str | None
    reply: ReplyStateOut | None


class ProposalsOut(BaseModel):
    contact: str
    items: list[ProposalOut]


class ReplyOut(BaseModel):
    suggestion_id: int
    answer: str
    status: str  # recorded | changed | same


def proposals_out(contact: str, items: list[CompanyItem]) -> ProposalsOut:
    def reply(i: CompanyItem) -> ReplyStateOut | None:
        r = i.reply
        if r is None:
            return None
        return ReplyStateOut(answer=r.answer, comment=r.comment, at=r.at.isoformat(), previous=r.previous,
                             previous_at=r.previous_at.isoformat() if r.previous_at else None)

    return ProposalsOut(contact=contact, items=[
        ProposalOut(suggestion_id=i.suggestion_id, direction=i.direction, need_title=i.need_title,
                    partner_name=i.partner_name, partner_detail=i.partner_detail, url=i.url, why=i.why,
                    accepted_at=i.accepted_at.isoformat() if i.accepted_at else None, reply=reply(i))
        for i in items])
