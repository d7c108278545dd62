"""人材: the registry for coordinators, a person's list of needs, the advisory batch, and their desk
pages (list, person page with 登録削除)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import Staff, State
from api.routes.common import Id, OptionalUser, api_router, check_csrf, page_user, render
from matcher import views
from matcher.labels import CONTACT_MODE_SHORT_JA, PERSON_CATEGORY_JA, VERDICT_JA
from matcher.services.invitations import erase_person
from matcher.services.people import (
    DEFAULT_ADVISORS,
    DEFAULT_HOURS_PER_ENGAGEMENT,
    DEFAULT_MIN_SCORE,
    assign_advisors,
    person_card,
    person_page,
    registry,
)
from matcher.services.shortlists import shortlist_person

api = api_router()
pages = APIRouter(include_in_schema=False)


@api.get("/people", tags=["people"])
def list_people(user: Staff, st: State, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> views.PersonListOut:
    """人材の一覧（コーディネーター用） / the person registry (staff only)."""
    return views.person_list_out(*registry(st.engine, limit, offset))


@api.post("/people/{person_id}/shortlist", tags=["people"], response_model=views.ShortlistOut,
          response_model_exclude_unset=True)
def person_shortlist(person_id: Id, user: Staff, st: State,
                     k: Annotated[int, Query(ge=1, le=50)] = 10) -> views.ShortlistOut:
    """人材に合う受付中の案件（本人同意のある人材のみ） / open needs for a consenting person, stored."""
    return views.shortlist_out(shortlist_person(st.context(), person_id, k))


@api.post("/people/assign", tags=["people"], response_model=views.AssignmentOut)
def assign(user: Staff, st: State, k: Annotated[int, Query(ge=1, le=10)] = DEFAULT_ADVISORS,
           hours: Annotated[int, Query(ge=1, le=200)] = DEFAULT_HOURS_PER_ENGAGEMENT,
           min_score: Annotated[float, Query(ge=-10, le=10)] = DEFAULT_MIN_SCORE) -> views.AssignmentOut:
    """アドバイザーの一括割当（各案件 k 人まで・対応可能時間の範囲で合計スコア最大、提案として保存） /
    assign advisors to every open need within their hours, exactly, and store the proposals."""
    return views.assignment_out(assign_advisors(st.context(), k, hours, min_score))


# -- desk pages ----------------------------------------------------------------------------------
PAGE_MESSAGES = {"erased": "個人情報を削除しました（提案の件数だけが匿名で残ります）。",
                 "listed": "この人材に合う受付中の案件を探し、提案として保存しました。"}


def _labels() -> dict:
    return {"category_ja": PERSON_CATEGORY_JA, "mode_ja": CONTACT_MODE_SHORT_JA, "verdict_ja": VERDICT_JA}


def _people_view(request: Request, st, user, assignment=None) -> Response:
    total, rows = registry(st.engine, 1000, 0)
    cards = [person_card(p) for p in rows]
    return render(request, st, "people.html", user, people=cards, total=total,
                  consenting=sum(c.matchable for c in cards), assignment=assignment, **_labels())


@pages.get("/people", response_class=HTMLResponse)
def people_page(request: Request, st: State, user: OptionalUser) -> Response:
    return _people_view(request, st, page_user(request, user, "admin", "coordinator"))


@pages.post("/people/assign", response_class=HTMLResponse)
async def people_assign_page(request: Request, st: State, user: OptionalUser) -> Response:
    user = page_user(request, user, "admin", "coordinator")
    form = await check_csrf(request, st)
    k, hours = _int(form.get("k"), 2, 1, 10), _int(form.get("hours"), DEFAULT_HOURS_PER_ENGAGEMENT, 1, 200)
    plan = await run_in_threadpool(lambda: views.assignment_out(assign_advisors(st.context(), k, hours)))
    return await run_in_threadpool(lambda: _people_view(request, st, user, plan))


def _int(value, default: int, low: int, high: int) -> int:
    """A form's number, kept within bounds (a careless or hostile value is not an error page)."""
    try:
        return min(high, max(low, int(str(value))))
    except (TypeError, ValueError):
        return default


@pages.get("/people/{person_id}", response_class=HTMLResponse)
def person_page_view(person_id: Id, request: Request, st: State, user: OptionalUser, message: str = "") -> Response:
    user = page_user(request, user, "admin", "coordinator")
    found = person_page(st.engine, person_id)
    if found is None:
        raise HTTPException(404, "人材が見つかりません / person not found")
    card, proposals = found
    return render(request, st, "person.html", user, person=card, proposals=proposals,
                  message=PAGE_MESSAGES.get(message, ""), **_labels())


@pages.post("/people/{person_id}/shortlist")
async def person_shortlist_page(person_id: Id, request: Request, st: State, user: OptionalUser) -> Response:
    page_user(request, user, "admin", "coordinator")
    await check_csrf(request, st)
    await run_in_threadpool(lambda: shortlist_person(st.context(), person_id))
    return RedirectResponse(f"/people/{person_id}?message=listed", 303)


@pages.post("/people/{person_id}/erase")
async def person_erase_page(person_id: Id, request: Request, st: State, user: OptionalUser) -> Response:
    user = page_user(request, user, "admin", "coordinator")
    form = await check_csrf(request, st)
    if form.get("confirm") != "yes":
        raise HTTPException(422, "削除の申し出を確認するチェックを入れてください / tick the confirmation to erase")
    if not await run_in_threadpool(lambda: erase_person(st.engine, person_id, user.email)):
        raise HTTPException(404, "人材が見つかりません / person not found")
    return RedirectResponse(f"/people/{person_id}?message=erased", 303)
