"""The console command: exit codes, one JSON object on stdout, a fresh data dir works."""

from tests.support import FIXTURES, one_json, run


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
