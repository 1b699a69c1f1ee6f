"""Refit of the decay constants R_D* and R_N* of Muennighoff et al. (2023) on repeated-data runs.

The law is :func:`smallest_loss.laws.data_constrained.data_constrained_loss`. As in Muennighoff et
al. 2023, the single-epoch constants (A, B, alpha, beta) are held at a base fit and only the
repetition constants are estimated; the irreducible loss E is refitted too, because a validation
set other than the base fit's shifts every loss by a constant. The objective is the sum of squared
log-ratios ``log L_hat - log L`` (dimensionless), minimised by ``scipy.optimize.least_squares``
(trust-region reflective, bounded) from a small grid of starts. :func:`bootstrap_data_constrained`
resamples whole runs (clusters) with replacement and refits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares

from ..laws.chinchilla import ChinchillaLaw
from ..laws.data_constrained import MUENNIGHOFF2023, DataConstrainedLaw, data_constrained_loss
from ..validation import positive_array, positive_int, same_length

__all__ = ["R_STAR_BOUNDS", "DataConstrainedFit", "fit_data_constrained",
           "DataConstrainedBootstrap", "bootstrap_data_constrained"]

R_STAR_BOUNDS = (0.01, 1e4)
"""Search range of R_D* and R_N* (dimensionless). A fitted value or a bootstrap percentile at the
upper end means the data give no upper bound: report it as one-sided (">= lower end")."""

_LOG_R_BOUNDS = (float(np.log(R_STAR_BOUNDS[0])), float(np.log(R_STAR_BOUNDS[1])))
_STARTS_R_D = (1.0, 5.0, 15.0, 60.0)
_STARTS_R_N = (1.0, 5.0, 30.0)


@dataclass(frozen=True)
class DataConstrainedFit:
    """Fitted E [nats/token], R_D*, R_N* (dimensionless) on ``n_points`` runs; ``rms_log`` is the
    root-mean-square log-ratio residual (dimensionless); ``base`` the fixed single-epoch law."""

    E: float
    R_D_star: float
    R_N_star: float
    rms_log: float
    n_points: int
    base: ChinchillaLaw

    @property
    def law(self) -> DataConstrainedLaw:
        """The fitted law (base constants with the refitted E)."""
        b = self.base
        return DataConstrainedLaw(
            base=ChinchillaLaw(E=self.E, A=b.A, B=b.B, alpha=b.alpha, beta=b.beta, name="refit E"),
            R_D_star=self.R_D_star, R_N_star=self.R_N_star, name="refit")


def _arrays(params, tokens, unique_tokens, loss):
    n = positive_array("params", params).ravel()
    d = positive_array("tokens", tokens).ravel()
    u = positive_array("unique_tokens", unique_tokens).ravel()
    lo = positive_array("loss", loss).ravel()
    same_length(params=n, tokens=d, unique_tokens=u, loss=lo)
    if len(np.unique(np.round(np.log(d / np.minimum(u, d)), 6))) < 3:
        raise ValueError("unique_tokens: fewer than 3 distinct epoch counts; R_D* is not identified")
    return n, d, u, lo


def _solve(n, d, u, lo, base: ChinchillaLaw, starts=None) -> tuple[NDArray[np.float64], float]:
    def residual(th):
        law = DataConstrainedLaw(
            base=ChinchillaLaw(E=th[0], A=base.A, B=base.B, alpha=base.alpha, beta=base.beta),
            R_D_star=float(np.exp(th[1])), R_N_star=float(np.exp(th[2])))
        return np.log(data_constrained_loss(law, n, d, u)) - np.log(lo)

    e_hi = float(lo.min()) * 0.999
    best = None
    if starts is None:
        starts = [(min(base.E, 0.9 * e_hi), r_d, r_n) for r_d in _STARTS_R_D for r_n in _STARTS_R_N]
    for e0, r_d, r_n in starts:
        x0 = np.array([min(e0, 0.99 * e_hi), np.log(r_d), np.log(r_n)])
        x0[1:] = np.clip(x0[1:], _LOG_R_BOUNDS[0] + 1e-9, _LOG_R_BOUNDS[1] - 1e-9)
        res = least_squares(residual, x0, bounds=([0.0, _LOG_R_BOUNDS[0], _LOG_R_BOUNDS[0]],
                                                 [e_hi, _LOG_R_BOUNDS[1], _LOG_R_BOUNDS[1]]),
                            x_scale=[0.1, 1.0, 1.0], xtol=1e-10, ftol=1e-12, gtol=1e-12)
        if best is None or res.cost < best.cost - 1e-15:
            best = res
    return best.x, float(best.cost)


def fit_data_constrained(params: ArrayLike, tokens: ArrayLike, unique_tokens: ArrayLike,
                         loss: ArrayLike, base: ChinchillaLaw = MUENNIGHOFF2023.base) -> DataConstrainedFit:
    """Least-squares fit of E, R_D*, R_N* of Muennighoff et al. 2023's law to final losses.

    params N [parameters], tokens D seen [tokens], unique_tokens U_D [tokens], loss [nats/token]:
    one entry per run. ``base`` fixes A, B, alpha, beta (default: Muennighoff et al.'s C4 fit).
    R_D* and R_N* are searched in :data:`R_STAR_BOUNDS`; a value on that edge means the data do not
    bound it.
    """
    n, d, u, lo = _arrays(params, tokens, unique_tokens, loss)
    x, cost = _solve(n, d, u, lo, base)
    return DataConstrainedFit(E=float(x[0]), R_D_star=float(np.exp(x[1])), R_N_star=float(np.exp(x[2])),
                              rms_log=float(np.sqrt(2.0 * cost / len(lo))), n_points=len(lo), base=base)


@dataclass(frozen=True)
class DataConstrainedBootstrap:
    """Refits on ``n_bootstrap`` resamples of whole runs: arrays ``E``, ``R_D_star``, ``R_N_star``."""

    E: NDArray[np.float64]
    R_D_star: NDArray[np.float64]
    R_N_star: NDArray[np.float64]

    @property
    def n_bootstrap(self) -> int:
        return len(self.E)

    def ci(self, name: str, level: float = 0.95) -> tuple[float, float]:
        """Percentile interval of ``name`` (``E``, ``R_D_star`` or ``R_N_star``) at ``level``."""
        if name not in ("E", "R_D_star", "R_N_star"):
            raise ValueError(f"name = {name!r} is not one of 'E', 'R_D_star', 'R_N_star'")
        if not 0 < level < 1:
            raise ValueError(f"level = {level!r} must lie strictly between 0 and 1")
        q = 100 * (1 - level) / 2
        lo, hi = np.percentile(getattr(self, name), [q, 100 - q])
        return float(lo), float(hi)


def bootstrap_data_constrained(params: ArrayLike, tokens: ArrayLike, unique_tokens: ArrayLike,
                               loss: ArrayLike, groups: ArrayLike | None = None,
                               n_bootstrap: int = 200, seed: int = 0,
                               base: ChinchillaLaw = MUENNIGHOFF2023.base) -> DataConstrainedBootstrap:
    """Cluster bootstrap of :func:`fit_data_constrained`: resample ``groups`` (one label per row,
    e.g. a model size, so that its runs move together; default: each row its own group) with
    replacement, ``n_bootstrap`` times, seeded by ``seed``. Resamples with fewer than 3 distinct
    epoch counts are drawn again. Each refit starts from the full-data fit and from
    (E of ``base``, 15, 5)."""
    n, d, u, lo = _arrays(params, tokens, unique_tokens, loss)
    n_bootstrap = positive_int("n_bootstrap", n_bootstrap)
    labels = np.arange(len(lo)) if groups is None else np.asarray(groups)
    if labels.shape != lo.shape:
        raise ValueError(f"groups: has {labels.size} labels for {lo.size} runs")
    names, idx = np.unique(labels, return_inverse=True)
    members = [np.flatnonzero(idx == k) for k in range(len(names))]
    full, _ = _solve(n, d, u, lo, base)
    starts = [(full[0], float(np.exp(full[1])), float(np.exp(full[2]))), (base.E, 15.0, 5.0)]
    rng = np.random.default_rng(seed)
    out = np.empty((n_bootstrap, 3))
    k = 0
    while k < n_bootstrap:
        rows = np.concatenate([members[j] for j in rng.integers(0, len(names), len(names))])
        if len(np.unique(np.round(np.log(d[rows] / np.minimum(u[rows], d[rows])), 6))) < 3:
            continue
        x, _ = _solve(n[rows], d[rows], u[rows], lo[rows], base, starts)
        out[k] = x[0], np.exp(x[1]), np.exp(x[2])
        k += 1
    return DataConstrainedBootstrap(E=out[:, 0], R_D_star=out[:, 1], R_N_star=out[:, 2])
