"""The layer order of the flow, as written in pyproject.toml, holds (import-linter)."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT


def test_import_contracts_are_kept():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is not installed (it is a dev dependency: make test installs it)"
    proc = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in proc.stdout


def test_the_engine_never_imports_the_web_layer_even_lazily():
    """import-linter sees function-level imports too; this also fails on a dynamic import."""
    code = "import sys, matcher.cli, matcher.services.shortlists; sys.exit(any(m == 'api' or m.startswith('api.') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=120).returncode == 0
