"""The one shape of an import report, for every kind of file (CLI ``--json``, the API, the page
and the JSON report written beside the CSV of rejected rows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from matcher.exchange.ingest import RowError
from matcher.exchange.pipeline import INLINE_ERRORS, ImportReport
from matcher.services.forum.events import ParticipantImport
from matcher.views.common import as_json


class RowErrorOut(BaseModel):
    file: str
    row: int
    field: str
    message: str
    message_ja: str
    message_en: str


class IndexQueuedOut(BaseModel):
    status: str
    job_id: int
    message: str


class ImportReportOut(BaseModel):
    file: str
    kind: str
    encoding: str
    format: str
    inserted: int
    updated: int
    unchanged: int
    rejected: list[RowErrorOut]  # field errors, at most ``INLINE_ERRORS`` (the CSV has them all)
    rejected_count: int  # rejected rows, each counted once whatever its number of bad fields
    error_count: int  # field errors in all
    stored: bool
    strict: bool
    report: str | None
    rejects_file: str | None
    rejects_url: str | None = None
    index: IndexQueuedOut | None = None
    event_id: int | None = None  # forum participants: the event they were registered for
    event: str | None = None


def row_error_out(e: RowError) -> RowErrorOut:
    return RowErrorOut(file=e.file, row=e.row, field=e.field, message=e.message, message_ja=e.message_ja,
                       message_en=e.message_en)


def import_report_out(report: ImportReport, inline_limit: int | None = INLINE_ERRORS,
                      paths: bool = True) -> ImportReportOut:
    """``paths=False`` names the report files without the server's directories (what the web
    service shows)."""
    errors = report.errors
    shown = errors if inline_limit is None else errors[:inline_limit]

    def name(p: str | None) -> str | None:
        return p if paths or p is None else Path(p).name

    out = ImportReportOut(file=report.file, kind=report.kind, encoding=report.encoding, format=report.format,
                          inserted=report.inserted, updated=report.updated, unchanged=report.unchanged,
                          rejected=[row_error_out(e) for e in shown], rejected_count=len(report.rejected),
                          error_count=len(errors), stored=report.stored, strict=report.strict,
                          report=name(report.report_path), rejects_file=name(report.rejects_path))
    if isinstance(report, ParticipantImport):
        out.event_id, out.event = report.event_id, report.event
    return out


def import_json(report: ImportReport, inline_limit: int | None = INLINE_ERRORS, paths: bool = True) -> dict[str, Any]:
    """What an edge shows of an import."""
    return as_json(import_report_out(report, inline_limit, paths))
