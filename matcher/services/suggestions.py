"""The one read model of stored suggestions: ``StoredEdge``.

A suggestion is written once, as it was scored (features, the breakdown of its score, the
processes it covers, its reason's parts, who is behind both sides); every reader — the need
page and its Excel, a need's history, a company's proposals, the digests, the forum's affinity
and the KPI — reads it back through this module, with the latest coordinator decision and the
companies' replies resolved here and nowhere else. The breakdown shown is the stored one: a
ranker trained since never rewrites what an edge was scored with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Engine, or_
from sqlmodel import select

from matcher.graph.explain import EdgeReason
from matcher.labels import FEATURE_JA
from matcher.learn.decisions import pair_key
from matcher.store.db import session_scope
from matcher.store.tables import Decision, Need, Organization, Person, ResearchSeed, Suggestion


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """One decision as read back: a coordinator's verdict, a company's reply or a group change."""

    suggestion_id: int
    kind: str  # coordinator | company_reply | group_drop
    verdict: str
    reason: str | None
    comment: str | None
    by: str | None
    org_id: int | None
    at: datetime
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class Driver:
    """One feature's share of a score, as stored with the edge."""

    feature: str
    contribution: float
    value: float | None

    @property
    def label(self) -> str:
        return FEATURE_JA.get(self.feature, self.feature)


@dataclass(frozen=True, kw_only=True)
class Member:
    """A member of a proposed joint-order group."""

    org_id: int
    role: str  # lead | member
    covers: tuple[str, ...]
    features: Mapping[str, float] = field(default_factory=dict)
    name: str = ""
    city: str = ""
    dropped: bool = False


@dataclass(frozen=True, kw_only=True)
class Named:
    """What a coordinator's view names the candidate by."""

    name: str | None
    external_id: str | None
    place: str | None  # a company's city, a seed's institution
    url: str | None = None


@dataclass(frozen=True, kw_only=True)
class StoredEdge:
    id: int
    run_id: str
    created_at: datetime
    kind: str  # partner | seed | group
    query_type: str  # need | seed | organization
    query_id: int
    candidate_type: str  # organization | seed | group
    candidate_id: int
    requester_org_id: int | None
    candidate_org_id: int | None
    rank: int
    score: float
    model_version: str
    features: Mapping[str, float]
    drivers: tuple[Driver, ...]  # empty on rows stored before breakdowns were kept
    covered: tuple[str, ...]
    reason: str  # the coordinator's text of the reason
    why: EdgeReason | None  # its parts, rendered per reader (companies read only what they may)
    members: tuple[Member, ...] = ()
    candidate: Named = Named(name=None, external_id=None, place=None)
    decision: Verdict | None = None  # the latest coordinator verdict on this suggestion
    pair_decision: Verdict | None = None  # … on the same pair in any run (what a re-run's card shows)
    replies: tuple[Verdict, ...] = ()  # the companies' replies on the pair, oldest first
    person_answer: Verdict | None = None  # 人材: the person's latest answer on the pair (agreed | declined)

    @property
    def pair(self) -> tuple[str, int, str, int]:
        return self.query_type, self.query_id, self.candidate_type, self.candidate_id

    @property
    def accepted(self) -> bool:
        return self.decision is not None and self.decision.verdict == "accept"

    def replies_of(self, org_id: int) -> list[Verdict]:
        """One organisation's replies on the pair, oldest first (each side answers for itself)."""
        return [r for r in self.replies if r.org_id == org_id]


def _verdict(d: Decision) -> Verdict:
    return Verdict(suggestion_id=d.suggestion_id, kind=d.kind, verdict=d.verdict, reason=d.reason, comment=d.comment,
                   by=d.coordinator, org_id=d.org_id, at=d.decided_at, created_at=d.created_at)


def _drivers(row: Suggestion) -> tuple[Driver, ...]:
    return tuple(Driver(feature=f, contribution=float(c), value=(row.features or {}).get(f))
                 for f, c in (row.drivers or {}).items())


def _members(row: Suggestion, names: Mapping[int, Organization], dropped: set[int]) -> tuple[Member, ...]:
    out = []
    for m in row.members or []:
        org = names.get(m["org_id"])
        out.append(Member(org_id=m["org_id"], role=m.get("role", "member"), covers=tuple(m.get("covers") or ()),
                          features=m.get("features") or {}, name=org.name if org else "",
                          city=(org.city or "") if org else "", dropped=m["org_id"] in dropped))
    return tuple(out)


def _named(row: Suggestion, orgs: Mapping[int, Organization], seeds: Mapping[int, ResearchSeed],
           people: Mapping[int, Person]) -> Named:
    if row.candidate_type == "person":  # a deleted person (登録削除) leaves an anonymous row
        p = people.get(row.candidate_id)
        return Named(name=p.name, external_id=p.external_id, place=p.city) if p else Named(name=None, external_id=None,
                                                                                            place=None)
    if row.candidate_type == "seed":
        x = seeds.get(row.candidate_id)
        return Named(name=x.title, external_id=x.external_id, place=x.institution or "KAKEN", url=x.url) if x else \
            Named(name=None, external_id=None, place=None)
    o = orgs.get(row.candidate_id)
    return Named(name=o.name, external_id=o.external_id, place=o.city) if o else Named(name=None, external_id=None,
                                                                                        place=None)


def _concerns(s, org_id: int):
    """SQL: the suggestions that may concern an organisation (as requester, candidate or group
    member); what it may actually read is ``services.proposals.describe``'s to decide."""
    own = list(s.exec(select(Need.id).where(Need.org_id == org_id)))
    return or_(Suggestion.requester_org_id == org_id, Suggestion.candidate_org_id == org_id,
               (Suggestion.candidate_type == "organization") & (Suggestion.candidate_id == org_id),
               (Suggestion.query_type == "need") & Suggestion.query_id.in_(own or [-1]),
               (Suggestion.query_type == "organization") & (Suggestion.query_id == org_id),
               Suggestion.kind == "group")


def read_edges(engine: Engine, *, query: tuple[str, int] | None = None, ids: Iterable[int] | None = None,
               kinds: Iterable[str] | None = None, decided_only: bool = False,
               concerning: int | None = None, candidate: tuple[str, int] | None = None) -> list[StoredEdge]:
    """Stored suggestions (oldest first) with their decisions and replies. ``query``: one need's,
    seed's or organisation's; ``ids``: just these; ``kinds``: partner / seed / group;
    ``decided_only``: those with a coordinator verdict; ``concerning``: those that may concern
    this organisation; ``candidate``: those proposing this candidate (a person's page)."""
    with session_scope(engine) as s:
        stmt = select(Suggestion)
        if concerning is not None:
            stmt = stmt.where(_concerns(s, concerning))
        if query is not None:
            stmt = stmt.where(Suggestion.query_type == query[0], Suggestion.query_id == query[1])
        if ids is not None:
            stmt = stmt.where(Suggestion.id.in_(list(ids) or [-1]))
        if candidate is not None:
            stmt = stmt.where(Suggestion.candidate_type == candidate[0], Suggestion.candidate_id == candidate[1])
        if kinds is not None:
            stmt = stmt.where(Suggestion.kind.in_(list(kinds)))
        rows = list(s.exec(stmt.order_by(Suggestion.id)))
        # Every decision on the pairs these rows belong to (a pair's verdict may sit on another run).
        dstmt = select(Decision, Suggestion).where(Decision.suggestion_id == Suggestion.id)
        if query is not None:
            dstmt = dstmt.where(Suggestion.query_type == query[0], Suggestion.query_id == query[1])
        elif ids is not None or concerning is not None or candidate is not None:
            pairs = {pair_key(r) for r in rows}
            dstmt = dstmt.where(Suggestion.query_id.in_({p[1] for p in pairs} or {-1}),
                                Suggestion.candidate_id.in_({p[3] for p in pairs} or {-1}))
        decisions = s.exec(dstmt.order_by(Decision.decided_at, Decision.id)).all()
        org_ids = {r.candidate_id for r in rows if r.candidate_type == "organization"} | {
            m["org_id"] for r in rows for m in r.members or []}
        orgs = {o.id: o for o in s.exec(select(Organization).where(Organization.id.in_(org_ids or {-1})))}
        seeds = {x.id: x for x in s.exec(select(ResearchSeed).where(ResearchSeed.id.in_(
            {r.candidate_id for r in rows if r.candidate_type == "seed"} or {-1})))}
        people = {p.id: p for p in s.exec(select(Person).where(Person.id.in_(
            {r.candidate_id for r in rows if r.candidate_type == "person"} or {-1})))}
    own: dict[int, Verdict] = {}
    by_pair: dict[tuple, Verdict] = {}
    replies: dict[tuple, list[Verdict]] = {}
    dropped: dict[int, set[int]] = {}
    answers: dict[tuple, Verdict] = {}
    for d, sug in decisions:
        v = _verdict(d)
        if d.kind == "coordinator":
            own[sug.id] = v
            by_pair[pair_key(sug)] = v
        elif d.kind == "company_reply":
            replies.setdefault(pair_key(sug), []).append(v)
        elif d.kind == "person_reply":
            answers[pair_key(sug)] = v
        elif d.kind == "group_drop" and d.org_id is not None:
            dropped.setdefault(sug.id, set()).add(d.org_id)
    out = []
    for r in rows:
        if decided_only and r.id not in own:
            continue
        out.append(StoredEdge(
            id=r.id, run_id=r.run_id, created_at=r.created_at, kind=r.kind, query_type=r.query_type,
            query_id=r.query_id, candidate_type=r.candidate_type, candidate_id=r.candidate_id,
            requester_org_id=r.requester_org_id, candidate_org_id=r.candidate_org_id, rank=r.rank, score=r.score,
            model_version=r.model_version, features=r.features or {}, drivers=_drivers(r),
            covered=tuple(r.covered or ()), reason=r.explanation or "", why=EdgeReason.from_json(r.detail),
            members=_members(r, orgs, dropped.get(r.id, set())), candidate=_named(r, orgs, seeds, people),
            decision=own.get(r.id), pair_decision=by_pair.get(pair_key(r)),
            replies=tuple(sorted(replies.get(pair_key(r), []), key=lambda v: (v.created_at, v.suggestion_id))),
            person_answer=answers.get(pair_key(r))))
    return out


def latest_run(edges: list[StoredEdge]) -> list[StoredEdge]:
    """The newest run's cards, each with its pair's latest verdict, plus every pair rejected in an
    earlier run that the newest run no longer lists (a rejection stays visible; it does not
    vanish because a re-run left the candidate out)."""
    if not edges:
        return []
    last = edges[-1].run_id
    shown = {e.pair for e in edges if e.run_id == last}
    older: dict[tuple, StoredEdge] = {}
    for e in edges:
        d = e.pair_decision
        if e.run_id != last and e.pair not in shown and d is not None and d.verdict == "reject":
            older[e.pair] = e
    current = [replace(e, decision=e.pair_decision) for e in edges if e.run_id == last]
    return sorted(current, key=lambda e: (e.candidate_type, e.rank)) + [
        replace(e, decision=e.pair_decision) for e in sorted(older.values(), key=lambda e: (e.candidate_type, e.rank))]


def need_cards(engine: Engine, need_id: int) -> list[StoredEdge]:
    """A need's shortlist as its page, its Excel and the API list it (groups apart)."""
    return latest_run(read_edges(engine, query=("need", need_id), kinds=("partner", "seed")))


def need_people(engine: Engine, need_id: int) -> list[StoredEdge]:
    """The need's latest list of people (人材): a run of its own, beside partners and seeds."""
    return latest_run(read_edges(engine, query=("need", need_id), kinds=("person",)))


def need_groups(engine: Engine, need_id: int) -> list[StoredEdge]:
    """The need's latest proposed joint-order groups, best first, members named (and dropped
    members marked)."""
    rows = read_edges(engine, query=("need", need_id), kinds=("group",))
    if not rows:
        return []
    last = rows[-1].run_id
    return sorted((r for r in rows if r.run_id == last), key=lambda r: r.rank)


def accepted_edges(engine: Engine, ids: Iterable[int] | None = None) -> list[StoredEdge]:
    """Suggestions whose latest coordinator verdict is an accept (what companies may be told of,
    what the forum seats together)."""
    return [e for e in read_edges(engine, ids=ids, decided_only=True) if e.accepted]


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    run_id: str
    created_at: datetime
    model_version: str
    candidates: int
    kind: str  # shortlist | groups


@dataclass(frozen=True, kw_only=True)
class HistoryEntry:
    """One decision on a need's suggestions, naming what it was about."""

    suggestion_id: int
    run_id: str
    candidate_type: str
    candidate_id: int
    candidate_name: str | None
    kind: str  # coordinator | company_reply | group_drop
    verdict: str
    reason: str | None
    comment: str | None
    by: str | None
    at: datetime


@dataclass(frozen=True, kw_only=True)
class NeedHistory:
    need_id: int
    runs: list[RunSummary]
    decisions: list[HistoryEntry]  # newest first


def need_history(engine: Engine, need_id: int) -> NeedHistory:
    """Every run of a need's shortlist and every decision on it, coordinators' and companies',
    each naming what was decided on (a group by its members, a dropped member by name)."""
    edges = read_edges(engine, query=("need", need_id))
    by_id = {e.id: e for e in edges}
    with session_scope(engine) as s:
        decisions = s.exec(select(Decision).where(Decision.suggestion_id.in_(list(by_id) or [-1]))
                           .order_by(Decision.decided_at, Decision.id)).all()
        dropped_ids = {d.org_id for d in decisions if d.kind == "group_drop" and d.org_id}
        names = dict(s.exec(select(Organization.id, Organization.name).where(
            Organization.id.in_(dropped_ids or {-1}))).all())
    runs: dict[str, RunSummary] = {}
    for e in edges:
        r = runs.get(e.run_id)
        runs[e.run_id] = RunSummary(run_id=e.run_id, created_at=r.created_at if r else e.created_at,
                                    model_version=e.model_version, candidates=(r.candidates if r else 0) + 1,
                                    kind="groups" if e.kind == "group" else "shortlist")

    def name(e: StoredEdge) -> str | None:
        if e.kind == "group":
            return "共同受注グループ: " + "・".join(m.name for m in e.members)
        return e.candidate.name

    def note(d: Decision) -> str | None:
        if d.kind == "group_drop":
            member = names.get(d.org_id or -1) or next(
                (m.name for m in by_id[d.suggestion_id].members if m.org_id == d.org_id and m.name), "（削除された企業）")
            return f"「{member}」をグループから外した"
        return d.comment

    entries = [HistoryEntry(suggestion_id=d.suggestion_id, run_id=by_id[d.suggestion_id].run_id,
                            candidate_type=by_id[d.suggestion_id].candidate_type,
                            candidate_id=by_id[d.suggestion_id].candidate_id, candidate_name=name(by_id[d.suggestion_id]),
                            kind=d.kind, verdict=d.verdict, reason=d.reason, comment=note(d), by=d.coordinator,
                            at=d.decided_at) for d in reversed(decisions)]
    return NeedHistory(need_id=need_id, runs=sorted(runs.values(), key=lambda r: r.created_at, reverse=True),
                       decisions=entries)
