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

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from matcher.dates import CLOCK_SKEW, PLAN_START, from_japan, utcnow
from matcher.store.tables import KIND_JA, Organization, split_list
from matcher.text import normalize, one_line, strip_invisible
from matcher.text.taxonomy import normalize_jsic_code

Kind = Literal["organizations", "needs", "seeds"]
KINDS: tuple[Kind, ...] = ("organizations", "needs", "seeds")

ORG_KIND = {
    "企業": "company", "会社": "company", "company": "company",
    "大学": "university", "university": "university", "高専": "university",
    "研究機関": "institute", "公設試": "institute", "institute": "institute",
    "支援機関": "support", "support": "support",
    "販売先": "buyer", "バイヤー": "buyer", "buyer": "buyer",
}
NEED_STATUS = {"open": "open", "受付中": "open", "対応中": "open", "closed": "closed", "終了": "closed",
               "成約": "closed"}
STATUS_JA = {"open": "受付中", "closed": "終了"}
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


def _known_org(field: str, v: str, info: ValidationInfo) -> None:
    known = (info.context or {}).get("known_orgs")
    if v and known is not None and v not in known:
        raise row_error(field, f"企業・機関ID「{v}」が登録されていません", f"unknown organisation {v!r}")


class OrganizationRow(RowModel):
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("external_id", ("企業ID", "機関ID", "組織ID", "external_id", "id"), "企業ID", 64, True, "external_id"),
        FieldSpec("name", ("企業名", "機関名", "名称", "組織名", "name"), "名称", 200, True, "name"),
        FieldSpec("kind", ("種別", "kind", "type"), "種別", 20, column="kind"),
        FieldSpec("kana", ("企業名カナ", "フリガナ", "カナ", "kana"), "フリガナ", 200, column="kana"),
        FieldSpec("city", ("所在地", "市区町村", "city"), "所在地", 100, column="city"),
        FieldSpec("address", ("住所", "address"), "住所", 300, column="address"),
        FieldSpec("employees", ("従業員数", "社員数", "employees"), "従業員数", 40, column="employees"),
        FieldSpec("capital", ("資本金", "capital"), "資本金", 40, column="capital"),
        FieldSpec("jsic", ("業種コード", "産業分類コード", "jsic", "jsic_codes"), "業種コード", 1000, column="jsic_codes"),
        FieldSpec("processes", ("加工・技術", "加工技術", "得意技術", "processes"), "加工・技術", 5000, column="processes"),
        FieldSpec("equipment", ("主要設備", "設備", "equipment"), "主要設備", 20000, column="equipment"),
        FieldSpec("certifications", ("認証", "取得認証", "certifications"), "認証", 2000, column="certifications"),
        FieldSpec("profile", ("技術紹介", "企業紹介", "概要", "profile"), "技術紹介", 20000, document="profile"),
        FieldSpec("track_record", ("実績", "取引実績", "納入実績", "track_record"), "実績", 20000, document="track_record"),
        FieldSpec("corporate_group", ("企業グループ", "グループ", "corporate_group"), "企業グループ", 100,
                  column="corporate_group"),
        FieldSpec("email", ("メール", "メールアドレス", "email", "e-mail"), "メール", 254, column="email"),
        FieldSpec("email_opt_in", ("メール配信", "配信希望", "email_opt_in"), "メール配信", 20, column="email_opt_in"),
        FieldSpec("publish", ("公開", "公開可否", "publish"), "公開", 20, column="publish"),
        FieldSpec("fictional", ("架空", "fictional"), "架空", 20, column="fictional"),
    )

    external_id: str = Field(max_length=64)
    name: str = Field(max_length=200)
    kind: Literal["company", "university", "institute", "support", "buyer"] = "company"
    kana: str | None = None
    city: str | None = None
    address: str | None = None
    employees: int | None = Field(default=None, ge=0)
    capital: int | None = Field(default=None, ge=0)
    jsic: list[str] = Field(default_factory=list, description="JSIC codes (日本標準産業分類)")
    processes: list[str] = Field(default_factory=list)
    equipment: str = ""
    certifications: list[str] = Field(default_factory=list)
    profile: str = ""
    track_record: str = ""
    corporate_group: str | None = None
    email: str | None = None
    email_opt_in: bool = False
    publish: bool = True
    fictional: bool = False

    @field_validator("external_id", "name", "kana", "city", "address", "corporate_group", mode="before")
    @classmethod
    def _text(cls, v: Any, info: ValidationInfo) -> str | None:
        spec = cls.field_spec(info.field_name)
        out = clean(_scalar(spec.name, spec.label, v))
        return out if out or spec.required else None

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, v: Any) -> str:
        raw = clean(_scalar("kind", "種別", v)) or "企業"
        kind = ORG_KIND.get(raw.lower())
        if kind is None:
            raise row_error("kind", f"種別「{raw[:40]}」は不明です（企業/大学/研究機関/支援機関/販売先）",
                            f"unknown kind {raw[:40]!r} (company/university/institute/support/buyer)")
        return kind

    @field_validator("employees", "capital", mode="before")
    @classmethod
    def _number(cls, v: Any, info: ValidationInfo) -> int | None:
        return _labelled_int(info.field_name, cls.field_spec(info.field_name).label, v)

    @field_validator("jsic", mode="before")
    @classmethod
    def _jsic(cls, v: Any) -> list[str]:
        codes = []
        for code in split_items(v):
            norm = normalize_jsic_code(code)
            if norm is None:
                raise row_error("jsic", f"業種コード「{code[:20]}」は日本標準産業分類にありません",
                                f"unknown JSIC code {code[:20]!r}")
            codes.append(norm)
        return codes

    @field_validator("processes", "certifications", mode="before")
    @classmethod
    def _list(cls, v: Any) -> list[str]:
        return split_items(v)

    @field_validator("equipment", "profile", "track_record", mode="before")
    @classmethod
    def _long_text(cls, v: Any, info: ValidationInfo) -> str:
        return normalize(clean_multiline(_scalar(info.field_name, cls.field_spec(info.field_name).label, v)))

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, v: Any) -> str | None:
        email = clean(_scalar("email", "メール", v))
        if email and not EMAIL.match(email):
            raise row_error("email", f"メールアドレスの形式が正しくありません: {email[:60]}",
                            f"invalid email address: {email[:60]!r}")
        return email or None

    @field_validator("email_opt_in", "publish", "fictional", mode="before")
    @classmethod
    def _flags(cls, v: Any, info: ValidationInfo) -> bool:
        default = info.field_name == "publish"
        return _flag(info.field_name, cls.field_spec(info.field_name).label, v, default)

    @model_validator(mode="after")
    def _opt_in_needs_address(self) -> OrganizationRow:
        if self.email_opt_in and not self.email:
            raise row_error("email", "メール配信を希望する場合はメールアドレスが必要です",
                            "email_opt_in requires an email address")
        return self


class LinkedRow(RowModel):
    """Rows that belong to an organisation and carry a title: needs and research seeds."""

    @field_validator("org_external_id", mode="before", check_fields=False)
    @classmethod
    def _org(cls, v: Any, info: ValidationInfo) -> str | None:
        spec = cls.field_spec("org_external_id")
        org = clean(_scalar(spec.name, spec.label, v))
        _known_org(spec.name, org, info)
        return org if org or spec.required else None

    @field_validator("title", mode="before", check_fields=False)
    @classmethod
    def _title(cls, v: Any) -> str:
        return normalize(clean(_scalar("title", cls.field_spec("title").label, v)))

    @field_validator("fictional", mode="before", check_fields=False)
    @classmethod
    def _fictional(cls, v: Any) -> bool:
        return _flag("fictional", "架空", v, False)


class NeedRow(LinkedRow):
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("external_id", ("案件ID", "ニーズID", "need_id", "id"), "案件ID", 64, True),
        FieldSpec("org_external_id", ("企業ID", "org_external_id", "org_id"), "企業ID", 64, True),
        FieldSpec("title", ("件名", "タイトル", "title"), "件名", 300, True),
        FieldSpec("text", ("内容", "詳細", "text"), "内容", 20000, True),
        FieldSpec("required_processes", ("必要工程", "required_processes"), "必要工程", 2000),
        FieldSpec("status", ("状態", "status"), "状態", 20),
        FieldSpec("public", ("公開区分", "公開", "public"), "公開区分", 20),
        FieldSpec("fictional", ("架空", "fictional"), "架空", 20),
    )

    external_id: str
    org_external_id: str
    title: str
    text: str
    required_processes: list[str] = Field(default_factory=list)
    status: Literal["open", "closed"] = "open"
    public: bool = Field(default=True, description="公開: may be introduced to other companies; 非公開: staff only")
    fictional: bool = False

    @field_validator("public", mode="before")
    @classmethod
    def _public(cls, v: Any) -> bool:
        raw = clean(_scalar("public", "公開区分", v)) if not isinstance(v, bool) else v
        if raw in ("公開", "public"):
            return True
        if raw in ("非公開", "confidential", "private", "社外秘"):
            return False
        return _flag("public", "公開区分（公開/非公開）", v, True)

    @field_validator("external_id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> str:
        return clean(_scalar("external_id", "案件ID", v))

    @field_validator("text", mode="before")
    @classmethod
    def _text(cls, v: Any) -> str:
        return normalize(clean_multiline(_scalar("text", "内容", v)))

    @field_validator("required_processes", mode="before")
    @classmethod
    def _list(cls, v: Any) -> list[str]:
        return split_items(v)

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, v: Any) -> str:
        raw = clean(_scalar("status", "状態", v)) or "open"
        status = NEED_STATUS.get(raw.lower())
        if status is None:
            raise row_error("status", f"状態「{raw[:20]}」は不明です（受付中/終了）", f"unknown status {raw[:20]!r} (open/closed)")
        return status



class SeedRow(LinkedRow):
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("external_id", ("シーズID", "研究課題番号", "seed_id", "project_id", "id"), "シーズID", 64, True),
        FieldSpec("institution", ("機関名", "institution"), "機関名", 200),
        FieldSpec("org_external_id", ("機関ID", "org_external_id"), "機関ID", 64),
        FieldSpec("title", ("研究題目", "研究課題名", "title"), "研究題目", 400, True),
        FieldSpec("keywords", ("キーワード", "keywords"), "キーワード", 2000),
        FieldSpec("summary", ("概要", "summary"), "概要", 20000),
        FieldSpec("url", ("URL", "url"), "URL", 300),
        FieldSpec("source", ("出典", "source"), "出典", 100),
        FieldSpec("fictional", ("架空", "fictional"), "架空", 20),
    )

    external_id: str
    institution: str | None = None
    org_external_id: str | None = None
    title: str
    keywords: list[str] = Field(default_factory=list)
    summary: str = ""
    url: str | None = None
    source: str | None = None
    fictional: bool = False

    @field_validator("external_id", "institution", "source", mode="before")
    @classmethod
    def _text(cls, v: Any, info: ValidationInfo) -> str | None:
        spec = cls.field_spec(info.field_name)
        out = clean(_scalar(spec.name, spec.label, v))
        return out if out or spec.required else None

    @field_validator("summary", mode="before")
    @classmethod
    def _summary(cls, v: Any) -> str:
        return normalize(clean_multiline(_scalar("summary", "概要", v)))

    @field_validator("keywords", mode="before")
    @classmethod
    def _list(cls, v: Any) -> list[str]:
        return split_items(v)

    @field_validator("url", mode="before")
    @classmethod
    def _url(cls, v: Any) -> str | None:
        url = clean(_scalar("url", "URL", v))
        if url and not URL.match(url):
            raise row_error("url", f"URL の形式が正しくありません: {url[:60]}", f"invalid URL: {url[:60]!r}")
        return url or None



# -- decisions ------------------------------------------------------------------------------------
VERDICTS = {"accept": "accept", "承認": "accept", "採用": "accept", "○": "accept",
            "reject": "reject", "却下": "reject", "不採用": "reject", "×": "reject",
            "skip": "skip", "保留": "skip", "スキップ": "skip"}
REASONS: dict[str, tuple[str, str]] = {
    "process_mismatch": ("工程が合わない", "processes do not match"),
    "distance": ("距離", "too far"),
    "size": ("規模", "size does not fit"),
    "existing_relationship": ("既存取引あり", "already trading"),
    "competitor": ("競合", "competitor"),
    "other": ("その他", "other"),
}
REASON_BY_LABEL = {ja: code for code, (ja, _) in REASONS.items()} | {code: code for code in REASONS}
Verdict = Literal["accept", "reject", "skip"]
ReasonCode = Literal["process_mismatch", "distance", "size", "existing_relationship", "competitor", "other"]


def parse_verdict(value: Any) -> str:
    v = VERDICTS.get(clean(value).lower())
    if v is None:
        raise row_error("verdict", f"判定「{clean(value)[:20]}」は不明です（承認/却下/保留）",
                        f"unknown verdict {clean(value)[:20]!r} (accept/reject/skip)")
    return v


def parse_reason(value: Any) -> str | None:
    if value is None or not clean(value):
        return None
    code = REASON_BY_LABEL.get(clean(value))
    if code is None:
        labels = "、".join(ja for ja, _ in REASONS.values())
        raise row_error("reason", f"理由「{clean(value)[:20]}」は不明です（{labels}）", f"unknown reason code {clean(value)[:20]!r}")
    return code


class DecisionRow(RowModel):
    """A coordinator's decision, from the CLI, the API, a page form or a bulk feedback file."""

    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("suggestion_id", ("提案ID", "suggestion_id"), "提案ID", 20, True),
        FieldSpec("verdict", ("判定", "verdict"), "判定", 20, True),
        FieldSpec("reason", ("理由", "reason"), "理由", 40),
        FieldSpec("coordinator", ("担当者", "coordinator"), "担当者", 254),
        FieldSpec("decided_at", ("判定日時", "decided_at"), "判定日時", 40),
    )

    suggestion_id: int = Field(ge=1, le=2_147_483_647)
    verdict: Verdict
    reason: ReasonCode | None = None
    coordinator: str | None = None
    decided_at: datetime | None = None

    @field_validator("suggestion_id", mode="before")
    @classmethod
    def _sid(cls, v: Any, info: ValidationInfo) -> int:
        text = clean(_scalar("suggestion_id", "提案ID", v))
        sid = int(text) if text.isdigit() and len(text) <= 10 else None
        known = (info.context or {}).get("known_suggestions")
        if sid is None or not 1 <= sid <= 2_147_483_647 or (known is not None and sid not in known):
            raise row_error("suggestion_id", f"提案ID「{text[:20]}」はありません", f"unknown suggestion id {text[:20]!r}")
        return sid

    @field_validator("verdict", mode="before")
    @classmethod
    def _verdict(cls, v: Any) -> str:
        return parse_verdict(_scalar("verdict", "判定", v))

    @field_validator("reason", mode="before")
    @classmethod
    def _reason(cls, v: Any) -> str | None:
        return parse_reason(_scalar("reason", "理由", v))

    @field_validator("coordinator", mode="before")
    @classmethod
    def _by(cls, v: Any) -> str | None:
        return clean(_scalar("coordinator", "担当者", v)) or None

    @field_validator("decided_at", mode="before")
    @classmethod
    def _when(cls, v: Any) -> datetime | None:
        """An imported decision's own time: Japan time unless it says otherwise, and never
        before the plan began or after now (a typo dated 9999 would stay "latest" forever)."""
        v = _scalar("decided_at", "判定日時", v)
        if v in (None, ""):
            return None
        if not isinstance(v, datetime):
            try:
                v = datetime.fromisoformat(clean(v).replace("/", "-"))
            except ValueError:
                raise row_error("decided_at", f"判定日時の形式が正しくありません: {clean(v)[:40]}",
                                f"invalid date/time {clean(v)[:40]!r} (use YYYY-MM-DD HH:MM)") from None
        try:
            when = from_japan(v)
        except OverflowError:
            when = None
        if when is None or not PLAN_START <= when <= utcnow() + CLOCK_SKEW:
            raise row_error("decided_at", f"判定日時 {clean(str(v))[:40]} は計画開始（2023年4月1日）から現在までの日時にしてください",
                            f"decided_at {clean(str(v))[:40]!r} must lie between the plan start (2023-04-01) and now")
        return when

    @model_validator(mode="after")
    def _reason_only_on_reject(self) -> DecisionRow:
        if self.reason is not None and self.verdict != "reject":
            raise row_error("reason", "理由は却下のときだけ指定できます", "a reason can only be given with a reject")
        return self


# -- forum participants ---------------------------------------------------------------------------
class ParticipantRow(LinkedRow):
    """One person attending a forum (産業人フォーラム) for a registered organisation (its
    organisation reference is validated as a need's or a seed's is)."""

    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("person", ("氏名", "参加者名", "参加者", "person"), "氏名", 200, True),
        FieldSpec("org_external_id", ("企業ID", "機関ID", "組織ID", "org_external_id", "org_id"), "企業ID", 64, True),
        FieldSpec("kind", ("参加区分", "区分", "種別", "kind"), "参加区分", 20),
        FieldSpec("wishes", ("会いたい相手", "面談希望", "希望相手", "wishes"), "会いたい相手", 2000),
        FieldSpec("avoid", ("同席不可", "同席を避ける相手", "avoid"), "同席不可", 2000),
        FieldSpec("host_table", ("ホスト卓", "固定テーブル", "host_table"), "ホスト卓", 10),
    )

    person: str
    org_external_id: str
    kind: Literal["company", "university", "institute", "support", "buyer"] | None = None
    wishes: list[str] = Field(default_factory=list, description="external ids of organisations to meet")
    avoid: list[str] = Field(default_factory=list, description="external ids never to share a table with")
    host_table: int | None = Field(default=None, ge=1, le=1000)

    @field_validator("person", mode="before")
    @classmethod
    def _person(cls, v: Any) -> str:
        return clean(_scalar("person", "氏名", v))

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, v: Any) -> str | None:
        raw = clean(_scalar("kind", "参加区分", v))
        if not raw:
            return None
        kind = ORG_KIND.get(raw.lower())
        if kind is None:
            raise row_error("kind", f"参加区分「{raw[:40]}」は不明です（企業/大学/研究機関/支援機関/販売先）",
                            f"unknown kind {raw[:40]!r}")
        return kind

    @field_validator("wishes", "avoid", mode="before")
    @classmethod
    def _orgs(cls, v: Any, info: ValidationInfo) -> list[str]:
        items = split_items(v)
        for item in items:
            _known_org(info.field_name, item, info)
        return items

    @field_validator("host_table", mode="before")
    @classmethod
    def _table(cls, v: Any) -> int | None:
        n = _labelled_int("host_table", "ホスト卓", v)
        if n is not None and not 1 <= n <= 1000:
            raise row_error("host_table", f"ホスト卓は 1〜1000 の番号です: {n}", f"host_table must be 1..1000, got {n}")
        return n


# -- outcome indicators (official statistics, per fiscal year) ------------------------------------
def parse_fiscal_year(v: Any) -> int | None:
    """「2024」「2024年度」「FY2024」「令和6年度」「R6」 → 2024."""
    s = clean(v).upper().replace("年度", "").replace("FY", "").strip()
    m = re.fullmatch(r"(?:令和|R)(\d{1,2})", s)
    if m:
        return 2018 + int(m.group(1))
    return int(s) if re.fullmatch(r"\d{4}", s) else None


class OutcomeRow(RowModel):
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("fy", ("年度", "fy", "fiscal_year"), "年度", 20, True),
        FieldSpec("establishments", ("事業所数", "establishments"), "事業所数", 30),
        FieldSpec("value_added", ("付加価値額（百万円）", "付加価値額", "value_added"), "付加価値額", 30),
        FieldSpec("value_added_per_worker", ("一人当たり付加価値額（万円）", "一人当たり付加価値額", "労働生産性",
                                             "value_added_per_worker"), "一人当たり付加価値額", 30),
        FieldSpec("source", ("出典", "source"), "出典", 200),
    )

    fy: int = Field(ge=2000, le=2100)
    establishments: int | None = None
    value_added: int | None = None
    value_added_per_worker: float | None = None
    source: str | None = None

    @field_validator("fy", mode="before")
    @classmethod
    def _fy(cls, v: Any) -> int:
        fy = parse_fiscal_year(_scalar("fy", "年度", v))
        if fy is None or not 2000 <= fy <= 2100:
            raise row_error("fy", f"年度「{clean(v)[:20]}」が読めません（例: 2024、2024年度、令和6年度）",
                            f"unreadable fiscal year {clean(v)[:20]!r}")
        return fy

    @field_validator("establishments", "value_added", mode="before")
    @classmethod
    def _count(cls, v: Any, info: ValidationInfo) -> int | None:
        return _labelled_int(info.field_name, cls.field_spec(info.field_name).label, v)

    @field_validator("value_added_per_worker", mode="before")
    @classmethod
    def _ratio(cls, v: Any) -> float | None:
        raw = clean(_scalar("value_added_per_worker", "一人当たり付加価値額", v)).replace(",", "")
        if not raw:
            return None
        if not re.fullmatch(r"\d{1,9}(\.\d{1,4})?", raw):
            raise row_error("value_added_per_worker", f"「一人当たり付加価値額」が数値ではありません: {raw[:30]}",
                            f"value_added_per_worker is not a number: {raw[:30]!r}")
        return float(raw)

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, v: Any) -> str | None:
        return clean(_scalar("source", "出典", v)) or None


# -- entity specifications ------------------------------------------------------------------------
@dataclass(frozen=True)
class EntitySpec:
    kind: str
    owner_type: str  # what the store calls an owner of this entity's documents
    model: type[RowModel]

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
    "decisions": EntitySpec("decisions", "decision", DecisionRow),
    "participants": EntitySpec("participants", "participant", ParticipantRow),
    "outcomes": EntitySpec("outcomes", "outcome", OutcomeRow),
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
