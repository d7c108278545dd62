"""Forum events in the store: participant import, seating from the scored graph, re-seating after
cancellations, the printed chart, the CLI and the desk page."""

from __future__ import annotations

import itertools

from sqlmodel import select

from matcher.services import forum
from matcher.store.db import session_scope
from matcher.store.tables import ForumMeeting, Participant, SeatAssignment
from tests.support import ROSTER


def seats_of(engine, event_id: int) -> dict[int, dict[int, int]]:
    with session_scope(engine) as s:
        rows = s.exec(select(SeatAssignment).where(SeatAssignment.event_id == event_id)).all()
    out: dict[int, dict[int, int]] = {}
    for a in rows:
        out.setdefault(a.participant_id, {})[a.round] = a.table_no
    return out


def assert_rules_hold(engine, event_id: int, table_size: int) -> None:
    """Every hard rule, checked on what the store holds (not on the solver's own report)."""
    people = {p.id: p for p in forum.participants(engine, event_id)}
    seats = seats_of(engine, event_id)
    assert set(seats) == set(people)
    rounds = {r for s in seats.values() for r in s}
    met: set[frozenset[int]] = set()
    for r in rounds:
        tables: dict[int, list[int]] = {}
        for pid, s in seats.items():
            tables.setdefault(s[r], []).append(pid)
        for members in tables.values():
            assert len(members) <= table_size
            orgs = [people[p].org_id for p in members]
            assert len(orgs) == len(set(orgs)), "two people of one organisation at a table"
            for a, b in itertools.combinations(members, 2):
                assert frozenset((a, b)) not in met, "a pair met twice"
                met.add(frozenset((a, b)))
                assert people[b].org_id not in people[a].avoid and people[a].org_id not in people[b].avoid
    for pid, p in people.items():
        if p.host_table:
            assert set(seats[pid].values()) == {p.host_table}, "a host left their table"


def test_seating_uses_the_scored_graph_keeps_every_rule_and_is_repeatable(own_demo):
    report = forum.import_participants(own_demo.engine, ROSTER, "座席テスト")
    assert report.rejected == [] and report.inserted == 65
    plan = forum.build_plan(own_demo, report.event_id, rounds=3, table_size=8)
    people = plan.people
    # Affinity: a wish is worth at least WISH; most pairs with an affinity got it from edge scores.
    wishers = [(i, j) for i, p in enumerate(people) for j, q in enumerate(people) if q.org_id in p.wishes]
    assert wishers
    for i, j in wishers:
        key = (min(i, j), max(i, j))
        assert key in plan.instance.conflicts or plan.instance.affinity[key] >= forum.WISH
    assert sum(1 for k in plan.edges if k in plan.instance.affinity) > len(people)
    assert plan.instance.fixed  # support organisations host tables
    first = forum.seat_event(own_demo, report.event_id, rounds=3, table_size=8, seconds=1, seed=3)
    assert first.solution.objective > 0 and first.solution.objective <= first.solution.bound
    assert_rules_hold(own_demo.engine, report.event_id, 8)
    stored = seats_of(own_demo.engine, report.event_id)
    again = forum.seat_event(own_demo, report.event_id, rounds=3, table_size=8, seconds=1, seed=3)
    assert again.solution.value == first.solution.value and seats_of(own_demo.engine, report.event_id) == stored
    with session_scope(own_demo.engine) as s:
        meetings = s.exec(select(ForumMeeting).where(ForumMeeting.event_id == report.event_id)).all()
    assert len(meetings) == first.meetings > 0
    assert sum(m.affinity for m in meetings) == first.solution.objective
    assert all(m.reason for m in meetings)
    assert any("面談希望" in m.reason for m in meetings)


def test_a_full_demo_room_is_seated(own_demo):
    """65 people at 13 tables of 5 over 3 rounds: not one spare seat, yet every rule holds."""
    report = forum.import_participants(own_demo.engine, ROSTER, "満席テスト")
    plan = forum.build_plan(own_demo, report.event_id, rounds=3, table_size=5)
    assert len(plan.instance.tables) * 5 == len(plan.people) == 65
    done = forum.seat_event(own_demo, report.event_id, rounds=3, table_size=5, seconds=2, seed=0)
    assert done.solution.objective > 0
    assert_rules_hold(own_demo.engine, report.event_id, 5)


def test_late_cancellations_move_nobody_else(own_demo):
    report = forum.import_participants(own_demo.engine, ROSTER, "キャンセルテスト")
    forum.seat_event(own_demo, report.event_id, rounds=3, table_size=4, seconds=1, seed=1)
    before = seats_of(own_demo.engine, report.event_id)
    # Cancel everyone but one at some table in round 1, so that person would sit alone.
    table = {}
    for pid, s in before.items():
        table.setdefault(s[1], []).append(pid)
    hosts = {p.id for p in forum.participants(own_demo.engine, report.event_id) if p.host_table}
    crowd = next(ps for ps in table.values() if not set(ps) & hosts and len(ps) >= 3)
    gone, stays = sorted(crowd)[1:], sorted(crowd)[0]
    # One more cancellation at each of four other round-1 tables, so there are free seats the
    # lonely person may take (with a full room they would have nowhere to go and stay put).
    others = [sorted(set(ps) - hosts) for ps in table.values() if ps is not crowd and len(ps) == 4]
    gone += [ps[-1] for ps in others[:4] if ps]
    result = forum.cancel(own_demo, report.event_id, gone)
    after = seats_of(own_demo.engine, report.event_id)
    assert set(after) == set(before) - set(gone)
    moved = {(m.participant_id, m.round) for m in result.moved}
    assert (stays, 1) in moved  # left alone, so moved to a table where they meet someone
    for pid, s in after.items():
        for r, t in s.items():
            assert (pid, r) in moved or before[pid][r] == t
    assert_rules_hold(own_demo.engine, report.event_id, 4)
    # A late addition takes a free seat; nobody moves for it.
    org = next(o for o in own_demo.orgs.values() if o.id not in {p.org_id for p in
               forum.participants(own_demo.engine, report.event_id)})
    with session_scope(own_demo.engine) as s:
        s.add(Participant(event_id=report.event_id, org_id=org.id, person="飛び入り 参加（架空）", kind=org.kind))
    result = forum.reseat_event(own_demo, report.event_id)
    latest = seats_of(own_demo.engine, report.event_id)
    assert result.moved == [] and all(latest[p] == after[p] for p in after)
    assert_rules_hold(own_demo.engine, report.event_id, 4)
