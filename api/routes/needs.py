"""Needs: lists, a need's page, its shortlist (made, stored, exported), history and why-not."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentUser, Staff, State
from api.routes.common import (
    MAX_ID,
    MESSAGES,
    Id,
    OptionalUser,
    api_router,
    check_csrf,
    company_org,
    page_user,
    render,
    xlsx_response,
)
from matcher import views
from matcher.errors import MatcherError
from matcher.labels import REJECT_REASON_JA as REASONS_JA
from matcher.labels import VERDICT_JA
from matcher.services import directory, suggestions
from matcher.services.shortlists import DEFAULT_K, DEFAULT_KIND, shortlist_need
from matcher.views.directory import NeedListOut, NeedRecordOut

api = api_router()
pages = APIRouter(include_in_schema=False)


@api.get("/needs", tags=["needs"])
def list_needs(user: CurrentUser, st: State, q: Annotated[str, Query(max_length=200)] = "",
               limit: Annotated[int, Query(ge=1, le=500)] = 100,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> NeedListOut:
    return NeedListOut.model_validate(directory.search_needs(st.engine, q, limit, offset, org_id=company_org(user)))


@api.get("/needs/{need_id}", tags=["needs"])
def get_need(need_id: Id, user: CurrentUser, st: State) -> NeedRecordOut:
    need = directory.get_need(st.engine, need_id)
    if need is None:
        raise HTTPException(404, "案件が見つかりません / need not found")
    if user.role == "company" and need.org_id != user.org_id:
        # 404, not 403: a company must not learn which other need ids exist.
        raise HTTPException(404, "案件が見つかりません / need not found")
    return NeedRecordOut.model_validate(need)


@api.post("/needs/{need_id}/shortlist", tags=["shortlists"], response_model=views.ShortlistOut,
             response_model_exclude_unset=True)
def make_shortlist(need_id: Id, user: Staff, st: State,
                   kind: Annotated[Literal["partners", "seeds", "people", "all"], Query()] = DEFAULT_KIND,
                   k: Annotated[int, Query(ge=1, le=50)] = DEFAULT_K) -> views.ShortlistOut:
    """候補リストを作成・保存（既定: 企業と研究シーズを各 10 件、画面と同じ） / make and store a shortlist
    (by default partners and research seeds, ten each: the same list the need page makes)."""
    return views.shortlist_out(shortlist_need(st.context(), need_id, kind, k))


@api.get("/suggestions", tags=["shortlists"])
def list_suggestions(user: Staff, st: State,
                     need_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> views.StoredSuggestionsOut:
    """保存済みの提案と判定（コーディネーター用） / stored suggestions with decisions (staff only)."""
    edges = suggestions.read_edges(st.engine, query=("need", need_id) if need_id else None, kinds=("partner", "seed"))
    return views.StoredSuggestionsOut(items=[views.stored_suggestion_out(e) for e in edges])


@api.get("/needs/{need_id}/history", tags=["shortlists"])
def need_history(need_id: Id, user: Staff, st: State) -> views.NeedHistoryOut:
    """案件の候補リスト作成履歴とすべての判定 / every run of a need's shortlist and every decision."""
    if directory.get_need(st.engine, need_id) is None:
        raise HTTPException(404, "案件が見つかりません / need not found")
    return views.need_history_out(suggestions.need_history(st.engine, need_id))


@api.get("/needs/{need_id}/whynot/{org_id}", tags=["shortlists"], response_model=views.WhyNotOut,
            response_model_exclude_unset=True)
def need_why_not(need_id: Id, org_id: Id, user: Staff, st: State,
                 k: Annotated[int, Query(ge=1, le=50)] = 10) -> views.WhyNotOut:
    """この企業が候補に入らない理由 / why an organisation is (not) on the need's shortlist."""
    from matcher.services.shortlists import why_not

    return views.why_not_out(why_not(st.context(), need_id, org_id, k))


@pages.get("/needs", response_class=HTMLResponse)
def needs_page(request: Request, st: State, user: OptionalUser, q: str = "") -> Response:
    user = page_user(request, user, "admin", "coordinator")
    found = directory.search_needs(st.engine, q[:200])
    return render(request, st, "needs.html", user, needs=found.items, total=found.total, q=q[:200])


@pages.get("/needs/export.xlsx")
def needs_export(request: Request, st: State, user: OptionalUser) -> Response:
    from matcher.views.sheets import table_xlsx

    page_user(request, user, "admin", "coordinator")
    rows = [[n.external_id, n.org_name, n.title, n.text, "・".join(n.required_processes), n.status_ja]
            for n in directory.search_needs(st.engine, "", limit=100_000).items]
    return xlsx_response(table_xlsx("案件", ["案件ID", "依頼元", "件名", "内容", "必要工程", "状態"], rows), "needs.xlsx")


def need_board(st, need_id: int) -> dict[str, Any]:
    """The need page's cards (the stored edges of the latest run, each with its pair's latest
    decision and the breakdown it was scored with); rejected candidates apart."""
    from matcher.views import ranker_ja

    cards = suggestions.need_cards(st.engine, need_id)
    rejected = [c for c in cards if c.decision and c.decision.verdict == "reject"]
    version = cards[0].model_version if cards else None
    return {"suggestions": [c for c in cards if c not in rejected], "rejected": rejected,
            "ranker": ranker_ja(version) if version else None,
            "history": suggestions.need_history(st.engine, need_id), "groups": suggestions.need_groups(st.engine, need_id),
            "people": suggestions.need_people(st.engine, need_id)}


@pages.get("/needs/{need_id}", response_class=HTMLResponse)
def need_page(need_id: Id, request: Request, st: State, user: OptionalUser, message: str = "",
              whynot: str = "") -> Response:
    user = page_user(request, user, "admin", "coordinator")
    return _need_view(request, st, user, need_id, message, whynot)


def _need_view(request: Request, st, user, need_id: int, message: str = "", whynot: str = "",
               **extra: Any) -> Response:
    need = directory.get_need(st.engine, need_id)
    if need is None:
        raise HTTPException(404, "案件が見つかりません / need not found")
    why, why_error = None, None
    if whynot.strip():
        from matcher.services.shortlists import why_not
        from matcher.views import why_not_out

        try:
            why = why_not_out(why_not(st.context(), need_id, whynot.strip()[:64]))
        except MatcherError as exc:
            why_error = exc.message_ja
    board = need_board(st, need_id)
    return render(request, st, "need.html", user, need=need, verdict_ja=VERDICT_JA, reasons_ja=REASONS_JA,
                  message=MESSAGES.get(message, ""), whynot=whynot[:64], why=why, why_error=why_error,
                  group_fixes=_group_fixes(st, need_id, board["groups"]), **board, **extra)


def _group_fixes(st, need_id: int, groups: list) -> dict[int, tuple[list[str], dict[str, list]]]:
    """For each group a member was dropped from: the processes it no longer covers, and the best
    allowed firms for each (members still in it left out)."""
    from matcher.services.groups import replacements

    out = {}
    for g in groups:
        kept = [m for m in g.members if not m.dropped]
        if len(kept) == len(g.members):
            continue
        lost = [p for p in g.covered if not any(p in m.covers for m in kept)]
        found = replacements(st.context(), need_id, tuple(lost), {m.org_id for m in kept}) if lost else {}
        out[g.id] = (lost, found)
    return out


@pages.post("/needs/{need_id}/groups", response_class=HTMLResponse)
async def need_groups(need_id: Id, request: Request, st: State, user: OptionalUser) -> Response:
    """Propose groups; when there are none, the page says why (a process no allowed firm does, or
    firms that can do it alone) instead of showing nothing."""
    from matcher.services.groups import propose_groups

    user = page_user(request, user, "admin", "coordinator")
    form = await check_csrf(request, st)
    mode = "capacity" if form.get("mode") == "capacity" else "complement"
    proposal = await run_in_threadpool(lambda: propose_groups(st.context(), need_id, 3, 5, mode=mode))
    if proposal.groups:
        return RedirectResponse(f"/needs/{need_id}?message=grouped#groups", 303)
    return await run_in_threadpool(lambda: _need_view(request, st, user, need_id, group_outcome=views.groups_out(proposal)))


@pages.get("/needs/{need_id}/shortlist.xlsx")
def need_shortlist_export(need_id: Id, request: Request, st: State, user: OptionalUser) -> Response:
    from matcher.views.sheets import table_xlsx

    page_user(request, user, "admin", "coordinator")
    need = directory.get_need(st.engine, need_id)
    if need is None:
        raise HTTPException(404, "案件が見つかりません / need not found")
    body = [[c.rank, "企業" if c.candidate_type == "organization" else "研究シーズ", c.candidate.external_id,
             c.candidate.name, c.candidate.place, round(c.score, 4), c.reason,
             VERDICT_JA.get(c.decision.verdict if c.decision else "", "未判定"),
             REASONS_JA.get(c.decision.reason or "", "") if c.decision else "", (c.decision.by or "") if c.decision else ""]
            for c in suggestions.need_cards(st.engine, need_id)]
    headers = ["順位", "種別", "ID", "名称", "所在地・機関", "スコア", "理由", "判定", "却下の理由", "担当者"]
    return xlsx_response(table_xlsx("候補リスト", headers, body), f"shortlist-{need.external_id}.xlsx")


@pages.post("/needs/{need_id}/people")
async def need_people_shortlist(need_id: Id, request: Request, st: State, user: OptionalUser) -> RedirectResponse:
    """人材の候補: the need's people, stored as a run of their own beside partners and seeds."""
    page_user(request, user, "admin", "coordinator")
    await check_csrf(request, st)
    await run_in_threadpool(lambda: shortlist_need(st.context(), need_id, "people", DEFAULT_K))
    return RedirectResponse(f"/needs/{need_id}#people", 303)


@pages.post("/needs/{need_id}/shortlist")
async def need_shortlist(need_id: Id, request: Request, st: State, user: OptionalUser) -> RedirectResponse:

    page_user(request, user, "admin", "coordinator")
    await check_csrf(request, st)
    await run_in_threadpool(lambda: shortlist_need(st.context(), need_id))
    return RedirectResponse(f"/needs/{need_id}?message=shortlisted", 303)
