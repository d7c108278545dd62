"""人材: the advisory programme's batch assignment over every open need.

Each need's (need, person) edges are scored exactly as its people shortlist scores them (the
same retrieval, features, constraints and ranker); the assignment then picks at most ``k``
advisors per need within each person's monthly hours, maximising the total score
(``solve.advisors``), and stores the chosen edges as one run of suggestions for coordinators to
accept or reject, as any shortlist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, func
from sqlmodel import select

from matcher.graph.model import Party, Ranked, Shortlist
from matcher.services.context import MatchContext
from matcher.services.invitations import DEFAULT_HOURS
from matcher.services.shortlists import store_suggestions
from matcher.services.suggestions import Verdict, read_edges
from matcher.solve import advisors as solver
from matcher.store.db import session_scope
from matcher.store.tables import Need, Person, split_list

DEFAULT_HOURS_PER_ENGAGEMENT = DEFAULT_HOURS  # one advisory engagement: about two half-day visits a month
DEFAULT_ADVISORS = 2
DEFAULT_MIN_SCORE = 0.4  # 適合度 中 and above (labels.FIT_BANDS): a poorly fitting advisor is no help


@dataclass(frozen=True, kw_only=True)
class PersonLoad:
    person: Party
    engagements: int
    capacity: int  # engagements the stated hours allow
    hours_assigned: int
    hours_available: int | None


@dataclass(kw_only=True)
class AdvisorAssignment:
    run_id: str
    k: int
    hours_per_engagement: int
    min_score: float
    status: str
    total_score: float
    seconds: float
    shortlists: list[Shortlist]  # one per open need: its assigned advisors, best first
    loads: list[PersonLoad]  # every consenting person offered at least one edge
    unfilled: dict[int, str]  # need id → why it has fewer than k advisors (Japanese)
    displaced: dict[int, list[int]]  # need id → people in its own top k who went to other needs


def assign_advisors(ctx: MatchContext, k: int = DEFAULT_ADVISORS,
                    hours_per_engagement: int = DEFAULT_HOURS_PER_ENGAGEMENT, min_score: float = DEFAULT_MIN_SCORE,
                    store: bool = True) -> AdvisorAssignment:
    open_needs = sorted((n for n in ctx.needs.values() if n.status == "open"), key=lambda n: n.id)
    queries = {n.id: ctx.need_party(n) for n in open_needs}
    vecs = ctx.embedder.encode([q.text for q in queries.values()], "query") if queries else []
    ranked: dict[int, Ranked] = {n: ctx.edges.rank(q, "person", v) for (n, q), v in zip(queries.items(), vecs, strict=True)}
    people = ctx.person_parties
    capacity = {p: solver.engagements(party.hours_per_month, hours_per_engagement) for p, party in people.items()}
    problem = solver.AdvisorProblem({n: [(e.candidate.id, e.score) for e in r.edges] for n, r in ranked.items()}, k,
                                    capacity, min_score)
    solution = solver.solve(problem)
    choice = solution.value
    run_id = uuid.uuid4().hex
    shortlists = []
    unfilled: dict[int, str] = {}
    offered = solver.eligible(problem)
    for n, query in queries.items():
        by_id = {e.candidate.id: e for e in ranked[n].edges}
        picks = [ctx.edges.explain(by_id[p]) for p in choice.chosen.get(n, [])]
        for r, edge in enumerate(picks, start=1):
            edge.rank = r
        one = Shortlist(query=query, kind="people", model_version=ctx.model_version, candidates=picks,
                        excluded=ranked[n].excluded, run_id=run_id)
        if store and picks:
            store_suggestions(ctx, one, hours_per_engagement)
        shortlists.append(one)
        if len(picks) < k:
            unfilled[n] = _unfilled_reason(len(offered.get(n, [])), len(picks), k, min_score)
    offered_people = {p for lst in offered.values() for p, _ in lst}
    loads = [PersonLoad(person=people[p], engagements=choice.load.get(p, 0), capacity=capacity[p],
                        hours_assigned=choice.load.get(p, 0) * hours_per_engagement,
                        hours_available=people[p].hours_per_month)
             for p in sorted(offered_people)]
    return AdvisorAssignment(run_id=run_id, k=k, hours_per_engagement=hours_per_engagement, min_score=min_score,
                             status=solution.status, total_score=round(choice.total, 6), seconds=solution.seconds,
                             shortlists=shortlists, loads=loads, unfilled=unfilled, displaced=choice.displaced)


def _unfilled_reason(offered: int, assigned: int, k: int, min_score: float) -> str:
    if offered <= assigned:
        return f"適合度 {min_score:.2f} 以上で対応時間の残っている人材が {offered} 人だけです"
    return "候補の人材の対応可能時間が、より適合度の高い他の案件に割り当てられました"


def registry(engine: Engine, limit: int = 100, offset: int = 0) -> tuple[int, list[Person]]:
    """(how many people are registered, one page of them in id order)."""
    with session_scope(engine) as s:
        total = s.exec(select(func.count()).select_from(Person)).one()
        rows = list(s.exec(select(Person).order_by(Person.id).offset(offset).limit(limit)))
    return int(total), rows


@dataclass(frozen=True, kw_only=True)
class PersonCard:
    """A registry row as the desk shows it (coordinators only)."""

    id: int
    external_id: str
    name: str
    category: str
    specialities: list[str]
    hours_per_month: int | None
    contact_mode: str
    city: str | None
    background: str
    intro: str
    state_ja: str  # 候補になります | 本人同意なし | 配信停止 | 登録削除済み
    matchable: bool
    erased: bool


def person_card(p: Person) -> PersonCard:
    state = ("登録削除済み" if p.erased_at is not None else "配信停止" if p.unsubscribed_at is not None
             else "候補になります" if p.consent else "本人同意なし（候補になりません）")
    return PersonCard(id=p.id, external_id=p.external_id, name=p.name, category=p.category,
                      specialities=split_list(p.specialities), hours_per_month=p.hours_per_month,
                      contact_mode=p.contact_mode, city=p.city, background=p.background, intro=p.intro, state_ja=state,
                      matchable=p.consent and p.unsubscribed_at is None and p.erased_at is None,
                      erased=p.erased_at is not None)


@dataclass(frozen=True, kw_only=True)
class PersonProposal:
    suggestion_id: int
    query_id: int
    need_title: str
    score: float
    reason: str
    decision: Verdict | None
    answer_ja: str  # the person's answer, or 未回答 / 未送付


def person_page(engine: Engine, person_id: int) -> tuple[PersonCard, list[PersonProposal]] | None:
    """The person and every (need, person) pair proposed, newest first, one row per pair."""
    with session_scope(engine) as s:
        p = s.get(Person, person_id)
        if p is None:
            return None
        card = person_card(p)
    edges = read_edges(engine, candidate=("person", person_id))
    with session_scope(engine) as s:
        titles = {i: t for i, t in s.exec(select(Need.id, Need.title).where(Need.id.in_({e.query_id for e in edges} or {-1})))}
    newest = {e.pair: e for e in edges}
    out = []
    for e in sorted(newest.values(), key=lambda e: -e.id):
        decision = e.pair_decision or e.decision
        answer = (PERSON_ANSWERS_JA.get(e.person_answer.verdict, "") if e.person_answer
                  else "未回答" if decision is not None and decision.verdict == "accept" else "—")
        out.append(PersonProposal(suggestion_id=e.id, query_id=e.query_id, need_title=titles.get(e.query_id, ""),
                                  score=e.score, reason=e.reason, decision=decision, answer_ja=answer))
    return card, out


PERSON_ANSWERS_JA = {"agreed": "引き受ける", "declined": "辞退"}
