"""Bytes → rows, bounded: CSV in any Japanese encoding, XLSX and JSON/JSONL; a file's claims
(its size, row count, cell sizes, nesting, numbers) never decide how much memory or time it gets."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from matcher.errors import FileError
from matcher.exchange.rows import (
    RawRow,
    map_headers,
)

# -- limits: a file's claims never decide how much memory or time it gets ------------------------
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 200
MAX_CELL_CHARS = 32_767  # what Excel itself allows in a cell
MAX_XLSX_UNPACKED = 256 * 1024 * 1024
MAX_JSON_DEPTH = 20
MAX_NUMBER_CHARS = 30


# CSV has no cell types, so export marks a text that starts like a formula with a leading '
# (as Excel does); reading takes the mark off again.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def clip(cell: Any) -> Any:
    """A cell longer than any field may be is cut just past the cap: the row model then reports
    it as a row error ("too long"), the rest of the file still imports, and no more is kept."""
    return cell[: MAX_CELL_CHARS + 1] if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS else cell


def _too_many_rows(file: str) -> FileError:
    return FileError(file, f"行が多すぎます（上限 {MAX_ROWS:,} 行）。ファイルを分けてください",
                     f"too many rows (at most {MAX_ROWS:,}); split the file")


def _check_cells(file: str, row_no: int, cells: list[Any]) -> list[Any]:
    if len(cells) > MAX_COLUMNS:
        if any(c not in (None, "") for c in cells[MAX_COLUMNS:]):
            raise FileError(file, f"{row_no} 行目の列が多すぎます（上限 {MAX_COLUMNS} 列）",
                            f"row {row_no} has too many columns (at most {MAX_COLUMNS})")
        cells = cells[:MAX_COLUMNS]
    return [clip(c) for c in cells]


# -- bytes → rows --------------------------------------------------------------------------------
def detect_format(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] == b"[":
        return "json"
    if stripped[:1] == b"{":
        return "jsonl"
    return "csv"


def decode_text(file: str, data: bytes) -> tuple[str, str]:
    """Decode CSV bytes: BOMs first, then strict UTF-8, strict CP932, then charset-normalizer."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise FileError(file, f"UTF-8（BOM付き）として読めないバイトがあります（{exc.start} バイト目）",
                            f"invalid UTF-8 after a UTF-8 BOM at byte {exc.start}") from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise FileError(file, "UTF-16 として読めません（途中で切れているか壊れています）",
                            f"invalid UTF-16 (truncated or damaged): {exc.reason}") from exc
    if b"\x00" in data[:8192]:
        raise FileError(file, "バイナリファイルのようです（CSV/Excel/JSON ではありません）",
                              "looks like a binary file, not CSV/XLSX/JSON")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3 and exc.reason.startswith("unexpected end"):
            raise FileError(file, "ファイルが途中で切れています（文字の途中で終わっています）",
                                  "file is truncated (ends inside a character)") from exc
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise FileError(file, "文字コードを判別できません", "cannot detect the text encoding")
    return str(best), best.encoding


def _cell(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def read_rows(path: Path, kind: str, sheet: str | None = None) -> tuple[list[RawRow], str, str]:
    """Rows of a file with canonical field names; (rows, format, encoding)."""
    file = str(path)
    data = _read_bytes(path)
    fmt = detect_format(data)
    if fmt == "xlsx":
        return _read_xlsx(file, data, kind, sheet), fmt, "xlsx"
    text, encoding = decode_text(file, data)
    if fmt in ("json", "jsonl"):
        return _read_json(file, text, kind, fmt), fmt, encoding
    return _read_csv(file, text, kind), fmt, encoding


def _rows_from_table(file: str, kind: str, table: list[tuple[int, list[Any]]]) -> list[RawRow]:
    mapping = map_headers(file, kind, table[0][1])
    headers = table[0][1]
    rows = []
    for row_no, cells in table[1:]:
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        values = {name: (_cell(cells[i]) if i < len(cells) else None) for i, name in mapping.items()}
        original = {str(headers[i]): cells[i] for i in range(min(len(headers), len(cells)))}
        rows.append(RawRow(row_no, values, original))
    return rows


def _read_bytes(path: Path) -> bytes:
    file = str(path)
    try:
        if Path(path).stat().st_size > MAX_FILE_BYTES:
            raise FileError(file, f"ファイルが大きすぎます（上限 {MAX_FILE_BYTES // 2**20} MB）",
                            f"file larger than {MAX_FILE_BYTES:,} bytes")
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FileError(file, f"ファイルを読めません: {exc.strerror}", f"cannot read file: {exc.strerror}") from exc
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise FileError(file, "ファイルが空です", "file is empty")
    if detect_format(data) == "xls":
        raise FileError(file, "旧形式の Excel (.xls) には対応していません。.xlsx で保存してください",
                              "legacy .xls is not supported; save as .xlsx")
    return data


def _read_csv(file: str, text: str, kind: str) -> list[RawRow]:
    return _rows_from_table(file, kind, _csv_table(file, text))


def _csv_table(file: str, text: str) -> list[tuple[int, list[Any]]]:
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    table: list[tuple[int, list[Any]]] = []
    try:
        for cells in reader:
            if len(table) > MAX_ROWS:
                raise _too_many_rows(file)
            cells = [c[1:] if c.startswith("'") and c[1:2] in _FORMULA_START else c for c in cells]
            table.append((reader.line_num, _check_cells(file, len(table) + 1, cells)))
    except csv.Error as exc:
        raise FileError(file, f"CSV の形式が壊れています（{reader.line_num} 行目付近、ファイルが途中で切れている可能性）",
                              f"malformed CSV near line {reader.line_num} (possibly truncated): {exc}") from exc
    if not table:
        raise FileError(file, "ファイルが空です", "file is empty")
    # csv line_num counts physical lines; a spreadsheet counts records. Report records.
    return [(i + 1, cells) for i, (_, cells) in enumerate(table)]


def _read_xlsx(file: str, data: bytes, kind: str, sheet: str | None) -> list[RawRow]:
    return _rows_from_table(file, kind, _xlsx_table(file, data, sheet))


def _damaged_xlsx(file: str, exc: BaseException) -> FileError:
    return FileError(file, "Excel ファイルが壊れているか途中で切れています",
                     f"the Excel file is damaged or truncated ({type(exc).__name__}: {str(exc)[:200]})")


def _xlsx_table(file: str, data: bytes, sheet: str | None) -> list[tuple[int, list[Any]]]:
    """Rows as the sheet's XML holds them. The declared dimension (``<dimension ref=…>``) is
    ignored — a 5 KB file may claim a million rows by sixteen thousand columns — and rows,
    columns, cell sizes and the unpacked size are capped instead."""
    import zipfile

    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            unpacked = sum(i.file_size for i in z.infolist())
        if unpacked > MAX_XLSX_UNPACKED:
            raise FileError(file, f"Excel ファイルの展開後の大きさが上限（{MAX_XLSX_UNPACKED // 2**20} MB）を超えます",
                            f"the workbook unpacks to {unpacked:,} bytes (at most {MAX_XLSX_UNPACKED:,})")
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except FileError:
        raise
    except Exception as exc:  # noqa: BLE001 — openpyxl raises many types for a damaged file
        raise _damaged_xlsx(file, exc) from exc
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise FileError(file, f"シート「{sheet[:50]}」がありません（{', '.join(wb.sheetnames)}）",
                            f"no sheet named {sheet[:50]!r} (sheets: {', '.join(wb.sheetnames)})")
        ws = wb[sheet] if sheet else wb.worksheets[0]
        ws.reset_dimensions()  # never trust the declared size: read only the rows that exist
        table: list[tuple[int, list[Any]]] = []
        try:
            # Missing rows come back empty and rows only as wide as their last cell, capped here.
            for row_no, values in enumerate(ws.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1), start=1):
                if row_no > MAX_ROWS + 1:
                    raise _too_many_rows(file)
                if any(v not in (None, "") for v in values):
                    table.append((row_no, _check_cells(file, row_no, list(values))))
        except FileError:
            raise
        except Exception as exc:  # noqa: BLE001 — malformed sheet XML surfaces while iterating
            raise _damaged_xlsx(file, exc) from exc
    finally:
        wb.close()
    while table and all(c is None for c in table[0][1]):
        table.pop(0)
    if not table:
        raise FileError(file, "シートが空です", "the sheet is empty")
    return table


def _json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects, found without parsing (so no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _json_number(text: str) -> Any:
    """Numbers too long to be a count or an amount stay text, so the row model reports them."""
    if len(text) > MAX_NUMBER_CHARS:
        return text
    value = float(text) if any(ch in text for ch in ".eE") else int(text)
    return text if isinstance(value, float) and not math.isfinite(value) else value


def _read_json(file: str, text: str, kind: str, fmt: str) -> list[RawRow]:
    items: list[tuple[int, Any]] = []
    if _json_depth(text) > MAX_JSON_DEPTH:
        raise FileError(file, f"JSON の入れ子が深すぎます（上限 {MAX_JSON_DEPTH} 段）",
                        f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    loads = lambda t: json.loads(t, parse_int=_json_number, parse_float=_json_number,  # noqa: E731
                                 parse_constant=lambda c: c)
    try:
        if fmt == "json":
            doc = loads(text)
            if not isinstance(doc, list):
                raise FileError(file, "JSON は配列である必要があります", "JSON must be an array of records")
            if len(doc) > MAX_ROWS:
                raise _too_many_rows(file)
            items = list(enumerate(doc, start=1))
        else:
            for line_no, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    items.append((line_no, loads(line)))
                if len(items) > MAX_ROWS:
                    raise _too_many_rows(file)
    except json.JSONDecodeError as exc:
        raise FileError(file, f"JSON の形式が壊れています（{exc.lineno} 行目）",
                              f"invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    headers: list[str] = []
    seen: set[str] = set()
    for _, obj in items:
        if not isinstance(obj, dict):
            raise FileError(file, "各レコードはオブジェクトである必要があります", "each record must be an object")
        for k in obj:
            if k not in seen:
                seen.add(k)
                headers.append(k)
        if len(headers) > MAX_COLUMNS:
            raise FileError(file, f"項目が多すぎます（上限 {MAX_COLUMNS}）", f"too many fields (at most {MAX_COLUMNS})")
    if not items:
        raise FileError(file, "レコードがありません", "no records")
    mapping = map_headers(file, kind, headers)
    rows = []
    for n, obj in items:
        values = {}
        for i, name in mapping.items():
            v = obj.get(headers[i])
            v = ";".join(map(str, v)) if isinstance(v, list) else v
            values[name] = clip(v)
        rows.append(RawRow(n, values, dict(obj)))
    return rows


def read_table_rows(path: Path, kind: str, sheet: str | None = None) -> list[RawRow]:
    """Rows of a CSV/XLSX with a header (same detection and errors as imports), by the entity's spec."""
    file = str(path)
    data = _read_bytes(path)
    fmt = detect_format(data)
    if fmt == "xlsx":
        table = _xlsx_table(file, data, sheet)
    elif fmt == "csv":
        table = _csv_table(file, decode_text(file, data)[0])
    else:
        raise FileError(file, "CSV か Excel (.xlsx) を指定してください", "expected CSV or XLSX")
    return _rows_from_table(file, kind, table)
