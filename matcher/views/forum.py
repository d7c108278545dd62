"""The forum's results as JSON: a seating run (with who moved), the event list, a written chart."""

from __future__ import annotations

from typing import Any

from matcher.services.forum import ForumSeating
from matcher.store.tables import ForumEvent
from matcher.views.common import plain
from matcher.views.solvers import seating_json


def forum_seating_json(result: ForumSeating) -> dict[str, Any]:
    out = seating_json(result.plan.instance, result.solution)
    out.update(event_id=result.event_id, participants=len(result.plan.people),
               tables=len(result.plan.instance.tables), meetings=result.meetings)
    if result.moved:
        out["moved"] = plain(result.moved)
    return out


def forum_event_json(e: ForumEvent, participants: int) -> dict[str, Any]:
    return {"id": e.id, "name": e.name, "state": e.state, "participants": participants, "tables": e.tables,
            "rounds": e.rounds, "objective": e.objective, "upper_bound": e.upper_bound}
