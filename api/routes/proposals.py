"""What a company sees: its proposals and its answers (API and page)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from api.deps import CurrentUser, State
from api.routes.common import (
    MESSAGES,
    Id,
    OptionalUser,
    api_router,
    check_csrf,
    page_user,
    render,
)
from matcher import views

api = api_router()
pages = APIRouter(include_in_schema=False)


class ProposalReplyIn(BaseModel):
    answer: Literal["interested", "declined"]
    comment: str | None = Field(default=None, max_length=1000)


@api.get("/proposals", tags=["proposals"])
def proposals(user: CurrentUser, st: State) -> views.ProposalsOut:
    """自社への提案（コーディネーターが承認したもの） / proposals a coordinator accepted for your company."""
    from matcher.services.proposals import proposals_for

    if user.role != "company":
        raise HTTPException(403, "企業ユーザー向けの機能です / for company users")
    return views.proposals_out(st.settings.contact, proposals_for(st.engine, user.org_id or -1))


@api.post("/proposals/{suggestion_id}/reply", status_code=201, tags=["proposals"])
def proposal_reply(suggestion_id: Id, body: ProposalReplyIn, user: CurrentUser, st: State) -> views.ReplyOut:
    """興味あり / 辞退 を回答する（後から変更できます） / answer a proposal; a later different answer is a change."""
    from matcher.services.decisions import record_company_reply
    from matcher.services.proposals import proposals_for

    if user.role != "company":
        raise HTTPException(403, "企業ユーザー向けの機能です / for company users")
    if suggestion_id not in {p.suggestion_id for p in proposals_for(st.engine, user.org_id or -1)}:
        raise HTTPException(404, "提案が見つかりません / no such proposal for your company")
    outcome = record_company_reply(st.engine, suggestion_id, body.answer, body.comment, user.email, user.org_id or -1)
    return views.ReplyOut(suggestion_id=suggestion_id, answer=body.answer, status=outcome.status)


@pages.get("/proposals", response_class=HTMLResponse)
def proposals_page(request: Request, st: State, user: OptionalUser, message: str = "") -> Response:
    from matcher.services.proposals import proposals_for

    user = page_user(request, user, "company")
    return render(request, st, "proposals.html", user, proposals=proposals_for(st.engine, user.org_id or -1),
                  contact=st.settings.contact, message=MESSAGES.get(message, ""))


@pages.post("/proposals/{suggestion_id}/reply")
async def proposal_reply_form(suggestion_id: Id, request: Request, st: State, user: OptionalUser) -> RedirectResponse:
    from matcher.services.decisions import record_company_reply
    from matcher.services.proposals import proposals_for

    user = page_user(request, user, "company")
    form = await check_csrf(request, st)
    answer = str(form.get("answer") or "")[:20]
    if suggestion_id not in {p.suggestion_id for p in proposals_for(st.engine, user.org_id or -1)}:
        raise HTTPException(404, "提案が見つかりません / no such proposal")
    record_company_reply(st.engine, suggestion_id, answer, str(form.get("comment") or "")[:1000], user.email,
                         user.org_id or -1)
    return RedirectResponse(f"/proposals?message=replied#p{suggestion_id}", 303)
