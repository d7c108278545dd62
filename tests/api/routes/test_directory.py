"""The public directory page keeps every filter when a process tag is clicked."""

import html
import re


def test_a_tag_link_keeps_the_words_and_the_other_filters(desk):
    page = desk["client"].get("/directory", params={"q": "すてんれす", "city": "日野市", "size": ""})
    assert page.status_code == 200
    links = [html.unescape(h) for h in re.findall(r'<a class="tag" href="([^"]+)"', page.text)]
    assert links and all("q=%E3%81%99%E3%81%A6%E3%82%93%E3%82%8C%E3%81%99" in h and "city=%E6%97%A5%E9%87%8E%E5%B8%82" in h
                         and "process=" in h for h in links)
