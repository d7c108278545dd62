"""進行管理: fiscal calendar, counts per quarter / half / year / plan period, outcome import, page, Excel."""

from __future__ import annotations

from datetime import UTC, datetime

from matcher.exchange.catalog import import_file
from matcher.labels import PERIOD_JA
from matcher.services import kpi
from matcher.store.db import session_scope
from matcher.store.tables import Decision, Suggestion
from matcher.views import as_json
from matcher.views.kpi import kpi_report_out


def test_fiscal_year_runs_april_to_march_in_japan():
    assert kpi.fiscal(datetime(2026, 3, 31, 15, 30, tzinfo=UTC)) == (2026, 1, 1)  # 2026-04-01 00:30 JST
    assert kpi.fiscal(datetime(2026, 3, 31, 14, 30, tzinfo=UTC)) == (2025, 2, 4)  # 23:30 JST, still FY2025
    assert kpi.fiscal(datetime(2026, 10, 1, 0, 0, tzinfo=UTC)) == (2026, 2, 3)
    assert kpi.fiscal(datetime(2027, 1, 15, tzinfo=UTC)) == (2026, 2, 4)
    assert [kpi.period_of(y) for y in (2023, 2025, 2026, 2029, 2030, 2032, 2033)] == [1, 1, 2, 2, 3, 3, None]


def test_report_counts_by_quarter_half_year_and_period_beside_outcomes(engine, tmp_path):
    (tmp_path / "orgs.csv").write_text("企業ID,企業名\nK1,計測工業（架空）\nK2,精密加工（架空）\n", encoding="utf-8")
    import_file(engine, tmp_path / "orgs.csv", "organizations")
    when = [datetime(2026, 5, 10, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC),
            datetime(2027, 2, 3, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)]
    with session_scope(engine) as s:
        rows = [Suggestion(run_id="k", query_type="organization", query_id=1, candidate_type="organization" if i != 2
                           else "seed", candidate_id=2, kind="partner", rank=1, score=0.5, model_version="m",
                           created_at=t) for i, t in enumerate(when)]
        s.add_all(rows)
        s.flush()
        ids = [r.id for r in rows]
        verdicts = ["accept", "reject", "accept", "accept", "reject"]
        for sid, t, v in zip(ids, when, verdicts, strict=True):
            s.add(Decision(suggestion_id=sid, verdict=v, coordinator="c", decided_at=t))
        s.add(Decision(suggestion_id=ids[0], kind="company_reply", verdict="interested", decided_at=when[1]))
    report = as_json(kpi_report_out(kpi.kpi_report(engine, period=2)))
    assert report["period"] == 2 and [y["fy"] for y in report["years"]] == [2026, 2027, 2028, 2029]
    fy26 = report["years"][0]
    assert (fy26["suggestions"], fy26["accepted"], fy26["rejected"]) == (4, 3, 1)
    assert fy26["acceptance_rate"] == 0.75 and fy26["research_matches"] == 1 and fy26["company_interested"] == 1
    q = {(r["fy"], r["quarter"]): r for r in report["rows"]}
    assert q[(2026, 1)]["accepted"] == 1 and q[(2026, 2)]["rejected"] == 1 and q[(2026, 4)]["accepted"] == 1
    halves = {(h["fy"], h["half"]): h for h in report["halves"]}
    assert halves[(2026, 1)]["suggestions"] == 2 and halves[(2026, 2)]["suggestions"] == 2
    assert report["totals"]["suggestions"] == 4  # FY2025's one is in 第1期, not here
    assert kpi.kpi_report(engine, fy=2025).totals().counts["rejected"] == 1
    # Outcome indicators beside the activity, per fiscal year.
    (tmp_path / "out.csv").write_bytes("年度,事業所数,付加価値額（百万円）,一人当たり付加価値額（万円）\n"
                                       "令和8年度,1500,320000,870.5\n2026,1,1,1\nFY2027,1480,abc,\n".encode("cp932"))
    imported = kpi.import_outcomes(engine, tmp_path / "out.csv")
    assert imported.inserted == 1 and {(e.row, e.field) for e in imported.errors} == {(3, "fy"), (4, "value_added")}
    report = as_json(kpi_report_out(kpi.kpi_report(engine, period=2)))
    assert report["years"][0]["outcomes"] == {"establishments": 1500, "value_added": 320000,
                                              "value_added_per_worker": 870.5}
    sheets = kpi.kpi_sheets(kpi.kpi_report(engine, period=2))
    assert set(sheets) == {"四半期", "半期", "年度・期"} and sheets["年度・期"][1][0][:2] == ["2026年度", PERIOD_JA[2]]
