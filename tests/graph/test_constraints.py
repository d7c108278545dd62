from matcher.graph.constraints import ConstraintSet


def test_why_not_reasons():
    cs = ConstraintSet(groups={1: "A", 2: "A"}, conflicts={frozenset((1, 3))}, competitors={frozenset((1, 4))},
                       opted_out={5})
    assert cs.why_not(1, 1) == "self"
    assert cs.why_not(1, 2) == "same_group"
    assert cs.why_not(3, 1) == "conflict"  # symmetric
    assert cs.why_not(1, 4) == "competitor"
    assert cs.why_not(1, 5) == "opt_out"
    assert cs.why_not(1, 6) is None
