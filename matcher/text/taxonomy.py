"""The two vocabularies of what a firm does: JSIC (Rev. 14) industry codes shipped in
``corpora/jsic``, and process tags (加工・工程) found in text. The classifiers that learn JSIC codes
from text live in ``matcher.learn.jsic``."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from matcher.config import shipped_corpora


@dataclass(frozen=True)
class JsicCode:
    level: str
    code: str
    parent: str
    name: str
    name_en: str


@lru_cache(maxsize=2)
def load_jsic(path: Path | None = None) -> dict[str, JsicCode]:
    path = path or shipped_corpora() / "jsic" / "jsic_codes.csv"
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


# -- process vocabulary ------------------------------------------------------------------------
# The processes coordinators ask for, each with the surface forms (after matcher.text.normalize)
# that signal it. Order matters only for display.
PROCESSES: dict[str, tuple[str, ...]] = {
    "切削": ("切削", "旋削", "フライス", "マシニングセンタ", "5軸", "穴あけ", "NC旋盤", "自動旋盤", "複合加工"),
    "研削": ("研削", "研磨", "鏡面", "歯研", "ラップ加工", "ホーニング"),
    "板金": ("板金", "曲げ加工", "レーザ加工", "タレットパンチ", "製缶"),
    "プレス": ("プレス", "打抜き", "打ち抜き", "深絞り", "順送"),
    "溶接": ("溶接", "ろう付", "TIG", "MIG"),
    "鋳造": ("鋳造", "鋳物", "ダイカスト", "ロストワックス"),
    "鍛造": ("鍛造",),
    "熱処理": ("熱処理", "焼入れ", "焼き入れ", "焼戻し", "浸炭", "窒化", "焼なまし"),
    "めっき": ("めっき", "陽極酸化", "アルマイト", "化成処理", "表面処理", "電解研磨"),
    "塗装": ("塗装", "電着", "塗工"),
    "樹脂成形": ("樹脂成形", "射出成形", "インサート成形", "二色成形", "ブロー成形", "押出成形"),
    "基板実装": ("基板実装", "表面実装", "はんだ", "リフロー", "BGA"),
    "組込みソフト": ("組込みソフト", "組込み", "ファームウェア", "マイコン", "FPGA", "回路設計"),
    "試作": ("試作", "積層造形", "3Dプリンタ", "光造形"),
    "検査": ("検査", "測定", "三次元測定", "校正", "外観検査"),
    "金型": ("金型",),
    "放電加工": ("放電加工",),
    "組立": ("組立", "組み立て", "アッセンブリ"),
    "ばね加工": ("ばね", "スプリング"),
}


def _process_surface_index() -> list[tuple[str, str]]:
    pairs = [(surface, code) for code, surfaces in PROCESSES.items() for surface in surfaces]
    return sorted(pairs, key=lambda p: -len(p[0]))


_SURFACES = _process_surface_index()


def tag_processes(text: str) -> list[str]:
    """Process codes mentioned in (normalised) text, in vocabulary order."""
    found = {code for surface, code in _SURFACES if surface in text}
    return [code for code in PROCESSES if code in found]


def process_evidence(text: str, code: str) -> list[str]:
    """The surface forms in ``text`` that made it carry process ``code`` (for explanations)."""
    return [s for s in PROCESSES.get(code, ()) if s in text]


# -- JSIC tagging --------------------------------------------------------------------------------
def manufacturing_details() -> list[JsicCode]:
    """JSIC detail codes under major category E (manufacturing, middle codes 09–32)."""
    codes = load_jsic()
    middles = {c.code for c in codes.values() if c.level == "middle" and c.parent == "E"}
    minors = {c.code for c in codes.values() if c.level == "minor" and c.parent in middles}
    return [c for c in codes.values() if c.level == "detail" and c.parent in minors]
