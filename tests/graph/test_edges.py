"""One scored edge per allowed pair: constraints first, features, score, then the explanation."""

import dataclasses

import numpy as np

from matcher.graph.constraints import ConstraintSet
from matcher.graph.explain import EdgeReason
from matcher.graph.features import FEATURES
from matcher.services.shortlists import query_vector


def _query(ctx, ref="HN005"):
    q = ctx.need_party(ctx.find_need(ref))
    return q, query_vector(ctx, q)


def test_edges_are_sorted_by_score_then_id_with_every_feature(demo_ctx):
    q, v = _query(demo_ctx)
    timings: dict[str, float] = {}
    ranked = demo_ctx.edges.rank(q, "organization", v, timings=timings)
    assert ranked.edges and set(timings) == {"retrieve", "constraints", "features", "score"}
    keys = [(-e.score, e.candidate.id) for e in ranked.edges]
    assert keys == sorted(keys)
    assert all(set(e.features) == set(FEATURES) and e.excluded is None for e in ranked.edges)
    assert all(set(e.covered) <= set(q.required) for e in ranked.edges)


def test_a_constraint_moves_a_pair_to_the_excluded_with_its_reason(demo_ctx):
    q, v = _query(demo_ctx)
    first = demo_ctx.edges.rank(q, "organization", v).edges[0].candidate.id
    blocked = dataclasses.replace(demo_ctx.edges, constraints=ConstraintSet(conflicts={frozenset((q.org_id, first))}))
    ranked = blocked.rank(q, "organization", v)
    assert first not in {e.candidate.id for e in ranked.edges}
    assert [e.excluded for e in ranked.excluded if e.candidate.id == first] == ["conflict"]


def test_explain_keeps_the_largest_contributions_and_a_reason_from_the_edges_parts(demo_ctx):
    q, v = _query(demo_ctx)
    edge = demo_ctx.edges.explain(demo_ctx.edges.rank(q, "organization", v).edges[0], n_drivers=3)
    contrib = demo_ctx.edges.scorer.contributions(np.array([edge.features[f] for f in FEATURES]))
    largest = sorted(contrib.values(), key=abs, reverse=True)[:3]
    assert sorted(map(abs, edge.drivers.values())) == sorted(round(abs(x), 4) for x in largest)
    assert edge.why == EdgeReason.of(edge) and edge.reason == edge.why.text("coordinator")
    cand_text = "\n".join(demo_ctx.edges.doc_text[d] for d in edge.hit.doc_ids)
    assert edge.matched_terms and all(t in q.text and t in cand_text for t in edge.matched_terms)


def test_term_statistics_above_the_sample_size_count_an_evenly_spaced_sample(demo_ctx, monkeypatch):
    """Two million documents are not tokenised before the first explanation: above TERM_SAMPLE
    owners the statistics count every step-th owner by id, the same owners every time."""
    from matcher.graph import edges as edges_module

    owners = sorted(o for (t, o) in demo_ctx.edges.retriever.docs_of_ if t == "organization")
    monkeypatch.setattr(edges_module, "TERM_SAMPLE", 10)
    first = dataclasses.replace(demo_ctx.edges).term_stats("organization")
    again = dataclasses.replace(demo_ctx.edges).term_stats("organization")
    step = -(-len(owners) // 10)
    assert len(owners) > 10 and first.n == len(owners[::step]) <= 10
    assert first == again
    full = dataclasses.replace(demo_ctx.edges)
    monkeypatch.setattr(edges_module, "TERM_SAMPLE", 10**9)
    assert full.term_stats("organization").n == len(owners) > first.n
