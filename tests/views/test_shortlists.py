"""The shortlist's JSON (API and ``--json``) is built here and only here; process tags are
``processes`` everywhere (JSIC codes are ``industries``)."""

from matcher.services.shortlists import shortlist_need
from matcher.views import as_json
from matcher.views.shortlists import shortlist_out


def test_json_shape_has_the_agreed_keys(demo_ctx):
    out = as_json(shortlist_out(shortlist_need(demo_ctx, "HN004", "partners", 5, store=False)))
    assert set(out["need"]) >= {"id", "org_id", "title", "required_processes"}
    assert out["need"]["required_processes"] == ["切削", "熱処理", "研削", "検査"]
    c = out["candidates"][0]
    assert set(c) >= {"suggestion_id", "rank", "score", "org", "covered_processes", "features", "reason"}
    assert set(c["org"]) >= {"id", "external_id", "name", "kind", "city", "employees", "certifications", "processes"}
    assert [x["rank"] for x in out["candidates"]] == [1, 2, 3, 4, 5]
    scores = [x["score"] for x in out["candidates"]]
    assert scores == sorted(scores, reverse=True)


def test_why_not_reads_as_sentences_for_each_status():
    from datetime import UTC, datetime

    from matcher.graph.model import Party
    from matcher.services.shortlists import WhyNot
    from matcher.services.suggestions import Verdict
    from matcher.views.shortlists import why_not_out

    need = Party(type="need", id=1, external_id="HN001", name="筐体", required=("板金", "溶接", "塗装"))
    org = Party(type="organization", id=7, external_id="HC0040", name="協力板金（架空）", processes=("板金",))
    at = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)  # 14:00 in Japan
    verdict = Verdict(suggestion_id=3, kind="coordinator", verdict="reject", reason="size", comment=None,
                      by="coord@example.jp", org_id=None, at=at, created_at=at)
    w = WhyNot(need=need, org=org, status="excluded", reason_code="competitor", missing=("溶接", "塗装"),
               missing_terms=("粉体塗装",), decision=verdict)
    out = why_not_out(w)
    assert out.reason == ("除外: 競合関係として登録されています。必要工程のうち 溶接・塗装 を登録していません。"
                          "案件の語「粉体塗装」が紹介文にありません。"
                          "2026年11月30日 14:00 に担当者がこの組み合わせを「却下」としています（理由: 規模）")
    assert out.decision.verdict == "reject" and out.missing_processes == ["溶接", "塗装"]
    shown = why_not_out(WhyNot(need=need, org=org, status="shortlisted", rank=3, score=0.71, kth_score=0.6, k=10,
                                   missing=("溶接", "塗装")))
    assert shown.reason == "3 位で、表示中の上位 10 件に入っています（スコア 0.710）。必要工程のうち 溶接・塗装 を登録していません"
