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
from ..validation import finite_array, one_dimensional, positive_array, positive_int, same_length

__all__ = ["Approach1Fit", "loss_envelope", "fit_approach1", "ENVELOPE_COLUMNS"]

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
