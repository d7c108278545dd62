"""The iterated maxima search's loop (Lai & Hao 2016, generalised to rounds and rules), compiled
with Numba over the state and gains of ``kernel``: first-improvement descents (a full scan when
rules apply; with no rule, a scan that skips every table without an improving partner), then,
itinerary swaps across rounds and, where there are hosts, exchanges of two tables' guests as
groups; weak perturbations around the
best local optimum, shakes between maxima searches."""

from __future__ import annotations

import numba as nb
import numpy as np

from matcher.solve.seating.kernel import (
    RULE_COST,
    _apply_move,
    _dmove,
    _dswap,
    _mix_bad,
    _pair_cost,
    _randint,
    _swap,
    rebuild,
)

# The neighbourhoods a descent tries after moves and swaps (``extra`` bits; the bench ablates them).
EXCHANGES = 1  # two tables' guests trade tables (only where there are hosts)
ITINERARIES = 2  # two people trade every round's seat (only with several rounds)


@nb.njit(cache=True)
def _movable(lo, hi, size, r, a, t):
    """May someone at table a move to table t in round r without breaking either table's size?"""
    return t != a and size[r, a] > lo[a] and size[r, t] < hi[t]


def scratch(n: int, rounds: int, lo: np.ndarray, hi: np.ndarray, W: np.ndarray):
    """The pruned descent's inputs, built once per run: the least pair value, and member lists
    (rounds × tables × one more than the largest table: a swap passes through a full table plus
    one), positions and the best-leaver table H."""
    T = lo.shape[0]
    off = W[~np.eye(n, dtype=bool)] if n > 1 else np.zeros(1)
    return (min(0.0, float(off.min())), np.zeros((rounds, T, int(hi.max()) + 1), dtype=np.int64),
            np.zeros((rounds, n), dtype=np.int64), np.zeros((rounds, T, T), dtype=np.float64))


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
                    if not _movable(lo, hi, size, r, x[r, p], t):
                        continue
                    counts[0] += RULE_COST
                    do, dp = _dmove(W, C, company, rules, mix, G, PG, size, ncomp, x, r, p, t)
                    if do - lam * dp > 1e-9:
                        _apply_move(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, r, p, t)
                        counts[0] += RULE_COST * n
                        cur[0] += do
                        cur[1] += dp
                        improved = True
            for p in range(n):
                if fixed[p] >= 0:
                    continue
                for q in range(p + 1, n):
                    if fixed[q] >= 0 or x[r, p] == x[r, q]:
                        continue
                    counts[0] += RULE_COST
                    do, dp = _dswap(W, C, company, rules, mix, norepeat, G, PG, M, size, ncomp, x, r, p, q)
                    if do - lam * dp > 1e-9:
                        _swap(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, r, p, q)
                        counts[0] += 2 * RULE_COST * n
                        cur[0] += do
                        cur[1] += dp
                        improved = True
    return True


@nb.njit(cache=True)
def _best_leaver(G, mem, size, r, t, u):
    """The most any free-or-fixed person at table t gains by sitting at table u instead."""
    h = -np.inf
    for k in range(size[r, t]):
        q = mem[r, t, k]
        g = G[r, q, u] - G[r, q, t]
        if g > h:
            h = g
    return h


@nb.njit(cache=True)
def _descent_pruned(W, C, company, rules, norepeat, lo, hi, fixed, x, G, PG, M, size, ncomp, cur, counts, eval_stop,
                    wmin, mem, pos, H):
    """The same descent where no rule can be broken (MDGP, or a forum without rules), skipping
    every table that cannot hold an improving swap partner: a swap of p (table a) with q (table
    b) gains at most (G[p,b] − G[p,a]) + H[b,a] − 2·min W, where H[b,a] is the best gain of anyone
    at b moving to a — kept exact after each move, so the descent ends at the same kind of local
    optimum as the full scan, only sooner. Fixed people stay in ``mem`` (they are skipped as
    partners, but counted in H as an upper bound)."""
    R, n = x.shape
    T = lo.shape[0]
    for r in range(R):
        for t in range(T):
            size[r, t] = 0
        for p in range(n):
            t = x[r, p]
            mem[r, t, size[r, t]] = p
            pos[r, p] = size[r, t]
            size[r, t] += 1
        for t in range(T):
            for u in range(T):
                H[r, t, u] = _best_leaver(G, mem, size, r, t, u) if t != u else -np.inf
    counts[0] += R * n * T
    improved = True
    while improved:
        improved = False
        for r in range(R):
            if counts[0] >= eval_stop:
                return False
            for p in range(n):
                if fixed[p] >= 0:
                    continue
                a = x[r, p]
                best_t = -1
                for t in range(T):
                    if not _movable(lo, hi, size, r, a, t):
                        continue
                    counts[0] += 1
                    if G[r, p, t] - G[r, p, a] > 1e-9:
                        best_t = t
                        break
                partner = -1
                if best_t < 0:
                    for b in range(T):
                        if b == a:
                            continue
                        gp = G[r, p, b] - G[r, p, a]
                        counts[0] += 1
                        if gp + H[r, b, a] - 2.0 * wmin <= 1e-9:
                            continue
                        for k in range(size[r, b]):
                            q = mem[r, b, k]
                            if fixed[q] >= 0:
                                continue
                            counts[0] += 1
                            if gp + G[r, q, a] - G[r, q, b] - 2.0 * W[p, q] > 1e-9:
                                partner = q
                                break
                        if partner >= 0:
                            break
                if best_t < 0 and partner < 0:
                    continue
                if partner < 0:
                    cur[0] += G[r, p, best_t] - G[r, p, a]
                    _relocate(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, mem, pos, H, r, p, best_t)
                    counts[0] += 5 * n  # the gains, then the member lists and H
                else:
                    b = x[r, partner]
                    cur[0] += G[r, p, b] - G[r, p, a] + G[r, partner, a] - G[r, partner, b] - 2.0 * W[p, partner]
                    _relocate(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, mem, pos, H, r, p, b)
                    _relocate(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, mem, pos, H, r, partner, a)
                    counts[0] += 10 * n
                improved = True
    return True


@nb.njit(cache=True)
def _relocate(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, mem, pos, H, r, p, b):
    """``_apply_move`` that also keeps the member lists and the best-leaver table H exact."""
    T = H.shape[1]
    a = x[r, p]
    last = mem[r, a, size[r, a] - 1]
    mem[r, a, pos[r, p]] = last
    pos[r, last] = pos[r, p]
    mem[r, b, size[r, b]] = p
    pos[r, p] = size[r, b]
    _apply_move(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, r, p, b)
    # G changed in columns a and b for everyone, and tables a and b changed members.
    for t in range(T):
        for u in (a, b):
            if t != u:
                H[r, t, u] = _best_leaver(G, mem, size, r, t, u)
    for t in (a, b):
        for u in range(T):
            if t != u:
                H[r, t, u] = _best_leaver(G, mem, size, r, t, u)


@nb.njit(cache=True)
def _exchange_gain(W, C, company, rules, mix, norepeat, x, M, size, ncomp, r, guests, ng, hosts, nh, hcomp, a, b):
    """(affinity change, penalty change) of the guests of tables a and b (everyone not fixed there)
    trading tables in round r, each group keeping its members: only pairs with the hosts change,
    so it costs (guests × hosts) reads, not a table's worth of single moves."""
    do = 0.0
    dp = 0
    for side in range(2):
        t, u = (a, b) if side == 0 else (b, a)
        for k in range(ng[t]):
            p = guests[t, k]
            for j in range(nh[u]):
                f = hosts[u, j]
                do += W[p, f]
                if rules:
                    dp += _pair_cost(C, M, x, norepeat, r, p, f)
            for j in range(nh[t]):
                f = hosts[t, j]
                do -= W[p, f]
                if rules:
                    dp -= _pair_cost(C, M, x, norepeat, r, p, f)
    if rules and mix:
        gcomp_a = ncomp[r, a] - hcomp[a]
        gcomp_b = ncomp[r, b] - hcomp[b]
        dp += (_mix_bad(nh[a] + ng[b], hcomp[a] + gcomp_b) - _mix_bad(size[r, a], ncomp[r, a])
               + _mix_bad(nh[b] + ng[a], hcomp[b] + gcomp_a) - _mix_bad(size[r, b], ncomp[r, b]))
    return do, dp


@nb.njit(cache=True)
def _exchanges(W, C, company, rules, mix, norepeat, lo, hi, fixed, x, G, PG, M, size, ncomp, lam, cur, counts):
    """Whole-table-pair exchanges: in each round, the guests of two tables trade tables as groups
    (first improvement, every pair of tables of which one has a host). Only hosts make this more
    than a relabelling; it moves a group that sits well together to the host that suits it, which
    no single move or swap reaches (each breaks the group first). Returns whether one applied."""
    R, n = x.shape
    T = lo.shape[0]
    width = 1
    for t in range(T):
        width = max(width, hi[t])
    hosts = np.zeros((T, width), dtype=np.int64)
    nh = np.zeros(T, dtype=np.int64)
    hcomp = np.zeros(T, dtype=np.int64)
    for p in range(n):
        t = fixed[p]
        if t >= 0:
            hosts[t, nh[t]] = p
            nh[t] += 1
            hcomp[t] += company[p]
    guests = np.zeros((T, n), dtype=np.int64)
    ng = np.zeros(T, dtype=np.int64)
    moved = np.zeros(n, dtype=np.int64)
    applied = False
    for r in range(R):
        ng[:] = 0
        for p in range(n):
            if fixed[p] < 0:
                t = x[r, p]
                guests[t, ng[t]] = p
                ng[t] += 1
        for a in range(T):
            for b in range(a + 1, T):
                if nh[a] + nh[b] == 0 or ng[a] + ng[b] == 0:
                    continue
                if not (lo[a] <= nh[a] + ng[b] <= hi[a] and lo[b] <= nh[b] + ng[a] <= hi[b]):
                    continue
                counts[0] += RULE_COST * (ng[a] + ng[b]) * (nh[a] + nh[b]) + 1
                do, dp = _exchange_gain(W, C, company, rules, mix, norepeat, x, M, size, ncomp, r, guests, ng,
                                        hosts, nh, hcomp, a, b)
                if do - lam * dp <= 1e-9:
                    continue
                m = 0
                for k in range(ng[a]):
                    moved[m] = guests[a, k]
                    m += 1
                for k in range(ng[b]):
                    moved[m] = guests[b, k]
                    m += 1
                for k in range(m):
                    p = moved[k]
                    _apply_move(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, r, p, b if k < ng[a] else a)
                counts[0] += RULE_COST * n * m
                na, nb = ng[a], ng[b]
                guests[b, :na] = moved[:na]  # ``moved`` holds a's guests, then b's
                guests[a, :nb] = moved[na:m]
                ng[a], ng[b] = nb, na
                cur[0] += do
                cur[1] += dp
                applied = True
    return applied


def forbidden_lists(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each person's forbidden partners as CSR (start offsets, members): an itinerary swap's
    penalty change reads only these, not a row of n."""
    rows, cols = np.nonzero(C)
    start = np.zeros(C.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=C.shape[0]), out=start[1:])
    return start, cols.astype(np.int64)


@nb.njit(cache=True)
def _itinerary_gain(W, C, company, rules, mix, x, G, M, size, ncomp, cstart, clist, p, q):
    """(affinity change, penalty change) of p and q trading their whole itineraries (every
    round's seat). Everyone else's meetings are only relabelled, so no pair meets more often than
    before: the change is the sum of the per-round swap gains where they sit apart, O(rounds),
    plus the forbidden pairs of either (``cstart``/``clist``) and tables losing their company."""
    R = x.shape[0]
    do = 0.0
    apart = 0
    for r in range(R):
        a = x[r, p]
        b = x[r, q]
        if a != b:
            do += G[r, p, b] - G[r, p, a] + G[r, q, a] - G[r, q, b]
            apart += 1
    do -= 2.0 * W[p, q] * apart
    if not rules:
        return do, 0
    dp = 0
    for side in range(2):
        u = p if side == 0 else q
        for k in range(cstart[u], cstart[u + 1]):
            s = clist[k]
            if s in (p, q):
                continue  # the pair itself keeps its count
            if side == 1 and C[p, s]:
                continue  # a partner forbidden to both: counted once (and it changes nothing)
            dp += (np.int64(C[p, s]) - np.int64(C[q, s])) * (np.int64(M[q, s]) - np.int64(M[p, s]))
    if mix and company[p] != company[q]:
        for r in range(R):
            a = x[r, p]
            b = x[r, q]
            if a != b:
                dp += (_mix_bad(size[r, a], ncomp[r, a] - company[p] + company[q]) - _mix_bad(size[r, a], ncomp[r, a])
                       + _mix_bad(size[r, b], ncomp[r, b] - company[q] + company[p]) - _mix_bad(size[r, b], ncomp[r, b]))
    return do, dp


@nb.njit(cache=True)
def _itineraries(W, C, company, rules, mix, norepeat, fixed, x, G, PG, M, size, ncomp, lam, cur, counts, cstart,
                 clist):
    """First improvement over itinerary swaps of two free people. Where pairs may meet only once,
    a swap in one round usually makes someone meet a person a second time, so a descent stalls
    with the right people in the wrong itineraries; trading itineraries never repeats a meeting.
    Returns whether one applied."""
    R, n = x.shape
    applied = False
    for p in range(n):
        if fixed[p] >= 0:
            continue
        for q in range(p + 1, n):
            if fixed[q] >= 0:
                continue
            counts[0] += RULE_COST * R
            do, dp = _itinerary_gain(W, C, company, rules, mix, x, G, M, size, ncomp, cstart, clist, p, q)
            if do - lam * dp <= 1e-9:
                continue
            for r in range(R):
                if x[r, p] != x[r, q]:
                    _swap(W, C, company, rules, norepeat, x, G, PG, M, size, ncomp, r, p, q)
                    counts[0] += 2 * RULE_COST * n
            cur[0] += do
            cur[1] += dp
            applied = True
    return applied


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
            if _movable(lo, hi, size, r, a, t):
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
           samples, patience, wmin, mem, pos, H, cstart, clist, extra):
    """Iterated maxima search (after Lai & Hao 2016) until ``counts[0]`` (moves evaluated)
    reaches ``eval_stop``: shake the current seating with ``strength`` random moves or swaps, then
    a maxima search — descend to a local optimum, keep the best one seen (``ms_*``), step away
    from it by three weak perturbations, descend again — until ``patience`` descents in a row
    find nothing better; the current seating becomes that best. The overall best is kept in
    ``best_x`` / ``best`` = [objective, penalty]. ``counts`` = [evaluations, descents, shakes,
    inside a maxima search (resume there), descents without a better one]. ``wmin`` (the least
    pair value) and the work arrays ``mem``/``pos``/``H`` are the pruned descent's (``scratch``)."""
    R, n = x.shape
    T = lo.shape[0]
    free = np.flatnonzero(fixed < 0)
    hosted = free.shape[0] < n and (extra & EXCHANGES) != 0
    itinerary = R >= 2 and (extra & ITINERARIES) != 0
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
            while True:
                if rules:
                    done = _descent(W, C, company, rules, mix, norepeat, lo, hi, fixed, x, G, PG, M, size, ncomp, lam,
                                    cur, counts, eval_stop)
                else:
                    done = _descent_pruned(W, C, company, rules, norepeat, lo, hi, fixed, x, G, PG, M, size, ncomp,
                                           cur, counts, eval_stop, wmin, mem, pos, H)
                if not done:
                    return  # the budget's chunk ended inside a descent: the next call resumes it
                if hosted and _exchanges(W, C, company, rules, mix, norepeat, lo, hi, fixed, x, G, PG, M, size, ncomp,
                                         lam, cur, counts):
                    continue
                if not itinerary or not _itineraries(W, C, company, rules, mix, norepeat, fixed, x, G, PG, M, size, ncomp, lam,
                                             cur, counts, cstart, clist):
                    break  # a local optimum for moves, swaps, table-pair exchanges and itinerary swaps
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
           np.zeros(5, dtype=np.int64), np.array([7], dtype=np.uint64), 10.0, 10, 2, 4, 3, *scratch(n, R, lo, hi, W), *forbidden_lists(C),
           EXCHANGES | ITINERARIES)
