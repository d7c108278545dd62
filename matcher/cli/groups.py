"""`matcher groups`, `sig` and `capabilities`: joint-order groups, study groups, inferred JSIC codes."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from matcher.cli.common import (
    JsonOpt,
    app,
    emit,
    fail,
    load_embedder,
    match_context,
    open_engine,
    out,
)

groups_app = typer.Typer(help="共同受注グループ / joint-order groups", invoke_without_command=True)
class SolveFormat(StrEnum):
    orlib = "orlib"
sig_app = typer.Typer(help="研究会（SIG）の提案 / study-group proposals", no_args_is_help=True)
capabilities_app = typer.Typer(help="能力（業種コード）の推定 / inferred capabilities", no_args_is_help=True)
app.add_typer(groups_app, name="groups")
app.add_typer(sig_app, name="sig")
app.add_typer(capabilities_app, name="capabilities")


@groups_app.callback()
def groups_cmd(
    ctx: typer.Context,
    need: Annotated[str | None, typer.Option(help="案件ID or id")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=10, help="how many distinct groups")] = 3,
    max_size: Annotated[int, typer.Option("--max-size", min=1, max=10)] = 5,
    seconds: Annotated[float, typer.Option(min=0.1, max=600, help="for all k groups together")] = 1.0,
    store: Annotated[bool, typer.Option("--store/--no-store")] = True,
    capacity: Annotated[bool, typer.Option("--capacity", help="同一工程の共同受注: pool capacity on the same processes")] = False,
    as_json: JsonOpt = False,
) -> None:
    """必要工程をすべて担える企業の組み合わせ（最適化） / the k best groups covering a need's processes."""
    if ctx.invoked_subcommand is not None:
        return
    if need is None:
        fail("--need を指定してください / give --need (or use `matcher groups solve FILE`)")
    from matcher import views
    from matcher.services.groups import propose_groups

    result = views.groups_out(propose_groups(match_context(), need, k, max_size, seconds, store,
                                                    "capacity" if capacity else "complement"))

    def render(p: dict) -> None:
        out.print(f"\n[bold]{p['need']['external_id']} {p['need']['title']}[/bold]　必要工程: {'・'.join(p['need']['required_processes'])}")
        for g in p["groups"]:
            state = "最適" if g["status"] == "optimal" else f"暫定（gap {g['gap']:.3f}）"
            out.print(f"\n案 {g['rank']}. 適合度 {g['fit_label']}（{state}）")
            for m in g["members"]:
                out.print(f"  {'幹事' if m['role'] == 'lead' else '　　'} {m['org']['name']}（{m['org']['city'] or ''}）: {'・'.join(m['covers'])}")
            out.print(f"  {g['explanation']}")
        if p["solo"]:
            out.print("\n単独で対応可能: " + "、".join(f"{s['org']['name']}（適合度 {s['fit_label']}）" for s in p["solo"]))
        if not p["groups"] and not p["infeasible"]:
            out.print("\n共同受注グループはありません（2 社以上で、それぞれが他社にない工程を担う組み合わせがありません）")
        if p["infeasible"]:
            out.print(f"\n対応できる企業が登録されていない工程: {'・'.join(p['infeasible']['uncovered'])}")
            for n in p["infeasible"]["nearest"]:
                out.print(f"  {n['process']}: {n['name']} — {n['why']}")

    emit(result, as_json, render)


@groups_app.command("solve")
def groups_solve_cmd(
    file: Annotated[Path, typer.Argument(help="weighted set cover (OR-Library scp format)")],
    fmt: Annotated[SolveFormat, typer.Option("--format")] = SolveFormat.orlib,
    seconds: Annotated[float, typer.Option(min=0.1, max=3600)] = 60.0,
    as_json: JsonOpt = False,
) -> None:
    """集合被覆問題を解く（標準ベンチマーク形式） / solve a weighted set-cover instance exactly."""
    from matcher.solve.setcover import read_orlib, solve
    from matcher.views.solvers import set_cover_json

    inst = read_orlib(file)
    result = set_cover_json(inst, solve(inst, seconds))
    emit(result, as_json, lambda p: out.print(f"cost {p['cost']}（{p['status']}、{p['seconds']} 秒）列: {p['columns']}"))


@sig_app.command("propose")
def sig_propose_cmd(seed: Annotated[int, typer.Option()] = 0, as_json: JsonOpt = False) -> None:
    """テーマの近い企業・研究シーズを研究会にまとめる / cluster firms and seeds into themed study groups."""
    from matcher import views
    from matcher.services.sig import propose_sigs

    result = views.sigs_out(propose_sigs(match_context(), seed=seed))

    def render(p: dict) -> None:
        m = p["method"]
        out.print(f"方法: {m['name']}、{m['k']} グループ（シルエット係数 {m['silhouette']}）")
        for s in p["sigs"]:
            out.print(f"\n[bold]{s['label']}[/bold]　世話役: {s['convener']['name']}（{s['convener']['why']}）")
            for mem in s["members"]:
                out.print(f"  {mem['name']} — {mem['why']}")
            for sd in s["seeds"]:
                out.print(f"  [研究シーズ] {sd['name']} — {sd['why']}")

    emit(result, as_json, render)


@capabilities_app.command("infer")
def capabilities_infer_cmd(as_json: JsonOpt = False) -> None:
    """技術紹介の文から業種コードを推定（確信度と根拠の文つき） / infer JSIC codes from profile sentences."""
    from matcher.services.capabilities import infer_capabilities
    from matcher.text.taxonomy import jsic_name

    found = infer_capabilities(open_engine(), load_embedder())
    payload = {"inferred": [{"org_id": i.org_id, "code": i.code, "name": jsic_name(i.code), "confidence": i.confidence,
                             "evidence": i.evidence} for i in found]}
    emit(payload, as_json, lambda p: out.print(f"{len(p['inferred'])} 件の能力を推定しました"))
