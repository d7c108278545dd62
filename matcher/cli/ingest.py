"""`matcher ingest` and `matcher export`: files in and out (row-level errors, formula-safe exports)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from matcher.cli.common import (
    ExportFormat,
    ImportKind,
    JsonOpt,
    StrictOpt,
    app,
    emit,
    open_engine,
    out,
)
from matcher.cli.index import sync_index
from matcher.config import get_settings


@app.command("ingest")
def ingest_cmd(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8/BOM/CP932), XLSX or JSON/JSONL")],
    kind: Annotated[ImportKind | None, typer.Option(help="default: from the header")] = None,
    strict: StrictOpt = False,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet name (default: the first)")] = None,
    index: Annotated[bool, typer.Option("--index/--no-index", help="embed and index changed documents")] = True,
    as_json: JsonOpt = False,
) -> None:
    """ファイルを取り込む / import organisations, needs or research seeds."""
    from matcher.errors import FileError
    from matcher.exchange.catalog import import_file
    from matcher.exchange.ingest import guess_kind

    engine = open_engine()
    settings = get_settings()
    try:
        chosen = kind.value if kind else guess_kind(file)
        report = import_file(engine, file, chosen, strict=strict, sheet=sheet,  # type: ignore[arg-type]
                             reports_dir=settings.data_dir / "reports")
    except FileError as exc:
        if not as_json:
            raise
        emit({"inserted": 0, "updated": 0, "unchanged": 0, "rejected": [], "error": {
            "file": exc.file, "message": exc.message}}, True, lambda p: None)
        raise typer.Exit(2) from exc
    from matcher.views.imports import import_json

    payload = import_json(report, inline_limit=None)
    if index and report.stored and (report.inserted or report.updated):
        payload["index"] = sync_index(engine)

    def render(p: dict) -> None:
        verb = "取り込みました" if p["stored"] else "厳格モードのため何も保存していません"
        out.print(f"{p['file']} ({p['kind']}, {p['encoding']}): {verb} — 新規 {p['inserted']} 件、"
                  f"更新 {p['updated']} 件、変更なし {p['unchanged']} 件、エラー {p['rejected_count']} 行")
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


@app.command("export")
def export_cmd(
    out_path: Annotated[Path, typer.Argument(metavar="OUT", help="file (xlsx) or folder (csv)")],
    fmt: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.xlsx,
    encoding: Annotated[str, typer.Option(help="CSV encoding: utf-8-sig (Excel), utf-8, cp932")] = "utf-8-sig",
    as_json: JsonOpt = False,
) -> None:
    """企業・案件・提案を書き出す / export organisations, needs and suggestions."""
    from matcher.exchange.export import export
    from matcher.views.common import plain

    result = plain(export(open_engine(), out_path, fmt.value, encoding))  # type: ignore[arg-type]
    emit(result, as_json, lambda p: out.print(f"書き出しました: {', '.join(p['files'])} {p['rows']}"))
