"""Coordinators' decisions and the ranker: `decide`, `feedback import`, `train`, `models`, `explain`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from matcher.cli.common import (
    JsonOpt,
    StrictOpt,
    app,
    emit,
    err,
    open_engine,
    out,
)
from matcher.config import get_settings

feedback_app = typer.Typer(help="判定の一括取り込み / bulk decisions", no_args_is_help=True)
models_app = typer.Typer(help="ランカーの版 / ranker versions", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")
app.add_typer(models_app, name="models")


@app.command("decide")
def decide_cmd(
    suggestion_id: Annotated[int, typer.Argument(help="提案ID")],
    verdict: Annotated[str, typer.Argument(help="accept | reject | skip (承認 / 却下 / 保留)")],
    reason: Annotated[str | None, typer.Option(help="工程が合わない, 距離, 規模, 既存取引あり, 競合, その他 (or the code)")] = None,
    by: Annotated[str | None, typer.Option(help="coordinator")] = None,
    as_json: JsonOpt = False,
) -> None:
    """提案を承認・却下する / record a coordinator's decision (append-only)."""
    from matcher.services.decisions import record_decision

    dec = record_decision(open_engine(), suggestion_id, verdict, reason, by)
    payload = {"decision_id": dec.id, "suggestion_id": dec.suggestion_id, "verdict": dec.verdict,
               "reason": dec.reason, "coordinator": dec.coordinator, "decided_at": dec.decided_at.isoformat()}
    emit(payload, as_json, lambda p: out.print(f"記録しました: 提案 {p['suggestion_id']} → {p['verdict']}"))


@feedback_app.command("import")
def feedback_import_cmd(
    file: Annotated[Path, typer.Argument(help="CSV/XLSX: suggestion_id, verdict, reason, coordinator, decided_at")],
    strict: StrictOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """判定を一括で取り込む / import decisions in bulk (row-level errors as for ingest)."""
    from matcher.services.decisions import import_feedback

    report = import_feedback(open_engine(), file, strict)
    from matcher.views.imports import import_json

    emit(import_json(report, inline_limit=None), as_json, lambda p: out.print(
        f"取り込み {p['inserted']} 件、エラー {p['rejected_count']} 行" +
        "".join(f"\n  {e['row']} 行目 {e['field']}: {e['message']}" for e in p["rejected"][:30])))
    if report.rejected:
        raise typer.Exit(1)


@app.command("train")
def train_cmd(as_json: JsonOpt = False) -> None:
    """判定から新しいランカーを学習し、昇格判定を行う / train a ranker version and run the gate."""
    from matcher.services.rankers import train
    from matcher.views.admin import train_json

    result = train(open_engine(), get_settings())
    emit(train_json(result), as_json, lambda p: (out.print(p["message_ja"]),
                                                 err.print(json.dumps(p["metrics"], ensure_ascii=False, indent=2))))


@models_app.command("list")
def models_list_cmd(as_json: JsonOpt = False) -> None:
    """版の一覧 / list ranker versions."""
    from matcher.services.rankers import list_versions
    from matcher.views import as_json as view_json
    from matcher.views.admin import versions_out

    payload = view_json(versions_out(list_versions(open_engine())))

    def render(p: dict) -> None:
        table = Table(title="ランカーの版 / ranker versions")
        for col in ("版", "種類", "状態", "判定数", "hold-out nDCG@10", "AUC", "備考"):
            table.add_column(col)
        for r in p["versions"]:
            cand = r["metrics"].get("candidate", {})
            table.add_row(r["version"], r["kind"], r["status"], str(r["events_used"]), str(cand.get("ndcg@10", "")),
                          str(cand.get("auc", "")), (r["note"] or "")[:60])
        out.print(table)

    emit(payload, as_json, render)


@models_app.command("promote")
def models_promote_cmd(version: str, by: Annotated[str | None, typer.Option()] = None, as_json: JsonOpt = False) -> None:
    """版を有効にする / make a version active (logged)."""
    from matcher.services.rankers import promote_version
    from matcher.views.common import plain

    emit(plain(promote_version(open_engine(), version, by)), as_json,
         lambda p: out.print(f"有効: {p['active']}（前: {p['previous']}）"))


@models_app.command("rollback")
def models_rollback_cmd(by: Annotated[str | None, typer.Option()] = None, as_json: JsonOpt = False) -> None:
    """一つ前の版に戻す / re-activate the previously active version (logged)."""
    from matcher.services.rankers import rollback
    from matcher.views.common import plain

    emit(plain(rollback(open_engine(), by)), as_json,
         lambda p: out.print(f"有効: {p['active']}（戻した版: {p['previous']}）"))


@app.command("explain")
def explain_cmd(suggestion_id: int, as_json: JsonOpt = False) -> None:
    """提案スコアの内訳 / each feature's contribution to a suggestion's score."""
    from matcher.services.rankers import explain_suggestion
    from matcher.views.admin import explanation_json

    result = explanation_json(explain_suggestion(open_engine(), suggestion_id))

    def render(p: dict) -> None:
        out.print(f"提案 {p['suggestion_id']}（{p['model_version']}、{p['rank']} 位、スコア {p['score']:.3f}）: {p['reason']}")
        table = Table()
        for col in ("特徴量", "値", "寄与"):
            table.add_column(col)
        for c in p["contributions"]:
            table.add_row(c["feature"], f"{c['value']:.4g}", f"{c['contribution']:+.4f}")
        out.print(table)

    emit(result, as_json, render)
