"""Hostile and careless input, as the probe of the service sent it: each gets a 4xx with a Japanese
message (or a row error inside an otherwise good import), bounded memory, and nothing half-stored.

The store and the import job, run against SQLite and the local PostgreSQL (one schema per test)."""

import pytest
from sqlalchemy import inspect, text
from sqlmodel import select

from matcher.store.db import current_revision, session_scope, upgrade
from matcher.store.tables import Decision, Organization, Suggestion


def test_a_future_dated_decision_stored_before_the_bound_is_repaired_by_the_upgrade(bare_engine):
    from sqlalchemy import text

    from matcher.store.db import upgrade

    upgrade(bare_engine, "0007")
    with bare_engine.begin() as conn:
        conn.execute(text("INSERT INTO suggestion (run_id, query_type, query_id, candidate_type, candidate_id, kind, rank, "
                          "score, model_version, features, explanation, created_at) VALUES ('r', 'need', 1, 'organization',"
                          " 2, 'partner', 1, 0.5, 'cold-start-v1', '{}', '', '2026-11-30 00:00:00')"))
        conn.execute(text("INSERT INTO decision (suggestion_id, kind, verdict, decided_at, created_at) VALUES "
                          "(1, 'coordinator', 'accept', '9999-12-31 23:59:59', '2026-11-30 01:00:00')"))
    upgrade(bare_engine)
    with session_scope(bare_engine) as s:
        dec = s.exec(select(Decision)).one()
    assert dec.decided_at == dec.created_at


def test_upgrade_creates_every_table_and_is_idempotent(engine):
    names = set(inspect(engine).get_table_names())
    assert {"organization", "document", "capability", "need", "researchseed", "suggestion", "decision",
            "constraint", "modelversion", "forumevent", "participant", "seatassignment", "emailmessage",
            "forummeeting", "digestitem", "maillink", "outcome", "user", "auditlog", "storeversion", "authsession", "job", "storedvector", "alembic_version"} <= names
    assert upgrade(engine) == current_revision(engine) == "0013"


def test_decisions_are_appended_never_overwritten(engine):
    with session_scope(engine) as s:
        sug = Suggestion(run_id="r1", query_type="need", query_id=1, candidate_type="organization",
                         candidate_id=2, kind="partner", rank=1, score=0.5, model_version="cold-start")
        s.add(sug)
        s.flush()
        s.add(Decision(suggestion_id=sug.id, verdict="reject", reason="距離"))
        s.add(Decision(suggestion_id=sug.id, verdict="accept"))
    with session_scope(engine) as s:
        verdicts = [d.verdict for d in s.exec(select(Decision).order_by(Decision.id))]
    assert verdicts == ["reject", "accept"]


def test_japanese_text_round_trips_exactly(engine):
    name = "株式会社髙﨑精工①～テスト（架空）"
    with session_scope(engine) as s:
        s.add(Organization(external_id="J1", name=name))
    with session_scope(engine) as s:
        assert s.exec(select(Organization.name)).one() == name
        assert s.exec(text("SELECT COUNT(*) FROM organization")).one()[0] == 1


def test_migration_to_json_columns_keeps_stored_values(bare_engine):
    """A database made before 0002 (JSON kept as text) upgrades with its values readable."""
    from matcher.store.tables import AuditLog, ModelVersion

    upgrade(bare_engine, "0001")
    with bare_engine.begin() as conn:
        conn.execute(text("INSERT INTO suggestion (run_id, query_type, query_id, candidate_type, candidate_id, kind, "
                          "rank, score, model_version, features, explanation, created_at) VALUES ('r', 'need', 1, "
                          "'organization', 2, 'partner', 1, 0.5, 'cold-start-v1', '{\"coverage\": 0.5}', '', "
                          "CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO modelversion (version, kind, path, metrics, features, events_used, status, "
                          "trained_at) VALUES ('v1', 'blended', '/x', '{\"candidate\": {\"auc\": 0.9}}', "
                          "'[\"coverage\"]', 3, 'candidate', CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO auditlog (at, action, detail) VALUES (CURRENT_TIMESTAMP, 'x', '')"))
    assert upgrade(bare_engine) == "0013"  # through 0002 (JSON columns) to head
    with session_scope(bare_engine) as s:
        assert s.exec(select(Suggestion)).one().features == {"coverage": 0.5}
        mv = s.exec(select(ModelVersion)).one()
        assert mv.metrics == {"candidate": {"auc": 0.9}} and mv.features == ["coverage"]
        assert s.exec(select(AuditLog)).one().detail == {}


def test_store_versions_move_with_the_data_they_count(engine):
    from matcher.store.db import store_versions
    from matcher.store.tables import AuditLog

    before = store_versions(engine)
    with session_scope(engine) as s:
        s.add(AuditLog(action="nothing-cached"))
    assert store_versions(engine) == before
    with session_scope(engine) as s:
        s.add(Organization(external_id="V1", name="版テスト（架空）"))
        s.flush()
        s.add(Organization(external_id="V2", name="版テスト2（架空）"))  # one bump per transaction
    mid = store_versions(engine)
    assert mid["data"] == before["data"] + 1 and mid["decisions"] == before["decisions"]
    with session_scope(engine) as s:
        s.add(Suggestion(run_id="r", query_type="need", query_id=1, candidate_type="organization", candidate_id=1,
                         kind="partner", rank=1, score=0.1, model_version="cold-start-v1"))
        s.flush()
        s.add(Decision(suggestion_id=s.exec(select(Suggestion.id)).first(), verdict="accept"))
    after = store_versions(engine)
    assert after["decisions"] == mid["decisions"] + 1 and after["data"] == mid["data"]
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        s.add(Organization(external_id="V3", name="失敗（架空）"))
        s.flush()
        raise RuntimeError("rolled back")
    assert store_versions(engine) == after  # a rolled-back change bumps nothing


def test_bulk_insert_stores_what_the_orm_would_and_bumps_the_scope_once(engine):
    from datetime import UTC, datetime

    from matcher.store.db import bulk_insert, store_versions

    when = datetime(2026, 4, 1, 0, 30, tzinfo=UTC)
    rows = [{"external_id": f"B{i}", "name": f"一括（架空）{i}\t改行\nと\\記号", "kind": "company", "publish": i % 2 == 0,
             "employees": None if i == 1 else i, "processes": "切削;研削", "jsic_codes": "", "equipment": "",
             "certifications": "", "email_opt_in": False, "fictional": True, "record_hash": "h",
             "created_at": when, "updated_at": when} for i in range(3)]
    before = store_versions(engine)
    with session_scope(engine) as s:
        bulk_insert(s, Organization, rows)
        bulk_insert(s, Organization, [dict(rows[0], external_id="B9")])
    assert store_versions(engine)["data"] == before["data"] + 1
    with session_scope(engine) as s:
        got = {o.external_id: o for o in s.exec(select(Organization))}
    assert sorted(got) == ["B0", "B1", "B2", "B9"]
    assert got["B1"].name == "一括（架空）1\t改行\nと\\記号" and got["B1"].employees is None
    assert got["B0"].publish is True and got["B1"].publish is False
    assert got["B2"].created_at == when and got["B2"].created_at.tzinfo is not None
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), session_scope(engine) as s:  # a duplicate key: nothing of the batch stays
        bulk_insert(s, Organization, [dict(rows[0], external_id="B7"), dict(rows[0], external_id="B0")])
    with session_scope(engine) as s:
        assert len(s.exec(select(Organization)).all()) == 4
