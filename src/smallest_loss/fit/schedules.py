"""A schedule-aware loss curve: the multi-power law of Luo et al. 2025 (arXiv:2503.12811).

For a learning-rate schedule eta_1, eta_2, ... after warmup, the loss after step t is modelled as

    L(t) = L0 + A (S1(t) + S_W)^-alpha - LD(t),
    S1(t) = sum_{tau <= t} eta_tau,
    LD(t) = B sum_{k <= t} (eta_{k-1} - eta_k) G(eta_k^-gamma S_k(t)),   S_k(t) = sum_{k <= tau <= t} eta_tau,
    G(x) = 1 - (C x + 1)^-beta,

seven constants (L0, A, alpha, B, C, beta, gamma). The book writes B and C as B_MPL and C_MPL,
since B and C there also name Chinchilla's data coefficient and training compute. The first two terms are a power law in the
area under the schedule; LD is the extra loss reduction that each drop of the learning rate buys,
growing with the area after the drop. S_W is the area of the warmup; here it is taken as that of a
linear warmup to the peak, ``S_W = eta_peak * warmup_steps / 2``.

The released curves are sampled every 128 steps; the schedule is treated as constant within each
interval between samples (at the later sample's learning rate), which makes LD a sum over at most
a few hundred blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..validation import positive_array

__all__ = ["MultiPowerLaw", "Curve", "multipower_loss", "fit_multipower", "steps_to_reach"]


@dataclass(frozen=True)
class Curve:
    """One training curve: ``step`` (increasing, after warmup), ``lr`` at each step, ``loss``
    (optional for prediction), with the warmup length ``warmup`` [steps] and the peak ``lr_peak``."""

    step: np.ndarray
    lr: np.ndarray
    loss: np.ndarray | None
    warmup: float
    lr_peak: float

    @staticmethod
    def make(step: ArrayLike, lr: ArrayLike, loss: ArrayLike | None = None,
             warmup: float = 2160.0, lr_peak: float | None = None) -> "Curve":
        s = positive_array("step", step)
        r = positive_array("lr", lr)
        if s.ndim != 1 or len(s) != len(r) or len(s) < 2:
            raise ValueError(f"step and lr: expected two 1-d arrays of one length >= 2, got {s.shape}, {r.shape}")
        if np.any(np.diff(s) <= 0):
            i = int(np.flatnonzero(np.diff(s) <= 0)[0]) + 1
            raise ValueError(f"step[{i}] = {s[i]!r} does not increase")
        if float(warmup) < 0 or float(warmup) > s[0]:
            raise ValueError(f"warmup = {warmup!r}: expected 0 <= warmup <= the first step {s[0]!r}")
        lo = None if loss is None else positive_array("loss", loss)
        if lo is not None and lo.shape != s.shape:
            raise ValueError(f"loss: {lo.shape} values but step has {s.shape}")
        peak = float(r.max()) if lr_peak is None else float(positive_array("lr_peak", lr_peak))
        return Curve(s, r, lo, float(warmup), peak)


@dataclass(frozen=True)
class MultiPowerLaw:
    """The seven constants of the multi-power law (see the module docstring)."""

    L0: float
    A: float
    alpha: float
    B: float
    C: float
    beta: float
    gamma: float

    def __call__(self, curve: Curve) -> np.ndarray:
        return multipower_loss(curve, self)

    def as_vector(self) -> np.ndarray:
        return np.array([self.L0, self.A, self.alpha, self.B, self.C, self.beta, self.gamma])


def _blocks(curve: Curve) -> tuple[np.ndarray, np.ndarray]:
    """Learning rate and length of each block ending at a sampled step."""
    widths = np.diff(np.concatenate([[curve.warmup], curve.step]))
    return curve.lr, widths


def multipower_loss(curve: Curve, law: MultiPowerLaw) -> np.ndarray:
    """Predicted loss at every sampled step of ``curve``."""
    eta, w = _blocks(curve)
    area = eta * w
    cum = np.cumsum(area)
    s_w = curve.lr_peak * curve.warmup / 2.0
    base = law.L0 + law.A * (cum + s_w) ** (-law.alpha)
    prev = np.concatenate([[curve.lr_peak], eta[:-1]])
    drop = prev - eta  # (eta_{k-1} - eta_k) for each block k
    # S_k(t_j) = cum[j] - cum[k-1] for k <= j
    before = np.concatenate([[0.0], cum[:-1]])
    sk = np.maximum(cum[None, :] - before[:, None], 0.0)  # [k, j]; k > j masked below
    x = eta[:, None] ** (-law.gamma) * sk
    g = 1.0 - (law.C * x + 1.0) ** (-law.beta)
    mask = np.triu(np.ones_like(sk, dtype=bool))
    ld = law.B * np.sum(np.where(mask, drop[:, None] * g, 0.0), axis=0)
    return base - ld


def _law(p: np.ndarray) -> MultiPowerLaw:
    return MultiPowerLaw(float(p[0]), *(float(v) for v in np.exp(p[1:6])), float(p[6]))


def fit_multipower(curves: list[Curve], starts: int = 8, seed: int = 0) -> MultiPowerLaw:
    """Fit the seven constants to ``curves`` (each with its loss) by least squares on the loss at
    every sampled step, every curve weighted by its number of points; the best of ``starts``
    seeded starting points (L-M in log-constants) is returned."""
    from scipy.optimize import least_squares

    if not curves:
        raise ValueError("curves: need at least one curve with its loss")
    for i, c in enumerate(curves):
        if c.loss is None:
            raise ValueError(f"curves[{i}]: no loss to fit")
    y_min = min(float(c.loss.min()) for c in curves)

    def resid(p):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            law = _law(p)
            r = np.concatenate([multipower_loss(c, law) - c.loss for c in curves])
        return np.where(np.isfinite(r), r, 1e3)

    rng = np.random.default_rng(seed)
    best = None
    for k in range(starts):
        p0 = np.array([
            y_min - rng.uniform(0.2, 1.0),        # L0
            np.log(rng.uniform(0.3, 1.5)),        # A
            np.log(rng.uniform(0.3, 0.7)),        # alpha
            np.log(rng.uniform(100, 1000)),       # B
            np.log(rng.uniform(0.5, 5.0)),        # C
            np.log(rng.uniform(0.3, 0.8)),        # beta
            rng.uniform(0.3, 0.7),                # gamma
        ])
        try:
            fit = least_squares(resid, p0, method="trf", max_nfev=400, x_scale="jac")
        except (ValueError, FloatingPointError):
            continue
        if best is None or fit.cost < best.cost:
            best = fit
    if best is None:
        raise ValueError("fit_multipower: no starting point converged")
    return _law(best.x)


def steps_to_reach(step: ArrayLike, loss: ArrayLike, target: float, window: int = 5) -> float:
    """First step at which a training curve reaches ``target`` loss [nats/token], read on its
    running median over ``window`` samples (centred) so that one noisy sample does not count;
    ``nan`` if it never does. ``step`` increasing, ``loss`` of the same length."""
    s = positive_array("step", step)
    lo = positive_array("loss", loss)
    if s.ndim != 1 or s.shape != lo.shape:
        raise ValueError(f"step and loss: expected two 1-d arrays of one length, got {s.shape}, {lo.shape}")
    if np.any(np.diff(s) <= 0):
        i = int(np.flatnonzero(np.diff(s) <= 0)[0]) + 1
        raise ValueError(f"step[{i}] = {s[i]!r} does not increase")
    if int(window) < 1:
        raise ValueError(f"window = {window!r}: expected a positive number of samples")
    if not np.isfinite(float(target)):
        raise ValueError(f"target = {target!r}: expected a finite loss")
    import pandas as pd

    smooth = pd.Series(lo).rolling(int(window), center=True, min_periods=1).median().to_numpy()
    hit = np.flatnonzero(smooth <= float(target))
    return float(s[hit[0]]) if len(hit) else float("nan")
