"""The rows of what happens around the catalogue: bulk decisions, forum participants and the
plan's outcome indicators."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from matcher.dates import CLOCK_SKEW, PLAN_START, from_japan, utcnow
from matcher.exchange.spec.base import (
    ORG_KIND,
    FieldSpec,
    RowModel,
    _known_org,
    _labelled_int,
    _scalar,
    clean,
    row_error,
    split_items,
)
from matcher.exchange.spec.catalog_rows import (
    LinkedRow,
)
from matcher.labels import REJECT_REASON_JA

# -- decisions ------------------------------------------------------------------------------------
VERDICTS = {"accept": "accept", "承認": "accept", "採用": "accept", "○": "accept",
            "reject": "reject", "却下": "reject", "不採用": "reject", "×": "reject",
            "skip": "skip", "保留": "skip", "スキップ": "skip"}
_REASONS_EN = {"process_mismatch": "processes do not match", "distance": "too far", "size": "size does not fit",
               "existing_relationship": "already trading", "competitor": "competitor", "other": "other"}
REASONS: dict[str, tuple[str, str]] = {code: (ja, _REASONS_EN[code]) for code, ja in REJECT_REASON_JA.items()}
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
