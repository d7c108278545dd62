"""The ``matcher`` console command: a thin shell over the library.

Every reporting command takes ``--json`` and then prints exactly one JSON object on stdout;
progress bars and logs go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from matcher.config import get_settings

app = typer.Typer(help="日野市 企業マッチングエンジン / Hino matchmaking engine", no_args_is_help=True,
                  pretty_exceptions_enable=False)
eval_app = typer.Typer(help="評価 / evaluation", no_args_is_help=True)
db_app = typer.Typer(help="データベース / database", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.add_typer(db_app, name="db")

out = Console()
err = Console(stderr=True, soft_wrap=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]


def emit(payload: dict[str, Any], as_json: bool, render: Callable[[dict[str, Any]], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()
    else:
        render(payload)


class Bar:
    """Callable ``advance(n)``; ``set_total(n)`` once the amount of work is known."""

    def __init__(self, prog: Progress, task) -> None:
        self.prog, self.task = prog, task

    def __call__(self, n: int) -> None:
        self.prog.advance(self.task, n)

    def set_total(self, n: int) -> None:
        self.prog.update(self.task, total=n)


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Bar]:
    """A Rich progress bar on stderr."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=False) as prog:
        yield Bar(prog, prog.add_task(label, total=total))


def fail(message: str, code: int = 2) -> None:
    err.print(f"[red]エラー / error:[/red] {message}")
    raise typer.Exit(code)


def _embedder():
    from matcher.embed import EmbedderMissing, get_embedder

    try:
        return get_embedder(get_settings())
    except EmbedderMissing as exc:
        fail(str(exc))


def _engine():
    """The configured database, created or upgraded to the current schema on first use."""
    from matcher.store.db import get_engine, upgrade

    settings = get_settings()
    settings.ensure_dirs()
    engine = get_engine(settings.sqlalchemy_url)
    upgrade(engine)
    return engine


def metrics_table(title: str, rows: dict[str, dict[str, float]]) -> Table:
    table = Table(title=title)
    names = list(next(iter(rows.values())).keys())
    table.add_column("method")
    for n in names:
        table.add_column(n, justify="right")
    for method, m in rows.items():
        table.add_row(method, *(f"{m[n]:.4f}" for n in names))
    return table


@eval_app.command("sts")
def eval_sts_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL: sentence1, sentence2, label")],
    limit: Annotated[int | None, typer.Option(help="only the first N pairs")] = None,
    as_json: JsonOpt = False,
) -> None:
    """埋め込みの STS 評価（Spearman）/ STS Spearman for the embedder and a TF-IDF baseline."""
    from matcher.evaluate import eval_sts

    result = eval_sts(file, _embedder(), limit).as_json()

    def render(p: dict) -> None:
        table = Table(title=f"STS ({p['n']} pairs)")
        table.add_column("method")
        table.add_column("Spearman", justify="right")
        table.add_row(p["embedder"]["model"], f"{p['embedder']['spearman']:.4f}")
        table.add_row(p["baseline"]["name"], f"{p['baseline']['spearman']:.4f}")
        out.print(table)

    emit(result, as_json, render)


@eval_app.command("retrieval")
def eval_retrieval_cmd(
    corpus: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="JSONL: id, title, text")],
    queries: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="JSONL: id, query, positive_id")],
    limit: Annotated[int | None, typer.Option(help="only the first N queries")] = None,
    as_json: JsonOpt = False,
) -> None:
    """検索評価 / recall@1/5/10, MRR@10, nDCG@10 for dense, BM25 and hybrid (RRF)."""
    from matcher.evaluate import eval_retrieval, read_jsonl

    n = len(read_jsonl(corpus)) + len(read_jsonl(queries, limit))
    with progress_bar("埋め込み / embedding", n) as advance:
        result = eval_retrieval(corpus, queries, _embedder(), limit, progress=advance)

    def render(p: dict) -> None:
        out.print(metrics_table(f"retrieval ({p['n_queries']} queries, {p['n_corpus']} passages)",
                                {k: p[k] for k in ("dense", "bm25", "hybrid")}))

    emit(result, as_json, render)


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


@app.command("ingest")
def ingest_cmd(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8/BOM/CP932), XLSX or JSON/JSONL")],
    kind: Annotated[str | None, typer.Option(help="organizations | needs | seeds (default: from the header)")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="store nothing if any row is bad")] = False,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet name (default: the first)")] = None,
    index: Annotated[bool, typer.Option("--index/--no-index", help="embed and index changed documents")] = True,
    as_json: JsonOpt = False,
) -> None:
    """ファイルを取り込む / import organisations, needs or research seeds."""
    from matcher.catalog import import_file
    from matcher.ingest import KINDS, IngestFileError, guess_kind

    if kind is not None and kind not in KINDS:
        fail(f"--kind は {', '.join(KINDS)} のいずれか / --kind must be one of {', '.join(KINDS)}")
    engine = _engine()
    settings = get_settings()
    try:
        chosen = kind or guess_kind(file)
        report = import_file(engine, file, chosen, strict=strict, sheet=sheet,
                             reports_dir=settings.data_dir / "reports")
    except IngestFileError as exc:
        if as_json:
            emit({"inserted": 0, "updated": 0, "unchanged": 0, "rejected": [], "error": {
                "file": exc.file, "message": f"{exc.message_ja} / {exc.message_en}"}}, True, lambda p: None)
            raise typer.Exit(2) from exc
        fail(str(exc))
    payload = report.as_json()
    if index and report.stored and (report.inserted or report.updated):
        payload["index"] = _sync_index(engine)

    def render(p: dict) -> None:
        verb = "取り込みました" if p["stored"] else "厳格モードのため何も保存していません"
        out.print(f"{p['file']} ({p['kind']}, {p['encoding']}): {verb} — 新規 {p['inserted']} 件、"
                  f"更新 {p['updated']} 件、変更なし {p['unchanged']} 件、エラー {len(p['rejected'])} 件")
        if p["rejected"]:
            table = Table(title="取り込めなかった行 / rejected rows")
            for col in ("行", "項目", "内容"):
                table.add_column(col)
            for e in p["rejected"][:50]:
                table.add_row(str(e["row"]), e["field"], e["message"])
            out.print(table)
            out.print(f"エラー行: {p['rejects_file']}")

    emit(payload, as_json, render)
    if report.rejected:
        raise typer.Exit(1)


def _sync_index(engine) -> dict:
    from matcher.indexing import sync_indexes

    with progress_bar("埋め込み・索引 / embedding + indexing", None) as bar:
        report = sync_indexes(engine, get_settings(), _embedder(), progress=bar, on_total=bar.set_total)
    return report.as_json()


@app.command("export")
def export_cmd(
    out_path: Annotated[Path, typer.Argument(metavar="OUT", help="file (xlsx) or folder (csv)")],
    fmt: Annotated[str, typer.Option("--format", help="xlsx | csv")] = "xlsx",
    encoding: Annotated[str, typer.Option(help="CSV encoding: utf-8-sig (Excel), utf-8, cp932")] = "utf-8-sig",
    as_json: JsonOpt = False,
) -> None:
    """企業・案件・提案を書き出す / export organisations, needs and suggestions."""
    from matcher.export import export

    if fmt not in ("xlsx", "csv"):
        fail("--format は xlsx または csv / --format must be xlsx or csv")
    result = export(_engine(), out_path, fmt, encoding)  # type: ignore[arg-type]
    emit(result, as_json, lambda p: out.print(f"書き出しました: {', '.join(p['files'])} {p['rows']}"))


@app.command("demo")
def demo_cmd(as_json: JsonOpt = False) -> None:
    """デモ: 同梱データの取り込み・索引作成 / ingest the shipped corpora and build the indexes."""
    import time

    from matcher.demo import load_demo

    started = time.perf_counter()
    settings = get_settings()
    engine = _engine()
    embedder = _embedder()
    with progress_bar("埋め込み・索引 / embedding + indexing", None) as bar:
        report = load_demo(engine, settings, embedder, progress=bar, on_total=bar.set_total)
    payload = report.as_json()
    payload["data_dir"] = str(settings.data_dir)
    payload["seconds"] = round(time.perf_counter() - started, 1)

    def render(p: dict) -> None:
        table = Table(title="取り込み / ingest")
        for col in ("ファイル", "新規", "更新", "変更なし", "エラー"):
            table.add_column(col)
        for r in p["ingest"]:
            table.add_row(Path(r["file"]).name, str(r["inserted"]), str(r["updated"]), str(r["unchanged"]),
                          str(len(r["rejected"])))
        out.print(table)
        ix = p["index"]
        out.print(f"文書 {ix['documents']} 件、索引更新 {ix['indexed']} 件、新たに埋め込み {ix['embedded']} 件"
                  f"（{p['seconds']} 秒）。データ: {p['data_dir']}")

    emit(payload, as_json, render)


def main() -> None:
    """Entry point: known input errors become one clear line (and exit code 2), not a traceback."""
    try:
        app()
    except (ValueError, FileNotFoundError, KeyError) as exc:
        err.print(f"[red]エラー / error:[/red] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
