"""Hino matchmaking engine: Japanese text → embeddings → FAISS/BM25 → ranked partner suggestions."""

__version__ = "0.1.0"

import os as _os

# FAISS (and the OpenBLAS it bundles) runs on OpenMP, whose threads by default spin for a while
# after each parallel region. A shortlist is a chain of sub-millisecond steps on two cores: the
# spinning thread took the core the next step needed (retrieval p95 at 1M documents 25.9 ms
# spinning, 18.5 ms passive, scripts/bench_scale.py). Read once, when libgomp loads; a value
# set by the operator wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
