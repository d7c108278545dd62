"""How the scored graph is shown at the edges: the JSON of the CLI and the API's response models.

These pydantic models are the documented JSON shapes (README, OpenAPI). They are built from the
typed objects at the last moment; nothing inside the engine passes them around. Optional blocks
(``org`` or ``seed`` on a candidate, ``need`` / ``seed`` / ``org`` on a shortlist) are left out
rather than set to null, so dump them with ``exclude_unset=True`` (``as_json`` does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from matcher.dates import format_jst
from matcher.errors import NotReady
from matcher.graph.constraints import REASONS_EN, REASONS_JA
from matcher.graph.model import Party, ScoredEdge, ScoredGraph, Shortlist
from matcher.labels import ranker_ja  # noqa: F401 — the edges name rankers through views
from matcher.search.retrieve import DEPTH
from matcher.services.forum import ForumChart
from matcher.services.groups import GroupProposal
from matcher.services.proposals import CompanyItem
from matcher.services.shortlists import WhyNot
from matcher.services.sig import SigMember, SigProposal
from matcher.store.tables import KIND_JA


class OrgOut(BaseModel):
    id: int
    external_id: str
    name: str
    kind: str | None
    kind_ja: str | None
    city: str | None
    employees: int | None
    certifications: list[str]
    capabilities: list[str]
    jsic_codes: list[str]


class SeedOut(BaseModel):
    id: int
    external_id: str
    title: str
    institution: str | None
    keywords: list[str]
    url: str | None
    source: str | None


class NeedOut(BaseModel):
    id: int
    external_id: str
    org_id: int | None
    org_name: str | None
    title: str
    required_capabilities: list[str]


class QueryOut(BaseModel):
    type: str
    id: int
    title: str


class DecisionOut(BaseModel):
    verdict: str
    reason: str | None
    by: str | None
    at: str


class CandidateOut(BaseModel):
    suggestion_id: int | None
    rank: int
    score: float
    candidate_type: str
    covered_capabilities: list[str]
    matched_terms: list[str]
    features: dict[str, float]
    drivers: dict[str, float]
    reason: str
    decision: DecisionOut | None
    fit: str
    org: OrgOut | None = None
    seed: SeedOut | None = None


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


# 適合度: what a score means to a coordinator. Both the cold-start scorer and the blended ranker
# score on a 0–1 scale; the bands are documented in the README.
FIT_BANDS = ((0.6, "高"), (0.4, "中"))


def fit_label(score: float) -> str:
    return next((label for floor, label in FIT_BANDS if score >= floor), "低")


def as_json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_unset=True)


def org_out(p: Party) -> OrgOut:
    return OrgOut(id=p.id, external_id=p.external_id, name=p.name, kind=p.kind,
                  kind_ja=KIND_JA.get(p.kind or "", p.kind), city=p.city, employees=p.employees,
                  certifications=list(p.certifications), capabilities=list(p.processes),
                  jsic_codes=list(p.jsic_codes))


def seed_out(p: Party) -> SeedOut:
    return SeedOut(id=p.id, external_id=p.external_id, title=p.name, institution=p.institution,
                   keywords=list(p.keywords), url=p.url, source=p.source)


def need_out(p: Party) -> NeedOut:
    return NeedOut(id=p.id, external_id=p.external_id, org_id=p.org_id, org_name=p.org_name, title=p.name,
                   required_capabilities=list(p.required))


def candidate_out(e: ScoredEdge) -> CandidateOut:
    out = CandidateOut(suggestion_id=e.suggestion_id, rank=e.rank or 0, score=e.score,
                       candidate_type=e.candidate_type, covered_capabilities=list(e.covered),
                       matched_terms=list(e.matched_terms), features=e.features, drivers=e.drivers, reason=e.reason,
                       fit=fit_label(e.score),
                       decision=DecisionOut(verdict=e.decision.verdict, reason=e.decision.reason, by=e.decision.by,
                                            at=e.decision.at.isoformat()) if e.decision else None)
    if e.candidate_type == "organization":
        out.org = org_out(e.candidate)
    else:
        out.seed = seed_out(e.candidate)
    return out


def excluded_out(e: ScoredEdge) -> ExcludedOut:
    code = e.excluded or ""
    return ExcludedOut(candidate_type=e.candidate_type, id=e.candidate.id, name=e.candidate.name, reason_code=code,
                       reason=REASONS_JA.get(code, code), reason_en=REASONS_EN.get(code, code))


def shortlist_out(sl: Shortlist) -> ShortlistOut:
    q = sl.query
    out = ShortlistOut(query=QueryOut(type=q.type, id=q.id, title=q.name), model_version=sl.model_version,
                       run_id=sl.run_id, candidates=[candidate_out(e) for e in sl.candidates],
                       excluded=[excluded_out(e) for e in sl.excluded])
    if q.type == "need":
        out.need = need_out(q)
    elif q.type == "seed":
        out.seed = seed_out(q)
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
    base = {"need": w.need.external_id, "org": w.org.external_id, "name": w.org.name, "status": w.status}
    if w.status == "excluded":
        code = w.reason_code or ""
        return WhyNotOut(**base, reason_code=code, reason=REASONS_JA.get(code, code))
    if w.status == "not_retrieved":
        return WhyNotOut(**base, reason=f"検索上位 {DEPTH} 件（意味・語句の両方）に入っていません")
    return WhyNotOut(**base, rank=w.rank, score=w.score, kth_score=w.kth_score, features=w.features,
                     reason=f"{w.rank} 位（上位 {w.k} 件の最下位スコア {w.kth_score:.3f}、この候補 {w.score:.3f}）")


# -- joint-order groups ----------------------------------------------------------------------------
class MemberOrgOut(BaseModel):
    id: int
    external_id: str
    name: str
    city: str | None


class GroupMemberOut(BaseModel):
    org: MemberOrgOut
    covers: list[str]
    role: str


class LeadOut(BaseModel):
    id: int
    name: str


class GroupOut(BaseModel):
    rank: int
    score: float
    suggestion_id: int | None
    status: str
    gap: float
    lead: LeadOut
    members: list[GroupMemberOut]
    covered: list[str]
    explanation: str


class NearestOut(BaseModel):
    process: str
    kind: str
    id: int
    external_id: str
    name: str
    why: str


class InfeasibleOut(BaseModel):
    uncovered: list[str]
    nearest: list[NearestOut]


class GroupsOut(BaseModel):
    need: NeedOut
    groups: list[GroupOut]
    infeasible: InfeasibleOut | None


def groups_out(p: GroupProposal) -> GroupsOut:
    groups = [GroupOut(rank=g.rank, score=g.score, suggestion_id=g.suggestion_id, status=g.status, gap=g.gap,
                       lead=LeadOut(id=g.lead.id, name=g.lead.name), covered=list(g.covered),
                       explanation=g.explanation,
                       members=[GroupMemberOut(org=MemberOrgOut(id=m.edge.candidate.id,
                                                                external_id=m.edge.candidate.external_id,
                                                                name=m.edge.candidate.name, city=m.edge.candidate.city),
                                               covers=list(m.covers), role=m.role) for m in g.members])
              for g in p.groups]
    infeasible = None
    if p.uncovered:
        infeasible = InfeasibleOut(uncovered=p.uncovered, nearest=[
            NearestOut(process=n.process, kind=n.kind, id=n.id, external_id=n.external_id, name=n.name, why=n.why)
            for n in p.nearest])
    return GroupsOut(need=need_out(p.need), groups=groups, infeasible=infeasible)


# -- SIG proposals -----------------------------------------------------------------------------------
class SigMemberOut(BaseModel):
    id: int
    external_id: str
    name: str
    kind: str
    why: str


class SigOut(BaseModel):
    label: str
    terms: list[str]
    members: list[SigMemberOut]
    seeds: list[SigMemberOut]
    convener: SigMemberOut


class SigsOut(BaseModel):
    sigs: list[SigOut]
    method: dict[str, Any]


def _sig_member(m: SigMember) -> SigMemberOut:
    p = m.party
    kind = p.kind or ("seed" if p.type == "seed" else "organization")
    return SigMemberOut(id=p.id, external_id=p.external_id, name=p.name, kind=kind, why=m.why)


def sigs_out(p: SigProposal) -> SigsOut:
    return SigsOut(sigs=[SigOut(label=s.label, terms=s.terms, members=[_sig_member(m) for m in s.members],
                                seeds=[_sig_member(m) for m in s.seeds], convener=_sig_member(s.convener))
                         for s in p.sigs],
                   method={"name": p.method, "k": p.k, "silhouette": p.silhouette,
                           "scores": {m: {str(k): v for k, v in ks.items()} for m, ks in p.scores.items()}})


# -- printed forum chart ------------------------------------------------------------------------------
def forum_chart_css() -> str:
    from importlib.resources import files

    return files("matcher").joinpath("templates/forum_chart.css").read_text(encoding="utf-8")


def render_forum_chart(chart: ForumChart, stylesheet_href: str | None = None) -> str:
    """The A4 seating chart: one page per round, then each person's itinerary. A file or PDF
    carries its style inline; the desk links the same stylesheet (its CSP forbids inline style)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("matcher", "templates"), autoescape=select_autoescape(["html"]))
    env.filters["jst"] = lambda dt: format_jst(dt, time=False)
    return env.get_template("forum_chart.html").render(chart=chart, stylesheet_href=stylesheet_href, csp=CHART_CSP,
                                                       inline_css=None if stylesheet_href else forum_chart_css())


CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
# The chart may carry any organisation's or person's name: whatever escaping missed, the page can
# run no script, fetch nothing and read no file. ``script-src 'none'`` here, and JavaScript is
# also off in the browser that prints it (``print_pdf``).
CHART_CSP = "default-src 'none'; script-src 'none'; style-src 'self' 'unsafe-inline'; img-src data:; font-src data:; " \
            "connect-src 'none'; form-action 'none'; base-uri 'none'; frame-src 'none'; object-src 'none'"


def print_pdf(html: str, pdf_file: Path, timeout_s: float = 120.0) -> dict[str, Any]:
    """Print HTML to an A4 PDF with headless Chromium (the engine the desk's users print with),
    driven by Playwright: JavaScript disabled, the network offline, the page loaded from memory
    (no file:// origin), and Chromium's sandbox on whenever this process is not root (Chromium
    refuses its sandbox to root; then it says so in the log and in the result). A missing
    browser is an error that says so, never a silently skipped PDF."""
    import logging
    import os
    import shutil

    browser = next((b for b in (shutil.which(c) for c in CHROMIUM) if b), None)
    if browser is None:
        raise NotReady("PDF の作成には Chromium が必要です（HTML は作成済みです）",
                       "printing the PDF needs Chromium (apt-get install chromium); the HTML was written")
    sandbox = os.geteuid() != 0
    if not sandbox:
        logging.getLogger("matcher").warning("printing the chart with Chromium's sandbox off (running as root)")
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as pw:
            chrome = pw.chromium.launch(executable_path=browser, chromium_sandbox=sandbox,
                                        args=[] if sandbox else ["--no-sandbox"], timeout=timeout_s * 1000)
            try:
                context = chrome.new_context(java_script_enabled=False, offline=True, service_workers="block",
                                             accept_downloads=False)
                page = context.new_page()
                page.set_content(html, wait_until="load", timeout=timeout_s * 1000)
                pdf_file.write_bytes(page.pdf(format="A4", print_background=True, prefer_css_page_size=True))
            finally:
                chrome.close()
    except PlaywrightError as exc:
        raise NotReady("PDF を作成できませんでした", f"chromium failed to print the PDF: {str(exc)[-500:]}") from exc
    if not pdf_file.exists() or pdf_file.stat().st_size == 0:
        raise NotReady("PDF を作成できませんでした", "chromium wrote no PDF")
    return {"sandbox": sandbox, "javascript": False, "network": False}


# -- what a company sees -------------------------------------------------------------------------------
class ReplyStateOut(BaseModel):
    answer: str
    comment: str | None
    at: str
    previous: str | None
    previous_at: str | None


class ProposalOut(BaseModel):
    suggestion_id: int
    direction: str
    need_title: str | None
    partner_name: str
    partner_detail: str
    url: str | None
    why: str
    accepted_at: str | None
    reply: ReplyStateOut | None


class ProposalsOut(BaseModel):
    contact: str
    items: list[ProposalOut]


class ReplyOut(BaseModel):
    suggestion_id: int
    answer: str
    status: str  # recorded | changed | same


def proposals_out(contact: str, items: list[CompanyItem]) -> ProposalsOut:
    def reply(i: CompanyItem) -> ReplyStateOut | None:
        r = i.reply
        if r is None:
            return None
        return ReplyStateOut(answer=r.answer, comment=r.comment, at=r.at.isoformat(), previous=r.previous,
                             previous_at=r.previous_at.isoformat() if r.previous_at else None)

    return ProposalsOut(contact=contact, items=[
        ProposalOut(suggestion_id=i.suggestion_id, direction=i.direction, need_title=i.need_title,
                    partner_name=i.partner_name, partner_detail=i.partner_detail, url=i.url, why=i.why,
                    accepted_at=i.accepted_at.isoformat() if i.accepted_at else None, reply=reply(i))
        for i in items])
