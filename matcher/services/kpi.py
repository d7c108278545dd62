"""進行管理: what the engine did, per quarter, half year (上期/下期), fiscal year and plan period,
beside the outcome indicators the plan is judged by.

Fiscal years run April to March (FY2026 = 2026-04-01 … 2027-03-31, JST). The plan's periods:
第1期 FY2023–2025, 第2期 FY2026–2029, 第3期 FY2030–2032. A decision counts in the quarter it was
made (the latest coordinator decision per suggestion); a suggestion in the quarter it was made;
forum figures in the quarter of the event (its date, else when it was seated); digests when
sent; links when first opened; a person (人材) as matched, with their engagement's hours, when
they agreed to it. Outcome indicators (事業所数, 付加価値額, 一人当たり付加価値額)
come from official statistics, imported per fiscal year (``import_outcomes``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from matcher.dates import to_jst, utcnow
from matcher.errors import InvalidInput
from matcher.exchange.pipeline import ImportReport, run_import
from matcher.labels import HALF_JA, METRIC_JA, OUTCOME_JA, PERIOD_JA
from matcher.services.invitations import DEFAULT_HOURS
from matcher.services.suggestions import Verdict, read_edges
from matcher.store.db import session_scope
from matcher.store.tables import (
    Decision,
    EmailMessage,
    ForumEvent,
    ForumMeeting,
    MailLink,
    Outcome,
    Participant,
    Suggestion,
)

PERIODS = {1: (2023, 2025), 2: (2026, 2029), 3: (2030, 2032)}
METRICS = ("suggestions", "accepted", "rejected", "company_interested", "company_declined", "research_matches",
           "groups_accepted", "advisors_matched", "advisor_hours", "forum_participants", "forum_meetings",
           "digests_sent", "links_opened")


def fiscal(dt: datetime) -> tuple[int, int, int]:
    """(fiscal year, half 1|2, quarter 1..4) of a moment, in Japan (any stored moment, even one
    too far out to convert, is counted somewhere rather than failing the report)."""
    local = to_jst(dt)
    fy = local.year if local.month >= 4 else local.year - 1
    quarter = (local.month - 4) % 12 // 3 + 1
    return fy, 1 if quarter <= 2 else 2, quarter


def period_of(fy: int) -> int | None:
    return next((p for p, (a, b) in PERIODS.items() if a <= fy <= b), None)


@dataclass
class KpiRow:
    fy: int
    half: int | None = None
    quarter: int | None = None
    counts: Counter = field(default_factory=Counter)

    @property
    def acceptance_rate(self) -> float | None:
        decided = self.counts["accepted"] + self.counts["rejected"]
        return round(self.counts["accepted"] / decided, 4) if decided else None

    def values(self) -> list[Any]:
        """Every metric in ``METRICS`` order, then the acceptance rate."""
        return [self.counts[m] for m in METRICS] + [self.acceptance_rate]


@dataclass
class KpiReport:
    period: int | None
    fy: int | None
    quarters: list[KpiRow]
    halves: list[KpiRow]
    years: list[KpiRow]
    outcomes: dict[int, Outcome]

    def totals(self) -> KpiRow:
        total = KpiRow(fy=0)
        for row in self.quarters:
            total.counts.update(row.counts)
        return total


def _events(engine: Engine) -> list[tuple[datetime, str] | tuple[datetime, str, int]]:
    """(when, metric[, amount]) for everything the report counts (the amount is 1 unless given)."""
    out: list[tuple[datetime, str] | tuple[datetime, str, int]] = []
    with session_scope(engine) as s:
        out += [(t, "suggestions") for t in s.exec(select(Suggestion.created_at))]
        events = {e.id: e.held_on or e.seated_at for e in s.exec(select(ForumEvent).where(ForumEvent.state == "seated"))}
        for p in s.exec(select(Participant).where(Participant.cancelled.is_(False))):
            if events.get(p.event_id):
                out.append((events[p.event_id], "forum_participants"))
        for event_id in s.exec(select(ForumMeeting.event_id)):
            if events.get(event_id):
                out.append((events[event_id], "forum_meetings"))
        out += [(t, "digests_sent") for t in s.exec(select(EmailMessage.sent_at).where(EmailMessage.status == "sent"))
                if t]
        out += [(t, "links_opened") for t in s.exec(select(MailLink.used_at).where(MailLink.used_at.is_not(None)))]
    edges = read_edges(engine)
    for e in edges:
        dec = e.decision
        if dec is not None and dec.verdict in ("accept", "reject"):
            out.append((dec.at, "accepted" if dec.verdict == "accept" else "rejected"))
            if dec.verdict == "accept" and e.candidate_type == "seed":
                out.append((dec.at, "research_matches"))
            if dec.verdict == "accept" and e.kind == "group":
                out.append((dec.at, "groups_accepted"))
    # Each organisation's latest reply on each pair it answered (once per pair, not per run).
    latest: dict[tuple, Verdict] = {}
    for e in edges:
        for r in e.replies:
            latest[(e.pair, r.org_id)] = r
    for r in latest.values():
        out.append((r.at, "company_interested" if r.verdict == "interested" else "company_declined"))
    return out + _advisor_events(engine)


def _advisor_events(engine: Engine) -> list[tuple[datetime, str, int]]:
    """人材: a pair counts as matched when the person's latest answer is 引き受ける, at that moment,
    with the hours its engagement takes. Read from the anonymous rows a 登録削除 leaves, so an
    erased person still counts."""
    with session_scope(engine) as s:
        rows = s.exec(select(Decision.verdict, Decision.decided_at, Suggestion.query_id, Suggestion.candidate_id,
                             Suggestion.hours).where(Decision.suggestion_id == Suggestion.id,
                                                     Decision.kind == "person_reply")
                      .order_by(Decision.decided_at, Decision.id)).all()
    latest = {(q, p): (verdict, at, hours) for verdict, at, q, p, hours in rows}
    out: list[tuple[datetime, str, int]] = []
    for verdict, at, hours in latest.values():
        if verdict == "agreed":
            out += [(at, "advisors_matched", 1), (at, "advisor_hours", hours or DEFAULT_HOURS)]
    return out


def kpi_report(engine: Engine, fy: int | None = None, period: int | None = None) -> KpiReport:
    if period is not None and period not in PERIODS:
        raise InvalidInput("期は 1・2・3 のいずれかです", "period must be 1, 2 or 3")
    if fy is not None and not 2000 <= fy <= 2100:
        raise InvalidInput("年度は 2000〜2100 です", "fiscal year must be 2000..2100")
    if fy is not None:
        years = [fy]
    elif period is not None:
        years = list(range(PERIODS[period][0], PERIODS[period][1] + 1))
    else:
        years = list(range(PERIODS[1][0], PERIODS[3][1] + 1))
    quarters = {(y, q): KpiRow(fy=y, half=1 if q <= 2 else 2, quarter=q) for y in years for q in range(1, 5)}
    for when, metric, *amount in _events(engine):
        y, _, q = fiscal(when)
        if (y, q) in quarters:
            quarters[(y, q)].counts[metric] += amount[0] if amount else 1
    halves = {(y, h): KpiRow(fy=y, half=h) for y in years for h in (1, 2)}
    year_rows = {y: KpiRow(fy=y) for y in years}
    for (y, _), row in quarters.items():
        halves[(y, row.half)].counts.update(row.counts)
        year_rows[y].counts.update(row.counts)
    if fy is None and period is None:  # the whole plan: only the years with something or outcomes
        outcomes_years = set(load_outcomes(engine))
        active = {y for y, r in year_rows.items() if sum(r.counts.values())} | outcomes_years
        keep = set(range(min(active), max(active) + 1)) if active else set()
        quarters = {k: v for k, v in quarters.items() if k[0] in keep}
        halves = {k: v for k, v in halves.items() if k[0] in keep}
        year_rows = {k: v for k, v in year_rows.items() if k in keep}
    return KpiReport(period, fy, [quarters[k] for k in sorted(quarters)], [halves[k] for k in sorted(halves)],
                     [year_rows[k] for k in sorted(year_rows)], load_outcomes(engine))


def load_outcomes(engine: Engine) -> dict[int, Outcome]:
    with session_scope(engine) as s:
        return {o.fy: o for o in s.exec(select(Outcome))}


def import_outcomes(engine: Engine, path: Path, name: str | None = None, actor: str | None = None,
                    strict: bool = False) -> ImportReport:
    """Outcome indicators per fiscal year (CSV/XLSX/JSON) through the one import pipeline; a year
    already stored is updated (``strict``: nothing is stored when any row is bad)."""

    def store(session, records, report: ImportReport) -> None:
        stored = {o.fy: o for o in session.exec(select(Outcome))}
        for rec in records:
            row = rec.model
            o = stored.get(row.fy) or Outcome(fy=row.fy)
            report.add("updated" if row.fy in stored else "inserted")
            o.establishments, o.value_added = row.establishments, row.value_added
            o.value_added_per_worker, o.source, o.updated_at = row.value_added_per_worker, row.source, utcnow()
            session.add(o)

    return run_import(engine, path, "outcomes", store, strict=strict, name=name, actor=actor, audit="outcomes_import")


def kpi_sheets(report: KpiReport) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The report as sheets a city office can paste into its progress report (Japanese headers)."""
    heads = [METRIC_JA[m] for m in METRICS] + [METRIC_JA["acceptance_rate"]]

    def values(row: KpiRow) -> list[Any]:
        return row.values()

    quarters = [[f"{r.fy}年度", HALF_JA[r.half or 1], f"第{r.quarter}四半期", *values(r)] for r in report.quarters]
    halves = [[f"{r.fy}年度", HALF_JA[r.half or 1], *values(r)] for r in report.halves]
    years = []
    for r in report.years:
        o = report.outcomes.get(r.fy)
        years.append([f"{r.fy}年度", PERIOD_JA.get(period_of(r.fy) or 0, ""), *values(r),
                      *([getattr(o, k) for k in OUTCOME_JA] if o else ["", "", ""])])
    return {"四半期": (["年度", "半期", "四半期", *heads], quarters),
            "半期": (["年度", "半期", *heads], halves),
            "年度・期": (["年度", "計画期", *heads, *OUTCOME_JA.values()], years)}
