"""Only changed documents are re-embedded and re-indexed."""

from matcher.exchange.catalog import import_file
from matcher.search.embed import CachedEmbedder, EmbeddingCache
from matcher.search.indexing import load_indexes, sync_indexes
from matcher.store.db import get_engine, upgrade
from tests.support import FIXTURES


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

    version = load_indexes(settings)
    vectors, bm25 = version.vectors, version.bm25
    assert len(vectors) == len(bm25) == 7
    assert [s.rows for s in version.segments] == [7, 1]  # the sync wrote only what changed
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
    assert report.removed == 1 and len(load_indexes(settings).vectors) == 6


def test_a_changed_document_model_re_embeds_every_document(settings, embedder, tmp_path):
    """Vectors from another precision are not comparable with today's queries: switching
    documents to the other precision (int8 ↔ fp32) re-embeds them all, once, and the index
    records it."""
    from matcher.search.embed import Embedder
    from matcher.search.indexing import index_root, model_changed
    from matcher.search.segments import IndexStore

    engine = get_engine(settings.sqlalchemy_url)
    upgrade(engine)
    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    cache = EmbeddingCache(settings.data_dir / "cache.sqlite")
    first = sync_indexes(engine, settings, CachedEmbedder(embedder, cache))
    store = IndexStore(index_root(settings))
    assert store.current().model == embedder.model_id_for("passage") and not model_changed(settings)

    other = "none" if settings.embed_passage_quantize == "int8" else "int8"
    flipped = settings.model_copy(update={"embed_passage_quantize": other})
    assert model_changed(flipped)  # what the index service checks at start-up
    other_docs = CachedEmbedder(Embedder.from_settings(flipped), cache)
    assert other_docs.model_id_for("passage") != embedder.model_id_for("passage")
    assert other_docs.model_id == embedder.model_id  # queries are untouched
    switched = sync_indexes(engine, flipped, other_docs)
    assert switched.indexed == switched.embedded == first.documents == 7
    assert store.current().model == other_docs.model_id_for("passage") and not model_changed(flipped)
    assert len(store.current().segments) == 1  # the other model's vectors are not kept beside them
    assert (sync_indexes(engine, flipped, other_docs).indexed, model_changed(settings)) == (0, True)
