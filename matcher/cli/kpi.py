"""`matcher kpi` and `matcher kpi import-outcomes`: 進行管理."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from matcher.cli.common import (
    JsonOpt,
    StrictOpt,
    app,
    emit,
    err,
    open_engine,
    out,
)

kpi_app = typer.Typer(help="進行管理（KPI） / plan progress", invoke_without_command=True)
app.add_typer(kpi_app, name="kpi")


@kpi_app.callback()
def kpi_cmd(
    ctx: typer.Context,
    fy: Annotated[int | None, typer.Option("--fy", help="年度（4月〜翌3月）")] = None,
    period: Annotated[int | None, typer.Option("--period", min=1, max=3, help="計画期 1・2・3")] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Excel に書き出す")] = None,
    as_json: JsonOpt = False,
) -> None:
    """提案・承認・回答・フォーラム・メール配信の実績を四半期・半期・年度・期ごとに / plan progress (KPI)."""
    if ctx.invoked_subcommand is not None:
        return
    from matcher.exchange.export import workbook_bytes
    from matcher.services.kpi import kpi_report, kpi_sheets

    report = kpi_report(open_engine(), fy, period)
    from matcher.views import as_json as view_json
    from matcher.views.kpi import kpi_report_out

    payload = view_json(kpi_report_out(report))
    if xlsx is not None:
        xlsx.write_bytes(workbook_bytes(kpi_sheets(report)))
        payload["xlsx"] = str(xlsx)
    emit(payload, as_json, lambda p: [out.print(
        f"{y['fy']}年度: 提案 {y['suggestions']}・承認 {y['accepted']}・却下 {y['rejected']}・"
        f"興味あり {y['company_interested']}・メール {y['digests_sent']}") for y in p["years"]])


@kpi_app.command("import-outcomes")
def kpi_import_outcomes_cmd(
    file: Annotated[Path, typer.Argument(help="年度, 事業所数, 付加価値額（百万円）, 一人当たり付加価値額（万円）, 出典")],
    strict: StrictOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """成果指標（公的統計）を年度ごとに取り込む / import outcome indicators per fiscal year."""
    from matcher.services.kpi import import_outcomes
    from matcher.views.imports import import_json

    report = import_json(import_outcomes(open_engine(), file, actor="cli", strict=strict), inline_limit=None)
    emit(report, as_json, lambda p: (out.print(f"追加 {p['inserted']} 年度・更新 {p['updated']} 年度・エラー {p['rejected_count']} 行"),
                                     [err.print(f"  {e['file']} {e['row']} 行目 [{e['field']}] {e['message_ja']}")
                                      for e in p["rejected"]]))
