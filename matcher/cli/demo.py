"""`matcher demo` and `matcher db upgrade`: the embedded defaults, set up in one command."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from matcher.cli.common import (
    JsonOpt,
    app,
    emit,
    load_embedder,
    open_engine,
    out,
    progress_bar,
    render_shortlist,
)
from matcher.config import get_settings

db_app = typer.Typer(help="データベース / database", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade_cmd(as_json: JsonOpt = False) -> None:
    """データベースを作成・更新 / create or upgrade the database schema."""
    from matcher.store.db import get_engine, upgrade

    settings = get_settings()
    settings.ensure_dirs()
    revision = upgrade(get_engine(settings.sqlalchemy_url))
    url = settings.sqlalchemy_url.split("@")[-1]
    emit({"revision": revision, "database": url}, as_json,
         lambda p: out.print(f"データベースは最新です / schema at revision {p['revision']} ({p['database']})"))


@app.command("demo")
def demo_cmd(as_json: JsonOpt = False) -> None:
    """デモ: 同梱データの取り込み・索引作成 / ingest the shipped corpora and build the indexes."""
    import time

    from matcher.services.demo import load_demo

    started = time.perf_counter()
    settings = get_settings()
    engine = open_engine()
    embedder = load_embedder()
    with progress_bar("埋め込み・索引 / embedding + indexing", None) as bar:
        report = load_demo(engine, settings, embedder, progress=bar, on_total=bar.set_total)
    from matcher.views.jobs import demo_json

    payload = demo_json(report)
    from matcher.services.context import load_context
    from matcher.services.demo import DEMO_NEEDS
    from matcher.services.shortlists import shortlist_need
    from matcher.views import as_json as view_json
    from matcher.views import shortlist_out

    ctx = load_context(engine, settings, embedder)
    payload["shortlists"] = [view_json(shortlist_out(shortlist_need(ctx, ref, "all", 5))) for ref in DEMO_NEEDS]
    from matcher.services.demo import ensure_demo_users

    payload["login"] = ensure_demo_users(engine)
    payload["data_dir"] = str(settings.data_dir)
    payload["seconds"] = round(time.perf_counter() - started, 1)
    payload["next"] = {"serve": "matcher serve --host 127.0.0.1 --port 8000",
                       "shortlist": "matcher shortlist --need HN001"}

    def render(p: dict) -> None:
        table = Table(title="取り込み / ingest")
        for col in ("ファイル", "新規", "更新", "変更なし", "エラー"):
            table.add_column(col)
        for r in p["ingest"]:
            table.add_row(Path(r["file"]).name, str(r["inserted"]), str(r["updated"]), str(r["unchanged"]),
                          str(len(r["rejected"])))
        out.print(table)
        ix = p["index"]
        for one in p["shortlists"]:
            render_shortlist(one)
        out.print(f"\n文書 {ix['documents']} 件、索引更新 {ix['indexed']} 件、新たに埋め込み {ix['embedded']} 件"
                  f"（{p['seconds']} 秒）。データ: {p['data_dir']}")
        lg = p["login"]
        out.print(f"デモ用コーディネーター: {lg['coordinator']['email']} / パスワード {lg['coordinator']['password']}"
                  f"（管理者: {lg['admin']['email']} / {lg['admin']['password']}）")
        out.print("次の操作: 候補リスト `matcher shortlist --need HN001`、全案件の一括提案 "
                  "`matcher shortlist --all-needs`、Web サービスの起動 `matcher serve --host 127.0.0.1 --port 8000`"
                  "（ブラウザで http://127.0.0.1:8000/ を開く）")

    emit(payload, as_json, render)
