"""The seating instance of a forum, built from the same scored graph as the shortlists.

Affinity between two participants comes from the same scored graph as the shortlists: the
organisation-to-organisation edge score (the better of the two directions, since either may be
the query), a research match (a company's edge to a seed of the other's institution), each
explicit wish (会いたい相手) and each suggestion between the two organisations that a coordinator
accepted. Scores become integers (×``SCALE``). Declared conflicts, competitors, one corporate
group and the participants' own 同席不可 lists become conflict pairs. People of one organisation
are never at one table (the solver's rule). The seating itself is ``matcher.solve.seating``.
"""


from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import select

from matcher.errors import InvalidInput
from matcher.graph.model import Party, ScoredEdge
from matcher.services.context import MatchContext
from matcher.services.forum.events import MAX_ROUNDS, participants
from matcher.services.suggestions import accepted_edges
from matcher.solve.seating import SeatingInstance, check_feasible
from matcher.store.db import session_scope
from matcher.store.tables import Need, Participant

SCALE = 1000  # an edge score of 0.5 is worth 500
WISH = 500  # one person asked to meet the other's organisation
ACCEPTED = 300  # a coordinator accepted a suggestion between the two organisations

@dataclass
class ForumPlan:
    """A seating instance built from the store, with what each pair's affinity came from."""

    event_id: int
    instance: SeatingInstance
    people: list[Participant]  # index in the instance → participant
    why: dict[tuple[int, int], list[str]]  # person index pair → Japanese reasons (no edge text yet)
    edges: dict[tuple[int, int], ScoredEdge]  # the organisation edge behind a pair, explained lazily


def tables_for(n: int, table_size: int, rounds: int, hosts: int = 0) -> int:
    """Fewest tables of ``table_size`` that seat everyone and let everyone meet new people each
    round (from round 2 a table takes at most one person per first-round table)."""
    tables = max(math.ceil(n / table_size), hosts, 1)
    while rounds > 1 and tables * min(table_size, tables) < n:
        tables += 1
    return tables


def build_plan(ctx: MatchContext, event_id: int, rounds: int, table_size: int,
               tables: int | None = None) -> ForumPlan:
    if not 1 <= rounds <= MAX_ROUNDS:
        raise InvalidInput(f"ラウンド数は 1〜{MAX_ROUNDS} です", f"rounds must be 1..{MAX_ROUNDS}")
    if not 2 <= table_size <= 30:
        raise InvalidInput("1 卓の人数は 2〜30 名です", "table size must be 2..30")
    people = [p for p in participants(ctx.engine, event_id) if p.org_id in ctx.orgs]
    if len(people) < 2:
        raise InvalidInput("参加者が 2 名以上必要です（参加者名簿を取り込んでください）",
                           "at least two participants are needed (import the participant list)")
    host_max = max((p.host_table or 0 for p in people), default=0)
    n_tables = tables or tables_for(len(people), table_size, rounds, host_max)
    if host_max > n_tables:
        raise InvalidInput(f"ホスト卓 {host_max} 番はテーブル数 {n_tables} を超えています",
                           f"host table {host_max} is beyond the {n_tables} tables")
    by_org: dict[int, list[int]] = {}
    for i, p in enumerate(people):
        by_org.setdefault(p.org_id, []).append(i)
    # Each participating organisation's profile is one query, embedded once for both edge kinds.
    queries = [ctx.org_parties[o] for o in sorted(by_org) if o in ctx.org_parties]
    vecs = ctx.embedder.encode([q.text for q in queries], "query") if queries else []
    scores, edges = _edge_scores(ctx, queries, vecs)
    research = _research_scores(ctx, queries, vecs)
    accepted = _accepted_pairs(ctx.engine, set(by_org))
    affinity: dict[tuple[int, int], int] = {}
    why: dict[tuple[int, int], list[str]] = {}
    pair_edges: dict[tuple[int, int], ScoredEdge] = {}
    conflicts: set[tuple[int, int]] = set()
    cs = ctx.edges.constraints
    for a in range(len(people)):
        pa = people[a]
        for b in range(a + 1, len(people)):
            pb = people[b]
            oa, ob = pa.org_id, pb.org_id
            if oa == ob:
                continue
            key = (a, b)
            if (cs.why_not(oa, ob) in ("conflict", "competitor", "same_group")
                    or ob in pa.avoid or oa in pb.avoid):
                conflicts.add(key)
                continue
            okey = (min(oa, ob), max(oa, ob))
            reasons: list[str] = []
            value = 0
            edge_score = max(0.0, scores.get(okey, 0.0))
            research_score = max(0.0, research.get(okey, (0.0, ""))[0])
            if edge_score >= research_score and edge_score > 0:
                value += round(SCALE * edge_score)
                pair_edges[key] = edges[okey]
            elif research_score > 0:
                value += round(SCALE * research_score)
                reasons.append(f"研究シーズ「{research[okey][1]}」との関連")
            wished = [x for x, y in ((pa, ob), (pb, oa)) if y in x.wishes]
            for w in wished:
                reasons.append(f"{w.person}さんの面談希望")
            value += WISH * len(wished)
            if okey in accepted:
                count, told = accepted[okey]
                value += ACCEPTED * count
                if told:
                    reasons.append("コーディネーターが承認した提案の相手")
            if value > 0:
                affinity[key] = value
                why[key] = reasons
    table_ids = tuple((str(t + 1), table_size) for t in range(n_tables))
    fixed = {i: p.host_table - 1 for i, p in enumerate(people) if p.host_table}
    inst = SeatingInstance(rounds, table_ids,
                           tuple((str(p.id), str(p.org_id), p.kind) for p in people),
                           affinity, frozenset(conflicts), fixed)
    check_feasible(inst)
    return ForumPlan(event_id, inst, people, why, pair_edges)


def _edge_scores(ctx: MatchContext, queries: list[Party], vecs) -> tuple[dict[tuple[int, int], float], dict]:
    """Organisation-to-organisation edge scores among the participants (better direction)."""
    present = {q.id for q in queries}
    scores: dict[tuple[int, int], float] = {}
    edges: dict[tuple[int, int], ScoredEdge] = {}
    for q, v in zip(queries, vecs, strict=True):
        for e in ctx.edges.rank(q, "organization", v).edges:
            if e.candidate.id in present and e.candidate.id != q.id:
                key = (min(q.id, e.candidate.id), max(q.id, e.candidate.id))
                if e.score > scores.get(key, float("-inf")):
                    scores[key], edges[key] = e.score, e
    return scores, edges


def _research_scores(ctx: MatchContext, queries: list[Party], vecs) -> dict[tuple[int, int], tuple[float, str]]:
    """A participant's edge to a research seed whose institution also takes part."""
    present = {q.id for q in queries}
    hosts = {sid: seed.org_id for sid, seed in ctx.seeds.items() if seed.org_id in present}
    if not hosts:
        return {}
    out: dict[tuple[int, int], tuple[float, str]] = {}
    for q, v in zip(queries, vecs, strict=True):
        for e in ctx.edges.rank(q, "seed", v).edges:
            host = hosts.get(e.candidate.id)
            if host is not None and host != q.id:
                key = (min(q.id, host), max(q.id, host))
                if e.score > out.get(key, (float("-inf"), ""))[0]:
                    out[key] = (e.score, e.candidate.name)
    return out


def _accepted_pairs(engine: Engine, orgs: set[int]) -> dict[tuple[int, int], tuple[int, bool]]:
    """Suggestions between two participating organisations whose latest coordinator verdict is an
    accept: (how many, whether the chart may say so). A suggestion for a 非公開 need counts for
    the seating but is never named on the printed chart (the candidate was never told of it)."""
    with session_scope(engine) as s:
        private = set(s.exec(select(Need.id).where(Need.public.is_(False))))
    out: dict[tuple[int, int], tuple[int, bool]] = {}
    for e in accepted_edges(engine):
        a, b = e.requester_org_id, e.candidate_org_id
        if a in orgs and b in orgs and a != b:
            key = (min(a, b), max(a, b))
            count, told = out.get(key, (0, False))
            out[key] = (count + 1, told or not (e.query_type == "need" and e.query_id in private))
    return out
