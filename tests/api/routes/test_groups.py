"""The need page's joint-order groups: no empty answer, and a dropped member is re-checked."""

import re

from fastapi.testclient import TestClient

from tests.support import PASSWORD, page_login


def _desk(settings):
    from api.app import create_app
    from matcher.services.auth import create_user
    from matcher.store.db import get_engine

    engine = get_engine(settings.sqlalchemy_url)
    create_user(engine, "group-coord@example.jp", "coordinator", PASSWORD)
    return engine, TestClient(create_app(settings))


def _csrf(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _need_id(engine, ref: str) -> int:
    from sqlmodel import select

    from matcher.store.db import session_scope
    from matcher.store.tables import Need

    with session_scope(engine) as s:
        return s.exec(select(Need.id).where(Need.external_id == ref)).one()


def test_a_single_process_need_says_who_can_do_it_alone(demo_copy):
    engine, client = _desk(demo_copy)
    with client:
        page_login(client, "group-coord@example.jp")
        need = _need_id(engine, "HN026")  # 切削 only
        page = client.get(f"/needs/{need}")
        r = client.post(f"/needs/{need}/groups", data={"csrf_token": _csrf(page)})
        assert r.status_code == 200 and "単独で対応可能" in r.text and "1 社で必要工程をすべて担える" in r.text
        assert "適合度" in r.text and "スコア 0." not in r.text


def test_dropping_a_member_says_what_is_no_longer_covered_and_offers_replacements(demo_copy):
    engine, client = _desk(demo_copy)
    with client:
        page_login(client, "group-coord@example.jp")
        need = _need_id(engine, "HN001")
        page = client.get(f"/needs/{need}")
        r = client.post(f"/needs/{need}/groups", data={"csrf_token": _csrf(page)}, follow_redirects=True)
        assert r.status_code == 200 and "案 1" in r.text and "適合度" in r.text
        form = re.search(r'action="/groups/(\d+)/drop".*?name="org_id" value="(\d+)"', r.text, re.S)
        r = client.post(f"/groups/{form.group(1)}/drop", data={"csrf_token": _csrf(r), "need_id": need,
                                                                "org_id": form.group(2)}, follow_redirects=True)
        assert r.status_code == 200 and "（外しました）" in r.text
        assert "を担う企業がいません" in r.text and "の代わりの候補" in r.text
