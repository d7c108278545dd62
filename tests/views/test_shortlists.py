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
