"""The printed forum chart: the page carries a CSP that allows no script, network or file, and the
browser that prints it runs no JavaScript and reaches no network, whatever a name contains."""

from __future__ import annotations

import http.server
import os
import re
import shutil
import threading

import pytest


def _chromium_or_skip() -> None:
    if shutil.which("chromium") is None:
        message = "chromium missing: the PDF printing is NOT tested (make browser installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_the_chart_page_allows_no_script_network_or_file(own_demo):
    from matcher.services import forum
    from matcher.views import CHART_CSP, render_forum_chart
    from tests.support import CORPORA

    event = forum.import_participants(own_demo.engine, CORPORA / "demo" / "forum_participants.csv", "CSP テスト").event_id
    forum.seat_event(own_demo, event, rounds=1, table_size=8, seconds=0.3)
    html = render_forum_chart(forum.forum_chart(own_demo.engine, event))
    assert f'<meta http-equiv="Content-Security-Policy" content="{CHART_CSP}">' in html.replace("&#39;", "'")
    for directive in ("default-src 'none'", "script-src 'none'", "connect-src 'none'", "img-src data:"):
        assert directive in CHART_CSP


def test_printing_runs_no_javascript_and_fetches_nothing(tmp_path):
    """A page (as if escaping had failed) with a script that would add 40 pages and an image on a
    local server: the PDF has one page and the server is never asked."""
    from matcher.views import CHART_CSP, print_pdf

    _chromium_or_skip()
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        for csp in (CHART_CSP, None):  # the browser's own settings hold even without the page's CSP
            meta = f'<meta http-equiv="Content-Security-Policy" content="{csp}">' if csp else ""
            page = (f"<!doctype html><html><head><meta charset='utf-8'>{meta}</head><body><p>座席表</p>"
                    f"<img src='http://127.0.0.1:{port}/img'><link rel='stylesheet' href='http://127.0.0.1:{port}/css'>"
                    "<script>for (let i = 0; i < 40; i++) { const d = document.createElement('div');"
                    " d.style.breakBefore = 'page'; d.textContent = 'JS ' + i; document.body.appendChild(d); }</script>"
                    "</body></html>")
            target = tmp_path / f"page-{bool(csp)}.pdf"
            result = print_pdf(page, target)
            pdf = target.read_bytes()
            pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))  # 41 when the script runs
            assert pdf.startswith(b"%PDF") and pages == 1, f"the script ran ({pages} pages)"
            assert result["javascript"] is False and result["network"] is False
            assert result["sandbox"] is (os.geteuid() != 0)
        assert hits == []
    finally:
        server.shutdown()
