"""The forum desk (産業人フォーラム): events, participant import, seating with progress, the chart."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import State
from api.routes.common import (
    Id,
    OptionalUser,
    check_csrf,
    display_name,
    page_user,
    read_upload,
    render,
)
from matcher.errors import MatcherError
from matcher.labels import FORUM_STATE_JA as STATE_JA
from matcher.labels import JOB_STATE_JA as JOB_JA
from matcher.labels import SEATING_FIELD_JA as FIELD_JA
from matcher.services import forum

pages = APIRouter(include_in_schema=False)


STAFF = ("admin", "coordinator")






FORUM_MESSAGES = {"queued": "席順の作成を始めました。", "cancelled": "キャンセルを反映しました（他の方の席はそのままです）。"}




def _int(form: dict, name: str, default: int, lo: int, hi: int) -> int:
    raw = str(form.get(name) or default).strip()
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise HTTPException(422, f"{FIELD_JA[name]}は {lo}〜{hi} の整数で入力してください")
    return int(raw)


def _events(st) -> list[tuple]:
    return [(e, len(forum.participants(st.engine, e.id))) for e in forum.list_events(st.engine)]


@pages.get("/forum", response_class=HTMLResponse)
def forum_list(request: Request, st: State, user: OptionalUser) -> Response:
    user = page_user(request, user, *STAFF)
    events = _events(st)
    return render(request, st, "forum_list.html", user, events=events, state_ja=STATE_JA)


@pages.post("/forum/import", response_class=HTMLResponse)
async def forum_import(request: Request, st: State, user: OptionalUser) -> Response:
    user = page_user(request, user, *STAFF)
    form = await check_csrf(request, st)
    upload, name = form.get("file"), str(form.get("event") or "").strip()
    events = _events(st)
    if upload is None or not hasattr(upload, "read") or not name:
        return render(request, st, "forum_list.html", user, status_code=422, events=events, state_ja=STATE_JA,
                      error="フォーラム名と参加者名簿のファイルを指定してください。")
    data = await read_upload(upload, st.settings.max_upload_bytes)

    def store() -> forum.ParticipantImport:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "upload"
            path.write_bytes(data)
            return forum.import_participants(st.engine, path, name, display_name(upload.filename), user.email)

    try:
        report = await run_in_threadpool(store)
    except MatcherError as exc:
        return render(request, st, "forum_list.html", user, status_code=exc.status, events=events,
                      state_ja=STATE_JA, error=exc.message_ja)
    events = _events(st)
    return render(request, st, "forum_list.html", user, events=events, state_ja=STATE_JA, report=report)


@pages.get("/forum/{event_id}", response_class=HTMLResponse)
def forum_page(event_id: Id, request: Request, st: State, user: OptionalUser, message: str = "") -> Response:
    user = page_user(request, user, *STAFF)
    event = forum.find_event(st.engine, event_id)
    people = forum.participants(st.engine, event.id, include_cancelled=True)
    orgs = {o.id: o.name for o in st.context().orgs.values()}
    return render(request, st, "forum.html", user, event=event, people=people, orgs=orgs, state_ja=STATE_JA,
                  job=forum.seating_job(st.runner, event.id), job_ja=JOB_JA, message=FORUM_MESSAGES.get(message, ""))


@pages.post("/forum/{event_id}/seat")
async def forum_seat(event_id: Id, request: Request, st: State, user: OptionalUser) -> Response:
    user = page_user(request, user, *STAFF)
    form = await check_csrf(request, st)
    rounds = _int(form, "rounds", 3, 1, forum.MAX_ROUNDS)
    size = _int(form, "table_size", 8, 2, 30)
    seconds = _int(form, "seconds", 30, 1, 600)
    await run_in_threadpool(forum.queue_seating, st.runner, event_id, rounds, size, seconds, 0, user.email)
    return RedirectResponse(f"/forum/{event_id}?message=queued", status_code=303)


@pages.post("/forum/{event_id}/cancel")
async def forum_cancel(event_id: Id, request: Request, st: State, user: OptionalUser) -> Response:
    user = page_user(request, user, *STAFF)
    form = await check_csrf(request, st)
    pid = str(form.get("participant_id") or "")
    if not pid.isdigit():
        raise HTTPException(422, "参加者を指定してください")
    await run_in_threadpool(lambda: forum.cancel(st.context(), event_id, [int(pid)], actor=user.email))
    return RedirectResponse(f"/forum/{event_id}?message=cancelled", status_code=303)


@pages.get("/forum/{event_id}/chart", response_class=HTMLResponse)
def forum_chart(event_id: Id, request: Request, st: State, user: OptionalUser) -> Response:
    """The printable chart (A4: the browser's print dialog makes the PDF)."""
    from matcher.views import render_forum_chart

    page_user(request, user, *STAFF)
    return HTMLResponse(render_forum_chart(forum.forum_chart(st.engine, event_id), stylesheet_href="/forum-chart.css"))


@pages.get("/forum-chart.css")
def forum_chart_css() -> Response:
    from matcher.views import forum_chart_css

    return Response(forum_chart_css(), media_type="text/css")
