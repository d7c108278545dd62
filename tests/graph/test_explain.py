"""A reason is kept as parts and written for each reader; a company never reads what it may not know."""

from hypothesis import given
from hypothesis import strategies as st

from matcher.graph.explain import EdgeReason, reason_ja
from matcher.graph.model import Party, ScoredEdge

NEED = Party(type="need", id=1, name="筐体の板金", city="日野市", required=("板金", "溶接", "塗装"))
PARTNER = Party(type="organization", id=2, name="協力板金（架空）", city="八王子市",
                certifications=("ISO9001", "エコアクション21", "IATF16949", "ISO14001"), processes=("板金", "溶接"))


def edge(**kw) -> ScoredEdge:
    base = {"query": NEED, "candidate": PARTNER, "covered": ("板金", "溶接"), "distance": "neighbour",
            "matched_terms": ("ステンレス", "筐体", "溶接", "粉体塗装")}
    return ScoredEdge(**{**base, **kw})


def test_a_coordinator_reads_processes_place_certificates_and_at_most_three_terms():
    text = reason_ja(edge())
    assert text == "必要工程 3 件中 2 件（板金・溶接）に対応、近隣（八王子市）、ISO9001・IATF16949、共通語：ステンレス・筐体・溶接"


def test_the_candidate_reads_the_requesters_place_not_its_own():
    why = EdgeReason.of(edge())
    text = why.text("candidate", other_public=True)
    assert text.startswith("貴社の工程が必要工程 3 件中 2 件") and "依頼元は近隣（日野市）" in text
    assert "八王子市" not in text and "ISO9001" not in text  # its own city and certificates are not news to it


def test_a_non_public_other_side_is_never_placed_certified_or_quoted():
    why = EdgeReason.of(edge())
    for viewer in ("requester", "candidate"):
        text = why.text(viewer, other_public=False)
        assert "八王子市" not in text and "日野市" not in text and "ISO" not in text and "共通語" not in text
        assert "必要工程 3 件中 2 件" in text


def test_a_seed_reason_gives_the_research_similarity():
    from matcher.search.retrieve import Hit

    seed = Party(type="seed", id=9, name="難削材の切削", org_id=5)
    hit = Hit(owner_id=9, rrf=0.03, dense_max=0.8123, doc_ids=[1])
    text = EdgeReason.of(edge(candidate=seed, hit=hit, covered=(), matched_terms=("切削",))).text("coordinator")
    assert text == "研究内容の類似度 0.81、共通語：切削"


parts = st.builds(EdgeReason, candidate_type=st.sampled_from(["organization", "seed"]),
                  required=st.lists(st.text(max_size=5), max_size=4).map(tuple),
                  covered=st.lists(st.text(max_size=5), max_size=4).map(tuple),
                  distance=st.sampled_from(["same_city", "neighbour", "tama", "elsewhere"]),
                  query_city=st.none() | st.text(max_size=8), candidate_city=st.none() | st.text(max_size=8),
                  certifications=st.lists(st.text(max_size=8), max_size=2).map(tuple),
                  terms=st.lists(st.text(max_size=6), max_size=3).map(tuple),
                  similarity=st.none() | st.floats(0, 1))


@given(parts)
def test_stored_parts_read_back_as_the_same_reason(why):
    back = EdgeReason.from_json(why.as_json())
    assert back == why and back.text("requester") == why.text("requester")


def test_rows_stored_before_reasons_had_parts_read_as_none():
    assert EdgeReason.from_json(None) is None and EdgeReason.from_json({"covered": []}) is None
