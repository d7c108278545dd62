"""Seating runs: solve, store (with each pair's Japanese reason), re-seat after late changes,
and the same run queued on the one job runner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import delete, update
from sqlmodel import select

from matcher.errors import Conflict, InvalidInput, NotFound
from matcher.infra.jobs import JobHandle, JobRunner
from matcher.labels import KIND_JA
from matcher.services.context import MatchContext
from matcher.services.forum.events import MAX_ROUNDS, find_event
from matcher.services.forum.plan import ForumPlan, build_plan
from matcher.solve import seating
from matcher.solve.result import Solution
from matcher.solve.seating import Reseating, Seating, reseat
from matcher.store.db import session_scope
from matcher.store.tables import AuditLog, ForumEvent, ForumMeeting, Job, Participant, SeatAssignment


@dataclass(frozen=True)
class Moved:
    """One person moved by a re-seating (1-based round and tables, as the chart numbers them)."""

    round: int
    participant_id: int
    person: str
    from_table: int
    to_table: int


@dataclass
class ForumSeating:
    event_id: int
    solution: Solution[Seating]
    plan: ForumPlan
    moved: list[Moved] = field(default_factory=list)

    @property
    def meetings(self) -> int:
        return count_meetings(self.solution.value)


@dataclass(frozen=True)
class SeatingSummary:
    """What a finished seating job records on its row."""

    event_id: int
    status: str
    objective: float
    upper_bound: float | None
    participants: int
    tables: int
    meetings: int
    seconds: float


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
    solution = seating.solve(plan.instance, seconds, seed, progress=progress)
    store_seating(ctx, event.id, plan, solution, table_size)
    return ForumSeating(event.id, solution, plan)


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
    moved = [Moved(r + 1, plan.people[p].id, plan.people[p].person, a + 1, b + 1) for r, p, a, b in result.moved]
    return ForumSeating(event.id, result.seating, plan, moved)


def store_seating(ctx: MatchContext, event_id: int, plan: ForumPlan, solution: Solution[Seating],
                  table_size: int) -> None:
    """Assignments and meetings (with their Japanese reasons) replace the event's earlier ones
    in one transaction."""
    inst, rounds = plan.instance, solution.value.rounds
    meetings: list[ForumMeeting] = []
    for r, row in enumerate(rounds):
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
        for r, row in enumerate(rounds):
            for p, t in enumerate(row):
                s.add(SeatAssignment(event_id=event_id, participant_id=plan.people[p].id, round=r + 1, table_no=t + 1))
        s.add_all(meetings)
        event = s.get(ForumEvent, event_id)
        assert event is not None
        event.tables, event.seats_per_table, event.rounds = len(inst.tables), table_size, inst.rounds
        objective, bound = int(solution.objective), int(solution.bound or 0)
        event.objective, event.upper_bound = objective, bound
        event.state, event.seated_at = "seated", datetime.now(UTC)
        event.progress = {"seconds": round(solution.seconds, 2), "best": objective, "upper_bound": bound,
                          "iterations": solution.value.iterations, "status": solution.status,
                          "truncated": solution.status == "truncated"}
        s.add(event)
        s.add(AuditLog(action="forum_seat", target=f"forum:{event_id}",
                       detail={"objective": objective, "upper_bound": bound, "status": solution.status,
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
        # The place is the reader's partner's, so the chart writes it per reader (forum_chart).
        why = replace(edge.why, distance="elsewhere")
        text = why.text("coordinator") if both_public else why.text("requester", other_public=False)
        reasons.insert(0, text or "技術・事業の内容が近い")
    if not reasons:
        a, b = plan.people[key[0]], plan.people[key[1]]
        kinds = {KIND_JA.get(a.kind, a.kind), KIND_JA.get(b.kind, b.kind)}
        return "交流のための同席（" + "・".join(sorted(kinds)) + "）"
    return " / ".join(reasons)


SEATING = "seating"
SEATING_HANDLER = "matcher.services.forum.seating:run_seating_job"


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


def run_seating_job(handle: JobHandle) -> SeatingSummary:
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
    sol = result.solution
    return SeatingSummary(result.event_id, sol.status, sol.objective, sol.bound, len(result.plan.people),
                          len(result.plan.instance.tables), result.meetings, round(sol.seconds, 3))
