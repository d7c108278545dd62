"""The catalogue's rows: organisations, needs and research seeds."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from matcher.exchange.spec.base import (
    NEED_STATUS,
    ORG_KIND,
    URL,
    FieldSpec,
    RowModel,
    _flag,
    _known_org,
    _labelled_int,
    _scalar,
    clean,
    clean_multiline,
    email_value,
    row_error,
    split_items,
)
from matcher.text import normalize
from matcher.text.taxonomy import normalize_jsic_code


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
        return email_value(v)

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
