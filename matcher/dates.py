"""Time as the engine keeps it (UTC, always aware) and as people read it (Japan time).

Everything stored is an aware UTC ``datetime`` (SQLModel's ``UTCDateTime`` columns make that
true on SQLite too); everything shown to a coordinator or a company is Japan time, written the way
Japanese offices write it (「2026年12月2日 05:06」). A moment too far out to be written in
Japan time (a ``9999-12-31T23:59:59`` typed by someone) is shown and counted as it is, never an
``OverflowError`` in a report.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
# 日野市産業振興計画 (2023–2032) starts with fiscal 2023: no decision is older than that.
PLAN_START = datetime(2023, 4, 1, tzinfo=JST)
CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of the server a client's clock may be


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(dt: datetime) -> datetime:
    """An aware UTC moment; a naive one is taken to be UTC already (how the store keeps time)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def from_japan(dt: datetime) -> datetime:
    """A time a person typed: naive means Japan time (the offices using this are in Japan)."""
    return (dt.replace(tzinfo=JST) if dt.tzinfo is None else dt).astimezone(UTC)


def to_jst(dt: datetime) -> datetime:
    """Japan time; a moment beyond what a datetime can hold in Japan time stays in UTC."""
    try:
        return as_utc(dt).astimezone(JST)
    except OverflowError:
        return as_utc(dt)


def format_jst(dt: datetime | None, time: bool = True) -> str:
    """「2026年12月2日 05:06」 (or the date alone); an empty string for no time."""
    if dt is None:
        return ""
    local = to_jst(dt)
    text = f"{local.year}年{local.month}月{local.day}日"
    return f"{text} {local:%H:%M}" if time else text
