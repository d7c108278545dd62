"""Joint-order groups for a need, on the same scored graph as its shortlist.

The pool is built per required process: every firm in the store that does one of the need's
processes is scored against the need (hard constraints applied), and the best ``POOL_PER_PROCESS``
for each process join the pool — so a process some allowed firm can do is never "uncovered",
whatever its similarity rank. A group is at least two firms, each bringing a process no other
member covers; firms that cover every process alone are listed as 「単独で対応可能」, not as groups
(the capacity mode, 同一工程の共同受注, pools firms on the same processes instead). Scores become
integers (×1000). Pairwise affinity:
+100 for each earlier need both firms were accepted for (joint work, at most two), +30 for the
same city, +15 for neighbouring cities, −150 for each required process both cover (overlap is
paid for twice). Each member costs 500 (half a score, about what a fair match scores), so a firm
joins only when it brings more than an average match would: small, complementary groups win
unless a larger one is clearly better. Conflict pairs (declared conflicts, competitors, one corporate group)
never share a group. ``solve.groups`` finds the k best distinct groups exactly.

Lead firm (幹事企業), a stated rule: the member covering the most required processes; then the one
holding more quality certifications (ISO/JIS Q/IATF); then the larger by employees; then the one
accepted more often before; then the lower id.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from dataclasses import dataclass, field

from sqlmodel import select

from matcher.errors import InvalidInput
from matcher.graph.features import distance_class
from matcher.graph.model import Party, ScoredEdge
from matcher.labels import fit_label
from matcher.services.context import MatchContext
from matcher.services.shortlists import query_vector
from matcher.solve.groups import GroupCandidate, GroupProblem, k_best
from matcher.solve.result import Solution
from matcher.store.db import session_scope
from matcher.store.tables import Decision, Suggestion

POOL = 40  # nearest_for: firms outside this many best edges are "outside the pool"
POOL_PER_PROCESS = 8
SOLO = 5  # firms listed as able to do everything alone
MODES = ("complement", "capacity")
SCALE = 1000
MEMBER_COST = 500
JOINT_WORK, SAME_CITY, NEIGHBOUR, OVERLAP = 100, 30, 15, -150
QUALITY = ("ISO", "JISQ", "IATF")


@dataclass(kw_only=True)
class GroupMember:
    edge: ScoredEdge
    covers: tuple[str, ...]
    role: str  # lead | member


@dataclass(kw_only=True)
class Group:
    rank: int
    score: float
    members: list[GroupMember]
    covered: tuple[str, ...]
    status: str
    gap: float
    explanation: str = ""
    suggestion_id: int | None = None

    @property
    def fit(self) -> float:
        """The members' mean edge score: what 適合度 reads for a group, as for one firm."""
        return round(sum(m.edge.score for m in self.members) / max(len(self.members), 1), 4)

    @property
    def lead(self) -> Party:
        return next(m.edge.candidate for m in self.members if m.role == "lead")


@dataclass(kw_only=True)
class Nearest:
    process: str
    kind: str  # organization | seed
    id: int
    external_id: str
    name: str
    why: str


@dataclass(kw_only=True)
class GroupProposal:
    need: Party
    groups: list[Group]
    uncovered: list[str]
    nearest: list[Nearest]
    solo: list[ScoredEdge] = field(default_factory=list)  # firms that can do every process alone
    mode: str = "complement"
    run_id: str | None = None


def _joint_work(ctx: MatchContext, ids: set[int]) -> Counter:
    """(a, b) → how many needs both were accepted for."""
    with session_scope(ctx.engine) as s:
        rows = s.exec(select(Suggestion.query_id, Suggestion.candidate_id).where(
            Decision.suggestion_id == Suggestion.id, Decision.kind == "coordinator", Decision.verdict == "accept",
            Suggestion.query_type == "need", Suggestion.candidate_type == "organization",
            Suggestion.candidate_id.in_(list(ids) or [-1]))).all()
    by_need: dict[int, set[int]] = {}
    for need_id, org_id in rows:
        by_need.setdefault(need_id, set()).add(org_id)
    pairs: Counter = Counter()
    for orgs in by_need.values():
        for a, b in itertools.combinations(sorted(orgs), 2):
            pairs[(a, b)] += 1
    return pairs


def process_pool(query: Party, edges: list[ScoredEdge], per_process: int = POOL_PER_PROCESS) -> list[ScoredEdge]:
    """The best ``per_process`` allowed edges for each required process (best first overall)."""
    chosen: dict[int, ScoredEdge] = {}
    for proc in query.required:
        for e in [e for e in edges if proc in e.covered][:per_process]:
            chosen[e.candidate.id] = e
    return sorted(chosen.values(), key=lambda e: (-e.score, e.candidate.id))


def capable_edges(ctx: MatchContext, query: Party, processes: tuple[str, ...] | None = None) -> list[ScoredEdge]:
    """Every allowed firm that does one of ``processes`` (the need's by default), scored against
    the need like a shortlist's candidates, best first."""
    wanted = set(processes if processes is not None else query.required)
    owners = sorted(p.id for p in ctx.org_parties.values() if wanted & set(p.processes))
    return ctx.edges.rank(query, "organization", query_vector(ctx, query), owners=owners).edges


def build_problem(ctx: MatchContext, query: Party, edges: list[ScoredEdge], max_size: int,
                  mode: str = "complement") -> GroupProblem:
    # A firm that does every process alone can never partner in complementary mode (its partners
    # would bring nothing of their own): it is listed as 単独で対応可能 and leaves its pool slot to
    # firms that can.
    whole = set(query.required)
    pool = process_pool(query, [e for e in edges if e.covered and (mode == "capacity" or not whole <= set(e.covered))])
    joint = _joint_work(ctx, {e.candidate.id for e in pool})
    affinity: dict[tuple[int, int], int] = {}
    conflicts = set()
    cs = ctx.edges.constraints
    for e1, e2 in itertools.combinations(sorted(pool, key=lambda e: e.candidate.id), 2):
        a, b = e1.candidate, e2.candidate
        w = JOINT_WORK * min(joint[(a.id, b.id)], 2)
        dist = distance_class(a.city, b.city) if a.city else "elsewhere"
        w += SAME_CITY if dist == "same_city" else NEIGHBOUR if dist == "neighbour" else 0
        if mode == "complement":
            w += OVERLAP * len(set(e1.covered) & set(e2.covered))
        if w:
            affinity[(a.id, b.id)] = w
        if cs.why_not(a.id, b.id) in ("conflict", "competitor", "same_group"):
            conflicts.add(frozenset((a.id, b.id)))
    return GroupProblem(required=query.required, max_size=max_size, member_cost=MEMBER_COST,
                        candidates=tuple(GroupCandidate(e.candidate.id, int(round(e.score * SCALE)), frozenset(e.covered))
                                         for e in pool),
                        affinity=affinity, conflicts=frozenset(conflicts), complementary=mode == "complement")


def _quality(p: Party) -> int:
    return sum(1 for c in p.certifications if c.replace(" ", "").upper().startswith(QUALITY))


def choose_lead(members: list[GroupMember], history_accepts: dict[int, int]) -> GroupMember:
    return max(members, key=lambda m: (len(m.covers), _quality(m.edge.candidate), m.edge.candidate.employees or 0,
                                       history_accepts.get(m.edge.candidate.id, 0), -m.edge.candidate.id))


def _explain(group: Group, query: Party, nxt: Group | None) -> str:
    who = [f"{m.edge.candidate.name}（{'・'.join(m.covers)}）" for m in group.members]
    lead = next(m for m in group.members if m.role == "lead")
    lp = lead.edge.candidate
    reasons = [f"必要工程 {len(query.required)} 件中 {len(lead.covers)} 件を担当"]
    if _quality(lp):
        reasons.append("・".join(c for c in lp.certifications if c.replace(" ", "").upper().startswith(QUALITY))[:40] + " を取得")
    if lp.employees:
        reasons.append(f"従業員 {lp.employees} 名")
    text = f"{'、'.join(who)}で必要工程をすべて分担。幹事企業は{lp.name}（{'、'.join(reasons)}）。"
    if nxt is not None:
        mine = {m.edge.candidate.id: m.edge.candidate.name for m in group.members}
        theirs = {m.edge.candidate.id: m.edge.candidate.name for m in nxt.members}
        out = [n for i, n in mine.items() if i not in theirs]
        into = [n for i, n in theirs.items() if i not in mine]
        change = (f"{'・'.join(out)} の代わりに {'・'.join(into)}" if out and into else
                  f"{'・'.join(into)} が加わる" if into else f"{'・'.join(out)} が抜ける")
        text += f"次点（案 {nxt.rank}、適合度 {fit_label(nxt.fit)}）では {change}。"
    return text


def propose_groups(ctx: MatchContext, need_ref: str | int, k: int = 3, max_size: int = 5, seconds: float = 1.0,
                   store: bool = True, mode: str = "complement") -> GroupProposal:
    """The k best groups for a need (``seconds`` for all of them together, each with its status
    and gap), the firms that could do it alone, and — when a process has no allowed firm at all
    — that process with the nearest firms and seeds."""
    if mode not in MODES:
        raise InvalidInput(f"mode は {' / '.join(MODES)} のいずれかです", f"mode must be one of {', '.join(MODES)}")
    query = ctx.need_party(ctx.find_need(need_ref))
    edges = capable_edges(ctx, query) if query.required else []
    problem = build_problem(ctx, query, edges, max_size, mode)
    by_id = {e.candidate.id: e for e in edges}
    solutions: list[Solution[tuple[int, ...]]] = k_best(problem, k, seconds) if query.required else []
    groups: list[Group] = []
    for rank, sol in enumerate(solutions, start=1):
        members = [GroupMember(edge=by_id[i], covers=tuple(p for p in query.required if p in by_id[i].covered),
                               role="member") for i in sol.value]
        choose_lead(members, ctx.edges.history().accepts).role = "lead"
        members.sort(key=lambda m: (m.role != "lead", -len(m.covers), m.edge.candidate.id))
        covered = tuple(p for p in query.required if any(p in m.covers for m in members))
        groups.append(Group(rank=rank, score=round(sol.objective / SCALE, 4), members=members, covered=covered,
                            status=sol.status, gap=round(sol.gap or 0.0, 6)))
    for i, g in enumerate(groups):
        g.explanation = _explain(g, query, groups[i + 1] if i + 1 < len(groups) else None)
    # Uncovered: no allowed firm in the store does it (not: none is left in the pool).
    uncovered = [p for p in query.required if not any(p in e.covered for e in edges)]
    solo = [e for e in edges if query.required and set(query.required) <= set(e.covered)][:SOLO]
    for e in solo:
        ctx.edges.explain(e)
    proposal = GroupProposal(need=query, groups=groups, uncovered=uncovered, solo=solo, mode=mode,
                             nearest=nearest_for(ctx, query, uncovered, set(by_id)))
    if store and groups:
        store_groups(ctx, proposal)
    return proposal


def replacements(ctx: MatchContext, need_ref: str | int, processes: tuple[str, ...], exclude: set[int],
                 per_process: int = 3) -> dict[str, list[ScoredEdge]]:
    """After a member is dropped: the best allowed firms for each process the group no longer
    covers (members still in it left out)."""
    query = ctx.need_party(ctx.find_need(need_ref))
    edges = [e for e in capable_edges(ctx, query, processes) if e.candidate.id not in exclude]
    return {p: [e for e in edges if p in e.covered][:per_process] for p in processes}


def nearest_for(ctx: MatchContext, query: Party, uncovered: list[str], pool: set[int]) -> list[Nearest]:
    """For each process no group can cover: firms outside the pool (allowed for this need) and
    research seeds that mention it."""
    out: list[Nearest] = []
    cs = ctx.edges.constraints
    for proc in uncovered:
        firms = [p for p in ctx.org_parties.values() if proc in p.processes and p.id not in pool
                 and not cs.why_not(query.org_id, p.id)]
        for p in sorted(firms, key=lambda p: (distance_class(query.city, p.city) != "same_city", p.id))[:5]:
            out.append(Nearest(process=proc, kind="organization", id=p.id, external_id=p.external_id, name=p.name,
                               why=f"{proc}に対応（{p.city or '所在地不明'}）。候補の上位には入っていません"))
        seeds = [x for x in ctx.seed_parties.values() if proc in x.processes]
        for x in sorted(seeds, key=lambda x: x.id)[:3]:
            out.append(Nearest(process=proc, kind="seed", id=x.id, external_id=x.external_id, name=x.name,
                               why=f"研究シーズ（{x.institution or 'KAKEN'}）が{proc}を扱っています"))
    return out


def store_groups(ctx: MatchContext, proposal: GroupProposal) -> None:
    """One suggestion per group (kind ``group``, the lead as its candidate; its score is the
    group's fit, the solver's objective kept among its features), its members with their feature
    snapshots, so a coordinator's verdict on the group can be learned from per member."""
    proposal.run_id = uuid.uuid4().hex
    with session_scope(ctx.engine) as s:
        rows = []
        for g in proposal.groups:
            row = Suggestion(run_id=proposal.run_id, query_type="need", query_id=proposal.need.id, candidate_type="group",
                             candidate_id=g.lead.id, requester_org_id=proposal.need.org_id, candidate_org_id=g.lead.id,
                             covered=list(g.covered), kind="group", rank=g.rank, score=g.fit,
                             model_version=ctx.model_version, explanation=g.explanation,
                             features={"members": float(len(g.members)), "objective": g.score},
                             members=[{"org_id": m.edge.candidate.id, "role": m.role, "covers": list(m.covers),
                                       "features": dict(sorted(m.edge.features.items()))} for m in g.members])
            s.add(row)
            rows.append(row)
        s.flush()
        for g, row in zip(proposal.groups, rows, strict=True):
            g.suggestion_id = row.id
