from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.constraints import ConstraintSet, capped_assignment


def test_why_not_reasons():
    cs = ConstraintSet(groups={1: "A", 2: "A"}, conflicts={frozenset((1, 3))}, competitors={frozenset((1, 4))},
                       opted_out={5})
    assert cs.why_not(1, 1) == "self"
    assert cs.why_not(1, 2) == "same_group"
    assert cs.why_not(3, 1) == "conflict"  # symmetric
    assert cs.why_not(1, 4) == "competitor"
    assert cs.why_not(1, 5) == "opt_out"
    assert cs.why_not(1, 6) is None


def test_cap_moves_a_popular_company_where_it_costs_least():
    scores = {1: [(10, 0.9), (11, 0.5), (12, 0.4)], 2: [(10, 0.8), (11, 0.7), (13, 0.1)], 3: [(10, 0.95), (12, 0.6)]}
    r = capped_assignment(scores, k=2, cap=2)
    assert r.chosen == {1: [11, 12], 2: [10, 11], 3: [10, 12]}
    assert round(r.cost, 6) == 0.5 and r.capped_out == {1: [10]}


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.integers(0, 8), st.dictionaries(st.integers(100, 115), st.floats(-1, 1), max_size=10),
                       min_size=1, max_size=8),
       st.integers(1, 4), st.integers(1, 4))
def test_capped_assignment_never_breaks_k_or_cap(raw, k, cap):
    scores = {q: sorted(c.items()) for q, c in raw.items()}
    r = capped_assignment(scores, k, cap)
    uses: dict[int, int] = {}
    for q, chosen in r.chosen.items():
        assert len(chosen) <= k and len(set(chosen)) == len(chosen)
        assert set(chosen) <= {c for c, _ in scores[q]}
        for c in chosen:
            uses[c] = uses.get(c, 0) + 1
    assert all(n <= cap for n in uses.values())
    assert r.capped_total <= r.uncapped_total + 1e-9
    # Max-flow: every query gets min(k, its candidates) when caps leave room for it.
    if cap >= len(scores):
        assert all(len(r.chosen[q]) == min(k, len(scores[q])) for q in scores)
