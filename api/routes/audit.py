"""The audit log, in Japanese (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import State
from api.routes.common import OptionalUser, page_user, render
from matcher.services.audit import audit_page as read_audit

pages = APIRouter(include_in_schema=False)


@pages.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request, st: State, user: OptionalUser, page: int = 1) -> Response:
    user = page_user(request, user, "admin")
    log = read_audit(st.engine, page)
    return render(request, st, "audit.html", user, entries=log.entries, page=log.page, pages=log.pages, total=log.total)
