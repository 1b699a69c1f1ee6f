"""Besiroglu et al.'s (2024) objective for the Chinchilla law: a Huber *likelihood* with a free scale.

Hoffmann et al. (2022, Eq. 3) minimise the plain sum of Huber losses of the log-loss residuals
(:mod:`smallest_loss.fit.approach3`). Besiroglu et al. (2024, arXiv:2404.10102) report estimates
from a different objective, written in their notebook (epoch-research/analyzing-chinchilla,
``data_analysis.ipynb``, functions ``huber_logpdf`` and ``objective``): the residuals
``r_i = log L_i - LSE(a - alpha log N_i, b - beta log D_i, e)`` are modelled as independent draws from
a Huber density with threshold ``delta`` and scale ``s = exp(sigma)``::

    p(r) = exp(-rho_delta(r / s)) / (s Z(delta)),
    rho_delta(x) = x^2 / 2 if |x| <= delta else delta (|x| - delta / 2),
    Z(delta) = sqrt(2 pi) (1 - 2 Phi(-delta)) + 2 exp(-delta^2 / 2) / delta

and the six parameters ``(a, b, e, alpha, beta, sigma)`` maximise the log-likelihood. With
``delta = 1e-3`` and a fitted scale of a few times ``1e-6``, every residual lies far out in the linear
part of ``rho``, so the estimate behaves like a least-absolute-deviation fit of log-loss
(profiling out the scale gives ``s = delta * mean|r|`` and a log-likelihood that falls with
``log sum |r_i|``). It is not the objective of Hoffmann et al.'s Eq. 3, and its optimum is not that
of Eq. 3: this module lets a reader evaluate and maximise it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize, minimize_scalar
from scipy.special import ndtr

from ..laws import AllocationExponents, ChinchillaLaw
from ..validation import finite_array, positive_scalar, runs_arrays, same_length

__all__ = [
    "HUBER_DELTA",
    "huber_log_normaliser",
    "huber_log_likelihood",
    "LikelihoodFit",
    "fit_huber_likelihood",
    "profile_scale",
]

HUBER_DELTA = 1e-3
"""Huber threshold used by Besiroglu et al. (2024) in their likelihood, in units of the scale."""

_N_PARAMS = 6


def huber_log_normaliser(delta: float = HUBER_DELTA) -> float:
    """``log Z(delta)``: the log of the integral of ``exp(-rho_delta(x))`` over the real line.

    ``Z = sqrt(2 pi) (1 - 2 Phi(-delta)) + 2 exp(-delta^2/2) / delta`` (Gaussian core on
    ``|x| <= delta``, exponential tails beyond), as in Besiroglu et al.'s ``huber_normalizing_factor``.
    """
    d = positive_scalar("delta", delta)
    return float(np.log(np.sqrt(2 * np.pi) * (1 - 2 * ndtr(-d)) + 2 * np.exp(-0.5 * d * d) / d))


def _validate_runs(params: ArrayLike, tokens: ArrayLike, loss: ArrayLike):
    n, d, lo = runs_arrays(params, tokens, loss)
    npts = n.size
    if npts < _N_PARAMS + 1:
        raise ValueError(f"params, tokens, loss: {npts} runs given; need at least {_N_PARAMS + 1} "
                         "to fit 5 constants and a scale")
    return np.log(n), np.log(d), np.log(lo)


def _log_prediction(law_theta, x, y):
    a, b, e, alpha, beta = law_theta[:5]
    return np.logaddexp(np.logaddexp(a - alpha * x, b - beta * y), e)


def _value_and_grad(theta, x, y, lo, delta, log_z):
    a, b, e, alpha, beta, sigma = theta
    u = np.stack([a - alpha * x, b - beta * y, np.full_like(x, e)])
    m = u.max(axis=0)
    w = np.exp(u - m)
    tot = w.sum(axis=0)
    pred = m + np.log(tot)            # log L_hat = LSE(...)
    p = w / tot                        # d pred / d (u_k)
    s = np.exp(sigma)
    z = (lo - pred) / s
    absz = np.abs(z)
    core = absz <= delta
    rho = np.where(core, 0.5 * z * z, delta * (absz - 0.5 * delta))
    psi = np.where(core, z, delta * np.sign(z))       # rho'(z)
    n = x.size
    nll = float(rho.sum() + n * (log_z + sigma))
    # d z / d pred = -1/s; d pred / d theta through the softmax weights p.
    dpred = -psi / s
    grad = np.array([
        np.sum(dpred * p[0]),
        np.sum(dpred * p[1]),
        np.sum(dpred * p[2]),
        np.sum(dpred * p[0] * -x),
        np.sum(dpred * p[1] * -y),
        np.sum(-psi * z) + n,          # d z / d sigma = -z
    ])
    return nll, grad


def huber_log_likelihood(
    theta: ArrayLike,
    log_params: ArrayLike,
    log_tokens: ArrayLike,
    log_loss: ArrayLike,
    delta: float = HUBER_DELTA,
) -> tuple[float, NDArray[np.float64]]:
    """Log-likelihood of Besiroglu et al.'s (2024) Huber error model and its gradient.

    theta: ``(a, b, e, alpha, beta, sigma)`` with ``A, B, E = exp(a), exp(b), exp(e)`` [nats/token]
        and scale ``s = exp(sigma)`` of the log-loss residuals (dimensionless).
    log_params, log_tokens, log_loss: natural logs of N [parameters], D [tokens], L [nats/token],
        1-D of equal length.
    delta: Huber threshold in units of the scale (Besiroglu et al. use 1e-3).

    Returns ``(log_likelihood, gradient)`` (gradient with respect to ``theta``, shape ``(6,)``).
    """
    delta = positive_scalar("delta", delta)
    th = finite_array("theta", theta)
    if th.shape != (_N_PARAMS,):
        raise ValueError(f"theta: expected shape (6,) as (a, b, e, alpha, beta, sigma), got {th.shape}")
    x = finite_array("log_params", log_params).ravel()
    y = finite_array("log_tokens", log_tokens).ravel()
    lo = finite_array("log_loss", log_loss).ravel()
    same_length(log_params=x, log_tokens=y, log_loss=lo)
    nll, g = _value_and_grad(th, x, y, lo, delta, huber_log_normaliser(delta))
    return -nll, -g


@dataclass(frozen=True, eq=False)
class LikelihoodFit(AllocationExponents):
    """Maximum of Besiroglu et al.'s (2024) Huber log-likelihood over the starts tried.

    E, A, B [nats/token], alpha, beta: the law ``L = E + A N^-alpha + B D^-beta``; scale: the fitted
    scale ``s`` of the log-loss residuals; log_likelihood: its value at the optimum; theta: the six
    parameters ``(a, b, e, alpha, beta, sigma)``; n_points: runs fitted; delta: Huber threshold;
    start_theta, start_log_likelihood: end point and value reached from each start.
    """

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    scale: float
    log_likelihood: float
    theta: NDArray[np.float64]
    n_points: int
    delta: float
    start_theta: NDArray[np.float64] = field(repr=False)
    start_log_likelihood: NDArray[np.float64] = field(repr=False)

    @property
    def law(self) -> ChinchillaLaw:
        """The fitted law as a :class:`~smallest_loss.laws.chinchilla.ChinchillaLaw`."""
        return ChinchillaLaw(E=self.E, A=self.A, B=self.B, alpha=self.alpha, beta=self.beta,
                             name="huber-likelihood fit",
                             source=f"Huber likelihood with free scale (Besiroglu et al. 2024), "
                                    f"{self.n_points} runs, delta={self.delta:g}")

    def as_dict(self) -> dict[str, float]:
        """Constants and exponents keyed ``E, A, B, alpha, beta, a, b``."""
        return {k: float(getattr(self, k)) for k in ("E", "A", "B", "alpha", "beta", "a", "b")}


def fit_huber_likelihood(
    params: ArrayLike,
    tokens: ArrayLike,
    loss: ArrayLike,
    *,
    starts: ArrayLike,
    delta: float = HUBER_DELTA,
    polish: bool = True,
) -> LikelihoodFit:
    """Maximise Besiroglu et al.'s (2024) Huber log-likelihood from each of ``starts``.

    params: N [parameters]; tokens: D [tokens]; loss: L [nats/token]; 1-D, same length, >= 7 runs.
    starts: ``(k, 5)`` law parameters ``(a, b, e, alpha, beta)`` (as in
        :func:`smallest_loss.fit.approach3.fit_approach3`) or ``(k, 6)`` with ``sigma`` appended;
        a 5-column start gets the scale that maximises the likelihood at those constants.
    delta: Huber threshold in units of the scale (1e-3 in Besiroglu et al.).
    polish: after BFGS with the analytic gradient, run Nelder-Mead from the BFGS end point. The
        objective is almost piecewise linear at the fitted scale (its kinks are the runs fitted
        exactly), so gradient methods stop at a kink; the derivative-free polish moves on.

    The best end point over all starts is kept.
    """
    delta = positive_scalar("delta", delta)
    x, y, lo = _validate_runs(params, tokens, loss)
    s0 = finite_array("starts", starts)
    if s0.ndim == 1:
        s0 = s0[None, :]
    if s0.ndim != 2 or s0.shape[1] not in (5, 6) or s0.shape[0] == 0:
        raise ValueError(f"starts: expected shape (k, 5) or (k, 6) with k >= 1, got {np.shape(starts)}")
    log_z = huber_log_normaliser(delta)

    def nll(th):
        return _value_and_grad(th, x, y, lo, delta, log_z)

    ends, values = [], []
    for st in s0:
        th0 = np.array(st, dtype=float)
        if th0.size == 5:
            # The profile maximum over the scale at fixed constants (1-D, smooth in sigma).
            # The scale that maximises the likelihood at these constants: a smooth 1-D problem,
            # bracketed around the linear-regime value s = delta * mean|r| (see the module notes).
            r_abs = np.abs(lo - _log_prediction(th0, x, y))
            centre = np.log(max(delta * float(np.mean(r_abs)), 1e-300))
            r = minimize_scalar(lambda sg: nll(np.append(th0, sg))[0],
                                bounds=(centre - 5.0, centre + 5.0), method="bounded",
                                options={"xatol": 1e-10})
            th0 = np.append(th0, r.x)
        res = minimize(nll, th0, jac=True, method="BFGS", options={"gtol": 1e-8, "maxiter": 20000})
        th = res.x
        if polish:
            pol = minimize(lambda t: nll(t)[0], th, method="Nelder-Mead",
                           options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 40000,
                                    "maxfev": 40000, "adaptive": True})
            if pol.fun <= nll(th)[0]:
                th = pol.x
        ends.append(th)
        values.append(-nll(th)[0])
    ends_arr, vals = np.array(ends), np.array(values)
    best = int(np.argmax(np.where(np.isfinite(vals), vals, -np.inf)))
    th = ends_arr[best]
    return LikelihoodFit(
        E=float(np.exp(th[2])), A=float(np.exp(th[0])), B=float(np.exp(th[1])),
        alpha=float(th[3]), beta=float(th[4]), scale=float(np.exp(th[5])),
        log_likelihood=float(vals[best]), theta=th.copy(), n_points=int(x.size), delta=delta,
        start_theta=ends_arr, start_log_likelihood=vals,
    )


def profile_scale(
    law_theta: ArrayLike,
    log_params: ArrayLike,
    log_tokens: ArrayLike,
    log_loss: ArrayLike,
    delta: float = HUBER_DELTA,
) -> tuple[float, float]:
    """The scale that maximises the Huber log-likelihood at fixed law constants.

    law_theta: ``(a, b, e, alpha, beta)``. Returns ``(sigma, log_likelihood)`` with ``sigma = log s``
    (how Besiroglu et al. 2024 score a published law: its constants fixed, only the scale fitted).
    """
    delta = positive_scalar("delta", delta)
    th = finite_array("law_theta", law_theta)
    if th.shape != (5,):
        raise ValueError(f"law_theta: expected shape (5,) as (a, b, e, alpha, beta), got {th.shape}")
    x = finite_array("log_params", log_params).ravel()
    y = finite_array("log_tokens", log_tokens).ravel()
    lo = finite_array("log_loss", log_loss).ravel()
    same_length(log_params=x, log_tokens=y, log_loss=lo)
    log_z = huber_log_normaliser(delta)
    centre = np.log(max(delta * float(np.mean(np.abs(lo - _log_prediction(th, x, y)))), 1e-300))
    r = minimize_scalar(lambda sg: _value_and_grad(np.append(th, sg), x, y, lo, delta, log_z)[0],
                        bounds=(centre - 5.0, centre + 5.0), method="bounded", options={"xatol": 1e-10})
    return float(r.x), float(-r.fun)
