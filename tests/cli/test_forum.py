"""Forum events in the store: participant import, seating from the scored graph, re-seating after
cancellations, the printed chart, the CLI and the desk page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import ROSTER

MATCHER = str(Path(sys.executable).parent / "matcher")


def test_forum_commands(demo_copy, tmp_path):
    env = {**os.environ, "MATCHER_DATA_DIR": str(demo_copy.data_dir), "HF_HUB_OFFLINE": "1"}

    def run(*args: str) -> dict:
        proc = subprocess.run([MATCHER, *args, "--json"], capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    imported = run("forum", "import", str(ROSTER), "--event", "CLIフォーラム")
    seated = run("forum", "seat", "--event", str(imported["event_id"]), "--rounds", "2", "--table-size", "6",
                 "--seconds", "1")
    assert seated["violations"] == 0 and seated["participants"] == 65 and len(seated["rounds"]) == 2
    pid = next(iter(seated["rounds"][0]))
    cancelled = run("forum", "cancel", "--event", "CLIフォーラム", pid)
    assert pid not in cancelled["rounds"][0] and cancelled["violations"] == 0
    chart = run("forum", "chart", "--event", "CLIフォーラム", "--out", str(tmp_path), "--no-pdf")
    assert Path(chart["html"]).exists() and chart["pdf"] is None and chart["participants"] == 64
    proc = subprocess.run([MATCHER, "forum", "seat", "--event", "ないフォーラム", "--json"], capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 2 and "ないフォーラム" in proc.stderr and proc.stdout == ""
