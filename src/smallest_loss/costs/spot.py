"""Spot (preemptible) GPU-hours: the expected price of a useful hour of training.

The model, stated once. A job runs on instances that are taken away (preempted) at the times of a
Poisson process of rate ``r`` [preemptions per hour of wall time]. It saves a checkpoint after each
``tau`` hours of useful work; writing it takes ``delta`` hours, during which the job can also be
preempted. A preemption loses the work since the last completed checkpoint and costs ``R`` hours of
restart (obtaining a new instance, loading the checkpoint), billed at the same price and assumed
free of preemptions. Every hour of wall time is billed, at ``(1 - discount)`` times the on-demand
price.

A segment of ``s = tau + delta`` hours is attempted until it completes without a preemption. The
number of failed attempts is geometric with mean ``exp(r s) - 1``; a failed attempt lasts on average
``1/r - s exp(-r s) / (1 - exp(-r s))`` hours, then ``R`` hours of restart. Summing,

    E[wall time of a segment] = (exp(r s) - 1) (1/r + R),                        [hours]

so the wall hours per useful hour are ``(exp(r (tau + delta)) - 1) (1/r + R) / tau``, which tends to
``1 + delta/tau`` without preemptions. Minimising over ``tau`` (``R`` only scales the expression)
gives ``(1 - r tau) exp(r tau) = exp(-r delta)``, solved by the principal branch of the Lambert W
function: ``tau* = (1 + W0(-exp(-1 - r delta))) / r``. Expanding to first order in ``r tau`` and
``r delta`` recovers Young's (1974) optimum ``tau = sqrt(2 delta / r) = sqrt(2 delta M)`` with
``M = 1/r`` the mean time between preemptions; Daly (2006) derives the same first-order form and
higher-order corrections for a model with restart.

Units: hours for every duration, preemptions per hour for the rate, a fraction in [0, 1) for the
discount.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import lambertw

from ..validation import as_float_array, broadcast, positive_array

__all__ = [
    "young_daly_interval",
    "optimal_checkpoint_interval",
    "wall_hours_per_useful_hour",
    "spot_cost_factor",
    "spot_breakeven_preemptions_per_hour",
]


def _nonnegative(name: str, values: ArrayLike) -> NDArray[np.float64]:
    arr = as_float_array(name, values)
    flat = np.ravel(arr)
    bad = ~np.isfinite(flat) | (flat < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = f"[{i}]" if arr.ndim else ""
        raise ValueError(f"{name}{where} = {float(flat[i])!r} is not a finite number >= 0")
    return arr


def _discount(values: ArrayLike) -> NDArray[np.float64]:
    arr = as_float_array("discount", values)
    flat = np.ravel(arr)
    bad = ~np.isfinite(flat) | (flat < 0) | (flat >= 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = f"[{i}]" if arr.ndim else ""
        raise ValueError(f"discount{where} = {float(flat[i])!r} is outside [0, 1); give a fraction "
                         "such as 0.6 for 60% off the on-demand price")
    return arr


def _out(x: NDArray[np.float64]) -> NDArray[np.float64] | float:
    return float(x) if np.ndim(x) == 0 else x


def young_daly_interval(checkpoint_hours: ArrayLike, preemptions_per_hour: ArrayLike) -> NDArray[np.float64] | float:
    """First-order optimal checkpoint interval ``sqrt(2 delta M)`` [hours of work between checkpoints].

    Young 1974 ("A first order approximation to the optimum checkpoint interval", CACM 17(9)),
    also the first-order result of Daly 2006 (FGCS 22(3)): ``delta`` = ``checkpoint_hours``, the
    time to write one checkpoint, and ``M = 1 / preemptions_per_hour`` the mean time between
    failures. Valid when ``delta`` is much shorter than ``M``. Both arguments must be positive.
    """
    d = positive_array("checkpoint_hours", checkpoint_hours)
    r = positive_array("preemptions_per_hour", preemptions_per_hour)
    d, r = broadcast(checkpoint_hours=d, preemptions_per_hour=r)
    return _out(np.sqrt(2.0 * d / r))


def optimal_checkpoint_interval(checkpoint_hours: ArrayLike, preemptions_per_hour: ArrayLike) -> NDArray[np.float64] | float:
    """Exact minimiser of the wall hours per useful hour in this module's model [hours].

    ``tau* = (1 + W0(-exp(-1 - r delta))) / r`` (W0 the principal Lambert W branch); infinite
    when ``preemptions_per_hour`` is 0 (never checkpoint). Independent of the restart time.
    """
    d = positive_array("checkpoint_hours", checkpoint_hours)
    r = _nonnegative("preemptions_per_hour", preemptions_per_hour)
    d, r = broadcast(checkpoint_hours=d, preemptions_per_hour=r)
    a = r * d
    x = 1.0 + lambertw(-np.exp(-1.0 - a)).real          # x = r tau*, in (0, 1)
    small = a < 1e-10                                    # near the branch point: series in a
    x = np.where(small, np.sqrt(2.0 * a) - 2.0 * a / 3.0, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.where(r > 0, x / np.where(r > 0, r, 1.0), np.inf)
    return _out(tau)


def wall_hours_per_useful_hour(
    interval_hours: ArrayLike, checkpoint_hours: ArrayLike, preemptions_per_hour: ArrayLike,
    restart_hours: ArrayLike = 0.0,
) -> NDArray[np.float64] | float:
    """Expected billed wall hours per hour of useful training, ``(e^{r(tau+delta)} - 1)(1/r + R)/tau``.

    ``interval_hours`` = tau (useful work between checkpoints, may be ``inf`` when the rate is 0),
    ``checkpoint_hours`` = delta, ``preemptions_per_hour`` = r >= 0, ``restart_hours`` = R >= 0.
    At r = 0 the value is ``1 + delta/tau``. [hours per hour, >= 1]
    """
    tau = as_float_array("interval_hours", interval_hours)
    positive_array("interval_hours", np.where(tau == np.inf, 1.0, tau))   # +inf allowed, else > 0
    d = positive_array("checkpoint_hours", checkpoint_hours)
    r = _nonnegative("preemptions_per_hour", preemptions_per_hour)
    rr = _nonnegative("restart_hours", restart_hours)
    tau, d, r, rr = broadcast(interval_hours=tau, checkpoint_hours=d, preemptions_per_hour=r, restart_hours=rr)
    if np.any(np.isinf(tau) & (r > 0)):
        raise ValueError("interval_hours = inf is only possible with preemptions_per_hour = 0")
    s = tau + d
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        safe_r = np.where(r > 0, r, 1.0)
        preempted = np.expm1(safe_r * s) * (1.0 / safe_r + rr) / tau
        none = np.where(np.isinf(tau), 1.0, s / tau)
    return _out(np.where(r > 0, preempted, none))


def spot_cost_factor(
    discount: ArrayLike, preemptions_per_hour: ArrayLike, checkpoint_hours: ArrayLike,
    restart_hours: ArrayLike = 0.0,
) -> NDArray[np.float64] | float:
    """Expected spot dollars per useful GPU-hour, relative to the on-demand price of a GPU-hour.

    ``(1 - discount) x wall_hours_per_useful_hour`` at the optimal checkpoint interval
    (:func:`optimal_checkpoint_interval`). Below 1, spot is the cheaper way to buy an hour of
    training; it equals ``1 - discount`` when ``preemptions_per_hour`` is 0. The on-demand
    reference is taken without checkpoint overhead (an on-demand run that also checkpoints
    makes spot look slightly better than this). [dimensionless]
    """
    f = _discount(discount)
    r = _nonnegative("preemptions_per_hour", preemptions_per_hour)
    d = positive_array("checkpoint_hours", checkpoint_hours)
    rr = _nonnegative("restart_hours", restart_hours)
    f, r, d, rr = broadcast(discount=f, preemptions_per_hour=r, checkpoint_hours=d, restart_hours=rr)
    tau = np.asarray(optimal_checkpoint_interval(d, r), dtype=float)
    return _out((1.0 - f) * np.asarray(wall_hours_per_useful_hour(tau, d, r, rr), dtype=float))


def spot_breakeven_preemptions_per_hour(
    discount: ArrayLike, checkpoint_hours: ArrayLike, restart_hours: ArrayLike = 0.0,
) -> NDArray[np.float64] | float:
    """Preemption rate [per hour] at which spot costs as much per useful hour as on-demand.

    The root in r of ``spot_cost_factor(discount, r, ...) = 1`` (the factor rises monotonically
    with r), found by bisection on log r to a relative accuracy of 1e-10; 0 when ``discount`` is 0.
    """
    f = _discount(discount)
    d = positive_array("checkpoint_hours", checkpoint_hours)
    rr = _nonnegative("restart_hours", restart_hours)
    f, d, rr = broadcast(discount=f, checkpoint_hours=d, restart_hours=rr)
    lo = np.full(f.shape, -40.0)                          # log r: e^-40 per hour, spot always wins
    hi = np.full(f.shape, 40.0)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        above = np.asarray(spot_cost_factor(f, np.exp(mid), d, rr), dtype=float) > 1.0
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
        if np.all(hi - lo < 1e-10):
            break
    return _out(np.where(f > 0, np.exp(0.5 * (lo + hi)), 0.0))
