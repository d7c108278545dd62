"""Coordinators' verdicts on suggestions (API and the need page's form)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import field_validator
from pydantic.json_schema import SkipJsonSchema

from api.deps import Staff, State
from api.routes.common import (
    Id,
    OptionalUser,
    api_router,
    check_csrf,
    page_user,
)
from matcher.exchange.spec import DecisionRow
from matcher.views.suggestions import RecordedDecisionOut

api = api_router()
pages = APIRouter(include_in_schema=False)


class DecisionIn(DecisionRow):
    """A coordinator's verdict, validated like every other decision. Who and when are the
    server's (the logged-in user, now): a client's ``coordinator`` or ``decided_at`` is ignored."""

    coordinator: SkipJsonSchema[str | None] = None
    decided_at: SkipJsonSchema[datetime | None] = None

    @field_validator("coordinator", mode="before")
    @classmethod
    def _by(cls, v: Any) -> None:
        return None

    @field_validator("decided_at", mode="before")
    @classmethod
    def _when(cls, v: Any) -> None:
        return None


@api.post("/decisions", status_code=201, tags=["decisions"])
def decide(body: DecisionIn, user: Staff, st: State) -> RecordedDecisionOut:
    """判定を記録（担当者と日時はサーバーが記録） / record a verdict; the server records who and when."""
    from matcher.services.decisions import record_decision

    dec = record_decision(st.engine, body.suggestion_id, body.verdict, body.reason, user.email)
    return RecordedDecisionOut(decision_id=dec.id, suggestion_id=dec.suggestion_id, verdict=dec.verdict, reason=dec.reason,
                       coordinator=dec.coordinator)


@pages.post("/suggestions/{suggestion_id}/decision")
async def decide_form(suggestion_id: Id, request: Request, st: State, user: OptionalUser) -> RedirectResponse:
    from matcher.services.decisions import record_decision

    user = page_user(request, user, "admin", "coordinator")
    form = await check_csrf(request, st)
    verdict = str(form.get("verdict") or "")[:20]
    reason = str(form.get("reason") or "")[:40] or None
    # Everything the form says is checked before anything is written, so a bad field can never
    # leave a stored decision behind an error page (and a retry cannot duplicate it).
    need_id = str(form.get("need_id") or "")
    target = "/needs"
    if need_id.isascii() and need_id.isdigit() and len(need_id) <= 10 and 1 <= int(need_id) <= 2_147_483_647:
        target = f"/needs/{int(need_id)}?message=decided#s{suggestion_id}"
    if verdict == "reject" and not reason:
        raise HTTPException(422, "却下するときは理由を選んでください。")
    record_decision(st.engine, suggestion_id, verdict, reason if verdict == "reject" else None, user.email)
    return RedirectResponse(target, 303)
