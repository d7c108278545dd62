"""Joint-order groups and the set-cover solver: exact, constraint-safe, deterministic, explained."""

import dataclasses
import itertools
import re

from matcher.solve.groups import k_best


def test_groups_for_a_need_cover_every_process_with_an_explained_lead(demo_ctx):
    from matcher import views
    from matcher.services.groups import choose_lead, propose_groups

    first = propose_groups(demo_ctx, "HN001", k=3, max_size=5, store=False)
    again = propose_groups(demo_ctx, "HN001", k=3, max_size=5, store=False)
    assert [[m.edge.candidate.id for m in g.members] for g in first.groups] == \
           [[m.edge.candidate.id for m in g.members] for g in again.groups]
    need = first.need
    assert len(first.groups) == 3 and first.uncovered == []
    for g in first.groups:
        assert set(g.covered) == set(need.required) and len(g.members) <= 5
        ids = [m.edge.candidate.id for m in g.members]
        assert need.org_id not in ids  # the hard constraints of shortlists hold
        for a, b in itertools.combinations(ids, 2):
            assert demo_ctx.edges.constraints.why_not(a, b) not in ("conflict", "competitor", "same_group")
        lead = [m for m in g.members if m.role == "lead"]
        assert len(lead) == 1 and choose_lead(g.members, demo_ctx.edges.history.accepts) is lead[0]
        for proc in need.required:
            assert f"{proc}:" in g.explanation
        assert "幹事企業は" in g.explanation and re.search(r"必要工程 \d 件中 \d 件を担当", g.explanation)
    assert "次点" in first.groups[0].explanation
    out = views.as_json(views.groups_out(first))
    assert set(out) == {"need", "groups", "infeasible"} and out["infeasible"] is None
    g = out["groups"][0]
    assert set(g) >= {"rank", "score", "lead", "members", "covered", "explanation"}
    assert set(g["lead"]) == {"id", "name"} and set(g["members"][0]) == {"org", "covers", "role"}
    assert set(g["members"][0]["org"]) == {"id", "external_id", "name", "city"}


def test_an_uncoverable_need_names_the_process_and_nearest_firms(demo_ctx):
    from matcher.services.groups import build_problem, nearest_for
    from matcher.services.shortlists import query_vector

    query = demo_ctx.need_party(demo_ctx.find_need("HN001"))
    query = dataclasses.replace(query, required=(*query.required, "鍛造"))
    ranked = demo_ctx.edges.rank(query, "organization", query_vector(demo_ctx, query))
    pool_edges = [e for e in ranked.edges if e.covered and "鍛造" not in e.covered]  # a pool without forging
    problem = build_problem(demo_ctx, query, pool_edges, 5)
    assert problem.uncovered() == ["鍛造"] and k_best(problem) == []
    nearest = nearest_for(demo_ctx, query, ["鍛造"], {e.candidate.id for e in pool_edges})
    assert nearest and all(n.process == "鍛造" for n in nearest)
    assert all("鍛造" in demo_ctx.org_parties[n.id].processes for n in nearest if n.kind == "organization")


def test_group_decisions_feed_training(own_demo, tmp_path):
    from matcher.learn.training import build_training_set
    from matcher.services.decisions import drop_group_member, record_decision
    from matcher.services.groups import propose_groups

    before = len(build_training_set(own_demo.engine))
    proposal = propose_groups(own_demo, "HN005", k=2, max_size=4, store=True)
    top, second = proposal.groups[0], proposal.groups[1]
    record_decision(own_demo.engine, top.suggestion_id, "accept", by="coord")
    record_decision(own_demo.engine, second.suggestion_id, "reject", "other", by="coord")
    drop_group_member(own_demo.engine, top.suggestion_id, top.members[-1].edge.candidate.id, by="coord")
    ts = build_training_set(own_demo.engine)
    added = len(ts) - before
    # accepted group: its members minus the dropped one; rejected group: all members; the drop itself
    assert added == (len(top.members) - 1) + len(second.members) + 1
