"""Terms two texts share, quoted as a reader sees them (for explanations)."""

from __future__ import annotations

from functools import lru_cache

from matcher.text import tagger

# Content-word parts of speech whose surface forms may be quoted as shared terms.
_TERM_POS = {"名詞"}
_TERM_STOP = {"加工", "製造", "部品", "対応", "会社", "当社", "製作", "可能", "実績", "技術", "こと", "依頼", "月"}


@lru_cache(maxsize=2048)
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


def shared_terms(query_text: str, cand_text: str, limit: int = 5) -> list[str]:
    """Nouns that literally occur in both texts (surface forms, so they can be quoted)."""
    cand_set = set(nouns(cand_text))
    terms = [t for t in dict.fromkeys(nouns(query_text)) if t in cand_set]
    return [t for t in terms if t in query_text and t in cand_text][:limit]
