"""A forum seating instance: who, which tables, how many rounds, what is worth a meeting and
what is forbidden; read with bounds, checked for the infeasibilities visible without search,
and the objective, rule check and upper bound every solver shares."""

from __future__ import annotations

import itertools
import json
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
MAX_CELLS = 5_000_000  # people × tables × rounds: the solver's gain matrices (≈ 100 MB at this size)
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
    if len(people) * len(tables) * rounds > MAX_CELLS:
        raise _bad(f"参加者 × テーブル × ラウンドが多すぎます（{len(people) * len(tables) * rounds:,}、上限 {MAX_CELLS:,}）",
                   f"participants × tables × rounds = {len(people) * len(tables) * rounds:,} (at most {MAX_CELLS:,})")

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


def companies_everywhere(inst: SeatingInstance) -> bool:
    """With at least as many companies as tables, every table in use gets one in every round: a
    table of only universities, institutes and support staff is a table no company came for."""
    return sum(1 for p in inst.people if p[2] == "company") >= len(inst.tables)


def is_company(inst: SeatingInstance, p: int) -> bool:
    return inst.people[p][2] == "company"


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
    mix = companies_everywhere(inst)
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
            if mix and members and not any(is_company(inst, p) for p in members):
                out.append(f"round {ri}: table {inst.tables[t][0]} has no company")
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


MAX_LP_PAIRS = 400_000  # pairs with a positive value above which the LP bound is not built


def lp_bound(inst: SeatingInstance) -> int | None:
    """A tighter upper bound: the b-matching LP relaxation. Each pair meets at most once, each
    person meets at most rounds × (largest table − 1) others; maximise the pairs' value (HiGHS).
    ``upper_bound`` is this LP's greedy per-person relaxation halved, so this is never looser.
    None when the LP would be too large to build (past ``MAX_LP_PAIRS`` pairs)."""
    import numpy as np
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    pairs = [(a, b, w) for (a, b), w in inst.affinity.items()
             if w > 0 and (a, b) not in inst.conflicts and inst.people[a][1] != inst.people[b][1]]
    if not pairs:
        return 0
    if len(pairs) > MAX_LP_PAIRS:
        return None
    m, n = len(pairs), len(inst.people)
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    w = np.array([p[2] for p in pairs], dtype=np.float64)
    rows = np.concatenate([a, b])
    cols = np.concatenate([np.arange(m), np.arange(m)])
    A = coo_matrix((np.ones(2 * m), (rows, cols)), shape=(n, m)).tocsr()
    degree = inst.rounds * (max(c for _, c in inst.tables) - 1)
    res = linprog(-w, A_ub=A, b_ub=np.full(n, float(degree)), bounds=(0, 1), method="highs")
    if res.status != 0:
        return None
    return int(np.floor(-res.fun + 1e-6))
