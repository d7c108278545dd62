"""The service's match context is keyed by the store's data version: no route invalidates it."""

import shutil

from matcher.exchange.catalog import upsert_one
from matcher.search.indexing import sync_indexes
from matcher.services.context import ContextCache
from matcher.services.decisions import record_decision
from matcher.services.shortlists import shortlist_need


def test_context_reloads_on_data_change_and_refreshes_history_on_decisions(demo_ctx, tmp_path):
    from matcher.config import Settings
    from matcher.store.db import get_engine

    # A private copy of the demo installation, so other tests keep theirs.
    data = tmp_path / "copy"
    shutil.copytree(demo_ctx.settings.data_dir, data)
    settings = Settings(data_dir=data)
    engine = get_engine(settings.sqlalchemy_url)
    cache = ContextCache(engine, settings, lambda: demo_ctx.embedder)
    first = cache.get()
    assert cache.get() is first  # nothing changed: the same object, no reload

    shortlist = shortlist_need(first, "HN001", "partners", 3)  # stores suggestions: not a data change
    assert cache.get() is first
    accepted = sum(first.edges.history().accepts.values())  # other tests may have decided on the demo store
    record_decision(engine, shortlist.candidates[0].suggestion_id, "accept", by="t")
    again = cache.get()
    assert again is first and sum(again.edges.history().accepts.values()) == accepted + 1  # refreshed in place

    status, errors = upsert_one(engine, "organizations", {"external_id": "CTX1", "name": "キャッシュ試験精工（架空）",
                                                          "profile": "チタンの精密切削"})
    assert status == "inserted" and not errors
    sync_indexes(engine, settings, demo_ctx.embedder)
    reloaded = cache.get()
    assert reloaded is not first and any(o.external_id == "CTX1" for o in reloaded.orgs.values())

    # A new index version alone (a compaction: no row changed) is picked up at the next request,
    # without a restart, and answers as the version before it did.
    from matcher.search.indexing import compact_indexes

    before = shortlist_need(reloaded, "HN001", "partners", 5)
    assert compact_indexes(settings, force=True) is not None
    compacted = cache.get()
    assert compacted is not reloaded and len(compacted.edges.retriever.vectors._v.segments) == 1
    after = shortlist_need(compacted, "HN001", "partners", 5)
    assert [c.candidate.id for c in after.candidates] == [c.candidate.id for c in before.candidates]
    engine.dispose()


def test_ids_are_found_as_people_type_them(demo_ctx):
    want = demo_ctx.find_org("HC0040")
    for typed in ("hc0040", "ＨＣ００４０", " HC0040\u200b", "ｈｃ００４０"):
        assert demo_ctx.find_org(typed) is want
    assert demo_ctx.find_need("hn001") is demo_ctx.find_need("HN001")
