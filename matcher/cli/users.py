"""`matcher users …` and `matcher serve`: accounts and the web service."""

from __future__ import annotations

from typing import Annotated

import typer

from matcher.cli.common import (
    JsonOpt,
    RoleOpt,
    app,
    emit,
    err,
    open_engine,
    out,
)
from matcher.config import get_settings
from matcher.errors import MatcherError

users_app = typer.Typer(help="利用者 / users", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("create")
def users_create_cmd(
    email: str,
    role: Annotated[RoleOpt, typer.Option()],
    org: Annotated[str | None, typer.Option(help="企業ID (company users)")] = None,
    password: Annotated[str | None, typer.Option(help="default: a generated one, printed once")] = None,
    as_json: JsonOpt = False,
) -> None:
    """利用者を作成 / create a user (password hashed with Argon2id)."""
    import secrets

    from matcher.services.auth import create_user

    generated = password is None
    password = password or secrets.token_urlsafe(12)
    user = create_user(open_engine(), email, role.value, password, org, actor="cli")
    payload = {"id": user.id, "email": user.email, "role": user.role, "org_id": user.org_id,
               "password": password if generated else None}
    emit(payload, as_json, lambda p: out.print(f"作成しました: {p['email']}（{p['role']}）"
                                              + (f" 初期パスワード: {p['password']}" if p["password"] else "")))


@users_app.command("revoke")
def users_revoke_cmd(email: str, as_json: JsonOpt = False) -> None:
    """利用者のセッションをすべて失効 / revoke every session of a user."""
    from matcher.services.auth import find_user, revoke_sessions

    engine = open_engine()
    n = revoke_sessions(engine, find_user(engine, email).id, actor="cli")
    emit({"email": email, "revoked_sessions": n}, as_json, lambda p: out.print(f"{p['revoked_sessions']} 件のセッションを失効しました"))


@users_app.command("password")
def users_password_cmd(
    email: str,
    password: Annotated[str | None, typer.Option(help="default: a generated one, printed once")] = None,
    as_json: JsonOpt = False,
) -> None:
    """パスワードを再設定（セッションはすべて失効） / reset a password; every session is revoked."""
    import secrets

    from matcher.services.auth import find_user, set_password

    engine = open_engine()
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    n = set_password(engine, find_user(engine, email).id, password, actor="cli")
    emit({"email": email, "revoked_sessions": n, "password": password if generated else None}, as_json,
         lambda p: out.print(f"再設定しました（失効 {p['revoked_sessions']} 件）"
                             + (f" 新しいパスワード: {p['password']}" if p["password"] else "")))


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int | None, typer.Option(min=1, max=32, help="default: 2 on PostgreSQL, 1 on SQLite")] = None,
) -> None:
    """Web サービスを起動 / start the web service (FastAPI + uvicorn)."""
    import uvicorn

    settings = get_settings()
    open_engine()
    on_postgres = settings.sqlalchemy_url.startswith("postgresql")
    workers = workers or (2 if on_postgres else 1)
    if workers > 1 and not on_postgres:
        raise MatcherError("複数ワーカーは PostgreSQL で使ってください（SQLite は 1 ワーカー）",
                           "several workers need PostgreSQL (MATCHER_DATABASE_URL); SQLite serves one")
    if workers > 1 and not settings.redis_url:
        err.print("[yellow]注意:[/yellow] MATCHER_REDIS_URL が未設定のため、ログイン試行の制限はワーカーごとに数えられます "
                  "/ without MATCHER_REDIS_URL each worker counts login attempts on its own")
    if workers > 1 and not settings.threads:
        # Each worker gets its share of the cores for the embedder, instead of all of them each.
        import os

        os.environ["MATCHER_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
    err.print(f"http://{host}:{port}/ で起動します（API 文書: /docs、ワーカー {workers}）")
    # By import string: the engine does not import the web layer, and the same string is what
    # uvicorn needs to start several worker processes. X-Forwarded-* are believed only from
    # MATCHER_TRUSTED_PROXIES, inside the app, never by uvicorn.
    uvicorn.run("api.app:app_factory", factory=True, host=host, port=port, log_level="info", proxy_headers=False,
                workers=workers)
