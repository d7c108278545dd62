import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import CORPORA

MATCHER = str(Path(sys.executable).parent / "matcher")


@pytest.mark.slow  # runs the command in a subprocess or loads the embedder
def test_eval_tagging_cross_validates_the_learned_tagger_beside_todays():
    proc = subprocess.run([MATCHER, "eval", "tagging", "--examples", str(CORPORA / "jsic" / "examples_mfg_train.tsv"),
                           "--limit", "300", "--folds", "3", "--json"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) >= {"top1", "top5", "folds", "descriptions_only", "baseline"} and out["folds"] == 3
    assert out["top5"] >= out["top1"] and out["top1"] > out["baseline"]["top1"]
    # Learning from the examples is not worse than the descriptions alone (on a 300-phrase sample
    # a code keeps fewer examples per fold than in the full run, so allow sampling noise).
    assert out["top5"] >= out["descriptions_only"]["top5"] - 0.03
