import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.solve.advisors import AdvisorProblem, engagements, solve


def brute_force(problem: AdvisorProblem) -> float:
    """The best total over every assignment: ≤ k people per need, each person within capacity,
    only edges scoring at least min_score."""
    edges = [(q, p, s) for q, lst in problem.scores.items() for p, s in lst if s >= problem.min_score]
    best = 0.0
    for n in range(len(edges) + 1):
        for pick in itertools.combinations(edges, n):
            per_need: dict[int, int] = {}
            per_person: dict[int, int] = {}
            for q, p, _ in pick:
                per_need[q] = per_need.get(q, 0) + 1
                per_person[p] = per_person.get(p, 0) + 1
            if all(v <= problem.k for v in per_need.values()) and all(
                    v <= problem.capacity.get(p, 0) for p, v in per_person.items()):
                best = max(best, sum(s for _, _, s in pick))
    return best


def check(problem: AdvisorProblem):
    sol = solve(problem)
    r = sol.value
    assert sol.status == "optimal"
    for q, people in r.chosen.items():
        assert len(people) <= problem.k and len(set(people)) == len(people)
        offered = dict(problem.scores[q])
        assert all(offered[p] >= problem.min_score for p in people)
    load: dict[int, int] = {}
    for people in r.chosen.values():
        for p in people:
            load[p] = load.get(p, 0) + 1
    assert load == r.load and all(n <= problem.capacity.get(p, 0) for p, n in load.items())
    assert abs(r.total - sum(dict(problem.scores[q])[p] for q, ps in r.chosen.items() for p in ps)) < 1e-9
    return r


def test_a_busy_advisor_goes_where_they_are_worth_most():
    # Person 10 is everyone's best, with hours for one engagement: need 2 loses least without them.
    scores = {1: [(10, 0.9), (11, 0.5)], 2: [(10, 0.8), (12, 0.75)], 3: [(10, 0.95), (13, 0.2)]}
    r = check(AdvisorProblem(scores, k=1, capacity={10: 1, 11: 2, 12: 2, 13: 2}, min_score=0.4))
    assert r.chosen == {1: [11], 2: [12], 3: [10]}
    assert round(r.total, 6) == round(0.5 + 0.75 + 0.95, 6)
    assert r.displaced == {1: [10], 2: [10]}


def test_slots_stay_empty_rather_than_go_to_a_poor_fit():
    r = check(AdvisorProblem({1: [(10, 0.3), (11, 0.2)]}, k=2, capacity={10: 5, 11: 5}, min_score=0.4))
    assert r.chosen == {1: []} and r.total == 0.0


def test_no_hours_no_engagement():
    r = check(AdvisorProblem({1: [(10, 0.9)], 2: [(10, 0.8)]}, k=1, capacity={10: 0}, min_score=0.0))
    assert r.chosen == {1: [], 2: []}
    assert engagements(16, 8) == 2 and engagements(7, 8) == 0 and engagements(None, 8) == 1


problems = st.builds(
    AdvisorProblem,
    scores=st.dictionaries(st.integers(0, 3), st.dictionaries(st.integers(10, 14), st.floats(-0.5, 1.0), max_size=3)
                           .map(lambda d: sorted(d.items())), min_size=1, max_size=3),
    k=st.integers(1, 2),
    capacity=st.dictionaries(st.integers(10, 14), st.integers(0, 2), max_size=5),
    min_score=st.sampled_from([-1.0, 0.0, 0.4]),
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(problems)
def test_matches_brute_force_on_small_cases(problem):
    r = check(problem)
    assert abs(r.total - brute_force(problem)) < 1e-5
