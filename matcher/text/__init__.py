"""Japanese text: normalisation (NFKC + 表記ゆれ dictionary) and lemmas for lexical search.

Coordinators and companies write the same thing many ways (ＭＣ, マシニングセンター, M/C); the
normaliser folds those to one canonical spelling before anything is embedded or indexed, so that
BM25 and the explanations see one term. Lemmas come from fugashi + unidic-lite.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from importlib import resources

_SPACES = re.compile(r"[ \t\u3000]+")
# Characters that have no place in a profile or a name: NUL and other C0 controls (except tab and
# newline), bidi embedding/override/isolate controls (which can make a name read backwards), and
# zero-width characters (invisible, and they split words so search misses them).
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_NEWLINES = re.compile(r"\s*\n\s*")
_ASCII_WORD = re.compile(r"[A-Za-z]")
_ALNUM = re.compile(r"^[A-Za-z0-9.\-]+$")

# Parts of speech kept for lexical search (unidic pos1 / pos2). Particles, auxiliaries, symbols
# and dependent verbs (する, いる, なる …) carry no topic and would only add noise to BM25.
_KEEP_POS1 = {"名詞", "動詞", "形容詞", "形状詞", "接頭辞"}
_DROP_POS2 = {"非自立可能", "代名詞"}
STOPWORDS = frozenset(
    ["こと", "もの", "ため", "よう", "など", "弊社", "当社", "御社", "私", "我々", "場合", "対応", "可能", "ほか", "他", "等", "方", "者", "様", "中", "上", "下", "後", "前", "時", "間", "的", "化", "性", "それ", "これ", "所", "頃"]
)


@lru_cache(maxsize=1)
def hyoki_dictionary() -> dict[str, str]:
    """The shipped 表記ゆれ dictionary (``matcher/data/hyoki.tsv``), variant → canonical."""
    table: dict[str, str] = {}
    text = resources.files("matcher").joinpath("data/hyoki.tsv").read_text(encoding="utf-8")
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise ValueError(f"hyoki.tsv line {line_no}: expected variant<TAB>canonical")
        variant = unicodedata.normalize("NFKC", parts[0])
        table[variant] = unicodedata.normalize("NFKC", parts[1])
    return table


@lru_cache(maxsize=1)
def _hyoki_pattern() -> re.Pattern[str]:
    alternatives = []
    for variant in sorted(hyoki_dictionary(), key=len, reverse=True):
        escaped = re.escape(variant)
        # ASCII variants must stand as words: "MC" must not fire inside "EMC" or "MCU".
        if _ASCII_WORD.match(variant[0]):
            escaped = r"(?<![A-Za-z])" + escaped
        if _ASCII_WORD.match(variant[-1]):
            escaped = escaped + r"(?![A-Za-z])"
        alternatives.append(escaped)
    return re.compile("|".join(alternatives))


def strip_invisible(text: str) -> str:
    """Remove control, bidi-override and zero-width characters; CR LF and lone CR become LF."""
    return _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def normalize(text: str) -> str:
    """NFKC, no invisible characters, canonical spellings, single spaces; keeps line breaks as
    paragraph boundaries."""
    if not text:
        return ""
    text = strip_invisible(unicodedata.normalize("NFKC", text))
    table = hyoki_dictionary()
    text = _hyoki_pattern().sub(lambda m: table[m.group(0)], text)
    text = _SPACES.sub(" ", text)
    text = _NEWLINES.sub("\n", text)
    return text.strip()


_local = threading.local()


def tagger():
    """One MeCab tagger per thread: a tagger is not safe to share between the service's threads."""
    tagger = getattr(_local, "tagger", None)
    if tagger is None:
        import fugashi

        tagger = _local.tagger = fugashi.Tagger()  # unidic-lite is found automatically
    return tagger


def _lemma_of(word) -> str:
    lemma = word.feature.lemma
    if not lemma or lemma == "*":
        return word.surface
    # unidic writes loanwords as "センター-center"; the katakana head is the lemma.
    return lemma.split("-", 1)[0] if "-" in lemma and not lemma.startswith("-") else lemma


def lemmas(text: str, *, normalized: bool = False) -> list[str]:
    """Content-word lemmas for BM25: nouns, verbs, adjectives; ASCII codes kept whole (A5052)."""
    if not normalized:
        text = normalize(text)
    out: list[str] = []
    prev_ascii = False
    for word in tagger()(text):
        surface = word.surface
        is_ascii = bool(_ALNUM.match(surface))
        # Re-join codes fugashi splits apart: "ISO" + "9001" → "iso9001", "A" + "5052".
        if is_ascii and prev_ascii and not word.white_space and out:
            out[-1] = out[-1] + surface.lower()
            continue
        prev_ascii = is_ascii
        f = word.feature
        if f.pos1 not in _KEEP_POS1 or f.pos2 in _DROP_POS2:
            prev_ascii = False
            continue
        lemma = surface.lower() if is_ascii else _lemma_of(word)
        if lemma in STOPWORDS or len(lemma) == 0:
            continue
        out.append(lemma)
    return out


def split_sentences(text: str) -> list[str]:
    """Sentence-ish units, used to cut long documents into passages at natural boundaries."""
    parts = re.split(r"(?<=[。！？!?])|\n", text)
    return [p.strip() for p in parts if p and p.strip()]
