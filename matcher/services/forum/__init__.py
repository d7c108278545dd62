"""産業人フォーラム: participants, seating from the scored graph, re-seating and the chart's data."""

from matcher.services.forum.chart import ForumChart, Itinerary, Meeting, Seat, Stop, forum_chart
from matcher.services.forum.events import (
    MAX_PARTICIPANTS,
    MAX_ROUNDS,
    ParticipantImport,
    create_event,
    find_event,
    import_participants,
    list_events,
    participants,
)
from matcher.services.forum.plan import ACCEPTED, SCALE, WISH, ForumPlan, build_plan, tables_for
from matcher.services.forum.seating import (
    SEATING,
    SEATING_HANDLER,
    ForumSeating,
    Moved,
    SeatingSummary,
    cancel,
    count_meetings,
    pair_reason,
    queue_seating,
    reseat_event,
    run_seating_job,
    seat_event,
    seating_job,
    seating_subject,
    store_seating,
)

__all__ = ["ACCEPTED", "MAX_PARTICIPANTS", "MAX_ROUNDS", "SCALE", "SEATING", "SEATING_HANDLER", "WISH", "ForumChart",
           "ForumPlan", "ForumSeating", "Itinerary", "Meeting", "Moved", "ParticipantImport", "Seat", "SeatingSummary", "Stop", "build_plan",
           "cancel", "count_meetings", "create_event", "find_event", "forum_chart", "import_participants",
           "list_events", "pair_reason", "participants", "queue_seating", "reseat_event", "run_seating_job",
           "seat_event", "seating_job", "seating_subject", "store_seating", "tables_for"]
