"""Forum events in the store: participant import, seating from the scored graph, re-seating after
cancellations, the printed chart, the CLI and the desk page."""

from __future__ import annotations

import os
import shutil

import pytest
from sqlmodel import select

from matcher.services import forum
from matcher.store.db import session_scope
from matcher.store.tables import ForumMeeting, Organization
from tests.support import ROSTER


def test_chart_has_a_page_per_round_and_every_itinerary(own_demo, tmp_path):
    from matcher.views import print_pdf, render_forum_chart

    event = forum.import_participants(own_demo.engine, ROSTER, "座席表テスト").event_id
    forum.seat_event(own_demo, event, rounds=2, table_size=8, seconds=0.5)
    chart = forum.forum_chart(own_demo.engine, event)
    html = render_forum_chart(chart)
    assert html.count('<section class="round">') == 2 and "@page { size: A4" in html
    assert html.count('<div class="person">') == 65 and "第 2 ラウンド" in html
    some = chart.itineraries[0]
    assert len(some.stops) == 2 and all(m.reason for stop in some.stops for m in stop.meet)
    if shutil.which("chromium") is None:
        message = "chromium missing: the PDF chart is NOT tested (make browser installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    target = tmp_path / "chart.html"
    target.write_text(html, encoding="utf-8")
    print_pdf(target.read_text(encoding="utf-8"), tmp_path / "chart.pdf")
    pdf = (tmp_path / "chart.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"/MediaBox [0 0 594.95996 841.91998]" in pdf  # A4 in points


def test_each_reader_is_told_where_the_partner_is_and_no_template_word(own_demo):
    import re

    event = forum.import_participants(own_demo.engine, ROSTER, "所在地テスト").event_id
    forum.seat_event(own_demo, event, rounds=2, table_size=8, seconds=0.5)
    chart = forum.forum_chart(own_demo.engine, event)
    with session_scope(own_demo.engine) as s:
        orgs = {o.name: o for o in s.exec(select(Organization))}
    placed = 0
    for it in chart.itineraries:
        for stop in it.stops:
            for m in stop.meet:
                for city in re.findall(r"(?:近隣|多摩地域)（([^）]+)）", m.reason):
                    placed += 1
                    assert city == orgs[m.org].city and orgs[m.org].publish, (it.org, m.org, m.reason)
                for word in ("日野", "創業", "中心"):  # the demo profiles' template: 「…年に日野市で創業…を中心に」
                    assert not re.search(rf"共通語：[^、/]*{word}", m.reason), m.reason
    assert placed > 0


def test_the_chart_never_names_a_confidential_match_or_quotes_a_non_public_firm(demo_copy):
    """The chart is handed to both people of every pair: an accepted suggestion for a 非公開 need
    is never given as a reason, and an organisation that is not public is never placed, certified
    or quoted (only its participants' names and its organisation name, as on a name tag)."""
    from matcher.search.embed import get_embedder
    from matcher.services.context import load_context
    from matcher.services.decisions import record_decision
    from matcher.services.shortlists import build_shortlist
    from matcher.store.db import get_engine
    from matcher.store.tables import Need

    engine = get_engine(demo_copy.sqlalchemy_url)
    event = forum.import_participants(engine, ROSTER, "非公開テスト").event_id
    people = forum.participants(engine, event)
    org_ids = sorted({p.org_id for p in people})
    requester, hidden = org_ids[0], org_ids[1]
    with session_scope(engine) as s:
        o = s.get(Organization, hidden)
        o.publish = False
        s.add(o)
        hidden_city = o.city
        need = Need(external_id="NX-CHART", org_id=requester, title="社外秘の試作", text="非公開の新製品の部品加工。",
                    public=False)
        s.add(need)
    ctx = load_context(engine, demo_copy, get_embedder(demo_copy))
    shortlist = build_shortlist(ctx, ctx.need_party(ctx.find_need("NX-CHART")), "partners", k=200)
    target = next(e for e in shortlist.candidates if e.candidate.id == hidden) if any(
        e.candidate.id == hidden for e in shortlist.candidates) else None
    if target is not None:
        record_decision(engine, target.suggestion_id, "accept", by="coord")
    ctx = load_context(engine, demo_copy, get_embedder(demo_copy))
    forum.seat_event(ctx, event, rounds=3, table_size=8, seconds=1)
    with session_scope(engine) as s:
        meetings = s.exec(select(ForumMeeting).where(ForumMeeting.event_id == event)).all()
    by_id = {p.id: p for p in people}
    with_hidden = [m for m in meetings if hidden in (by_id[m.participant_a].org_id, by_id[m.participant_b].org_id)]
    assert with_hidden
    for m in with_hidden:
        assert "共通語" not in m.reason and (not hidden_city or hidden_city not in m.reason), m.reason
    assert all("承認した提案" not in m.reason for m in meetings
               if {by_id[m.participant_a].org_id, by_id[m.participant_b].org_id} == {requester, hidden})
    assert any("共通語" in m.reason for m in meetings if m not in with_hidden)  # others still say why
