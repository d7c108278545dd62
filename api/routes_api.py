"""JSON API. Routes are thin: parse, check the role, call the library, return."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, HTTPException, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Admin, CurrentUser, Staff, State
from matcher import directory
from matcher.auth import UserError, create_user
from matcher.ingest import yes_no


class ErrorOut(BaseModel):
    detail: Any = Field(description="Japanese / English message, or a structured row-level report")


_ERR = {"model": ErrorOut}
router = APIRouter(prefix="/api", responses={
    401: {**_ERR, "description": "ログインが必要 / authentication required"},
    403: {**_ERR, "description": "権限がない / not allowed for the role"},
    404: {**_ERR, "description": "見つからない / not found"},
    409: {**_ERR, "description": "状態と矛盾 / conflicts with the current state"},
    413: {**_ERR, "description": "大きすぎる / body too large"},
    422: {**_ERR, "description": "入力の誤り / invalid input"},
    429: {**_ERR, "description": "試行が多すぎる / rate limited"},
})
ORG_FIELDS = ("name", "kind", "kana", "city", "address", "employees", "capital", "jsic", "processes", "equipment",
              "certifications", "profile", "track_record", "corporate_group", "email", "email_opt_in", "publish")


MAX_ID = 2_147_483_647  # ids are 32-bit on every supported database
Id = Annotated[int, PathParam(ge=1, le=MAX_ID)]
OrgKind = Literal["企業", "大学", "研究機関", "支援機関", "販売先", "company", "university", "institute", "support", "buyer"]


class TokenIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=200)


class OrganizationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    external_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    kind: OrgKind = "企業"
    kana: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=300)
    employees: int | None = Field(default=None, ge=0, le=10_000_000)
    capital: int | None = Field(default=None, ge=0)
    jsic: list[str] = Field(default_factory=list, max_length=50)
    processes: list[str] = Field(default_factory=list, max_length=100)
    equipment: str = Field(default="", max_length=5000)
    certifications: list[str] = Field(default_factory=list, max_length=50)
    profile: str = Field(default="", max_length=20000)
    track_record: str = Field(default="", max_length=20000)
    corporate_group: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=254)
    email_opt_in: bool = False
    publish: bool = True


class OrganizationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: OrgKind | None = None
    city: str | None = Field(default=None, max_length=100)
    employees: int | None = Field(default=None, ge=0, le=10_000_000)
    processes: list[str] | None = Field(default=None, max_length=100)
    certifications: list[str] | None = Field(default=None, max_length=50)
    profile: str | None = Field(default=None, max_length=20000)
    email: str | None = Field(default=None, max_length=254)
    email_opt_in: bool | None = None
    publish: bool | None = None


class DecisionIn(BaseModel):
    suggestion_id: int = Field(ge=1, le=MAX_ID)
    verdict: Literal["accept", "reject", "skip"]
    reason: Literal["process_mismatch", "distance", "size", "existing_relationship", "competitor", "other"] | None = None


class UserIn(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    role: Literal["admin", "coordinator", "company"]
    password: str = Field(min_length=10, max_length=200)
    org_external_id: str | None = None


def company_org(user) -> int | None:
    """The organisation a company user is confined to (-1, matching nothing, if it has none);
    None for staff, who see everything."""
    if user.role != "company":
        return None
    return user.org_id if user.org_id is not None else -1


def _yn(v: Any) -> Any:
    return yes_no(v) if isinstance(v, bool) else v


def _reject(errors) -> HTTPException:
    return HTTPException(422, {"message": "入力に誤りがあります / invalid input", "rejected": [e.as_json() for e in errors]})


@router.post("/token", tags=["auth"])
def token(body: TokenIn, request: Request, st: State) -> dict[str, Any]:
    """ログインしてベアラートークンを得る / exchange email + password for a bearer token."""
    from matcher.auth import authenticate

    key = f"{request.client.host if request.client else '-'}:{body.email.lower()}"
    if not st.limiter.allow(key):
        raise HTTPException(429, "ログイン試行が多すぎます。しばらく待ってください / too many login attempts")
    user = authenticate(st.engine, body.email, body.password)
    if user is None:
        raise HTTPException(401, "メールアドレスまたはパスワードが違います / wrong email or password")
    st.limiter.reset(key)
    return {"access_token": st.tokens.issue(user), "token_type": "bearer", "role": user.role}


@router.get("/organizations", tags=["organizations"])
def list_organizations(user: CurrentUser, st: State, q: Annotated[str, Query(max_length=200)] = "",
                       limit: Annotated[int, Query(ge=1, le=500)] = 50,
                       offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> dict[str, Any]:
    total, items = directory.search_organizations(st.engine, q, limit=limit, offset=offset, only_id=company_org(user))
    return {"total": total, "items": items}


@router.get("/organizations/{org_id}", tags=["organizations"])
def get_organization(org_id: Id, user: CurrentUser, st: State) -> dict[str, Any]:
    if user.role == "company" and user.org_id != org_id:
        raise HTTPException(403, "自社以外の企業は表示できません / companies see only their own organisation")
    org = directory.get_organization(st.engine, org_id)
    if org is None:
        raise HTTPException(404, "企業が見つかりません / organisation not found")
    return org


@router.post("/organizations", status_code=201, tags=["organizations"])
def create_organization(body: OrganizationIn, user: Staff, st: State) -> dict[str, Any]:
    from matcher.catalog import upsert_one

    values = {k: _yn(v) for k, v in body.model_dump().items()}
    status, errors = upsert_one(st.engine, "organizations", values, actor=user.email)
    if errors:
        raise _reject(errors)
    st.invalidate()
    org_id = directory.organization_id(st.engine, body.external_id)
    return {"status": status, "organization": directory.get_organization(st.engine, org_id)}


@router.patch("/organizations/{org_id}", tags=["organizations"])
def update_organization(org_id: Id, body: OrganizationPatch, user: Staff, st: State) -> dict[str, Any]:
    from matcher.catalog import organization_values, upsert_one

    values = organization_values(st.engine, org_id)
    if values is None:
        raise HTTPException(404, "企業が見つかりません / organisation not found")
    values.update({k: _yn(v) for k, v in body.model_dump(exclude_unset=True).items() if v is not None})
    status, errors = upsert_one(st.engine, "organizations", values, actor=user.email)
    if errors:
        raise _reject(errors)
    st.invalidate()
    return {"status": status, "organization": directory.get_organization(st.engine, org_id)}


async def read_upload(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"ファイルが大きすぎます（上限 {limit // (1024 * 1024)} MB） / file larger than {limit} bytes")
    return data


def import_bytes(st, data: bytes, filename: str, kind: str, strict: bool, actor: str) -> dict[str, Any]:
    from matcher.catalog import import_file
    from matcher.embed import get_embedder
    from matcher.indexing import sync_indexes
    from matcher.ingest import KINDS, IngestFileError, guess_kind

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / (Path(filename or "upload").name or "upload")
        path.write_bytes(data)
        try:
            chosen = kind if kind in KINDS else guess_kind(path)
            report = import_file(st.engine, path, chosen, strict=strict, actor=actor,  # type: ignore[arg-type]
                                 reports_dir=st.settings.data_dir / "reports")
        except IngestFileError as exc:
            raise HTTPException(422, {"message": f"{exc.message_ja} / {exc.message_en}", "file": filename}) from exc
    out = report.as_json()
    out["file"] = filename
    for e in out["rejected"]:
        e["file"] = filename
    if report.stored and (report.inserted or report.updated):
        out["index"] = sync_indexes(st.engine, st.settings, get_embedder(st.settings)).as_json()
        st.invalidate()
    return out


@router.post("/import", tags=["organizations"])
async def import_upload(user: Staff, st: State, file: Annotated[UploadFile, File()],
                        kind: Annotated[str, Query(pattern="^(auto|organizations|needs|seeds)$")] = "auto",
                        strict: bool = False) -> dict[str, Any]:
    """CSV/XLSX/JSON の取り込み / import a file; the same row-level report as the CLI."""
    from starlette.concurrency import run_in_threadpool

    data = await read_upload(file, st.settings.max_upload_bytes)
    return await run_in_threadpool(import_bytes, st, data, file.filename or "upload", kind, strict, user.email)


@router.get("/needs", tags=["needs"])
def list_needs(user: CurrentUser, st: State, q: Annotated[str, Query(max_length=200)] = "",
               limit: Annotated[int, Query(ge=1, le=500)] = 100,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> dict[str, Any]:
    total, items = directory.search_needs(st.engine, q, limit, offset, org_id=company_org(user))
    return {"total": total, "items": items}


@router.get("/needs/{need_id}", tags=["needs"])
def get_need(need_id: Id, user: CurrentUser, st: State) -> dict[str, Any]:
    need = directory.get_need(st.engine, need_id)
    if need is None:
        raise HTTPException(404, "案件が見つかりません / need not found")
    if user.role == "company" and need["org_id"] != user.org_id:
        raise HTTPException(403, "自社の案件のみ表示できます / companies see only their own needs")
    return need


@router.post("/needs/{need_id}/shortlist", tags=["shortlists"])
def make_shortlist(need_id: Id, user: Staff, st: State,
                   kind: Annotated[str, Query(pattern="^(partners|seeds|all)$")] = "partners",
                   k: Annotated[int, Query(ge=1, le=50)] = 10) -> dict[str, Any]:
    from matcher.shortlist import NotFound, shortlist_need

    try:
        return shortlist_need(st.context(), need_id, kind, k)  # type: ignore[arg-type]
    except NotFound as exc:
        raise HTTPException(404, str(exc.args[0])) from exc


@router.get("/suggestions", tags=["shortlists"])
def list_suggestions(user: CurrentUser, st: State, need_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> dict[str, Any]:
    """Stored suggestions; a company user sees only those about its own organisation or needs."""
    rows = directory.suggestion_rows(st.engine, "need" if need_id else None, need_id, visible_to_org=company_org(user))
    return {"items": rows}


@router.post("/decisions", status_code=201, tags=["decisions"])
def decide(body: DecisionIn, user: Staff, st: State) -> dict[str, Any]:
    from matcher.decisions import DecisionError, record_decision

    try:
        dec = record_decision(st.engine, body.suggestion_id, body.verdict, body.reason, user.email)
    except DecisionError as exc:
        raise HTTPException(404, str(exc)) from exc
    st.invalidate(history_only=True)
    return {"decision_id": dec.id, "suggestion_id": dec.suggestion_id, "verdict": dec.verdict, "reason": dec.reason,
            "coordinator": dec.coordinator}


@router.get("/models", tags=["models"])
def models(user: Admin, st: State) -> dict[str, Any]:
    from matcher.training import list_versions

    return {"versions": list_versions(st.engine)}


@router.post("/models/{version}/promote", tags=["models"])
def promote(version: Annotated[str, PathParam(max_length=64)], user: Admin, st: State) -> dict[str, Any]:
    from matcher.training import promote_version

    try:
        out = promote_version(st.engine, version, user.email)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from exc
    st.invalidate()
    return out


@router.post("/models/rollback", tags=["models"])
def rollback(user: Admin, st: State) -> dict[str, Any]:
    from matcher.training import rollback as do_rollback

    try:
        out = do_rollback(st.engine, user.email)
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from exc
    st.invalidate()
    return out


@router.get("/export", tags=["export"], response_class=FileResponse)
def export(user: Staff, st: State, format: Annotated[str, Query(pattern="^(xlsx|csv)$")] = "xlsx",
           table: Annotated[str, Query(pattern="^(organizations|needs|suggestions)$")] = "organizations"):
    """XLSX（全シート）または CSV（UTF-8 BOM、1表） / XLSX workbook or one CSV table."""
    from matcher.export import export as do_export

    out_dir = Path(tempfile.mkdtemp(prefix="export-", dir=st.settings.data_dir))
    if format == "xlsx":
        path = out_dir / "matcher-export.xlsx"
        do_export(st.engine, path, "xlsx")
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        do_export(st.engine, out_dir, "csv")
        path = out_dir / f"{table}.csv"
        media = "text/csv; charset=utf-8"
    return FileResponse(path, media_type=media, filename=path.name)


@router.post("/users", status_code=201, tags=["users"])
def add_user(body: UserIn, user: Admin, st: State) -> dict[str, Any]:
    try:
        created = create_user(st.engine, body.email, body.role, body.password, body.org_external_id, user.email)
    except UserError as exc:
        raise HTTPException(409, str(exc)) from exc
    return {"id": created.id, "email": created.email, "role": created.role, "org_id": created.org_id}
