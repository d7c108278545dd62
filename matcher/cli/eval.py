"""`matcher eval`: STS Spearman, retrieval metrics and JSIC tagging, each beside its baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from matcher.cli.common import (
    JsonOpt,
    app,
    emit,
    load_embedder,
    metrics_table,
    out,
    progress_bar,
)

eval_app = typer.Typer(help="評価 / evaluation", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@eval_app.command("sts")
def eval_sts_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL: sentence1, sentence2, label")],
    limit: Annotated[int | None, typer.Option(help="only the first N pairs")] = None,
    as_json: JsonOpt = False,
) -> None:
    """埋め込みの STS 評価（Spearman）/ STS Spearman for the embedder and a TF-IDF baseline."""
    from matcher.evaluate import eval_sts
    from matcher.views.evaluate import sts_json

    result = sts_json(eval_sts(file, load_embedder(), limit))

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
        result = eval_retrieval(corpus, queries, load_embedder(), limit, progress=advance)

    def render(p: dict) -> None:
        out.print(metrics_table(f"retrieval ({p['n_queries']} queries, {p['n_corpus']} passages)",
                                {k: p[k] for k in ("dense", "bm25", "hybrid")}))

    emit(result, as_json, render)


@eval_app.command("tagging")
def eval_tagging_cmd(
    examples: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="TSV: phrase<TAB>code")],
    limit: Annotated[int | None, typer.Option(help="a random sample of N examples")] = None,
    folds: Annotated[int, typer.Option(min=2, max=10, help="cross-validation folds")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """業種コード付与の評価 / JSIC tagging top-1/top-5 by k-fold cross-validation, beside today's and a baseline."""
    from matcher.evaluate import eval_tagging

    result = eval_tagging(examples, load_embedder(), limit, folds)
    emit(result, as_json, lambda p: out.print(metrics_table(
        f"JSIC tagging ({p['n']} phrases, {p['folds']}-fold cross-validation)",
        {"learned (examples + descriptions)": {"top1": p["top1"], "top5": p["top5"]},
         p["descriptions_only"]["name"]: {"top1": p["descriptions_only"]["top1"], "top5": p["descriptions_only"]["top5"]},
         p["baseline"]["name"]: {"top1": p["baseline"]["top1"], "top5": p["baseline"]["top5"]}})))
