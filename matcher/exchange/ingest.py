"""Readers for the files coordinators actually have, and validation into clean records.

CSV arrives as UTF-8, UTF-8 with BOM or Shift_JIS/CP932 (Excel on Japanese Windows), sometimes
UTF-16 ("Unicode text"); spreadsheets as XLSX; machine exports as JSON/JSONL. The format and
encoding are detected from the bytes, never from the file name. Every problem is reported with
file, row (as a spreadsheet shows it: header = row 1), field, and a Japanese + English message.
This module only reads and validates; storing is ``matcher.exchange.catalog``'s job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from matcher.errors import FileError
from matcher.exchange.readers import (  # noqa: F401
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    MAX_FILE_BYTES,
    MAX_JSON_DEPTH,
    MAX_NUMBER_CHARS,
    MAX_ROWS,
    MAX_XLSX_UNPACKED,
    clip,
    decode_text,
    detect_format,
    read_rows,
    read_table_rows,
)
from matcher.exchange.rows import (  # noqa: F401
    ParsedFile,
    RawRow,
    Record,
    RejectedRow,
    RowError,
    map_columns,
    map_headers,
)
from matcher.exchange.spec import ENTITIES, KINDS, Kind, clean, field_errors


# -- validation ----------------------------------------------------------------------------------
class RowValidator:
    """One raw row → a validated row model, or its RowErrors. Cross-row checks (a key repeated
    in the same file) live here; everything about one row is the row model's job."""

    def __init__(self, file: str, kind: str, context: dict[str, Any] | None = None,
                 defaults: dict[str, Any] | None = None) -> None:
        self.file, self.kind, self.spec = file, kind, ENTITIES[kind]
        self.context = context or {}
        self.defaults = defaults or {}
        self.seen: dict[tuple, int] = {}

    def validate(self, raw: RawRow) -> tuple[Record | None, list[RowError]]:
        values, row = dict(raw.values), raw.row
        for name, value in self.defaults.items():
            if not clean(values.get(name)):
                values[name] = value
        try:
            model = self.spec.model.model_validate(values, context=self.context)
        except ValidationError as exc:
            return None, [RowError(self.file, row, e.field, e.message_ja, e.message_en) for e in field_errors(exc)]
        if self.spec.key:
            key = tuple(getattr(model, f) for f in self.spec.key)
            if key in self.seen:
                shown = "・".join(str(k) for k in key)
                return None, [RowError(self.file, row, self.spec.key[-1],
                                       f"{self.spec.key_label}「{shown}」がファイル内で重複しています（{self.seen[key]} 行目と同じ）",
                                       f"duplicate {'/'.join(self.spec.key)} {shown!r} in this file "
                                       f"(first at row {self.seen[key]})")]
            self.seen[key] = row
        return Record(self.kind, row, model), []


def parse_file(path: Path, kind: str, context: dict[str, Any] | None = None, sheet: str | None = None,
               defaults: dict[str, Any] | None = None, name: str | None = None) -> ParsedFile:
    """Read and validate a whole file (file-level problems raise ``FileError``): every row through
    its row model, keys repeated in the file rejected. ``context`` is what rows may refer to
    (``known_orgs``: external ids, ``known_suggestions``); ``defaults`` fill fields a file leaves
    empty (e.g. the source of a public data set)."""
    rows, fmt, encoding = read_rows(path, kind, sheet)
    name = name or str(path)  # what errors and the store call the file (an upload's own name)
    validator = RowValidator(name, kind, context or {}, defaults)
    records, rejected = [], []
    for raw in rows:
        rec, errs = validator.validate(raw)
        if errs:
            rejected.append(RejectedRow(raw.row, tuple(errs), dict(raw.original)))
        elif rec is not None:
            records.append(rec)
    return ParsedFile(name, kind, records, rejected, rows, encoding, fmt)


def guess_kind(path: Path) -> Kind:
    """Which kind of file this is, from its header: the kind whose required columns are all
    present and which recognises the most columns (organisations on a tie)."""
    best: Kind = "organizations"
    best_hits = -1
    for kind in KINDS:
        try:
            rows, _, _ = read_rows(path, kind)
        except FileError:
            continue
        hits = len(rows[0].values) if rows else 0
        if hits > best_hits:
            best, best_hits = kind, hits
    return best
