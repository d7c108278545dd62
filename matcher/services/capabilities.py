"""Capabilities inferred from what organisations write about themselves.

Each sentence of an organisation's profile and track record is tagged with JSIC detail codes by
the learned tagger (fitted on the shipped labelled phrases); a code is kept when its blended score
reaches ``MIN_CONFIDENCE``, with that score as its confidence and the sentence that implied it as
evidence. Declared codes (from the import) are never touched; inferred ones are replaced on each
run, so a profile edit is reflected.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import select

from matcher.learn.jsic import LearnedJsicTagger, load_examples
from matcher.store.db import session_scope
from matcher.store.tables import Document, IndustryCode, Organization
from matcher.text import split_sentences

MIN_CONFIDENCE = 0.13  # blended score; on the demo profiles the median best sentence scores 0.133
MAX_PER_ORG = 3


@dataclass(frozen=True, kw_only=True)
class Inferred:
    org_id: int
    code: str
    confidence: float
    evidence: str


def infer_capabilities(engine: Engine, embedder, min_confidence: float = MIN_CONFIDENCE,
                       tagger: LearnedJsicTagger | None = None) -> list[Inferred]:
    """``tagger``: an already fitted one (fitting takes seconds); by default one is fitted on the
    shipped labelled phrases."""
    tagger = tagger or LearnedJsicTagger(embedder).fit(load_examples())
    with session_scope(engine) as s:
        docs = s.exec(select(Document).where(Document.owner_type == "organization",
                                             Document.kind.in_(["profile", "track_record"]))).all()
        live = {o.id for o in s.exec(select(Organization).where(Organization.deleted_at.is_(None)))}
    sentences = [(d.owner_id, sent) for d in docs if d.owner_id in live for sent in split_sentences(d.text)
                 if len(sent) >= 6][:50_000]
    best: dict[tuple[int, str], Inferred] = {}
    tops = tagger.top_k([sent for _, sent in sentences], 1) if sentences else []
    for (org_id, sent), top in zip(sentences, tops, strict=True):
        code, score = top[0]
        key = (org_id, code)
        if score >= min_confidence and (key not in best or best[key].confidence < score):
            best[key] = Inferred(org_id=org_id, code=code, confidence=round(score, 4), evidence=sent[:300])
    by_org: dict[int, list[Inferred]] = {}
    for inf in best.values():
        by_org.setdefault(inf.org_id, []).append(inf)
    kept = [inf for lst in by_org.values() for inf in sorted(lst, key=lambda i: -i.confidence)[:MAX_PER_ORG]]
    with session_scope(engine) as s:
        for cap in s.exec(select(IndustryCode).where(IndustryCode.source == "inferred")).all():
            s.delete(cap)
        s.flush()
        declared = {(c.org_id, c.code) for c in s.exec(select(IndustryCode))}
        for inf in kept:
            if (inf.org_id, f"jsic:{inf.code}") not in declared:
                s.add(IndustryCode(org_id=inf.org_id, code=f"jsic:{inf.code}", source="inferred",
                                 confidence=inf.confidence, evidence=inf.evidence))
    return sorted(kept, key=lambda i: (i.org_id, -i.confidence))
