"""Readers for the files coordinators actually have, and validation into clean records.

CSV arrives as UTF-8, UTF-8 with BOM or Shift_JIS/CP932 (Excel on Japanese Windows), sometimes
UTF-16 ("Unicode text"); spreadsheets as XLSX; machine exports as JSON/JSONL. The format and
encoding are detected from the bytes, never from the file name. Every problem is reported with
file, row (as a spreadsheet shows it: header = row 1), field, and a Japanese + English message.
This module only reads and validates; storing is ``matcher.catalog``'s job.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from matcher.taxonomy import normalize_jsic_code
from matcher.text import normalize

Kind = Literal["organizations", "needs", "seeds"]
KINDS: tuple[Kind, ...] = ("organizations", "needs", "seeds")


class IngestFileError(ValueError):
    """The file as a whole cannot be read (empty, binary, truncated, unknown encoding, no header)."""

    def __init__(self, file: str, message_ja: str, message_en: str) -> None:
        self.file, self.message_ja, self.message_en = file, message_ja, message_en
        super().__init__(f"{file}: {message_ja} / {message_en}")


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

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "row": self.row, "field": self.field, "message": self.message,
                "message_ja": self.message_ja, "message_en": self.message_en}


@dataclass
class RawRow:
    row: int
    values: dict[str, Any]  # canonical field → raw value
    original: dict[str, Any] = field(default_factory=dict)  # header as written → raw value


@dataclass
class Record:
    kind: Kind
    row: int
    data: dict[str, Any]


@dataclass
class ParsedFile:
    file: str
    kind: Kind
    records: list[Record]
    errors: list[RowError]
    rows: list[RawRow]
    encoding: str
    format: str


# -- headers -----------------------------------------------------------------------------------
# canonical field → accepted headers (Japanese and English; compared after NFKC + lower-case).
HEADERS: dict[Kind, dict[str, tuple[str, ...]]] = {
    "organizations": {
        "external_id": ("企業ID", "機関ID", "組織ID", "external_id", "id"),
        "name": ("企業名", "機関名", "名称", "組織名", "name"),
        "kind": ("種別", "kind", "type"),
        "kana": ("企業名カナ", "フリガナ", "カナ", "kana"),
        "city": ("所在地", "市区町村", "city"),
        "address": ("住所", "address"),
        "employees": ("従業員数", "社員数", "employees"),
        "capital": ("資本金", "capital"),
        "jsic": ("業種コード", "産業分類コード", "jsic", "jsic_codes"),
        "processes": ("加工・技術", "加工技術", "得意技術", "processes"),
        "equipment": ("主要設備", "設備", "equipment"),
        "certifications": ("認証", "取得認証", "certifications"),
        "profile": ("技術紹介", "企業紹介", "概要", "profile"),
        "track_record": ("実績", "取引実績", "納入実績", "track_record"),
        "corporate_group": ("企業グループ", "グループ", "corporate_group"),
        "email": ("メール", "メールアドレス", "email", "e-mail"),
        "email_opt_in": ("メール配信", "配信希望", "email_opt_in"),
        "publish": ("公開", "公開可否", "publish"),
        "fictional": ("架空", "fictional"),
    },
    "needs": {
        "external_id": ("案件ID", "ニーズID", "need_id", "id"),
        "org_external_id": ("企業ID", "org_external_id", "org_id"),
        "title": ("件名", "タイトル", "title"),
        "text": ("内容", "詳細", "text"),
        "required_processes": ("必要工程", "required_processes"),
        "status": ("状態", "status"),
        "fictional": ("架空", "fictional"),
    },
    "seeds": {
        "external_id": ("シーズID", "研究課題番号", "seed_id", "project_id", "id"),
        "institution": ("機関名", "institution"),
        "org_external_id": ("機関ID", "org_external_id"),
        "title": ("研究題目", "研究課題名", "title"),
        "keywords": ("キーワード", "keywords"),
        "summary": ("概要", "summary"),
        "url": ("URL", "url"),
        "source": ("出典", "source"),
        "fictional": ("架空", "fictional"),
    },
}
REQUIRED: dict[Kind, tuple[str, ...]] = {
    "organizations": ("external_id", "name"),
    "needs": ("external_id", "org_external_id", "title", "text"),
    "seeds": ("external_id", "title"),
}
JAPANESE_NAME = {
    "external_id": "ID", "name": "名称", "kind": "種別", "employees": "従業員数", "capital": "資本金",
    "jsic": "業種コード", "email": "メール", "email_opt_in": "メール配信", "publish": "公開",
    "org_external_id": "企業ID", "title": "件名/題目", "text": "内容", "status": "状態",
    "fictional": "架空", "url": "URL",
}
ORG_KIND = {
    "企業": "company", "会社": "company", "company": "company",
    "大学": "university", "university": "university", "高専": "university",
    "研究機関": "institute", "公設試": "institute", "institute": "institute",
    "支援機関": "support", "support": "support",
    "販売先": "buyer", "バイヤー": "buyer", "buyer": "buyer",
}
NEED_STATUS = {"open": "open", "受付中": "open", "対応中": "open", "closed": "closed", "終了": "closed",
               "成約": "closed"}
TRUE = {"はい", "yes", "true", "1", "○", "〇", "可", "希望", "y"}
FALSE = {"いいえ", "no", "false", "0", "×", "不可", "否", "n", "希望しない"}
LIST_SPLIT = re.compile(r"[;、・,\n|]+")
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
LIST_FIELDS = {"jsic", "processes", "certifications", "required_processes", "keywords"}


def yes_no(flag: bool) -> str:
    """How the import format writes a boolean (read back by the same parser)."""
    return "はい" if flag else "いいえ"


def _header_key(h: Any) -> str:
    return unicodedata.normalize("NFKC", str(h or "")).strip().lstrip("\ufeff").lower()


def map_headers(file: str, kind: Kind, headers: list[Any]) -> dict[int, str]:
    """Column index → canonical field; a missing required column is a file-level error."""
    return map_columns(file, HEADERS[kind], REQUIRED[kind], headers)


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
        raise IngestFileError(file, f"必須の列がありません: {wanted}", f"required column(s) missing: {wanted}")
    return mapping


def read_raw_table(path: Path, spec: dict[str, tuple[str, ...]], required: tuple[str, ...],
                   sheet: str | None = None) -> list[RawRow]:
    """Rows of any CSV/XLSX with a header (same detection and errors as imports), by ``spec``."""
    file = str(path)
    data = _read_bytes(path)
    fmt = detect_format(data)
    if fmt == "xlsx":
        table = _xlsx_table(file, data, sheet)
    elif fmt == "csv":
        table = _csv_table(file, decode_text(file, data)[0])
    else:
        raise IngestFileError(file, "CSV か Excel (.xlsx) を指定してください", "expected CSV or XLSX")
    return _rows_with_mapping(table, map_columns(file, spec, required, table[0][1]))


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
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if b"\x00" in data[:8192]:
        raise IngestFileError(file, "バイナリファイルのようです（CSV/Excel/JSON ではありません）",
                              "looks like a binary file, not CSV/XLSX/JSON")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3 and exc.reason.startswith("unexpected end"):
            raise IngestFileError(file, "ファイルが途中で切れています（文字の途中で終わっています）",
                                  "file is truncated (ends inside a character)") from exc
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise IngestFileError(file, "文字コードを判別できません", "cannot detect the text encoding")
    return str(best), best.encoding


def _cell(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def read_rows(path: Path, kind: Kind, sheet: str | None = None) -> tuple[list[RawRow], str, str]:
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


def _rows_from_table(file: str, kind: Kind, table: list[tuple[int, list[Any]]]) -> list[RawRow]:
    return _rows_with_mapping(table, map_headers(file, kind, table[0][1]))


def _rows_with_mapping(table: list[tuple[int, list[Any]]], mapping: dict[int, str]) -> list[RawRow]:
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
        data = Path(path).read_bytes()
    except OSError as exc:
        raise IngestFileError(file, f"ファイルを読めません: {exc.strerror}", f"cannot read file: {exc.strerror}") from exc
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise IngestFileError(file, "ファイルが空です", "file is empty")
    if detect_format(data) == "xls":
        raise IngestFileError(file, "旧形式の Excel (.xls) には対応していません。.xlsx で保存してください",
                              "legacy .xls is not supported; save as .xlsx")
    return data


def _read_csv(file: str, text: str, kind: Kind) -> list[RawRow]:
    return _rows_from_table(file, kind, _csv_table(file, text))


def _csv_table(file: str, text: str) -> list[tuple[int, list[Any]]]:
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    table: list[tuple[int, list[Any]]] = []
    try:
        for cells in reader:
            table.append((reader.line_num, cells))
    except csv.Error as exc:
        raise IngestFileError(file, f"CSV の形式が壊れています（{reader.line_num} 行目付近、ファイルが途中で切れている可能性）",
                              f"malformed CSV near line {reader.line_num} (possibly truncated): {exc}") from exc
    if not table:
        raise IngestFileError(file, "ファイルが空です", "file is empty")
    # csv line_num counts physical lines; a spreadsheet counts records. Report records.
    return [(i + 1, cells) for i, (_, cells) in enumerate(table)]


def _read_xlsx(file: str, data: bytes, kind: Kind, sheet: str | None) -> list[RawRow]:
    return _rows_from_table(file, kind, _xlsx_table(file, data, sheet))


def _xlsx_table(file: str, data: bytes, sheet: str | None) -> list[tuple[int, list[Any]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise IngestFileError(file, "Excel ファイルが壊れているか途中で切れています",
                              f"the Excel file is damaged or truncated ({exc})") from exc
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise IngestFileError(file, f"シート「{sheet}」がありません（{', '.join(wb.sheetnames)}）",
                                  f"no sheet named {sheet!r} (sheets: {', '.join(wb.sheetnames)})")
        ws = wb[sheet] if sheet else wb.worksheets[0]
        table = [(i, list(r)) for i, r in enumerate(ws.iter_rows(values_only=True), start=1)]
    finally:
        wb.close()
    while table and all(c is None for c in table[0][1]):
        table.pop(0)
    if not table:
        raise IngestFileError(file, "シートが空です", "the sheet is empty")
    return table


def _read_json(file: str, text: str, kind: Kind, fmt: str) -> list[RawRow]:
    items: list[tuple[int, Any]] = []
    try:
        if fmt == "json":
            doc = json.loads(text)
            if not isinstance(doc, list):
                raise IngestFileError(file, "JSON は配列である必要があります", "JSON must be an array of records")
            items = list(enumerate(doc, start=1))
        else:
            for line_no, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    items.append((line_no, json.loads(line)))
    except json.JSONDecodeError as exc:
        raise IngestFileError(file, f"JSON の形式が壊れています（{exc.lineno} 行目）",
                              f"invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    headers: list[str] = []
    for _, obj in items:
        if not isinstance(obj, dict):
            raise IngestFileError(file, "各レコードはオブジェクトである必要があります", "each record must be an object")
        headers.extend(k for k in obj if k not in headers)
    if not items:
        raise IngestFileError(file, "レコードがありません", "no records")
    mapping = map_headers(file, kind, headers)
    rows = []
    for n, obj in items:
        values = {}
        for i, name in mapping.items():
            v = obj.get(headers[i])
            values[name] = ";".join(map(str, v)) if isinstance(v, list) else v
        rows.append(RawRow(n, values, dict(obj)))
    return rows


# -- validation ----------------------------------------------------------------------------------
def _clean(v: Any) -> str:
    if v is None:
        return ""
    return unicodedata.normalize("NFKC", str(v)).replace("\u3000", " ").strip()


def _split(v: Any) -> list[str]:
    out = []
    for part in LIST_SPLIT.split(normalize(_clean(v))):
        part = part.strip()
        if part and part not in out:
            out.append(part)
    return out


def _bool(v: Any) -> bool | None:
    s = _clean(v).lower()
    if s in TRUE:
        return True
    if s in FALSE:
        return False
    return None


def _int(v: Any) -> int | None:
    if isinstance(v, int):
        return v
    s = _clean(v).replace(",", "")
    s = re.sub(r"(人|名|円)$", "", s)
    mult = 1
    if s.endswith("万"):
        s, mult = s[:-1], 10_000
    elif s.endswith("億"):
        s, mult = s[:-1], 100_000_000
    try:
        return int(float(s) * mult) if "." in s else int(s) * mult
    except ValueError:
        return None


class RowValidator:
    """Turns one raw row into a clean record or a list of RowErrors."""

    def __init__(self, file: str, kind: Kind, known_orgs: set[str] | None = None,
                 defaults: dict[str, Any] | None = None) -> None:
        self.file, self.kind = file, kind
        self.known_orgs = known_orgs or set()
        self.defaults = defaults or {}
        self.seen: dict[str, int] = {}

    def err(self, row: int, fld: str, ja: str, en: str) -> RowError:
        return RowError(self.file, row, fld, ja, en)

    def validate(self, raw: RawRow) -> tuple[Record | None, list[RowError]]:
        v, row = dict(raw.values), raw.row
        for name, value in self.defaults.items():
            if not _clean(v.get(name)):
                v[name] = value
        errors: list[RowError] = []
        data: dict[str, Any] = {}
        for name in REQUIRED[self.kind]:
            if not _clean(v.get(name)):
                errors.append(self.err(row, name, f"必須項目「{JAPANESE_NAME.get(name, name)}」が空です",
                                       f"required field {name!r} is empty"))
        key = _clean(v.get("external_id"))
        if key:
            if key in self.seen:
                errors.append(self.err(row, "external_id", f"ID「{key}」がファイル内で重複しています（{self.seen[key]} 行目と同じ）",
                                       f"duplicate key {key!r} in this file (first at row {self.seen[key]})"))
            else:
                self.seen[key] = row
        data["external_id"] = key
        errors += getattr(self, f"_{self.kind}")(v, row, data)
        data["fictional"] = bool(_bool(v.get("fictional")))
        return (None if errors else Record(self.kind, row, data)), errors

    def _known_org(self, row: int, org: str) -> list[RowError]:
        if org and org not in self.known_orgs:
            return [self.err(row, "org_external_id", f"企業・機関ID「{org}」が登録されていません",
                             f"unknown organisation {org!r}")]
        return []

    def _organizations(self, v: dict, row: int, data: dict) -> list[RowError]:
        errors = []
        data["name"] = _clean(v.get("name"))
        kind_raw = _clean(v.get("kind")) or "企業"
        data["kind"] = ORG_KIND.get(kind_raw.lower())
        if data["kind"] is None:
            errors.append(self.err(row, "kind", f"種別「{kind_raw}」は不明です（企業/大学/研究機関/支援機関/販売先）",
                                   f"unknown kind {kind_raw!r} (company/university/institute/support/buyer)"))
        for num in ("employees", "capital"):
            raw = _clean(v.get(num))
            data[num] = None
            if raw:
                n = _int(v.get(num))
                if n is None:
                    errors.append(self.err(row, num, f"「{JAPANESE_NAME[num]}」が数値ではありません: {raw}",
                                           f"{num} is not a number: {raw!r}"))
                elif n < 0:
                    errors.append(self.err(row, num, f"「{JAPANESE_NAME[num]}」が負の値です: {raw}",
                                           f"{num} must be ≥ 0, got {raw!r}"))
                else:
                    data[num] = n
        codes = []
        for code in _split(v.get("jsic")):
            norm = normalize_jsic_code(code)
            if norm is None:
                errors.append(self.err(row, "jsic", f"業種コード「{code}」は日本標準産業分類にありません",
                                       f"unknown JSIC code {code!r}"))
            else:
                codes.append(norm)
        data["jsic_codes"] = codes
        email = _clean(v.get("email"))
        if email and not EMAIL.match(email):
            errors.append(self.err(row, "email", f"メールアドレスの形式が正しくありません: {email}",
                                   f"invalid email address: {email!r}"))
        data["email"] = email or None
        for flag, default in (("email_opt_in", False), ("publish", True)):
            raw = _clean(v.get(flag))
            parsed = _bool(v.get(flag)) if raw else default
            if parsed is None:
                errors.append(self.err(row, flag, f"「{JAPANESE_NAME[flag]}」は はい/いいえ で指定してください: {raw}",
                                       f"{flag} must be yes/no: {raw!r}"))
            data[flag] = bool(parsed)
        if data["email_opt_in"] and not data["email"]:
            errors.append(self.err(row, "email", "メール配信を希望する場合はメールアドレスが必要です",
                                   "email_opt_in requires an email address"))
        for name in ("kana", "city", "address", "corporate_group"):
            data[name] = _clean(v.get(name)) or None
        data["processes"] = _split(v.get("processes"))
        data["certifications"] = _split(v.get("certifications"))
        for name in ("equipment", "profile", "track_record"):
            data[name] = normalize(_clean_multiline(v.get(name)))
        return errors

    def _needs(self, v: dict, row: int, data: dict) -> list[RowError]:
        errors = []
        org = _clean(v.get("org_external_id"))
        data["org_external_id"] = org
        errors += self._known_org(row, org)
        data["title"] = normalize(_clean(v.get("title")))
        data["text"] = normalize(_clean_multiline(v.get("text")))
        data["required_processes"] = _split(v.get("required_processes"))
        status_raw = _clean(v.get("status")) or "open"
        data["status"] = NEED_STATUS.get(status_raw.lower())
        if data["status"] is None:
            errors.append(self.err(row, "status", f"状態「{status_raw}」は不明です（受付中/終了）",
                                   f"unknown status {status_raw!r} (open/closed)"))
        return errors

    def _seeds(self, v: dict, row: int, data: dict) -> list[RowError]:
        errors = []
        data["title"] = normalize(_clean(v.get("title")))
        data["keywords"] = _split(v.get("keywords"))
        data["summary"] = normalize(_clean_multiline(v.get("summary")))
        data["institution"] = _clean(v.get("institution")) or None
        data["source"] = _clean(v.get("source")) or None
        org = _clean(v.get("org_external_id"))
        data["org_external_id"] = org or None
        errors += self._known_org(row, org)
        url = _clean(v.get("url"))
        if url and not re.match(r"^https?://\S+$", url):
            errors.append(self.err(row, "url", f"URL の形式が正しくありません: {url}", f"invalid URL: {url!r}"))
        data["url"] = url or None
        return errors


def _clean_multiline(v: Any) -> str:
    if v is None:
        return ""
    return unicodedata.normalize("NFKC", str(v)).replace("\r\n", "\n").strip()


def parse_file(path: Path, kind: Kind, known_orgs: set[str] | None = None,
               sheet: str | None = None, defaults: dict[str, Any] | None = None) -> ParsedFile:
    """Read and validate a whole file; file-level problems raise IngestFileError.
    ``defaults`` fill fields a file leaves empty (e.g. the source of a public data set)."""
    rows, fmt, encoding = read_rows(path, kind, sheet)
    validator = RowValidator(str(path), kind, known_orgs, defaults)
    records, errors = [], []
    for raw in rows:
        rec, errs = validator.validate(raw)
        errors += errs
        if rec:
            records.append(rec)
    return ParsedFile(str(path), kind, records, errors, rows, encoding, fmt)


def guess_kind(path: Path) -> Kind:
    """Which kind of file this is, from its header: the kind whose required columns are all
    present and which recognises the most columns (organisations on a tie)."""
    best: Kind = "organizations"
    best_hits = -1
    for kind in KINDS:
        try:
            rows, _, _ = read_rows(path, kind)
        except IngestFileError:
            continue
        hits = len(rows[0].values) if rows else 0
        if hits > best_hits:
            best, best_hits = kind, hits
    return best
