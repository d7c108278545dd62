"""What companies receive, from both sides of every pair: a 非公開 need, a requester or partner
that is not public (公開=いいえ), a joint-order group with a non-public member — on the proposals
page, the API, the digest email and the page behind a mail link. A coordinator's identity,
verdict reason and score never reach a company."""

from __future__ import annotations

import email
from contextlib import ExitStack
from datetime import UTC, datetime
from email import policy

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from matcher.exchange.catalog import import_file
from matcher.graph.explain import EdgeReason
from matcher.services import digests
from matcher.services.auth import create_user
from matcher.services.decisions import record_decision
from matcher.store.db import session_scope
from matcher.store.tables import Need, Organization, Suggestion
from tests.support import smtp_server

PASSWORD = "correct-horse-battery"


NOON = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


SECRET_TITLE = "次期モデル試作の部品加工"


HIDDEN_CITY, HIDDEN_NAME, HIDDEN_CERT = "八王子市", "非公開精機株式会社（架空）", "IATF16949"


class Recorder:
    def __init__(self) -> None:
        self.accepted: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.accepted.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"


@pytest.fixture()
def world(tmp_path):
    """R (public requester, 日野市) with a public need NP and a 非公開 need NX; RH (not public,
    八王子市) with a public need NH; C (public candidate) and CH (non-public candidate, 八王子市,
    IATF16949). Every pair accepted by a coordinator, plus a group for NP of C and CH."""
    from api.app import create_app
    from matcher.config import Settings
    from matcher.store.db import get_engine, upgrade

    handler = Recorder()
    stack = ExitStack()
    port = stack.enter_context(smtp_server(handler))
    settings = Settings(data_dir=tmp_path / "data", smtp_port=port, public_url="https://m.example.jp",
                        digest_quiet_hours="")
    settings.ensure_dirs()
    engine = get_engine(settings.sqlalchemy_url)
    upgrade(engine)
    (tmp_path / "o.csv").write_text(
        "企業ID,企業名,種別,所在地,認証,メール,メール配信,公開\n"
        "R,公開依頼工業（架空）,企業,日野市,,r@example.jp,はい,はい\n"
        f"RH,非公開依頼工業（架空）,企業,{HIDDEN_CITY},,rh@example.jp,はい,いいえ\n"
        "C,公開協力精工（架空）,企業,国立市,ISO9001,c@example.jp,はい,はい\n"
        f"CH,{HIDDEN_NAME},企業,{HIDDEN_CITY},{HIDDEN_CERT},ch@example.jp,はい,いいえ\n", encoding="utf-8")
    assert not import_file(engine, tmp_path / "o.csv", "organizations").rejected
    (tmp_path / "n.csv").write_text(
        "案件ID,企業ID,件名,内容,必要工程,公開区分\n"
        "NP,R,筐体の試作,ステンレス筐体の切削と溶接。,切削;溶接,公開\n"
        f"NX,R,{SECRET_TITLE},新製品の部品。,切削,非公開\n"
        "NH,RH,樹脂部品の検査,外観検査の自動化。,検査,公開\n", encoding="utf-8")
    assert not import_file(engine, tmp_path / "n.csv", "needs").rejected
    with session_scope(engine) as s:
        org = {o.external_id: o for o in s.exec(select(Organization))}
        need = {n.external_id: n for n in s.exec(select(Need))}

    def edge(n: str, c: str) -> Suggestion:
        cand, req = org[c], next(o for o in org.values() if o.id == need[n].org_id)
        why = EdgeReason(candidate_type="organization", required=("切削", "溶接"), covered=("切削",), distance="neighbour",
                         query_city=req.city, candidate_city=cand.city, certifications=tuple(x for x in (cand.certifications,) if x),
                         terms=("ステンレス", "筐体"), similarity=0.8)
        return Suggestion(run_id="w", query_type="need", query_id=need[n].id, candidate_type="organization",
                          candidate_id=cand.id, requester_org_id=req.id, candidate_org_id=cand.id, kind="partner", rank=1,
                          score=0.71, model_version="cold-start-v1", features={"coverage": 0.5},
                          explanation=why.text("coordinator"), detail=why.as_json())

    with session_scope(engine) as s:
        sugs = [edge("NP", "CH"), edge("NX", "C"), edge("NH", "C"), edge("NP", "C")]
        group = Suggestion(run_id="g", query_type="need", query_id=need["NP"].id, candidate_type="group",
                           candidate_id=org["C"].id, requester_org_id=org["R"].id, candidate_org_id=org["C"].id,
                           kind="group", rank=1, score=0.5, model_version="cold-start-v1",
                           explanation=f"切削: {org['C'].name}、溶接: {HIDDEN_NAME}",
                           members=[{"org_id": org["C"].id, "role": "lead", "covers": ["切削"], "features": {}},
                                    {"org_id": org["CH"].id, "role": "member", "covers": ["溶接"], "features": {}}])
        s.add_all([*sugs, group])
        s.flush()
        sids = [g.id for g in (*sugs, group)]
    for sid in sids:
        record_decision(engine, sid, "accept", by="secret-coordinator@example.jp")
    for ext in ("R", "RH", "C", "CH"):
        create_user(engine, f"{ext.lower()}-user@example.jp", "company", PASSWORD, ext)
    app = create_app(settings, warm=False)
    with TestClient(app) as client:
        yield {"engine": engine, "settings": settings, "client": client, "handler": handler,
               "org": {k: v.id for k, v in org.items()}}
    stack.close()


def outputs(world) -> dict[str, str]:
    """Everything each company receives, as text: its proposals page, its API JSON and its digest
    (both parts), plus every mail-link page it can open."""
    c = world["client"]
    if not world["handler"].accepted:
        digests.send_digests(world["engine"], world["settings"], now=NOON, sleep=lambda s: None)
    mails = {m["To"]: m for m in world["handler"].accepted}
    out = {}
    for ext in ("R", "RH", "C", "CH"):
        c.cookies.clear()
        token = c.post("/api/token", json={"email": f"{ext.lower()}-user@example.jp", "password": PASSWORD}).json()
        api = c.get("/api/proposals", headers={"Authorization": f"Bearer {token['access_token']}"}).text
        c.get("/login")
        c.post("/login", data={"email": f"{ext.lower()}-user@example.jp", "password": PASSWORD,
                               "csrf_token": c.cookies.get("matcher_login_csrf")})
        page = c.get("/proposals").text
        c.cookies.clear()
        mail = mails.get(f"{ext.lower()}@example.jp")
        text = html = links = ""
        if mail is not None:
            text = mail["Subject"] + mail.get_body(("plain",)).get_content()
            html = mail.get_body(("html",)).get_content()
            links = "".join(c.get(line.split(": ", 1)[1].replace("https://m.example.jp", "")).text
                            for line in text.splitlines() if line.strip().startswith(("興味あり:", "関心なし:")))
        out[ext] = "\n".join((api, page, text, html, links))
    return out


def test_a_confidential_need_reaches_only_its_requester(world):
    seen = outputs(world)
    assert SECRET_TITLE in seen["R"]  # the requester's own need, with its partner
    for ext in ("C", "CH", "RH"):
        assert SECRET_TITLE not in seen[ext] and "新製品の部品" not in seen[ext], ext


def test_a_non_public_organisation_is_never_named_placed_or_quoted(world):
    seen = outputs(world)
    # CH (not public) as a candidate: R reads about it without its name, city, certificate.
    assert "公開協力精工" in seen["R"] and "非公開の企業・機関（窓口からご紹介します）" in seen["R"]
    for ext in ("R", "RH", "C"):
        assert HIDDEN_NAME not in seen[ext] and HIDDEN_CERT not in seen[ext], ext
    # RH (not public) as a requester: C hears of its public need, never of who or where it is.
    assert "樹脂部品の検査" in seen["C"]
    assert "非公開依頼工業" not in seen["C"] and HIDDEN_CITY not in seen["C"]
    for ext in ("R", "C"):
        assert "非公開依頼工業" not in seen[ext] and HIDDEN_CITY not in seen[ext], ext
    # Each reads its own name and city back only as itself.
    assert HIDDEN_NAME in seen["CH"] or "貴社" in seen["CH"]


def test_coordinators_identity_and_judgement_never_reach_a_company(world):
    seen = outputs(world)
    for ext, text in seen.items():
        assert "secret-coordinator" not in text and "0.71" not in text and "cold-start" not in text, ext


def test_a_group_names_only_its_public_members(world):
    seen = outputs(world)
    assert "共同受注グループ" in seen["R"] and "溶接" in seen["R"]
    assert HIDDEN_NAME not in seen["R"]  # the group's non-public member, hidden from the requester
    assert "your_company_in_a_group" in seen["CH"] and "公開協力精工" in seen["CH"]  # CH sees the public lead


def test_company_cards_carry_the_reason_the_email_gives(world):
    from matcher.services.proposals import proposals_for

    engine = world["engine"]
    outputs(world)
    mails = {m["To"]: m.get_body(("plain",)).get_content() for m in world["handler"].accepted}
    for ext in ("R", "C"):
        for card in proposals_for(engine, world["org"][ext]):
            if card.direction in ("group_for_your_need", "your_company_in_a_group"):
                continue  # groups are not mailed
            assert card.why and card.why != "コーディネーターが貴社の技術が合うと判断しました。"
            assert f"理由: {card.why}" in mails[f"{ext.lower()}@example.jp"], (ext, card.why)
    # The candidate reads the requester's side: its own processes covered, not its own city back.
    c_cards = {card.need_title: card.why for card in proposals_for(engine, world["org"]["C"])
               if card.direction == "your_company_for_a_need"}
    assert c_cards["筐体の試作"].startswith("貴社の工程が必要工程") and "国立市" not in c_cards["筐体の試作"]
    assert "日野市" in c_cards["筐体の試作"]  # where the (public) requester is
