"""The desk's substring searches: the same answers on both engines, index scans on PostgreSQL."""

import json

import pytest
from sqlalchemy import event, text

from matcher.exchange.catalog import import_file
from matcher.services.directory import directory_search, search_needs, search_organizations
from matcher.store.substring import bigrams
from tests.support import FIXTURES

TEXTS = ["ステンレスの切削加工", "ab", "a", "", "改行\nの後", "ISO 9001・JIS Q 9100", "ｱｲｳ半角", "二重の二重の"]


def test_bigrams_are_every_distinct_pair_of_adjacent_characters():
    assert set(bigrams("切削加工")) == {"切削", "削加", "加工"}
    assert sorted(bigrams("二重の二重")) == sorted({"二重", "重の", "の二"})
    assert bigrams("鋼") == [] and bigrams("") == []


@pytest.mark.parametrize("bare_engine", ["postgresql"], indirect=True)
def test_the_database_holds_every_bigram_the_query_side_asks_for(engine):
    with engine.connect() as conn:
        for t in TEXTS:
            stored = set(conn.execute(text("SELECT matcher_bigrams(:t)"), {"t": t}).scalar_one())
            assert set(bigrams(t)) <= stored, t
            assert all(len(g) <= 2 for g in stored)  # never a longer key a query could not name


def _plans(engine, run) -> list[tuple[str, list[str]]]:
    """Every LIKE statement ``run`` sends, with the plan PostgreSQL gives it when a sequential scan
    is all but forbidden (a small test table would otherwise be scanned whatever its indexes)."""
    sent: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if " LIKE " in statement and not statement.lstrip().upper().startswith("EXPLAIN"):
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    out = []
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")  # statistics and merged GIN lists, as autovacuum keeps them
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        for statement, parameters in sent:
            plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()
            plan = json.loads(plan) if isinstance(plan, str) else plan
            out.append((statement, list(_nodes(plan[0]["Plan"]))))
    return out


def _nodes(node):
    yield f"{node['Node Type']}:{node.get('Index Name') or node.get('Relation Name') or ''}"
    for child in node.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.parametrize("bare_engine", ["postgresql"], indirect=True)
def test_desk_searches_use_the_bigram_indexes_and_scan_no_table(engine, tmp_path, monkeypatch):
    from matcher.services import directory
    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    filler = tmp_path / "filler.csv"  # enough rows that a plan is the one a live store gets
    filler.write_text("企業ID,企業名,加工・技術,主要設備,技術紹介\n" + "".join(
        f"F{i},塗装{i}工業（架空）,塗装;組立,吹付けブース,粉体塗装と組立の工場です。第{i}工場。\n" for i in range(3000)),
        encoding="utf-8")
    import_file(engine, filler, "organizations")
    needs = tmp_path / "needs.csv"
    needs.write_text("案件ID,企業ID,件名,内容,必要工程\nN1,T002,筐体の切削,アルミ筐体の試作,切削;めっき\n", encoding="utf-8")
    import_file(engine, needs, "needs")
    runs = {
        "organisations": (lambda: search_organizations(engine, "切削"),
                          {"ix_organization_name_bigrams", "ix_organization_processes_bigrams"}),
        "needs": (lambda: search_needs(engine, "切削"), {"ix_need_title_bigrams", "ix_need_text_bigrams"}),
        "directory": (lambda: directory_search(engine, "切削 ステンレス", process="旋盤"),
                      {"ix_document_prose_bigrams", "ix_organization_equipment_bigrams"}),
        # above the caps: words found together in one place, a staff page read along the id index
        "directory, two common words": (lambda: directory_search(engine, "塗装 組立"),
                                        {"ix_organization_processes_bigrams", "ix_document_prose_bigrams"}),
        "organisations, a common word": (lambda: search_organizations(engine, "塗装", offset=100),
                                         {"ix_organization_processes_bigrams", "ix_organization_external_id"}),
    }
    monkeypatch.setattr(directory, "MAX_RANKED", 50)
    monkeypatch.setattr(directory, "MAX_COUNTED", 50)
    assert directory_search(engine, "塗装 組立").more and search_organizations(engine, "塗装").more
    for name, (run, expected) in runs.items():
        plans = _plans(engine, run)
        assert plans, name
        used = {n.split(":", 1)[1] for _, nodes in plans for n in nodes if "Index Scan" in n}
        assert expected <= used, (name, sorted(used))
        for statement, nodes in plans:
            scans = [n for n in nodes if n.startswith("Seq Scan")]
            assert not scans, (name, scans, statement)
    # and the answers are the ones LIKE gives
    assert [o.external_id for o in search_organizations(engine, "研削").items] == ["T001"]
    assert [n.external_id for n in search_needs(engine, "切削").items] == ["N1"]
