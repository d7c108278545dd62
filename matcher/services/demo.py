"""The demo job: ingest the shipped corpora into the configured store and build the indexes.

Run on a fresh ``MATCHER_DATA_DIR`` it leaves a working installation; run again it re-reads the
files, finds nothing changed and embeds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from matcher.config import Settings
from matcher.exchange.catalog import import_file
from matcher.exchange.ingest import Kind
from matcher.exchange.pipeline import ImportReport
from matcher.search.indexing import SyncReport, sync_indexes

KAKEN_DEFAULTS = {"source": "KAKEN (CC BY 4.0, NII)"}
# Three needs the demo prints: a multi-process order, a research-heavy need, an electronics need.
DEMO_NEEDS = ("HN001", "HN011", "HN006")


def demo_files(settings: Settings) -> list[tuple[str, Kind, dict[str, Any] | None]]:
    c = settings.corpora_dir
    return [
        (str(c / "demo" / "organizations.csv"), "organizations", None),
        (str(c / "demo" / "needs.csv"), "needs", None),
        (str(c / "demo" / "seeds.csv"), "seeds", None),
        (str(c / "kaken" / "seeds.jsonl"), "seeds", KAKEN_DEFAULTS),
        (str(c / "demo" / "people.csv"), "people", None),
    ]


@dataclass
class DemoReport:
    ingests: list[ImportReport] = field(default_factory=list)
    index: SyncReport | None = None



def load_demo(engine: Engine, settings: Settings, embedder,
              progress: Callable[[int], None] | None = None,
              on_total: Callable[[int], None] | None = None) -> DemoReport:
    report = DemoReport()
    for path, kind, defaults in demo_files(settings):
        report.ingests.append(import_file(engine, path, kind, defaults=defaults,
                                          reports_dir=settings.data_dir / "reports", actor="demo"))
    report.index = sync_indexes(engine, settings, embedder, progress=progress, on_total=on_total)
    return report


DEMO_USERS = {
    "coordinator": ("coordinator@example.jp", "hino-demo-coordinator"),
    "admin": ("admin@example.jp", "hino-demo-admin-2026"),
    "company": ("company@example.jp", "hino-demo-company-2026"),
}


def ensure_demo_users(engine: Engine) -> dict[str, dict[str, str]]:
    """Demo log-ins (fixed, printed passwords: for the demo installation only)."""
    from sqlmodel import select

    from matcher.services.auth import create_user
    from matcher.store.db import session_scope
    from matcher.store.tables import User

    with session_scope(engine) as s:
        existing = {u.email for u in s.exec(select(User))}
    for role, (email, password) in DEMO_USERS.items():
        if email not in existing:
            create_user(engine, email, role, password, "HC0002" if role == "company" else None, actor="demo")
    return {role: {"email": e, "password": p} for role, (e, p) in DEMO_USERS.items()}
