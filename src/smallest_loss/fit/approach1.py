"""Minimum over training curves: Approach 1 of Hoffmann et al. (2022; their Section 3.1 and Figure 2).

Every training run (one model size ``N``) traces a curve of loss against training compute
``C = 6 N D`` as it consumes tokens ``D``. At each FLOP value the *envelope* is the lowest loss any
run reaches there; the run achieving it gives ``N`` and ``D`` at that compute. Power laws
``N_opt = k C^a`` and ``D_opt = k' C^b`` are then fitted to the envelope by least squares in log-log
space (Hoffmann et al. 2022, Sec. 3.1: they evaluate 1500 logarithmically spaced FLOP values; their
estimates are in Table 2, row 1).

Interpolation (how each curve is read at a grid FLOP value): within a run, rows are sorted by
tokens and the loss is interpolated *linearly in ln C* between the run's recorded points. A run
contributes only inside its own recorded FLOP range; it is never extrapolated. Grid points that no
run covers are left out of the envelope. Hoffmann et al. additionally smooth each curve before
interpolating; smooth the input beforehand if the curves are noisy.

The envelope's ``N`` is piecewise constant (a staircase over the available model sizes), so the
fitted exponent carries a quantisation error that shrinks as the grid of model sizes gets denser
and the fitted FLOP range gets wider (see ``tests/test_envelope.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ..counting import training_tokens
from .approach2 import ExponentBootstrap
from ..validation import (
    finite_array, one_dimensional, positive_array, positive_int, same_length,
)

__all__ = [
    "Approach1Fit", "loss_envelope", "fit_approach1", "ENVELOPE_COLUMNS",
    "Approach1Bootstrap", "bootstrap_approach1",
]

ENVELOPE_COLUMNS: dict[str, str] = {
    "flops": "training compute C on the log grid [FLOP]",
    "loss": "lowest loss any run reaches at C [nats/token]",
    "params": "model size N of the run reaching it [parameters]",
    "tokens": "tokens D = C / (6 N) that run has seen at C [tokens]",
    "run": "id of that run",
}
"""Columns of the :func:`loss_envelope` table, with units."""


def _curves(run: ArrayLike, params: ArrayLike, tokens: ArrayLike, loss: ArrayLike):
    """Validate the rows and split them into per-run curves sorted by tokens."""
    r = np.asarray(run)
    if r.ndim != 1:
        raise ValueError(f"run: expected a 1-D array, got shape {r.shape}")
    n = one_dimensional("params", positive_array("params", params))
    d = one_dimensional("tokens", positive_array("tokens", tokens))
    y = one_dimensional("loss", finite_array("loss", loss))
    same_length(run=r, params=n, tokens=d, loss=y)
    try:
        codes, ids = pd.factorize(r, sort=True)
    except TypeError:
        codes, ids = pd.factorize(r, sort=False)
    curves = []
    for g, rid in enumerate(ids):
        rid = rid.item() if isinstance(rid, np.generic) else rid
        sel = np.flatnonzero(codes == g)
        sizes = np.unique(n[sel])
        if sizes.size != 1:
            raise ValueError(f"run {rid!r}: params must be constant within a run, got {sizes.size} values")
        if sel.size < 2:
            raise ValueError(f"run {rid!r}: needs at least 2 points on its training curve, got {sel.size}")
        order = sel[np.argsort(d[sel], kind="stable")]
        dd = d[order]
        if np.any(np.diff(dd) == 0):
            raise ValueError(f"run {rid!r}: repeated tokens value in its training curve")
        lnc = np.log(6.0 * sizes[0] * dd)
        curves.append((rid, float(sizes[0]), lnc, y[order]))
    return curves


def loss_envelope(
    run: ArrayLike,
    params: ArrayLike,
    tokens: ArrayLike,
    loss: ArrayLike,
    n_grid: int = 1500,
) -> pd.DataFrame:
    """Lowest loss reached by any run at each FLOP value of a log grid (Hoffmann et al. 2022, Sec. 3.1).

    run: run id per row; params: model size N per row [parameters] (constant within a run);
    tokens: tokens seen D per row [tokens]; loss: loss at that point [nats/token];
    n_grid: number of log-spaced FLOP values between the smallest and largest ``C = 6 N D`` of the
    data (default 1500, as in Hoffmann et al.).

    Returns one row per covered grid point; columns and units in :data:`ENVELOPE_COLUMNS`. Ties go
    to the run listed first in sorted run order.
    """
    curves = _curves(run, params, tokens, loss)
    m = positive_int("n_grid", n_grid)
    if m < 2:
        raise ValueError(f"n_grid = {n_grid!r} must be at least 2")
    lo = min(cv[2][0] for cv in curves)
    hi = max(cv[2][-1] for cv in curves)
    grid = np.linspace(lo, hi, m)
    table = np.full((len(curves), m), np.inf)
    for i, (_, _, lnc, yy) in enumerate(curves):
        inside = (grid >= lnc[0]) & (grid <= lnc[-1])
        table[i, inside] = np.interp(grid[inside], lnc, yy)
    best = np.argmin(table, axis=0)
    best_loss = table[best, np.arange(m)]
    covered = np.isfinite(best_loss)
    best = best[covered]
    flops = np.exp(grid[covered])
    sizes = np.array([cv[1] for cv in curves])[best]
    ids = [curves[i][0] for i in best]
    return pd.DataFrame({
        "flops": flops,
        "loss": best_loss[covered],
        "params": sizes,
        "tokens": training_tokens(sizes, flops),
        "run": ids,
    }, columns=list(ENVELOPE_COLUMNS))


@dataclass(frozen=True)
class Approach1Fit:
    """Power laws fitted to the training-curve envelope (Hoffmann et al. 2022, Sec. 3.1; Table 2 row 1).

    a, b: exponents of ``N_opt = k_params C^a`` and ``D_opt = k_tokens C^b`` (dimensionless);
    k_params [parameters / FLOP^a]; k_tokens [tokens / FLOP^b]; envelope: the envelope table with a
    ``used`` column marking the grid points inside the fitted FLOP range. As ``D = C / (6 N)`` at every
    envelope point, ``b = 1 - a`` and ``k_tokens = 1 / (6 k_params)`` exactly.
    """

    a: float
    b: float
    k_params: float
    k_tokens: float
    envelope: pd.DataFrame = field(repr=False, compare=False)

    def params_opt(self, flops: ArrayLike) -> NDArray[np.float64]:
        """Fitted ``N_opt = k_params C^a`` [parameters] at ``flops`` [FLOP]."""
        return self.k_params * positive_array("flops", flops) ** self.a

    def tokens_opt(self, flops: ArrayLike) -> NDArray[np.float64]:
        """Fitted ``D_opt = k_tokens C^b`` [tokens] at ``flops`` [FLOP]."""
        return self.k_tokens * positive_array("flops", flops) ** self.b


def fit_approach1(
    run: ArrayLike,
    params: ArrayLike,
    tokens: ArrayLike,
    loss: ArrayLike,
    n_grid: int = 1500,
    flops_range: tuple[float, float] | None = None,
) -> Approach1Fit:
    """Hoffmann et al. 2022 Approach 1: envelope of training curves, then power laws in ``C``.

    Arguments as :func:`loss_envelope`; ``flops_range = (lo, hi)`` [FLOP] restricts the fit to the
    envelope points with ``lo <= C <= hi`` (useful to cut the ends of the grid, where the smallest or
    largest model wins only because nothing smaller or larger was trained). ``ln N`` and ``ln D`` of
    the envelope points are regressed on ``ln C`` by ordinary least squares. Needs at least two
    distinct model sizes among the fitted points, else ``ValueError``.
    """
    env = loss_envelope(run, params, tokens, loss, n_grid)
    c = env["flops"].to_numpy()
    used = np.ones(c.size, dtype=bool)
    if flops_range is not None:
        bounds = positive_array("flops_range", flops_range)
        if bounds.shape != (2,) or not bounds[0] < bounds[1]:
            raise ValueError(f"flops_range = {flops_range!r} must be two numbers (lo, hi) with lo < hi")
        used = (c >= bounds[0]) & (c <= bounds[1])
    env = env.assign(used=used)
    n_used = env.loc[used, "params"].nunique()
    if n_used < 2:
        raise ValueError(
            f"the envelope points in the fitted range come from {n_used} model size(s); "
            f"need at least 2 for a power law"
        )
    lnc = np.log(c[used])
    lnn = np.log(env["params"].to_numpy()[used])
    lnd = np.log(env["tokens"].to_numpy()[used])
    a, ln_ka = np.polyfit(lnc, lnn, 1)
    b, ln_kb = np.polyfit(lnc, lnd, 1)
    return Approach1Fit(
        a=float(a), b=float(b), k_params=float(np.exp(ln_ka)), k_tokens=float(np.exp(ln_kb)),
        envelope=env,
    )


# --- bootstrap ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Approach1Bootstrap(ExponentBootstrap):
    """Bootstrap distribution of the Approach 1 exponents, resampling whole training curves.

    a, b: exponents of ``N_opt ~ C^a`` and ``D_opt ~ C^b`` per resample (dimensionless; NaN for a
    failed resample, one whose envelope in the fitted range comes from a single model size);
    k_params [parameters / FLOP^a], k_tokens [tokens / FLOP^b]: prefactors per resample (NaN where
    failed); runs: the run ids, in sorted order; resamples: ``(n_bootstrap, n_runs)`` indices into
    ``runs`` drawn for each resample; n_failed: failed resamples; point: the fit to all the curves;
    seed: the seed of ``numpy.random.default_rng``.
    """

    a: NDArray[np.float64] = field(repr=False)
    b: NDArray[np.float64] = field(repr=False)
    k_params: NDArray[np.float64] = field(repr=False)
    k_tokens: NDArray[np.float64] = field(repr=False)
    runs: tuple
    resamples: NDArray[np.int64] = field(repr=False)
    n_failed: int
    point: Approach1Fit = field(repr=False)
    seed: int | None = None


def bootstrap_approach1(
    run: ArrayLike,
    params: ArrayLike,
    tokens: ArrayLike,
    loss: ArrayLike,
    n_bootstrap: int = 1000,
    seed: int | None = 0,
    n_grid: int = 1500,
    flops_range: tuple[float, float] | None = None,
) -> Approach1Bootstrap:
    """Bootstrap the Approach 1 exponents (Hoffmann et al. 2022, Sec. 3.1) over whole runs.

    The unit of resampling is a run's training curve, since the points along one curve are not
    independent: each resample draws as many runs as there are, with replacement
    (``rng.integers(0, n_runs, size=(n_bootstrap, n_runs))`` from ``numpy.random.default_rng(seed)``,
    indices into the sorted run ids), and refits :func:`fit_approach1` with the same ``n_grid``
    and ``flops_range`` to the curves drawn. A run drawn twice leaves the envelope (a minimum over
    curves) as it would be with the run once, so each resample is fitted on its distinct runs. A
    resample whose envelope points in ``flops_range`` come from one model size has no power law:
    its values are NaN and it is counted in ``n_failed``; :meth:`~smallest_loss.fit.approach2.ExponentBootstrap.se` and
    :meth:`~smallest_loss.fit.approach2.ExponentBootstrap.ci` skip it.

    Arguments ``run, params, tokens, loss, n_grid, flops_range`` as :func:`fit_approach1` (the fit
    to all the curves must succeed, else its ``ValueError``); n_bootstrap: number of resamples
    (>= 1). Returns an :class:`Approach1Bootstrap`.
    """
    point = fit_approach1(run, params, tokens, loss, n_grid, flops_range)
    r = positive_int("n_bootstrap", n_bootstrap)
    rid = np.asarray(run)
    n = np.asarray(params, dtype=float)
    d = np.asarray(tokens, dtype=float)
    y = np.asarray(loss, dtype=float)
    try:
        codes, ids = pd.factorize(rid, sort=True)
    except TypeError:
        codes, ids = pd.factorize(rid, sort=False)
    rows = [np.flatnonzero(codes == g) for g in range(len(ids))]
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(ids), size=(r, len(ids)))
    out = np.full((4, r), np.nan)
    for i, drawn in enumerate(draws):
        sel = np.concatenate([rows[g] for g in np.unique(drawn)])
        try:
            fit = fit_approach1(rid[sel], n[sel], d[sel], y[sel], n_grid, flops_range)
        except ValueError as err:
            if "model size" not in str(err):
                raise
            continue
        out[:, i] = fit.a, fit.b, fit.k_params, fit.k_tokens
    return Approach1Bootstrap(
        a=out[0], b=out[1], k_params=out[2], k_tokens=out[3],
        runs=tuple(v.item() if isinstance(v, np.generic) else v for v in ids),
        resamples=draws.astype(np.int64), n_failed=int(np.isnan(out[0]).sum()), point=point,
        seed=None if seed is None else int(seed),
    )
