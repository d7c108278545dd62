"""Hino matchmaking engine: Japanese text → embeddings → FAISS/BM25 → ranked partner suggestions."""

__version__ = "0.1.0"
