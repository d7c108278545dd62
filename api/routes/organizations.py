"""Organisations: list, search, read, create, edit (API) and an organisation's page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import CurrentUser, Staff, State
from api.routes.common import (
    Id,
    OptionalUser,
    api_router,
    company_org,
    page_user,
    reject,
    render,
)
from matcher.exchange.spec import OrganizationRow, partial_model
from matcher.services import directory, organizations
from matcher.views.directory import OrgListOut, OrgRecordOut, OrgSavedOut

api = api_router()
pages = APIRouter(include_in_schema=False)


OrganizationPatch = partial_model(OrganizationRow, "OrganizationPatch", exclude=("external_id",))


@api.get("/organizations", tags=["organizations"])
def list_organizations(user: CurrentUser, st: State, q: Annotated[str, Query(max_length=200)] = "",
                       limit: Annotated[int, Query(ge=1, le=500)] = 50,
                       offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> OrgListOut:
    return OrgListOut.model_validate(directory.search_organizations(st.engine, q, limit=limit, offset=offset,
                                                                    only_id=company_org(user)))


@api.get("/organizations/{org_id}", tags=["organizations"])
def get_organization(org_id: Id, user: CurrentUser, st: State) -> OrgRecordOut:
    if user.role == "company" and user.org_id != org_id:
        # 404, not 403: a company must not learn which other organisation ids exist.
        raise HTTPException(404, "企業が見つかりません / organisation not found")
    org = directory.get_organization(st.engine, org_id)
    if org is None:
        raise HTTPException(404, "企業が見つかりません / organisation not found")
    return OrgRecordOut.model_validate(org)


@api.post("/organizations", status_code=201, tags=["organizations"])
def create_organization(body: OrganizationRow, user: Staff, st: State) -> OrgSavedOut:
    saved = organizations.create(st.engine, body.model_dump(), actor=user.email)
    if saved.errors:
        raise reject(saved.errors)
    return OrgSavedOut(status=saved.status, organization=OrgRecordOut.model_validate(saved.organization))


@api.patch("/organizations/{org_id}", tags=["organizations"])
def update_organization(org_id: Id, body: OrganizationPatch, user: Staff, st: State) -> OrgSavedOut:
    saved = organizations.update(st.engine, org_id, body.model_dump(exclude_unset=True), actor=user.email)
    if saved is None:
        raise HTTPException(404, "企業が見つかりません / organisation not found")
    if saved.errors:
        raise reject(saved.errors)
    return OrgSavedOut(status=saved.status, organization=OrgRecordOut.model_validate(saved.organization))


@pages.get("/orgs/{org_id}", response_class=HTMLResponse)
def org_page(org_id: Id, request: Request, st: State, user: OptionalUser) -> Response:
    user = page_user(request, user)
    if user.role == "company" and user.org_id != org_id:
        raise HTTPException(404, "企業が見つかりません / organisation not found")
    org = directory.get_organization(st.engine, org_id)
    if org is None:
        raise HTTPException(404, "企業が見つかりません / organisation not found")
    return render(request, st, "org.html", user, org=org)
