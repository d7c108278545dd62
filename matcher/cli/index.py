"""`matcher index sync|compact|status` and `matcher worker`: the indexes and the background job worker."""

from __future__ import annotations

from typing import Annotated

import typer

from matcher.cli.common import (
    JsonOpt,
    app,
    emit,
    load_embedder,
    open_engine,
    out,
    progress_bar,
)
from matcher.config import get_settings

index_app = typer.Typer(help="索引 / indexes", no_args_is_help=True)
app.add_typer(index_app, name="index")


def sync_index(engine) -> dict:
    from matcher.search.indexing import sync_indexes

    with progress_bar("埋め込み・索引 / embedding + indexing", None) as bar:
        report = sync_indexes(engine, get_settings(), load_embedder(), progress=bar, on_total=bar.set_total)
    from matcher.views.jobs import sync_json

    return sync_json(report)


@index_app.command("sync")
def index_sync_cmd(as_json: JsonOpt = False) -> None:
    """保存済みで未索引の文書をすべて索引に入れる（中断からの復旧にも） / index everything stale."""
    payload = sync_index(open_engine())
    emit(payload, as_json, lambda p: out.print(f"文書 {p['documents']} 件、索引更新 {p['indexed']} 件、"
                                               f"削除 {p['removed']} 件、新たに埋め込み {p['embedded']} 件"))


@index_app.command("compact")
def index_compact_cmd(force: Annotated[bool, typer.Option("--force", help="merge even when the policy would not")] = False,
                      as_json: JsonOpt = False) -> None:
    """索引の区画を一つに統合する（削除済みの行を除く） / merge the index segments into one."""
    from dataclasses import asdict

    from matcher.search.indexing import compact_indexes

    open_engine()
    report = compact_indexes(get_settings(), force=force)
    payload = {"compacted": report is not None, **(asdict(report) if report else {})}
    emit(payload, as_json, lambda p: out.print(
        f"区画 {p['segments_before']} 個（{p['rows_before']} 行）を 1 個（{p['rows']} 行）に統合しました（{p['version']}）"
        if p["compacted"] else "統合の必要はありません（区画数・削除行とも基準内）"))


@index_app.command("status")
def index_status_cmd(as_json: JsonOpt = False) -> None:
    """索引更新ジョブの状態 / the latest indexing job."""
    from matcher.services.jobs import IndexJobs
    from matcher.views import as_json as view_json
    from matcher.views.jobs import index_status_out

    payload = view_json(index_status_out(IndexJobs(open_engine(), get_settings(), load_embedder).status()))
    emit(payload, as_json, lambda p: out.print(f"{p['state']} {p['done']}/{p['total']}（未索引 {p['stale_documents']} 件）"))


@app.command("worker")
def worker_cmd(burst: Annotated[bool, typer.Option("--burst", help="stop when the queue is empty")] = False) -> None:
    """索引・席順ジョブのワーカー（MATCHER_REDIS_URL の RQ キュー） / run an RQ worker for indexing and seating jobs."""
    from matcher.errors import NotReady

    settings = get_settings()
    if not settings.redis_url:
        raise NotReady("MATCHER_REDIS_URL が未設定です（Redis なしではサービス内で索引を更新します）",
                       "MATCHER_REDIS_URL is not set (without Redis the service indexes in-process)")
    from redis import Redis
    from rq import SimpleWorker

    from matcher.infra.jobs import QUEUE

    open_engine()
    # Jobs run in this process (no fork per job): the embedder and the match context it loads
    # stay loaded for the next job, and ONNX Runtime's thread pools never cross a fork. A job
    # that kills the process is repaired like any interrupted job (its row says so).
    SimpleWorker([QUEUE], connection=Redis.from_url(settings.redis_url)).work(burst=burst)
