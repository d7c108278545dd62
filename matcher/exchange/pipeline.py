"""One import pipeline for every file a coordinator brings: organisations, needs, research
seeds, bulk decisions, forum participants and outcome indicators.

read (CSV in any Japanese encoding, XLSX, JSON; bounded whatever the file claims) → validate
each row with its row model → in-file duplicates (the entity's key repeated) → store the valid
rows in one transaction with one audit row → one ``ImportReport``. A rejected *row* is counted
once, with all its field errors; ``strict`` stores nothing if any row is bad; the rejected rows
go to a CSV beside a JSON report, the newest ``KEEP_REPORTS`` kept. Only *storing* differs by
kind: the caller passes a ``Storer``.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from matcher.exchange.export import csv_cell
from matcher.exchange.ingest import RawRow, Record, RejectedRow, RowError, parse_file
from matcher.store.db import session_scope
from matcher.store.tables import AuditLog

INLINE_ERRORS = 100  # row errors listed in a report or a response; the CSV of rejected rows has all
KEEP_REPORTS = 200  # newest report files kept; older ones are pruned on every import


@dataclass
class ImportReport:
    """What an import did, the same for every kind of file."""

    file: str
    kind: str
    encoding: str = ""
    format: str = ""
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    stored: bool = True
    strict: bool = False
    report_path: str | None = None
    rejects_path: str | None = None
    stamp: str = field(default_factory=lambda: datetime.now().strftime("%Y%m%d-%H%M%S-%f"))  # names its files

    @property
    def errors(self) -> list[RowError]:
        """Every field error, row by row."""
        return [e for r in self.rejected for e in r.errors]

    def add(self, status: str) -> None:
        setattr(self, status, getattr(self, status) + 1)


# store(session, valid records, report): upsert them and count inserted / updated / unchanged.
Storer = Callable[[Session, list[Record], ImportReport], None]


def run_import(engine: Engine, path: Path, kind: str, store: Storer, *, strict: bool = False,
               sheet: str | None = None, name: str | None = None, actor: str | None = None,
               context: dict[str, Any] | None = None, defaults: dict[str, Any] | None = None,
               reports_dir: Path | None = None, audit: str | None = None,
               max_rows: int | None = None) -> ImportReport:
    """The pipeline of the module docstring. ``context`` is what row models check references
    against (known organisations, suggestions); ``max_rows`` a kind's own cap (a forum's size)."""
    from matcher.errors import InvalidInput

    parsed = parse_file(Path(path), kind, context, sheet, defaults, name)
    if max_rows is not None and len(parsed.rows) > max_rows:
        raise InvalidInput(f"1 回に取り込めるのは {max_rows:,} 行までです（{len(parsed.rows):,} 行あります）",
                           f"at most {max_rows:,} rows per import ({len(parsed.rows):,} given)")
    file, records, raws = parsed.file, parsed.records, parsed.rows
    report = ImportReport(file, kind, parsed.encoding, parsed.format, rejected=list(parsed.rejected), strict=strict)
    if strict and report.rejected:
        report.stored = False
    else:
        with session_scope(engine) as session:
            store(session, records, report)
            session.add(AuditLog(actor=actor, action=audit or f"{kind}_import", target=Path(file).name[:200],
                                 detail={"kind": kind, "inserted": report.inserted, "updated": report.updated,
                                         "unchanged": report.unchanged, "rejected": len(report.rejected)}))
    if reports_dir is not None:
        write_rejects(report, raws, reports_dir)
    return report


def prune_reports(reports_dir: Path, keep: int = KEEP_REPORTS) -> int:
    files = sorted((p for p in reports_dir.glob("*") if p.is_file()), key=lambda p: p.stat().st_mtime, reverse=True)
    for p in files[keep:]:
        p.unlink(missing_ok=True)
    return max(0, len(files) - keep)


def report_stem(report: ImportReport) -> str:
    """The file name stem both of an import's report files share: no server path, no odd character."""
    return f"{re.sub(r'[^0-9A-Za-z_.-]+', '_', Path(report.file).stem)[:40] or 'import'}-{report.stamp}"


def write_rejects(report: ImportReport, raws: list[RawRow], reports_dir: Path) -> None:
    """The rejected rows (each with its errors and its cells as written) as a CSV that Excel opens,
    and the report as a JSON file beside it (every error; the file format of an import's record)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    if report.rejected:
        rejects_path = reports_dir / f"{report_stem(report)}.rejects.csv"
        headers: list[str] = []
        for raw in raws:
            headers.extend(h for h in raw.original if h not in headers)
        with rejects_path.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["行番号", "項目", "エラー", *headers])
            for rej in report.rejected:
                for e in rej.errors:
                    w.writerow([csv_cell(v) for v in (rej.row, e.field, e.message,
                                                      *(rej.original.get(h, "") for h in headers))])
        report.rejects_path = str(rejects_path)
    report.report_path = str(reports_dir / f"{report_stem(report)}.report.json")
    doc = {"file": report.file, "kind": report.kind, "encoding": report.encoding, "format": report.format,
           "inserted": report.inserted, "updated": report.updated, "unchanged": report.unchanged,
           "stored": report.stored, "strict": report.strict, "rejected_rows": len(report.rejected),
           "rejected": [{"row": e.row, "field": e.field, "message_ja": e.message_ja, "message_en": e.message_en}
                        for e in report.errors], "rejects_file": report.rejects_path}
    Path(report.report_path).write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    prune_reports(reports_dir)
