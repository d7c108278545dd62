"""Capability taxonomy: JSIC (Rev. 14) codes shipped in ``corpora/jsic``, plus process tags."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from matcher.config import get_settings


@dataclass(frozen=True)
class JsicCode:
    level: str
    code: str
    parent: str
    name: str
    name_en: str


@lru_cache(maxsize=2)
def load_jsic(path: Path | None = None) -> dict[str, JsicCode]:
    path = path or get_settings().corpora_dir / "jsic" / "jsic_codes.csv"
    with Path(path).open(encoding="utf-8") as fh:
        return {r["code"]: JsicCode(r["level"], r["code"], r["parent"], r["name"], r["name_en"])
                for r in csv.DictReader(fh)}


def normalize_jsic_code(code: str) -> str | None:
    """A known JSIC code in canonical form, or None. Excel drops leading zeros (0911 → 911),
    so a code one digit short is retried with the zero put back."""
    codes = load_jsic()
    code = code.strip().upper()
    if code in codes:
        return code
    if code.isdigit() and len(code) in (1, 3) and code.zfill(len(code) + 1) in codes:
        return code.zfill(len(code) + 1)
    return None


def jsic_name(code: str) -> str | None:
    entry = load_jsic().get(code)
    return entry.name if entry else None
