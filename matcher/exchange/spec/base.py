"""What every row model shares: the cleaning of what people type (全角 digits, 「120人」, 「はい」,
「切削・研削」), the field specification and the row model base."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from matcher.text import normalize, one_line, strip_invisible

Kind = Literal["organizations", "needs", "seeds", "people"]
KINDS: tuple[Kind, ...] = ("organizations", "needs", "seeds", "people")

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
URL = re.compile(r"^https?://\S+$")
MAX_INT = 10**15  # larger than any employee count or capital in yen; keeps values inside BIGINT


def row_error(field: str, ja: str, en: str) -> PydanticCustomError:
    """A validation error that carries both messages and the field it belongs to."""
    return PydanticCustomError("row", "{en}", {"field": field, "ja": ja, "en": en})


# -- cleaning: shared by every row model ----------------------------------------------------------
def clean(v: Any) -> str:
    """One-line text as stored: NFKC, no control / bidi / zero-width characters, no line break of
    any kind (each becomes a space), single spaces."""
    if v is None:
        return ""
    return one_line(unicodedata.normalize("NFKC", str(v)))


def clean_multiline(v: Any) -> str:
    if v is None:
        return ""
    return strip_invisible(unicodedata.normalize("NFKC", str(v))).strip()


def split_items(v: Any) -> list[str]:
    if isinstance(v, (list, tuple)):
        v = ";".join(clean(x) for x in v)
    out: list[str] = []
    for part in LIST_SPLIT.split(normalize(clean(v))):
        part = part.strip()
        if part and part not in out:
            out.append(part)
    return out


def parse_bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    s = clean(v).lower()
    if s in TRUE:
        return True
    if s in FALSE:
        return False
    return None


def parse_int(v: Any) -> int | None:
    """「1,200」「120人」「3億」「1.5万」 → int; None when it is not a number."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v) if v.is_integer() and abs(v) < MAX_INT else None
    s = re.sub(r"(人|名|円)$", "", clean(v).replace(",", ""))
    mult = 1
    if s.endswith("万"):
        s, mult = s[:-1], 10_000
    elif s.endswith("億"):
        s, mult = s[:-1], 100_000_000
    if not re.fullmatch(r"-?\d{1,16}(\.\d{1,6})?", s):
        return None
    return int(float(s) * mult) if "." in s else int(s) * mult


def yes_no(flag: bool) -> str:
    """How the import format writes a boolean (read back by the same parser)."""
    return "はい" if flag else "いいえ"


def _scalar(field: str, label: str, v: Any) -> Any:
    if isinstance(v, (dict, list, tuple, set)):
        raise row_error(field, f"「{label}」に一つの値を指定してください", f"{field} must be a single value")
    return v


@dataclass(frozen=True)
class FieldSpec:
    """One field of an entity: its accepted headers (the first is written on export), its
    Japanese label for messages, and where a stored organisation keeps it."""

    name: str
    headers: tuple[str, ...]
    label: str
    max_length: int | None = None
    required: bool = False
    column: str | None = None  # Organization attribute, when stored as a column
    document: str | None = None  # Document kind, when stored as searchable text


class RowModel(BaseModel):
    """Base of the row models: the spec's fields, and conversion of errors into row errors."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = ()

    @classmethod
    def field_spec(cls, name: str) -> FieldSpec:
        return next(f for f in cls.FIELDS if f.name == name)

    @field_validator("*", mode="before")
    @classmethod
    def _common(cls, v: Any, info: ValidationInfo) -> Any:
        spec = next((f for f in cls.FIELDS if f.name == info.field_name), None)
        if spec is None:
            return v
        if spec.required and not clean(v if not isinstance(v, (list, tuple)) else ";".join(map(str, v))):
            raise row_error(spec.name, f"必須項目「{spec.label}」が空です", f"required field {spec.name!r} is empty")
        if spec.max_length is not None and v is not None:
            size = len(str(v)) if not isinstance(v, (list, tuple)) else sum(len(str(x)) + 1 for x in v)
            if size > spec.max_length:
                raise row_error(spec.name, f"「{spec.label}」が長すぎます（上限 {spec.max_length:,} 文字）",
                                f"{spec.name} is too long (at most {spec.max_length:,} characters)")
        return v


def _labelled_int(field: str, label: str, v: Any) -> int | None:
    v = _scalar(field, label, v)
    raw = clean(v)
    if not raw:
        return None
    n = parse_int(v)
    if n is None or abs(n) >= MAX_INT:
        raise row_error(field, f"「{label}」が数値ではありません: {raw[:40]}", f"{field} is not a number: {raw[:40]!r}")
    if n < 0:
        raise row_error(field, f"「{label}」が負の値です: {raw[:40]}", f"{field} must be ≥ 0, got {raw[:40]!r}")
    return n


def _flag(field: str, label: str, v: Any, default: bool) -> bool:
    v = _scalar(field, label, v)
    if v is None or (isinstance(v, str) and not clean(v)):
        return default
    parsed = parse_bool(v)
    if parsed is None:
        raise row_error(field, f"「{label}」は はい/いいえ で指定してください: {clean(v)[:40]}",
                        f"{field} must be yes/no: {clean(v)[:40]!r}")
    return parsed


def email_value(v: Any) -> str | None:
    """An optional e-mail address, checked for its form."""
    email = clean(_scalar("email", "メール", v))
    if email and not EMAIL.match(email):
        raise row_error("email", f"メールアドレスの形式が正しくありません: {email[:60]}",
                        f"invalid email address: {email[:60]!r}")
    return email or None


def _known_org(field: str, v: str, info: ValidationInfo) -> None:
    known = (info.context or {}).get("known_orgs")
    if v and known is not None and v not in known:
        raise row_error(field, f"企業・機関ID「{v}」が登録されていません", f"unknown organisation {v!r}")
