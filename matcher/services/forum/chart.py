"""What the printed forum chart shows: one page per round and each person's itinerary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import select

from matcher.errors import Conflict
from matcher.graph.explain import place_ja
from matcher.graph.features import distance_class
from matcher.labels import KIND_JA
from matcher.services.forum.events import find_event
from matcher.store.db import session_scope
from matcher.store.tables import ForumMeeting, Organization, Participant, SeatAssignment


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


def partner_place(orgs: dict[int, Organization], me: int, partner: int) -> str:
    """Where the reader's partner is, seen from the reader (「近隣（八王子市）」); nothing for a
    partner that is not public, or far away."""
    a, b = orgs.get(me), orgs.get(partner)
    if a is None or b is None or not b.publish or me == partner:
        return ""
    return place_ja(distance_class(a.city, b.city), b.city)


def forum_chart(engine: Engine, event_ref: str | int) -> ForumChart:
    """What the printed chart shows: one page per round, and each person's itinerary."""
    event = find_event(engine, event_ref)
    if event.state != "seated":
        raise Conflict("このフォーラムはまだ席が決まっていません", "the event has not been seated yet")
    with session_scope(engine) as s:
        people = {p.id: p for p in s.exec(select(Participant).where(Participant.event_id == event.id,
                                                                    Participant.cancelled.is_(False)))}
        org_rows = {o.id: o for o in s.exec(select(Organization).where(
            Organization.id.in_({p.org_id for p in people.values()} or {-1})))}
        orgs = {i: o.name for i, o in org_rows.items()}
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
                reason = "、".join(x for x in (partner_place(org_rows, people[me].org_id, o.org_id), m.reason) if x)
                met.setdefault((me, m.round), []).append(Meeting(o.person, orgs.get(o.org_id, ""), reason, m.affinity))
    itineraries = []
    for pid in sorted(people, key=lambda i: (orgs.get(people[i].org_id, ""), people[i].person)):
        stops = tuple(Stop(r, t, tuple(sorted(met.get((pid, r), []), key=lambda x: -x.affinity)))
                      for r, t in sorted(where.get(pid, {}).items()))
        itineraries.append(Itinerary(pid, people[pid].person, orgs.get(people[pid].org_id, ""), stops))
    return ForumChart(event.id, event.name, event.held_on,
                      tuple(tuple(sorted(tables.items())) for _, tables in sorted(rounds.items())),
                      tuple(itineraries), event.objective, event.upper_bound, len(meetings))
