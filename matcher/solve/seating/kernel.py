"""The seating search's state and move gains, compiled with Numba (the loop itself is in
``descent``): moves and swaps in every round, each evaluated in O(1) from gain matrices, as the
MDGP literature does (Gallego et al. 2013; Lai & Hao 2016; Yang et al. 2022), generalised to
several rounds with rules.

Rules are penalties, not a feasibility filter: a pair that may not sit together (same
organisation, a declared conflict), a pair meeting a second time, a table without a company.
The search minimises ``penalty`` first (its weight dominates any affinity change) and maximises
affinity among equal penalties, so a tight room (seats = people) is driven to zero violations by
the same moves that improve it, instead of a greedy start giving up. Table sizes (``lo``/``hi``)
and fixed seats are never broken: moves respect them by construction.

Everything the search remembers lives in arrays passed in and out, so Python
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


# An evaluated move costs about this many pruned-descent evaluations when rules are kept (the
# penalty gains, meeting counts and company counts read and written with it); the budget counts
# in pruned-descent evaluations, so one second of budget is about one second on any instance.
RULE_COST = 11


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
