"""The console command: exit codes, one JSON object on stdout, a fresh data dir works."""

from tests.support import FIXTURES, one_json, run


def test_index_sync_repairs_documents_stored_but_never_indexed(tmp_path):
    data = tmp_path / "s"
    run(["ingest", str(FIXTURES / "orgs_small.csv"), "--no-index", "--json"], data)
    status = one_json(run(["index", "status", "--json"], data))
    assert status["stale_documents"] > 0
    synced = one_json(run(["index", "sync", "--json"], data))
    assert synced["indexed"] == status["stale_documents"]
    assert one_json(run(["index", "status", "--json"], data))["stale_documents"] == 0
    assert run(["worker", "--burst"], data, check=False).returncode == 2  # no Redis configured: says so
