"""Background work as JSON: the index job's state, an index sync, a digest run, the demo."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pydantic import BaseModel

from matcher.search.indexing import SyncReport
from matcher.services.demo import DemoReport
from matcher.services.digests import DigestRun
from matcher.services.jobs import IndexStatus
from matcher.views.common import plain
from matcher.views.imports import import_json


class IndexStatusOut(BaseModel):
    job_id: int | None
    state: str  # idle | queued | running | done | failed | cancelled
    total: int
    done: int
    stale_documents: int
    backend: str
    error: str | None


def index_status_out(status: IndexStatus) -> IndexStatusOut:
    return IndexStatusOut(**plain(status))


def sync_json(report: SyncReport) -> dict[str, Any]:
    return plain(report)


def digest_run_json(run: DigestRun) -> dict[str, Any]:
    """The run's counts, each message's outcome and the notes (previews are files, not JSON)."""
    messages = [{k: v for k, v in asdict(m).items() if v is not None or k == "message_id"} for m in run.messages]
    return {"sent": run.sent, "failed": run.failed, "skipped": run.skipped, "messages": messages,
            "notes": list(run.notes), "invitations": run.invitations}


def demo_json(report: DemoReport) -> dict[str, Any]:
    return {"ingest": [import_json(r) for r in report.ingests],
            "index": sync_json(report.index) if report.index else None}
