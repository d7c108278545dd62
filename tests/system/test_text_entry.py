"""Hostile and careless input, as the probe of the service sent it: each gets a 4xx with a Japanese
message (or a row error inside an otherwise good import), bounded memory, and nothing half-stored."""

from sqlmodel import select

from matcher.store.db import session_scope
from matcher.store.tables import Decision, Organization, Suggestion
from tests.support import bearer


def test_unicode_line_breaks_and_c1_controls_are_cleaned_at_every_entry(desk, tmp_path):
    from matcher.exchange.catalog import import_file
    from matcher.services import forum
    from matcher.services.decisions import record_company_reply
    from matcher.store.tables import Need

    engine, c = desk["engine"], desk["client"]
    nasty = "\u2028\x85\u2029\x9b\x0b"
    (tmp_path / "o.csv").write_text(f"企業ID,企業名\nL1,改行{nasty}工業（架空）\n", encoding="utf-8")
    assert not import_file(engine, tmp_path / "o.csv", "organizations").rejected
    r = c.post("/api/organizations", json={"external_id": "L2", "name": f"API{nasty}精機（架空）"}, headers=bearer(c))
    assert r.status_code == 201, r.text
    org_id = r.json()["organization"]["id"]
    r = c.patch(f"/api/organizations/{org_id}", json={"city": f"日野{nasty}市"}, headers=bearer(c))
    assert r.status_code == 200, r.text
    (tmp_path / "n.csv").write_text(f"案件ID,企業ID,件名,内容\nLN,L1,件名{nasty}です,本文\n", encoding="utf-8")
    assert not import_file(engine, tmp_path / "n.csv", "needs").rejected
    event = forum.create_event(engine, f"第1回{nasty}フォーラム")
    with session_scope(engine) as s:
        need = s.exec(select(Need).where(Need.external_id == "LN")).one()
        sug = Suggestion(run_id="l", query_type="need", query_id=need.id, candidate_type="organization",
                         candidate_id=org_id, kind="partner", rank=1, score=0.5, model_version="cold-start-v1")
        s.add(sug)
        s.flush()
        sid = sug.id
    record_company_reply(engine, sid, "interested", f"よろしく{nasty}お願いします", "x", org_id)
    with session_scope(engine) as s:
        texts = [o.name for o in s.exec(select(Organization).where(Organization.external_id.in_(["L1", "L2"])))]
        texts += [s.get(Organization, org_id).city, s.exec(select(Need.title).where(Need.external_id == "LN")).one(),
                  event.name, s.exec(select(Decision.comment).where(Decision.kind == "company_reply")).one()]
    for t in texts:
        assert not any(ch in t for ch in "\u2028\x85\u2029\x9b\x0b\r"), repr(t)
    assert not any("\n" in t for t in texts[:-1])  # one-line fields; only the comment keeps its breaks, as LF
    assert texts[0] == "改行 工業(架空)" and texts[2] == "日野 市"
