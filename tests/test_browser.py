"""A coordinator in a real browser (Playwright driving Debian's Chromium)."""

import os
import shutil
from pathlib import Path

import pytest
from sqlmodel import select

from matcher.store.db import session_scope
from matcher.store.tables import Decision
from tests.conftest import ROOT

CHROMIUM = os.environ.get("MATCHER_CHROMIUM", "/usr/bin/chromium")
OUTPUT = ROOT / "test-output" / "browser"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        reason = f"NO CHROMIUM at {CHROMIUM}: the browser test did NOT run (make test installs Debian's chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def test_coordinator_accepts_and_rejects_in_the_browser(browser, live_server):
    OUTPUT.mkdir(parents=True, exist_ok=True)
    url = live_server["url"]
    page = browser.new_page(viewport={"width": 390, "height": 844})  # phone width
    page.goto(f"{url}/login")
    page.fill("input[name=email]", "coord@example.jp")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/needs")
    assert "開発ニーズ・案件" in page.content()

    page.fill("input[name=q]", "チャンバ")
    page.click(".search button")
    page.click("text=HN001")
    page.click("text=候補リストを作成")
    page.wait_for_selector("ol.shortlist li")
    page.screenshot(path=str(OUTPUT / "shortlist_phone.png"), full_page=True)

    cards = page.locator("ol.shortlist li")
    first_id = int(cards.nth(0).get_attribute("data-suggestion"))
    second_id = int(cards.nth(1).get_attribute("data-suggestion"))
    cards.nth(0).locator("button.accept").click()
    page.wait_for_selector(f"#s{first_id} .decided.accept")
    second = page.locator(f"#s{second_id}")
    second.locator("select[name=reason]").select_option("distance")
    second.locator("button.reject").click()
    page.wait_for_selector(f"#s{second_id} .decided.reject")
    assert "却下（距離）" in page.locator(f"#s{second_id}").inner_text()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(OUTPUT / "shortlist_desktop.png"), full_page=True)

    with session_scope(live_server["engine"]) as s:
        decided = {d.suggestion_id: d for d in s.exec(select(Decision).where(
            Decision.suggestion_id.in_([first_id, second_id])))}
    assert decided[first_id].verdict == "accept" and decided[first_id].coordinator == "coord@example.jp"
    assert decided[second_id].verdict == "reject" and decided[second_id].reason == "distance"
    page.close()
