"""Printed reports: the forum's A4 seating chart (HTML with print CSS) and its PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matcher.dates import format_jst
from matcher.errors import NotReady
from matcher.services.forum import ForumChart


def forum_chart_css() -> str:
    from importlib.resources import files

    return files("matcher").joinpath("templates/forum_chart.css").read_text(encoding="utf-8")


def render_forum_chart(chart: ForumChart, stylesheet_href: str | None = None) -> str:
    """The A4 seating chart: one page per round, then each person's itinerary. A file or PDF
    carries its style inline; the desk links the same stylesheet (its CSP forbids inline style)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("matcher", "templates"), autoescape=select_autoescape(["html"]))
    env.filters["jst"] = lambda dt: format_jst(dt, time=False)
    return env.get_template("forum_chart.html").render(chart=chart, stylesheet_href=stylesheet_href, csp=CHART_CSP,
                                                       inline_css=None if stylesheet_href else forum_chart_css())


CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


CHART_CSP = "default-src 'none'; script-src 'none'; style-src 'self' 'unsafe-inline'; img-src data:; font-src data:; " \
            "connect-src 'none'; form-action 'none'; base-uri 'none'; frame-src 'none'; object-src 'none'"


def print_pdf(html: str, pdf_file: Path, timeout_s: float = 120.0) -> dict[str, Any]:
    """Print HTML to an A4 PDF with headless Chromium (the engine the desk's users print with),
    driven by Playwright: JavaScript disabled, the network offline, the page loaded from memory
    (no file:// origin), and Chromium's sandbox on whenever this process is not root (Chromium
    refuses its sandbox to root; then it says so in the log and in the result). A missing
    browser is an error that says so, never a silently skipped PDF."""
    import logging
    import os
    import shutil

    browser = next((b for b in (shutil.which(c) for c in CHROMIUM) if b), None)
    if browser is None:
        raise NotReady("PDF の作成には Chromium が必要です（HTML は作成済みです）",
                       "printing the PDF needs Chromium (apt-get install chromium); the HTML was written")
    sandbox = os.geteuid() != 0
    if not sandbox:
        logging.getLogger("matcher").warning("printing the chart with Chromium's sandbox off (running as root)")
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as pw:
            chrome = pw.chromium.launch(executable_path=browser, chromium_sandbox=sandbox,
                                        args=[] if sandbox else ["--no-sandbox"], timeout=timeout_s * 1000)
            try:
                context = chrome.new_context(java_script_enabled=False, offline=True, service_workers="block",
                                             accept_downloads=False)
                page = context.new_page()
                page.set_content(html, wait_until="load", timeout=timeout_s * 1000)
                pdf_file.write_bytes(page.pdf(format="A4", print_background=True, prefer_css_page_size=True))
            finally:
                chrome.close()
    except PlaywrightError as exc:
        raise NotReady("PDF を作成できませんでした", f"chromium failed to print the PDF: {str(exc)[-500:]}") from exc
    if not pdf_file.exists() or pdf_file.stat().st_size == 0:
        raise NotReady("PDF を作成できませんでした", "chromium wrote no PDF")
    return {"sandbox": sandbox, "javascript": False, "network": False}
