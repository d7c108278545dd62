"""人材: a person of the registry as one import row."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from matcher.exchange.spec.base import (
    FieldSpec,
    RowModel,
    _flag,
    _labelled_int,
    _scalar,
    clean,
    clean_multiline,
    email_value,
    row_error,
    split_items,
)
from matcher.store.tables import erased_person_key
from matcher.text import normalize

PERSON_CATEGORY = {
    "シニア・ob": "senior", "シニア": "senior", "ob": "senior", "og": "senior", "ob・og": "senior",
    "リタイア": "senior", "senior": "senior",
    "現役・副業": "active", "現役": "active", "副業": "active", "active": "active",
    "学生": "student", "student": "student",
    "留学生": "international", "international": "international",
    "その他": "other", "other": "other",
}
CONTACT_MODE = {"訪問": "visit", "visit": "visit", "オンライン": "online", "online": "online",
                "どちらも": "both", "両方": "both", "訪問・オンライン": "both", "both": "both"}
MAX_HOURS = 200  # a month has about 160 working hours: more is a typo, not an advisor


class PersonRow(RowModel):
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("external_id", ("人材ID", "person_id", "id"), "人材ID", 64, True, "external_id"),
        FieldSpec("name", ("氏名", "名前", "name"), "氏名", 100, True, "name"),
        FieldSpec("category", ("区分", "category"), "区分", 20, column="category"),
        FieldSpec("background", ("所属・経歴", "経歴", "所属", "background"), "所属・経歴", 5000, column="background"),
        FieldSpec("specialities", ("専門分野", "専門分野（;区切り）", "専門", "specialities"), "専門分野", 2000,
                  column="specialities"),
        FieldSpec("intro", ("紹介文", "自己紹介", "intro"), "紹介文", 20000, column="intro"),
        FieldSpec("hours_per_month", ("対応可能時間", "対応可能時間（時間/月）", "hours_per_month"), "対応可能時間", 40,
                  column="hours_per_month"),
        FieldSpec("contact_mode", ("対応形態", "contact_mode"), "対応形態", 20, column="contact_mode"),
        FieldSpec("city", ("所在地", "city"), "所在地", 100, column="city"),
        FieldSpec("languages", ("言語", "languages"), "言語", 200, column="languages"),
        FieldSpec("email", ("メール", "メールアドレス", "email"), "メール", 254, column="email"),
        FieldSpec("affiliation", ("所属企業ID", "affiliation"), "所属企業ID", 64, column="affiliation"),
        FieldSpec("conflicts", ("利益相反", "利益相反（企業ID;区切り）", "conflicts"), "利益相反", 2000,
                  column="conflicts"),
        FieldSpec("consent", ("本人同意", "consent"), "本人同意", 20, column="consent"),
        FieldSpec("publish", ("公開", "publish"), "公開", 20, column="publish"),
        FieldSpec("fictional", ("架空", "fictional"), "架空", 20, column="fictional"),
    )

    external_id: str = Field(max_length=64)
    name: str = Field(max_length=100)
    category: Literal["senior", "active", "student", "international", "other"] = "other"
    background: str = ""
    specialities: list[str] = Field(default_factory=list)
    intro: str = ""
    hours_per_month: int | None = Field(default=None, ge=0, le=MAX_HOURS)
    contact_mode: Literal["visit", "online", "both"] = "both"
    city: str | None = None
    languages: list[str] = Field(default_factory=list)
    email: str | None = None
    affiliation: str | None = Field(default=None, description="所属企業ID: the employer, whose declared conflicts "
                                    "and competitors the person inherits")
    conflicts: list[str] = Field(default_factory=list, description="企業ID the person must never advise "
                                 "(a former employer declared as a conflict, say)")
    consent: bool = Field(default=False, description="本人同意: without it the person is never suggested")
    publish: bool = False
    fictional: bool = False

    @field_validator("external_id", "name", "city", "affiliation", mode="before")
    @classmethod
    def _text(cls, v: Any, info: ValidationInfo) -> str | None:
        spec = cls.field_spec(info.field_name)
        out = clean(_scalar(spec.name, spec.label, v))
        return out if out or spec.required else None

    @field_validator("external_id")
    @classmethod
    def _not_erased(cls, v: str, info: ValidationInfo) -> str:
        erased = (info.context or {}).get("erased_people")
        if erased and erased_person_key(v) in erased:
            raise row_error("external_id", f"人材ID「{v}」の方は登録削除済みです。名簿から外してください"
                            "（再登録は本人の新たな同意を得て、新しい人材IDで行います）",
                            f"person {v!r} erased their registration; remove them from the roster")
        return v

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, v: Any) -> str:
        raw = clean(_scalar("category", "区分", v)) or "その他"
        category = PERSON_CATEGORY.get(raw.lower().replace("/", "・"))
        if category is None:
            raise row_error("category", f"区分「{raw[:40]}」は不明です（シニア・OB/現役・副業/学生/留学生/その他）",
                            f"unknown category {raw[:40]!r} (senior/active/student/international/other)")
        return category

    @field_validator("contact_mode", mode="before")
    @classmethod
    def _mode(cls, v: Any) -> str:
        raw = clean(_scalar("contact_mode", "対応形態", v)) or "どちらも"
        mode = CONTACT_MODE.get(raw.lower().replace("/", "・"))
        if mode is None:
            raise row_error("contact_mode", f"対応形態「{raw[:20]}」は不明です（訪問/オンライン/どちらも）",
                            f"unknown contact mode {raw[:20]!r} (visit/online/both)")
        return mode

    @field_validator("hours_per_month", mode="before")
    @classmethod
    def _hours(cls, v: Any) -> int | None:
        if isinstance(v, str):
            v = clean(v).removesuffix("/月").removesuffix("時間").removeprefix("月")
        hours = _labelled_int("hours_per_month", "対応可能時間", v)
        if hours is not None and hours > MAX_HOURS:
            raise row_error("hours_per_month", f"「対応可能時間」は月 {MAX_HOURS} 時間までです: {hours}",
                            f"hours_per_month must be at most {MAX_HOURS}, got {hours}")
        return hours

    @field_validator("specialities", "languages", "conflicts", mode="before")
    @classmethod
    def _list(cls, v: Any) -> list[str]:
        return split_items(v)

    @field_validator("background", "intro", mode="before")
    @classmethod
    def _long_text(cls, v: Any, info: ValidationInfo) -> str:
        return normalize(clean_multiline(_scalar(info.field_name, cls.field_spec(info.field_name).label, v)))

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, v: Any) -> str | None:
        return email_value(v)

    @field_validator("consent", "publish", "fictional", mode="before")
    @classmethod
    def _flags(cls, v: Any, info: ValidationInfo) -> bool:
        return _flag(info.field_name, cls.field_spec(info.field_name).label, v, False)
