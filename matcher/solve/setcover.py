"""Weighted set cover, exactly (OR-Tools CP-SAT), with the standard OR-Library file format.

The joint-order group problem is a set cover with extras (scores, affinities, a size limit), so
the plain problem is solved by the same engine and can be checked on the instances the
literature uses (Beasley's OR-Library ``scp*`` files): first line ``rows columns``, then the
``columns`` costs, then for each row the number of columns covering it followed by their 1-based
indices, all whitespace-separated over any number of lines.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from matcher.errors import FileError, InvalidInput
from matcher.solve.result import Solution


@dataclass(frozen=True)
class SetCoverInstance:
    costs: tuple[int, ...]  # per column
    rows: tuple[tuple[int, ...], ...]  # per row: the 0-based columns that cover it

    @property
    def n_columns(self) -> int:
        return len(self.costs)


MAX_SIZE = 10_000_000  # numbers in one file: bounded memory whatever the header claims
MAX_COST = 10**9  # per column: the sum of every cost stays far inside CP-SAT's int64
MAX_DIGITS = 10


_TOKEN = re.compile(r"\S+")


def _tokens(path: Path, file: str, chunk: int = 1 << 16) -> Iterator[tuple[int, str]]:
    """(line number, token), read in 64 KiB chunks: memory holds one chunk, never the file nor
    even one of its lines (a token cut by a chunk's end is carried into the next)."""
    line_no, carry = 1, ""
    try:
        with Path(path).open(encoding="ascii", newline="") as fh:
            while block := fh.read(chunk):
                text, carry = carry + block, ""
                pos = 0
                for m in _TOKEN.finditer(text):
                    line_no += text.count("\n", pos, m.start())
                    pos = m.start()
                    if m.end() == len(text) and len(block) == chunk:
                        carry = m.group()  # may continue in the next chunk
                        if len(carry) > MAX_DIGITS + 1:
                            yield line_no, carry  # too long to be a number: take() names it
                            return
                        break
                    yield line_no, m.group()
                else:
                    line_no += text.count("\n", pos)
                    continue
                line_no += text.count("\n", pos, len(text) - len(carry))
            if carry:
                yield line_no, carry
    except (OSError, UnicodeDecodeError) as exc:
        raise FileError(file, "ファイルを読めません（OR-Library 形式の数値テキストが必要です）",
                        f"cannot read the file as OR-Library text: {exc}") from exc


def read_orlib(path: Path) -> SetCoverInstance:
    """Parse an OR-Library set-cover file as a stream; a malformed one names the line and what
    was expected. Numbers are read only as far as the header says (at most ``MAX_SIZE``), each
    at most ``MAX_DIGITS`` digits, costs at most ``MAX_COST``."""
    file = str(path)
    stream = _tokens(path, file)
    last = [1]

    def take(what: str, limit: int | None = None) -> int:
        found = next(stream, None)
        if found is None:
            raise FileError(file, f"{last[0]} 行目のあとに {what} が必要ですが、ファイルが終わっています",
                            f"line {last[0]}: file ends where {what} was expected")
        line_no, tok = found
        last[0] = line_no
        if not tok.isascii() or not tok.isdigit():
            raise FileError(file, f"{line_no} 行目: {what} は 0 以上の整数が必要です（「{tok[:20]}」）",
                            f"line {line_no}: expected {what} (a non-negative integer), got {tok[:20]!r}")
        if len(tok) > MAX_DIGITS or (limit is not None and int(tok) > limit):
            raise FileError(file, f"{line_no} 行目: {what} が大きすぎます（上限 {limit or 10**MAX_DIGITS - 1:,}）",
                            f"line {line_no}: {what} is too large ({tok[:20]}…)")
        return int(tok)

    n_rows, n_cols = take("行数 (rows)"), take("列数 (columns)")
    if n_rows < 1 or n_cols < 1 or n_rows * 2 + n_cols > MAX_SIZE:
        raise FileError(file, f"1 行目の行数・列数が正しくありません（合わせて {MAX_SIZE:,} 個の数値まで）",
                        f"line 1: bad sizes {n_rows} rows × {n_cols} columns (at most {MAX_SIZE:,} numbers)")
    costs = tuple(take(f"列 {j + 1} のコスト (cost of column {j + 1})", MAX_COST) for j in range(n_cols))
    rows = []
    budget = MAX_SIZE - n_cols - 2
    for i in range(n_rows):
        k = take(f"行 {i + 1} を覆う列の数 (number of columns covering row {i + 1})")
        if not 1 <= k <= n_cols:
            raise FileError(file, f"{last[0]} 行目: 行 {i + 1} を覆う列の数 {k} が範囲外です",
                            f"line {last[0]}: row {i + 1} is covered by {k} columns (1..{n_cols} expected)")
        budget -= k + 1
        if budget < 0:
            raise FileError(file, "ファイルが大きすぎます", f"more than {MAX_SIZE:,} numbers")
        cols = []
        for _ in range(k):
            c = take(f"行 {i + 1} を覆う列番号 (a column index for row {i + 1})")
            if not 1 <= c <= n_cols:
                raise FileError(file, f"{last[0]} 行目: 列番号 {c} が範囲外です（1〜{n_cols}）",
                                f"line {last[0]}: column {c} out of range 1..{n_cols}")
            cols.append(c - 1)
        rows.append(tuple(sorted(set(cols))))
    extra = next(stream, None)
    if extra is not None:
        raise FileError(file, f"{extra[0]} 行目: 余分な数値があります", f"line {extra[0]}: unexpected extra data")
    return SetCoverInstance(costs, tuple(rows))


def solve(inst: SetCoverInstance, time_limit_s: float = 60.0, seed: int = 0, workers: int = 8) -> Solution[tuple[int, ...]]:
    """Minimum-cost cover by CP-SAT (the chosen 0-based columns): optimal when proven within the
    time, else the best found with its lower bound."""
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{j}") for j in range(inst.n_columns)]
    for row in inst.rows:
        model.add_bool_or([x[j] for j in row])
    model.minimize(sum(c * x[j] for j, c in enumerate(inst.costs)))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.random_seed = seed
    # A portfolio of workers (time-shared on small machines) includes the LP-based ones whose
    # bound proves optimality on set cover; full linearisation makes that bound tight.
    solver.parameters.num_workers = workers
    solver.parameters.linearization_level = 2
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        raise InvalidInput("すべての行を覆う列の組み合わせはありません", "the instance has no cover")
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise InvalidInput(f"{time_limit_s:g} 秒以内に解が見つかりませんでした（時間を延ばしてください）",
                           f"no cover found in {time_limit_s} s (status {solver.status_name(status)})")
    chosen = tuple(j for j in range(inst.n_columns) if solver.value(x[j]))
    return Solution(value=chosen, status="optimal" if status == cp_model.OPTIMAL else "feasible",
                    objective=int(round(solver.objective_value)), bound=float(solver.best_objective_bound),
                    seconds=time.perf_counter() - started, seed=seed, sense="min")


def greedy_set_cover(inst: SetCoverInstance) -> Solution[tuple[int, ...]]:
    """Chvátal's greedy (cost per newly covered row), then redundant columns dropped: the
    baseline the exact solver is measured against."""
    started = time.perf_counter()
    covers: dict[int, set[int]] = {}
    for i, row in enumerate(inst.rows):
        for j in row:
            covers.setdefault(j, set()).add(i)
    uncovered = set(range(len(inst.rows)))
    chosen: list[int] = []
    while uncovered:
        j = min((j for j in covers if covers[j] & uncovered),
                key=lambda j: (inst.costs[j] / len(covers[j] & uncovered), j))
        chosen.append(j)
        uncovered -= covers[j]
    for j in sorted(chosen, key=lambda j: -inst.costs[j]):
        rest = [c for c in chosen if c != j]
        if all(any(c in rest for c in row) for row in inst.rows):
            chosen = rest
    cols = tuple(sorted(chosen))
    return Solution(value=cols, status="feasible", objective=sum(inst.costs[j] for j in cols), bound=None,
                    seconds=time.perf_counter() - started, sense="min")
