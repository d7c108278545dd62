"""Terms two texts share, quoted as a reader sees them (for explanations)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from matcher.text import split_sentences, tagger

# Content-word parts of speech whose surface forms may be quoted as shared terms.
_TERM_POS = {"名詞"}
_TERM_STOP = {"加工", "製造", "部品", "対応", "会社", "当社", "製作", "可能", "実績", "技術", "こと", "依頼", "月"}


@lru_cache(maxsize=8192)
def nouns(text: str) -> tuple[str, ...]:
    """Content nouns of a text, in order. Cached: a shortlist explains ten candidates against the
    same query, and the same candidate documents come back across shortlists."""
    out, prefix = [], ""
    for w in tagger()(text):
        # A prefix or a one-character noun joins the next word (半 + 導体 → 半導体), so the
        # quoted term is the word a reader sees, not a fragment of it.
        if w.feature.pos1 == "接頭辞" or (w.feature.pos1 == "名詞" and len(w.surface) == 1):
            prefix += w.surface
            continue
        s = prefix + w.surface
        prefix = ""
        if w.feature.pos1 in _TERM_POS and w.feature.pos2 != "数詞" and len(s) >= 2 and s not in _TERM_STOP:
            out.append(s)
    return tuple(out)


# A word used by more than this share of a corpus's owners is its template ("…年に日野市で創業",
# "…を中心に"): it says nothing about one pair. Below MIN_OWNERS there is too little to tell.
BOILERPLATE_SHARE = 0.2
MIN_OWNERS = 20


@dataclass(frozen=True)
class TermStats:
    """How many owners (organisations, seeds) of one corpus use each noun."""

    df: dict[str, int]
    n: int

    @classmethod
    def of(cls, texts: Iterable[str]) -> TermStats:
        df: dict[str, int] = {}
        n = 0
        for text in texts:
            n += 1
            for t in set(nouns(text)):
                df[t] = df.get(t, 0) + 1
        return cls(df, n)

    def idf(self, term: str) -> float:
        return math.log((self.n + 1) / (self.df.get(term, 0) + 1)) + 1.0

    def boilerplate(self, term: str) -> bool:
        return self.n >= MIN_OWNERS and self.df.get(term, 0) / self.n > BOILERPLATE_SHARE


def _nouns_where(text: str, words: list[str]) -> set[str]:
    """The nouns of the sentences of ``text`` that contain one of ``words``. Only those sentences
    are tokenised, each on its own (and cached: candidates' documents come back across
    shortlists): tokenising every candidate's whole text was most of an explanation's cost."""
    out: set[str] = set()
    for sentence in split_sentences(text):
        if any(w in sentence for w in words):
            out.update(nouns(sentence))
    return out


def shared_terms(query_text: str, cand_text: str, limit: int = 5, stats: TermStats | None = None) -> list[str]:
    """Nouns that literally occur in both texts, as nouns in both (surface forms, so they can be
    quoted: 導体 in a query is not shared with 半導体); with the candidate corpus's ``stats``, its
    template words are left out and the rarest come first."""
    present = [t for t in dict.fromkeys(nouns(query_text)) if t in query_text and t in cand_text]
    cand_set = _nouns_where(cand_text, present) if present else set()
    terms = [t for t in present if t in cand_set]
    if stats is not None:
        terms = sorted((t for t in terms if not stats.boilerplate(t)), key=lambda t: -stats.idf(t))
    return terms[:limit]


def missing_terms(query_text: str, cand_text: str, limit: int = 5) -> list[str]:
    """The query's nouns the candidate's texts never use, the most repeated first (why-not)."""
    counts: dict[str, int] = {}
    for t in nouns(query_text):
        counts[t] = counts.get(t, 0) + 1
    ranked = sorted(counts, key=lambda t: (-counts[t], list(counts).index(t)))
    return [t for t in ranked if t not in cand_text][:limit]


@lru_cache(maxsize=4096)
def compounds(text: str) -> tuple[str, ...]:
    """Whole words as a reader writes them: runs of nouns joined with their prefixes, noun-like
    suffixes and a leading 形状詞 (天井+クレーン → 天井クレーン, クリーン+ルーム → クリーンルーム,
    中+小+製造+業 → 中小製造業), so a label never quotes a fragment of a compound. A number is part
    of the word when it names a thing (5軸マシニングセンタ, 3Dプリンタ, SS400) and ends it when it
    counts (「1985年」, 「30名」, 「500台」 are not words to label anything with)."""
    out: list[str] = []
    run: list[str] = []
    nouns_in_run = 0

    def close() -> None:
        nonlocal run, nouns_in_run
        word = "".join(run)
        if nouns_in_run and len(word) >= 2 and word not in _TERM_STOP:
            out.append(word)
        run, nouns_in_run = [], 0

    words = list(tagger()(text))
    skip_counter = False
    for i, w in enumerate(words):
        pos1, pos2 = w.feature.pos1, w.feature.pos2
        if skip_counter:
            skip_counter = False
            if pos1 == "名詞" and w.feature.pos3 == "助数詞可能":
                continue
        if pos1 == "名詞" and pos2 == "数詞":
            nxt = words[i + 1] if i + 1 < len(words) else None
            counts = nxt is not None and nxt.feature.pos1 == "名詞" and nxt.feature.pos3 == "助数詞可能"
            names = (nxt is not None and nxt.feature.pos1 == "名詞" and nxt.feature.pos2 != "数詞" and not counts) or (
                run and run[-1].isascii() and run[-1].isalpha())
            if names and not counts:
                run.append(w.surface)
            else:
                close()
                skip_counter = counts
        elif pos1 == "名詞":
            run.append(w.surface)
            nouns_in_run += 1
        elif pos1 == "接頭辞" or (pos1 == "形状詞" and not run):
            if nouns_in_run:
                close()
            run.append(w.surface)
        elif pos1 == "接尾辞" and pos2 == "名詞的" and nouns_in_run:
            run.append(w.surface)
        else:
            close()
    close()
    return tuple(out)
