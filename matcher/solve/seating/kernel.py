"""The seating search's hot loop, compiled with Numba: an iterated maxima search over swap and
move moves in every round, evaluated in O(1) each from gain matrices, as the MDGP literature does
(Gallego et al. 2013; Lai & Hao 2021; Yang et al. 2022), generalised to several rounds with rules.

Rules are penalties, not a feasibility filter: a pair that may not sit together (same
organisation, a declared conflict), a pair meeting a second time, a table without a company.
The search minimises ``penalty`` first (its weight dominates any affinity change) and maximises
affinity among equal penalties, so a tight room (seats = people) is driven to zero violations by
the same moves that improve it, instead of a greedy start giving up. Table sizes (``lo``/``hi``)
and fixed seats are never broken: moves respect them by construction.

Everything the search remembers lives in arrays passed in and out (``SearchState``), so Python
can run it in chunks (progress, wall-clock checks) and the same seed and budget give the same
seating on any machine: the random numbers are a xorshift generator held in the state, and the
budget counts evaluated moves, not seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np


@dataclass
class GroupingArrays:
    """A seating problem as arrays: ``W`` pair values (symmetric, zero diagonal), ``C`` pairs that
    may never share a table, ``company`` and ``mix`` (every non-empty table needs a company),
    table sizes, fixed seats (-1: free), and whether pairs may meet only once across rounds."""

    W: np.ndarray  # float64 [n, n]
    C: np.ndarray  # uint8 [n, n]
    company: np.ndarray  # uint8 [n]
    mix: bool
    lo: np.ndarray  # int64 [T]
    hi: np.ndarray  # int64 [T]
    fixed: np.ndarray  # int64 [n]
    rounds: int
    norepeat: bool

    @property
    def n(self) -> int:
        return int(self.W.shape[0])

    @property
    def rules(self) -> bool:
        """Whether any rule can be broken (else the kernel skips penalty bookkeeping)."""
        return bool(self.mix or self.norepeat or self.C.any())

    @property
    def tables(self) -> int:
        return int(self.lo.shape[0])


# ---------------------------------------------------------------------------------------- random
@nb.njit(cache=True)
def _next(rng):
    """xorshift64*: one uint64 of state, the same sequence on every machine."""
    x = rng[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rng[0] = x
    return (x * np.uint64(2685821657736338717)) >> np.uint64(11)


@nb.njit(cache=True)
def _randint(rng, k):
    return np.int64(_next(rng) % np.uint64(k))


# ------------------------------------------------------------------------------------------ state
@nb.njit(cache=True)
def _pair_cost(C, M, x, norepeat, r, s, p):
    """What the pair (s, p) costs in round r when together there: forbidden, or already together
    in another round."""
    c = np.int64(C[s, p])
    if norepeat:
        other = M[s, p] - (1 if x[r, s] == x[r, p] else 0)
        if other >= 1:
            c += 1
    return c


@nb.njit(cache=True)
def rebuild(W, C, company, rules, mix, norepeat, x, T, G, PG, M, size, ncomp):
    """Gain matrices and counts from scratch for seating ``x``; returns (objective, penalty)."""
    R, n = x.shape
    G[:] = 0.0
    PG[:] = 0
    M[:] = 0
    size[:] = 0
    ncomp[:] = 0
    for r in range(R):
        for p in range(n):
            size[r, x[r, p]] += 1
            ncomp[r, x[r, p]] += company[p]
    for r in range(R):
        for p in range(n):
            for q in range(p + 1, n):
                if x[r, p] == x[r, q]:
                    M[p, q] += 1
                    M[q, p] += 1
    obj = 0.0
    pen = 0
    for r in range(R):
        for p in range(n):
            for q in range(n):
                if q == p:
                    continue
                t = x[r, q]
                G[r, p, t] += W[p, q]
                if rules:
                    PG[r, p, t] += _pair_cost(C, M, x, norepeat, r, p, q)
            obj += G[r, p, x[r, p]]
    obj *= 0.5
    # A pair together M times costs C·M (a forbidden pair, each time) + max(0, M − 1) (meeting again).
    for p in range(n):
        for q in range(p + 1, n):
            m = M[p, q]
            pen += C[p, q] * m
            if norepeat and m > 1:
                pen += m - 1
    if mix:
        for r in range(R):
            for t in range(T):
                if size[r, t] > 0 and ncomp[r, t] == 0:
                    pen += 1
    return obj, pen


@nb.njit(cache=True)
def _apply_move(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, r, p, b):
    """Seat p at table b in round r, keeping every gain matrix and count exact."""
    R, n = x.shape
    a = x[r, p]
    for s in range(n):
        if s == p:
            continue
        G[r, s, a] -= W[s, p]
        G[r, s, b] += W[s, p]
        if rules:
            c = _pair_cost(C, M, x, norepeat, r, s, p)
            PG[r, s, a] -= c
            PG[r, s, b] += c
    if norepeat:
        for q in range(n):
            if q == p:
                continue
            tq = x[r, q]
            if tq != a and tq != b:
                continue
            old = M[p, q]
            new = old - 1 if tq == a else old + 1
            M[p, q] = new
            M[q, p] = new
            for r2 in range(R):
                if r2 == r:
                    continue
                together = 1 if x[r2, p] == x[r2, q] else 0
                was = 1 if old - together >= 1 else 0
                now = 1 if new - together >= 1 else 0
                if was != now:
                    d = now - was
                    PG[r2, p, x[r2, q]] += d
                    PG[r2, q, x[r2, p]] += d
    x[r, p] = b
    size[r, a] -= 1
    size[r, b] += 1
    ncomp[r, a] -= company[p]
    ncomp[r, b] += company[p]


@nb.njit(cache=True)
def _mix_bad(size, ncomp):
    return 1 if size > 0 and ncomp == 0 else 0


@nb.njit(cache=True)
def _dmove(W, C, company, rules, mix, G, PG, size, ncomp, x, r, p, t):
    """(affinity change, penalty change) of seating p at table t in round r."""
    a = x[r, p]
    do = G[r, p, t] - G[r, p, a]
    if not rules:
        return do, 0
    dp = PG[r, p, t] - PG[r, p, a]
    if mix:
        dp += (_mix_bad(size[r, a] - 1, ncomp[r, a] - company[p]) - _mix_bad(size[r, a], ncomp[r, a])
               + _mix_bad(size[r, t] + 1, ncomp[r, t] + company[p]) - _mix_bad(size[r, t], ncomp[r, t]))
    return do, dp


@nb.njit(cache=True)
def _dswap(W, C, company, rules, mix, norepeat, G, PG, M, size, ncomp, x, r, p, q):
    """(affinity change, penalty change) of p and q trading seats in round r."""
    a = x[r, p]
    b = x[r, q]
    do = G[r, p, b] - G[r, p, a] + G[r, q, a] - G[r, q, b] - 2.0 * W[p, q]
    if not rules:
        return do, 0
    c = np.int64(C[p, q])
    if norepeat and M[p, q] >= 1:
        c += 1
    dp = PG[r, p, b] - PG[r, p, a] + PG[r, q, a] - PG[r, q, b] - 2 * c
    if mix and company[p] != company[q]:
        dp += (_mix_bad(size[r, a], ncomp[r, a] - company[p] + company[q]) - _mix_bad(size[r, a], ncomp[r, a])
               + _mix_bad(size[r, b], ncomp[r, b] - company[q] + company[p]) - _mix_bad(size[r, b], ncomp[r, b]))
    return do, dp


@nb.njit(cache=True)
def _swap(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, r, p, q):
    a = x[r, p]
    b = x[r, q]
    _apply_move(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, r, p, b)
    _apply_move(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, r, q, a)


@nb.njit(cache=True)
def _descent(W, C, company, rules, mix, norepeat, lo, hi, fixed, x, G, PG, M, size, ncomp, lam, cur, counts, eval_stop):
    """First-improvement descent over moves into free seats and swaps, every round, until no
    move improves (affinity − lam × penalty). ``cur`` = [objective, penalty]; ``counts[0]``
    accumulates evaluated moves. Returns False when ``eval_stop`` came first (the caller resumes)."""
    R, n = x.shape
    T = lo.shape[0]
    improved = True
    while improved:
        improved = False
        for r in range(R):
            if counts[0] >= eval_stop:
                return False
            for p in range(n):
                if fixed[p] >= 0:
                    continue
                for t in range(T):
                    a = x[r, p]
                    if t == a or size[r, a] <= lo[a] or size[r, t] >= hi[t]:
                        continue
                    counts[0] += 1
                    do, dp = _dmove(W, C, company, rules, mix, G, PG, size, ncomp, x, r, p, t)
                    if do - lam * dp > 1e-9:
                        _apply_move(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, r, p, t)
                        counts[0] += n
                        cur[0] += do
                        cur[1] += dp
                        improved = True
            for p in range(n):
                if fixed[p] >= 0:
                    continue
                for q in range(p + 1, n):
                    if fixed[q] >= 0 or x[r, p] == x[r, q]:
                        continue
                    counts[0] += 1
                    do, dp = _dswap(W, C, company, rules, mix, norepeat, G, PG, M, size, ncomp, x, r, p, q)
                    if do - lam * dp > 1e-9:
                        _swap(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, r, p, q)
                        counts[0] += 2 * n
                        cur[0] += do
                        cur[1] += dp
                        improved = True
    return True


@nb.njit(cache=True)
def _random_neighbour(lo, hi, fixed, x, size, rng, free):
    """A random allowed move (q = -1, to table t) or swap (with q) in a random round; r = -1 when
    none was found in a few tries."""
    R, n = x.shape
    T = lo.shape[0]
    nfree = free.shape[0]
    for _ in range(64):
        r = _randint(rng, R)
        p = free[_randint(rng, nfree)]
        a = x[r, p]
        if _randint(rng, 4) == 0:  # a move, where sizes allow one
            t = _randint(rng, T)
            if t != a and size[r, a] > lo[a] and size[r, t] < hi[t]:
                return r, p, -1, t
        else:
            q = free[_randint(rng, nfree)]
            if x[r, q] != a:
                return r, p, q, x[r, q]
    return -1, -1, -1, -1


@nb.njit(cache=True)
def _step(W, C, company, rules, mix, norepeat, lo, hi, fixed, x, G, PG, M, size, ncomp, lam, cur, counts, rng, free,
          samples):
    """Weak perturbation: the best of ``samples`` random neighbours, taken even when it is worse."""
    best_d = -np.inf
    br, bp, bq, bt = -1, -1, -1, -1
    bdo, bdp = 0.0, 0
    for _ in range(samples):
        r, p, q, t = _random_neighbour(lo, hi, fixed, x, size, rng, free)
        if r < 0:
            continue
        counts[0] += 1
        if q < 0:
            do, dp = _dmove(W, C, company, rules, mix, G, PG, size, ncomp, x, r, p, t)
        else:
            do, dp = _dswap(W, C, company, rules, mix, norepeat, G, PG, M, size, ncomp, x, r, p, q)
        d = do - lam * dp
        if d > best_d:
            best_d, br, bp, bq, bt, bdo, bdp = d, r, p, q, t, do, dp
    if br < 0:
        return
    if bq < 0:
        _apply_move(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, br, bp, bt)
    else:
        _swap(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, br, bp, bq)
    cur[0] += bdo
    cur[1] += bdp


@nb.njit(cache=True)
def _better(obj, pen, best_obj, best_pen):
    return pen < best_pen or (pen == best_pen and obj > best_obj + 1e-9)


@nb.njit(cache=True)
def _copy(x, G, PG, M, size, ncomp, cur, x2, G2, PG2, M2, size2, ncomp2, cur2):
    x2[:] = x
    G2[:] = G
    PG2[:] = PG
    M2[:] = M
    size2[:] = size
    ncomp2[:] = ncomp
    cur2[:] = cur


@nb.njit(cache=True)
def search(W, C, company, rules, mix, norepeat, lo, hi, fixed, x, G, PG, M, size, ncomp, cur,
           ms_x, ms_G, ms_PG, ms_M, ms_size, ms_ncomp, ms, best_x, best, counts, rng, lam, eval_stop, strength,
           samples, patience):
    """Iterated maxima search (after Lai & Hao 2016) until ``counts[0]`` (moves evaluated)
    reaches ``eval_stop``: shake the current seating with ``strength`` random moves or swaps, then
    a maxima search — descend to a local optimum, keep the best one seen (``ms_*``), step away
    from it by three weak perturbations, descend again — until ``patience`` descents in a row
    find nothing better; the current seating becomes that best. The overall best is kept in
    ``best_x`` / ``best`` = [objective, penalty]. ``counts`` = [evaluations, descents, shakes,
    inside a maxima search (resume there), descents without a better one]."""
    R, n = x.shape
    T = lo.shape[0]
    free = np.flatnonzero(fixed < 0)
    if free.shape[0] < 2:
        counts[0] = eval_stop
        return
    while counts[0] < eval_stop:
        if counts[3] == 0:
            if counts[2] > 0:
                for _ in range(strength):
                    r, p, q, t = _random_neighbour(lo, hi, fixed, x, size, rng, free)
                    if r < 0:
                        continue
                    if q < 0:
                        do, dp = _dmove(W, C, company, rules, mix, G, PG, size, ncomp, x, r, p, t)
                        _apply_move(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, r, p, t)
                    else:
                        do, dp = _dswap(W, C, company, rules, mix, norepeat, G, PG, M, size, ncomp, x, r, p, q)
                        _swap(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, r, p, q)
                    cur[0] += do
                    cur[1] += dp
                    counts[0] += n  # each applied move updates O(n) gains
            counts[2] += 1
            counts[3] = 1
            counts[4] = 0
            ms[0] = -np.inf
            ms[1] = np.inf
        while counts[4] < patience:
            if not _descent(W, C, company, rules, mix, norepeat, lo, hi, fixed, x, G, PG, M, size, ncomp, lam, cur, counts,
                            eval_stop):
                return  # the budget's chunk ended inside a descent: the next call resumes it
            counts[1] += 1
            if _better(cur[0], cur[1], ms[0], ms[1]):
                _copy(x, G, PG, M, size, ncomp, cur, ms_x, ms_G, ms_PG, ms_M, ms_size, ms_ncomp, ms)
                counts[4] = 0
                if _better(cur[0], cur[1], best[0], best[1]):
                    best[:] = cur
                    best_x[:] = x
            else:
                counts[4] += 1
            _copy(ms_x, ms_G, ms_PG, ms_M, ms_size, ms_ncomp, ms, x, G, PG, M, size, ncomp, cur)
            counts[0] += (2 * R * T + n) * n // 4  # the restore (array copies)
            if counts[4] >= patience:
                break
            for _ in range(3):
                _step(W, C, company, rules, mix, norepeat, lo, hi, fixed, x, G, PG, M, size, ncomp, lam, cur, counts, rng,
                      free, samples)
            if counts[0] >= eval_stop:
                return
        counts[3] = 0


def warm() -> None:
    """Compile (or load from Numba's cache) before any clock starts, so the first solve of a
    process spends its budget searching."""
    n, T, R = 4, 2, 2
    W = np.ones((n, n)) - np.eye(n)
    C = np.zeros((n, n), dtype=np.uint8)
    company = np.ones(n, dtype=np.uint8)
    lo, hi = np.zeros(T, dtype=np.int64), np.full(T, 2, dtype=np.int64)
    fixed = np.full(n, -1, dtype=np.int64)
    x = np.array([[0, 0, 1, 1], [0, 1, 0, 1]], dtype=np.int64)
    G, PG = np.zeros((R, n, T)), np.zeros((R, n, T), dtype=np.int32)
    M, size, ncomp = np.zeros((n, n), dtype=np.int32), np.zeros((R, T), dtype=np.int64), np.zeros((R, T), dtype=np.int64)
    obj, pen = rebuild(W, C, company, True, True, True, x, T, G, PG, M, size, ncomp)
    cur = np.array([obj, float(pen)])
    search(W, C, company, True, True, True, lo, hi, fixed, x, G, PG, M, size, ncomp, cur,
           x.copy(), G.copy(), PG.copy(), M.copy(), size.copy(), ncomp.copy(), cur.copy(), x.copy(), cur.copy(),
           np.zeros(5, dtype=np.int64), np.array([7], dtype=np.uint64), 10.0, 10, 2, 4, 3)
