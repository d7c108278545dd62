"""`matcher people …`: the 人材 advisory programme's batch assignment, and 登録削除."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from matcher.cli.common import JsonOpt, app, emit, match_context, open_engine, out

people_app = typer.Typer(help="人材（アドバイザー・副業人材・学生） / people", no_args_is_help=True)
app.add_typer(people_app, name="people")


@people_app.command("assign")
def assign_cmd(
    k: Annotated[int, typer.Option("--k", min=1, max=10, help="advisors per open need at most")] = 2,
    hours: Annotated[int, typer.Option("--hours", min=1, max=200, help="hours one engagement takes per month")] = 8,
    min_score: Annotated[float, typer.Option("--min-score", min=-10, max=10,
                                             help="lowest score worth proposing (0.4 = 適合度 中)")] = 0.4,
    store: Annotated[bool, typer.Option("--store/--no-store", help="record the assignment as suggestions")] = True,
    as_json: JsonOpt = False,
) -> None:
    """アドバイザーの一括割当（各案件 k 人まで・各人の対応可能時間の範囲で、合計スコア最大） / batch
    assignment of advisors to every open need, exact (min-cost flow)."""
    from matcher.services.people import assign_advisors
    from matcher.views import assignment_out

    result = assignment_out(assign_advisors(match_context(), k, hours, min_score, store))
    emit(result, as_json, _render)


def _render(p: dict) -> None:
    table = Table(show_lines=False)
    for col in ("案件", "アドバイザー", "スコア", "理由"):
        table.add_column(col)
    for one in p["needs"]:
        need = f"{one['need']['external_id']} {one['need']['title']}"
        if not one["advisors"]:
            table.add_row(need, "—", "", one.get("unfilled") or "")
        for c in one["advisors"]:
            table.add_row(need, c["person"]["name"], f"{c['score']:.3f}", c["reason"])
            need = ""
    out.print(table)
    out.print(f"割当 {p['assigned']} 件（{p['hours_assigned']} 時間/月、1 件 {p['hours_per_engagement']} 時間）、"
              f"合計スコア {p['total_score']}（{p['status']}）")


@people_app.command("erase")
def erase_cmd(
    person: Annotated[str, typer.Argument(help="人材ID or id")],
    as_json: JsonOpt = False,
) -> None:
    """登録削除（本人の申し出） / erase a person's personal data, keeping anonymous counts."""
    from matcher.errors import NotFound
    from matcher.services.invitations import erase_person, find_person_id

    engine = open_engine()
    person_id = find_person_id(engine, person)
    if person_id is None or not erase_person(engine, person_id, "cli"):
        raise NotFound(f"人材が見つかりません（人材ID: {person}）", f"no person {person!r}")
    emit({"erased": True, "person_id": person_id}, as_json,
         lambda p: out.print(f"人材 {person} の個人情報を削除しました（提案の件数は匿名で残ります）"))
