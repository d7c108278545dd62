"""Imports: uploads (API and page), the rejected rows, the indexing job's progress, the template."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import Staff, State
from api.routes.common import (
    OptionalUser,
    api_router,
    check_csrf,
    display_name,
    page_user,
    read_upload,
    render,
    xlsx_response,
)
from api.security import attachment
from matcher.exchange.spec import ENTITIES
from matcher.views.imports import ImportReportOut
from matcher.views.jobs import IndexStatusOut, index_status_out

api = api_router()
pages = APIRouter(include_in_schema=False)


def import_bytes(st, data: bytes, filename: str, kind: str, strict: bool, actor: str) -> dict[str, Any]:
    """Store the rows, queue the indexing and return: the report says the index job's state."""
    from matcher.errors import FileError
    from matcher.services.imports import import_upload
    from matcher.views.imports import import_json

    name = display_name(filename)
    try:
        upload = import_upload(st.engine, st.settings, st.jobs, data, name, kind, strict, actor)
    except FileError as exc:
        raise HTTPException(422, {"message": exc.message, "file": name}) from exc
    out = import_json(upload.report, paths=False)
    if out["rejects_file"]:
        out["rejects_url"] = f"/api/import/reports/{out['rejects_file']}"
    if upload.index_job is not None:
        out["index"] = {"status": "queued", "job_id": upload.index_job.id,
                        "message": "取り込みました。索引の更新は順番に実行されます（進み具合は取り込み画面に表示）"}
    return out


@api.get("/import/reports/{name}", tags=["organizations"], response_class=Response, responses={200: {"content": {
    "text/csv": {}, "application/json": {}}, "description": "取り込めなかった行の CSV か JSON レポート"}})
def import_report_file(name: Annotated[str, PathParam(pattern=r"^[0-9A-Za-z_.-]{1,120}\.(rejects\.csv|report\.json)$")],
                       user: Staff, st: State):
    """取り込めなかった行の CSV（全件）/ the full CSV of rejected rows, or the JSON report."""
    path = st.settings.data_dir / "reports" / name
    if not path.is_file():
        raise HTTPException(404, "レポートが見つかりません（古いものは削除されます） / report not found")
    media = "text/csv; charset=utf-8" if name.endswith(".csv") else "application/json"
    return Response(path.read_bytes(), media_type=media, headers={"Content-Disposition": attachment(name)})


@api.get("/index/status", tags=["organizations"])
def index_status(user: Staff, st: State) -> IndexStatusOut:
    """索引更新の進み具合 / the latest indexing job and how many documents wait for it."""
    return index_status_out(st.jobs.status())


@api.post("/import", tags=["organizations"])
async def import_upload(user: Staff, st: State, file: Annotated[UploadFile, File()],
                        kind: Annotated[str, Query(pattern="^(auto|organizations|needs|seeds)$")] = "auto",
                        strict: bool = False) -> ImportReportOut:
    """CSV/XLSX/JSON の取り込み / import a file; the same row-level report as the CLI."""

    data = await read_upload(file, st.settings.max_upload_bytes)
    return await run_in_threadpool(import_bytes, st, data, file.filename or "upload", kind, strict, user.email)


def index_state(st) -> IndexStatusOut:
    return index_status_out(st.jobs.status())


@pages.get("/import", response_class=HTMLResponse)
def import_page(request: Request, st: State, user: OptionalUser) -> Response:
    user = page_user(request, user, "admin", "coordinator")
    return render(request, st, "import.html", user, index=index_state(st))


@pages.post("/import", response_class=HTMLResponse)
async def import_post(request: Request, st: State, user: OptionalUser) -> Response:



    user = page_user(request, user, "admin", "coordinator")
    form = await check_csrf(request, st)
    upload = form.get("file")
    if upload is None or not hasattr(upload, "read"):
        return render(request, st, "import.html", user, status_code=422, error="ファイルを選択してください。")
    data = await read_upload(upload, st.settings.max_upload_bytes)
    kind = str(form.get("kind") or "auto")
    try:
        report = await run_in_threadpool(import_bytes, st, data, upload.filename or "upload", kind,
                                         bool(form.get("strict")), user.email)
    except HTTPException as exc:
        detail = exc.detail["message"] if isinstance(exc.detail, dict) else str(exc.detail)
        return render(request, st, "import.html", user, status_code=exc.status_code, error=detail,
                      index=index_state(st))
    labels = {f.name: f.label for spec in ENTITIES.values() for f in spec.fields}
    for e in report["rejected"]:
        e["label"] = labels.get(e["field"], e["field"])
    return render(request, st, "import.html", user, report=report, index=index_state(st))


@pages.get("/import/template.xlsx")
def import_template(request: Request, st: State, user: OptionalUser) -> Response:
    """The import format itself: a sheet per kind with its headers and one example row."""
    from matcher.exchange.spec import ENTITIES
    from matcher.views.sheets import workbook_bytes

    page_user(request, user, "admin", "coordinator")
    examples = {
        "organizations": {"external_id": "HC9001", "name": "日野サンプル精工（架空）", "kind": "企業", "city": "日野市",
                          "employees": 45, "processes": "切削;研削", "certifications": "ISO9001",
                          "profile": "ステンレスとアルミの精密切削。", "publish": "はい", "email_opt_in": "いいえ"},
        "needs": {"external_id": "HN9001", "org_external_id": "HC9001", "title": "試作部品の切削と検査",
                  "text": "アルミ部品の5軸加工と三次元測定をお願いしたい。", "required_processes": "切削;検査", "status": "受付中"},
        "seeds": {"external_id": "HS9001", "institution": "サンプル大学", "title": "難削材の高能率切削",
                  "keywords": "切削;工具", "summary": "チタン合金の切削条件の研究。"},
        "people": {"external_id": "HP9001", "name": "日野 太郎（架空）", "category": "シニア・OB",
                   "background": "元 電機メーカー 生産技術部長", "specialities": "切削;品質管理",
                   "intro": "切削条件の最適化を指導します。", "hours_per_month": 20, "contact_mode": "どちらも",
                   "city": "日野市", "languages": "日本語", "consent": "はい", "publish": "いいえ"},
    }
    sheets = {}
    for kind, label in (("organizations", "企業・機関"), ("needs", "案件"), ("seeds", "研究シーズ"), ("people", "人材")):
        fields = ENTITIES[kind].fields
        sheets[label] = ([f.headers[0] for f in fields], [[examples[kind].get(f.name, "") for f in fields]])
    return xlsx_response(workbook_bytes(sheets), "import-template.xlsx")
