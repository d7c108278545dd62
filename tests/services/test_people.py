"""人材 on the scored graph: shortlists of people for a need and of needs for a person, their
constraints, privacy towards companies, learning, and the advisory batch."""

import dataclasses

from sqlmodel import select

from matcher.graph.model import History
from matcher.services import people as people_service
from matcher.services import shortlists as sl
from matcher.services.context import load_context, load_histories
from matcher.services.decisions import record_decision
from matcher.services.proposals import company_items, proposals_for
from matcher.store.db import session_scope
from matcher.store.tables import Constraint, Person, Suggestion


def _people(engine):
    with session_scope(engine) as s:
        return {p.external_id: p for p in s.exec(select(Person))}


def test_a_need_gets_people_whose_specialities_cover_its_processes(demo_ctx):
    one = sl.shortlist_need(demo_ctx, "HN001", "people", 5, store=False)  # 切削・溶接・研削・検査
    assert [e.candidate_type for e in one.candidates] == ["person"] * 5
    assert all(e.covered for e in one.candidates), [e.reason for e in one.candidates]
    top = one.candidates[0]
    assert top.reason.startswith("専門分野が必要工程 4 件中") and "経歴：" in top.reason
    assert any(mode in top.reason for mode in ("訪問で対応", "オンラインで対応", "訪問・オンラインとも対応"))
    # A welding need's list is led by the welders, not by whoever is nearest.
    welding = sl.shortlist_need(demo_ctx, "HN030", "people", 3, store=False)
    assert all("溶接" in e.candidate.specialities for e in welding.candidates), \
        [(e.candidate.external_id, e.candidate.specialities) for e in welding.candidates]


def test_nobody_without_consent_is_ever_a_candidate(demo_ctx):
    refused = {p.id for p in _people(demo_ctx.engine).values() if not p.consent}
    assert refused and not refused & set(demo_ctx.person_parties)
    for need in demo_ctx.needs.values():
        listed = sl.shortlist_need(demo_ctx, need.id, "people", 60, store=False)
        assert not refused & {e.candidate.id for e in listed.candidates + listed.excluded}
    assert sl.CANDIDATE_TYPES["all"] == ("organization", "seed")  # people only when asked for by name


def _retarget(ctx, external_id: str, **values):
    with session_scope(ctx.engine) as s:
        p = s.exec(select(Person).where(Person.external_id == external_id)).one()
        for k, v in values.items():
            setattr(p, k, v)
        s.add(p)
    return load_context(ctx.engine, ctx.settings, ctx.embedder)


def test_declared_conflicts_and_the_employers_pairs_keep_a_person_off(own_demo):
    need = own_demo.find_need("HN030")
    requester = own_demo.orgs[need.org_id]
    listed = sl.shortlist_need(own_demo, "HN030", "people", 60, store=False)
    person = listed.candidates[0].candidate
    other = next(o for o in own_demo.orgs.values() if o.id != requester.id)

    ctx = _retarget(own_demo, person.external_id, conflicts=f"HC9999;{requester.external_id}")
    one = sl.shortlist_need(ctx, "HN030", "people", 60, store=False)
    assert person.id not in {e.candidate.id for e in one.candidates}
    assert {e.candidate.id: e.excluded for e in one.excluded}[person.id] == "person_conflict"

    ctx = _retarget(own_demo, person.external_id, conflicts="", affiliation=requester.external_id)
    one = sl.shortlist_need(ctx, "HN030", "people", 60, store=False)
    assert {e.candidate.id: e.excluded for e in one.excluded}[person.id] == "own_employer"

    with session_scope(own_demo.engine) as s:
        s.add(Constraint(kind="competitor", org_a=other.id, org_b=requester.id))
    ctx = _retarget(own_demo, person.external_id, affiliation=other.external_id)
    one = sl.shortlist_need(ctx, "HN030", "people", 60, store=False)
    assert {e.candidate.id: e.excluded for e in one.excluded}[person.id] == "competitor"
    # The employer's own opt-out is not the person's.
    ctx = _retarget(own_demo, person.external_id, affiliation=None)
    assert person.id in {e.candidate.id for e in sl.shortlist_need(ctx, "HN030", "people", 60, store=False).candidates}


def test_a_persons_needs_are_the_same_pairs_as_the_needs_lists(own_demo):
    person = _people(own_demo.engine)["HP004"]  # a welding advisor
    mine = sl.shortlist_person(own_demo, "HP004", 5)
    assert mine.candidates and all(e.query.type == "need" and e.candidate.id == person.id for e in mine.candidates)
    assert "溶接" in mine.candidates[0].covered
    with session_scope(own_demo.engine) as s:
        rows = s.exec(select(Suggestion).where(Suggestion.run_id == mine.run_id)).all()
    assert {(r.query_type, r.candidate_type, r.candidate_id, r.kind) for r in rows} == {("need", "person", person.id,
                                                                                          "person")}
    assert sorted(r.query_id for r in rows) == sorted(e.query.id for e in mine.candidates)
    assert all(r.candidate_org_id is None for r in rows)  # nothing about a person is ever sent to an employer


def test_decisions_on_people_train_their_own_history(own_demo):
    one = sl.shortlist_need(own_demo, "HN030", "people", 3)
    first = one.candidates[0]
    record_decision(own_demo.engine, first.suggestion_id, "accept", by="coord@example.jp")
    histories = load_histories(own_demo.engine, own_demo.needs)
    assert histories["person"].accepts == {first.candidate.id: 1}
    assert first.candidate.id not in histories.get("organization", History()).accepts
    ctx = load_context(own_demo.engine, own_demo.settings, own_demo.embedder)
    again = {e.candidate.id: e for e in sl.shortlist_need(ctx, "HN030", "people", 10, store=False).candidates}
    assert again[first.candidate.id].features["pair_accepts"] == 1.0
    assert again[first.candidate.id].decision.verdict == "accept"
    # …and the verdict is a training example of the one ranker, as a partner's verdict is.
    from matcher.learn.training import build_training_set

    ts = build_training_set(own_demo.engine)
    assert first.suggestion_id in set(ts.suggestions.tolist())


def test_companies_never_read_a_persons_proposal(own_demo):
    """Until the person agrees, a proposal of a person is the coordinators' alone: not in the
    requester's proposals, nor in the employer's."""
    one = sl.shortlist_need(own_demo, "HN030", "people", 3)
    for e in one.candidates:
        record_decision(own_demo.engine, e.suggestion_id, "accept", by="coord@example.jp")
    need = own_demo.find_need("HN030")
    ids = {e.suggestion_id for e in one.candidates}
    for org_id in {need.org_id} | set(own_demo.orgs):
        seen = company_items(own_demo.engine, org_id) + proposals_for(own_demo.engine, org_id)
        assert not ids & {item.suggestion_id for item in seen}, org_id


def test_the_advisory_batch_respects_hours_and_k(own_demo):
    a = people_service.assign_advisors(own_demo, k=2, hours_per_engagement=10, min_score=0.4)
    assert a.status == "optimal" and len(a.shortlists) == sum(n.status == "open" for n in own_demo.needs.values())
    load: dict[int, int] = {}
    for one in a.shortlists:
        assert len(one.candidates) <= 2 and all(e.score >= 0.4 for e in one.candidates)
        assert len(one.candidates) == 2 or one.query.id in a.unfilled
        for e in one.candidates:
            load[e.candidate.id] = load.get(e.candidate.id, 0) + 1
            assert e.reason
    parties = own_demo.person_parties
    for pid, n in load.items():
        hours = parties[pid].hours_per_month
        assert n * 10 <= (hours if hours is not None else 10), (parties[pid].external_id, n, hours)
    assert {x.person.id: x.engagements for x in a.loads if x.engagements} == load
    assert round(a.total_score, 4) == round(sum(e.score for one in a.shortlists for e in one.candidates), 4)
    with session_scope(own_demo.engine) as s:
        stored = s.exec(select(Suggestion).where(Suggestion.run_id == a.run_id)).all()
    assert len(stored) == sum(load.values()) and {r.kind for r in stored} == {"person"}
    # More hours per engagement: fewer engagements fit, never more.
    tight = people_service.assign_advisors(own_demo, k=2, hours_per_engagement=20, min_score=0.4, store=False)
    assert sum(x.engagements for x in tight.loads) <= sum(load.values())
    assert dataclasses.asdict(tight.loads[0])["capacity"] == (
        (tight.loads[0].hours_available or 20) // 20 if tight.loads[0].hours_available is not None else 1)
