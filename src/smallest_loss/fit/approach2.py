"""IsoFLOP profiles: Approach 2 of Hoffmann et al. (2022; their Section 3.2 and Figure 3).

For each fixed training budget ``C`` [FLOP] a family of model sizes is trained on ``D = C / (6 N)``
tokens. The final loss along such an *isoFLOP profile* is fitted with a parabola in ``log N``; its
vertex is the loss-minimising model size ``N*(C)`` for that budget. Power laws
``N_opt = k C^a`` and ``D_opt = k' C^b`` are then fitted by least squares in log-log space through
the vertices (Hoffmann et al. 2022, Sec. 3.2; their estimates are in Table 2).

Conventions used throughout this module:

* logarithms are natural logarithms (``ln``); a parabola's vertex does not depend on the base, but
  its curvature does, so the curvature is reported per ``(ln N)^2``;
* the budget ``C`` of a group of runs is the geometric mean of the runs' ``flops`` (identical to the
  common value when, as in a designed isoFLOP experiment, all runs of the budget share one value).
  Digitised points carry error in their FLOP values; :func:`snap_to_budgets` maps them onto the
  nominal budgets, and the snapped values can be passed as ``flops``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ..counting import training_tokens
from ..validation import (
    finite_array, one_dimensional, positive_array, positive_int, positive_scalar, same_length,
)

__all__ = [
    "HOFFMANN2022_ISOFLOP_BUDGETS",
    "OPTIMA_COLUMNS",
    "Approach2Fit",
    "Approach2Bootstrap",
    "ExponentBootstrap",
    "assign_budgets",
    "budget_codes",
    "isoflop_runs",
    "snap_to_budgets",
    "nearest_budget",
    "isoflop_optima",
    "fit_approach2",
    "bootstrap_approach2",
    "local_exponent",
]

HOFFMANN2022_ISOFLOP_BUDGETS: tuple[float, ...] = (
    6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21,
)
"""The nine nominal isoFLOP training budgets [FLOP] of Hoffmann et al. 2022, Sec. 3.2 and Figure 3
("a fixed set of 9 different training FLOP counts, ranging from 6 x 10^18 to 3 x 10^21")."""

_MIN_SIZES = 3  # a parabola has three coefficients


# --- input helpers --------------------------------------------------------------------------------


def isoflop_runs(params: ArrayLike, flops: ArrayLike, loss: ArrayLike):
    """Validated 1-D arrays ``(N, C, L)`` of equal length (positive N and C, finite L)."""
    n = one_dimensional("params", positive_array("params", params))
    c = one_dimensional("flops", positive_array("flops", flops))
    y = one_dimensional("loss", finite_array("loss", loss))
    same_length(params=n, flops=c, loss=y)
    return n, c, y


def budget_codes(budget: ArrayLike | None, flops: NDArray[np.float64]) -> tuple[NDArray[np.int64], list]:
    """Integer budget index per run and the sorted budget labels."""
    if budget is None:
        labels, codes = np.unique(flops, return_inverse=True)
        return codes.astype(np.int64), [float(v) for v in labels]
    b = np.asarray(budget)
    if b.ndim != 1:
        raise ValueError(f"budget: expected a 1-D array, got shape {b.shape}")
    if b.size != flops.size:
        raise ValueError(f"length mismatch: flops has {flops.size} values but budget has {b.size}")
    if b.dtype.kind == "f" and not np.all(np.isfinite(b)):
        i = int(np.flatnonzero(~np.isfinite(b))[0])
        raise ValueError(f"budget[{i}] = {float(b[i])!r} is not finite")
    try:
        codes, uniques = pd.factorize(b, sort=True)
    except TypeError:
        codes, uniques = pd.factorize(b, sort=False)
    return codes.astype(np.int64), [_plain(u) for u in uniques]


def _plain(value):
    """A numpy scalar as the matching Python scalar (for readable labels and messages)."""
    return value.item() if isinstance(value, np.generic) else value


# --- budget helpers -------------------------------------------------------------------------------


def assign_budgets(flops: ArrayLike, rel_tol: float = 0.05) -> NDArray[np.float64]:
    """Group nearly-equal FLOP values into budgets; return each run's budget [FLOP].

    Sorted FLOP values are chained into one budget while each value is within a factor
    ``1 + rel_tol`` of the previous one (single linkage in ``ln C``). Each run's returned value is the
    geometric mean of its budget's FLOP values, so runs of one budget share one number and can be
    passed as ``flops`` (or ``budget``) to :func:`isoflop_optima`. Use :func:`snap_to_budgets`
    instead when the nominal budgets are known, as for Hoffmann et al. 2022.

    flops: training compute per run [FLOP]; rel_tol: relative tolerance (> 0).
    """
    c = one_dimensional("flops", positive_array("flops", flops))
    tol = positive_scalar("rel_tol", rel_tol)
    logc = np.log(c)
    order = np.argsort(logc, kind="stable")
    gaps = np.diff(logc[order]) > np.log1p(tol)
    group_sorted = np.concatenate([[0], np.cumsum(gaps)])
    group = np.empty_like(group_sorted)
    group[order] = group_sorted
    mean_log = np.bincount(group, weights=logc) / np.bincount(group)
    rep = np.exp(mean_log)
    lo = np.full(rep.size, np.inf)
    hi = np.full(rep.size, -np.inf)
    np.minimum.at(lo, group, c)
    np.maximum.at(hi, group, c)
    rep = np.where(lo == hi, lo, rep)  # a group of one value keeps that value exactly
    return rep[group]


def nearest_budget(
    flops: ArrayLike, budgets: ArrayLike = HOFFMANN2022_ISOFLOP_BUDGETS
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The nearest nominal budget in log space for each run, and the signed distance to it.

    flops: training compute per run [FLOP]; budgets: nominal budgets [FLOP] (default: the nine of
    Hoffmann et al. 2022). Returns ``(nominal, offset_dex)`` with ``offset_dex =
    log10(flops) - log10(nominal)``; keep the runs with ``abs(offset_dex) <= tol`` to drop runs that
    belong to no budget (see :func:`snap_to_budgets`, which raises for them instead).
    """
    c = one_dimensional("flops", positive_array("flops", flops))
    nominal = one_dimensional("budgets", positive_array("budgets", np.atleast_1d(budgets)))
    offset = np.log10(c)[:, None] - np.log10(nominal)[None, :]
    nearest = np.argmin(np.abs(offset), axis=1)
    return nominal[nearest], offset[np.arange(c.size), nearest]


def snap_to_budgets(
    flops: ArrayLike,
    budgets: ArrayLike = HOFFMANN2022_ISOFLOP_BUDGETS,
    tol_dex: float = 0.05,
) -> NDArray[np.float64]:
    """Assign each run to the nearest nominal budget in log space; return the nominal budgets [FLOP].

    Meant for FLOP values digitised from a figure (e.g. the Hoffmann et al. 2022 Figure 3 points
    digitised by Epoch AI, where 5.9e18 and 6.0e18 both stand for the nominal 6e18). A run further
    than ``tol_dex`` (in log10 units; 0.05 dex is a factor 1.12) from every budget raises
    ``ValueError``. The default budgets are :data:`HOFFMANN2022_ISOFLOP_BUDGETS`, whose closest pair
    (6e20, 1e21) is 0.22 dex apart, so the default tolerance cannot make an assignment ambiguous.

    flops: training compute per run [FLOP]; budgets: nominal budgets [FLOP]; tol_dex: > 0.
    """
    tol = positive_scalar("tol_dex", tol_dex)
    nominal, offset = nearest_budget(flops, budgets)
    bad = np.abs(offset) > tol
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        c = float(np.ravel(np.asarray(flops, dtype=float))[i])
        raise ValueError(
            f"flops[{i}] = {c!r} is {abs(offset[i]):.3f} dex from the nearest budget "
            f"{float(nominal[i]):.3g} (tolerance {tol} dex)"
        )
    return nominal


# --- parabola fits ----------------------------------------------------------------------------------


def _weighted_parabolas(
    x: NDArray[np.float64], y: NDArray[np.float64], w: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Weighted least-squares parabolas ``y = c0 + c1 x + c2 x^2`` for many weight vectors at once.

    x, y: (n,) data with ``x`` already centred and scaled to about [-1, 1]; w: (R, n) non-negative
    weights (multinomial counts for a bootstrap). Returns c0, c1, c2 of shape (R,) and a mask of the
    rows with at least three distinct x carrying positive weight (others hold NaN).
    """
    powers = x[None, :] ** np.arange(5)[:, None]            # (5, n)
    m = w @ powers.T                                         # (R, 5): sum w x^k
    t = w @ (powers[:3] * y[None, :]).T                      # (R, 3): sum w x^k y
    ux, inverse = np.unique(x, return_inverse=True)
    indicator = np.zeros((x.size, ux.size))
    indicator[np.arange(x.size), inverse] = 1.0
    n_distinct = ((w @ indicator) > 0).sum(axis=1)
    ok = n_distinct >= _MIN_SIZES
    a = np.stack([m[:, 0:3], m[:, 1:4], m[:, 2:5]], axis=1)  # (R, 3, 3) normal matrix
    a[~ok] = np.eye(3)
    rhs = np.where(ok[:, None], t, 0.0)
    coef = np.linalg.solve(a, rhs[..., None])[..., 0]
    coef[~ok] = np.nan
    return coef[:, 0], coef[:, 1], coef[:, 2], ok


def _vertex(c0, c1, c2):
    with np.errstate(divide="ignore", invalid="ignore"):
        xv = np.where(c2 != 0, -c1 / (2.0 * c2), np.nan)
        yv = np.where(c2 != 0, c0 - c1 * c1 / (4.0 * c2), np.nan)
    return xv, yv


def _scale(x: NDArray[np.float64]) -> tuple[float, float]:
    centre = 0.5 * (x.max() + x.min())
    half = 0.5 * (x.max() - x.min())
    return float(centre), float(half) if half > 0 else 1.0


OPTIMA_COLUMNS: dict[str, str] = {
    "budget": "budget label (the FLOP value itself when budget=None)",
    "flops": "training budget C [FLOP]: geometric mean of the runs' flops",
    "n_points": "runs in the budget",
    "n_sizes": "distinct model sizes in the budget",
    "params_min": "smallest sampled model size [parameters]",
    "params_max": "largest sampled model size [parameters]",
    "ln_params_opt": "vertex ln N* of the parabola fitted to loss against ln N [ln parameters]",
    "params_opt": "N* = exp(ln N*) [parameters]",
    "tokens_opt": "D* = C / (6 N*) [tokens]",
    "loss_opt": "parabola value at the vertex [nats/token]",
    "curvature": "d^2 loss / d(ln N)^2 of the parabola [nats/token per (ln N)^2]",
    "vertex_inside": "params_min <= N* <= params_max",
    "curvature_positive": "curvature > 0 (the vertex is a minimum)",
    "valid": "vertex_inside and curvature_positive: used by the power-law fit by default",
}
"""Columns of the :func:`isoflop_optima` table, with units."""


def isoflop_optima(
    params: ArrayLike,
    flops: ArrayLike,
    loss: ArrayLike,
    budget: ArrayLike | None = None,
) -> pd.DataFrame:
    """Fit a parabola in ``ln N`` to each isoFLOP profile (Hoffmann et al. 2022, Sec. 3.2, Figure 3).

    params: model size N per run [parameters]; flops: training compute C per run [FLOP];
    loss: final loss per run [nats/token]; budget: optional label per run grouping runs into budgets
    (default: group by exact ``flops`` value).

    Each budget needs at least three runs at three distinct model sizes (else ``ValueError`` naming
    the budget). Returns one row per budget, sorted by budget label; the columns and their units
    are listed in :data:`OPTIMA_COLUMNS`. Budgets whose vertex lies outside the sampled size range
    or whose parabola opens downward are kept, flagged by ``vertex_inside``,
    ``curvature_positive`` and ``valid``.
    """
    n, c, y = isoflop_runs(params, flops, loss)
    codes, labels = budget_codes(budget, c)
    x_all = np.log(n)
    rows = []
    for g, label in enumerate(labels):
        sel = codes == g
        x, yy = x_all[sel], y[sel]
        n_sizes = np.unique(x).size
        if sel.sum() < _MIN_SIZES or n_sizes < _MIN_SIZES:
            raise ValueError(
                f"budget {label!r}: needs at least {_MIN_SIZES} runs at {_MIN_SIZES} distinct model "
                f"sizes for a parabola, got {int(sel.sum())} runs at {n_sizes} sizes"
            )
        centre, half = _scale(x)
        xs = (x - centre) / half
        coef, *_ = np.linalg.lstsq(np.vander(xs, 3, increasing=True), yy, rcond=None)
        c0, c1, c2 = coef
        xv, yv = _vertex(np.array(c0), np.array(c1), np.array(c2))
        ln_opt = centre + half * float(xv)
        cs = c[sel]
        c_budget = float(cs[0]) if np.all(cs == cs[0]) else float(np.exp(np.mean(np.log(cs))))
        curvature = 2.0 * float(c2) / half**2
        inside = bool(np.isfinite(ln_opt) and x.min() <= ln_opt <= x.max())
        positive = bool(curvature > 0)
        rows.append({
            "budget": label,
            "flops": c_budget,
            "n_points": int(sel.sum()),
            "n_sizes": int(n_sizes),
            "params_min": float(np.exp(x.min())),
            "params_max": float(np.exp(x.max())),
            "ln_params_opt": ln_opt,
            "params_opt": float(np.exp(ln_opt)),
            "tokens_opt": float(training_tokens(np.exp(ln_opt), c_budget)),
            "loss_opt": float(yv),
            "curvature": curvature,
            "vertex_inside": inside,
            "curvature_positive": positive,
            "valid": inside and positive,
        })
    return pd.DataFrame(rows, columns=list(OPTIMA_COLUMNS))


# --- power-law fits -------------------------------------------------------------------------------


def _masked_line(x: NDArray[np.float64], y: NDArray[np.float64], mask: NDArray[np.bool_]):
    """Least-squares lines ``y = c + s x`` row by row over the masked entries.

    x: (G,); y, mask: (R, G). Returns slope, intercept (R,), NaN where fewer than two distinct x.
    """
    w = mask.astype(float)
    yy = np.where(mask, y, 0.0)
    cnt = w.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mx = (w * x).sum(axis=1) / cnt
        my = (w * yy).sum(axis=1) / cnt
        dx = x[None, :] - mx[:, None]
        sxx = (w * dx * dx).sum(axis=1)
        sxy = (w * dx * (yy - my[:, None])).sum(axis=1)
        ok = (cnt >= 2) & (sxx > 1e-12 * np.maximum(1.0, (w * x * x).sum(axis=1)))
        slope = np.where(ok, sxy / sxx, np.nan)
        intercept = np.where(ok, my - slope * mx, np.nan)
    return slope, intercept


@dataclass(frozen=True)
class Approach2Fit:
    """Power laws through isoFLOP vertices (Hoffmann et al. 2022, Sec. 3.2; Table 2 row 2).

    a, b: exponents of ``N_opt = k_params C^a`` and ``D_opt = k_tokens C^b`` (dimensionless);
    k_params [parameters / FLOP^a]; k_tokens [tokens / FLOP^b]; optima: the per-budget table of
    :func:`isoflop_optima` (with a ``used`` column); n_budgets_used: budgets entering the fit.
    Because ``D* = C / (6 N*)`` for every vertex, ``b = 1 - a`` and ``k_tokens = 1 / (6 k_params)``
    hold exactly for the least-squares fit.
    """

    a: float
    b: float
    k_params: float
    k_tokens: float
    optima: pd.DataFrame = field(repr=False, compare=False)
    n_budgets_used: int

    def params_opt(self, flops: ArrayLike) -> NDArray[np.float64]:
        """Fitted ``N_opt = k_params C^a`` [parameters] at ``flops`` [FLOP]."""
        c = positive_array("flops", flops)
        return self.k_params * c**self.a

    def tokens_opt(self, flops: ArrayLike) -> NDArray[np.float64]:
        """Fitted ``D_opt = k_tokens C^b`` [tokens] at ``flops`` [FLOP]."""
        c = positive_array("flops", flops)
        return self.k_tokens * c**self.b


def _used_mask(optima: pd.DataFrame, include_flagged: bool) -> NDArray[np.bool_]:
    finite = np.isfinite(optima["ln_params_opt"].to_numpy(dtype=float))
    if include_flagged:
        return finite
    return finite & optima["valid"].to_numpy(dtype=bool)


def fit_approach2(
    params: ArrayLike,
    flops: ArrayLike,
    loss: ArrayLike,
    budget: ArrayLike | None = None,
    include_flagged: bool = False,
) -> Approach2Fit:
    """Hoffmann et al. 2022 Approach 2: isoFLOP vertices, then ``N_opt ∝ C^a`` and ``D_opt ∝ C^b``.

    Arguments as :func:`isoflop_optima`. The power laws are ordinary least squares of ``ln N*`` and
    ``ln D*`` on ``ln C`` over the budgets with ``valid`` vertices (inside the sampled size range and
    with positive curvature); ``include_flagged=True`` uses every budget with a finite vertex.
    Needs at least two used budgets with distinct FLOP values, else ``ValueError``.
    """
    optima = isoflop_optima(params, flops, loss, budget)
    used = _used_mask(optima, bool(include_flagged))
    optima = optima.assign(used=used)
    lnc = np.log(optima["flops"].to_numpy(dtype=float))
    lnn = optima["ln_params_opt"].to_numpy(dtype=float)
    lnd = np.log(optima["tokens_opt"].to_numpy(dtype=float))
    a, ka = _masked_line(lnc, lnn[None, :], used[None, :])
    b, kb = _masked_line(lnc, lnd[None, :], used[None, :])
    if not np.isfinite(a[0]):
        excluded = [_plain(optima["budget"].iloc[i]) for i in np.flatnonzero(~used)]
        raise ValueError(
            f"need at least 2 usable budgets with distinct flops for the power-law fit, got "
            f"{int(used.sum())} (excluded by flags: {excluded})"
        )
    return Approach2Fit(
        a=float(a[0]), b=float(b[0]), k_params=float(np.exp(ka[0])), k_tokens=float(np.exp(kb[0])),
        optima=optima, n_budgets_used=int(used.sum()),
    )


# --- bootstrap ------------------------------------------------------------------------------------


class ExponentBootstrap:
    """What the bootstrap results of Approaches 1 and 2 share: standard errors and percentile
    intervals of the allocation exponents over the resamples that did not fail. Subclasses hold
    ``a``, ``b`` (one value per resample, NaN where it failed) and ``n_failed``."""

    @property
    def n_bootstrap(self) -> int:
        """Number of resamples drawn."""
        return int(self.a.size)

    def se(self) -> dict[str, float]:
        """Bootstrap standard errors of ``a`` and ``b`` (sample standard deviation over the
        successful resamples)."""
        return {k: float(np.nanstd(getattr(self, k), ddof=1)) for k in ("a", "b")}

    def ci(self, level: float = 0.95) -> dict[str, tuple[float, float]]:
        """Percentile interval at ``level`` (0 < level < 1) over the successful resamples;
        ValueError when every resample failed."""
        lv = positive_scalar("level", level)
        if lv >= 1:
            raise ValueError(f"level = {level!r} must be between 0 and 1")
        if self.n_failed == self.n_bootstrap:
            raise ValueError(f"every one of the {self.n_bootstrap} resamples failed: no interval")
        q = 50.0 * np.array([1.0 - lv, 1.0 + lv])
        return {k: tuple(float(v) for v in np.nanpercentile(getattr(self, k), q)) for k in ("a", "b")}


@dataclass(frozen=True, eq=False)
class Approach2Bootstrap(ExponentBootstrap):
    """Bootstrap distribution of the Approach 2 exponents (resampling runs within each budget).

    a, b, k_params, k_tokens: one value per resample (NaN for a failed resample, one with fewer than
    two usable budgets); n_budgets_used: budgets used per resample; budgets: budget labels;
    n_dropped_sparse: per budget, resamples in which it had fewer than three distinct model sizes
    and was dropped; n_dropped_flags: per budget, resamples in which its vertex was flagged (outside
    the sampled range, or curvature <= 0) and was dropped; n_failed: failed resamples; point: the
    fit to the original data; seed: the seed of ``numpy.random.default_rng``.
    """

    a: NDArray[np.float64] = field(repr=False)
    b: NDArray[np.float64] = field(repr=False)
    k_params: NDArray[np.float64] = field(repr=False)
    k_tokens: NDArray[np.float64] = field(repr=False)
    n_budgets_used: NDArray[np.int64] = field(repr=False)
    budgets: tuple
    n_dropped_sparse: NDArray[np.int64]
    n_dropped_flags: NDArray[np.int64]
    n_failed: int
    point: Approach2Fit = field(repr=False)
    seed: int | None = None


def bootstrap_approach2(
    params: ArrayLike,
    flops: ArrayLike,
    loss: ArrayLike,
    budget: ArrayLike | None = None,
    n_bootstrap: int = 4000,
    seed: int | None = 0,
    include_flagged: bool = False,
) -> Approach2Bootstrap:
    """Bootstrap the Approach 2 exponents by resampling runs with replacement within each budget.

    Each resample draws, for every budget independently, as many runs as it has, with replacement
    (multinomial counts). The whole estimator is then re-applied: a weighted least-squares parabola
    per budget (the counts are the weights; all resamples solved at once) and the power-law fit
    through the budgets whose flags pass, as in :func:`fit_approach2`. A budget whose resample has
    fewer than three distinct model sizes cannot carry a parabola: it is dropped from that resample
    and counted in ``n_dropped_sparse``; a budget whose resampled vertex is flagged is dropped and
    counted in ``n_dropped_flags`` (unless ``include_flagged``). Each budget's ``C`` is held at its
    value on the original data. Resamples left with fewer than two budgets give NaN and are counted
    in ``n_failed``; :meth:`ExponentBootstrap.se` and :meth:`ExponentBootstrap.ci` skip them.
    n_bootstrap: number of resamples (>= 1); seed: for ``numpy.random.default_rng`` (same seed,
    same numbers). Returns an :class:`Approach2Bootstrap`.
    """
    point = fit_approach2(params, flops, loss, budget, include_flagged)
    r = positive_int("n_bootstrap", n_bootstrap)
    n, c, y = isoflop_runs(params, flops, loss)
    codes, labels = budget_codes(budget, c)
    rng = np.random.default_rng(seed)
    g_count = len(labels)
    lnn = np.full((r, g_count), np.nan)
    usable = np.zeros((r, g_count), dtype=bool)
    dropped_sparse = np.zeros(g_count, dtype=np.int64)
    dropped_flags = np.zeros(g_count, dtype=np.int64)
    x_all = np.log(n)
    for g in range(g_count):
        sel = np.flatnonzero(codes == g)
        x, yy = x_all[sel], y[sel]
        centre, half = _scale(x)
        xs = (x - centre) / half
        counts = rng.multinomial(sel.size, np.full(sel.size, 1.0 / sel.size), size=r).astype(float)
        c0, c1, c2 = _weighted_parabolas(xs, yy, counts)[:3]
        ok = np.isfinite(c2)
        xv, _ = _vertex(c0, c1, c2)
        present = counts > 0
        lo = np.where(present, xs[None, :], np.inf).min(axis=1)
        hi = np.where(present, xs[None, :], -np.inf).max(axis=1)
        finite = ok & np.isfinite(xv)
        flags_ok = finite & (c2 > 0) & (xv >= lo) & (xv <= hi)
        use = finite if include_flagged else flags_ok
        dropped_sparse[g] = int((~ok).sum())
        dropped_flags[g] = int((ok & ~use).sum())
        lnn[:, g] = np.where(finite, centre + half * xv, np.nan)
        usable[:, g] = use
    lnc = np.log(point.optima["flops"].to_numpy(dtype=float))
    a, ka = _masked_line(lnc, lnn, usable)
    lnd = lnc[None, :] - np.log(6.0) - lnn
    b, kb = _masked_line(lnc, lnd, usable)
    return Approach2Bootstrap(
        a=a, b=b, k_params=np.exp(ka), k_tokens=np.exp(kb),
        n_budgets_used=usable.sum(axis=1).astype(np.int64), budgets=tuple(labels),
        n_dropped_sparse=dropped_sparse, n_dropped_flags=dropped_flags,
        n_failed=int((~np.isfinite(a)).sum()), point=point,
        seed=None if seed is None else int(seed),
    )


# --- local exponents ------------------------------------------------------------------------------


def local_exponent(log_x: ArrayLike, log_y: ArrayLike) -> NDArray[np.float64]:
    """Local exponent ``d ln y / d ln x`` at each point of a curve (dimensionless).

    Second-order central differences on the (possibly uneven) grid in the interior and first-order
    one-sided differences at the two ends (``numpy.gradient``). Both arguments must use the same
    logarithm base (the ratio is base-free). log_x must be strictly increasing, with at least two
    points; log_y has the same length.
    """
    lx = one_dimensional("log_x", finite_array("log_x", log_x))
    ly = one_dimensional("log_y", finite_array("log_y", log_y))
    same_length(log_x=lx, log_y=ly)
    if lx.size < 2:
        raise ValueError(f"log_x: needs at least 2 points, got {lx.size}")
    steps = np.diff(lx)
    if np.any(steps <= 0):
        i = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise ValueError(
            f"log_x[{i}] = {float(lx[i])!r} is not greater than log_x[{i - 1}] = {float(lx[i - 1])!r}"
        )
    return np.gradient(ly, lx)
