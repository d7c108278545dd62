"""`matcher forum …` and `matcher seat solve`: the 産業人フォーラム and its seating solver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from matcher.cli.common import (
    JsonOpt,
    StrictOpt,
    app,
    emit,
    err,
    match_context,
    open_engine,
    out,
)

seat_app = typer.Typer(help="産業人フォーラムの席順 / forum seating", no_args_is_help=True)
forum_app = typer.Typer(help="産業人フォーラム（参加者・席順・座席表） / industry forum events", no_args_is_help=True)
EventOpt = Annotated[str, typer.Option("--event", help="フォーラムの ID または名称 / event id or name")]
app.add_typer(seat_app, name="seat")
app.add_typer(forum_app, name="forum")


@seat_app.command("solve")
def seat_solve_cmd(
    file: Annotated[Path, typer.Argument(help="instance JSON (rounds, tables, participants, affinity, conflicts, "
                                              "fixed), or an MDGPLIB file with --format mdgplib")],
    seconds: Annotated[float, typer.Option(min=0.1, max=3600)] = 30.0,
    seed: Annotated[int, typer.Option()] = 0,
    fmt: Annotated[str, typer.Option("--format", help="json（席順） / mdgplib（最大多様性グループ分け）")] = "json",
    as_json: JsonOpt = False,
) -> None:
    """席順を最適化（反復局所探索） / seat participants over rounds so the right people meet."""
    if fmt not in ("json", "mdgplib"):
        raise typer.BadParameter(f"--format は json か mdgplib です（{fmt!r}）")
    if fmt == "mdgplib":
        from matcher.solve.seating.mdgp import read_mdgplib, solve_mdgp
        from matcher.views.solvers import grouping_json

        inst = read_mdgplib(file)
        with _seat_progress("グループ分け") as progress:
            payload = grouping_json(inst, solve_mdgp(inst, seconds, seed, progress=progress))
        emit(payload, as_json, lambda p: out.print(f"目的関数 {p['objective']:.6f}（{p['groups']} グループ、"
                                                   f"{p['seconds']} 秒）"))
        return
    from matcher.solve.seating import read_instance, solve
    from matcher.views.solvers import seating_json

    inst = read_instance(file)
    with _seat_progress("席順") as progress:
        result = seating_json(inst, solve(inst, seconds, seed, progress=progress))
    emit(result, as_json, lambda p: out.print(f"目的関数 {p['objective']}（上界 {p['upper_bound']}、違反 {p['violations']}、"
                                              f"{p['seconds']} 秒）"))


@forum_app.command("import")
def forum_import_cmd(
    file: Annotated[Path, typer.Argument(help="参加者名簿 CSV/XLSX（氏名, 企業ID, 参加区分, 会いたい相手, 同席不可, ホスト卓）")],
    event: Annotated[str, typer.Option("--event", help="フォーラム名（なければ作成） / event name (created if new)")],
    strict: StrictOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """参加者名簿を取り込む（行ごとのエラーつき） / import the participant list of a forum."""
    from matcher.services.forum import import_participants
    from matcher.views.imports import import_json

    report = import_json(import_participants(open_engine(), file, event, actor="cli", strict=strict), inline_limit=None)
    emit(report, as_json, lambda p: (out.print(f"「{p['event']}」(ID {p['event_id']}): 追加 {p['inserted']} 名、"
                                               f"更新 {p['updated']} 名、エラー {p['rejected_count']} 行"),
                                     [err.print(f"  {e['file']} {e['row']} 行目 [{e['field']}] {e['message_ja']}")
                                      for e in p["rejected"]]))


@contextmanager
def _seat_progress(label: str) -> Iterator[Callable[[float, int, float], None]]:
    """A progress bar for a seating run: share of the iteration budget done, best objective so far."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TextColumn("最良 {task.fields[best]}"), TimeElapsedColumn(), console=err) as prog:
        task = prog.add_task(label, total=100, best="-")
        yield lambda seconds, best, fraction: prog.update(task, completed=min(100.0, 100 * fraction), best=best)
        prog.update(task, completed=100)


@forum_app.command("seat")
def forum_seat_cmd(
    event: EventOpt,
    rounds: Annotated[int, typer.Option(min=1, max=6)] = 3,
    table_size: Annotated[int, typer.Option("--table-size", min=2, max=30)] = 8,
    seconds: Annotated[float, typer.Option(min=0.1, max=3600)] = 30.0,
    seed: Annotated[int, typer.Option()] = 0,
    keep: Annotated[bool, typer.Option("--keep", help="席替え後の変更（キャンセル・追加）だけを反映し、他の人の席は動かさない")] = False,
    as_json: JsonOpt = False,
) -> None:
    """席順を作成して保存 / seat the event's participants (iterated maxima search) and store the chart."""
    from matcher.services.forum import reseat_event, seat_event
    from matcher.views.forum import forum_seating_json

    ctx = match_context()
    if keep:
        result = reseat_event(ctx, event, seed)
    else:
        with _seat_progress("席順 / seating") as update:
            result = seat_event(ctx, event, rounds, table_size, seconds, seed, progress=update)
    emit(forum_seating_json(result), as_json, lambda p: out.print(
        f"参加者 {p['participants']} 名・テーブル {p['tables']} 卓: 目的関数 {p['objective']}（上界 {p['upper_bound']}、"
        f"違反 {p['violations']}、同席 {p['meetings']} 組）" + (f"、移動 {len(p['moved'])} 名" if p.get("moved") else "")))


@forum_app.command("cancel")
def forum_cancel_cmd(
    event: EventOpt,
    participant: Annotated[list[int], typer.Argument(help="キャンセルする参加者ID / participant ids")],
    as_json: JsonOpt = False,
) -> None:
    """直前のキャンセルを反映して席を組み直す（他の人の席はできるだけそのまま） / cancel and re-seat."""
    from matcher.services.forum import cancel
    from matcher.views.forum import forum_seating_json

    result = cancel(match_context(), event, participant, actor="cli")
    emit(forum_seating_json(result), as_json, lambda p: out.print(
        f"キャンセル {len(participant)} 名を反映しました。移動 {len(p.get('moved', []))} 名、目的関数 {p['objective']}"))


@forum_app.command("chart")
def forum_chart_cmd(
    event: EventOpt,
    out_dir: Annotated[Path, typer.Option("--out", help="出力フォルダ / output directory")],
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="PDF も作成（Chromium が必要）")] = True,
    as_json: JsonOpt = False,
) -> None:
    """印刷用の座席表（A4 の HTML と PDF、ラウンドごと＋参加者別の行程） / write the printable chart."""
    from matcher.services.forum import forum_chart
    from matcher.views import print_pdf, render_forum_chart

    chart = forum_chart(open_engine(), event)
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / f"forum-{chart.event_id}.html"
    page = render_forum_chart(chart)
    html.write_text(page, encoding="utf-8")
    payload: dict[str, Any] = {"event_id": chart.event_id, "html": str(html), "pdf": None,
                               "rounds": len(chart.rounds), "participants": len(chart.itineraries)}
    if pdf:
        target = out_dir / f"forum-{chart.event_id}.pdf"
        payload["printing"] = print_pdf(page, target)
        payload["pdf"] = str(target)
    emit(payload, as_json, lambda p: out.print(f"座席表を書き出しました: {p['html']}" + (f", {p['pdf']}" if p["pdf"] else "")))


@forum_app.command("list")
def forum_list_cmd(as_json: JsonOpt = False) -> None:
    """フォーラムの一覧 / forum events."""
    from matcher.services.forum import list_events, participants
    from matcher.views.forum import forum_event_json

    engine = open_engine()
    events = [forum_event_json(e, len(participants(engine, e.id))) for e in list_events(engine)]
    emit({"events": events}, as_json, lambda p: [out.print(f"{e['id']}: {e['name']}（{e['state']}、参加者 {e['participants']} 名）")
                                                  for e in p["events"]])
