"""JSON API. Routes are thin: parse, check the role, call the library, return."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, HTTPException, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from api.deps import Admin, CurrentUser, Staff, State
from api.security import attachment
from matcher import views
from matcher.exchange.spec import DecisionRow, OrganizationRow, partial_model
from matcher.services import directory
from matcher.services.auth import create_user


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
MAX_ID = 2_147_483_647  # ids are 32-bit on every supported database
Id = Annotated[int, PathParam(ge=1, le=MAX_ID)]
# A PATCH names only the fields it changes; the merged row is validated by OrganizationRow.
OrganizationPatch = partial_model(OrganizationRow, "OrganizationPatch", exclude=("external_id",))


class TokenIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"]
    role: str


class DecisionOut(BaseModel):
    decision_id: int
    suggestion_id: int
    verdict: str
    reason: str | None
    coordinator: str | None


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


def _reject(errors) -> HTTPException:
    return HTTPException(422, {"message": "入力に誤りがあります / invalid input", "rejected": [e.as_json() for e in errors]})


@router.post("/token", tags=["auth"])
def token(body: TokenIn, request: Request, st: State) -> TokenOut:
    """ログインしてベアラートークンを得る / exchange email + password for a bearer token."""
    from matcher.services.auth import authenticate

    if not st.limiter.allow(body.email, request.client.host if request.client else "-"):
        raise HTTPException(429, "ログイン試行が多すぎます。しばらく待ってください / too many login attempts")
    user = authenticate(st.engine, body.email, body.password)
    if user is None:
        raise HTTPException(401, "メールアドレスまたはパスワードが違います / wrong email or password")
    st.limiter.reset(body.email)
    return TokenOut(access_token=st.tokens.issue(user, kind="bearer"), token_type="bearer", role=user.role)


@router.post("/logout", status_code=204, tags=["auth"])
def logout(request: Request, user: CurrentUser, st: State) -> None:
    """このトークン（またはセッション）を失効させる / revoke the token this request carries."""
    from api.deps import request_token

    token, _ = request_token(request)
    st.tokens.revoke(token or "")


class PasswordIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=10, max_length=200)


@router.post("/users/me/password", tags=["auth"])
def change_password(body: PasswordIn, request: Request, user: CurrentUser, st: State) -> dict[str, int]:
    """パスワード変更。すべてのセッションが失効します / change the password; every session is revoked.
    Wrong current passwords count against the same limits as logins (a stolen token cannot keep guessing)."""
    from matcher.services.auth import set_password, verify_password

    if not st.limiter.allow(user.email, request.client.host if request.client else "-"):
        raise HTTPException(429, "試行が多すぎます。しばらく待ってください / too many attempts")
    if not verify_password(body.current_password, user.password_hash):
        raise HTTPException(403, "現在のパスワードが違います / the current password is wrong")
    st.limiter.reset(user.email)
    return {"revoked_sessions": set_password(st.engine, user.id, body.new_password, actor=user.email)}


@router.post("/users/{user_id}/revoke-sessions", tags=["users"])
def revoke_user_sessions(user_id: Id, user: Admin, st: State) -> dict[str, int]:
    """利用者のすべてのセッションを失効させる（管理者） / revoke every session of a user (admin)."""
    from matcher.services.auth import revoke_sessions

    return {"revoked_sessions": revoke_sessions(st.engine, user_id, actor=user.email)}


@router.get("/organizations", tags=["organizations"])
def list_organizations(user: CurrentUser, st: State, q: Annotated[str, Query(max_length=200)] = "",
                       limit: Annotated[int, Query(ge=1, le=500)] = 50,
                       offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> dict[str, Any]:
    total, items = directory.search_organizations(st.engine, q, limit=limit, offset=offset, only_id=company_org(user))
    return {"total": total, "items": items}


@router.get("/organizations/{org_id}", tags=["organizations"])
def get_organization(org_id: Id, user: CurrentUser, st: State) -> dict[str, Any]:
    if user.role == "company" and user.org_id != org_id:
        # 404, not 403: a company must not learn which other organisation ids exist.
        raise HTTPException(404, "企業が見つかりません / organisation not found")
    org = directory.get_organization(st.engine, org_id)
    if org is None:
        raise HTTPException(404, "企業が見つかりません / organisation not found")
    return org


@router.post("/organizations", status_code=201, tags=["organizations"])
def create_organization(body: OrganizationRow, user: Staff, st: State) -> dict[str, Any]:
    from matcher.exchange.catalog import upsert_one

    status, errors = upsert_one(st.engine, "organizations", body.model_dump(), actor=user.email)
    if errors:
        raise _reject(errors)
    org_id = directory.organization_id(st.engine, body.external_id)
    return {"status": status, "organization": directory.get_organization(st.engine, org_id)}


@router.patch("/organizations/{org_id}", tags=["organizations"])
def update_organization(org_id: Id, body: OrganizationPatch, user: Staff, st: State) -> dict[str, Any]:
    from matcher.exchange.catalog import stored_organization, upsert_one

    values = stored_organization(st.engine, org_id)
    if values is None:
        raise HTTPException(404, "企業が見つかりません / organisation not found")
    values.update(body.model_dump(exclude_unset=True))
    status, errors = upsert_one(st.engine, "organizations", values, actor=user.email)
    if errors:
        raise _reject(errors)
    return {"status": status, "organization": directory.get_organization(st.engine, org_id)}


async def read_upload(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"ファイルが大きすぎます（上限 {limit // (1024 * 1024)} MB） / file larger than {limit} bytes")
    return data


def display_name(filename: str | None) -> str:
    """An upload's name as shown back: its last part, printable, at most 100 characters."""
    import unicodedata

    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in "CZ" or ch == " ").strip()
    return name[:100] if name not in ("", ".", "..") else "upload"


def import_bytes(st, data: bytes, filename: str, kind: str, strict: bool, actor: str) -> dict[str, Any]:
    """Store the rows, queue the indexing and return: the report says the index job's state."""
    from matcher.errors import FileError
    from matcher.exchange.catalog import INLINE_ERRORS, import_file
    from matcher.exchange.ingest import KINDS, guess_kind
    from matcher.search.indexing import stale_documents

    name = display_name(filename)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload"  # never a path made from the client's file name
        path.write_bytes(data)
        try:
            chosen = kind if kind in KINDS else guess_kind(path)
            report = import_file(st.engine, path, chosen, strict=strict, actor=actor,  # type: ignore[arg-type]
                                 reports_dir=st.settings.data_dir / "reports", name=name)
        except FileError as exc:
            raise HTTPException(422, {"message": exc.message, "file": name}) from exc
    out = report.as_json(INLINE_ERRORS, paths=False)
    if out["rejects_file"]:
        out["rejects_url"] = f"/api/import/reports/{out['rejects_file']}"
    if report.stored and stale_documents(st.engine):
        job = st.jobs.enqueue("import")
        out["index"] = {"status": "queued", "job_id": job.id,
                        "message": "取り込みました。索引の更新は順番に実行されます（進み具合は取り込み画面に表示）"}
    return out


@router.get("/import/reports/{name}", tags=["organizations"], response_class=Response)
def import_report_file(name: Annotated[str, PathParam(pattern=r"^[0-9A-Za-z_.-]{1,120}\.(rejects\.csv|report\.json)$")],
                       user: Staff, st: State):
    """取り込めなかった行の CSV（全件）/ the full CSV of rejected rows, or the JSON report."""
    path = st.settings.data_dir / "reports" / name
    if not path.is_file():
        raise HTTPException(404, "レポートが見つかりません（古いものは削除されます） / report not found")
    media = "text/csv; charset=utf-8" if name.endswith(".csv") else "application/json"
    return Response(path.read_bytes(), media_type=media, headers={"Content-Disposition": attachment(name)})


class IndexStatusOut(BaseModel):
    job_id: int | None
    state: str  # idle | queued | running | done | failed
    total: int
    done: int
    stale_documents: int
    backend: str
    error: str | None


@router.get("/index/status", tags=["organizations"])
def index_status(user: Staff, st: State) -> IndexStatusOut:
    """索引更新の進み具合 / the latest indexing job and how many documents wait for it."""
    return IndexStatusOut(**st.jobs.status().as_json())


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
        # 404, not 403: a company must not learn which other need ids exist.
        raise HTTPException(404, "案件が見つかりません / need not found")
    return need


@router.post("/needs/{need_id}/shortlist", tags=["shortlists"], response_model=views.ShortlistOut,
             response_model_exclude_unset=True)
def make_shortlist(need_id: Id, user: Staff, st: State,
                   kind: Annotated[Literal["partners", "seeds", "all"], Query()] = "partners",
                   k: Annotated[int, Query(ge=1, le=50)] = 10) -> views.ShortlistOut:
    from matcher.services.shortlists import shortlist_need

    return views.shortlist_out(shortlist_need(st.context(), need_id, kind, k))


@router.get("/suggestions", tags=["shortlists"])
def list_suggestions(user: Staff, st: State, need_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> dict[str, Any]:
    """保存済みの提案と判定（コーディネーター用） / stored suggestions with decisions (staff only)."""
    return {"items": directory.suggestion_rows(st.engine, "need" if need_id else None, need_id)}


@router.post("/needs/{need_id}/groups", tags=["groups"], response_model=views.GroupsOut)
def make_groups(need_id: Id, user: Staff, st: State, k: Annotated[int, Query(ge=1, le=10)] = 3,
                max_size: Annotated[int, Query(ge=1, le=10)] = 5) -> views.GroupsOut:
    """共同受注グループの提案（最適化） / the k best groups that together cover the need's processes."""
    from matcher.services.groups import propose_groups

    return views.groups_out(propose_groups(st.context(), need_id, k, max_size))


@router.get("/sig", tags=["groups"], response_model=views.SigsOut)
def sig_proposals(user: Staff, st: State) -> views.SigsOut:
    """研究会（SIG）の提案 / themed study groups of firms and research seeds."""
    from matcher.services.sig import propose_sigs

    return views.sigs_out(propose_sigs(st.context()))


class DropIn(BaseModel):
    org_id: int = Field(ge=1, le=MAX_ID)


@router.post("/groups/{suggestion_id}/drop", status_code=201, tags=["groups"])
def drop_member(suggestion_id: Id, body: DropIn, user: Staff, st: State) -> dict[str, Any]:
    """グループから企業を外す（学習にも使われます） / drop a member from a proposed group."""
    from matcher.learn.decisions import drop_group_member

    dec = drop_group_member(st.engine, suggestion_id, body.org_id, user.email)
    return {"decision_id": dec.id, "suggestion_id": suggestion_id, "dropped": body.org_id}


@router.get("/needs/{need_id}/history", tags=["shortlists"])
def need_history(need_id: Id, user: Staff, st: State) -> dict[str, Any]:
    """案件の候補リスト作成履歴とすべての判定 / every run of a need's shortlist and every decision."""
    if directory.get_need(st.engine, need_id) is None:
        raise HTTPException(404, "案件が見つかりません / need not found")
    return directory.need_history(st.engine, need_id)


@router.get("/needs/{need_id}/whynot/{org_id}", tags=["shortlists"], response_model=views.WhyNotOut,
            response_model_exclude_unset=True)
def need_why_not(need_id: Id, org_id: Id, user: Staff, st: State,
                 k: Annotated[int, Query(ge=1, le=50)] = 10) -> views.WhyNotOut:
    """この企業が候補に入らない理由 / why an organisation is (not) on the need's shortlist."""
    from matcher.services.shortlists import why_not

    return views.why_not_out(why_not(st.context(), need_id, org_id, k))


class ProposalReplyIn(BaseModel):
    answer: Literal["interested", "declined"]
    comment: str | None = Field(default=None, max_length=1000)


@router.get("/proposals", tags=["proposals"])
def proposals(user: CurrentUser, st: State) -> views.ProposalsOut:
    """自社への提案（コーディネーターが承認したもの） / proposals a coordinator accepted for your company."""
    from matcher.services.proposals import proposals_for

    if user.role != "company":
        raise HTTPException(403, "企業ユーザー向けの機能です / for company users")
    return views.proposals_out(st.settings.contact, proposals_for(st.engine, user.org_id or -1))


@router.post("/proposals/{suggestion_id}/reply", status_code=201, tags=["proposals"])
def proposal_reply(suggestion_id: Id, body: ProposalReplyIn, user: CurrentUser, st: State) -> views.ReplyOut:
    """興味あり / 辞退 を回答する（後から変更できます） / answer a proposal; a later different answer is a change."""
    from matcher.learn.decisions import record_company_reply
    from matcher.services.proposals import proposals_for

    if user.role != "company":
        raise HTTPException(403, "企業ユーザー向けの機能です / for company users")
    if suggestion_id not in {p.suggestion_id for p in proposals_for(st.engine, user.org_id or -1)}:
        raise HTTPException(404, "提案が見つかりません / no such proposal for your company")
    outcome = record_company_reply(st.engine, suggestion_id, body.answer, body.comment, user.email, user.org_id or -1)
    return views.ReplyOut(suggestion_id=suggestion_id, answer=body.answer, status=outcome.status)


@router.get("/directory", tags=["directory"])
def public_directory(st: State, q: Annotated[str, Query(max_length=200)] = "",
                     city: Annotated[str, Query(max_length=100)] = "", process: Annotated[str, Query(max_length=100)] = "",
                     cert: Annotated[str, Query(max_length=100)] = "",
                     size: Annotated[Literal["", "s", "m", "l", "xl"], Query()] = "",
                     page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> dict[str, Any]:
    """製品・技術のみえる化（ログイン不要、公開企業のみ） / the public technology directory."""
    return directory.directory_search(st.engine, q, city, process, cert, size, page)


@router.get("/directory/{external_id}", tags=["directory"])
def public_directory_org(external_id: Annotated[str, PathParam(max_length=64)], st: State) -> dict[str, Any]:
    org = directory.public_organization(st.engine, external_id)
    if org is None:
        raise HTTPException(404, "企業が見つかりません / organisation not found")
    return org


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


@router.post("/decisions", status_code=201, tags=["decisions"])
def decide(body: DecisionIn, user: Staff, st: State) -> DecisionOut:
    """判定を記録（担当者と日時はサーバーが記録） / record a verdict; the server records who and when."""
    from matcher.learn.decisions import record_decision

    dec = record_decision(st.engine, body.suggestion_id, body.verdict, body.reason, user.email)
    return DecisionOut(decision_id=dec.id, suggestion_id=dec.suggestion_id, verdict=dec.verdict, reason=dec.reason,
                       coordinator=dec.coordinator)


@router.get("/models", tags=["models"])
def models(user: Admin, st: State) -> dict[str, Any]:
    from matcher.learn.training import list_versions

    return {"versions": list_versions(st.engine)}


@router.post("/models/{version}/promote", tags=["models"])
def promote(version: Annotated[str, PathParam(max_length=64)], user: Admin, st: State) -> dict[str, Any]:
    from matcher.learn.training import promote_version

    return promote_version(st.engine, version, user.email)


@router.post("/models/rollback", tags=["models"])
def rollback(user: Admin, st: State) -> dict[str, Any]:
    from matcher.learn.training import rollback as do_rollback

    return do_rollback(st.engine, user.email)


@router.get("/export", tags=["export"], response_class=Response)
def export(user: Staff, st: State, format: Annotated[str, Query(pattern="^(xlsx|csv)$")] = "xlsx",
           table: Annotated[str, Query(pattern="^(organizations|needs|suggestions)$")] = "organizations"):
    """XLSX（全シート）または CSV（UTF-8 BOM、1表） / XLSX workbook or one CSV table."""
    from fastapi.responses import StreamingResponse

    from matcher.exchange.export import csv_lines, xlsx_bytes

    # Built in memory and streamed: nothing is left in the data directory.
    if format == "xlsx":
        return Response(xlsx_bytes(st.engine), headers={"Content-Disposition": attachment("matcher-export.xlsx")},
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return StreamingResponse(csv_lines(st.engine, table), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": attachment(f"{table}.csv")})


@router.post("/users", status_code=201, tags=["users"])
def add_user(body: UserIn, user: Admin, st: State) -> dict[str, Any]:
    created = create_user(st.engine, body.email, body.role, body.password, body.org_external_id, user.email)
    return {"id": created.id, "email": created.email, "role": created.role, "org_id": created.org_id}
