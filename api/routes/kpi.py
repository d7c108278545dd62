"""進行管理 (KPI): a chart per indicator and the Excel a city office pastes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import State
from api.routes.common import (
    OptionalUser,
    page_user,
    render,
    xlsx_response,
)
from matcher.labels import HALF_JA, METRIC_JA, OUTCOME_JA, PERIOD_JA
from matcher.services import kpi
from matcher.views import as_json
from matcher.views.kpi import kpi_report_out

pages = APIRouter(include_in_schema=False)


STAFF = ("admin", "coordinator")


CHARTED = ("suggestions", "accepted", "rejected", "company_interested", "research_matches", "groups_accepted",
           "forum_meetings", "digests_sent")


def _filters(fy: str, period: str) -> tuple[int | None, int | None]:
    return (int(fy) if fy.isdigit() else None), (int(period) if period in ("1", "2", "3") else None)


@pages.get("/kpi", response_class=HTMLResponse)
def kpi_page(request: Request, st: State, user: OptionalUser, fy: str = "", period: str = "") -> Response:
    user = page_user(request, user, *STAFF)
    year, per = _filters(fy, period)
    report = as_json(kpi_report_out(kpi.kpi_report(st.engine, year, per)))
    charts = [(METRIC_JA[m], [(f"{h['fy']}{HALF_JA[h['half']]}", h[m]) for h in report["halves"]])
              for m in CHARTED]
    outcome_charts = [(label, [(f"{y['fy']}年度", (y["outcomes"] or {}).get(k)) for y in report["years"]])
                      for k, label in OUTCOME_JA.items()]
    return render(request, st, "kpi.html", user, report=report, charts=charts, outcome_charts=outcome_charts,
                  metric_ja=METRIC_JA, half_ja=HALF_JA, periods=PERIOD_JA, fy=fy, period=period,
                  outcome_ja=OUTCOME_JA)


@pages.get("/kpi.xlsx")
def kpi_xlsx(request: Request, st: State, user: OptionalUser, fy: str = "", period: str = "") -> Response:
    from matcher.views.sheets import workbook_bytes

    page_user(request, user, *STAFF)
    year, per = _filters(fy, period)
    return xlsx_response(workbook_bytes(kpi.kpi_sheets(kpi.kpi_report(st.engine, year, per))), "kpi.xlsx")
