"""An upload as the desk and the API take it: stored through the one import pipeline under the
name the user gave (never a path made from it), then the indexing queued on the job runner."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from matcher.config import Settings
from matcher.exchange.catalog import import_file
from matcher.exchange.ingest import KINDS, guess_kind
from matcher.exchange.pipeline import ImportReport
from matcher.search.indexing import stale_documents
from matcher.services.jobs import IndexJobs
from matcher.store.tables import Job


@dataclass(frozen=True)
class Upload:
    report: ImportReport
    index_job: Job | None  # queued when the import changed documents that need indexing


def import_upload(engine: Engine, settings: Settings, jobs: IndexJobs, data: bytes, name: str, kind: str,
                  strict: bool, actor: str) -> Upload:
    """``kind`` "auto" guesses from the header; a file that cannot be read raises ``FileError``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(data)
        chosen = kind if kind in KINDS else guess_kind(path)
        report = import_file(engine, path, chosen, strict=strict, actor=actor,  # type: ignore[arg-type]
                             reports_dir=settings.data_dir / "reports", name=name)
    job = jobs.enqueue("import") if report.stored and stale_documents(engine) else None
    return Upload(report, job)
