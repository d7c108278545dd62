"""製品・技術のみえる化: the public directory (no log-in)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from api.deps import State
from api.routes.common import (
    OptionalUser,
    api_router,
    render,
)
from matcher.services import directory
from matcher.views.directory import DirectoryPageOut, PublicOrgOut

api = api_router()
pages = APIRouter(include_in_schema=False)


@api.get("/directory", tags=["directory"])
def public_directory(st: State, q: Annotated[str, Query(max_length=200)] = "",
                     city: Annotated[str, Query(max_length=100)] = "", process: Annotated[str, Query(max_length=100)] = "",
                     cert: Annotated[str, Query(max_length=100)] = "",
                     size: Annotated[Literal["", "s", "m", "l", "xl"], Query()] = "",
                     page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                     industry: Annotated[str, Query(pattern=r"^[0-9]{0,4}$")] = "") -> DirectoryPageOut:
    """製品・技術のみえる化（ログイン不要、公開企業のみ。業種は日本標準産業分類の番号の先頭で絞り込み） /
    the public technology directory (``industry``: a JSIC code prefix, e.g. 24 or 2452)."""
    return DirectoryPageOut.model_validate(directory.directory_search(st.engine, q, city, process, cert, size, page,
                                                                      industry))


@api.get("/directory/{external_id}", tags=["directory"])
def public_directory_org(external_id: Annotated[str, PathParam(max_length=64)], st: State) -> PublicOrgOut:
    org = directory.public_organization(st.engine, external_id)
    if org is None:
        raise HTTPException(404, "企業が見つかりません / organisation not found")
    return PublicOrgOut.model_validate(org)


@pages.get("/directory", response_class=HTMLResponse)
def directory_page(request: Request, st: State, user: OptionalUser, q: str = "", city: str = "", process: str = "",
                   cert: str = "", size: str = "", page: int = 1, industry: str = "") -> Response:
    q, city, process, cert = q[:200], city[:100], process[:100], cert[:100]
    size = size if size in directory.SIZE_CLASSES else ""
    industry = industry[:4] if industry[:4].isdigit() else ""
    result = directory.directory_search(st.engine, q, city, process, cert, size, max(1, min(page, 100_000)), industry)
    filters = {"q": q, "city": city, "process": process, "cert": cert, "size": size, "industry": industry}
    return render(request, st, "directory.html", user, result=result, filters=filters)


@pages.get("/directory/{external_id}", response_class=HTMLResponse)
def directory_org_page(external_id: str, request: Request, st: State, user: OptionalUser) -> Response:
    org = directory.public_organization(st.engine, external_id[:64])
    if org is None:
        raise HTTPException(404, "企業が見つかりません（非公開か、登録されていません）")
    return render(request, st, "public_org.html", user, org=org)
