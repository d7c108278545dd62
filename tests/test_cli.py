"""The console command: exit codes, one JSON object on stdout, a fresh data dir works."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT

MATCHER = str(Path(sys.executable).parent / "matcher")


def run(args, data_dir, check=True):
    env = {**os.environ, "MATCHER_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("MATCHER_DATABASE_URL", None)
    proc = subprocess.run([MATCHER, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def one_json(proc):
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0])


def test_db_upgrade_on_a_fresh_data_dir(tmp_path):
    out = one_json(run(["db", "upgrade", "--json"], tmp_path / "d"))
    assert out["revision"] == "0008"
    assert (tmp_path / "d" / "matcher.sqlite").exists()


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


@pytest.mark.slow
def test_demo_on_a_fresh_data_dir_then_again_embeds_nothing(tmp_path):
    data = tmp_path / "fresh"
    first = one_json(run(["demo", "--json"], data))
    counts = {Path(r["file"]).name: r["inserted"] for r in first["ingest"]}
    assert counts["organizations.csv"] >= 170 and counts["needs.csv"] == 40 and counts["seeds.jsonl"] == 1538
    assert all(not r["rejected"] for r in first["ingest"])
    assert first["index"]["indexed"] == first["index"]["documents"] > 2000
    assert [s["need"]["external_id"] for s in first["shortlists"]] == ["HN001", "HN011", "HN006"]
    assert all(len(s["candidates"]) == 10 for s in first["shortlists"])  # 5 partners + 5 seeds each
    second = one_json(run(["demo", "--json"], data))
    assert second["index"]["embedded"] == 0 and second["index"]["indexed"] == 0
    assert all(r["inserted"] == r["updated"] == 0 for r in second["ingest"])

    # The installation the demo leaves works for the later commands.
    need = one_json(run(["shortlist", "--need", "HN004", "--kind", "all", "--k", "3", "--json"], data))
    assert len(need["candidates"]) == 6 and all(c["suggestion_id"] for c in need["candidates"])
    kaken = [c for c in need["candidates"] if "seed" in c and c["seed"]["url"]]
    assert all(c["seed"]["url"].startswith("https://kaken.nii.ac.jp/") for c in kaken)
    seed = one_json(run(["shortlist", "--seed", "19H00734", "--k", "3", "--json"], data))
    assert seed["seed"]["external_id"] == "19H00734" and len(seed["candidates"]) == 3
    org = one_json(run(["shortlist", "--org", "HC0002", "--k", "3", "--json"], data))
    assert len(org["candidates"]) == 3
    batch = one_json(run(["shortlist", "--all-needs", "--k", "3", "--json"], data))
    assert len(batch["shortlists"]) == 40 and batch["exposure"]["cap"] >= 2
    why = one_json(run(["whynot", "--need", "HN004", "--org", need["need"]["org_id"].__str__(), "--json"], data))
    assert why["status"] == "excluded" and why["reason_code"] == "self"


def test_decide_explain_train_and_models_commands(tmp_path):
    data = tmp_path / "d"
    run(["ingest", str(FIXTURES / "orgs_small.csv"), "--json"], data)
    needs = tmp_path / "needs.csv"
    needs.write_text("案件ID,企業ID,件名,内容,必要工程\nN1,T003,精密部品の切削,ステンレス部品の精密切削と研削,切削;研削\n",
                     encoding="utf-8")
    run(["ingest", str(needs), "--json"], data)
    short = one_json(run(["shortlist", "--need", "N1", "--json"], data))
    sid = short["candidates"][0]["suggestion_id"]
    dec = one_json(run(["decide", str(sid), "reject", "--reason", "距離", "--by", "yamada", "--json"], data))
    assert dec["verdict"] == "reject" and dec["reason"] == "distance"
    bad = run(["decide", str(sid), "maybe", "--json"], data, check=False)
    assert bad.returncode == 2 and "unknown verdict" in bad.stderr
    explained = one_json(run(["explain", str(sid), "--json"], data))
    assert explained["model_version"] == "cold-start-v1" and explained["contributions"]
    trained = one_json(run(["train", "--json"], data))
    assert trained["status"] == "skipped"  # one decision is not enough to learn from
    versions = one_json(run(["models", "list", "--json"], data))["versions"]
    assert versions[0]["version"] == "cold-start-v1" and versions[0]["status"] == "active"
    fb = tmp_path / "fb.csv"
    fb.write_text(f"提案ID,判定\n{sid},承認\n99999,承認\n", encoding="utf-8")
    proc = run(["feedback", "import", str(fb), "--json"], data, check=False)
    assert proc.returncode == 1 and one_json(proc)["inserted"] == 1


def test_domain_errors_are_one_line_with_exit_code_2_and_choices_are_checked(tmp_path):
    data = tmp_path / "e"
    missing = run(["decide", "987654", "accept", "--json"], data, check=False)
    assert missing.returncode == 2 and missing.stdout == ""
    lines = [ln for ln in missing.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "987654" in lines[0] and "Traceback" not in missing.stderr
    no_index = run(["shortlist", "--need", "N1"], data, check=False)
    assert no_index.returncode == 2 and "索引" in no_index.stderr and "Traceback" not in no_index.stderr
    bad_kind = run(["shortlist", "--need", "N1", "--kind", "everything"], data, check=False)
    assert bad_kind.returncode == 2 and "everything" in bad_kind.stderr  # Typer's own choice check
    dup = run(["users", "create", "a@example.jp", "--role", "admin", "--password", "long-enough-pass"], data)
    assert dup.returncode == 0
    again = run(["users", "create", "A@example.jp ", "--role", "admin", "--password", "long-enough-pass"], data,
                check=False)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_real_bugs_are_not_hidden_behind_a_friendly_line(monkeypatch, capsys):
    """Only MatcherError is turned into a one-line error; a KeyError from a bug keeps its traceback."""
    from matcher import cli

    def boom():
        raise KeyError("a bug")

    monkeypatch.setattr(cli, "app", boom)
    with pytest.raises(KeyError):
        cli.main()


def test_index_sync_repairs_documents_stored_but_never_indexed(tmp_path):
    data = tmp_path / "s"
    run(["ingest", str(FIXTURES / "orgs_small.csv"), "--no-index", "--json"], data)
    status = one_json(run(["index", "status", "--json"], data))
    assert status["stale_documents"] > 0
    synced = one_json(run(["index", "sync", "--json"], data))
    assert synced["indexed"] == status["stale_documents"]
    assert one_json(run(["index", "status", "--json"], data))["stale_documents"] == 0
    assert run(["worker", "--burst"], data, check=False).returncode == 2  # no Redis configured: says so
