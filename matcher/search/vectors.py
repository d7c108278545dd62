"""Document vectors kept in the store, so that any machine builds an index version from them.

The index sync reads the vectors of what it re-indexes from here and embeds only what is missing;
embedding workers (``services.jobs``) write here. Rows are keyed by what a vector is comparable
under (model id, prompt) and the text's content hash, so the same text is never stored twice,
and a chunk embedded twice (a worker that died after writing) changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import Engine
from sqlmodel import select

from matcher.store.db import session_scope
from matcher.store.tables import StoredVector

BATCH = 500  # hashes per IN (…) query and rows per insert


class StoredVectors:
    """float16 vectors in the ``storedvector`` table, read back as float32."""

    def __init__(self, engine: Engine, prompt: str = "passage") -> None:
        self.engine, self.prompt = engine, prompt

    def get_many(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        with session_scope(self.engine) as s:
            for start in range(0, len(unique), BATCH):
                chunk = unique[start:start + BATCH]
                rows = s.exec(select(StoredVector.content_hash, StoredVector.vector).where(
                    StoredVector.model == model, StoredVector.prompt == self.prompt,
                    StoredVector.content_hash.in_(chunk))).all()
                for h, blob in rows:
                    found[h] = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
        return found

    def missing(self, model: str, hashes: Sequence[str]) -> list[str]:
        """The hashes (in first-seen order, once each) that have no stored vector."""
        unique = list(dict.fromkeys(hashes))
        have: set[str] = set()
        with session_scope(self.engine) as s:
            for start in range(0, len(unique), BATCH):
                chunk = unique[start:start + BATCH]
                have.update(s.exec(select(StoredVector.content_hash).where(
                    StoredVector.model == model, StoredVector.prompt == self.prompt,
                    StoredVector.content_hash.in_(chunk))).all())
        return [h for h in unique if h not in have]

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> int:
        """Store vectors; a hash already stored keeps its row (same model, same text: the same
        vector). Returns the rows written."""
        if not items:
            return 0
        from matcher.dates import utcnow

        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        now, written = utcnow(), 0
        rows = [{"model": model, "prompt": self.prompt, "content_hash": h,
                 "vector": np.asarray(v, dtype=np.float16).tobytes(), "created_at": now} for h, v in items.items()]
        with session_scope(self.engine) as s:
            for start in range(0, len(rows), BATCH):
                stmt = insert(StoredVector).values(rows[start:start + BATCH]).on_conflict_do_nothing(
                    index_elements=["model", "prompt", "content_hash"]).returning(StoredVector.content_hash)
                written += len(s.exec(stmt).all())
        return written

    def count(self, model: str) -> int:
        from sqlalchemy import func

        with session_scope(self.engine) as s:
            return s.exec(select(func.count()).select_from(StoredVector).where(
                StoredVector.model == model, StoredVector.prompt == self.prompt)).one()

