"""Shortlists as JSON: the CLI's ``--json`` and the API's response models, built from the typed
scored graph at the last moment."""

from __future__ import annotations

from pydantic import BaseModel

from matcher.dates import format_jst
from matcher.graph.model import Party, ScoredEdge, ScoredGraph, Shortlist
from matcher.labels import (
    CONTACT_MODE_JA,
    KIND_JA,
    PERSON_CATEGORY_JA,
    REASONS_EN,
    REASONS_JA,
    REJECT_REASON_JA,
    VERDICT_JA,
    fit_label,
)
from matcher.search.retrieve import DEPTH
from matcher.services.shortlists import WhyNot
from matcher.views.suggestions import DecisionOut, decision_out


class OrgOut(BaseModel):
    id: int
    external_id: str
    name: str
    kind: str | None
    kind_ja: str | None
    city: str | None
    employees: int | None
    certifications: list[str]
    processes: list[str]
    jsic_codes: list[str]


class SeedOut(BaseModel):
    id: int
    external_id: str
    title: str
    institution: str | None
    keywords: list[str]
    url: str | None
    source: str | None


class PersonOut(BaseModel):
    """A person as a coordinator sees them on a list: never their e-mail address."""

    id: int
    external_id: str
    name: str
    category: str | None
    category_ja: str | None
    specialities: list[str]
    processes: list[str]
    contact_mode: str | None
    contact_mode_ja: str | None
    hours_per_month: int | None
    city: str | None
    languages: list[str]


class NeedOut(BaseModel):
    id: int
    external_id: str
    org_id: int | None
    org_name: str | None
    title: str
    required_processes: list[str]


class QueryOut(BaseModel):
    type: str
    id: int
    title: str


class CandidateOut(BaseModel):
    suggestion_id: int | None
    rank: int
    score: float
    candidate_type: str
    covered_processes: list[str]
    matched_terms: list[str]
    features: dict[str, float]
    drivers: dict[str, float]
    reason: str
    decision: DecisionOut | None
    fit: str
    org: OrgOut | None = None
    seed: SeedOut | None = None
    person: PersonOut | None = None
    need: NeedOut | None = None  # a person's list: the need this edge proposes them for


class ExcludedOut(BaseModel):
    candidate_type: str
    id: int
    name: str
    reason_code: str
    reason: str
    reason_en: str


class ShortlistOut(BaseModel):
    query: QueryOut
    model_version: str
    run_id: str | None
    candidates: list[CandidateOut]
    excluded: list[ExcludedOut]
    need: NeedOut | None = None
    seed: SeedOut | None = None
    org: OrgOut | None = None
    person: PersonOut | None = None


class CapOut(BaseModel):
    uncapped_total: float
    capped_total: float
    cost: float
    status: str
    capped_out: dict[str, list[int]]


class ExposureOut(BaseModel):
    cap: int
    organization: CapOut | None = None
    seed: CapOut | None = None
    person: CapOut | None = None


class BatchOut(BaseModel):
    run_id: str
    shortlists: list[ShortlistOut]
    exposure: ExposureOut


class WhyNotOut(BaseModel):
    need: str
    org: str
    name: str
    status: str
    reason: str
    reason_code: str | None = None
    rank: int | None = None
    score: float | None = None
    kth_score: float | None = None
    features: dict[str, float] | None = None
    k: int | None = None  # the length of the list it was ranked against
    missing_processes: list[str] | None = None
    missing_terms: list[str] | None = None
    decision: DecisionOut | None = None  # the coordinator's latest verdict on this pair


def org_out(p: Party) -> OrgOut:
    return OrgOut(id=p.id, external_id=p.external_id, name=p.name, kind=p.kind,
                  kind_ja=KIND_JA.get(p.kind or "", p.kind), city=p.city, employees=p.employees,
                  certifications=list(p.certifications), processes=list(p.processes),
                  jsic_codes=list(p.jsic_codes))


def seed_out(p: Party) -> SeedOut:
    return SeedOut(id=p.id, external_id=p.external_id, title=p.name, institution=p.institution,
                   keywords=list(p.keywords), url=p.url, source=p.source)


def person_out(p: Party) -> PersonOut:
    return PersonOut(id=p.id, external_id=p.external_id, name=p.name, category=p.category,
                     category_ja=PERSON_CATEGORY_JA.get(p.category or ""), specialities=list(p.specialities),
                     processes=list(p.processes), contact_mode=p.contact_mode,
                     contact_mode_ja=CONTACT_MODE_JA.get(p.contact_mode or ""), hours_per_month=p.hours_per_month,
                     city=p.city, languages=list(p.languages))


def need_out(p: Party) -> NeedOut:
    return NeedOut(id=p.id, external_id=p.external_id, org_id=p.org_id, org_name=p.org_name, title=p.name,
                   required_processes=list(p.required))


def candidate_out(e: ScoredEdge, sl_query_type: str = "need") -> CandidateOut:
    out = CandidateOut(suggestion_id=e.suggestion_id, rank=e.rank or 0, score=e.score,
                       candidate_type=e.candidate_type, covered_processes=list(e.covered),
                       matched_terms=list(e.matched_terms), features=e.features, drivers=e.drivers, reason=e.reason,
                       fit=fit_label(e.score),
                       decision=DecisionOut(suggestion_id=e.decision.suggestion_id, verdict=e.decision.verdict,
                                            reason=e.decision.reason, by=e.decision.by,
                                            at=e.decision.at) if e.decision else None)
    if e.candidate_type == "organization":
        out.org = org_out(e.candidate)
    elif e.candidate_type == "person":
        out.person = person_out(e.candidate)
    else:
        out.seed = seed_out(e.candidate)
    if e.query.type == "need" and sl_query_type != "need":
        out.need = need_out(e.query)
    return out


def excluded_out(e: ScoredEdge) -> ExcludedOut:
    code = e.excluded or ""
    return ExcludedOut(candidate_type=e.candidate_type, id=e.candidate.id, name=e.candidate.name, reason_code=code,
                       reason=REASONS_JA.get(code, code), reason_en=REASONS_EN.get(code, code))


def shortlist_out(sl: Shortlist) -> ShortlistOut:
    q = sl.query
    out = ShortlistOut(query=QueryOut(type=q.type, id=q.id, title=q.name), model_version=sl.model_version,
                       run_id=sl.run_id, candidates=[candidate_out(e, q.type) for e in sl.candidates],
                       excluded=[excluded_out(e) for e in sl.excluded])
    if q.type == "need":
        out.need = need_out(q)
    elif q.type == "seed":
        out.seed = seed_out(q)
    elif q.type == "person":
        out.person = person_out(q)
    else:
        out.org = org_out(q)
    return out


def batch_out(g: ScoredGraph) -> BatchOut:
    exposure = ExposureOut(cap=g.cap)
    for cand_type, r in g.exposure.items():
        setattr(exposure, cand_type, CapOut(uncapped_total=r.uncapped_total, capped_total=r.capped_total,
                                            cost=r.cost, status=r.status,
                                            capped_out={str(n): v for n, v in r.capped_out.items()}))
    return BatchOut(run_id=g.run_id, shortlists=[shortlist_out(s) for s in g.shortlists], exposure=exposure)


def why_not_out(w: WhyNot) -> WhyNotOut:
    base = {"need": w.need.external_id, "org": w.org.external_id, "name": w.org.name, "status": w.status, "k": w.k,
            "missing_processes": list(w.missing), "missing_terms": list(w.missing_terms),
            "decision": decision_out(w.decision)}
    details = why_not_details(w)
    if w.status == "excluded":
        code = w.reason_code or ""
        return WhyNotOut(**base, reason_code=code, reason="。".join([f"除外: {REASONS_JA.get(code, code)}", *details]))
    if w.status == "not_retrieved":
        head = f"検索上位 {DEPTH} 件（意味・語句の両方）に入っていません"
        return WhyNotOut(**base, reason="。".join([head, *details]))
    head = (f"{w.rank} 位で、表示中の上位 {w.k} 件に入っています（スコア {w.score:.3f}）" if w.status == "shortlisted"
            else f"{w.rank} 位で、表示中の上位 {w.k} 件の最下位スコア {w.kth_score:.3f} に届きません"
                 f"（この候補 {w.score:.3f}）")
    return WhyNotOut(**base, rank=w.rank, score=w.score, kth_score=w.kth_score, features=w.features,
                     reason="。".join([head, *details]))


def why_not_details(w: WhyNot) -> list[str]:
    """The parts a coordinator reads after the verdict: processes, words, earlier decisions."""
    out = []
    if w.missing:
        out.append(f"必要工程のうち {'・'.join(w.missing)} を登録していません")
    elif w.need.required:
        out.append("必要工程はすべて登録しています")
    if w.missing_terms:
        out.append(f"案件の語「{'・'.join(w.missing_terms)}」が紹介文にありません")
    if w.decision is not None:
        verdict = VERDICT_JA.get(w.decision.verdict, w.decision.verdict)
        why = f"（理由: {REJECT_REASON_JA.get(w.decision.reason or '', w.decision.reason)}）" if w.decision.reason else ""
        out.append(f"{format_jst(w.decision.at)} に担当者がこの組み合わせを「{verdict}」としています{why}")
    return out