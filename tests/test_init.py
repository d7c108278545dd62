"""What importing the package sets for the native libraries it loads."""

import os
import subprocess
import sys

from tests.support import ROOT


def _omp_policy(env: dict[str, str]) -> str:
    code = "import matcher, os; print(os.environ.get('OMP_WAIT_POLICY'))"
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_openmp_threads_wait_passively_unless_the_operator_chose_otherwise():
    """Spinning OpenMP threads took the second core from the steps of a shortlist after each
    FAISS call; the package asks for passive waiting before FAISS loads libgomp."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert _omp_policy(env) == "PASSIVE"
    assert _omp_policy({**env, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"
