"""Hostile and careless input, as the probe of the service sent it: each gets a 4xx with a Japanese
message (or a row error inside an otherwise good import), bounded memory, and nothing half-stored."""

from sqlmodel import select

from matcher.store.db import session_scope
from matcher.store.tables import Organization
from tests.support import assert_japanese_4xx, bearer


def test_api_values_beyond_any_real_size_are_422(desk):
    c = desk["client"]
    r = c.post("/api/organizations", json={"external_id": "C30", "name": "大資本（架空）", "capital": 10**30},
               headers=bearer(c))
    assert_japanese_4xx(r, 422)
    assert any(e["field"] == "capital" for e in r.json()["detail"]["errors"])
    r = c.post("/api/organizations", json={"external_id": "C31", "name": {"nested": "object"}}, headers=bearer(c))
    assert_japanese_4xx(r, 422)


def test_invisible_and_direction_characters_are_removed(desk):
    c = desk["client"]
    r = c.post("/api/organizations", json={"external_id": "Z1", "name": "日野\u200b精\u202e密\x00（架空）",
                                           "profile": "ステン\u200bレスの切削"}, headers=bearer(c))
    assert r.status_code == 201, r.text
    assert r.json()["organization"]["name"] == "日野精密(架空)"
    assert r.json()["organization"]["profile"] == "ステンレスの切削"
    found = c.get("/api/organizations", params={"q": "日野精密"}, headers=bearer(c)).json()
    assert [o["external_id"] for o in found["items"]] == ["Z1"]


def test_patch_can_clear_a_field(desk):
    c = desk["client"]
    with session_scope(desk["engine"]) as s:
        org = s.exec(select(Organization).where(Organization.external_id == "T001")).one()
    r = c.patch(f"/api/organizations/{org.id}", json={"city": None}, headers=bearer(c))
    assert r.status_code == 200 and r.json()["organization"]["city"] is None, r.text
