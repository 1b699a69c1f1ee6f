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
from typing import Callable, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..laws import ChinchillaLaw, params_exponent, tokens_exponent
from ..validation import finite_array, positive_array, positive_int, positive_scalar, same_length

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
    :func:`_wolfe_search`); the problems still running are evaluated together, one call of ``fun``
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
    n = positive_array("params", params)
    d = positive_array("tokens", tokens)
    lo = positive_array("loss", loss)
    for name, arr in (("params", n), ("tokens", d), ("loss", lo)):
        if arr.ndim != 1:
            raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    npts = same_length(params=n, tokens=d, loss=lo)
    if npts < _N_THETA:
        raise ValueError(
            f"params, tokens, loss: {npts} runs given; need at least {_N_THETA} to fit 5 constants"
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
class Approach3Fit:
    """Best Approach 3 fit (Hoffmann et al. 2022, Sec. 3.3) over a set of L-BFGS starts.

    E [nats/token], A, B [nats/token], alpha, beta [dimensionless]: the fitted law
    ``L = E + A N^-alpha + B D^-beta``. theta: the best ``(a, b, e, alpha, beta)`` =
    ``(log A, log B, log E, alpha, beta)``. objective: the minimised objective there (a sum or a
    mean of Huber losses, see ``reduction``). n_points: runs fitted; n_starts: starts tried;
    n_converged: starts that met a stopping tolerance (``gtol`` or ``ftol``; the others hit
    ``max_iter`` or failed their line search). n_iter, status: iterations and stop reason
    (a :data:`STATUS` name) of the best start. start_*: per-start starting points (``start_x0``),
    end points (``start_theta``), objectives, iterations and status codes (into :data:`STATUS`),
    in the order of the starts.
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

    @property
    def a(self) -> float:
        """Exponent of ``N_opt ∝ C^a``: ``beta / (alpha + beta)`` (Hoffmann et al. 2022, Eq. 4)."""
        return float(params_exponent(self.alpha, self.beta))

    @property
    def b(self) -> float:
        """Exponent of ``D_opt ∝ C^b``: ``alpha / (alpha + beta)`` (Hoffmann et al. 2022, Eq. 4)."""
        return float(tokens_exponent(self.alpha, self.beta))

    @property
    def law(self) -> ChinchillaLaw:
        """The fit as a :class:`~smallest_loss.laws.ChinchillaLaw` named ``"fit"``.

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
                     delta: float, reduction: str) -> Approach3Fit:
    rows = np.arange(x0.shape[0])
    fun = res.fun[rows]
    best_local = int(np.nanargmin(np.where(np.isfinite(fun), fun, np.inf)))
    best = int(rows[best_local])
    th = res.x[best].copy()
    return Approach3Fit(
        E=float(np.exp(th[2])), A=float(np.exp(th[0])), B=float(np.exp(th[1])),
        alpha=float(th[3]), beta=float(th[4]), objective=float(res.fun[best]), theta=th,
        n_points=n_points, n_starts=int(rows.size),
        n_converged=int(np.count_nonzero(res.status[rows] <= 1)),
        n_iter=int(res.n_iter[best]), status=STATUS[int(res.status[best])],
        delta=delta, reduction=reduction,
        start_x0=x0.copy(), start_theta=res.x[rows].copy(), start_objective=fun.copy(),
        start_n_iter=res.n_iter[rows].copy(), start_status=res.status[rows].copy(),
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

    All starts are optimised together by :func:`batched_lbfgs` with the analytic gradient.
    """
    delta = positive_scalar("delta", delta)
    reduction = _check_reduction(reduction)
    x, y, lo = _validate_runs(params, tokens, loss)
    x0 = _validate_starts(starts)
    gtol = positive_scalar("gtol", gtol)
    ftol = positive_scalar("ftol", ftol)
    fun = _make_fun(x, y, lo, delta, reduction)
    res = batched_lbfgs(fun, x0, memory=memory, gtol=gtol, ftol=ftol, max_iter=max_iter)
    return _fit_from_result(res, x0, x.size, delta, reduction)


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
    every refit. seed: the seed.
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

    @property
    def n_bootstrap(self) -> int:
        """Number of resamples."""
        return int(self.E.size)

    def samples(self) -> dict[str, NDArray[np.float64]]:
        """Per-resample arrays keyed ``E, A, B, alpha, beta, a, b``."""
        return {k: getattr(self, k) for k in _CONSTANTS}

    def se(self) -> dict[str, float]:
        """Bootstrap standard errors (sample standard deviation, ``ddof=1``) of each constant."""
        if self.n_bootstrap < 2:
            raise ValueError(f"n_bootstrap = {self.n_bootstrap}: need at least 2 resamples for a standard error")
        return {k: float(np.std(v, ddof=1)) for k, v in self.samples().items()}

    def ci(self, level: float = 0.95) -> dict[str, tuple[float, float]]:
        """Percentile bootstrap intervals (Efron & Tibshirani 1993, Ch. 13) at ``level`` (0 < level < 1)."""
        level = positive_scalar("level", level)
        if level >= 1:
            raise ValueError(f"level = {level!r} must be below 1")
        q = 100.0 * np.array([(1 - level) / 2, (1 + level) / 2])
        return {k: tuple(float(v) for v in np.percentile(arr, q)) for k, arr in self.samples().items()}


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
    res = batched_lbfgs(fun, x0, gtol=gtol, ftol=ftol, max_iter=max_iter)

    fvals = np.where(np.isfinite(res.fun), res.fun, np.inf).reshape(n_bootstrap, s)
    pick = np.argmin(fvals, axis=1) + np.arange(n_bootstrap) * s
    th = res.x[pick]
    alpha, beta = th[:, 3].copy(), th[:, 4].copy()
    return Approach3Bootstrap(
        fit=full_fit,
        E=np.exp(th[:, 2]), A=np.exp(th[:, 0]), B=np.exp(th[:, 1]),
        alpha=alpha, beta=beta, a=params_exponent(alpha, beta), b=tokens_exponent(alpha, beta),
        objective=res.fun[pick].copy(), converged=res.status[pick] <= 1,
        n_iter=res.n_iter[pick].copy(), indices=indices, starts=starts, seed=seed,
    )
