"""The maximally diverse grouping problem (MDGP) — the one-round case of forum seating without
rules — read from an MDGPLIB file and solved by the same kernel, so the seating search can be
measured against the literature's best-known values.

MDGPLIB format: line 1 ``n m ss|ds a_1 b_1 … a_m b_m`` (elements, groups, equal or different
sizes, each group's lower and upper size); then ``i j d`` lines (0-based). Objective (maximise):
the sum of d_ij over pairs in the same group, in the file's units.
"""

from __future__ import annotations

import gzip
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matcher.errors import FileError
from matcher.solve.result import Solution
from matcher.solve.seating import descent, kernel
from matcher.solve.seating.instance import MAX_FILE_BYTES, MAX_PEOPLE, MAX_TABLES
from matcher.solve.seating.search import EVALS_PER_SECOND, hard_limit_s, run


@dataclass(frozen=True)
class MdgpInstance:
    name: str
    lo: np.ndarray  # int64 [m]
    hi: np.ndarray  # int64 [m]
    d: np.ndarray  # float64 [n, n], symmetric, zero diagonal
    kind: str  # "ss" or "ds"

    @property
    def n(self) -> int:
        return int(self.d.shape[0])


@dataclass(frozen=True)
class Grouping:
    groups: tuple[int, ...]  # element → group
    evaluations: int
    iterations: int


def _fail(path: Path, line: int, ja: str, en: str) -> FileError:
    return FileError(str(path), f"{line} 行目: {ja}", f"line {line}: {en}")


def read_mdgplib(path: Path) -> MdgpInstance:
    """Read with bounds (file size, n, m, every number finite, sizes that can hold n, every pair
    given once); a malformed line is named by its number."""
    path = Path(path)
    raw = path.read_bytes() if path.stat().st_size <= MAX_FILE_BYTES else None
    if raw is None:
        raise FileError(str(path), f"ファイルが大きすぎます（{MAX_FILE_BYTES // 2**20} MB まで）", "file too large")
    if raw[:2] == b"\x1f\x8b":
        with gzip.open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise FileError(str(path), "展開後のファイルが大きすぎます", "file too large once decompressed")
    try:
        lines = raw.decode("ascii").split("\n")
    except UnicodeDecodeError as exc:
        raise FileError(str(path), "MDGPLIB 形式（数字と空白）ではありません", f"not an MDGPLIB file: {exc}") from exc
    head = lines[0].split()
    try:
        n, m, kind = int(head[0]), int(head[1]), head[2]
    except (IndexError, ValueError):
        raise _fail(path, 1, "「n m ss|ds a1 b1 …」で始めてください", "header must be `n m ss|ds a1 b1 …`") from None
    if not (2 <= n <= MAX_PEOPLE and 1 <= m <= min(n, MAX_TABLES)) or kind not in ("ss", "ds"):
        raise _fail(path, 1, f"n は 2〜{MAX_PEOPLE}、m は 1〜n、種類は ss か ds です", f"bad header {lines[0][:80]!r}")
    try:
        sizes = [int(v) for v in head[3:3 + 2 * m]]
    except ValueError:
        raise _fail(path, 1, "グループの大きさは整数です", "group sizes must be integers") from None
    if len(sizes) != 2 * m:
        raise _fail(path, 1, f"グループの大きさが {m} 組必要です", f"expected {m} (lower, upper) pairs")
    lo, hi = np.array(sizes[0::2], dtype=np.int64), np.array(sizes[1::2], dtype=np.int64)
    if (lo < 1).any() or (hi < lo).any() or lo.sum() > n or hi.sum() < n:
        raise _fail(path, 1, "グループの大きさの範囲で n 人を分けられません", "group sizes cannot hold n elements")
    d = np.zeros((n, n), dtype=np.float64)
    seen = np.zeros((n, n), dtype=bool)
    count = 0
    for k, line in enumerate(lines[1:], start=2):
        parts = line.split()
        if not parts:
            continue
        try:
            i, j, v = int(parts[0]), int(parts[1]), float(parts[2])
        except (IndexError, ValueError):
            raise _fail(path, k, "「i j d」の形ではありません", f"expected `i j d`, got {line[:60]!r}") from None
        if len(parts) != 3 or not (0 <= i < n and 0 <= j < n) or i == j or not math.isfinite(v) or abs(v) > 1e12:
            raise _fail(path, k, "番号は 0〜n−1 の異なる二つ、値は有限の数です", f"bad pair line {line[:60]!r}")
        if seen[i, j]:
            raise _fail(path, k, f"組 ({i}, {j}) が二度あります", f"pair ({i}, {j}) given twice")
        seen[i, j] = seen[j, i] = True
        d[i, j] = d[j, i] = v
        count += 1
    if count != n * (n - 1) // 2:
        raise FileError(str(path), f"組の数が {count:,} です（{n * (n - 1) // 2:,} 必要）",
                        f"{count:,} pairs, expected {n * (n - 1) // 2:,}")
    return MdgpInstance(path.name.split(".")[0], lo, hi, d, kind)


def mdgp_objective(inst: MdgpInstance, groups) -> float:
    g = np.asarray(groups)
    same = g[:, None] == g[None, :]
    return float(np.triu(np.where(same, inst.d, 0.0), 1).sum())


def arrays(inst: MdgpInstance) -> kernel.GroupingArrays:
    n = inst.n
    return kernel.GroupingArrays(W=inst.d, C=np.zeros((n, n), dtype=np.uint8), company=np.zeros(n, dtype=np.uint8),
                                 mix=False, lo=inst.lo, hi=inst.hi, fixed=np.full(n, -1, dtype=np.int64), rounds=1,
                                 norepeat=False)


def solve_mdgp(inst: MdgpInstance, time_limit_s: float = 3.0, seed: int = 0,
               progress: Callable[[float, int, float], None] | None = None,
               wall_stop: bool = True) -> Solution[Grouping]:
    """The seating search on an MDGP instance: every group within its sizes, objective in the
    file's units; the budget in evaluated moves as for seating (``truncated`` past the hard limit).

    ``wall_stop=False`` drops the wall-clock safety stop, for callers that judge the quality of a
    given budget (a test on a loaded machine) rather than the time it takes."""
    started = time.perf_counter()
    descent.warm()
    budget = max(1, round(time_limit_s * EVALS_PER_SECOND))
    deadline = time.perf_counter() + hard_limit_s(time_limit_s) if wall_stop else float("inf")
    found = run(arrays(inst), budget, seed, deadline,
                None if progress is None else (lambda s, o, f: progress(s, round(o, 2), f)))
    groups = tuple(int(t) for t in found.seats[0])
    sizes = np.bincount(found.seats[0], minlength=len(inst.lo))
    assert ((sizes >= inst.lo) & (sizes <= inst.hi)).all(), "group sizes broken"
    return Solution(value=Grouping(groups, found.evaluations, found.iterations),
                    status="truncated" if found.truncated else "feasible",
                    objective=mdgp_objective(inst, groups), bound=None, seconds=time.perf_counter() - started,
                    seed=seed)
