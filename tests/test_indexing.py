"""Only changed documents are re-embedded and re-indexed."""

from matcher.exchange.catalog import import_file
from matcher.search.embed import CachedEmbedder, EmbeddingCache
from matcher.search.indexing import load_indexes, sync_indexes
from matcher.store.db import get_engine, upgrade
from tests.conftest import FIXTURES


def test_reimport_reindexes_only_the_edited_document(settings, embedder, tmp_path):
    engine = get_engine(settings.sqlalchemy_url)
    upgrade(engine)
    cached = CachedEmbedder(embedder, EmbeddingCache(settings.data_dir / "cache.sqlite"))
    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    first = sync_indexes(engine, settings, cached)
    assert first.indexed == first.documents == 7 and first.embedded == 7

    again = sync_indexes(engine, settings, cached)
    assert (again.indexed, again.embedded) == (0, 0)

    edited = tmp_path / "edited.csv"
    edited.write_text((FIXTURES / "orgs_small.csv").read_text(encoding="utf-8")
                      .replace("制御盤筐体の板金", "医療機器外装の板金"), encoding="utf-8")
    import_file(engine, edited, "organizations")
    third = sync_indexes(engine, settings, cached)
    assert (third.indexed, third.embedded, third.removed) == (1, 1, 0)

    vectors, bm25 = load_indexes(settings)
    assert len(vectors) == len(bm25) == 7
    hits = bm25.search(["医療", "機器", "外装"], 1)[1]
    assert len(hits) == 1


def test_documents_that_disappear_leave_the_indexes(settings, embedder, tmp_path):
    engine = get_engine(settings.sqlalchemy_url)
    upgrade(engine)
    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    sync_indexes(engine, settings, embedder)
    no_equipment = tmp_path / "o.csv"
    no_equipment.write_text((FIXTURES / "orgs_small.csv").read_text(encoding="utf-8").replace("NC旋盤 3台", ""),
                            encoding="utf-8")
    import_file(engine, no_equipment, "organizations")
    report = sync_indexes(engine, settings, embedder)
    assert report.removed == 1 and len(load_indexes(settings)[0]) == 6
