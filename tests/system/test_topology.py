"""The documented topology on one machine: PostgreSQL + Redis + 2 API workers + 2 job workers
under shortlists, decisions and imports at the same time; nothing acknowledged is lost or doubled."""

import os

import pytest

from tests.support import require_pg


@pytest.mark.slow  # loads the demo and starts five processes
def test_the_topology_under_load_loses_and_doubles_nothing(tmp_path):
    require_pg("the topology test")
    from scripts.topology import load_test, topology, verify

    worker_no = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").lstrip("gw") or 0)
    with topology(tmp_path, redis_db=12 - worker_no) as top:
        result = load_test(top)
        problems = verify(top, result)
    assert problems == []
    assert result.shortlists == 80 and len(result.decisions_sent) >= 80 and len(result.imported) == 60
