"""The KPI report (進行管理) as JSON: the CLI's ``--json`` and the page's figures."""

from __future__ import annotations

from pydantic import BaseModel

from matcher.labels import OUTCOME_JA, PERIOD_JA
from matcher.services.kpi import METRICS, KpiReport, KpiRow, period_of


class KpiTotalsOut(BaseModel):
    suggestions: int
    accepted: int
    rejected: int
    company_interested: int
    company_declined: int
    research_matches: int
    groups_accepted: int
    forum_participants: int
    forum_meetings: int
    digests_sent: int
    links_opened: int
    acceptance_rate: float | None


class KpiRowOut(KpiTotalsOut):
    fy: int
    half: int | None
    quarter: int | None


class OutcomesOut(BaseModel):
    establishments: int | None
    value_added: int | None
    value_added_per_worker: float | None


class KpiYearOut(KpiRowOut):
    plan_period: int | None
    outcomes: OutcomesOut | None


class KpiReportOut(BaseModel):
    period: int | None
    period_label: str | None
    fy: int | None
    rows: list[KpiRowOut]
    halves: list[KpiRowOut]
    years: list[KpiYearOut]
    totals: KpiTotalsOut
    xlsx: str | None = None


def _counts(row: KpiRow) -> dict[str, int | float | None]:
    return {**{m: row.counts[m] for m in METRICS}, "acceptance_rate": row.acceptance_rate}


def kpi_row_out(row: KpiRow) -> KpiRowOut:
    return KpiRowOut(fy=row.fy, half=row.half, quarter=row.quarter, **_counts(row))


def kpi_report_out(report: KpiReport) -> KpiReportOut:
    years = []
    for row in report.years:
        o = report.outcomes.get(row.fy)
        outcomes = OutcomesOut(**{k: getattr(o, k) for k in OUTCOME_JA}) if o else None
        years.append(KpiYearOut(fy=row.fy, half=row.half, quarter=row.quarter, plan_period=period_of(row.fy),
                                outcomes=outcomes, **_counts(row)))
    return KpiReportOut(period=report.period, period_label=PERIOD_JA.get(report.period or 0), fy=report.fy,
                        rows=[kpi_row_out(r) for r in report.quarters], halves=[kpi_row_out(r) for r in report.halves],
                        years=years, totals=KpiTotalsOut(**_counts(report.totals())))
