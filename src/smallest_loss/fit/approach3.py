"""Approach 3 of Hoffmann et al. (2022): fit the parametric loss law directly to (N, D, L) runs.

Hoffmann et al. (2022, Sec. 3.3 and Appendix D.2) fit ``L(N, D) = E + A N^-alpha + B D^-beta``
(``N`` parameters, ``D`` training tokens, ``L`` final loss in nats/token) by minimising, over
``theta = (a, b, e, alpha, beta)`` with ``A = exp(a)``, ``B = exp(b)``, ``E = exp(e)``,

    sum_i  Huber_delta( LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i ),   delta = 1e-3,

with L-BFGS started from every point of a grid (``alpha, beta in {0, 0.5, ..., 2}``,
``e in {-1, -0.5, ..., 1}``, ``a, b in {0, 5, ..., 25}``: 4500 starts) and keeping the best.
``LSE`` is the log-sum-exp, so ``LSE(...) = log L_hat(N_i, D_i)``: the residual is a log-ratio of
predicted to observed loss (dimensionless).

Besiroglu et al. (2024, "Chinchilla Scaling: A replication attempt", arXiv:2404.10102) re-did
this fit on 240 points digitised from Hoffmann et al.'s Fig. 4 and bootstrapped it for standard
errors; they conclude (v2) that Hoffmann et al.'s optimizer "stopped before convergence due to a
poor choice of loss scale". Minimising the *mean* instead of the *sum* of the Huber losses is such a
choice: objective and gradient shrink by the number of points, and an optimizer with absolute
stopping tolerances (L-BFGS-B's ``pgtol`` / ``factr``) stops early. :func:`fit_approach3` exposes
it as ``reduction``.

Speed. All starts (and, in :func:`bootstrap_approach3`, all resamples times all starts) are
independent L-BFGS problems; :func:`batched_lbfgs` runs them together in numpy: every problem keeps
its own L-BFGS history and its own Wolfe line search, and the objective and gradient of all
the problems still running are evaluated in one vectorised pass over a ``(problems, points)`` array.
Its stopping rules copy those of ``scipy.optimize.minimize(method="L-BFGS-B")`` (absolute
``gtol = 1e-5`` on the largest gradient component and ``ftol = 2.22e-9`` on the relative decrease).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..laws import AllocationExponents, ChinchillaLaw, params_exponent, tokens_exponent
from ..validation import finite_array, positive_int, positive_scalar, runs_arrays, same_length

__all__ = [
    "HUBER_DELTA",
    "SCIPY_GTOL",
    "SCIPY_FTOL",
    "STATUS",
    "huber_loss",
    "approach3_objective",
    "initial_grid",
    "BatchedLBFGSResult",
    "batched_lbfgs",
    "Approach3Fit",
    "Approach3Identification",
    "NEAR_OPTIMAL_LEVEL",
    "MAX_A_WIDTH",
    "near_optimal_rtol",
    "fit_approach3",
    "Approach3Bootstrap",
    "BOOTSTRAP_GTOL",
    "BOOTSTRAP_FTOL",
    "bootstrap_approach3",
]

HUBER_DELTA = 1e-3
"""Huber threshold of Hoffmann et al. (2022, Sec. 3.3): ``delta = 10^-3`` (on log-loss residuals)."""

SCIPY_GTOL = 1e-5
"""Default ``gtol`` (``pgtol``) of ``scipy.optimize.minimize(method="L-BFGS-B")``: stop when the
largest absolute gradient component is at most this (an *absolute* tolerance)."""

SCIPY_FTOL = 1e7 * float(np.finfo(float).eps)
"""Default ``ftol`` of scipy's L-BFGS-B (``factr = 1e7`` times machine epsilon, about 2.22e-9): stop
when ``(f_old - f_new) / max(|f_old|, |f_new|, 1) <= ftol``; absolute for objectives below 1."""

STATUS = ("gtol", "ftol", "max_iter", "line_search_failed")
"""Meaning of the integer status codes of :class:`BatchedLBFGSResult` (index into this tuple).
Codes 0 and 1 count as converged (scipy's "CONVERGENCE" messages)."""

Reduction = Literal["sum", "mean"]

_N_THETA = 5
_BLOCK_ELEMENTS = 1 << 17  # rows x points per vectorised block: keeps temporaries in cache
_EXP_SAFE = 700.0  # |log| below which exp() neither overflows nor underflows in float64


# --- The loss ----------------------------------------------------------------------------------

def huber_loss(residual: ArrayLike, delta: float = HUBER_DELTA) -> NDArray[np.float64]:
    """Huber loss (Huber 1964), elementwise: ``r^2/2`` if ``|r| <= delta`` else ``delta (|r| - delta/2)``.

    residual: any array; in Approach 3 it is ``log L_hat - log L`` (dimensionless, nats per nat).
    delta: the quadratic-to-linear threshold, ``1e-3`` in Hoffmann et al. (2022, Sec. 3.3).
    Same convention as ``scipy.special.huber(delta, r)``.
    """
    delta = positive_scalar("delta", delta)
    r = finite_array("residual", residual)
    ar = np.abs(r)
    c = np.minimum(ar, delta)
    return c * (ar - 0.5 * c)


def _check_reduction(reduction: str) -> str:
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction = {reduction!r} must be 'sum' or 'mean'")
    return reduction


def _block_rows(n_points: int) -> int:
    return max(1, _BLOCK_ELEMENTS // max(n_points, 1))


def _fast_block(theta, x, y, lo, delta, w, xcols, ycols, buf):
    """Objective and gradient for rows whose exponents all lie in (-700, 700): no shift needed.

    ``buf`` is a ``(7, >= rows, n)`` scratch array, re-used across blocks and calls (fresh large
    temporaries cost page faults that dominated the run time).
    """
    kb = theta.shape[0]
    t1, t2, lp, r = buf[0, :kb], buf[1, :kb], buf[2, :kb], buf[3, :kb]
    a, b, e, al, be = theta.T
    np.multiply.outer(-al, x, out=t1)
    np.add(t1, a[:, None], out=t1)
    np.exp(t1, out=t1)  # A N^-alpha
    np.multiply.outer(-be, y, out=t2)
    np.add(t2, b[:, None], out=t2)
    np.exp(t2, out=t2)  # B D^-beta
    big_e = np.exp(e)
    np.add(t1, t2, out=lp)
    np.add(lp, big_e[:, None], out=lp)  # L_hat
    np.log(lp, out=r)
    np.subtract(r, lo, out=r)  # residual log L_hat - log L
    # Huber loss c (|r| - c/2) with c = min(|r|, delta)
    ar = buf[4, :kb]
    c = buf[5, :kb]
    np.abs(r, out=ar)
    np.minimum(ar, delta, out=c)
    np.multiply(c, 0.5, out=buf[6, :kb])
    np.subtract(ar, buf[6, :kb], out=ar)
    np.multiply(ar, c, out=ar)
    if w is not None:
        np.multiply(ar, w, out=ar)
    f = ar.sum(axis=1)
    np.clip(r, -delta, delta, out=r)  # Huber'(r)
    np.divide(r, lp, out=r)  # d Huber / d L_hat
    if w is not None:
        np.multiply(r, w, out=r)
    np.multiply(t1, r, out=t1)
    np.multiply(t2, r, out=t2)
    g = np.empty((kb, _N_THETA))
    g[:, 0::3] = t1 @ xcols  # d/da, d/dalpha
    g[:, 1::3] = t2 @ ycols  # d/db, d/dbeta
    g[:, 2] = big_e * r.sum(axis=1)  # d/de
    return f, g


def _stable_block(theta, x, y, lo, delta, w, xcols, ycols, buf=None):
    """Same as :func:`_fast_block` through an elementwise max-shifted log-sum-exp (any theta)."""
    a, b, e, al, be = theta.T
    u1 = a[:, None] - np.multiply.outer(al, x)
    u2 = b[:, None] - np.multiply.outer(be, y)
    u3 = np.broadcast_to(e[:, None], u1.shape)
    m = np.maximum(np.maximum(u1, u2), u3)
    with np.errstate(invalid="ignore", over="ignore"):
        t1 = np.exp(u1 - m)
        t2 = np.exp(u2 - m)
        t3 = np.exp(u3 - m)
        s = t1 + t2 + t3  # L_hat / exp(m), in [1, 3]
        r = m + np.log(s) - lo
        ar = np.abs(r)
        c = np.minimum(ar, delta)
        h = c * (ar - 0.5 * c)
        if w is not None:
            h = h * w
        f = h.sum(axis=1)
        q = np.clip(r, -delta, delta) / s
        if w is not None:
            q = q * w
        g = np.empty((r.shape[0], _N_THETA))
        g[:, 0::3] = (q * t1) @ xcols
        g[:, 1::3] = (q * t2) @ ycols
        g[:, 2] = (q * t3).sum(axis=1)
    return f, g


def _objective_rows(theta, x, y, lo, delta, weights, xcols, ycols, buf=None):
    """Sum-reduced objective and gradient for a (k, 5) batch, blocked over rows.

    ``buf``: optional scratch of shape ``(7, >= block rows, n)``, re-used between calls.
    """
    k = theta.shape[0]
    f = np.empty(k)
    g = np.empty((k, _N_THETA))
    a, b, e, al, be = theta.T
    # Per-row bounds of the three exponents (linear in log N, log D): decide if exp() is safe.
    xmin, xmax, ymin, ymax = x.min(), x.max(), y.min(), y.max()
    with np.errstate(invalid="ignore", over="ignore"):
        u1hi = a - np.minimum(al * xmin, al * xmax)
        u1lo = a - np.maximum(al * xmin, al * xmax)
        u2hi = b - np.minimum(be * ymin, be * ymax)
        u2lo = b - np.maximum(be * ymin, be * ymax)
        hi = np.maximum(np.maximum(u1hi, u2hi), e)
        low = np.maximum(np.maximum(u1lo, u2lo), e)
        fast = (hi < _EXP_SAFE) & (low > -_EXP_SAFE)
    step = _block_rows(x.size)
    if buf is None or buf.shape[1] < min(step, k):
        buf = np.empty((7, min(step, k), x.size))
    if fast.all():
        for start in range(0, k, step):
            sl = slice(start, start + step)
            w = None if weights is None else weights[sl]
            f[sl], g[sl] = _fast_block(theta[sl], x, y, lo, delta, w, xcols, ycols, buf)
        return f, g
    for mask, kernel in ((fast, _fast_block), (~fast, _stable_block)):
        idx = np.flatnonzero(mask)
        for start in range(0, idx.size, step):
            rows = idx[start:start + step]
            w = None if weights is None else weights[rows]
            f[rows], g[rows] = kernel(theta[rows], x, y, lo, delta, w, xcols, ycols, buf)
    return f, g


def _design(x: NDArray[np.float64], y: NDArray[np.float64]):
    xcols = np.stack([np.ones_like(x), -x], axis=1)
    ycols = np.stack([np.ones_like(y), -y], axis=1)
    return xcols, ycols


def approach3_objective(
    theta: ArrayLike,
    log_params: ArrayLike,
    log_tokens: ArrayLike,
    log_loss: ArrayLike,
    delta: float = HUBER_DELTA,
    *,
    reduction: Reduction = "sum",
    weights: ArrayLike | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Approach 3 objective of Hoffmann et al. (2022, Sec. 3.3, Eq. in D.2) and its exact gradient.

    ``sum_i w_i Huber_delta(LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i)``.

    theta: ``(a, b, e, alpha, beta)`` with ``a = log A``, ``b = log B``, ``e = log E`` (A, B, E in
        nats/token), shape ``(5,)``, or a batch of shape ``(k, 5)``.
    log_params, log_tokens, log_loss: natural logs of N [parameters], D [tokens], L [nats/token],
        1-D of equal length ``n``.
    delta: Huber threshold (Hoffmann et al. use 1e-3).
    reduction: ``"sum"`` (Hoffmann et al.) or ``"mean"`` (divide by the total weight).
    weights: optional non-negative weights per point, shape ``(n,)`` or ``(k, n)`` (a bootstrap
        resample is the same as integer weights = how often each run was drawn).

    Returns ``(value, gradient)``: shapes ``()`` and ``(5,)`` for one theta, ``(k,)`` and ``(k, 5)``
    for a batch. Numerically stable for any finite theta (log-sum-exp is shifted where needed).
    """
    delta = positive_scalar("delta", delta)
    _check_reduction(reduction)
    th = finite_array("theta", theta)
    single = th.ndim == 1
    if th.shape[-1:] != (_N_THETA,) or th.ndim > 2:
        raise ValueError(f"theta: expected shape (5,) or (k, 5), got {th.shape}")
    th = np.atleast_2d(th)
    x = finite_array("log_params", log_params).ravel()
    y = finite_array("log_tokens", log_tokens).ravel()
    lo = finite_array("log_loss", log_loss).ravel()
    n = same_length(log_params=x, log_tokens=y, log_loss=lo)
    w = None
    if weights is not None:
        w = finite_array("weights", weights)
        if np.any(w < 0):
            i = int(np.flatnonzero(np.ravel(w < 0))[0])
            raise ValueError(f"weights[{i}] = {float(np.ravel(w)[i])!r} is negative")
        if w.shape not in ((n,), (th.shape[0], n)):
            raise ValueError(f"weights: expected shape ({n},) or ({th.shape[0]}, {n}), got {w.shape}")
        w = np.ascontiguousarray(np.broadcast_to(w, (th.shape[0], n)))
    xcols, ycols = _design(x, y)
    f, g = _objective_rows(th, x, y, lo, delta, w, xcols, ycols)
    if reduction == "mean":
        total = float(n) if w is None else w.sum(axis=1)
        f = f / total
        g = g / np.reshape(total, (-1, 1))
    if single:
        return f[0], g[0]
    return f, g


# --- Starting points ---------------------------------------------------------------------------

def initial_grid() -> NDArray[np.float64]:
    """The 4500 L-BFGS starting points of Hoffmann et al. (2022, Appendix D.2), shape ``(4500, 5)``.

    Columns are ``(a, b, e, alpha, beta)`` (``a = log A``, ``b = log B``, ``e = log E``) with
    ``alpha, beta in {0, 0.5, 1, 1.5, 2}``, ``e in {-1, -0.5, 0, 0.5, 1}``,
    ``a, b in {0, 5, 10, 15, 20, 25}``. Order: nested loops ``alpha`` (outermost), ``beta``, ``e``,
    ``a``, ``b`` (innermost), i.e. row ``i`` has ``b`` cycling fastest.
    """
    exps = np.arange(0.0, 2.01, 0.5)
    es = np.arange(-1.0, 1.01, 0.5)
    ab = np.arange(0.0, 25.1, 5.0)
    al, be, e, a, b = np.meshgrid(exps, exps, es, ab, ab, indexing="ij")
    return np.stack([a.ravel(), b.ravel(), e.ravel(), al.ravel(), be.ravel()], axis=1)


# --- Batched L-BFGS ------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class BatchedLBFGSResult:
    """Per-problem outcome of :func:`batched_lbfgs` (``k`` problems of dimension ``p``).

    x: ``(k, p)`` final points; fun: ``(k,)`` objective there; grad: ``(k, p)`` gradient there;
    n_iter: ``(k,)`` accepted L-BFGS iterations; n_eval: ``(k,)`` objective evaluations;
    status: ``(k,)`` codes indexing :data:`STATUS` (0 gtol, 1 ftol, 2 max_iter, 3 line search
    failed).
    """

    x: NDArray[np.float64]
    fun: NDArray[np.float64]
    grad: NDArray[np.float64]
    n_iter: NDArray[np.int64]
    n_eval: NDArray[np.int64]
    status: NDArray[np.int64]

    @property
    def converged(self) -> NDArray[np.bool_]:
        """True where a problem stopped on the gradient or relative-decrease test."""
        return self.status <= 1


def _two_loop(g, S, Y, rho, count, memory):
    """L-BFGS two-loop recursion (Nocedal & Wright 2006, Alg. 7.4), vectorised over problems.

    History slots are ordered oldest -> newest along axis 1; the newest ``count`` are valid.
    """
    q = g.copy()
    alphas = np.zeros((g.shape[0], memory))
    first_valid = memory - count
    for j in range(memory - 1, -1, -1):
        valid = j >= first_valid
        if not valid.any():
            break
        r = np.where(valid, rho[:, j], 0.0)
        al = r * np.einsum("ij,ij->i", S[:, j], q)
        q -= al[:, None] * Y[:, j]
        alphas[:, j] = al
    sy = np.einsum("ij,ij->i", S[:, -1], Y[:, -1])
    yy = np.einsum("ij,ij->i", Y[:, -1], Y[:, -1])
    gamma = np.where(count > 0, sy / np.where(yy > 0, yy, 1.0), 1.0)
    q *= gamma[:, None]
    for j in range(memory):
        valid = j >= first_valid
        if not valid.any():
            continue
        r = np.where(valid, rho[:, j], 0.0)
        bta = r * np.einsum("ij,ij->i", Y[:, j], q)
        q += (alphas[:, j] - bta)[:, None] * S[:, j]
    return -q


def _wolfe_search(fun, act, xa, fa, d, gd, t, c1, c2, max_trials):
    """Batched weak-Wolfe line search by bracketing (Nocedal & Wright 2006, Sec. 3.5; Lewis &
    Overton 2013): for every problem find ``t`` with ``f(x + t d) <= f + c1 t g.d`` (sufficient
    decrease) and ``g(x + t d).d >= c2 g.d`` (curvature). Too long a step shrinks the bracket by
    safeguarded quadratic interpolation, too short a step extrapolates (x4) or bisects.
    If ``max_trials`` run out, the best sufficient-decrease point seen is accepted, if any.

    Returns ``(done, x_new, f_new, g_new, n_evals)`` per problem.
    """
    k, p = xa.shape
    new_x = np.empty_like(xa)
    new_f = np.full(k, np.nan)
    new_g = np.empty_like(xa)
    done = np.zeros(k, dtype=bool)
    used = np.zeros(k, dtype=np.int64)
    t_lo = np.zeros(k)
    f_lo = fa.copy()
    d_lo = gd.copy()
    t_hi = np.full(k, np.inf)
    have_lo = np.zeros(k, dtype=bool)
    pend = np.arange(k)
    for _ in range(max_trials):
        tp = t[pend]
        xt = xa[pend] + tp[:, None] * d[pend]
        ft, gt = fun(xt, act[pend])
        used[pend] += 1
        with np.errstate(invalid="ignore"):
            dt = np.einsum("ij,ij->i", gt, d[pend])
            finite = np.isfinite(ft) & np.isfinite(dt)
            armijo = finite & (ft <= fa[pend] + c1 * tp * gd[pend])
            curv = dt >= c2 * gd[pend]
        ok = armijo & curv
        acc = pend[ok]
        new_x[acc], new_f[acc], new_g[acc] = xt[ok], ft[ok], gt[ok]
        done[acc] = True
        # sufficient decrease but too short: raise the lower end of the bracket
        short = armijo & ~curv
        sp = pend[short]
        t_lo[sp], f_lo[sp], d_lo[sp] = tp[short], ft[short], dt[short]
        new_x[sp], new_f[sp], new_g[sp] = xt[short], ft[short], gt[short]
        have_lo[sp] = True
        longs = ~armijo
        lp = pend[longs]
        t_hi[lp] = tp[longs]
        f_hi = ft[longs]
        pend_next = pend[~ok]
        if pend_next.size == 0:
            break
        # next trial step
        t_sp = np.where(np.isinf(t_hi[sp]), 4.0 * t_lo[sp], 0.5 * (t_lo[sp] + t_hi[sp]))
        t[sp] = t_sp
        if lp.size:
            h = t_hi[lp] - t_lo[lp]
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                denom = 2.0 * (f_hi - f_lo[lp] - d_lo[lp] * h)
                tq = t_lo[lp] - d_lo[lp] * h * h / denom
            lo_b, hi_b = t_lo[lp] + 0.1 * h, t_lo[lp] + 0.5 * h
            tq = np.where(np.isfinite(tq), tq, hi_b)
            t[lp] = np.clip(tq, lo_b, hi_b)
        pend = pend_next
    # out of trials: take the best sufficient-decrease point, if one was seen
    fallback = ~done & have_lo
    done |= fallback
    return done, new_x, new_f, new_g, used


def batched_lbfgs(
    fun: Callable[[NDArray[np.float64], NDArray[np.intp]], tuple[NDArray[np.float64], NDArray[np.float64]]],
    x0: ArrayLike,
    *,
    memory: int = 10,
    gtol: float = SCIPY_GTOL,
    ftol: float = SCIPY_FTOL,
    max_iter: int = 15000,
    max_linesearch: int = 30,
    c1: float = 1e-4,
    c2: float = 0.9,
) -> BatchedLBFGSResult:
    """Minimise ``k`` independent smooth problems at once with L-BFGS (Nocedal & Wright 2006, Ch. 7).

    fun: ``fun(X, rows) -> (f, G)`` evaluates problems ``rows`` (indices into the batch) at points
        ``X`` of shape ``(len(rows), p)``; returns values ``(len(rows),)`` and gradients.
    x0: starting points, shape ``(k, p)``.
    memory: number of correction pairs kept per problem (scipy's ``maxcor``, default 10).
    gtol, ftol, max_iter: stopping rules of scipy's L-BFGS-B (same defaults): a problem stops when
        ``max |g| <= gtol``, when ``(f_old - f_new) / max(|f_old|, |f_new|, 1) <= ftol``, or after
        ``max_iter`` iterations. Both tolerances are absolute for objectives below 1, which is what
        makes the scale of the objective matter (see :func:`fit_approach3`, ``reduction``).
    max_linesearch: line-search trials per iteration; if no acceptable step is found the history
        is dropped (then, if a steepest-descent step fails too, the problem stops with status 3).
    c1, c2: sufficient-decrease and curvature constants of the (weak) Wolfe conditions.

    Each problem keeps its own history and runs its own Wolfe line search (unit step; a step of
    unit length ``1/||d||`` when there is no history, as L-BFGS-B does; see
    ``_wolfe_search``); the problems still running are evaluated together, one call of ``fun``
    per line-search trial. Unlike scipy's L-BFGS-B there are no bounds and the line search is a
    bracketing one rather than Moré-Thuente, so from the same start the two can take different
    paths and, on a multi-modal objective, end in different local minima.
    """
    x = np.array(x0, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"x0: expected shape (k, p), got {x.shape}")
    k, p = x.shape
    memory = positive_int("memory", memory)
    max_iter = positive_int("max_iter", max_iter)
    all_rows = np.arange(k)
    f, g = fun(x, all_rows)
    f = np.array(f, dtype=float)
    g = np.array(g, dtype=float)
    n_eval = np.ones(k, dtype=np.int64)
    n_iter = np.zeros(k, dtype=np.int64)
    status = np.full(k, -1, dtype=np.int64)
    status[np.max(np.abs(g), axis=1) <= gtol] = 0
    S = np.zeros((k, memory, p))
    Y = np.zeros((k, memory, p))
    rho = np.zeros((k, memory))
    count = np.zeros(k, dtype=np.int64)
    eps = np.finfo(float).eps

    while True:
        act = np.flatnonzero(status < 0)
        if act.size == 0:
            break
        ga = g[act]
        cnt = count[act]
        d = _two_loop(ga, S[act], Y[act], rho[act], cnt, memory)
        gd = np.einsum("ij,ij->i", ga, d)
        bad = ~(gd < 0) | ~np.isfinite(gd)
        if bad.any():  # not a descent direction: drop the history, use steepest descent
            d[bad] = -ga[bad]
            gd[bad] = -np.einsum("ij,ij->i", ga[bad], ga[bad])
            cnt[bad] = 0
            count[act[bad]] = 0
        # unit step, or a step of unit length 1/||d|| without history (as L-BFGS-B does)
        t = np.where(cnt > 0, 1.0, 1.0 / np.sqrt(np.einsum("ij,ij->i", d, d)))
        fa, xa = f[act], x[act]
        ls = _wolfe_search(fun, act, xa, fa, d, gd, t, c1, c2, max_linesearch)
        done, new_x, new_f, new_g, used = ls
        n_eval[act] += used

        # failed line searches: drop history (retry with steepest descent) or stop
        failed = np.flatnonzero(~done)
        if failed.size:
            rows = act[failed]
            had = count[rows] > 0
            count[rows[had]] = 0
            status[rows[~had]] = 3
        ok_idx = np.flatnonzero(done)
        if ok_idx.size == 0:
            continue
        rows = act[ok_idx]
        s = new_x[ok_idx] - xa[ok_idx]
        yv = new_g[ok_idx] - ga[ok_idx]
        f_old = fa[ok_idx]
        f_new = new_f[ok_idx]
        x[rows], f[rows], g[rows] = new_x[ok_idx], f_new, new_g[ok_idx]
        n_iter[rows] += 1
        sy = np.einsum("ij,ij->i", s, yv)
        yy = np.einsum("ij,ij->i", yv, yv)
        upd = sy > eps * yy  # curvature condition (L-BFGS-B skips the pair otherwise)
        if upd.any():
            ur = rows[upd]
            S[ur, :-1] = S[ur, 1:]
            Y[ur, :-1] = Y[ur, 1:]
            rho[ur, :-1] = rho[ur, 1:]
            S[ur, -1] = s[upd]
            Y[ur, -1] = yv[upd]
            rho[ur, -1] = 1.0 / sy[upd]
            count[ur] = np.minimum(count[ur] + 1, memory)
        # stopping rules, in L-BFGS-B's order
        gstop = np.max(np.abs(new_g[ok_idx]), axis=1) <= gtol
        fstop = (f_old - f_new) <= ftol * np.maximum(np.maximum(np.abs(f_old), np.abs(f_new)), 1.0)
        istop = n_iter[rows] >= max_iter
        st = np.where(gstop, 0, np.where(fstop, 1, np.where(istop, 2, -1)))
        status[rows] = st
    return BatchedLBFGSResult(x=x, fun=f, grad=g, n_iter=n_iter, n_eval=n_eval, status=status)


# --- Fitting -----------------------------------------------------------------------------------

def _validate_runs(params: ArrayLike, tokens: ArrayLike, loss: ArrayLike):
    n, d, lo = runs_arrays(params, tokens, loss)
    npts = n.size
    if npts < _N_THETA:
        raise ValueError(
            f"params, tokens, loss: {npts} runs given; need at least {_N_THETA} to fit 5 constants"
        )
    distinct = np.unique(np.stack([n, d], axis=1), axis=0).shape[0]
    if distinct < _N_THETA:
        raise ValueError(
            f"params, tokens: the {npts} runs have only {distinct} distinct (N, D) pair(s); "
            f"need at least {_N_THETA} to fit 5 constants"
        )
    return np.log(n), np.log(d), np.log(lo)


def _validate_starts(starts: ArrayLike | None) -> NDArray[np.float64]:
    if starts is None:
        return initial_grid()
    s = finite_array("starts", starts)
    if s.ndim == 1:
        s = s[None, :]
    if s.ndim != 2 or s.shape[1] != _N_THETA or s.shape[0] == 0:
        raise ValueError(f"starts: expected shape (k, 5) with k >= 1, got {np.shape(starts)}")
    return s


def _make_fun(x, y, lo, delta, reduction, weights=None, weight_row=None):
    """``fun(X, rows)`` for :func:`batched_lbfgs`; ``weights[weight_row[rows]]`` weights a row."""
    xcols, ycols = _design(x, y)
    n = x.size
    buf = np.empty((7, _block_rows(n), n))
    if weights is None:
        scale = 1.0 / n if reduction == "mean" else 1.0
    else:
        totals = weights.sum(axis=1)

    def fun(theta, rows):
        if weights is None:
            f, g = _objective_rows(theta, x, y, lo, delta, None, xcols, ycols, buf)
            if scale != 1.0:
                f *= scale
                g *= scale
            return f, g
        wr = weight_row[rows]
        f, g = _objective_rows(theta, x, y, lo, delta, weights[wr], xcols, ycols, buf)
        if reduction == "mean":
            f /= totals[wr]
            g /= totals[wr, None]
        return f, g

    return fun


@dataclass(frozen=True, eq=False)
class Approach3Fit(AllocationExponents):
    """Best Approach 3 fit (Hoffmann et al. 2022, Sec. 3.3) over a set of L-BFGS starts.

    E [nats/token], A, B [nats/token], alpha, beta [dimensionless]: the fitted law
    ``L = E + A N^-alpha + B D^-beta``. theta: the best ``(a, b, e, alpha, beta)`` =
    ``(log A, log B, log E, alpha, beta)``. objective: the minimised objective there (a sum or a
    mean of Huber losses, see ``reduction``). n_points: runs fitted; n_starts: starts tried;
    n_converged: starts that met a stopping tolerance (``gtol`` or ``ftol``; the others hit
    ``max_iter`` or failed their line search). n_iter, status: iterations and stop reason
    (a :data:`STATUS` name) of the best start. start_*: per-start starting points (``start_x0``),
    end points (``start_theta``), objectives, iterations and status codes (into :data:`STATUS`),
    in the order of the starts. log_data: ``(log N, log D, log L)`` of the runs, kept for
    :attr:`identification`; max_a_width: the widest near-optimal range of ``a`` called identified.
    identified, near_optimal_ranges, near_optimal_rtol, identification: what the data determine
    (see :class:`Approach3Identification`).
    """

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    objective: float
    theta: NDArray[np.float64]
    n_points: int
    n_starts: int
    n_converged: int
    n_iter: int
    status: str
    delta: float
    reduction: str
    start_x0: NDArray[np.float64] = field(repr=False)
    start_theta: NDArray[np.float64] = field(repr=False)
    start_objective: NDArray[np.float64] = field(repr=False)
    start_n_iter: NDArray[np.int64] = field(repr=False)
    start_status: NDArray[np.int64] = field(repr=False)
    log_data: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]] | None = field(
        default=None, repr=False)
    max_a_width: float = field(default=0.1, repr=False)

    @property
    def near_optimal_rtol(self) -> float:
        """Relative objective tolerance of the near-optimal set: see :func:`near_optimal_rtol`."""
        return near_optimal_rtol(self.n_points)

    @cached_property
    def identification(self) -> "Approach3Identification":
        """Which constants the data determine: profiles of the objective, near-optimal ranges and a
        verdict (:class:`Approach3Identification`). Computed on first access (about a second for a
        few hundred runs) and cached."""
        return _identify(self)

    @property
    def identified(self) -> bool:
        """True when every constant is bounded within the near-optimal set and the range of ``a`` is
        narrower than ``max_a_width``; the reason is ``identification.reason``."""
        return self.identification.identified

    @property
    def near_optimal_ranges(self) -> dict[str, tuple[float, float]]:
        """``(low, high)`` of ``E, A, B, alpha, beta, a, b`` over the near-optimal set (fits whose
        objective is within :attr:`near_optimal_rtol` of the best); ``0`` or ``inf`` where unbounded."""
        return self.identification.ranges

    @property
    def law(self) -> ChinchillaLaw:
        """The fit as a :class:`~smallest_loss.laws.chinchilla.ChinchillaLaw` named ``"fit"``.

        Raises ``ValueError`` (from ``ChinchillaLaw``) if a fitted exponent is not positive.
        """
        return ChinchillaLaw(
            E=self.E, A=self.A, B=self.B, alpha=self.alpha, beta=self.beta, name="fit",
            source=(
                f"Approach 3 fit (Hoffmann et al. 2022, Sec. 3.3) to {self.n_points} runs, "
                f"Huber delta={self.delta:g}, {self.reduction}-reduced, best of {self.n_starts} starts"
            ),
        )

    def as_dict(self) -> dict[str, float]:
        """The constants and allocation exponents, keyed ``E, A, B, alpha, beta, a, b``."""
        return {k: float(getattr(self, k)) for k in _CONSTANTS}


_CONSTANTS = ("E", "A", "B", "alpha", "beta", "a", "b")


def _fit_from_result(res: BatchedLBFGSResult, x0: NDArray[np.float64], n_points: int,
                     delta: float, reduction: str, log_data=None, max_a_width: float = 0.1) -> Approach3Fit:
    rows = np.arange(x0.shape[0])
    fun = res.fun[rows]
    finite = np.isfinite(fun) & np.all(np.isfinite(res.x[rows]), axis=1)
    if not finite.any():
        raise ValueError("approach 3: every L-BFGS start diverged (non-finite objective); "
                         "check that the losses follow a power law in params and tokens")
    best_local = int(np.argmin(np.where(finite, fun, np.inf)))
    best = int(rows[best_local])
    th = res.x[best].copy()
    with np.errstate(over="ignore"):
        consts = np.exp(th[:3])
    return Approach3Fit(
        E=float(consts[2]), A=float(consts[0]), B=float(consts[1]),
        alpha=float(th[3]), beta=float(th[4]), objective=float(res.fun[best]), theta=th,
        n_points=n_points, n_starts=int(rows.size),
        n_converged=int(np.count_nonzero(res.status[rows] <= 1)),
        n_iter=int(res.n_iter[best]), status=STATUS[int(res.status[best])],
        delta=delta, reduction=reduction,
        start_x0=x0.copy(), start_theta=res.x[rows].copy(), start_objective=fun.copy(),
        start_n_iter=res.n_iter[rows].copy(), start_status=res.status[rows].copy(),
        log_data=log_data, max_a_width=max_a_width,
    )


def fit_approach3(
    params: ArrayLike,
    tokens: ArrayLike,
    loss: ArrayLike,
    *,
    delta: float = HUBER_DELTA,
    starts: ArrayLike | None = None,
    reduction: Reduction = "sum",
    max_iter: int = 15000,
    gtol: float = SCIPY_GTOL,
    ftol: float = SCIPY_FTOL,
    memory: int = 10,
    max_a_width: float = 0.1,
) -> Approach3Fit:
    """Fit ``L = E + A N^-alpha + B D^-beta`` as Hoffmann et al. (2022, Sec. 3.3, App. D.2) do.

    params: N [parameters]; tokens: D [tokens]; loss: final loss L [nats/token]; 1-D, same length,
        at least 5 runs, all finite and positive.
    delta: Huber threshold on log-loss residuals (1e-3 in Hoffmann et al.).
    starts: L-BFGS starting points ``(k, 5)`` as ``(a, b, e, alpha, beta)``; default
        :func:`initial_grid` (Hoffmann's 4500 starts). The lowest objective is kept.
    reduction: ``"sum"`` of Huber losses (Hoffmann et al.) or ``"mean"``. The stopping rule is the
        same in both cases (absolute ``gtol`` on the gradient, ``ftol`` on the decrease, scipy's
        L-BFGS-B defaults), so ``"mean"`` -- whose objective and gradient are ``n`` times smaller --
        stops earlier, typically at a worse fit: the loss-scale pitfall discussed by Besiroglu et al.
        (2024). Compare ``n_iter`` / ``start_n_iter`` and ``objective`` of the two.
    max_iter, gtol, ftol, memory: L-BFGS settings (scipy's L-BFGS-B defaults).

    max_a_width: the widest near-optimal range of ``a`` still called identified (see below).

    All starts are optimised together by :func:`batched_lbfgs` with the analytic gradient.

    Identifiability. The best point is not always the whole answer: on a narrow design the
    objective has a flat ridge along which very different constants fit equally well. The returned
    fit's ``identified``, ``near_optimal_ranges`` and ``identification`` (computed on first access)
    report the near-optimal set -- the constants whose objective is within a relative
    :func:`near_optimal_rtol` of the best -- from the profile of the objective in each constant and
    in ``a``, and from the starts that ended inside the set. See :class:`Approach3Identification`.
    Raises ``ValueError`` for fewer than 5 runs or fewer than 5 distinct ``(N, D)`` pairs.
    """
    delta = positive_scalar("delta", delta)
    max_a_width = positive_scalar("max_a_width", max_a_width)
    reduction = _check_reduction(reduction)
    x, y, lo = _validate_runs(params, tokens, loss)
    x0 = _validate_starts(starts)
    gtol = positive_scalar("gtol", gtol)
    ftol = positive_scalar("ftol", ftol)
    fun = _make_fun(x, y, lo, delta, reduction)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = batched_lbfgs(fun, x0, memory=memory, gtol=gtol, ftol=ftol, max_iter=max_iter)
    return _fit_from_result(res, x0, x.size, delta, reduction, log_data=(x, y, lo),
                            max_a_width=max_a_width)


# --- Identifiability ---------------------------------------------------------------------------

NEAR_OPTIMAL_LEVEL = 0.95
"""Level of the near-optimal set (see :func:`near_optimal_rtol`)."""

_CHI2_1_95 = 3.841458820694124  # 95% quantile of the chi-square distribution with 1 degree of freedom

MAX_A_WIDTH = 0.1
"""Default widest near-optimal range of ``a = beta / (alpha + beta)`` still called identified: a
range of 0.1 (e.g. 0.45-0.55) is the coarsest that still tells equal scaling (a = 0.5) from
Hoffmann et al.'s Approach 3 (0.46) or Kaplan et al.'s 0.73."""


def near_optimal_rtol(n_points: int) -> float:
    """Relative objective tolerance ``chi2_1(0.95) / (2 n)`` of the near-optimal set of ``n`` runs.

    Reading the Huber sum as a Laplace log-likelihood whose scale is fitted (the Huber loss is linear
    for residuals beyond ``delta = 1e-3``, where most log-loss residuals of real runs lie), the
    log-likelihood is ``n f / f_best`` up to a constant, and the usual 95% likelihood-ratio bound
    (a drop of ``chi2_1(0.95) / 2 = 1.92``; Wilks 1938) becomes ``f <= f_best (1 + 1.92 / n)``.
    Constants inside that set fit the runs as well as the data can tell; a profile-likelihood
    interval in this sense is what Raue et al. (2009, Bioinformatics 25:1923) use to call a
    parameter practically identifiable (bounded interval) or not.
    """
    n = positive_int("n_points", n_points)
    return _CHI2_1_95 / (2.0 * n)


_PROFILE_NAMES = ("A", "B", "E", "alpha", "beta", "a")
_PROFILE_INDEX = {"A": 0, "B": 1, "E": 2, "alpha": 3, "beta": 4}
_PROFILE_OFFSETS = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0])
# exponents: offsets in ln(alpha) up to 5 (a factor of about 150)
_MAX_EXPONENT_OFFSET = 5.0


@dataclass(frozen=True, eq=False)
class Approach3Identification:
    """What the data determine about an Approach 3 fit (see :func:`fit_approach3`).

    rtol: relative tolerance of the near-optimal set (:func:`near_optimal_rtol`); threshold: the
    objective bound ``best * (1 + rtol)``, where ``best`` is the lowest objective seen (the fit's, or
    a lower one found while profiling: then ``better_optimum_found``).
    ranges: ``(low, high)`` per constant ``E, A, B, alpha, beta, a, b`` over the near-optimal set:
    the hull of the profile interval and of the starts that ended inside the set; ``0.0`` or
    ``inf`` (``0`` or ``1`` for ``a``, ``b``) where the set reaches the edge of the profiled range,
    i.e. the constant is not bounded by the data. profiles: per constant (and ``a``), a table of
    the fixed value and the lowest objective with that value held fixed (the other constants
    refitted). n_near_optimal_starts: starts of the fit whose end points lie in the set.
    n_distinct_params, n_distinct_tokens: distinct N and D values in the runs.
    identified: every one of ``E, A, B, alpha, beta`` bounded and the range of ``a`` narrower than
    ``max_a_width``. reason: one line saying why (or why not).
    """

    rtol: float
    threshold: float
    ranges: dict[str, tuple[float, float]]
    profiles: dict[str, Any] = field(repr=False)
    n_near_optimal_starts: int
    n_distinct_params: int
    n_distinct_tokens: int
    better_optimum_found: bool
    identified: bool
    reason: str


def _profile_grid(name: str, th: NDArray[np.float64], alpha: float, beta: float) -> NDArray[np.float64]:
    """Fixed values of the profiled quantity in its working coordinate (log for A, B, E, alpha,
    beta; logit for a), centred on the optimum."""
    offs = np.concatenate([-_PROFILE_OFFSETS[::-1], _PROFILE_OFFSETS])
    if name in ("A", "B", "E"):
        return th[_PROFILE_INDEX[name]] + offs
    if name in ("alpha", "beta"):
        keep = np.abs(offs) <= _MAX_EXPONENT_OFFSET
        return np.log(max(th[_PROFILE_INDEX[name]], 1e-3)) + offs[keep]
    a = beta / (alpha + beta) if alpha > 0 and beta > 0 else 0.5
    a = min(max(a, 1e-3), 1.0 - 1e-3)
    return np.log(a / (1.0 - a)) + offs


def _full_theta(name: str, phi: NDArray[np.float64], value: NDArray[np.float64]) -> NDArray[np.float64]:
    """Map the 4 free coordinates ``phi`` of a profile problem and its fixed ``value`` to theta."""
    k = phi.shape[0]
    th = np.empty((k, _N_THETA))
    if name == "a":
        ratio = np.exp(value)  # a / (1 - a) = beta / alpha
        th[:, :4] = phi
        th[:, 4] = ratio * phi[:, 3]
        return th
    j = _PROFILE_INDEX[name]
    free = [i for i in range(_N_THETA) if i != j]
    th[:, free] = phi
    th[:, j] = np.exp(value) if name in ("alpha", "beta") else value
    return th


def _reduced_grad(name: str, g: NDArray[np.float64], value: NDArray[np.float64]) -> NDArray[np.float64]:
    if name == "a":
        out = g[:, :4].copy()
        out[:, 3] += np.exp(value) * g[:, 4]
        return out
    j = _PROFILE_INDEX[name]
    return np.delete(g, j, axis=1)


def _working(name: str, th: NDArray[np.float64]) -> NDArray[np.float64]:
    """The profiled quantity of each theta row, in its working coordinate."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "a":
            return np.log(th[:, 4] / th[:, 3])
        if name in ("alpha", "beta"):
            return np.log(th[:, _PROFILE_INDEX[name]])
        return th[:, _PROFILE_INDEX[name]]


def _profile_starts(name: str, value: float, candidates: NDArray[np.float64]) -> NDArray[np.float64]:
    """Two free-coordinate starts for a profile problem: the optimum (``candidates[0]``) moved onto
    the constraint, and the candidate end point closest to ``value`` moved onto it."""
    w = _working(name, candidates)
    dist = np.where(np.isfinite(w), np.abs(w - value), np.inf)
    picks = [candidates[0], candidates[int(np.argmin(dist))]]
    out = []
    for th in picks:
        th = th.copy()
        if name == "a":
            total = th[3] + th[4]
            a = 1.0 / (1.0 + np.exp(-value))
            th[3], th[4] = total * (1.0 - a), total * a
            out.append(th[:4])
        else:
            out.append(np.delete(th, _PROFILE_INDEX[name]))
    return np.array(out)


def _natural(name: str, w: NDArray[np.float64]) -> NDArray[np.float64]:
    """Working coordinate back to the constant itself."""
    with np.errstate(over="ignore"):
        if name == "a":
            return 1.0 / (1.0 + np.exp(-w))
        return np.exp(w)


_EDGES = {"E": (0.0, np.inf), "A": (0.0, np.inf), "B": (0.0, np.inf), "alpha": (0.0, np.inf),
          "beta": (0.0, np.inf), "a": (0.0, 1.0)}


def _profile_interval(name, grid, prof, f_thr, f_best):
    """Near-optimal interval of one profile: the outermost grid values inside the threshold,
    extended to the crossing by interpolation in ``sqrt(f - f_best)`` (exact for a quadratic
    profile); the edge of the domain where the last grid value is still inside."""
    inside = np.isfinite(prof) & (prof <= f_thr)
    centre = grid.size // 2  # grid is symmetric around the optimum, which is not on it
    lo_edge, hi_edge = _EDGES[name]
    root = np.sqrt(max(f_thr - f_best, 0.0))

    def cross(i_in, i_out):
        r_in = np.sqrt(max(prof[i_in] - f_best, 0.0))
        r_out = np.sqrt(max(prof[i_out] - f_best, 0.0)) if np.isfinite(prof[i_out]) else np.inf
        if not np.isfinite(r_out) or r_out <= r_in:
            return grid[i_in]
        t = (root - r_in) / (r_out - r_in)
        return grid[i_in] + t * (grid[i_out] - grid[i_in])

    idx = np.flatnonzero(inside)
    if idx.size == 0:  # the profile rises above the threshold right next to the optimum
        lo_w = cross_from_optimum(grid, prof, centre - 1, f_best, root, side=-1)
        hi_w = cross_from_optimum(grid, prof, centre, f_best, root, side=1)
        return float(_natural(name, np.array([lo_w]))[0]), float(_natural(name, np.array([hi_w]))[0])
    lo_i, hi_i = int(idx.min()), int(idx.max())
    if lo_i == 0:
        lo = lo_edge
    else:
        lo = float(_natural(name, np.array([cross(lo_i, lo_i - 1)]))[0])
    if hi_i == grid.size - 1:
        hi = hi_edge
    else:
        hi = float(_natural(name, np.array([cross(hi_i, hi_i + 1)]))[0])
    if lo_i >= centre:  # nothing inside below the optimum: interpolate between optimum and grid
        lo = float(_natural(name, np.array([cross_from_optimum(grid, prof, centre - 1, f_best, root, -1)]))[0])
    if hi_i < centre:
        hi = float(_natural(name, np.array([cross_from_optimum(grid, prof, centre, f_best, root, 1)]))[0])
    return lo, hi


def cross_from_optimum(grid, prof, i_out, f_best, root, side):
    """Crossing between the optimum (working value midway between the two central grid points,
    objective ``f_best``) and grid point ``i_out`` outside the threshold."""
    centre_w = 0.5 * (grid[grid.size // 2 - 1] + grid[grid.size // 2])
    r_out = np.sqrt(max(prof[i_out] - f_best, 0.0)) if np.isfinite(prof[i_out]) else np.inf
    if not np.isfinite(r_out) or r_out <= root:
        return grid[i_out]
    return centre_w + (root / r_out) * (grid[i_out] - centre_w)


def _identify(fit: Approach3Fit) -> Approach3Identification:
    """Profiles, near-optimal ranges and the identifiability verdict of ``fit``."""
    import pandas as pd

    if fit.log_data is None:
        raise ValueError("this Approach3Fit carries no data (log_data is None): refit with fit_approach3")
    x, y, lo = fit.log_data
    rtol = near_optimal_rtol(fit.n_points)
    fun5 = _make_fun(x, y, lo, fit.delta, fit.reduction)
    # candidate warm starts: the optimum, then the starts' end points that fit nearly as well
    fo = np.where(np.isfinite(fit.start_objective), fit.start_objective, np.inf)
    ok = (fo <= fit.objective * (1.0 + 10.0 * rtol)) & np.all(np.isfinite(fit.start_theta), axis=1)
    ok &= (fit.start_theta[:, 3] > 0) & (fit.start_theta[:, 4] > 0)
    candidates = np.vstack([fit.theta[None, :], fit.start_theta[ok]])
    grids, blocks, names, values = {}, [], [], []
    for name in _PROFILE_NAMES:
        grid = _profile_grid(name, fit.theta, fit.alpha, fit.beta)
        grids[name] = grid
        for v in grid:
            st = _profile_starts(name, float(v), candidates)
            blocks.append(st)
            names.extend([name] * st.shape[0])
            values.extend([float(v)] * st.shape[0])
    phi0 = np.vstack(blocks)
    names_arr = np.array(names)
    values_arr = np.array(values)
    groups = {name: np.flatnonzero(names_arr == name) for name in _PROFILE_NAMES}

    def fun(phi, rows):
        f = np.empty(rows.size)
        g = np.empty((rows.size, 4))
        for name, members in groups.items():
            sel = np.flatnonzero(np.isin(rows, members))
            if sel.size == 0:
                continue
            v = values_arr[rows[sel]]
            th = _full_theta(name, phi[sel], v)
            fs, gs = fun5(th, rows[sel])
            f[sel] = fs
            g[sel] = _reduced_grad(name, gs, v)
        return f, g

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = batched_lbfgs(fun, phi0, gtol=BOOTSTRAP_GTOL, ftol=BOOTSTRAP_FTOL, max_iter=3000)
    fvals = np.where(np.isfinite(res.fun), res.fun, np.inf)
    profiles = {}
    best_seen = float(fit.objective)
    for name in _PROFILE_NAMES:
        grid = grids[name]
        prof = np.array([fvals[groups[name]][values_arr[groups[name]] == v].min() for v in grid])
        profiles[name] = pd.DataFrame({"value": _natural(name, grid), "objective": prof})
        best_seen = min(best_seen, float(np.min(prof)))
    better = best_seen < fit.objective * (1.0 - 1e-6)
    f_thr = best_seen * (1.0 + rtol)
    ranges = {}
    for name in _PROFILE_NAMES:
        prof = profiles[name]["objective"].to_numpy()
        ranges[name] = _profile_interval(name, grids[name], prof, f_thr, best_seen)
    # hull with the starts that ended inside the near-optimal set
    inside = (fo <= f_thr) & np.all(np.isfinite(fit.start_theta), axis=1)
    inside &= (fit.start_theta[:, 3] > 0) & (fit.start_theta[:, 4] > 0)  # the law's domain
    th_in = np.vstack([fit.theta[None, :], fit.start_theta[inside]])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        vals = {"A": np.exp(th_in[:, 0]), "B": np.exp(th_in[:, 1]), "E": np.exp(th_in[:, 2]),
                "alpha": th_in[:, 3], "beta": th_in[:, 4],
                "a": params_exponent(th_in[:, 3], th_in[:, 4])}
    for name, v in vals.items():
        v = v[np.isfinite(v)]
        lo_r, hi_r = ranges[name]
        if v.size:
            ranges[name] = (float(min(lo_r, v.min())), float(max(hi_r, v.max())))
    a_lo, a_hi = ranges["a"]
    ranges["b"] = (1.0 - a_hi, 1.0 - a_lo)
    ranges = {k: ranges[k] for k in _CONSTANTS}

    n_n = int(np.unique(x).size)
    n_d = int(np.unique(y).size)
    problems = []
    if n_n < 2:
        problems.append("all runs have one model size N, so E and A N^-alpha cannot be told apart")
    if n_d < 2:
        problems.append("all runs have one token count D, so E and B D^-beta cannot be told apart")
    if not (fit.alpha > 0 and fit.beta > 0):
        problems.append(f"fitted exponents alpha = {fit.alpha:.3g}, beta = {fit.beta:.3g} are not both positive")
    unbounded = [k for k in ("E", "A", "B", "alpha", "beta")
                 if ranges[k][0] <= 0.0 or not np.isfinite(ranges[k][1])]
    if unbounded:
        problems.append("not bounded by the data: " + ", ".join(
            f"{k} in [{ranges[k][0]:.3g}, {ranges[k][1]:.3g}]" for k in unbounded))
    if not (a_hi - a_lo < fit.max_a_width):
        problems.append(f"a anywhere in [{a_lo:.3f}, {a_hi:.3f}] (wider than {fit.max_a_width:g})")
    level = f"objective within {100 * rtol:.2g}% of the best, the {NEAR_OPTIMAL_LEVEL:.0%} likelihood-ratio bound"
    if problems:
        reason = "not identified: " + "; ".join(problems) + f" ({level})"
    else:
        reason = f"identified: every constant bounded and a in [{a_lo:.3f}, {a_hi:.3f}] ({level})"
    if better:
        reason += f"; profiling found a lower objective {best_seen:.8g} than the fit's {fit.objective:.8g}"
    return Approach3Identification(
        rtol=rtol, threshold=f_thr, ranges=ranges, profiles=profiles,
        n_near_optimal_starts=int(np.count_nonzero(inside)), n_distinct_params=n_n,
        n_distinct_tokens=n_d, better_optimum_found=bool(better), identified=not problems,
        reason=reason,
    )


# --- Bootstrap ---------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Approach3Bootstrap:
    """Nonparametric bootstrap of the Approach 3 fit (resampling runs with replacement), as done by
    Besiroglu et al. (2024, arXiv:2404.10102) to get standard errors for Hoffmann et al.'s constants.

    fit: the fit to the full data. E, A, B [nats/token], alpha, beta, a, b: ``(n_bootstrap,)``
    arrays, one refit per resample. objective: refit objective per resample; converged: whether the
    best start of each refit met a stopping tolerance; n_iter: its iterations. indices:
    ``(n_bootstrap, n_points)`` run indices of each resample (drawn by
    ``numpy.random.default_rng(seed).integers``). starts: the ``(s, 5)`` starting points used for
    every refit. seed: the seed. failed: ``(n_bootstrap,)`` mask of refits that failed (see
    :attr:`n_failed`); :meth:`se` leaves them out and :meth:`ci` counts them at the domain edges.
    """

    fit: Approach3Fit
    E: NDArray[np.float64] = field(repr=False)
    A: NDArray[np.float64] = field(repr=False)
    B: NDArray[np.float64] = field(repr=False)
    alpha: NDArray[np.float64] = field(repr=False)
    beta: NDArray[np.float64] = field(repr=False)
    a: NDArray[np.float64] = field(repr=False)
    b: NDArray[np.float64] = field(repr=False)
    objective: NDArray[np.float64] = field(repr=False)
    converged: NDArray[np.bool_] = field(repr=False)
    n_iter: NDArray[np.int64] = field(repr=False)
    indices: NDArray[np.int64] = field(repr=False)
    starts: NDArray[np.float64] = field(repr=False)
    seed: int | None = None
    failed: NDArray[np.bool_] | None = field(default=None, repr=False)

    @property
    def n_bootstrap(self) -> int:
        """Number of resamples."""
        return int(self.E.size)

    @property
    def n_failed(self) -> int:
        """Resamples whose refit failed: a non-finite objective or constant (overflow), a
        non-positive exponent, or ``max_iter`` reached. Left out of :meth:`se`; see :meth:`ci`."""
        return 0 if self.failed is None else int(np.count_nonzero(self.failed))

    def _ok(self) -> NDArray[np.bool_]:
        return np.ones(self.n_bootstrap, dtype=bool) if self.failed is None else ~self.failed

    def samples(self) -> dict[str, NDArray[np.float64]]:
        """Per-resample arrays keyed ``E, A, B, alpha, beta, a, b`` (failed resamples included)."""
        return {k: getattr(self, k) for k in _CONSTANTS}

    def se(self) -> dict[str, float]:
        """Bootstrap standard errors (sample standard deviation, ``ddof=1``) of each constant, over
        the resamples whose refit did not fail (NaN when fewer than 2 did not)."""
        if self.n_bootstrap < 2:
            raise ValueError(f"n_bootstrap = {self.n_bootstrap}: need at least 2 resamples for a standard error")
        ok = self._ok()
        if ok.sum() < 2:
            return {k: float("nan") for k in _CONSTANTS}
        with np.errstate(over="ignore", invalid="ignore"):  # constants far along a ridge: inf
            return {k: float(np.std(v[ok], ddof=1)) for k, v in self.samples().items()}

    def ci(self, level: float = 0.95) -> dict[str, tuple[float, float]]:
        """Percentile bootstrap intervals (Efron & Tibshirani 1993, Ch. 13) at ``level`` (0 < level < 1).

        Failed refits (:attr:`n_failed`) are counted at the edge of each constant's domain -- at 0
        for the lower end and at ``inf`` (``1`` for ``a``, ``b``) for the upper end -- so the interval
        holds wherever they would have landed. An end equal to such an edge (``0``, ``inf``) is not
        determined by the bootstrap: too many refits failed (more than about ``(1 - level) / 2`` of them).
        """
        level = positive_scalar("level", level)
        if level >= 1:
            raise ValueError(f"level = {level!r} must be below 1")
        q = 100.0 * np.array([(1 - level) / 2, (1 + level) / 2])
        ok = self._ok()
        n_bad = self.n_bootstrap - int(ok.sum())
        out = {}
        for k, arr in self.samples().items():
            if n_bad == 0:
                with np.errstate(over="ignore", invalid="ignore"):
                    out[k] = tuple(float(v) for v in np.percentile(arr, q))
                continue
            hi_edge = 1.0 if k in ("a", "b") else np.inf
            good = arr[ok]
            lo_vals = np.sort(np.concatenate([good, np.zeros(n_bad)]))
            hi_vals = np.sort(np.concatenate([good, np.full(n_bad, hi_edge)]))
            out[k] = (_percentile_with_edges(lo_vals, q[0]), _percentile_with_edges(hi_vals, q[1]))
        return out

    def interval_determined(self, level: float = 0.95) -> bool:
        """Whether every end of :meth:`ci` at ``level`` is a refit value rather than a domain edge."""
        return all(0.0 < lo and np.isfinite(hi) and not (k in ("a", "b") and (lo <= 0 or hi >= 1))
                   for k, (lo, hi) in self.ci(level).items())


def _percentile_with_edges(sorted_vals: NDArray[np.float64], q: float) -> float:
    """``numpy.percentile`` (linear) of sorted values that may contain ``inf``: an end that
    interpolates towards ``inf`` is ``inf``."""
    pos = q / 100.0 * (sorted_vals.size - 1)
    i = int(np.floor(pos))
    j = min(i + 1, sorted_vals.size - 1)
    lo, hi = sorted_vals[i], sorted_vals[j]
    if not np.isfinite(hi) and pos > i:
        return float("inf")
    if not np.isfinite(lo):
        return float(lo)
    return float(lo + (pos - i) * (hi - lo))


def _bootstrap_starts(fit: Approach3Fit, n_grid_starts: int) -> NDArray[np.float64]:
    """Refit starts: the full-data best end point, then the ``n_grid_starts`` starting points of
    ``fit`` whose runs ended lowest on the full data (distinct from one another), best first."""
    order = np.argsort(np.where(np.isfinite(fit.start_objective), fit.start_objective, np.inf),
                       kind="stable")
    chosen = [fit.theta]
    for i in order:
        if len(chosen) > n_grid_starts:
            break
        x0 = fit.start_x0[i]
        if all(np.any(x0 != c) for c in chosen):
            chosen.append(x0)
    return np.array(chosen)


BOOTSTRAP_GTOL = 1e-10
"""Default ``gtol`` of the bootstrap refits: much tighter than scipy's, see :func:`bootstrap_approach3`."""

BOOTSTRAP_FTOL = 1e-15
"""Default ``ftol`` of the bootstrap refits: much tighter than scipy's, see :func:`bootstrap_approach3`."""


def bootstrap_approach3(
    params: ArrayLike,
    tokens: ArrayLike,
    loss: ArrayLike,
    *,
    n_bootstrap: int,
    seed: int | None,
    delta: float = HUBER_DELTA,
    reduction: Reduction = "sum",
    full_fit: Approach3Fit | None = None,
    n_grid_starts: int = 2,
    max_iter: int = 15000,
    gtol: float = BOOTSTRAP_GTOL,
    ftol: float = BOOTSTRAP_FTOL,
) -> Approach3Bootstrap:
    """Bootstrap standard errors and intervals of the Approach 3 constants (Besiroglu et al. 2024).

    Each resample draws ``n`` runs with replacement (``numpy.random.default_rng(seed).integers``,
    one ``(n_bootstrap, n)`` draw, so the same seed gives identical results) and is refitted with
    the Approach 3 objective. A resample is represented by integer weights (how many times each run
    was drawn), which is exactly the objective of the resampled data set.

    Starting points, the same for every refit: the full-data best fit (``full_fit.theta``; the fit
    on Hoffmann's 4500-start grid is computed if ``full_fit`` is not given), plus the
    ``n_grid_starts`` grid points whose full-data runs ended lowest. The lowest refit objective is
    kept. A resample's optimum lies near the full-data optimum, so this is far cheaper than the full
    grid; the grid points are a guard against a resample whose best basin lies elsewhere.

    Tolerances. The refits use ``gtol = 1e-10`` and ``ftol = 1e-15`` by default, not scipy's
    ``1e-5`` / ``2.2e-9``: the Approach 3 objective (about 1e-3 at the optimum on Chinchilla-like
    data) is so flat that with scipy's tolerances a refit started *at the full-data optimum* stops
    after a few iterations near where it started, and the bootstrap spread collapses (standard
    errors several times too small). With the tight tolerances a refit from the full-data optimum
    reaches the same optimum as the full 4500-start grid (checked in the tests).

    params, tokens, loss: as in :func:`fit_approach3`. n_bootstrap: number of resamples (>= 1).
    seed: for ``numpy.random.default_rng``. delta, reduction: as in :func:`fit_approach3`.
    max_iter, gtol, ftol: L-BFGS stopping rules of the refits. All
    ``n_bootstrap * (1 + n_grid_starts)`` refits run together in one :func:`batched_lbfgs`.
    """
    n_bootstrap = positive_int("n_bootstrap", n_bootstrap)
    if isinstance(n_grid_starts, bool) or not isinstance(n_grid_starts, (int, np.integer)) or n_grid_starts < 0:
        raise ValueError(f"n_grid_starts = {n_grid_starts!r} must be a non-negative integer")
    delta = positive_scalar("delta", delta)
    reduction = _check_reduction(reduction)
    gtol = positive_scalar("gtol", gtol)
    ftol = positive_scalar("ftol", ftol)
    x, y, lo = _validate_runs(params, tokens, loss)
    n = x.size
    if full_fit is None:
        full_fit = fit_approach3(params, tokens, loss, delta=delta, reduction=reduction)
    elif not isinstance(full_fit, Approach3Fit):
        raise ValueError(f"full_fit: expected an Approach3Fit, got {type(full_fit).__name__}")
    elif full_fit.n_points != n:
        raise ValueError(f"full_fit: fitted to {full_fit.n_points} runs but {n} runs given")
    starts = _bootstrap_starts(full_fit, int(n_grid_starts))
    s = starts.shape[0]

    rng = np.random.default_rng(seed)
    indices = rng.integers(0, n, size=(n_bootstrap, n))
    counts = np.zeros((n_bootstrap, n))
    np.add.at(counts, (np.repeat(np.arange(n_bootstrap), n), indices.ravel()), 1.0)

    x0 = np.tile(starts, (n_bootstrap, 1))  # resample-major: rows r*s .. r*s + s-1
    weight_row = np.repeat(np.arange(n_bootstrap), s)
    fun = _make_fun(x, y, lo, delta, reduction, weights=counts, weight_row=weight_row)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = batched_lbfgs(fun, x0, gtol=gtol, ftol=ftol, max_iter=max_iter)
        finite = np.isfinite(res.fun) & np.all(np.isfinite(res.x), axis=1)
        fvals = np.where(finite, res.fun, np.inf).reshape(n_bootstrap, s)
        pick = np.argmin(fvals, axis=1) + np.arange(n_bootstrap) * s
        th = res.x[pick]
        alpha, beta = th[:, 3].copy(), th[:, 4].copy()
        consts = np.exp(th[:, :3])
        a_alloc, b_alloc = params_exponent(alpha, beta), tokens_exponent(alpha, beta)
        failed = (~finite[pick] | ~np.all(np.isfinite(consts), axis=1) | ~(alpha > 0) | ~(beta > 0)
                  | (res.status[pick] == STATUS.index("max_iter")))
    return Approach3Bootstrap(
        fit=full_fit,
        E=consts[:, 2], A=consts[:, 0], B=consts[:, 1],
        alpha=alpha, beta=beta, a=a_alloc, b=b_alloc,
        objective=res.fun[pick].copy(), converged=res.status[pick] <= 1,
        n_iter=res.n_iter[pick].copy(), indices=indices, starts=starts, seed=seed, failed=failed,
    )
