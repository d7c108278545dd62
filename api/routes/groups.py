"""Joint-order groups and study groups (SIG): proposals, dropping a member."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import Staff, State
from api.routes.common import (
    MAX_ID,
    Id,
    OptionalUser,
    api_router,
    check_csrf,
    page_user,
    render,
)
from matcher import views
from matcher.views.admin import MemberDroppedOut

api = api_router()
pages = APIRouter(include_in_schema=False)


@api.post("/needs/{need_id}/groups", tags=["groups"], response_model=views.GroupsOut)
def make_groups(need_id: Id, user: Staff, st: State, k: Annotated[int, Query(ge=1, le=10)] = 3,
                max_size: Annotated[int, Query(ge=1, le=10)] = 5,
                mode: Annotated[str, Query(pattern="^(complement|capacity)$")] = "complement") -> views.GroupsOut:
    """共同受注グループの提案（最適化）。mode=capacity は同一工程の共同受注 / the k best groups that
    together cover the need's processes (capacity: firms pooling capacity on the same processes)."""
    from matcher.services.groups import propose_groups

    return views.groups_out(propose_groups(st.context(), need_id, k, max_size, mode=mode))


@api.get("/sig", tags=["groups"], response_model=views.SigsOut)
def sig_proposals(user: Staff, st: State) -> views.SigsOut:
    """研究会（SIG）の提案 / themed study groups of firms and research seeds."""
    from matcher.services.sig import propose_sigs

    return views.sigs_out(propose_sigs(st.context()))


class DropIn(BaseModel):
    org_id: int = Field(ge=1, le=MAX_ID)


@api.post("/groups/{suggestion_id}/drop", status_code=201, tags=["groups"])
def drop_member(suggestion_id: Id, body: DropIn, user: Staff, st: State) -> MemberDroppedOut:
    """グループから企業を外す（学習にも使われます） / drop a member from a proposed group."""
    from matcher.services.decisions import drop_group_member

    dec = drop_group_member(st.engine, suggestion_id, body.org_id, user.email)
    return MemberDroppedOut(decision_id=dec.id, suggestion_id=suggestion_id, dropped=body.org_id)


@pages.get("/sig", response_class=HTMLResponse)
async def sig_page(request: Request, st: State, user: OptionalUser) -> Response:

    from matcher import views
    from matcher.services.sig import propose_sigs

    user = page_user(request, user, "admin", "coordinator")
    proposal = await run_in_threadpool(lambda: views.as_json(views.sigs_out(propose_sigs(st.context()))))
    return render(request, st, "sig.html", user, proposal=proposal)


@pages.post("/groups/{suggestion_id}/drop")
async def group_drop(suggestion_id: Id, request: Request, st: State, user: OptionalUser) -> RedirectResponse:
    from matcher.services.decisions import drop_group_member

    user = page_user(request, user, "admin", "coordinator")
    form = await check_csrf(request, st)
    org = str(form.get("org_id") or "")
    need_id = str(form.get("need_id") or "")
    if not (org.isascii() and org.isdigit() and len(org) <= 10 and need_id.isascii() and need_id.isdigit()
            and len(need_id) <= 10):
        raise HTTPException(422, "入力が正しくありません。")
    drop_group_member(st.engine, suggestion_id, int(org), user.email)
    return RedirectResponse(f"/needs/{int(need_id)}?message=dropped#groups", 303)
