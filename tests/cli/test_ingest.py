"""The console command: exit codes, one JSON object on stdout, a fresh data dir works."""

from pathlib import Path

from tests.support import FIXTURES, one_json, run


def test_ingest_json_shape_and_exit_codes(tmp_path):
    good = one_json(run(["ingest", str(FIXTURES / "orgs_small.csv"), "--no-index", "--json"], tmp_path / "d"))
    assert {k: good[k] for k in ("inserted", "updated", "unchanged", "rejected")} == {
        "inserted": 3, "updated": 0, "unchanged": 0, "rejected": []}
    bad = tmp_path / "bad.csv"
    bad.write_text("企業ID,企業名,従業員数\nX1,,-5\n", encoding="cp932")
    proc = run(["ingest", str(bad), "--no-index", "--json"], tmp_path / "d", check=False)
    assert proc.returncode == 1
    out = one_json(proc)
    assert {(e["row"], e["field"]) for e in out["rejected"]} == {(2, "name"), (2, "employees")}
    assert all(set(e) >= {"file", "row", "field", "message"} for e in out["rejected"])
    assert Path(out["rejects_file"]).exists()


def test_ingest_of_an_empty_file_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    proc = run(["ingest", str(empty), "--kind", "organizations", "--json"], tmp_path / "d", check=False)
    assert proc.returncode == 2
    assert "empty" in one_json(proc)["error"]["message"]
