"""Organisations, needs and the public directory as the API shows them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class IndustryOut(_Read):
    code: str
    name: str
    source: str
    confidence: float
    evidence: str | None


class OrgRecordOut(_Read):
    id: int
    external_id: str
    name: str
    kind: str
    kind_ja: str
    city: str | None
    employees: int | None
    jsic_codes: list[str]
    processes: list[str]
    certifications: list[str]
    equipment: str | None
    email: str | None
    publish: bool
    fictional: bool
    profile: str | None
    track_record: str | None = None
    industries: list[IndustryOut] = []


class OrgListOut(_Read):
    total: int
    more: bool = False  # more than ``total`` match: the word is too common to count (「1,000 件以上」)
    items: list[OrgRecordOut]


class OrgSavedOut(BaseModel):
    status: str  # inserted | updated | unchanged
    organization: OrgRecordOut | None


class NeedRecordOut(_Read):
    id: int
    external_id: str
    org_id: int
    org_name: str | None
    title: str
    text: str | None
    required_processes: list[str]
    status: str


class NeedListOut(_Read):
    total: int
    items: list[NeedRecordOut]


class PublicOrgOut(_Read):
    external_id: str
    name: str
    kind_ja: str
    city: str | None
    processes: list[str]
    certifications: list[str]
    industries: list[IndustryOut]
    equipment: str | None
    profile: str | None
    fictional: bool
    track_record: str | None = None


class FacetsOut(_Read):
    city: list[str]
    process: list[str]
    cert: list[str]
    industry: dict[str, str]
    size: dict[str, str]


class DirectoryPageOut(_Read):
    total: int
    more: bool  # more match than ``total`` (「1,000 件以上」): add a word or a filter to narrow
    page: int
    pages: int
    items: list[PublicOrgOut]
    facets: FacetsOut
