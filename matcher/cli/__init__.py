"""The ``matcher`` console command: a thin shell over the library.

Every reporting command takes ``--json`` and then prints exactly one JSON object on stdout;
progress bars and logs go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from matcher.config import get_settings
from matcher.errors import MatcherError


class ImportKind(StrEnum):
    organizations = "organizations"
    needs = "needs"
    seeds = "seeds"


class ShortlistKindOpt(StrEnum):
    partners = "partners"
    seeds = "seeds"
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
eval_app = typer.Typer(help="評価 / evaluation", no_args_is_help=True)
db_app = typer.Typer(help="データベース / database", no_args_is_help=True)
feedback_app = typer.Typer(help="判定の一括取り込み / bulk decisions", no_args_is_help=True)
models_app = typer.Typer(help="ランカーの版 / ranker versions", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")
app.add_typer(models_app, name="models")
app.add_typer(eval_app, name="eval")
app.add_typer(db_app, name="db")

# Piped output has no terminal width; Japanese tables need room, so assume a wide page.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]


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


def _embedder():
    from matcher.search.embed import get_embedder

    return get_embedder(get_settings())


def _engine():
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


@eval_app.command("tagging")
def eval_tagging_cmd(
    examples: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="TSV: phrase<TAB>code")],
    limit: Annotated[int | None, typer.Option(help="a random sample of N examples")] = None,
    folds: Annotated[int, typer.Option(min=2, max=10, help="cross-validation folds")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """業種コード付与の評価 / JSIC tagging top-1/top-5 by k-fold cross-validation, beside today's and a baseline."""
    from matcher.evaluate import eval_tagging

    result = eval_tagging(examples, _embedder(), limit, folds)
    emit(result, as_json, lambda p: out.print(metrics_table(
        f"JSIC tagging ({p['n']} phrases, {p['folds']}-fold cross-validation)",
        {"learned (examples + descriptions)": {"top1": p["top1"], "top5": p["top5"]},
         p["descriptions_only"]["name"]: {"top1": p["descriptions_only"]["top1"], "top5": p["descriptions_only"]["top5"]},
         p["baseline"]["name"]: {"top1": p["baseline"]["top1"], "top5": p["baseline"]["top5"]}})))


@db_app.command("upgrade")
def db_upgrade_cmd(as_json: JsonOpt = False) -> None:
    """データベースを作成・更新 / create or upgrade the database schema."""
    from matcher.store.db import get_engine, upgrade

    settings = get_settings()
    settings.ensure_dirs()
    revision = upgrade(get_engine(settings.sqlalchemy_url))
    url = settings.sqlalchemy_url.split("@")[-1]
    emit({"revision": revision, "database": url}, as_json,
         lambda p: out.print(f"データベースは最新です / schema at revision {p['revision']} ({p['database']})"))


@app.command("ingest")
def ingest_cmd(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8/BOM/CP932), XLSX or JSON/JSONL")],
    kind: Annotated[ImportKind | None, typer.Option(help="default: from the header")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="store nothing if any row is bad")] = False,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet name (default: the first)")] = None,
    index: Annotated[bool, typer.Option("--index/--no-index", help="embed and index changed documents")] = True,
    as_json: JsonOpt = False,
) -> None:
    """ファイルを取り込む / import organisations, needs or research seeds."""
    from matcher.errors import FileError
    from matcher.exchange.catalog import import_file
    from matcher.exchange.ingest import guess_kind

    engine = _engine()
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
    payload = report.as_json()
    if index and report.stored and (report.inserted or report.updated):
        payload["index"] = _sync_index(engine)

    def render(p: dict) -> None:
        verb = "取り込みました" if p["stored"] else "厳格モードのため何も保存していません"
        out.print(f"{p['file']} ({p['kind']}, {p['encoding']}): {verb} — 新規 {p['inserted']} 件、"
                  f"更新 {p['updated']} 件、変更なし {p['unchanged']} 件、エラー {len(p['rejected'])} 件")
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


def _sync_index(engine) -> dict:
    from matcher.search.indexing import sync_indexes

    with progress_bar("埋め込み・索引 / embedding + indexing", None) as bar:
        report = sync_indexes(engine, get_settings(), _embedder(), progress=bar, on_total=bar.set_total)
    return report.as_json()


@app.command("export")
def export_cmd(
    out_path: Annotated[Path, typer.Argument(metavar="OUT", help="file (xlsx) or folder (csv)")],
    fmt: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.xlsx,
    encoding: Annotated[str, typer.Option(help="CSV encoding: utf-8-sig (Excel), utf-8, cp932")] = "utf-8-sig",
    as_json: JsonOpt = False,
) -> None:
    """企業・案件・提案を書き出す / export organisations, needs and suggestions."""
    from matcher.exchange.export import export

    result = export(_engine(), out_path, fmt.value, encoding)  # type: ignore[arg-type]
    emit(result, as_json, lambda p: out.print(f"書き出しました: {', '.join(p['files'])} {p['rows']}"))


def _context():
    from matcher.errors import NotReady
    from matcher.search.indexing import IndexPaths
    from matcher.services.context import load_context

    settings = get_settings()
    engine = _engine()
    if not IndexPaths.of(settings).vectors.exists():
        raise NotReady("索引がありません。先に `matcher demo` か `matcher ingest` を実行してください",
                       "no index yet: run `matcher demo` or `matcher ingest` first")
    return load_context(engine, settings, _embedder())


def render_shortlist(p: dict) -> None:
    head = p.get("need") or p.get("seed") or p.get("org") or {}
    title = head.get("title") or head.get("name") or ""
    req = head.get("required_capabilities")
    out.print(f"\n[bold]{head.get('external_id', '')} {title}[/bold]" + (f"　必要工程: {'・'.join(req)}" if req else ""))
    table = Table(show_lines=False)
    for col in ("順位", "候補", "所在地", "スコア", "理由"):
        table.add_column(col)
    for c in p["candidates"]:
        if "org" in c:
            name, city = c["org"]["name"], c["org"]["city"] or ""
        else:
            name, city = c["seed"]["title"], c["seed"].get("institution") or "KAKEN"
        table.add_row(str(c["rank"]), name, city, f"{c['score']:.3f}", c["reason"])
    out.print(table)
    if p.get("excluded"):
        out.print(f"除外 {len(p['excluded'])} 件: " + "、".join(f"{e['name']}（{e['reason']}）" for e in p["excluded"][:5]))


@app.command("shortlist")
def shortlist_cmd(
    need: Annotated[str | None, typer.Option(help="案件ID or id")] = None,
    seed: Annotated[str | None, typer.Option(help="シーズID or id: companies for a research seed")] = None,
    org: Annotated[str | None, typer.Option(help="企業ID or id: partners for a company without a need")] = None,
    all_needs: Annotated[bool, typer.Option("--all-needs", help="every open need, with exposure caps")] = False,
    kind: Annotated[ShortlistKindOpt, typer.Option()] = ShortlistKindOpt.partners,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="candidates per list")] = 10,
    cap: Annotated[int | None, typer.Option(help="exposure cap per organisation in --all-needs")] = None,
    store: Annotated[bool, typer.Option("--store/--no-store", help="record the shortlist as suggestions")] = True,
    as_json: JsonOpt = False,
) -> None:
    """候補リスト / ranked partners and research seeds with reasons."""
    from matcher import views
    from matcher.services import shortlists as sl

    if sum(x is not None for x in (need, seed, org)) + int(all_needs) != 1:
        fail("--need / --seed / --org / --all-needs のどれか一つを指定してください / give exactly one of them")
    ctx = _context()
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

    result = why_not_out(why_not(_context(), need, org, k))
    emit(result, as_json, lambda p: out.print(f"{p['name']}: {p['status']} — {p['reason']}"))


@app.command("decide")
def decide_cmd(
    suggestion_id: Annotated[int, typer.Argument(help="提案ID")],
    verdict: Annotated[str, typer.Argument(help="accept | reject | skip (承認 / 却下 / 保留)")],
    reason: Annotated[str | None, typer.Option(help="工程が合わない, 距離, 規模, 既存取引あり, 競合, その他 (or the code)")] = None,
    by: Annotated[str | None, typer.Option(help="coordinator")] = None,
    as_json: JsonOpt = False,
) -> None:
    """提案を承認・却下する / record a coordinator's decision (append-only)."""
    from matcher.learn.decisions import record_decision

    dec = record_decision(_engine(), suggestion_id, verdict, reason, by)
    payload = {"decision_id": dec.id, "suggestion_id": dec.suggestion_id, "verdict": dec.verdict,
               "reason": dec.reason, "coordinator": dec.coordinator, "decided_at": dec.decided_at.isoformat()}
    emit(payload, as_json, lambda p: out.print(f"記録しました: 提案 {p['suggestion_id']} → {p['verdict']}"))


@feedback_app.command("import")
def feedback_import_cmd(
    file: Annotated[Path, typer.Argument(help="CSV/XLSX: suggestion_id, verdict, reason, coordinator, decided_at")],
    strict: Annotated[bool, typer.Option("--strict")] = False,
    as_json: JsonOpt = False,
) -> None:
    """判定を一括で取り込む / import decisions in bulk (row-level errors as for ingest)."""
    from matcher.learn.decisions import import_feedback

    report = import_feedback(_engine(), file, strict)
    emit(report.as_json(), as_json, lambda p: out.print(
        f"取り込み {p['inserted']} 件、エラー {len(p['rejected'])} 件" +
        "".join(f"\n  {e['row']} 行目 {e['field']}: {e['message']}" for e in p["rejected"][:30])))
    if report.rejected:
        raise typer.Exit(1)


@app.command("train")
def train_cmd(as_json: JsonOpt = False) -> None:
    """判定から新しいランカーを学習し、昇格判定を行う / train a ranker version and run the gate."""
    from matcher.learn.training import train

    result = train(_engine(), get_settings())
    emit(result, as_json, lambda p: out.print(json.dumps(p, ensure_ascii=False, indent=2, default=str)))


@models_app.command("list")
def models_list_cmd(as_json: JsonOpt = False) -> None:
    """版の一覧 / list ranker versions."""
    from matcher.learn.training import list_versions

    rows = list_versions(_engine())

    def render(p: dict) -> None:
        table = Table(title="ランカーの版 / ranker versions")
        for col in ("版", "種類", "状態", "判定数", "hold-out nDCG@10", "AUC", "備考"):
            table.add_column(col)
        for r in p["versions"]:
            cand = r["metrics"].get("candidate", {})
            table.add_row(r["version"], r["kind"], r["status"], str(r["events_used"]), str(cand.get("ndcg@10", "")),
                          str(cand.get("auc", "")), (r["note"] or "")[:60])
        out.print(table)

    emit({"versions": rows}, as_json, render)


@models_app.command("promote")
def models_promote_cmd(version: str, by: Annotated[str | None, typer.Option()] = None, as_json: JsonOpt = False) -> None:
    """版を有効にする / make a version active (logged)."""
    from matcher.learn.training import promote_version

    emit(promote_version(_engine(), version, by), as_json, lambda p: out.print(f"有効: {p['active']}（前: {p['previous']}）"))


@models_app.command("rollback")
def models_rollback_cmd(by: Annotated[str | None, typer.Option()] = None, as_json: JsonOpt = False) -> None:
    """一つ前の版に戻す / re-activate the previously active version (logged)."""
    from matcher.learn.training import rollback

    emit(rollback(_engine(), by), as_json, lambda p: out.print(f"有効: {p['active']}（戻した版: {p['previous']}）"))


@app.command("explain")
def explain_cmd(suggestion_id: int, as_json: JsonOpt = False) -> None:
    """提案スコアの内訳 / each feature's contribution to a suggestion's score."""
    from matcher.learn.training import explain_suggestion

    result = explain_suggestion(_engine(), suggestion_id)

    def render(p: dict) -> None:
        out.print(f"提案 {p['suggestion_id']}（{p['model_version']}、{p['rank']} 位、スコア {p['score']:.3f}）: {p['reason']}")
        table = Table()
        for col in ("特徴量", "値", "寄与"):
            table.add_column(col)
        for c in p["contributions"]:
            table.add_row(c["feature"], f"{c['value']:.4g}", f"{c['contribution']:+.4f}")
        out.print(table)

    emit(result, as_json, render)


@app.command("demo")
def demo_cmd(as_json: JsonOpt = False) -> None:
    """デモ: 同梱データの取り込み・索引作成 / ingest the shipped corpora and build the indexes."""
    import time

    from matcher.services.demo import load_demo

    started = time.perf_counter()
    settings = get_settings()
    engine = _engine()
    embedder = _embedder()
    with progress_bar("埋め込み・索引 / embedding + indexing", None) as bar:
        report = load_demo(engine, settings, embedder, progress=bar, on_total=bar.set_total)
    payload = report.as_json()
    from matcher.services.context import load_context
    from matcher.services.demo import DEMO_NEEDS
    from matcher.services.shortlists import shortlist_need
    from matcher.views import as_json as view_json
    from matcher.views import shortlist_out

    ctx = load_context(engine, settings, embedder)
    payload["shortlists"] = [view_json(shortlist_out(shortlist_need(ctx, ref, "all", 5))) for ref in DEMO_NEEDS]
    from matcher.services.demo import ensure_demo_users

    payload["login"] = ensure_demo_users(engine)
    payload["data_dir"] = str(settings.data_dir)
    payload["seconds"] = round(time.perf_counter() - started, 1)
    payload["next"] = {"serve": "matcher serve --host 127.0.0.1 --port 8000",
                       "shortlist": "matcher shortlist --need HN001"}

    def render(p: dict) -> None:
        table = Table(title="取り込み / ingest")
        for col in ("ファイル", "新規", "更新", "変更なし", "エラー"):
            table.add_column(col)
        for r in p["ingest"]:
            table.add_row(Path(r["file"]).name, str(r["inserted"]), str(r["updated"]), str(r["unchanged"]),
                          str(len(r["rejected"])))
        out.print(table)
        ix = p["index"]
        for one in p["shortlists"]:
            render_shortlist(one)
        out.print(f"\n文書 {ix['documents']} 件、索引更新 {ix['indexed']} 件、新たに埋め込み {ix['embedded']} 件"
                  f"（{p['seconds']} 秒）。データ: {p['data_dir']}")
        lg = p["login"]
        out.print(f"デモ用コーディネーター: {lg['coordinator']['email']} / パスワード {lg['coordinator']['password']}"
                  f"（管理者: {lg['admin']['email']} / {lg['admin']['password']}）")
        out.print("次の操作: 候補リスト `matcher shortlist --need HN001`、全案件の一括提案 "
                  "`matcher shortlist --all-needs`、Web サービスの起動 `matcher serve --host 127.0.0.1 --port 8000`"
                  "（ブラウザで http://127.0.0.1:8000/ を開く）")

    emit(payload, as_json, render)


groups_app = typer.Typer(help="共同受注グループ / joint-order groups", invoke_without_command=True)
app.add_typer(groups_app, name="groups")


class SolveFormat(StrEnum):
    orlib = "orlib"


@groups_app.callback()
def groups_cmd(
    ctx: typer.Context,
    need: Annotated[str | None, typer.Option(help="案件ID or id")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=10, help="how many distinct groups")] = 3,
    max_size: Annotated[int, typer.Option("--max-size", min=1, max=10)] = 5,
    seconds: Annotated[float, typer.Option(min=0.1, max=600)] = 10.0,
    store: Annotated[bool, typer.Option("--store/--no-store")] = True,
    as_json: JsonOpt = False,
) -> None:
    """必要工程をすべて担える企業の組み合わせ（最適化） / the k best groups covering a need's processes."""
    if ctx.invoked_subcommand is not None:
        return
    if need is None:
        fail("--need を指定してください / give --need (or use `matcher groups solve FILE`)")
    from matcher import views
    from matcher.services.groups import propose_groups

    result = views.groups_out(propose_groups(_context(), need, k, max_size, seconds, store))

    def render(p: dict) -> None:
        out.print(f"\n[bold]{p['need']['external_id']} {p['need']['title']}[/bold]　必要工程: {'・'.join(p['need']['required_capabilities'])}")
        for g in p["groups"]:
            state = "最適" if g["status"] == "optimal" else f"暫定（gap {g['gap']:.3f}）"
            out.print(f"\n{g['rank']}. スコア {g['score']:.3f}（{state}）")
            for m in g["members"]:
                out.print(f"  {'幹事' if m['role'] == 'lead' else '　　'} {m['org']['name']}（{m['org']['city'] or ''}）: {'・'.join(m['covers'])}")
            out.print(f"  {g['explanation']}")
        if p["infeasible"]:
            out.print(f"\n対応できる企業が候補にない工程: {'・'.join(p['infeasible']['uncovered'])}")
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
    from matcher.solve.setcover import read_orlib, solve_set_cover

    result = solve_set_cover(read_orlib(file), seconds).as_json()
    emit(result, as_json, lambda p: out.print(f"cost {p['cost']}（{p['status']}、{p['seconds']} 秒）列: {p['columns']}"))


sig_app = typer.Typer(help="研究会（SIG）の提案 / study-group proposals", no_args_is_help=True)
app.add_typer(sig_app, name="sig")


@sig_app.command("propose")
def sig_propose_cmd(seed: Annotated[int, typer.Option()] = 0, as_json: JsonOpt = False) -> None:
    """テーマの近い企業・研究シーズを研究会にまとめる / cluster firms and seeds into themed study groups."""
    from matcher import views
    from matcher.services.sig import propose_sigs

    result = views.sigs_out(propose_sigs(_context(), seed=seed))

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


capabilities_app = typer.Typer(help="能力（業種コード）の推定 / inferred capabilities", no_args_is_help=True)
app.add_typer(capabilities_app, name="capabilities")


@capabilities_app.command("infer")
def capabilities_infer_cmd(as_json: JsonOpt = False) -> None:
    """技術紹介の文から業種コードを推定（確信度と根拠の文つき） / infer JSIC codes from profile sentences."""
    from matcher.services.capabilities import infer_capabilities
    from matcher.text.taxonomy import jsic_name

    found = infer_capabilities(_engine(), _embedder())
    payload = {"inferred": [{"org_id": i.org_id, "code": i.code, "name": jsic_name(i.code), "confidence": i.confidence,
                             "evidence": i.evidence} for i in found]}
    emit(payload, as_json, lambda p: out.print(f"{len(p['inferred'])} 件の能力を推定しました"))


seat_app = typer.Typer(help="産業人フォーラムの席順 / forum seating", no_args_is_help=True)
app.add_typer(seat_app, name="seat")


@seat_app.command("solve")
def seat_solve_cmd(
    file: Annotated[Path, typer.Argument(help="instance JSON: rounds, tables, participants, affinity, conflicts, fixed")],
    seconds: Annotated[float, typer.Option(min=0.1, max=3600)] = 30.0,
    seed: Annotated[int, typer.Option()] = 0,
    as_json: JsonOpt = False,
) -> None:
    """席順を最適化（タブー探索） / seat participants over rounds so the right people meet."""
    from matcher.solve.seating import read_instance, solve_seating

    inst = read_instance(file)
    result = solve_seating(inst, seconds, seed).as_json(inst)
    emit(result, as_json, lambda p: out.print(f"目的関数 {p['objective']}（上界 {p['upper_bound']}、違反 {p['violations']}、"
                                              f"{p['seconds']} 秒）"))


forum_app = typer.Typer(help="産業人フォーラム（参加者・席順・座席表） / industry forum events", no_args_is_help=True)
app.add_typer(forum_app, name="forum")
EventOpt = Annotated[str, typer.Option("--event", help="フォーラムの ID または名称 / event id or name")]


@forum_app.command("import")
def forum_import_cmd(
    file: Annotated[Path, typer.Argument(help="参加者名簿 CSV/XLSX（氏名, 企業ID, 参加区分, 会いたい相手, 同席不可, ホスト卓）")],
    event: Annotated[str, typer.Option("--event", help="フォーラム名（なければ作成） / event name (created if new)")],
    as_json: JsonOpt = False,
) -> None:
    """参加者名簿を取り込む（行ごとのエラーつき） / import the participant list of a forum."""
    from matcher.services.forum import import_participants

    report = import_participants(_engine(), file, event, actor="cli").as_json()
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
    """席順を作成して保存 / seat the event's participants (tabu search) and store the chart."""
    from matcher.services.forum import reseat_event, seat_event

    ctx = _context()
    if keep:
        result = reseat_event(ctx, event, seed)
    else:
        with _seat_progress("席順 / seating") as update:
            result = seat_event(ctx, event, rounds, table_size, seconds, seed, progress=update)
    emit(result.as_json(), as_json, lambda p: out.print(
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

    result = cancel(_context(), event, participant, actor="cli")
    emit(result.as_json(), as_json, lambda p: out.print(
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

    chart = forum_chart(_engine(), event)
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

    engine = _engine()
    events = [{"id": e.id, "name": e.name, "state": e.state, "participants": len(participants(engine, e.id)),
               "tables": e.tables, "rounds": e.rounds, "objective": e.objective, "upper_bound": e.upper_bound}
              for e in list_events(engine)]
    emit({"events": events}, as_json, lambda p: [out.print(f"{e['id']}: {e['name']}（{e['state']}、参加者 {e['participants']} 名）")
                                                  for e in p["events"]])


digest_app = typer.Typer(help="企業へのメール配信 / email digests to companies", no_args_is_help=True)
app.add_typer(digest_app, name="digest")


@digest_app.command("send")
def digest_send_cmd(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="送らずに内容を確認（--out に .eml を書く）")] = False,
    org: Annotated[str | None, typer.Option("--org", help="この企業だけ（ID または企業ID）")] = None,
    suggest: Annotated[bool, typer.Option("--suggest", help="自社のおすすめ連携先（スコアが基準以上）も載せる")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="--dry-run の .eml を書くフォルダ")] = None,
    as_json: JsonOpt = False,
) -> None:
    """新しいご紹介をメールで送る（送信済みは二度送らない・失敗分は次回に再送） / send the email digests."""
    from matcher.services.digests import send_digests, suggested_collaborators

    settings, engine = get_settings(), _engine()
    org_id = None
    if org is not None:
        from sqlmodel import select

        from matcher.store.db import session_scope
        from matcher.store.tables import Organization

        with session_scope(engine) as s:
            row = s.exec(select(Organization).where((Organization.external_id == org) | (
                Organization.id == (int(org) if org.isdigit() else -1)))).first()
        if row is None:
            from matcher.errors import NotFound

            raise NotFound(f"企業「{org}」が見つかりません", f"no organisation {org!r}")
        org_id = row.id
    suggester = None
    if suggest:
        ctx = _context()
        suggester = lambda orgs: suggested_collaborators(ctx, orgs, settings.digest_min_score)  # noqa: E731
    run = send_digests(engine, settings, dry_run=dry_run, org_id=org_id, suggest=suggester)
    payload = run.as_json()
    if dry_run:
        target = out_dir or settings.data_dir / "outbox-preview"
        target.mkdir(parents=True, exist_ok=True)
        for name, data in run.previews:
            (target / name).write_bytes(data)
        payload["preview_dir"] = str(target)
    for note in run.notes:
        err.print(note)
    emit(payload, as_json, lambda p: out.print(f"送信 {p['sent']} 通・失敗 {p['failed']} 通・対象外 {p['skipped']} 通"
                                               + (f"（プレビュー {len(run.previews)} 通: {p['preview_dir']}）" if dry_run else "")))


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

    report = kpi_report(_engine(), fy, period)
    payload = report.as_json()
    if xlsx is not None:
        xlsx.write_bytes(workbook_bytes(kpi_sheets(report)))
        payload["xlsx"] = str(xlsx)
    emit(payload, as_json, lambda p: [out.print(
        f"{y['fy']}年度: 提案 {y['suggestions']}・承認 {y['accepted']}・却下 {y['rejected']}・"
        f"興味あり {y['company_interested']}・メール {y['digests_sent']}") for y in p["years"]])


@kpi_app.command("import-outcomes")
def kpi_import_outcomes_cmd(
    file: Annotated[Path, typer.Argument(help="年度, 事業所数, 付加価値額（百万円）, 一人当たり付加価値額（万円）, 出典")],
    as_json: JsonOpt = False,
) -> None:
    """成果指標（公的統計）を年度ごとに取り込む / import outcome indicators per fiscal year."""
    from matcher.services.kpi import import_outcomes

    report = import_outcomes(_engine(), file, actor="cli").as_json()
    emit(report, as_json, lambda p: (out.print(f"追加 {p['inserted']} 年度・更新 {p['updated']} 年度・エラー {p['rejected_count']} 行"),
                                     [err.print(f"  {e['file']} {e['row']} 行目 [{e['field']}] {e['message_ja']}")
                                      for e in p["rejected"]]))


index_app = typer.Typer(help="索引 / indexes", no_args_is_help=True)
app.add_typer(index_app, name="index")


@index_app.command("sync")
def index_sync_cmd(as_json: JsonOpt = False) -> None:
    """保存済みで未索引の文書をすべて索引に入れる（中断からの復旧にも） / index everything stale."""
    payload = _sync_index(_engine())
    emit(payload, as_json, lambda p: out.print(f"文書 {p['documents']} 件、索引更新 {p['indexed']} 件、"
                                               f"削除 {p['removed']} 件、新たに埋め込み {p['embedded']} 件"))


@index_app.command("status")
def index_status_cmd(as_json: JsonOpt = False) -> None:
    """索引更新ジョブの状態 / the latest indexing job."""
    from matcher.services.jobs import IndexJobs

    payload = IndexJobs(_engine(), get_settings(), _embedder).status().as_json()
    emit(payload, as_json, lambda p: out.print(f"{p['state']} {p['done']}/{p['total']}（未索引 {p['stale_documents']} 件）"))


@app.command("worker")
def worker_cmd(burst: Annotated[bool, typer.Option("--burst", help="stop when the queue is empty")] = False) -> None:
    """索引・席順ジョブのワーカー（MATCHER_REDIS_URL の RQ キュー） / run an RQ worker for indexing and seating jobs."""
    from matcher.errors import NotReady

    settings = get_settings()
    if not settings.redis_url:
        raise NotReady("MATCHER_REDIS_URL が未設定です（Redis なしではサービス内で索引を更新します）",
                       "MATCHER_REDIS_URL is not set (without Redis the service indexes in-process)")
    from redis import Redis
    from rq import Worker

    from matcher.infra.jobs import QUEUE

    _engine()
    Worker([QUEUE], connection=Redis.from_url(settings.redis_url)).work(burst=burst)


users_app = typer.Typer(help="利用者 / users", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("create")
def users_create_cmd(
    email: str,
    role: Annotated[RoleOpt, typer.Option()],
    org: Annotated[str | None, typer.Option(help="企業ID (company users)")] = None,
    password: Annotated[str | None, typer.Option(help="default: a generated one, printed once")] = None,
    as_json: JsonOpt = False,
) -> None:
    """利用者を作成 / create a user (password hashed with Argon2id)."""
    import secrets

    from matcher.services.auth import create_user

    generated = password is None
    password = password or secrets.token_urlsafe(12)
    user = create_user(_engine(), email, role.value, password, org, actor="cli")
    payload = {"id": user.id, "email": user.email, "role": user.role, "org_id": user.org_id,
               "password": password if generated else None}
    emit(payload, as_json, lambda p: out.print(f"作成しました: {p['email']}（{p['role']}）"
                                              + (f" 初期パスワード: {p['password']}" if p["password"] else "")))


@users_app.command("revoke")
def users_revoke_cmd(email: str, as_json: JsonOpt = False) -> None:
    """利用者のセッションをすべて失効 / revoke every session of a user."""
    from matcher.services.auth import find_user, revoke_sessions

    engine = _engine()
    n = revoke_sessions(engine, find_user(engine, email).id, actor="cli")
    emit({"email": email, "revoked_sessions": n}, as_json, lambda p: out.print(f"{p['revoked_sessions']} 件のセッションを失効しました"))


@users_app.command("password")
def users_password_cmd(
    email: str,
    password: Annotated[str | None, typer.Option(help="default: a generated one, printed once")] = None,
    as_json: JsonOpt = False,
) -> None:
    """パスワードを再設定（セッションはすべて失効） / reset a password; every session is revoked."""
    import secrets

    from matcher.services.auth import find_user, set_password

    engine = _engine()
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    n = set_password(engine, find_user(engine, email).id, password, actor="cli")
    emit({"email": email, "revoked_sessions": n, "password": password if generated else None}, as_json,
         lambda p: out.print(f"再設定しました（失効 {p['revoked_sessions']} 件）"
                             + (f" 新しいパスワード: {p['password']}" if p["password"] else "")))


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int | None, typer.Option(min=1, max=32, help="default: 2 on PostgreSQL, 1 on SQLite")] = None,
) -> None:
    """Web サービスを起動 / start the web service (FastAPI + uvicorn)."""
    import uvicorn

    settings = get_settings()
    _engine()
    on_postgres = settings.sqlalchemy_url.startswith("postgresql")
    workers = workers or (2 if on_postgres else 1)
    if workers > 1 and not on_postgres:
        raise MatcherError("複数ワーカーは PostgreSQL で使ってください（SQLite は 1 ワーカー）",
                           "several workers need PostgreSQL (MATCHER_DATABASE_URL); SQLite serves one")
    if workers > 1 and not settings.redis_url:
        err.print("[yellow]注意:[/yellow] MATCHER_REDIS_URL が未設定のため、ログイン試行の制限はワーカーごとに数えられます "
                  "/ without MATCHER_REDIS_URL each worker counts login attempts on its own")
    if workers > 1 and not settings.threads:
        # Each worker gets its share of the cores for the embedder, instead of all of them each.
        import os

        os.environ["MATCHER_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
    err.print(f"http://{host}:{port}/ で起動します（API 文書: /docs、ワーカー {workers}）")
    # By import string: the engine does not import the web layer, and the same string is what
    # uvicorn needs to start several worker processes. X-Forwarded-* are believed only from
    # MATCHER_TRUSTED_PROXIES, inside the app, never by uvicorn.
    uvicorn.run("api.app:app_factory", factory=True, host=host, port=port, log_level="info", proxy_headers=False,
                workers=workers)


def main() -> None:
    """Entry point: domain errors become one clear line and exit code 2; anything else is a bug
    and raises with its traceback."""
    try:
        app()
    except MatcherError as exc:
        from rich.markup import escape

        # The message is data (it may quote "[id_a, id_b, 整数]" or a file's text): never markup.
        err.print(f"[red]エラー / error:[/red] {escape(str(exc))}", markup=True, highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
