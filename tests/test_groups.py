"""Joint-order groups and the set-cover solver: exact, constraint-safe, deterministic, explained."""

import dataclasses
import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.errors import FileError
from matcher.solve.groups import GroupCandidate, GroupProblem, best_groups, brute_force_groups
from matcher.solve.setcover import SetCoverInstance, greedy_set_cover, read_orlib, solve_set_cover

PROCS = ("切削", "溶接", "研削", "検査", "塗装")


# -- set cover -------------------------------------------------------------------------------------
def test_orlib_file_is_read_and_solved(tmp_path):
    p = tmp_path / "scp.txt"
    # 3 rows, 4 columns; costs 3 2 2 4; row 1 by {1,2}, row 2 by {2,3}, row 3 by {3,4}
    p.write_text("3 4\n 3 2 2 4\n2\n1 2\n2 2 3\n2\n3 4\n")
    inst = read_orlib(p)
    assert inst.costs == (3, 2, 2, 4) and inst.rows == ((0, 1), (1, 2), (2, 3))
    sol = solve_set_cover(inst, seconds=10)
    assert sol.status == "optimal" and sol.cost == 4 and sol.as_json()["columns"] == [2, 3]


@pytest.mark.parametrize("text,line", [
    ("3 x\n", 1), ("2 2\n1 1\n1\n3\n1 1\n", 4), ("2 2\n1 1\n0\n", 3), ("2 2\n1 1\n1 1\n", 3), ("", 1),
    ("1 1\n5\n1 1\n9\n", 4),
])
def test_malformed_orlib_files_name_the_line(tmp_path, text, line):
    p = tmp_path / "bad.txt"
    p.write_text(text)
    with pytest.raises(FileError) as info:
        read_orlib(p)
    assert f"line {line}" in info.value.message_en and "行" in info.value.message_ja


cover_st = st.lists(st.lists(st.integers(0, 6), min_size=1, max_size=4), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None)
@given(cover_st, st.lists(st.integers(1, 9), min_size=7, max_size=7))
def test_set_cover_is_exact_against_brute_force_and_never_worse_than_greedy(rows, costs):
    inst = SetCoverInstance(tuple(costs), tuple(tuple(sorted(set(r))) for r in rows))
    sol = solve_set_cover(inst, seconds=10)
    assert all(any(c in sol.columns for c in row) for row in inst.rows)
    best = min(sum(costs[c] for c in combo) for n in range(1, 8) for combo in itertools.combinations(range(7), n)
               if all(any(c in combo for c in row) for row in inst.rows))
    assert sol.status == "optimal" and sol.cost == best
    assert greedy_set_cover(inst).cost >= sol.cost


# -- groups (the solver) ----------------------------------------------------------------------------
problems = st.builds(
    lambda covers, scores, aff, conflicts, size, cost: GroupProblem(
        required=PROCS[:4],
        candidates=tuple(GroupCandidate(i + 1, scores[i], frozenset(PROCS[j] for j in c))
                         for i, c in enumerate(covers)),
        affinity={(a, b): w for (a, b), w in aff.items() if a < b <= len(covers)},
        conflicts=frozenset(frozenset(p) for p in conflicts if p[0] != p[1]), max_size=size, member_cost=cost),
    st.lists(st.sets(st.integers(0, 4), max_size=3), min_size=1, max_size=7),
    st.lists(st.integers(0, 1000), min_size=7, max_size=7),
    st.dictionaries(st.tuples(st.integers(1, 7), st.integers(1, 7)), st.integers(-200, 200), max_size=8),
    st.lists(st.tuples(st.integers(1, 7), st.integers(1, 7)), max_size=4),
    st.integers(1, 4), st.integers(0, 600))


@settings(max_examples=60, deadline=None)
@given(problems)
def test_groups_always_cover_respect_limits_and_match_brute_force(problem):
    found = best_groups(problem, k=3, seconds=20)
    truth = brute_force_groups(problem, k=3)
    assert len(found) == len(truth)
    for g in found:
        assert problem.feasible(g.members) and g.status == "optimal"  # coverage, size, no conflict pair
        assert problem.objective(g.members) == g.objective
    assert [g.objective for g in found] == [o for o, _ in truth]  # the k best, in order
    assert len({g.members for g in found}) == len(found)  # distinct (no-good cuts)


def test_no_group_when_a_process_has_no_firm():
    problem = GroupProblem(required=("切削", "鍛造"), candidates=(GroupCandidate(1, 500, frozenset({"切削"})),))
    assert problem.uncovered() == ["鍛造"] and best_groups(problem) == []


def test_the_same_problem_gives_the_same_groups():
    problem = GroupProblem(required=PROCS[:3], candidates=tuple(
        GroupCandidate(i, 500, frozenset({PROCS[i % 3]})) for i in range(1, 10)), member_cost=100)
    runs = [[g.members for g in best_groups(problem, k=3)] for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]  # ties broken the same way every time


# -- groups on the demo's scored graph --------------------------------------------------------------
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
    assert problem.uncovered() == ["鍛造"] and best_groups(problem) == []
    nearest = nearest_for(demo_ctx, query, ["鍛造"], {e.candidate.id for e in pool_edges})
    assert nearest and all(n.process == "鍛造" for n in nearest)
    assert all("鍛造" in demo_ctx.org_parties[n.id].processes for n in nearest if n.kind == "organization")


def test_group_decisions_feed_training(demo_ctx, tmp_path):
    from matcher.learn.decisions import drop_group_member, record_decision
    from matcher.learn.training import build_training_set
    from matcher.services.groups import propose_groups

    before = len(build_training_set(demo_ctx.engine))
    proposal = propose_groups(demo_ctx, "HN005", k=2, max_size=4, store=True)
    top, second = proposal.groups[0], proposal.groups[1]
    record_decision(demo_ctx.engine, top.suggestion_id, "accept", by="coord")
    record_decision(demo_ctx.engine, second.suggestion_id, "reject", "other", by="coord")
    drop_group_member(demo_ctx.engine, top.suggestion_id, top.members[-1].edge.candidate.id, by="coord")
    ts = build_training_set(demo_ctx.engine)
    added = len(ts) - before
    # accepted group: its members minus the dropped one; rejected group: all members; the drop itself
    assert added == (len(top.members) - 1) + len(second.members) + 1


# -- study groups (SIG) --------------------------------------------------------------------------------
def test_sig_proposals_are_chosen_by_silhouette_labelled_and_convened(demo_ctx):
    from matcher import views
    from matcher.services.sig import RESEARCH_KINDS, propose_sigs

    p = propose_sigs(demo_ctx, seed=0)
    assert p.method in ("kmeans", "ward") and p.silhouette == max(max(s.values()) for s in p.scores.values())
    assert len(p.sigs) >= 3
    everyone = [m.party.id for s in p.sigs for m in s.members]
    assert len(everyone) == len(set(everyone))  # each firm in one SIG
    for s in p.sigs:
        assert s.label.endswith("研究会") and s.terms and all(t in s.label for t in s.terms[:1])
        assert s.convener.party in [m.party for m in s.members]
        research = [m for m in s.members if m.party.kind in RESEARCH_KINDS]
        assert (s.convener.party.kind in RESEARCH_KINDS) == bool(research)
        assert all(m.why for m in s.members + s.seeds)
    again = propose_sigs(demo_ctx, seed=0)
    assert [[m.party.id for m in s.members] for s in again.sigs] == [[m.party.id for m in s.members] for s in p.sigs]
    out = views.as_json(views.sigs_out(p))
    assert set(out["sigs"][0]) == {"label", "terms", "members", "seeds", "convener"}


@pytest.mark.parametrize("text,message", [
    ("1 2\n" + "9" * 5000 + " 1\n1 1\n", "大きすぎます"),
    ("1 2\n1000000000000000000 1000000000000000000\n2 1 2\n", "大きすぎます"),
    ("1 2\n1 1\n2 1 2\n" + "7 " * 2_000_000 + "\n", "余分な数値"),  # one 4 MB line
    ("1 2\n1 1\n2 1 2\n" + "7\n" * 2_000_000, "余分な数値"),
])
def test_orlib_numbers_are_bounded_and_reading_streams(tmp_path, text, message):
    import tracemalloc

    from matcher.errors import FileError
    from matcher.solve.setcover import read_orlib

    path = tmp_path / "scp.txt"
    path.write_text(text, encoding="ascii")
    tracemalloc.start()
    with pytest.raises(FileError) as info:
        read_orlib(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert message in info.value.message_ja
    assert peak < 2 * path.stat().st_size + 2_000_000  # one line at a time, never the file as tokens


def test_groups_solve_command_errors_are_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "scp.txt"
    path.write_text("1 2\n" + "9" * 5000 + " 1\n1 1\n", encoding="ascii")
    done = subprocess.run([str(Path(sys.executable).parent / "matcher"), "groups", "solve", str(path), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "大きすぎます" in done.stderr
