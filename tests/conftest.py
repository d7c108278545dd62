"""Shared fixtures. The embedder is built by the set-up (make test); a missing one fails loudly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "corpora"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture()
def settings(tmp_path, monkeypatch):
    """Fresh settings on a temporary data directory (what a fresh MATCHER_DATA_DIR gives)."""
    from matcher import config

    monkeypatch.setenv("MATCHER_DATA_DIR", str(tmp_path / "data"))
    config.get_settings.cache_clear()
    s = config.get_settings()
    s.ensure_dirs()
    yield s
    config.get_settings.cache_clear()


@pytest.fixture(scope="session")
def embedder():
    from matcher.config import Settings
    from matcher.embed import Embedder

    s = Settings()
    return Embedder(s.embedder_path, batch_size=s.embed_batch_size)
