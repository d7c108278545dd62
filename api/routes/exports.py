"""Exports of the whole store (XLSX / CSV)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import Response

from api.deps import Staff, State
from api.routes.common import (
    api_router,
)
from api.security import attachment

api = api_router()


@api.get("/export", tags=["export"], response_class=Response, responses={200: {"content": {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}, "text/csv": {}},
    "description": "XLSX または CSV / the workbook or one CSV table"}})
def export(user: Staff, st: State, format: Annotated[str, Query(pattern="^(xlsx|csv)$")] = "xlsx",
           table: Annotated[str, Query(pattern="^(organizations|needs|suggestions)$")] = "organizations"):
    """XLSX（全シート）または CSV（UTF-8 BOM、1表） / XLSX workbook or one CSV table."""
    from fastapi.responses import StreamingResponse

    from matcher.views.sheets import csv_lines, xlsx_bytes

    # Built in memory and streamed: nothing is left in the data directory.
    if format == "xlsx":
        return Response(xlsx_bytes(st.engine), headers={"Content-Disposition": attachment("matcher-export.xlsx")},
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return StreamingResponse(csv_lines(st.engine, table), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": attachment(f"{table}.csv")})
