"""A file's rows on their way in: as read (header → cell), as validated (a row model), as
rejected (every field error of the row), and the mapping of a file's headers to fields."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from matcher.errors import FileError
from matcher.exchange.spec import ENTITIES, RowModel


@dataclass(frozen=True)
class RowError:
    file: str
    row: int  # as a spreadsheet shows it (header = 1)
    field: str
    message_ja: str
    message_en: str

    @property
    def message(self) -> str:
        return f"{self.message_ja} / {self.message_en}"



@dataclass
class RawRow:
    row: int
    values: dict[str, Any]  # canonical field → raw value
    original: dict[str, Any] = field(default_factory=dict)  # header as written → raw value


@dataclass
class Record:
    kind: str
    row: int
    model: RowModel

    @property
    def data(self) -> dict[str, Any]:
        return self.model.model_dump()


@dataclass(frozen=True)
class RejectedRow:
    row: int  # as a spreadsheet shows it (header = 1)
    errors: tuple[RowError, ...]
    original: dict[str, Any]  # the row as written (header → cell), for the CSV of rejected rows


@dataclass
class ParsedFile:
    file: str
    kind: str
    records: list[Record]
    rejected: list[RejectedRow]
    rows: list[RawRow]
    encoding: str
    format: str

    @property
    def errors(self) -> list[RowError]:
        return [e for r in self.rejected for e in r.errors]


# -- headers -----------------------------------------------------------------------------------
def _header_key(h: Any) -> str:
    return unicodedata.normalize("NFKC", str(h or "")).strip().lstrip("\ufeff").lower()


def map_headers(file: str, kind: str, headers: list[Any]) -> dict[int, str]:
    """Column index → canonical field; a missing required column is a file-level error."""
    spec = ENTITIES[kind]
    return map_columns(file, spec.headers, spec.required, headers)


def map_columns(file: str, spec: dict[str, tuple[str, ...]], required: tuple[str, ...],
                headers: list[Any]) -> dict[int, str]:
    lookup = {_header_key(alias): name for name, aliases in spec.items() for alias in aliases}
    mapping: dict[int, str] = {}
    for i, h in enumerate(headers):
        name = lookup.get(_header_key(h))
        if name and name not in mapping.values():
            mapping[i] = name
    missing = [f for f in required if f not in mapping.values()]
    if missing:
        wanted = ", ".join(f"{spec[f][0]} ({f})" for f in missing)
        raise FileError(file, f"必須の列がありません: {wanted}", f"required column(s) missing: {wanted}")
    return mapping
