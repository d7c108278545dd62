"""Joint-order groups and the set-cover solver: exact, constraint-safe, deterministic, explained."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.errors import FileError
from matcher.solve.setcover import SetCoverInstance, greedy_set_cover, read_orlib
from matcher.solve.setcover import solve as solve_set_cover

cover_st = st.lists(st.lists(st.integers(0, 6), min_size=1, max_size=4), min_size=1, max_size=6)


def test_orlib_file_is_read_and_solved(tmp_path):
    p = tmp_path / "scp.txt"
    # 3 rows, 4 columns; costs 3 2 2 4; row 1 by {1,2}, row 2 by {2,3}, row 3 by {3,4}
    p.write_text("3 4\n 3 2 2 4\n2\n1 2\n2 2 3\n2\n3 4\n")
    inst = read_orlib(p)
    assert inst.costs == (3, 2, 2, 4) and inst.rows == ((0, 1), (1, 2), (2, 3))
    sol = solve_set_cover(inst, time_limit_s=10)
    assert sol.status == "optimal" and sol.objective == 4 and sol.value == (1, 2) and sol.gap == 0.0


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


@settings(max_examples=40, deadline=None)
@given(cover_st, st.lists(st.integers(1, 9), min_size=7, max_size=7))
def test_set_cover_is_exact_against_brute_force_and_never_worse_than_greedy(rows, costs):
    inst = SetCoverInstance(tuple(costs), tuple(tuple(sorted(set(r))) for r in rows))
    sol = solve_set_cover(inst, time_limit_s=10)
    assert all(any(c in sol.value for c in row) for row in inst.rows)
    best = min(sum(costs[c] for c in combo) for n in range(1, 8) for combo in itertools.combinations(range(7), n)
               if all(any(c in combo for c in row) for row in inst.rows))
    assert sol.status == "optimal" and sol.objective == best
    assert greedy_set_cover(inst).objective >= sol.objective


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
