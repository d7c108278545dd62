"""Embedding, vector and BM25 indexes, hybrid retrieval, and keeping indexes in step with the store."""
