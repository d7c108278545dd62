"""The ``matcher`` console command: a thin shell over the library, one module per noun.

Every reporting command takes ``--json`` and then prints exactly one JSON object on stdout;
progress bars and logs go to stderr. ``matcher.cli.common`` holds the root app and what every
command shares; each noun's module registers its commands on it.
"""

from __future__ import annotations

import sys

from matcher.cli import (  # noqa: F401 — each module registers its commands on the app
    demo,
    digest,
    eval,
    forum,
    groups,
    index,
    ingest,
    kpi,
    models,
    people,
    shortlist,
    users,
)
from matcher.cli.common import app, err
from matcher.errors import MatcherError


def main() -> None:
    """Entry point: domain errors become one clear line and exit code 2; anything else is a bug
    and raises with its traceback."""
    try:
        app()
    except MatcherError as exc:
        from rich.markup import escape

        # The message is data (it may quote "[id_a, id_b, 整数]" or a file's text): never markup.
        err.print(f"[red]エラー / error:[/red] {escape(str(exc))}", markup=True, highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
