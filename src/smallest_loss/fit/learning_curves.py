"""Fitting the step dependence of a training curve, to predict its end from its beginning.

Kaplan et al. (2020, Eq. 1.6 = Eq. 5.6) model the loss of a model with ``N`` non-embedding
parameters after ``S`` (batch-adjusted) optimizer steps, in the infinite-data limit, as

    L(N, S) = (N_c / N)^alpha_N + (S_c / S)^alpha_S        [nats per token]

For one training run ``N`` is fixed, so the first term is a constant offset ``L(N, inf)``, the loss the
run would converge to. :func:`fit_loss_of_steps` fits ``L(S) = loss_inf + (S_c / S)^alpha_S`` to
(part of) a training curve, so that the rest of the curve can be extrapolated (Kaplan et al. 2020,
Sec. 1.1, "Universality of training": "By extrapolating the early part of a training curve, we can
roughly predict the loss that would be achieved if we trained for much longer").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize_scalar

from ..laws.kaplan import KAPLAN2020, KaplanConstants
from ..validation import broadcast, finite_array, positive_array, same_length

__all__ = ["LearningCurveFit", "fit_loss_of_steps", "steps_to_loss", "compute_to_reach_loss"]

_MIN_POINTS = 4


@dataclass(frozen=True)
class LearningCurveFit:
    """A fitted learning curve ``L(S) = loss_inf + (S_c / S)^alpha_S`` (Kaplan et al. 2020, Eq. 5.6
    at fixed N).

    loss_inf: converged loss ``L(N, inf)`` [nats/token]; S_c: step scale [steps]; alpha_S: exponent
    (dimensionless); rss: residual sum of squares of the fit [(nats/token)^2]; n_points: points fitted.
    """

    loss_inf: float
    S_c: float
    alpha_S: float
    rss: float
    n_points: int

    def predict(self, steps: ArrayLike) -> NDArray[np.float64]:
        """Predicted loss [nats/token] after ``steps`` optimizer steps."""
        s = positive_array("steps", steps)
        return self.loss_inf + (self.S_c / s) ** self.alpha_S


def _linear_fit(x: NDArray[np.float64], loss: NDArray[np.float64], alpha: float):
    """For a fixed exponent the law is linear in (loss_inf, c): least squares in closed form."""
    design = np.column_stack([np.ones_like(x), x ** (-alpha)])
    coef, *_ = np.linalg.lstsq(design, loss, rcond=None)
    resid = loss - design @ coef
    return coef, float(resid @ resid)


def fit_loss_of_steps(
    steps: ArrayLike,
    loss: ArrayLike,
    alpha_bounds: tuple[float, float] = (0.05, 3.0),
    n_grid: int = 200,
) -> LearningCurveFit:
    """Least-squares fit of ``L(S) = loss_inf + (S_c / S)^alpha_S`` to a training curve.

    The step term of Kaplan et al. 2020, Eq. 1.6 = Eq. 5.6 (their Table 3 fit has alpha_S = 0.76,
    S_c = 2.1e3 steps), with the model-size term ``(N_c/N)^alpha_N`` of a single run absorbed into
    the constant ``loss_inf``.

    steps: optimizer steps (positive); loss: loss at those steps [nats/token], same length, at least
    4 points and 3 distinct step values. alpha_bounds: the exponent is searched in this open
    interval (0 < low < high). n_grid: log-spaced exponents tried before a bounded refinement.

    Method (deterministic): for a fixed exponent the law is linear in ``loss_inf`` and
    ``c = S_c^alpha_S``, so those two are solved by linear least squares (variable projection); the
    exponent minimising the residual sum of squares is found on a grid and refined with a bounded
    scalar search. Steps are scaled by their maximum internally for numerical conditioning.

    Raises ValueError naming the offending argument, or naming ``loss`` if the best fit has no
    decreasing power-law term (the curve does not fall with steps).
    """
    s = positive_array("steps", steps).ravel()
    y = finite_array("loss", loss).ravel()
    n = same_length(steps=s, loss=y)
    if n < _MIN_POINTS:
        raise ValueError(f"steps: {n} points given; at least {_MIN_POINTS} are needed to fit 3 constants")
    if np.unique(s).size < 3:
        raise ValueError("steps: fewer than 3 distinct step values; the curve's shape is not determined")
    try:
        lo, hi = (float(v) for v in alpha_bounds)
    except (TypeError, ValueError):
        raise ValueError(f"alpha_bounds = {alpha_bounds!r} is not a pair of numbers") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi):
        raise ValueError(f"alpha_bounds = {alpha_bounds!r} must satisfy 0 < low < high")
    if isinstance(n_grid, bool) or not isinstance(n_grid, (int, np.integer)) or n_grid < 3:
        raise ValueError(f"n_grid = {n_grid!r} must be an integer >= 3")

    s_ref = float(s.max())
    x = s / s_ref
    grid = np.geomspace(lo, hi, int(n_grid))
    rss = np.array([_linear_fit(x, y, a)[1] for a in grid])
    i = int(np.argmin(rss))
    left, right = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    res = minimize_scalar(
        lambda a: _linear_fit(x, y, a)[1], bounds=(left, right), method="bounded",
        options={"xatol": 1e-10 * max(1.0, right)},
    )
    alpha = float(res.x) if res.fun <= rss[i] else float(grid[i])
    (loss_inf, c), best_rss = _linear_fit(x, y, alpha)
    if not c > 0:
        raise ValueError("loss: the curve does not decrease with steps; no positive power-law term fits")
    # (S_c / S)^alpha = c (S / s_ref)^-alpha  =>  S_c = s_ref c^(1/alpha)
    s_c = s_ref * c ** (1.0 / alpha)
    return LearningCurveFit(
        loss_inf=float(loss_inf), S_c=float(s_c), alpha_S=alpha, rss=best_rss, n_points=n
    )


def steps_to_loss(
    params: ArrayLike, loss: ArrayLike, c: KaplanConstants = KAPLAN2020
) -> NDArray[np.float64]:
    """``S_min(N, L) = S_c [L - (N_c/N)^alpha_N]^(-1/alpha_S)`` [steps]: the batch-adjusted steps a
    model of ``params`` non-embedding parameters needs to reach ``loss`` [nats/token], from inverting
    L(N, S_min) of Kaplan et al. 2020, Eq. 1.6 = Eq. 5.6 (constants of Table 3). Multiplied by
    ``6 N B_crit(L)`` it is the compute ``C(N, L)`` of their Appendix B.4.

    Raises ValueError naming ``loss`` where the loss is not above the model's converged loss
    ``(N_c/N)^alpha_N``, which no number of steps reaches.
    """
    n = positive_array("params", params)
    lo = positive_array("loss", loss)
    n, lo = broadcast(params=n, loss=lo)
    gap = lo - (c.ns_N_c / n) ** c.ns_alpha_N
    if np.any(gap <= 0):
        i = int(np.flatnonzero(np.ravel(gap <= 0))[0])
        raise ValueError(
            f"loss = {float(np.ravel(lo)[i])!r} is not above the converged loss "
            f"{float(np.ravel((c.ns_N_c / n) ** c.ns_alpha_N)[i]):.4f} of params = {float(np.ravel(n)[i])!r}"
        )
    return c.ns_S_c * gap ** (-1.0 / c.ns_alpha_S)


def compute_to_reach_loss(
    params: ArrayLike, loss: ArrayLike, c: KaplanConstants = KAPLAN2020
) -> NDArray[np.float64]:
    """``C_min(N, L) = 6 N B_crit(L) S_min(N, L)`` [FLOP]: the least compute with which a model of
    ``params`` non-embedding parameters reaches ``loss`` [nats/token] (Kaplan et al. 2020,
    Appendix B.4, from Eqs. 5.3 and 5.6). Raises ValueError as :func:`steps_to_loss`."""
    from ..laws.kaplan import critical_batch_size, training_compute

    steps = steps_to_loss(params, loss, c)
    return training_compute(params, critical_batch_size(loss, c), steps)
