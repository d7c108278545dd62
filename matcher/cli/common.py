"""What every `matcher` command shares: the root Typer app, consoles, one JSON object on stdout,
progress bars on stderr, and the configured store, embedder and match context."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from matcher.config import get_settings


class ImportKind(StrEnum):
    organizations = "organizations"
    needs = "needs"
    seeds = "seeds"
    people = "people"


class ShortlistKindOpt(StrEnum):
    partners = "partners"
    seeds = "seeds"
    people = "people"
    all = "all"


class ExportFormat(StrEnum):
    xlsx = "xlsx"
    csv = "csv"


class RoleOpt(StrEnum):
    admin = "admin"
    coordinator = "coordinator"
    company = "company"


app = typer.Typer(help="日野市 企業マッチングエンジン / Hino matchmaking engine", no_args_is_help=True,
                  pretty_exceptions_enable=False)


out = Console(width=None if sys.stdout.isatty() else 160)


err = Console(stderr=True, soft_wrap=True)


JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="1 行でも不正なら何も保存しない / store nothing if any row is bad")]


def emit(payload: Any, as_json: bool, render: Callable[[dict[str, Any]], None]) -> None:
    """One JSON object on stdout, or the human rendering. Typed results (pydantic views) are
    turned into JSON here, at the edge."""
    from pydantic import BaseModel

    if isinstance(payload, BaseModel):
        from matcher.views import as_json as view_json

        payload = view_json(payload)
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
    from rich.markup import escape

    err.print(f"[red]エラー / error:[/red] {escape(message)}")
    raise typer.Exit(code)


def load_embedder():
    from matcher.search.embed import get_embedder

    return get_embedder(get_settings())


def open_engine():
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


def match_context():
    from matcher.errors import NotReady
    from matcher.search.indexing import index_version
    from matcher.services.context import load_context

    settings = get_settings()
    engine = open_engine()
    if index_version(settings) is None:
        raise NotReady("索引がありません。先に `matcher demo` か `matcher ingest` を実行してください",
                       "no index yet: run `matcher demo` or `matcher ingest` first")
    return load_context(engine, settings, load_embedder())


def render_shortlist(p: dict) -> None:
    head = p.get("need") or p.get("seed") or p.get("org") or p.get("person") or {}
    title = head.get("title") or head.get("name") or ""
    req = head.get("required_processes")
    out.print(f"\n[bold]{head.get('external_id', '')} {title}[/bold]" + (f"　必要工程: {'・'.join(req)}" if req else ""))
    table = Table(show_lines=False)
    for col in ("順位", "候補", "所在地", "スコア", "理由"):
        table.add_column(col)
    for c in p["candidates"]:
        if c.get("need"):  # a person's list: the needs they are proposed for
            name, city = f"{c['need']['external_id']} {c['need']['title']}", c["need"].get("org_name") or ""
        elif c.get("org"):
            name, city = c["org"]["name"], c["org"]["city"] or ""
        elif c.get("person"):
            name, city = c["person"]["name"], c["person"]["city"] or ""
        else:
            name, city = c["seed"]["title"], c["seed"].get("institution") or "KAKEN"
        table.add_row(str(c["rank"]), name, city, f"{c['score']:.3f}", c["reason"])
    out.print(table)
    if p.get("excluded"):
        out.print(f"除外 {len(p['excluded'])} 件: " + "、".join(f"{e['name']}（{e['reason']}）" for e in p["excluded"][:5]))
