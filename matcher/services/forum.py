"""産業人フォーラム: participants, seating from the scored graph, re-seating and the chart's data.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, update
from sqlmodel import select

from matcher.errors import Conflict, InvalidInput, NotFound
from matcher.exchange.ingest import RowError, RowValidator, read_table_rows
from matcher.exchange.spec import ParticipantRow, clean
from matcher.graph.model import Party, ScoredEdge
from matcher.infra.jobs import JobHandle, JobRunner
from matcher.learn.decisions import latest_pairs
from matcher.services.context import MatchContext
from matcher.solve.seating import (
    Reseating,
    Seating,
    SeatingInstance,
    check_feasible,
    reseat,
    solve_seating,
)
from matcher.store.db import session_scope
from matcher.store.tables import (
    KIND_JA,
    AuditLog,
    ForumEvent,
    ForumMeeting,
    Job,
    Need,
    Organization,
    Participant,
    SeatAssignment,
)

SCALE = 1000  # an edge score of 0.5 is worth 500
WISH = 500  # one person asked to meet the other's organisation
ACCEPTED = 300  # a coordinator accepted a suggestion between the two organisations
MAX_PARTICIPANTS = 2000
MAX_ROUNDS = 6


# -- events and participants -----------------------------------------------------------------------
def find_event(engine: Engine, ref: str | int) -> ForumEvent:
    with session_scope(engine) as s:
        event = s.get(ForumEvent, int(ref)) if str(ref).isdigit() else None
        event = event or s.exec(select(ForumEvent).where(ForumEvent.name == str(ref))).first()
        if event is None:
            raise NotFound(f"フォーラム「{ref}」が見つかりません", f"no forum event {ref!r}")
        return event


def create_event(engine: Engine, name: str, held_on: datetime | None = None) -> ForumEvent:
    name = clean(name)[:200]
    if not name:
        raise InvalidInput("フォーラム名を入力してください", "an event name is required")
    with session_scope(engine) as s:
        event = s.exec(select(ForumEvent).where(ForumEvent.name == name)).first()
        if event is None:
            event = ForumEvent(name=name, held_on=held_on)
            s.add(event)
            s.flush()
        return event


def list_events(engine: Engine) -> list[ForumEvent]:
    with session_scope(engine) as s:
        return list(s.exec(select(ForumEvent).order_by(ForumEvent.id.desc())))


@dataclass
class ParticipantImport:
    event_id: int
    event: str
    file: str
    inserted: int = 0
    updated: int = 0
    rejected: list[RowError] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "event": self.event, "file": self.file, "inserted": self.inserted,
                "updated": self.updated, "rejected": [e.as_json() for e in self.rejected[:100]],
                "rejected_count": len(self.rejected)}


def import_participants(engine: Engine, path: Path, event_name: str, name: str | None = None,
                        actor: str | None = None) -> ParticipantImport:
    """Participants from CSV/XLSX (Japanese headers); valid rows stored in one transaction,
    invalid ones reported by file, row and field. A person already registered for the event
    (same organisation and name) is updated, not duplicated."""
    file = name or str(path)
    rows = read_table_rows(Path(path), "participants")
    if len(rows) > MAX_PARTICIPANTS:
        raise InvalidInput(f"参加者は 1 回のフォーラムにつき {MAX_PARTICIPANTS:,} 名までです",
                           f"at most {MAX_PARTICIPANTS:,} participants per event")
    with session_scope(engine) as s:
        orgs = {ext: (i, kind) for ext, i, kind in
                s.exec(select(Organization.external_id, Organization.id, Organization.kind)
                       .where(Organization.deleted_at.is_(None)))}
    validator = RowValidator(file, "participants", {"known_orgs": set(orgs)})
    good: list[tuple[int, ParticipantRow]] = []
    seen: dict[tuple[str, str], int] = {}
    report_errors: list[RowError] = []
    for raw in rows:
        record, errors = validator.validate(raw)
        if record is not None:
            row = record.model
            assert isinstance(row, ParticipantRow)
            key = (row.org_external_id, row.person)
            if key in seen:
                errors = [RowError(file, raw.row, "person", f"同じ参加者がファイル内で重複しています（{seen[key]} 行目と同じ）",
                                   f"duplicate participant (first at row {seen[key]})")]
            else:
                seen[key] = raw.row
                good.append((raw.row, row))
        report_errors += errors
    event = create_event(engine, event_name)
    report = ParticipantImport(event.id, event.name, file, rejected=report_errors)
    with session_scope(engine) as s:
        existing = {(p.org_id, p.person): p for p in
                    s.exec(select(Participant).where(Participant.event_id == event.id))}
        for _, row in good:
            org_id, org_kind = orgs[row.org_external_id]
            values = {"kind": row.kind or org_kind, "wishes": sorted({orgs[w][0] for w in row.wishes} - {org_id}),
                      "avoid": sorted({orgs[a][0] for a in row.avoid} - {org_id}), "host_table": row.host_table,
                      "cancelled": False}
            current = existing.get((org_id, row.person))
            if current is None:
                s.add(Participant(event_id=event.id, org_id=org_id, person=row.person, **values))
                report.inserted += 1
            else:
                for k, v in values.items():
                    setattr(current, k, v)
                s.add(current)
                report.updated += 1
        s.add(AuditLog(actor=actor, action="forum_import", target=f"forum:{event.id}",
                       detail={"file": Path(file).name, "inserted": report.inserted, "updated": report.updated,
                               "rejected": len(report_errors)}))
    return report


def participants(engine: Engine, event_id: int, include_cancelled: bool = False) -> list[Participant]:
    with session_scope(engine) as s:
        q = select(Participant).where(Participant.event_id == event_id)
        if not include_cancelled:
            q = q.where(Participant.cancelled.is_(False))
        return list(s.exec(q.order_by(Participant.id)))


# -- the instance ------------------------------------------------------------------------------------
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
    accepted = [sug for dec, sug in latest_pairs(engine, "coordinator") if dec.verdict == "accept"]
    with session_scope(engine) as s:
        private = set(s.exec(select(Need.id).where(Need.public.is_(False))))
    out: dict[tuple[int, int], tuple[int, bool]] = {}
    for sug in accepted:
        a, b = sug.requester_org_id, sug.candidate_org_id
        if a in orgs and b in orgs and a != b:
            key = (min(a, b), max(a, b))
            count, told = out.get(key, (0, False))
            out[key] = (count + 1, told or not (sug.query_type == "need" and sug.query_id in private))
    return out


# -- seating runs ------------------------------------------------------------------------------------
@dataclass
class ForumSeating:
    event_id: int
    seating: Seating
    plan: ForumPlan
    moved: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out = self.seating.as_json(self.plan.instance)
        out.update(event_id=self.event_id, participants=len(self.plan.people),
                   tables=len(self.plan.instance.tables), meetings=count_meetings(self.seating))
        if self.moved:
            out["moved"] = self.moved
        return out


def count_meetings(seating: Seating) -> int:
    total = 0
    for r in seating.rounds:
        sizes: dict[int, int] = {}
        for t in r:
            sizes[t] = sizes.get(t, 0) + 1
        total += sum(k * (k - 1) // 2 for k in sizes.values())
    return total


def seat_event(ctx: MatchContext, event_ref: str | int, rounds: int = 3, table_size: int = 8,
               seconds: float = 30.0, seed: int = 0,
               progress: Callable[[float, int, float], None] | None = None) -> ForumSeating:
    """Seat the event's participants and store the assignment (replacing an earlier one).
    ``progress`` gets (seconds, best objective, fraction done)."""
    event = find_event(ctx.engine, event_ref)
    plan = build_plan(ctx, event.id, rounds, table_size)
    seating = solve_seating(plan.instance, seconds, seed, progress=progress)
    store_seating(ctx, event.id, plan, seating, table_size)
    return ForumSeating(event.id, seating, plan)


def cancel(ctx: MatchContext, event_ref: str | int, participant_ids: list[int], seed: int = 0,
           actor: str | None = None) -> ForumSeating:
    """Late cancellations: mark them, then re-seat keeping everyone else where they were."""
    event = find_event(ctx.engine, event_ref)
    with session_scope(ctx.engine) as s:
        known = {p.id for p in s.exec(select(Participant).where(Participant.event_id == event.id))}
        unknown = [i for i in participant_ids if i not in known]
        if unknown:
            raise NotFound(f"参加者ID {unknown[0]} はこのフォーラムにいません", f"no participant {unknown[0]} in this event")
        s.exec(update(Participant).where(Participant.id.in_(participant_ids)).values(cancelled=True))
        s.add(AuditLog(actor=actor, action="forum_cancel", target=f"forum:{event.id}",
                       detail={"participants": sorted(participant_ids)}))
    return reseat_event(ctx, event.id, seed)


def reseat_event(ctx: MatchContext, event_ref: str | int, seed: int = 0) -> ForumSeating:
    """Re-seat after changes to the list (cancellations, late additions) without moving anyone
    who need not move; an event never seated is seated from scratch."""
    event = find_event(ctx.engine, event_ref)
    if event.state != "seated" or not event.tables:
        raise Conflict("このフォーラムはまだ席が決まっていません（先に席順を作成してください）",
                       "the event has no seating yet; run a full seating first")
    plan = build_plan(ctx, event.id, event.rounds, event.seats_per_table, tables=event.tables)
    with session_scope(ctx.engine) as s:
        stored = s.exec(select(SeatAssignment).where(SeatAssignment.event_id == event.id)).all()
    seats: dict[int, dict[int, int]] = {}
    for a in stored:
        seats.setdefault(a.participant_id, {})[a.round - 1] = a.table_no - 1
    previous = {i: tuple(seats[p.id][r] for r in range(event.rounds))
                for i, p in enumerate(plan.people) if p.id in seats and len(seats[p.id]) == event.rounds}
    result: Reseating = reseat(plan.instance, previous, seed)
    store_seating(ctx, event.id, plan, result.seating, event.seats_per_table)
    moved = [{"round": r + 1, "participant_id": plan.people[p].id, "person": plan.people[p].person,
              "from_table": a + 1, "to_table": b + 1} for r, p, a, b in result.moved]
    return ForumSeating(event.id, result.seating, plan, moved)


def store_seating(ctx: MatchContext, event_id: int, plan: ForumPlan, seating: Seating, table_size: int) -> None:
    """Assignments and meetings (with their Japanese reasons) replace the event's earlier ones
    in one transaction."""
    inst = plan.instance
    meetings: list[ForumMeeting] = []
    for r, row in enumerate(seating.rounds):
        by_table: dict[int, list[int]] = {}
        for p, t in enumerate(row):
            by_table.setdefault(t, []).append(p)
        for t, members in by_table.items():
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    key = (min(a, b), max(a, b))
                    meetings.append(ForumMeeting(
                        event_id=event_id, round=r + 1, table_no=t + 1, participant_a=plan.people[key[0]].id,
                        participant_b=plan.people[key[1]].id, affinity=inst.affinity.get(key, 0),
                        reason=pair_reason(ctx, plan, key)))
    with session_scope(ctx.engine) as s:
        s.exec(delete(ForumMeeting).where(ForumMeeting.event_id == event_id))
        s.exec(delete(SeatAssignment).where(SeatAssignment.event_id == event_id))
        for r, row in enumerate(seating.rounds):
            for p, t in enumerate(row):
                s.add(SeatAssignment(event_id=event_id, participant_id=plan.people[p].id, round=r + 1, table_no=t + 1))
        s.add_all(meetings)
        event = s.get(ForumEvent, event_id)
        assert event is not None
        event.tables, event.seats_per_table, event.rounds = len(inst.tables), table_size, inst.rounds
        event.objective, event.upper_bound = seating.objective, seating.upper_bound
        event.state, event.seated_at = "seated", datetime.now(UTC)
        event.progress = {"seconds": round(seating.seconds, 2), "best": seating.objective,
                          "upper_bound": seating.upper_bound, "iterations": seating.iterations,
                          "truncated": seating.truncated}
        s.add(event)
        s.add(AuditLog(action="forum_seat", target=f"forum:{event_id}",
                       detail={"objective": seating.objective, "upper_bound": seating.upper_bound,
                               "participants": len(plan.people)}))


def pair_reason(ctx: MatchContext, plan: ForumPlan, key: tuple[int, int]) -> str:
    """Why these two were seated together, in Japanese (explaining the edge only for pairs that
    actually meet: tokenising both profiles is the costly part). The chart is handed to both, so
    an organisation that is not public is never placed, certified or quoted in it."""
    reasons = list(plan.why.get(key, []))
    edge = plan.edges.get(key)
    if edge is not None:
        if edge.why is None:
            ctx.edges.explain(edge)
        a, b = (ctx.orgs.get(plan.people[i].org_id) for i in key)
        both_public = all(o is not None and o.publish for o in (a, b))
        text = edge.why.text("coordinator") if both_public else edge.why.text("requester", other_public=False)
        reasons.insert(0, text or "技術・事業の内容が近い")
    if not reasons:
        a, b = plan.people[key[0]], plan.people[key[1]]
        kinds = {KIND_JA.get(a.kind, a.kind), KIND_JA.get(b.kind, b.kind)}
        return "交流のための同席（" + "・".join(sorted(kinds)) + "）"
    return " / ".join(reasons)


# -- the chart ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Seat:
    participant_id: int
    person: str
    org: str
    kind: str  # Japanese label
    host: bool


@dataclass(frozen=True)
class Meeting:
    person: str
    org: str
    reason: str
    affinity: int


@dataclass(frozen=True)
class Stop:
    round: int
    table_no: int
    meet: tuple[Meeting, ...]


@dataclass(frozen=True)
class Itinerary:
    participant_id: int
    person: str
    org: str
    stops: tuple[Stop, ...]


@dataclass(frozen=True)
class ForumChart:
    event_id: int
    name: str
    held_on: datetime | None
    rounds: tuple[tuple[tuple[int, tuple[Seat, ...]], ...], ...]  # round → (table no, seats)
    itineraries: tuple[Itinerary, ...]
    objective: int | None
    upper_bound: int | None
    meetings: int


def forum_chart(engine: Engine, event_ref: str | int) -> ForumChart:
    """What the printed chart shows: one page per round, and each person's itinerary."""
    event = find_event(engine, event_ref)
    if event.state != "seated":
        raise Conflict("このフォーラムはまだ席が決まっていません", "the event has not been seated yet")
    with session_scope(engine) as s:
        people = {p.id: p for p in s.exec(select(Participant).where(Participant.event_id == event.id,
                                                                    Participant.cancelled.is_(False)))}
        orgs = {o.id: o.name for o in s.exec(select(Organization).where(
            Organization.id.in_({p.org_id for p in people.values()} or {-1})))}
        seats = s.exec(select(SeatAssignment).where(SeatAssignment.event_id == event.id)
                       .order_by(SeatAssignment.round, SeatAssignment.table_no, SeatAssignment.participant_id)).all()
        meetings = s.exec(select(ForumMeeting).where(ForumMeeting.event_id == event.id)).all()

    def seat(pid: int) -> Seat:
        p = people[pid]
        return Seat(pid, p.person, orgs.get(p.org_id, ""), KIND_JA.get(p.kind, p.kind), p.host_table is not None)

    rounds: dict[int, dict[int, list[Seat]]] = {}
    where: dict[int, dict[int, int]] = {}
    for a in seats:
        if a.participant_id in people:
            rounds.setdefault(a.round, {}).setdefault(a.table_no, []).append(seat(a.participant_id))
            where.setdefault(a.participant_id, {})[a.round] = a.table_no
    met: dict[tuple[int, int], list[Meeting]] = {}
    for m in meetings:
        if m.participant_a in people and m.participant_b in people:
            for me, other in ((m.participant_a, m.participant_b), (m.participant_b, m.participant_a)):
                o = people[other]
                met.setdefault((me, m.round), []).append(Meeting(o.person, orgs.get(o.org_id, ""), m.reason, m.affinity))
    itineraries = []
    for pid in sorted(people, key=lambda i: (orgs.get(people[i].org_id, ""), people[i].person)):
        stops = tuple(Stop(r, t, tuple(sorted(met.get((pid, r), []), key=lambda x: -x.affinity)))
                      for r, t in sorted(where.get(pid, {}).items()))
        itineraries.append(Itinerary(pid, people[pid].person, orgs.get(people[pid].org_id, ""), stops))
    return ForumChart(event.id, event.name, event.held_on,
                      tuple(tuple(sorted(tables.items())) for _, tables in sorted(rounds.items())),
                      tuple(itineraries), event.objective, event.upper_bound, len(meetings))


# -- seating as a background job (the desk) ------------------------------------------------------------
SEATING = "seating"
SEATING_HANDLER = "matcher.services.forum:run_seating_job"


def seating_subject(event_id: int) -> str:
    return f"forum:{event_id}"


def queue_seating(runner: JobRunner, event_ref: str | int, rounds: int, table_size: int, seconds: float,
                  seed: int = 0, actor: str | None = None) -> Job:
    """Queue a seating run for the event (one at a time per event) on the job runner. The
    event's current chart stays printable until the new seating replaces it."""
    if not 1 <= rounds <= MAX_ROUNDS or not 2 <= table_size <= 30 or not 1 <= seconds <= 600:
        raise InvalidInput(f"ラウンド数は 1〜{MAX_ROUNDS}、1 卓は 2〜30 名、時間は 1〜600 秒です",
                           "rounds 1..6, table size 2..30, seconds 1..600")
    event = find_event(runner.engine, event_ref)
    params = {"event_id": event.id, "rounds": rounds, "table_size": table_size, "seconds": seconds, "seed": seed}
    subject = seating_subject(event.id)
    try:
        job = runner.submit(SEATING, SEATING_HANDLER, params, subject=subject, lock_key=subject)
    except Conflict:
        raise Conflict("このフォーラムの席順は作成中です。終わるまでお待ちください",
                       "a seating run for this event is already queued or running") from None
    with session_scope(runner.engine) as s:
        s.add(AuditLog(actor=actor, action="forum_seat_queued", target=subject, detail=params))
    return job


def seating_job(runner: JobRunner, event_id: int) -> Job | None:
    """The event's latest seating run (what the desk shows beside the stored chart)."""
    return runner.latest(SEATING, seating_subject(event_id))


def run_seating_job(handle: JobHandle) -> dict[str, Any]:
    """A queued seating run (the runner's handler); progress goes to the job's row."""
    p = handle.params
    ctx = handle.resource("context")
    if ctx is None:
        from matcher.search.embed import get_embedder
        from matcher.services.context import load_context

        ctx = load_context(handle.engine, handle.settings, get_embedder(handle.settings))

    def report(seconds: float, best: int, fraction: float) -> None:
        handle.report(done=round(1000 * fraction), total=1000, best=best, seconds=round(seconds, 1))

    result = seat_event(ctx, p["event_id"], p.get("rounds", 3), p.get("table_size", 8), p.get("seconds", 30),
                        p.get("seed", 0), progress=report)
    return result.as_json()
