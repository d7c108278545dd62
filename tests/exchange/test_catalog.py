"""The store and the import job, run against SQLite and the local PostgreSQL (one schema per test)."""

import csv
import json
from pathlib import Path

import pytest
from sqlmodel import select

from matcher.errors import FileError
from matcher.exchange.catalog import import_file
from matcher.store.db import session_scope
from matcher.store.tables import (
    Document,
    IndustryCode,
    Need,
    Organization,
    ResearchSeed,
)
from tests.support import FIXTURES

HEADER = "企業ID,企業名,種別,所在地,従業員数,業種コード,加工・技術,認証,技術紹介,メール,メール配信\n"


def rows(n, start=0, profile="アルミとステンレスの精密切削。"):
    return "".join(f"C{i:05d},テスト{i}精工（架空）,企業,日野市,{i % 300},2599,切削;研削,ISO9001,{profile}{i},"
                   f"c{i}@example.jp,はい\n" for i in range(start, start + n))


def write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def count(engine, model):
    with session_scope(engine) as s:
        return len(s.exec(select(model)).all())


def test_import_stores_organisations_documents_and_capabilities(engine, tmp_path):
    report = import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    assert (report.inserted, report.updated, report.unchanged, report.rejected) == (3, 0, 0, [])
    with session_scope(engine) as s:
        org = s.exec(select(Organization).where(Organization.external_id == "T001")).one()
        assert org.name == "テスト精工株式会社(架空)" and org.employees == 45 and org.email_opt_in
        assert org.processes == "旋削;研削;マシニングセンタ加工"
        docs = {d.kind for d in s.exec(select(Document).where(Document.owner_id == org.id,
                                                                Document.owner_type == "organization"))}
        assert docs == {"profile", "processes", "equipment"}
        caps = s.exec(select(IndustryCode).where(IndustryCode.org_id == org.id)).all()
        assert [c.code for c in caps] == ["jsic:2599"]


def test_reimport_of_the_same_file_changes_nothing(engine):
    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    with session_scope(engine) as s:
        before = {d.id: (d.content_hash, d.updated_at) for d in s.exec(select(Document))}
    again = import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    with session_scope(engine) as s:
        after = {d.id: (d.content_hash, d.updated_at) for d in s.exec(select(Document))}
    assert before == after
    assert count(engine, Organization) == 3


def test_edited_row_is_updated_and_only_its_changed_document_gets_a_new_hash(engine, tmp_path):
    original = (FIXTURES / "orgs_small.csv").read_text(encoding="utf-8")
    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    with session_scope(engine) as s:
        before = {(d.owner_id, d.kind): d.content_hash for d in s.exec(select(Document))}
    edited = write(tmp_path, "edited.csv", original.replace("制御盤筐体の板金", "医療機器外装の板金"))
    report = import_file(engine, edited, "organizations")
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 2)
    with session_scope(engine) as s:
        after = {(d.owner_id, d.kind): d.content_hash for d in s.exec(select(Document))}
    changed = [k for k in before if before[k] != after[k]]
    assert len(changed) == 1 and changed[0][1] == "profile"


def test_default_mode_stores_valid_rows_and_writes_the_rejects_file(engine, tmp_path):
    bad = write(tmp_path, "mixed.csv", HEADER + rows(2) + "C9,,企業,日野市,-1,2599,,,,x@,はい\n", "cp932")
    report = import_file(engine, bad, "organizations", reports_dir=tmp_path / "reports")
    assert report.inserted == 2 and {e.field for e in report.errors} == {"name", "employees", "email"}
    assert all(e.row == 4 for e in report.errors)
    with open(report.rejects_path, encoding="utf-8-sig", newline="") as fh:
        rejected = list(csv.reader(fh))
    assert rejected[0][:3] == ["行番号", "項目", "エラー"] and rejected[1][0] == "4"
    saved = json.loads(Path(report.report_path).read_text(encoding="utf-8"))
    assert saved["inserted"] == 2 and len(saved["rejected"]) == 3


def test_strict_mode_stores_nothing_when_any_row_is_bad(engine, tmp_path):
    bad = write(tmp_path, "strict.csv", HEADER + rows(3) + "C9,名前,企業,日野市,abc,2599,,,,,いいえ\n")
    report = import_file(engine, bad, "organizations", strict=True)
    assert not report.stored and report.inserted == 0 and len(report.rejected) == 1
    assert count(engine, Organization) == 0


def test_a_broken_file_changes_nothing_already_stored(engine, tmp_path):
    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    truncated = write(tmp_path, "cut.csv", HEADER + rows(3) + 'C9,"テスト')
    with pytest.raises(FileError):
        import_file(engine, truncated, "organizations")
    assert count(engine, Organization) == 3


def test_a_failure_midway_rolls_back_the_whole_file(engine, tmp_path, monkeypatch):
    import matcher.exchange.catalog as catalog
    from matcher.store.tables import Document

    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    real = catalog.bulk_insert
    written = []

    def flaky(session, model, rows):
        if model is Document:  # the organisations are written by now, their documents are not
            raise RuntimeError("disk full")
        written.append(model)
        return real(session, model, rows)

    monkeypatch.setattr(catalog, "bulk_insert", flaky)
    with pytest.raises(RuntimeError):
        import_file(engine, write(tmp_path, "more.csv", HEADER + rows(5)), "organizations")
    assert written == [Organization]
    assert count(engine, Organization) == 3  # neither the two new rows nor anything else


def test_needs_and_seeds_link_to_their_organisations(engine, tmp_path):
    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    needs = write(tmp_path, "needs.csv", "案件ID,企業ID,件名,内容,必要工程\nN1,T002,筐体の切削,アルミ筐体,切削;めっき\n"
                                         "N2,ZZZ,不明,不明,切削\n")
    report = import_file(engine, needs, "needs")
    assert report.inserted == 1 and report.errors[0].field == "org_external_id"
    seeds = write(tmp_path, "seeds.csv", "シーズID,機関ID,研究題目,キーワード,概要\nS1,T003,切削の研究,切削・工具,概要\n")
    assert import_file(engine, seeds, "seeds").inserted == 1
    with session_scope(engine) as s:
        need = s.exec(select(Need)).one()
        org = s.get(Organization, need.org_id)
        assert org.external_id == "T002" and need.required_processes == "切削;めっき"
        seed = s.exec(select(ResearchSeed)).one()
        assert s.get(Organization, seed.org_id).external_id == "T003"
        assert seed.keywords == "切削;工具"


def test_ten_thousand_rows_import_and_reimport(engine, tmp_path):
    big = write(tmp_path, "big.csv", HEADER + rows(10_000))
    first = import_file(engine, big, "organizations")
    assert first.inserted == 10_000 and not first.rejected
    second = import_file(engine, big, "organizations")
    assert second.unchanged == 10_000
    assert count(engine, Organization) == 10_000
