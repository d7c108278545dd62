"""MDGP (one round, no rules) read from MDGPLIB files and solved by the seating kernel."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from matcher.errors import FileError
from matcher.solve.seating.mdgp import mdgp_objective, read_mdgplib, solve_mdgp

LIB = Path(__file__).resolve().parents[2] / "corpora" / "mdgplib"
BEST = json.loads((LIB / "best_known.json").read_text())
MATCHER = str(Path(sys.executable).parent / "matcher")


def _rescore(path: Path, groups) -> float:
    """The objective straight from the file's lines, apart from the reader."""
    total = 0.0
    with gzip.open(path, "rt") as fh:
        lines = fh.read().split("\n")[1:]
    for line in lines:
        parts = line.split()
        if parts and groups[int(parts[0])] == groups[int(parts[1])]:
            total += float(parts[2])
    return total


@pytest.mark.parametrize("name", ["RanReal_n120_ss_02", "Geo_n120_ss_03"])
def test_within_half_a_percent_of_the_best_known_value_at_twice_the_standard_limit(name):
    path = LIB / f"{name}.txt.gz"
    inst = read_mdgplib(path)
    # n = 120: the literature's limit is 3 s. The budget is in evaluated moves, so the result does
    # not depend on the machine; the wall-clock stop is off so that a loaded CI worker cannot cut it.
    result = solve_mdgp(inst, time_limit_s=6.0, seed=0, wall_stop=False)
    assert result.status == "feasible"
    assert result.objective == pytest.approx(_rescore(path, result.value.groups), abs=1e-6)
    assert result.objective >= 0.995 * BEST[name]["best_known"]
    assert sorted(set(result.value.groups)) == list(range(len(inst.lo)))
    assert all(result.value.groups.count(g) == 12 for g in range(10))


def test_different_group_sizes_stay_within_their_bounds_and_the_same_seed_repeats():
    inst = read_mdgplib(LIB / "RanReal_n120_ds_01.txt.gz")
    a = solve_mdgp(inst, time_limit_s=0.5, seed=3)
    sizes = [a.value.groups.count(g) for g in range(len(inst.lo))]
    assert all(lo <= s <= hi for s, lo, hi in zip(sizes, inst.lo, inst.hi, strict=True))
    assert solve_mdgp(inst, time_limit_s=0.5, seed=3).value == a.value
    assert a.objective == pytest.approx(mdgp_objective(inst, a.value.groups))


def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "bad.txt"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text,where", [
    ("3 1 xx 3 3\n0 1 1\n0 2 1\n1 2 1\n", "1 行目"),
    ("3 1 ss 3 3\n0 1 1\n0 1 2\n1 2 1\n", "3 行目"),  # a pair twice
    ("3 1 ss 3 3\n0 1 1\n0 5 1\n1 2 1\n", "3 行目"),  # an element that does not exist
    ("3 1 ss 3 3\n0 1 1\n0 2 nan\n1 2 1\n", "3 行目"),
    ("3 1 ss 3 3\n0 1 1\n0 2\n", "3 行目"),
    ("3 1 ss 3 3\n0 1 1\n", "組の数"),  # pairs missing
    ("3 2 ss 2 2 2 2\n0 1 1\n0 2 1\n1 2 1\n", "1 行目"),  # sizes that cannot hold n
    ("5000000 1 ss 1 1\n", "1 行目"),  # n past the cap, before any allocation
])
def test_malformed_files_are_named_by_line(tmp_path, text, where):
    with pytest.raises(FileError) as info:
        read_mdgplib(_write(tmp_path, text))
    assert where in info.value.message_ja


@pytest.mark.slow  # runs the command in a subprocess
def test_seat_solve_reads_mdgplib_and_reports_the_objective_in_the_files_units():
    path = LIB / "Geo_n120_ss_02.txt.gz"
    proc = subprocess.run([MATCHER, "seat", "solve", str(path), "--format", "mdgplib", "--seconds", "1", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-800:]
    out = json.loads(proc.stdout)
    assert out["objective"] == pytest.approx(_rescore(path, out["assignment"]), abs=1e-6)
    assert [len(m) for m in out["members"]] == [12] * 10 and out["n"] == 120 and not out["truncated"]
    bad = subprocess.run([MATCHER, "seat", "solve", str(path), "--format", "csv", "--json"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stdout == ""
