"""Forum seating (産業人フォーラム): tables over several rounds so that the right people meet.

Objective: the sum of pair affinity over the pairs that share a table in some round. Hard rules:
everyone seated in every round, table capacity, at most one person per organisation at a table,
no pair at the same table in two rounds, conflict pairs never together, fixed seats (a host stays
at the table in every round). The solver is a tabu search over swap and move moves with
incremental (delta) evaluation, from a feasible constructive start, restarted from perturbed
bests until the time budget ends; the same seed gives the same seating. CP-SAT solves tiny
instances exactly, as a check. The upper bound gives each person their best
rounds × (largest table − 1) positive affinities, halved (each pair counted once).
"""

from __future__ import annotations

import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.errors import FileError, InvalidInput


@dataclass(frozen=True)
class SeatingInstance:
    rounds: int
    tables: tuple[tuple[str, int], ...]  # (id, capacity)
    people: tuple[tuple[str, str, str], ...]  # (id, org, kind)
    affinity: dict[tuple[int, int], int]  # person index pair (a < b) → integer
    conflicts: frozenset[tuple[int, int]]  # person index pairs (a < b)
    fixed: dict[int, int]  # person index → table index


@dataclass(frozen=True)
class Seating:
    rounds: tuple[tuple[int, ...], ...]  # round → person index → table index
    objective: int
    upper_bound: int
    seconds: float
    iterations: int = 0
    truncated: bool = False  # stopped by the hard wall-clock limit before its iteration budget

    def as_json(self, inst: SeatingInstance) -> dict[str, Any]:
        return {"objective": self.objective, "upper_bound": self.upper_bound,
                "gap": round((self.upper_bound - self.objective) / max(self.upper_bound, 1), 4),
                "rounds": [{inst.people[p][0]: inst.tables[t][0] for p, t in enumerate(r)} for r in self.rounds],
                "violations": len(violations(inst, self.rounds)), "seconds": round(self.seconds, 3),
                "iterations": self.iterations, "truncated": self.truncated}


def _bad(ja: str, en: str) -> InvalidInput:
    return InvalidInput(ja, en)


# What one instance may hold, checked before any work (a forum is hundreds of people, not millions).
MAX_PEOPLE = 2000
MAX_TABLES = 500
MAX_ROUNDS = 20
MAX_CAPACITY = 100
MAX_AFFINITY = 10**9  # per pair; sums over a seating stay exact in 64 bits
MAX_PAIRS = 2_000_000  # affinity and conflict entries each
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_NUMBER_DIGITS = 12


def _list(doc: dict, key: str, limit: int) -> list:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(f"{key} は配列（[...]）で指定してください", f"{key} must be a list, got {type(value).__name__}")
    if len(value) > limit:
        raise _bad(f"{key} が多すぎます（{len(value):,} 件、上限 {limit:,} 件）", f"{key}: {len(value):,} entries (at most {limit:,})")
    return value


def _obj(item: Any, where: str) -> dict:
    if not isinstance(item, dict):
        raise _bad(f"{where} はオブジェクト（{{...}}）で指定してください", f"{where} must be an object, got {type(item).__name__}")
    return item


def _ident(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip() or len(str(value)) > 200:
        raise _bad(f"{where} の id は 200 文字以内の文字列か整数です", f"{where}: id must be a string or integer (≤ 200 characters)")
    return str(value)


def parse_instance(doc: Any, source: str = "instance") -> SeatingInstance:
    """Validate a JSON instance before any work: shapes, sizes (people, tables, rounds, entries)
    and numbers are bounded, and every malformed item is named (which id, which list)."""
    if not isinstance(doc, dict):
        raise _bad("インスタンスは JSON オブジェクトです", "the instance must be a JSON object")
    rounds = doc.get("rounds")
    if not isinstance(rounds, int) or isinstance(rounds, bool) or not 1 <= rounds <= MAX_ROUNDS:
        raise _bad(f"rounds は 1〜{MAX_ROUNDS} の整数です", f"rounds must be an integer 1..{MAX_ROUNDS}, got {str(rounds)[:40]}")
    tables, table_ix = [], {}
    for i, t in enumerate(_list(doc, "tables", MAX_TABLES)):
        t = _obj(t, f"tables[{i}]")
        tid, cap = _ident(t.get("id"), f"tables[{i}]"), t.get("capacity")
        if tid in table_ix:
            raise _bad(f"テーブル「{tid}」が重複しています", f"duplicate table id {tid!r}")
        if not isinstance(cap, int) or isinstance(cap, bool) or not 1 <= cap <= MAX_CAPACITY:
            raise _bad(f"テーブル「{tid}」の定員が正しくありません（1〜{MAX_CAPACITY}）",
                       f"table {tid!r}: capacity must be 1..{MAX_CAPACITY}, got {str(cap)[:40]}")
        table_ix[tid] = len(tables)
        tables.append((tid, cap))
    people, person_ix = [], {}
    for i, p in enumerate(_list(doc, "participants", MAX_PEOPLE)):
        p = _obj(p, f"participants[{i}]")
        pid = _ident(p.get("id"), f"participants[{i}]")
        if pid in person_ix:
            raise _bad(f"参加者「{pid}」が重複しています", f"duplicate participant id {pid!r}")
        person_ix[pid] = len(people)
        people.append((pid, str(p.get("org") or pid)[:200], str(p.get("kind") or "company")[:20]))
    if not tables or not people:
        raise _bad("テーブルと参加者が必要です", "tables and participants are required")

    def person(x: Any, where: str) -> int:
        if isinstance(x, bool) or not isinstance(x, str | int) or str(x) not in person_ix:
            raise _bad(f"{where} の参加者「{str(x)[:40]}」が見つかりません", f"{where}: unknown participant {str(x)[:40]!r}")
        return person_ix[str(x)]

    affinity: dict[tuple[int, int], int] = {}
    for i, row in enumerate(_list(doc, "affinity", MAX_PAIRS)):
        if (not isinstance(row, list) or len(row) != 3 or not isinstance(row[2], int) or isinstance(row[2], bool)
                or abs(row[2]) > MAX_AFFINITY):
            raise _bad(f"affinity[{i}] は [id_a, id_b, 整数（絶対値 {MAX_AFFINITY:,} まで）] です",
                       f"affinity[{i}] must be [id_a, id_b, integer with |value| ≤ {MAX_AFFINITY:,}]")
        a, b = person(row[0], f"affinity[{i}]"), person(row[1], f"affinity[{i}]")
        if a != b:
            key = (min(a, b), max(a, b))
            affinity[key] = affinity.get(key, 0) + row[2]
    conflicts = set()
    for i, row in enumerate(_list(doc, "conflicts", MAX_PAIRS)):
        if not isinstance(row, list) or len(row) != 2:
            raise _bad(f"conflicts[{i}] は [id_a, id_b] です", f"conflicts[{i}] must be [id_a, id_b]")
        a, b = person(row[0], f"conflicts[{i}]"), person(row[1], f"conflicts[{i}]")
        if a != b:
            conflicts.add((min(a, b), max(a, b)))
    fixed: dict[int, int] = {}
    for i, f in enumerate(_list(doc, "fixed", MAX_PEOPLE)):
        f = _obj(f, f"fixed[{i}]")
        p = person(f.get("participant"), f"fixed[{i}]")
        t = str(f.get("table"))
        if t not in table_ix:
            raise _bad(f"fixed[{i}] のテーブル「{t[:40]}」が見つかりません", f"fixed[{i}]: unknown table {t[:40]!r}")
        fixed[p] = table_ix[t]
    inst = SeatingInstance(rounds, tuple(tables), tuple(people), affinity, frozenset(conflicts), fixed)
    check_feasible(inst)
    return inst


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number of {len(text)} digits (at most {MAX_NUMBER_DIGITS})")
    return int(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def read_instance(path: Path) -> SeatingInstance:
    """An instance file, read with bounds: its size, and every number (no NaN / Infinity, no
    5,000-digit integers) before anything is built."""
    try:
        size = Path(path).stat().st_size
        if size > MAX_FILE_BYTES:
            raise FileError(str(path), f"ファイルが大きすぎます（{MAX_FILE_BYTES // 2**20} MB まで）",
                            f"instance file larger than {MAX_FILE_BYTES:,} bytes")
        doc = json.loads(Path(path).read_text(encoding="utf-8-sig"), parse_int=_bounded_int,
                         parse_constant=_no_constant)
    except FileError:
        raise
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FileError(str(path), "JSON として読めません（数値は 12 桁以内の整数、NaN は使えません）",
                        f"cannot read the instance as JSON: {str(exc)[:200]}") from exc
    return parse_instance(doc, str(path))


def check_feasible(inst: SeatingInstance) -> None:
    """The infeasibilities that can be seen without searching, each explained."""
    seats = sum(c for _, c in inst.tables)
    if len(inst.people) > seats:
        raise _bad(f"参加者 {len(inst.people)} 名に対して席が {seats} 席しかありません",
                   f"{len(inst.people)} participants but only {seats} seats")
    if inst.rounds > 1:
        # From the second round on, a table can hold at most one person from each table of the
        # first round (anyone else would meet a table-mate twice).
        room = sum(min(c, len(inst.tables)) for _, c in inst.tables)
        if len(inst.people) > room:
            raise _bad(f"{inst.rounds} 回の席替えで同じ相手と二度同席しない配置は、参加者 {len(inst.people)} 名に対して"
                       f"テーブル {len(inst.tables)} 卓では作れません（テーブルを増やしてください）",
                       f"{len(inst.people)} participants cannot meet new people every round at {len(inst.tables)} "
                       f"tables (at most {room} seats per later round); add tables")
    at: dict[int, list[int]] = {}
    for p, t in inst.fixed.items():
        at.setdefault(t, []).append(p)
    for t, ps in at.items():
        name = inst.tables[t][0]
        if len(ps) > inst.tables[t][1]:
            raise _bad(f"テーブル「{name}」の固定席が定員を超えています", f"table {name!r}: more fixed seats than capacity")
        for a, b in itertools.combinations(sorted(ps), 2):
            pa, pb = inst.people[a][0], inst.people[b][0]
            if inst.people[a][1] == inst.people[b][1]:
                raise _bad(f"同じ組織の「{pa}」と「{pb}」が同じテーブル「{name}」に固定されています",
                           f"{pa!r} and {pb!r} (same organisation) are fixed at table {name!r}")
            if (a, b) in inst.conflicts:
                raise _bad(f"同席できない「{pa}」と「{pb}」が同じテーブル「{name}」に固定されています",
                           f"conflict pair {pa!r}, {pb!r} fixed at table {name!r}")
            if inst.rounds > 1:
                raise _bad(f"「{pa}」と「{pb}」が同じテーブル「{name}」に固定され、毎回同席になります",
                           f"{pa!r} and {pb!r} fixed at table {name!r} would meet in every round")


# -- evaluation -------------------------------------------------------------------------------------
def _aff(inst: SeatingInstance, a: int, b: int) -> int:
    return inst.affinity.get((a, b) if a < b else (b, a), 0)


def objective(inst: SeatingInstance, rounds: tuple[tuple[int, ...], ...] | list[list[int]]) -> int:
    total = 0
    for r in rounds:
        by_table: dict[int, list[int]] = {}
        for p, t in enumerate(r):
            by_table.setdefault(t, []).append(p)
        for members in by_table.values():
            total += sum(_aff(inst, a, b) for a, b in itertools.combinations(members, 2))
    return total


def violations(inst: SeatingInstance, rounds) -> list[str]:
    out, met = [], set()
    for ri, r in enumerate(rounds):
        if len(r) != len(inst.people):
            out.append(f"round {ri}: not everyone seated")
            continue
        by_table: dict[int, list[int]] = {}
        for p, t in enumerate(r):
            by_table.setdefault(t, []).append(p)
        for t, members in by_table.items():
            if len(members) > inst.tables[t][1]:
                out.append(f"round {ri}: table {inst.tables[t][0]} over capacity")
            orgs = [inst.people[p][1] for p in members]
            if len(orgs) != len(set(orgs)):
                out.append(f"round {ri}: table {inst.tables[t][0]} has two people of one organisation")
            for a, b in itertools.combinations(sorted(members), 2):
                if (a, b) in inst.conflicts:
                    out.append(f"round {ri}: conflict pair together")
                if (a, b) in met:
                    out.append(f"round {ri}: pair {a},{b} meets twice")
                met.add((a, b))
        for p, t in inst.fixed.items():
            if r[p] != t:
                out.append(f"round {ri}: fixed seat moved")
    return out


def upper_bound(inst: SeatingInstance) -> int:
    per_round = max(c for _, c in inst.tables) - 1
    best: dict[int, list[int]] = {}
    for (a, b), w in inst.affinity.items():
        if w > 0 and (a, b) not in inst.conflicts and inst.people[a][1] != inst.people[b][1]:
            best.setdefault(a, []).append(w)
            best.setdefault(b, []).append(w)
    return sum(sum(sorted(ws, reverse=True)[: inst.rounds * per_round]) for ws in best.values()) // 2


# -- search -----------------------------------------------------------------------------------------
class _State:
    """One round's seating with counts that make a move's feasibility and delta O(table size)."""

    def __init__(self, inst: SeatingInstance, seats: list[list[int]]) -> None:
        self.inst = inst
        self.seats = seats  # round → person → table
        self.members = [[set() for _ in inst.tables] for _ in seats]
        for r, row in enumerate(seats):
            for p, t in enumerate(row):
                if t >= 0:  # -1: not seated yet
                    self.members[r][t].add(p)
        self.met: dict[tuple[int, int], int] = {}
        for r in range(len(seats)):
            for t in range(len(inst.tables)):
                for a, b in itertools.combinations(sorted(self.members[r][t]), 2):
                    self.met[(a, b)] = self.met.get((a, b), 0) + 1

    def fits(self, r: int, p: int, t: int, leaving: int | None = None) -> bool:
        """Can p sit at table t in round r (with ``leaving`` gone from it)?"""
        inst = self.inst
        for q in self.members[r][t]:
            if q in (leaving, p):
                continue
            key = (p, q) if p < q else (q, p)
            if inst.people[q][1] == inst.people[p][1] or key in inst.conflicts or self.met.get(key, 0) > 0:
                return False
        return True

    def gain(self, r: int, p: int, t: int, leaving: int | None = None) -> int:
        return sum(_aff(self.inst, p, q) for q in self.members[r][t] if q not in (p, leaving))

    def move(self, r: int, p: int, t: int) -> None:
        old = self.seats[r][p]
        self.members[r][old].discard(p)
        for q in self.members[r][old]:
            key = (p, q) if p < q else (q, p)
            self.met[key] -= 1
        for q in self.members[r][t]:
            key = (p, q) if p < q else (q, p)
            self.met[key] = self.met.get(key, 0) + 1
        self.members[r][t].add(p)
        self.seats[r][p] = t


class OutOfTime(Exception):
    """The wall-clock limit passed before a first feasible seating was built."""


def construct(inst: SeatingInstance, rng: random.Random, deadline: float = float("inf")) -> list[list[int]] | None:
    """A feasible start: fixed seats first, then people in random order to the least occupied
    table that keeps every rule (the most affinity among equals). Raises ``OutOfTime`` past
    ``deadline`` (a ``time.perf_counter`` value), so construction counts against the limit too."""
    n, tables = len(inst.people), len(inst.tables)
    seats: list[list[int]] = []
    state = _State(inst, [])
    for r in range(inst.rounds):
        row = [-1] * n
        state.seats.append(row)
        state.members.append([set() for _ in range(tables)])
        for p, t in inst.fixed.items():
            row[p] = t
            state.members[r][t].add(p)
        # Most constrained first: those who already met the most people (and those in a conflict
        # pair) are seated while tables are still open; random among equals.
        degree = [0] * n
        for (a, b), k in state.met.items():
            degree[a] += k
            degree[b] += k
        for a, b in inst.conflicts:
            degree[a] += 1
            degree[b] += 1
        order = [p for p in range(n) if p not in inst.fixed]
        rng.shuffle(order)
        order.sort(key=lambda p: -degree[p])
        for p in order:
            if time.perf_counter() > deadline:
                raise OutOfTime()
            options = [t for t in range(tables) if len(state.members[r][t]) < inst.tables[t][1] and state.fits(r, p, t)]
            if not options:
                return None
            # Fill evenly (full tables early make later rounds impossible under "never meet
            # twice"), and among equally full tables take the one with the most affinity.
            t = max(options, key=lambda t: (-len(state.members[r][t]), state.gain(r, p, t), -t))
            row[p] = t
            state.members[r][t].add(p)
        for t in range(tables):
            for a, b in itertools.combinations(sorted(state.members[r][t]), 2):
                state.met[(a, b)] = state.met.get((a, b), 0) + 1
        seats.append(row)
    return seats


ITERATIONS_PER_SECOND = 2500  # the tabu search's pace on one 2-core CI machine (bench_seating prints it)
HARD_LIMIT_FACTOR = 3.0  # a slower machine stops at this multiple of the budget, and says so


def solve_seating(inst: SeatingInstance, seconds: float = 30.0, seed: int = 0,
                  progress: Callable[[float, int, float], None] | None = None,
                  iterations: int | None = None) -> Seating:
    """Tabu search with restarts. The budget is counted in iterations (``seconds`` ×
    ``ITERATIONS_PER_SECOND`` unless given), not in wall-clock time, so the same instance and seed
    give the same seating on any machine and under any load; only a machine more than
    ``HARD_LIMIT_FACTOR`` times slower stops early (``Seating.truncated``). ``progress`` (if
    given) is called with (seconds, best objective, fraction of the budget done) at each
    improvement and every 2,048 iterations."""
    started = time.perf_counter()
    budget = iterations if iterations is not None else max(1, round(seconds * ITERATIONS_PER_SECOND))
    hard_deadline = started + max(seconds, 1.0) * HARD_LIMIT_FACTOR
    rng = random.Random(seed)
    start = None
    try:
        for _ in range(200):
            start = construct(inst, rng, hard_deadline)
            if start is not None:
                break
    except OutOfTime:
        raise _bad(f"制限時間（{seconds:g} 秒 × {HARD_LIMIT_FACTOR:g}）内に最初の席順を作れませんでした"
                   "（参加者・テーブル・ラウンドを減らすか、時間を延ばしてください）",
                   f"no first seating within the time limit ({seconds:g} s × {HARD_LIMIT_FACTOR:g})") from None
    if start is None:
        raise _bad("制約をすべて満たす席順が見つかりませんでした（テーブルを増やすか、制約を見直してください）",
                   "no seating satisfies every rule (add tables or relax constraints)")
    best = [row[:] for row in start]
    best_obj = objective(inst, best)
    if progress is not None:
        progress(0.0, best_obj, 0.0)
    movable = [p for p in range(len(inst.people)) if p not in inst.fixed]
    truncated = False
    state = _State(inst, [row[:] for row in best])
    current = best_obj
    tabu: dict[tuple[int, int, int], int] = {}
    it = stall = 0
    tenure = 7
    while it < budget and movable:
        if it % 256 == 0 and time.perf_counter() > hard_deadline:
            truncated = True
            break
        if progress is not None and it % 2048 == 0:
            progress(time.perf_counter() - started, best_obj, it / budget)
        it += 1
        r = rng.randrange(inst.rounds)
        best_move, best_delta = None, None
        for _ in range(60):  # a sample of the neighbourhood: swaps and moves in one round
            p = rng.choice(movable)
            tp = state.seats[r][p]
            t = rng.randrange(len(inst.tables))
            if t == tp:
                continue
            if len(state.members[r][t]) < inst.tables[t][1] and rng.random() < 0.3:
                if state.fits(r, p, t):
                    delta = state.gain(r, p, t) - state.gain(r, p, tp)
                    cand = ("move", p, t, None)
                else:
                    continue
            else:
                others = [q for q in state.members[r][t] if q not in inst.fixed]
                if not others:
                    continue
                q = rng.choice(others)
                if not (state.fits(r, p, t, leaving=q) and state.fits(r, q, tp, leaving=p)):
                    continue
                delta = (state.gain(r, p, t, leaving=q) - state.gain(r, p, tp) + state.gain(r, q, tp, leaving=p)
                         - state.gain(r, q, t))
                cand = ("swap", p, t, q)
            is_tabu = tabu.get((r, p, t), 0) > it
            if is_tabu and current + delta <= best_obj:
                continue  # aspiration: a tabu move is taken only if it beats the best
            if best_delta is None or delta > best_delta:
                best_move, best_delta = cand, delta
        if best_move is None:
            continue
        kind, p, t, q = best_move
        tp = state.seats[r][p]
        if kind == "move":
            state.move(r, p, t)
        else:
            state.move(r, p, t)
            state.move(r, q, tp)
            tabu[(r, q, t)] = it + tenure
        tabu[(r, p, tp)] = it + tenure
        current += best_delta
        if current > best_obj:
            best_obj, best, stall = current, [row[:] for row in state.seats], 0
            if progress is not None:
                progress(time.perf_counter() - started, best_obj, it / budget)
        else:
            stall += 1
        if stall > 3000:  # restart from the best, perturbed by random feasible swaps
            state = _State(inst, [row[:] for row in best])
            stall, tabu = 0, {}
            for _ in range(20):
                r = rng.randrange(inst.rounds)
                p, q = rng.sample(movable, 2) if len(movable) > 1 else (movable[0], movable[0])
                tp, tq = state.seats[r][p], state.seats[r][q]
                if tp != tq and state.fits(r, p, tq, leaving=q) and state.fits(r, q, tp, leaving=p):
                    state.move(r, p, tq)
                    state.move(r, q, tp)
            current = objective(inst, state.seats)
    rounds = tuple(tuple(row) for row in best)
    assert objective(inst, rounds) == best_obj, "incremental evaluation drifted"
    return Seating(rounds, best_obj, upper_bound(inst), time.perf_counter() - started, it, truncated)


MAX_EXACT_TERMS = 3_000_000  # pair × table × round products above which the CP-SAT model is not built


def exact_model_size(inst: SeatingInstance) -> int:
    n = len(inst.people)
    return n * (n - 1) // 2 * len(inst.tables) * inst.rounds


def solve_exact(inst: SeatingInstance, seconds: float = 30.0, proven_only: bool = True) -> Seating | None:
    """CP-SAT (a check for the tabu search). With ``proven_only`` the proven optimum or None;
    otherwise the best seating CP-SAT found within the budget (None when it found none). The
    model has a product variable per pair, table and round; past ``MAX_EXACT_TERMS`` it is not
    built at all (InvalidInput says so) rather than exhausting memory."""
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    n, T, R = len(inst.people), len(inst.tables), inst.rounds
    if exact_model_size(inst) > MAX_EXACT_TERMS:
        raise _bad(f"厳密解法には大きすぎます（{exact_model_size(inst):,} 変数）",
                   f"instance too large for the exact model ({exact_model_size(inst):,} pair-table-round terms)")
    m = cp_model.CpModel()
    x = {(p, t, r): m.new_bool_var(f"x{p}_{t}_{r}") for p in range(n) for t in range(T) for r in range(R)}
    for p in range(n):
        for r in range(R):
            m.add_exactly_one(x[p, t, r] for t in range(T))
            if p in inst.fixed:
                m.add(x[p, inst.fixed[p], r] == 1)
    for t, (_, cap) in enumerate(inst.tables):
        for r in range(R):
            m.add(sum(x[p, t, r] for p in range(n)) <= cap)
            by_org: dict[str, list[int]] = {}
            for p in range(n):
                by_org.setdefault(inst.people[p][1], []).append(p)
            for ps in by_org.values():
                if len(ps) > 1:
                    m.add(sum(x[p, t, r] for p in ps) <= 1)
    terms = []
    for a, b in itertools.combinations(range(n), 2):
        together = []
        for t in range(T):
            for r in range(R):
                y = m.new_bool_var("")
                m.add_multiplication_equality(y, [x[a, t, r], x[b, t, r]])
                together.append(y)
        if (a, b) in inst.conflicts:
            m.add(sum(together) == 0)
        else:
            m.add(sum(together) <= 1)
            w = _aff(inst, a, b)
            if w:
                terms.append(w * sum(together))
    m.maximize(sum(terms) if terms else 0)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = 2
    status = solver.solve(m)
    if status != cp_model.OPTIMAL and (proven_only or status != cp_model.FEASIBLE):
        return None
    rounds = tuple(tuple(next(t for t in range(T) if solver.value(x[p, t, r])) for p in range(n)) for r in range(R))
    return Seating(rounds, int(round(solver.objective_value)), upper_bound(inst), time.perf_counter() - started)


# -- late changes -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reseating:
    seating: Seating
    moved: tuple[tuple[int, int, int, int], ...]  # (round, person, from table, to table)
    added: tuple[int, ...]


def reseat(inst: SeatingInstance, previous: dict[int, tuple[int, ...]], seed: int = 0) -> Reseating:
    """Seat after late changes, keeping everyone else where they were.

    ``previous`` maps a person (index in ``inst``) to their table per round; people of ``inst``
    not in it are late additions, people in it but gone from ``inst`` were cancelled (the caller
    has left them out). Removing people never breaks a rule, so everyone else keeps their seat;
    only a person left alone at a table (nobody to meet) moves, to the allowed table where they
    gain most; additions take the free seats where they gain most. Nobody else moves.
    """
    started = time.perf_counter()
    rng = random.Random(seed)
    n, tables = len(inst.people), len(inst.tables)
    seats = [[previous[p][r] if p in previous else -1 for p in range(n)] for r in range(inst.rounds)]
    state = _State(inst, [[t for t in row] for row in seats])
    added = [p for p in range(n) if p not in previous]
    moved: list[tuple[int, int, int, int]] = []

    def free(r: int, t: int) -> bool:
        return len(state.members[r][t]) < inst.tables[t][1]

    for r in range(inst.rounds):
        for t in range(tables):
            alone = [p for p in state.members[r][t] if p >= 0]
            if len(alone) == 1 and alone[0] not in inst.fixed:
                p = alone[0]
                options = [u for u in range(tables) if u != t and free(r, u) and state.members[r][u]
                           and state.fits(r, p, u)]
                if options:
                    u = max(options, key=lambda u: (state.gain(r, p, u), -u))
                    state.move(r, p, u)
                    moved.append((r, p, t, u))
    order = added[:]
    rng.shuffle(order)
    for p in order:
        for r in range(inst.rounds):
            if p in inst.fixed:
                options = [inst.fixed[p]] if state.fits(r, p, inst.fixed[p]) and free(r, inst.fixed[p]) else []
            else:
                options = [t for t in range(tables) if free(r, t) and state.fits(r, p, t)]
            if not options:
                raise _bad(f"追加の参加者「{inst.people[p][0]}」を第 {r + 1} ラウンドに座らせる空席がありません"
                           "（席替えをやり直してください）",
                           f"no allowed free seat for late participant {inst.people[p][0]!r} in round {r + 1}; "
                           "run a full seating")
            t = max(options, key=lambda t: (state.gain(r, p, t), -len(state.members[r][t]), -t))
            state.seats[r][p] = t
            for q in state.members[r][t]:
                key = (p, q) if p < q else (q, p)
                state.met[key] = state.met.get(key, 0) + 1
            state.members[r][t].add(p)
    rounds = tuple(tuple(row) for row in state.seats)
    bad = violations(inst, rounds)
    if bad:
        raise _bad("変更後の席が規則を満たしません（席替えをやり直してください）", "; ".join(bad[:5]))
    seating = Seating(rounds, objective(inst, rounds), upper_bound(inst), time.perf_counter() - started)
    return Reseating(seating, tuple(moved), tuple(added))
