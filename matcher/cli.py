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
app.add_typer(eval_app, name="eval")

out = Console()
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]


def emit(payload: dict[str, Any], as_json: bool, render: Callable[[dict[str, Any]], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()
    else:
        render(payload)


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar on stderr; yields an ``advance(n)`` callback."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=False) as prog:
        task = prog.add_task(label, total=total)
        yield lambda n: prog.advance(task, n)


def fail(message: str, code: int = 2) -> None:
    err.print(f"[red]エラー / error:[/red] {message}")
    raise typer.Exit(code)


def _embedder():
    from matcher.embed import EmbedderMissing, get_embedder

    try:
        return get_embedder(get_settings())
    except EmbedderMissing as exc:
        fail(str(exc))


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


def main() -> None:
    """Entry point: known input errors become one clear line (and exit code 2), not a traceback."""
    try:
        app()
    except (ValueError, FileNotFoundError, KeyError) as exc:
        err.print(f"[red]エラー / error:[/red] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
