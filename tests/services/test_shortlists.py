import copy
import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from matcher.graph.constraints import ConstraintSet
from matcher.services import shortlists as sl
from matcher.store.db import session_scope
from matcher.store.tables import Suggestion


def ranked_ids(shortlist):
    return [(e.candidate.type, e.candidate.id, e.score) for e in shortlist.candidates]


org_ids = st.integers(min_value=1, max_value=181)


_QVEC: dict[str, np.ndarray] = {}


def _qvec(ctx, ref):
    if ref not in _QVEC:
        _QVEC[ref] = sl.query_vector(ctx, ctx.need_party(ctx.find_need(ref)))
    return _QVEC[ref]


def test_same_input_gives_the_same_shortlist(demo_ctx):
    a = sl.shortlist_need(demo_ctx, "HN001", "all", 10, store=False)
    b = sl.shortlist_need(demo_ctx, "HN001", "all", 10, store=False)
    assert ranked_ids(a) == ranked_ids(b) and len(a.candidates) == 20


def test_one_default_shortlist_for_page_and_api(demo_ctx):
    """The desk page and the API both call shortlist_need without a kind or k: partners and
    research seeds, ten of each."""
    out = sl.shortlist_need(demo_ctx, "HN004", store=False)
    assert (out.kind, sl.DEFAULT_KIND, sl.DEFAULT_K) == ("all", "all", 10)
    assert {e.candidate.type for e in out.candidates} == {"organization", "seed"}
    assert len(out.candidates) == 2 * sl.DEFAULT_K


def test_candidates_are_ranked_by_score_with_their_drivers(demo_ctx):
    out = sl.shortlist_need(demo_ctx, "HN004", "partners", 5, store=False)
    assert out.query.required == ("切削", "熱処理", "研削", "検査")
    assert [e.rank for e in out.candidates] == [1, 2, 3, 4, 5]
    scores = [e.score for e in out.candidates]
    assert scores == sorted(scores, reverse=True)
    for e in out.candidates:
        assert e.drivers and set(e.drivers) <= set(e.features) | {"bias"}
        assert set(e.covered) <= set(out.query.required)


def test_top_partners_cover_most_required_processes(demo_ctx):
    out = sl.shortlist_need(demo_ctx, "HN005", "partners", 5, store=False)  # 板金・溶接・塗装
    assert min(e.features["coverage"] for e in out.candidates) >= 2 / 3
    assert "必要工程 3 件中" in out.candidates[0].reason


def test_requester_is_never_its_own_partner(demo_ctx):
    need = demo_ctx.find_need("HN001")
    out = sl.shortlist_need(demo_ctx, "HN001", "partners", 50, store=False)
    assert need.org_id not in [e.candidate.id for e in out.candidates]
    assert any(e.excluded == "self" for e in out.excluded) or need.org_id not in demo_ctx.org_parties


def test_explanations_name_only_terms_that_occur_in_both_texts(demo_ctx):
    for ref in ("HN001", "HN011", "HN020"):
        out = sl.shortlist_need(demo_ctx, ref, "all", 10, store=False)
        query = demo_ctx.need_party(demo_ctx.find_need(ref))
        for e in out.candidates:
            docs = demo_ctx.edges.retriever.docs_of(e.candidate.type, e.candidate.id)
            cand_text = "\n".join(demo_ctx.edges.doc_text[d] for d in docs)
            for term in e.matched_terms:
                assert term in query.text and term in cand_text, (ref, term)
            assert set(e.covered) <= set(query.required)


def test_shortlists_are_stored_with_rank_version_features_and_drivers(demo_copy, embedder):
    from matcher.services.context import load_context
    from matcher.store.db import get_engine

    ctx = load_context(get_engine(demo_copy.sqlalchemy_url), demo_copy, embedder)  # stores into a private copy
    out = sl.shortlist_need(ctx, "HN002", "partners", 3, store=True)
    with session_scope(ctx.engine) as s:
        rows = s.exec(select(Suggestion).where(Suggestion.id.in_([e.suggestion_id for e in out.candidates]))).all()
    assert sorted(r.rank for r in rows) == [1, 2, 3]
    assert all(r.model_version == "cold-start-v1" and "coverage" in r.features for r in rows)
    by_id = {e.suggestion_id: e for e in out.candidates}
    for r in rows:
        e = by_id[r.id]
        assert r.requester_org_id == out.query.org_id and r.candidate_org_id == e.candidate.id
        assert r.drivers == pytest.approx(e.drivers) and tuple(r.covered) == e.covered
    ctx.engine.dispose()


def test_reverse_directions_seed_to_companies_and_company_to_partners(demo_ctx):
    seed = sl.shortlist_seed(demo_ctx, "HS-001", 5, store=False)  # 難削材の切削
    assert all("切削" in e.candidate.processes for e in seed.candidates[:3])
    org = sl.shortlist_org(demo_ctx, "HC0001", 5, store=False)
    assert all(e.candidate.external_id != "HC0001" for e in org.candidates)


def test_why_not_explains_the_requester_and_a_ranked_company(demo_ctx):
    need = demo_ctx.find_need("HN001")
    requester = demo_ctx.orgs[need.org_id].external_id
    assert sl.why_not(demo_ctx, "HN001", requester).reason_code == "self"
    listed = sl.shortlist_need(demo_ctx, "HN001", "partners", 10, store=False).candidates[0].candidate.external_id
    assert sl.why_not(demo_ctx, "HN001", listed).status == "shortlisted"


def test_batch_respects_the_exposure_cap_and_reports_its_cost(demo_ctx):
    out = sl.shortlist_all_needs(demo_ctx, "partners", 5, cap=3, store=False)
    seen: dict[int, int] = {}
    for one in out.shortlists:
        for e in one.candidates:
            seen[e.candidate.id] = seen.get(e.candidate.id, 0) + 1
    assert max(seen.values()) <= 3
    assert all(len(one.candidates) == 5 for one in out.shortlists)
    ex = out.exposure["organization"]
    assert ex.cost >= 0 and ex.capped_total <= ex.uncapped_total


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conflicts=st.lists(st.tuples(org_ids, org_ids), max_size=40),
       competitors=st.lists(st.tuples(org_ids, org_ids), max_size=20),
       opted_out=st.sets(org_ids, max_size=30),
       groups=st.dictionaries(org_ids, st.sampled_from(["G1", "G2", "G3"]), max_size=40))
def test_constraints_are_never_violated(demo_ctx, conflicts, competitors, opted_out, groups):
    ctx = copy.copy(demo_ctx)
    cs = ConstraintSet(groups=groups, conflicts={frozenset(p) for p in conflicts},
                       competitors={frozenset(p) for p in competitors}, opted_out=opted_out)
    ctx.edges = dataclasses.replace(demo_ctx.edges, constraints=cs)
    for ref in ("HN001", "HN006"):
        query = ctx.need_party(ctx.find_need(ref))
        ranked = ctx.edges.rank(query, "organization", _qvec(ctx, ref))
        for e in ranked.edges:
            c, r = e.candidate.id, query.org_id
            assert c != r and c not in opted_out and e.excluded is None
            assert frozenset((r, c)) not in cs.conflicts | cs.competitors
            assert not (groups.get(r) and groups.get(r) == groups.get(c))
        assert all(e.excluded for e in ranked.excluded)
        assert {e.candidate.id for e in ranked.excluded}.isdisjoint({e.candidate.id for e in ranked.edges})


def test_suggestions_are_stored_in_rank_order_with_their_ids_on_both_stores(engine):
    """store_suggestions writes one multi-row INSERT … RETURNING: each edge must learn the id of
    its own row (SQLite and PostgreSQL), and the row holds what the edge held."""
    from types import SimpleNamespace

    from matcher.graph.model import Party, ScoredEdge, Shortlist

    query = Party(type="need", id=7, text="試作")
    edges = [ScoredEdge(query=query, candidate=Party(type="organization", id=100 - r, name=f"社{r}"),
                        features={"dense_max": 0.9 - r / 10, "coverage": 1.0}, score=1.0 - r / 10,
                        reason=f"理由{r}", rank=r)
             for r in range(1, 6)]
    shortlist = Shortlist(query=query, kind="partners", model_version="v-test", candidates=edges, excluded=[])
    sl.store_suggestions(SimpleNamespace(engine=engine, model_version="v-test"), shortlist)
    with session_scope(engine) as s:
        rows = {r.id: r for r in s.exec(select(Suggestion).where(Suggestion.run_id == shortlist.run_id))}
    assert len(rows) == 5 and len({e.suggestion_id for e in edges}) == 5
    for e in edges:
        row = rows[e.suggestion_id]
        assert (row.candidate_id, row.rank, row.explanation, row.kind) == (e.candidate.id, e.rank, e.reason, "partner")
        assert row.features == dict(sorted(e.features.items())) and row.members is None
        assert row.model_version == "v-test" and row.created_at is not None


def test_why_not_says_what_is_missing_and_what_a_coordinator_decided(own_demo):
    from matcher.services.decisions import record_decision
    from matcher.views.shortlists import why_not_out

    out = sl.shortlist_need(own_demo, "HN001", "partners", 20, store=True)
    below = out.candidates[15]
    record_decision(own_demo.engine, below.suggestion_id, "reject", reason="distance", by="coord@example.jp")
    w = sl.why_not(own_demo, "hn001", below.candidate.external_id.lower())  # ids as people type them
    assert w.status == "ranked_below" and w.rank == 16 and w.k == sl.DEFAULT_K
    assert w.missing == tuple(p for p in w.need.required if p not in below.candidate.processes)
    assert w.decision is not None and (w.decision.verdict, w.decision.reason) == ("reject", "distance")
    text = why_not_out(w).reason
    assert text.startswith(f"16 位で、表示中の上位 {sl.DEFAULT_K} 件の最下位スコア")
    assert "担当者がこの組み合わせを「却下」としています（理由: 距離）" in text and "日" in text
    if w.missing:
        assert f"必要工程のうち {'・'.join(w.missing)} を登録していません" in text
    docs = own_demo.edges.retriever.docs_of("organization", below.candidate.id)
    cand_text = "".join(own_demo.edges.doc_text[d] for d in docs)
    assert all(term in w.need.text and term not in cand_text for term in w.missing_terms)
