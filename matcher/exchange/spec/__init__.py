"""One specification per entity: headers, fields, types and validators, in one place.

Each row kind (organisation, need, research seed, bulk decision) is one pydantic model. The same
model validates a row of a CSV/XLSX/JSON file, a JSON API body and a bulk feedback row, so a
value accepted in one place is accepted everywhere, with the same Japanese message when it is
not. Validators take what people actually type (全角 digits, 「120人」, 「はい」, 「切削・研削」)
as well as what programs send (numbers, booleans, lists). File readers map headers through
``EntitySpec.headers``; export writes each field's first (Japanese) header, so an exported file
re-imports unchanged.
"""


from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from matcher.exchange.spec.activity_rows import (  # noqa: F401
    _REASONS_EN,
    REASON_BY_LABEL,
    REASONS,
    VERDICTS,
    DecisionRow,
    OutcomeRow,
    ParticipantRow,
    ReasonCode,
    Verdict,
    parse_fiscal_year,
    parse_reason,
    parse_verdict,
)
from matcher.exchange.spec.base import (  # noqa: F401
    EMAIL,
    FALSE,
    KINDS,
    LIST_SPLIT,
    MAX_INT,
    NEED_STATUS,
    ORG_KIND,
    TRUE,
    URL,
    FieldSpec,
    Kind,
    RowModel,
    _flag,
    _known_org,
    _labelled_int,
    _scalar,
    clean,
    clean_multiline,
    email_value,
    parse_bool,
    parse_int,
    row_error,
    split_items,
    yes_no,
)
from matcher.exchange.spec.catalog_rows import (  # noqa: F401
    LinkedRow,
    NeedRow,
    OrganizationRow,
    SeedRow,
)
from matcher.exchange.spec.people_rows import PersonRow  # noqa: F401
from matcher.labels import KIND_JA
from matcher.store.tables import Organization, split_list


# -- entity specifications ------------------------------------------------------------------------
@dataclass(frozen=True)
class EntitySpec:
    kind: str
    owner_type: str  # what the store calls an owner of this entity's documents
    model: type[RowModel]
    # The fields that make a row unique in a file (repeated → the later row is rejected), and how
    # a coordinator names that key; None: rows may repeat (decisions: a later one supersedes).
    key: tuple[str, ...] | None = ("external_id",)
    key_label: str = "ID"

    @property
    def fields(self) -> tuple[FieldSpec, ...]:
        return self.model.FIELDS

    @property
    def headers(self) -> dict[str, tuple[str, ...]]:
        return {f.name: f.headers for f in self.fields}

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def header_of(self, name: str) -> str:
        return self.model.field_spec(name).headers[0]


ENTITIES: dict[str, EntitySpec] = {
    "organizations": EntitySpec("organizations", "organization", OrganizationRow),
    "needs": EntitySpec("needs", "need", NeedRow),
    "seeds": EntitySpec("seeds", "seed", SeedRow),
    "people": EntitySpec("people", "person", PersonRow),
    "decisions": EntitySpec("decisions", "decision", DecisionRow, key=None),
    "participants": EntitySpec("participants", "participant", ParticipantRow, key=("org_external_id", "person"),
                               key_label="参加者"),
    "outcomes": EntitySpec("outcomes", "outcome", OutcomeRow, key=("fy",), key_label="年度"),
}


@dataclass(frozen=True)
class FieldError:
    field: str
    message_ja: str
    message_en: str


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Pydantic's errors as (field, Japanese, English), one per problem."""
    out = []
    for e in exc.errors():
        ctx = e.get("ctx") or {}
        loc = e.get("loc") or ()
        field = str(ctx.get("field") or (loc[0] if loc else "row"))
        if "ja" in ctx:
            out.append(FieldError(field, str(ctx["ja"]), str(ctx["en"])))
        else:
            out.append(FieldError(field, f"「{field}」の値が正しくありません（{e.get('msg')}）", f"{field}: {e.get('msg')}"))
    return out


def organization_values(o: Organization, docs: dict[str, str]) -> dict[str, Any]:
    """A stored organisation as import-format values (field → text as a spreadsheet shows it):
    what export writes and what an edit merges into before re-validating the whole row."""
    out: dict[str, Any] = {}
    for f in OrganizationRow.FIELDS:
        value = getattr(o, f.column) if f.column else docs.get(f.document or "", "")
        if f.name == "kind":
            value = KIND_JA.get(value, value)
        elif isinstance(value, bool):
            value = yes_no(value)
        elif f.name in ("jsic", "processes", "certifications"):
            value = ";".join(split_list(value))
        out[f.name] = value
    return out


def partial_model(model: type[RowModel], name: str, exclude: tuple[str, ...] = ()) -> type[BaseModel]:
    """A model naming any subset of ``model``'s fields (for PATCH bodies). It only declares the
    shape; the merged whole row is then validated by ``model`` itself, so the rules stay in one
    place. An explicit null clears a field."""
    from pydantic import create_model

    fields: dict[str, Any] = {
        n: (f.annotation | None, Field(default=None, description=f.description))
        for n, f in model.model_fields.items() if n not in exclude}
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)
