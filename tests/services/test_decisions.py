import pytest
from sqlmodel import select

from matcher.errors import InvalidInput, NotFound
from matcher.learn.decisions import latest_decisions
from matcher.services.decisions import import_feedback, record_decision
from matcher.store.db import get_engine, session_scope, upgrade
from matcher.store.tables import AuditLog, Decision, Suggestion


@pytest.fixture()
def eng(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'd.sqlite'}")
    upgrade(engine)
    with session_scope(engine) as s:
        for i in range(1, 4):
            s.add(Suggestion(id=i, run_id="r", query_type="need", query_id=1, candidate_type="organization",
                             candidate_id=10 + i, kind="partner", rank=i, score=0.5, model_version="cold-start-v1"))
    return engine


def test_a_later_decision_supersedes_without_deleting(eng):
    record_decision(eng, 1, "reject", "距離", "yamada")
    record_decision(eng, 1, "承認", None, "suzuki")
    assert latest_decisions(eng)[1].verdict == "accept"
    with session_scope(eng) as s:
        assert [d.verdict for d in s.exec(select(Decision).order_by(Decision.id))] == ["reject", "accept"]
        assert len(s.exec(select(AuditLog).where(AuditLog.action == "decide")).all()) == 2


def test_reason_codes_in_japanese_and_english(eng):
    assert record_decision(eng, 2, "reject", "工程が合わない").reason == "process_mismatch"
    assert record_decision(eng, 2, "reject", "existing_relationship").reason == "existing_relationship"
    with pytest.raises(InvalidInput, match="unknown reason"):
        record_decision(eng, 2, "reject", "気分")
    with pytest.raises(InvalidInput, match="unknown verdict"):
        record_decision(eng, 2, "maybe")
    with pytest.raises(NotFound, match="no suggestion"):
        record_decision(eng, 999, "accept")


def test_feedback_import_reports_bad_rows_and_keeps_good_ones(eng, tmp_path):
    f = tmp_path / "fb.csv"
    f.write_text("提案ID,判定,理由,担当者,判定日時\n1,承認,,山田,2026-05-01 10:00\n2,却下,規模,山田,2026/05/02 11:00\n"
                 "999,承認,,山田,\n3,たぶん,,山田,\n3,却下,気分,山田,\n3,却下,,山田,昨日\n", encoding="cp932")
    report = import_feedback(eng, f)
    assert report.inserted == 2
    assert [(e.row, e.field) for e in report.errors] == [(4, "suggestion_id"), (5, "verdict"), (6, "reason"),
                                                            (7, "decided_at")]
    assert latest_decisions(eng)[2].reason == "size"


def test_feedback_import_strict_stores_nothing(eng, tmp_path):
    f = tmp_path / "fb.csv"
    f.write_text("suggestion_id,verdict\n1,accept\n2,nope\n", encoding="utf-8")
    assert import_feedback(eng, f, strict=True).inserted == 0
    assert latest_decisions(eng) == {}


def test_concurrent_decisions_are_never_lost(engine):
    """Parallel writers, each with its own session (run against PostgreSQL and SQLite)."""
    from concurrent.futures import ThreadPoolExecutor

    with session_scope(engine) as s:
        for i in range(1, 11):
            s.add(Suggestion(id=i, run_id="r", query_type="need", query_id=1, candidate_type="organization",
                             candidate_id=i, kind="partner", rank=i, score=0.1, model_version="cold-start-v1"))

    def writer(w):
        for j in range(25):
            record_decision(engine, 1 + (w + j) % 10, "accept" if j % 2 else "reject", by=f"w{w}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(writer, range(8)))
    with session_scope(engine) as s:
        decisions = s.exec(select(Decision)).all()
    assert len(decisions) == 200
    assert {d.coordinator for d in decisions} == {f"w{w}" for w in range(8)}
