"""Creating and editing one organisation from the desk or the API: validated as an import row
is (so a web edit can never store what an import would reject), stored and audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from matcher.exchange.catalog import stored_organization, upsert_one
from matcher.exchange.ingest import RowError
from matcher.services.directory import OrgRecord, get_organization, organization_id


@dataclass(frozen=True)
class Saved:
    status: str  # inserted | updated | unchanged | rejected
    organization: OrgRecord | None
    errors: list[RowError]


def create(engine: Engine, values: dict[str, Any], actor: str | None = None) -> Saved:
    status, errors = upsert_one(engine, "organizations", values, actor=actor)
    if errors:
        return Saved("rejected", None, errors)
    org_id = organization_id(engine, values["external_id"])
    return Saved(status, get_organization(engine, org_id) if org_id else None, [])


def update(engine: Engine, org_id: int, changes: dict[str, Any], actor: str | None = None) -> Saved | None:
    """None when there is no such live organisation."""
    values = stored_organization(engine, org_id)
    if values is None:
        return None
    values.update(changes)
    status, errors = upsert_one(engine, "organizations", values, actor=actor)
    if errors:
        return Saved("rejected", None, errors)
    return Saved(status, get_organization(engine, org_id), [])
