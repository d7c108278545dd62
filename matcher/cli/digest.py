"""`matcher digest send`: the email digests to companies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from matcher.cli.common import (
    JsonOpt,
    app,
    emit,
    err,
    match_context,
    open_engine,
    out,
)
from matcher.config import get_settings

digest_app = typer.Typer(help="企業へのメール配信 / email digests to companies", no_args_is_help=True)
app.add_typer(digest_app, name="digest")


@digest_app.command("send")
def digest_send_cmd(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="送らずに内容を確認（--out に .eml を書く）")] = False,
    org: Annotated[str | None, typer.Option("--org", help="この企業だけ（ID または企業ID）")] = None,
    suggest: Annotated[bool, typer.Option("--suggest", help="自社のおすすめ連携先（スコアが基準以上）も載せる")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="--dry-run の .eml を書くフォルダ")] = None,
    as_json: JsonOpt = False,
) -> None:
    """新しいご紹介をメールで送る（送信済みは二度送らない・失敗分は次回に再送） / send the email digests."""
    from matcher.services.digests import send_digests, suggested_collaborators

    settings, engine = get_settings(), open_engine()
    org_id = None
    if org is not None:
        from sqlmodel import select

        from matcher.store.db import session_scope
        from matcher.store.tables import Organization

        with session_scope(engine) as s:
            row = s.exec(select(Organization).where((Organization.external_id == org) | (
                Organization.id == (int(org) if org.isdigit() else -1)))).first()
        if row is None:
            from matcher.errors import NotFound

            raise NotFound(f"企業「{org}」が見つかりません", f"no organisation {org!r}")
        org_id = row.id
    suggester = None
    if suggest:
        ctx = match_context()
        suggester = lambda orgs: suggested_collaborators(ctx, orgs, settings.digest_min_score)  # noqa: E731
    run = send_digests(engine, settings, dry_run=dry_run, org_id=org_id, suggest=suggester)
    from matcher.views.jobs import digest_run_json

    payload = digest_run_json(run)
    if dry_run:
        target = out_dir or settings.data_dir / "outbox-preview"
        target.mkdir(parents=True, exist_ok=True)
        for name, data in run.previews:
            (target / name).write_bytes(data)
        payload["preview_dir"] = str(target)
    for note in run.notes:
        err.print(note)
    emit(payload, as_json, lambda p: out.print(f"送信 {p['sent']} 通・失敗 {p['failed']} 通・対象外 {p['skipped']} 通"
                                               + (f"（プレビュー {len(run.previews)} 通: {p['preview_dir']}）" if dry_run else "")))
