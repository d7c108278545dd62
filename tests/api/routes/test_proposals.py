"""The service's security surface: every route × every role, escaping, limits, rate limiting."""

from tests.support import hdr


def test_company_sees_only_its_own_organisation_and_accepted_proposals(client, tokens, live_server):
    r = client.get("/api/organizations", headers=hdr(tokens["company"]))
    assert [o["external_id"] for o in r.json()["items"]] == ["HC0002"]
    shortlist = client.post("/api/needs/1/shortlist?k=10", headers=hdr(tokens["admin"])).json()
    # Suggestions and internal decisions are the coordinators' business.
    assert client.get("/api/suggestions", headers=hdr(tokens["company"])).status_code == 403
    before = client.get("/api/proposals", headers=hdr(tokens["company"])).json()["items"]
    # Need 1 belongs to another company; rejecting or merely listing HC0002 shows the company nothing.
    mine = [c for c in shortlist["candidates"] if c.get("org", {}).get("external_id") == "HC0002"]
    for c in mine:
        client.post("/api/decisions", json={"suggestion_id": c["suggestion_id"], "verdict": "reject", "reason": "size"},
                    headers=hdr(tokens["coordinator"]))
    assert client.get("/api/proposals", headers=hdr(tokens["company"])).json()["items"] == before
    everything = client.get("/api/suggestions", headers=hdr(tokens["coordinator"])).json()["items"]
    assert len(everything) >= len(shortlist["candidates"])
