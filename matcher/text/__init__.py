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
# Every character that ``str.splitlines`` treats as a line break (CR LF, VT, FF, the file /
# group / record separators, NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR). Text keeps them only as
# LF, so "one line" means the same thing to the normaliser, to a mail header and to a CSV cell.
LINE_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_BREAK = re.compile("\r\n|[" + LINE_BREAKS + "]")


def _ranges(codepoints: list[int]) -> str:
    out, start = [], None
    for cp, nxt in zip(codepoints, codepoints[1:] + [None], strict=True):
        start = cp if start is None else start
        if nxt != cp + 1:
            out.append(re.escape(chr(start)) + ("" if start == cp else "-" + re.escape(chr(cp))))
            start = None
    return "".join(out)


def _invisible_class() -> str:
    """Control characters (C0 except tab and LF, DEL, C1), format characters (bidi embedding /
    override / isolate marks, zero-width characters, the BOM, soft hyphen, tag characters) and
    lone surrogates (a JSON ``\\ud800`` escape): none belongs in a profile or a name — they hide
    text, reorder it or make it unstorable as UTF-8."""
    cps = [cp for cp in range(0x110000)
           if (unicodedata.category(chr(cp)) in ("Cc", "Cf", "Cs") and chr(cp) not in "\t\n")]
    return "[" + _ranges(cps) + "]"


_INVISIBLE = re.compile(_invisible_class())
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
    """Every Unicode line break becomes LF; control, format (bidi, zero-width) and surrogate
    characters are removed. What remains can only break a line at an LF."""
    return _INVISIBLE.sub("", _LINE_BREAK.sub("\n", text))


def one_line(text: str | None, limit: int | None = None) -> str:
    """Text for a single-line output (a mail header, a CSV cell, a file name, a page title):
    nothing in it can start a new line or a new header, whatever was stored."""
    out = _SPACES.sub(" ", strip_invisible(str(text or "")).replace("\n", " ")).strip()
    return out[:limit] if limit is not None else out


def id_key(ref: str | int) -> str:
    """An identifier as people type it (「ｈｃ００４０」, " hc0040 "): NFKC, no invisible
    characters or spaces around it, upper case — what stored ids are compared by."""
    return strip_invisible(unicodedata.normalize("NFKC", str(ref))).strip().upper()


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
