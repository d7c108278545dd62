"""`matcher shortlist` and `matcher whynot`: ranked partners, research seeds and people, and why a firm is
not listed."""

from __future__ import annotations

from typing import Annotated

import typer

from matcher.cli.common import (
    JsonOpt,
    ShortlistKindOpt,
    app,
    emit,
    fail,
    match_context,
    out,
    render_shortlist,
)


@app.command("shortlist")
def shortlist_cmd(
    need: Annotated[str | None, typer.Option(help="案件ID or id")] = None,
    seed: Annotated[str | None, typer.Option(help="シーズID or id: companies for a research seed")] = None,
    org: Annotated[str | None, typer.Option(help="企業ID or id: partners for a company without a need")] = None,
    person: Annotated[str | None, typer.Option(help="人材ID or id: open needs for a person (本人同意あり)")] = None,
    all_needs: Annotated[bool, typer.Option("--all-needs", help="every open need, with exposure caps")] = False,
    # The one default of page, API and CLI (services.shortlists.DEFAULT_KIND / DEFAULT_K).
    kind: Annotated[ShortlistKindOpt, typer.Option(help="partners | seeds | people | all")] = ShortlistKindOpt.all,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="candidates per list (and kind)")] = 10,
    cap: Annotated[int | None, typer.Option(help="exposure cap per organisation in --all-needs")] = None,
    store: Annotated[bool, typer.Option("--store/--no-store", help="record the shortlist as suggestions")] = True,
    as_json: JsonOpt = False,
) -> None:
    """候補リスト / ranked partners and research seeds with reasons."""
    from matcher import views
    from matcher.services import shortlists as sl

    if sum(x is not None for x in (need, seed, org, person)) + int(all_needs) != 1:
        fail("--need / --seed / --org / --person / --all-needs のどれか一つを指定してください / give exactly one of them")
    ctx = match_context()
    if all_needs:
        result = views.batch_out(sl.shortlist_all_needs(ctx, kind.value, k, cap, store))  # type: ignore[arg-type]

        def render_all(p: dict) -> None:
            for one in p["shortlists"]:
                render_shortlist(one)
            ex = p["exposure"].get("organization")
            if ex:
                out.print(f"\n掲載上限 {p['exposure']['cap']} 件/社: 合計スコア {ex['uncapped_total']} → "
                          f"{ex['capped_total']}（上限によるスコア減少 {ex['cost']}）")

        emit(result, as_json, render_all)
        return
    if need is not None:
        one = sl.shortlist_need(ctx, need, kind.value, k, store)  # type: ignore[arg-type]
    elif seed is not None:
        one = sl.shortlist_seed(ctx, seed, k, store)
    elif person is not None:
        one = sl.shortlist_person(ctx, person, k, store)
    else:
        one = sl.shortlist_org(ctx, org, k, store)
    emit(views.shortlist_out(one), as_json, render_shortlist)


@app.command("whynot")
def whynot_cmd(
    need: Annotated[str, typer.Option(help="案件ID or id")],
    org: Annotated[str, typer.Option(help="企業ID or id")],
    k: Annotated[int, typer.Option("--k")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """なぜ候補に入らないか / why an organisation is not on a need's shortlist."""
    from matcher.services.shortlists import why_not
    from matcher.views import why_not_out

    result = why_not_out(why_not(match_context(), need, org, k))
    emit(result, as_json, lambda p: out.print(f"{p['name']}: {p['status']} — {p['reason']}"))
