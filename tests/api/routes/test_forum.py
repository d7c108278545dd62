"""Forum events in the store: participant import, seating from the scored graph, re-seating after
cancellations, the printed chart, the CLI and the desk page."""

from __future__ import annotations

import time

from tests.support import ROSTER


def test_desk_imports_seats_with_progress_and_shows_the_chart(live_server):
    import httpx

    with httpx.Client(base_url=live_server["url"], timeout=60, follow_redirects=False) as c:
        page = c.get("/login")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        assert c.post("/login", data={"email": "coord@example.jp", "password": "correct-horse-battery",
                                      "csrf_token": csrf}).status_code == 303
        page = c.get("/forum")
        assert page.status_code == 200 and "産業人フォーラム" in page.text
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = c.post("/forum/import", data={"csrf_token": csrf, "event": "デスクのフォーラム"},
                   files={"file": ("参加者.csv", ROSTER.read_bytes(), "text/csv")})
        assert r.status_code == 200 and "追加 65 名" in r.text, r.text[-2000:]
        event_id = int(r.text.split('href="/forum/')[1].split('"')[0])
        r = c.post(f"/forum/{event_id}/seat", data={"csrf_token": csrf, "rounds": "2", "table_size": "8", "seconds": "2"})
        assert r.status_code == 303
        page = c.get(f"/forum/{event_id}")  # building the plan alone takes seconds: the run is visible
        assert 'http-equiv="refresh"' in page.text and "<progress" in page.text
        for _ in range(120):
            page = c.get(f"/forum/{event_id}")
            if "作成済み" in page.text:
                break
            time.sleep(0.5)
        assert "作成済み" in page.text and "座席表を開いて印刷" in page.text
        chart = c.get(f"/forum/{event_id}/chart")
        assert chart.status_code == 200 and "第 2 ラウンド" in chart.text and "/forum-chart.css" in chart.text
        assert "<style>" not in chart.text  # the desk's CSP forbids inline style
        assert c.get("/forum-chart.css").headers["content-type"].startswith("text/css")
        bad = c.post(f"/forum/{event_id}/seat", data={"csrf_token": csrf, "rounds": "99"})
        assert bad.status_code == 422 and "ラウンド" in bad.text
        c.cookies.clear()
        assert c.get(f"/forum/{event_id}").status_code == 303  # not for anonymous visitors
