"""Export to what coordinators open: XLSX, or CSV in UTF-8 with BOM (Excel reads it correctly).

Organisation and need sheets use the import headers, so an exported file can be edited and
imported again (re-import of an unedited export changes nothing).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine
from sqlmodel import select

from matcher.exchange.spec import NeedRow, OrganizationRow, organization_values, yes_no
from matcher.labels import NEED_STATUS_JA as STATUS_JA
from matcher.labels import SHEET_JA
from matcher.store.db import session_scope
from matcher.store.tables import Document, Need, Organization, Suggestion, split_list
from matcher.text import strip_invisible

# The first (Japanese) header of each field in the import format, so an export re-imports as is.
ORG_HEADERS = [f.headers[0] for f in OrganizationRow.FIELDS]
NEED_HEADERS = [f.headers[0] for f in NeedRow.FIELDS]
SUGGESTION_HEADERS = ["提案ID", "実行ID", "照会種別", "照会ID", "候補種別", "候補ID", "候補名", "順位", "スコア",
                      "モデル版", "理由", "作成日時"]


def tables(engine: Engine) -> dict[str, tuple[list[str], list[list[Any]]]]:
    with session_scope(engine) as s:
        orgs = s.exec(select(Organization).where(Organization.deleted_at.is_(None)).order_by(Organization.external_id)).all()
        docs: dict[int, dict[str, str]] = {}
        for d in s.exec(select(Document).where(Document.owner_type == "organization")):
            docs.setdefault(d.owner_id, {})[d.kind] = d.text
        ext = {o.id: o.external_id for o in orgs}
        names = {o.id: o.name for o in orgs}
        org_rows = [list(organization_values(o, docs.get(o.id, {})).values()) for o in orgs]
        needs = s.exec(select(Need).order_by(Need.external_id)).all()
        need_rows = [[n.external_id, ext.get(n.org_id, ""), n.title, n.text, ";".join(split_list(n.required_processes)),
                      STATUS_JA.get(n.status, n.status), "公開" if n.public else "非公開", yes_no(n.fictional)]
                     for n in needs]
        sugg = s.exec(select(Suggestion).order_by(Suggestion.id)).all()
        sugg_rows = [[g.id, g.run_id, g.query_type, g.query_id, g.candidate_type, g.candidate_id,
                      names.get(g.candidate_id, "") if g.candidate_type == "organization" else "",
                      g.rank, round(g.score, 6), g.model_version, g.explanation, g.created_at.isoformat()]
                     for g in sugg]
    return {"organizations": (ORG_HEADERS, org_rows), "needs": (NEED_HEADERS, need_rows),
            "suggestions": (SUGGESTION_HEADERS, sugg_rows)}


# A cell a spreadsheet would run as a formula (OWASP "CSV injection"): =, +, -, @, tab, CR.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(v: Any) -> Any:
    """CSV has no cell types: a text that could run as a formula gets a leading ' (Excel's own
    text marker; the importer takes it off again, so an export still re-imports unchanged). Every
    Unicode line break becomes LF and control characters go, so a cell can only break a line
    inside its quotes (the csv writer quotes any cell with an LF)."""
    if v is None:
        return ""
    if isinstance(v, str):
        v = strip_invisible(v)
        return "'" + v if v.startswith(FORMULA_START) else v
    return v


def workbook_bytes(sheets: dict[str, tuple[list[str], list[list[Any]]]]) -> bytes:
    """A workbook built in memory, a sheet per entry: every text cell is typed as text, never as
    a formula (openpyxl would make "=…" a formula)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    for name, (headers, rows) in sheets.items():
        ws = wb.create_sheet(name)
        ws.append(headers)
        for r in rows:
            cells = []
            for v in r:
                cell = WriteOnlyCell(ws, value="" if v is None else v)
                if isinstance(v, str):
                    cell.data_type = "s"
                cells.append(cell)
            ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xlsx_bytes(engine: Engine) -> bytes:
    """The whole export: organisations, needs and suggestions, a sheet each."""
    return workbook_bytes({SHEET_JA[key]: table for key, table in tables(engine).items()})


def table_xlsx(sheet: str, headers: list[str], rows: list[list[Any]]) -> bytes:
    """One sheet, for the desk's download buttons."""
    return workbook_bytes({sheet: (headers, rows)})


def csv_lines(engine: Engine, table: str, encoding: str = "utf-8-sig") -> Iterator[bytes]:
    """One table as CSV, a line at a time (for streaming responses)."""
    headers, rows = tables(engine)[table]
    buf = io.StringIO()
    writer = csv.writer(buf)
    for i, row in enumerate([headers, *rows]):
        writer.writerow([csv_cell(v) for v in row])
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        yield text.encode("utf-8-sig" if i == 0 and encoding == "utf-8-sig" else encoding.replace("-sig", ""),
                          errors="replace")


@dataclass(frozen=True, kw_only=True)
class ExportResult:
    format: str
    files: list[str]  # what was written
    rows: dict[str, int]  # rows per table


def export(engine: Engine, out: Path, fmt: Literal["xlsx", "csv"], encoding: str = "utf-8-sig") -> ExportResult:
    """Write the tables; XLSX: one workbook with a sheet each; CSV: a folder with a file each."""
    written: list[str] = []
    if fmt == "xlsx":
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(xlsx_bytes(engine))
        written.append(str(out))
    else:
        out.mkdir(parents=True, exist_ok=True)
        for key in SHEET_JA:
            path = out / f"{key}.csv"
            with path.open("wb") as fh:
                for line in csv_lines(engine, key, encoding):
                    fh.write(line)
            written.append(str(path))
    counts = {k: len(v[1]) for k, v in tables(engine).items()}
    return ExportResult(format=fmt, files=written, rows=counts)
