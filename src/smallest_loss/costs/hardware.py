"""Hardware progress: price of a FLOP, the doubling time of FLOP/s per dollar, wait or train now.

Units: USD, FLOP, FLOP/s, years.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..validation import broadcast, finite_array, one_dimensional, positive_array, positive_int, same_length
from .compute import SECONDS_PER_HOUR, _utilization

__all__ = ["DoublingTime", "usd_per_flop", "doubling_time", "optimal_wait_years", "wait_gain"]


def _out(x: NDArray[np.float64]) -> NDArray[np.float64] | float:
    return float(x) if np.ndim(x) == 0 else x


def usd_per_flop(price_per_gpu_hour: ArrayLike, peak_flops_per_s: ArrayLike, utilization: ArrayLike) -> NDArray[np.float64] | float:
    """Price of one model FLOP [USD/FLOP]: ``price / (3600 s/h x peak x MFU)``, the inverse of
    :func:`smallest_loss.costs.compute.flops_from_dollars` per dollar."""
    p = positive_array("price_per_gpu_hour", price_per_gpu_hour)
    f = positive_array("peak_flops_per_s", peak_flops_per_s)
    u = _utilization(utilization)
    p, f, u = broadcast(price_per_gpu_hour=p, peak_flops_per_s=f, utilization=u)
    return _out(p / (SECONDS_PER_HOUR * f * u))


@dataclass(frozen=True)
class DoublingTime:
    """Exponential trend ``log2 y = intercept + slope x year``.

    years: doubling time ``1/slope`` [years]; lo, hi: its bootstrap percentile interval at
    ``level``; slope [doublings per year]; n: points; n_bootstrap: resamples; seed.
    """

    years: float
    lo: float
    hi: float
    slope: float
    intercept: float
    level: float
    n: int
    n_bootstrap: int
    seed: int


def _ols(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Least-squares slope and intercept of each row of y on each row of x (2-D inputs)."""
    xm = x.mean(axis=-1, keepdims=True)
    ym = y.mean(axis=-1, keepdims=True)
    sxx = ((x - xm) ** 2).sum(axis=-1)
    slope = ((x - xm) * (y - ym)).sum(axis=-1) / sxx
    return slope, ym[..., 0] - slope * xm[..., 0]


def doubling_time(year: ArrayLike, value: ArrayLike, *, n_bootstrap: int = 2000, seed: int = 0,
                  level: float = 0.95) -> DoublingTime:
    """Doubling time [years] of ``value`` (> 0, e.g. FLOP/s per USD) over ``year`` (decimal years)
    by least squares on ``log2 value``, with a percentile interval from ``n_bootstrap`` resamples
    of the points (``numpy.random.default_rng(seed)``). ``ValueError`` if the fitted trend (or a
    bound of the interval) is not increasing: a doubling time needs a positive slope."""
    x = one_dimensional("year", finite_array("year", year))
    y = one_dimensional("value", positive_array("value", value))
    n = same_length(year=x, value=y)
    if n < 3:
        raise ValueError(f"year: {n} points; need at least 3 for a trend with an interval")
    if not 0 < level < 1:
        raise ValueError(f"level = {level!r} must lie in (0, 1)")
    b = positive_int("n_bootstrap", n_bootstrap)
    ly = np.log2(y)
    slope, intercept = _ols(x[None, :], ly[None, :])
    if slope[0] <= 0:
        raise ValueError(f"value: the trend falls ({slope[0]:.3g} doublings per year); no doubling time")
    idx = np.random.default_rng(seed).integers(0, n, size=(b, n))
    bs, _ = _ols(x[idx], ly[idx])
    q = np.nanquantile(bs, [(1 - level) / 2, (1 + level) / 2])
    if q[0] <= 0:
        raise ValueError(f"value: the {level:.0%} interval of the slope reaches {q[0]:.3g}; no bounded doubling time")
    return DoublingTime(years=float(1 / slope[0]), lo=float(1 / q[1]), hi=float(1 / q[0]),
                        slope=float(slope[0]), intercept=float(intercept[0]), level=level, n=n,
                        n_bootstrap=b, seed=seed)


def optimal_wait_years(deadline_years: ArrayLike, doubling_years: ArrayLike) -> NDArray[np.float64] | float:
    """Wait that maximises the compute finished by a deadline [years].

    A fixed budget buys hardware (or a fixed hourly cluster) whose FLOP/s per dollar grows as
    ``2^(w/T)`` with doubling time T; waiting w and then training until the deadline ``t_d``
    delivers ``C(w) ∝ 2^(w/T) (t_d - w)``. ``dC/dw = 0`` gives a run of ``T / ln 2`` years, so the
    optimal wait is ``max(0, t_d - T / ln 2)``: start now unless the deadline is more than
    ``T / ln 2`` away.
    """
    td = positive_array("deadline_years", deadline_years)
    t = positive_array("doubling_years", doubling_years)
    td, t = broadcast(deadline_years=td, doubling_years=t)
    return _out(np.maximum(0.0, td - t / np.log(2.0)))


def wait_gain(deadline_years: ArrayLike, doubling_years: ArrayLike) -> NDArray[np.float64] | float:
    """Compute at the optimal wait relative to starting now, ``2^(w*/T) (t_d - w*) / t_d`` (>= 1)."""
    w = np.asarray(optimal_wait_years(deadline_years, doubling_years), dtype=float)
    td, t = broadcast(deadline_years=positive_array("deadline_years", deadline_years),
                      doubling_years=positive_array("doubling_years", doubling_years))
    return _out(2.0 ** (w / t) * (td - w) / td)
