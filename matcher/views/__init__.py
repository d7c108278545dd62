"""How the engine is shown at its edges: the JSON of the CLI, the API's response models (in
OpenAPI), spreadsheets and printed reports — all built here, from the typed objects, at the last
moment; nothing inside the engine passes them around. Optional blocks (``org`` or ``seed`` on a
candidate, ``need`` / ``seed`` / ``org`` on a shortlist) are left out rather than set to null, so
dump them with ``exclude_unset=True`` (``as_json`` does).
"""

from __future__ import annotations

from matcher.labels import ranker_ja
from matcher.views.common import as_json
from matcher.views.groups import *  # noqa: F403
from matcher.views.people import *  # noqa: F403
from matcher.views.proposals import *  # noqa: F403
from matcher.views.reports import CHART_CSP, forum_chart_css, print_pdf, render_forum_chart
from matcher.views.shortlists import *  # noqa: F403
from matcher.views.suggestions import *  # noqa: F403

__all__ = ["CHART_CSP", "as_json", "forum_chart_css", "print_pdf", "ranker_ja", "render_forum_chart"]
