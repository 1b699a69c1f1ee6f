"""Gadre et al. (2024): the loss of over-trained models, and from loss to downstream error.

Gadre et al. (2024, "Language models scale reliably with over-training and on downstream tasks",
arXiv:2403.08540) relate a model's average top-1 error on a suite of downstream tasks to its
validation loss ``L`` [nats/token] by an exponential decay::

    Err(L) = epsilon - k exp(-gamma L)

(their released code: ``mlfoundations/scaling``, ``scaling/laws.py``, function ``decay_ours``,
``e - a * exp(x) ** (-b)``). ``epsilon`` is the error the law tends to as the loss grows (near the
error of random guessing), ``k`` and ``gamma`` set how fast the error falls as the loss does. The
error averaged in their headline fits is ``1 - mean accuracy`` over 17 tasks (``SUBSET`` in
``scaling/constants.py``; :data:`GADRE_SUBSET_TASKS`), the "17-task split".

The law is only defined up to where a loss can go: a Chinchilla-form law never goes below its
irreducible loss ``E``, so ``Err(E)`` is the lowest error that scaling the model and data can buy,
a saturation point in the sense of Abnar et al. (2021), who find that downstream accuracy saturates
as upstream accuracy rises.

**The over-training loss law.** Their released code fits the loss of ``N`` parameters trained on
``M`` tokens per parameter (``D = M N``) as ``scaling/laws.py::powlaw_ours``,
``alpha N^b + beta 6^(b/2) (M N)^b + E`` with ``b < 0``: the Chinchilla form
``E + A N^-eta + B D^-eta`` with **one exponent** ``eta = -b`` shared by both terms (the factor
``6^(b/2)`` only rescales ``B``). Written in compute ``C = 6 N D`` it reads
``E + (a M^(eta/2) + b' M^(-eta/2)) C^(-eta/2)`` with ``a = A 6^(eta/2)``, ``b' = B 6^(eta/2)``
(derived here from ``N = sqrt(C / 6M)``, ``D = sqrt(C M / 6)``). Their default fit
(``scaling/shared.py::fit_ds``, commit ``79adc26``) uses five runs: the four small
configurations at 20 tokens per parameter and the smallest one at 320 (:func:`gadre_loss_fit_runs`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ..validation import finite_array, positive_array, positive_scalar, same_length
from .chinchilla import ChinchillaLaw

__all__ = [
    "GADRE_SUBSET_TASKS",
    "GADRE_LOSS_FIT_CONFIGS",
    "SharedExponentFit",
    "fit_shared_exponent_law",
    "gadre_loss_fit_runs",
    "DownstreamLaw",
    "fit_downstream_law",
    "average_error",
]

GADRE_SUBSET_TASKS: tuple[str, ...] = (
    "bigbench_operators", "pubmed_qa_labeled", "hellaswag_zeroshot", "boolq", "arc_easy", "coqa",
    "bigbench_dyck_languages", "lambada_openai", "bigbench_novel_concepts", "winograd",
    "bigbench_cs_algorithms", "commonsense_qa", "bigbench_qa_wikidata", "hellaswag", "copa",
    "squad", "piqa",
)
"""The 17 tasks of Gadre et al.'s 17-task split (``SUBSET`` in their ``scaling/constants.py``)."""


@dataclass(frozen=True)
class DownstreamLaw:
    """``Err(L) = epsilon - k exp(-gamma L)`` (Gadre et al. 2024; module docstring).

    epsilon: error as the loss grows [fraction]; k: scale [fraction]; gamma: rate [per nat/token].
    rmse: root-mean-square residual of the fit that produced it [fraction] (nan if not fitted).
    """

    epsilon: float
    k: float
    gamma: float
    rmse: float = float("nan")

    def __post_init__(self) -> None:
        positive_scalar("k", self.k)
        positive_scalar("gamma", self.gamma)
        if not np.isfinite(self.epsilon):
            raise ValueError(f"epsilon = {self.epsilon!r} is not finite")

    def error(self, loss: ArrayLike) -> NDArray[np.float64]:
        """Predicted average top-1 error [fraction] at validation loss ``loss`` [nats/token]."""
        lo = positive_array("loss", loss)
        return self.epsilon - self.k * np.exp(-self.gamma * lo)

    def accuracy(self, loss: ArrayLike) -> NDArray[np.float64]:
        """``1 - error`` [fraction]."""
        return 1.0 - self.error(loss)

    def loss_for_error(self, error: ArrayLike) -> NDArray[np.float64]:
        """The loss [nats/token] at which the law predicts ``error``: ``-ln((epsilon - err)/k)/gamma``.
        ``ValueError`` for an error at or above ``epsilon`` (never reached) or at or below
        ``epsilon - k`` (the law's floor at zero loss)."""
        e = finite_array("error", error)
        flat = np.ravel(e)
        bad = (flat >= self.epsilon) | (flat <= self.epsilon - self.k)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"error = {float(flat[i])!r} is outside the law's range "
                             f"({self.epsilon - self.k:.4g}, {self.epsilon:.4g})")
        return -np.log((self.epsilon - e) / self.k) / self.gamma


def _linear_fit(x: NDArray[np.float64], y: NDArray[np.float64], gamma: float):
    """Least-squares (epsilon, k) for fixed gamma, and the residual sum of squares."""
    z = np.exp(-gamma * x)
    design = np.column_stack([np.ones_like(z), -z])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    return coef, float(resid @ resid)


def fit_downstream_law(loss: ArrayLike, error: ArrayLike, *, gamma_bounds: tuple[float, float] = (0.01, 20.0),
                       n_grid: int = 400) -> DownstreamLaw:
    """Least-squares fit of ``Err(L) = epsilon - k exp(-gamma L)`` to (loss, error) pairs.

    loss: validation losses [nats/token]; error: average top-1 errors [fractions]; 1-D, same
    length, at least 4 points. For fixed ``gamma`` the model is linear in ``(epsilon, k)``; the
    residual sum of squares is profiled over ``gamma`` on a log grid of ``n_grid`` points within
    ``gamma_bounds`` and refined by golden-section search around the best grid point, so the
    fit is deterministic (no starting values). Gadre et al. use scipy's ``curve_fit`` on the same
    form; the least-squares optimum is the same. ``ValueError`` for bad input, or when the best
    fit has ``k <= 0`` (error not falling with loss) or ``gamma`` at a bound.
    """
    x = positive_array("loss", loss)
    y = finite_array("error", error)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError("loss and error must be 1-D arrays")
    n = same_length(loss=x, error=y)
    if n < 4:
        raise ValueError(f"fit_downstream_law needs at least 4 points, got {n}")
    lo_g, hi_g = (positive_scalar("gamma_bounds[0]", gamma_bounds[0]),
                  positive_scalar("gamma_bounds[1]", gamma_bounds[1]))
    if lo_g >= hi_g:
        raise ValueError(f"gamma_bounds = {gamma_bounds!r} is not an increasing pair")
    grid = np.geomspace(lo_g, hi_g, int(n_grid))
    sse = np.array([_linear_fit(x, y, g)[1] for g in grid])
    i = int(np.argmin(sse))
    a, b = np.log(grid[max(i - 1, 0)]), np.log(grid[min(i + 1, grid.size - 1)])
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    for _ in range(100):  # golden-section search on log gamma
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        if _linear_fit(x, y, np.exp(c))[1] <= _linear_fit(x, y, np.exp(d))[1]:
            b = d
        else:
            a = c
    gamma = float(np.exp(0.5 * (a + b)))
    if gamma <= lo_g * (1 + 1e-6) or gamma >= hi_g * (1 - 1e-6):
        raise ValueError(f"the best gamma {gamma:.4g} is at a bound of gamma_bounds = {gamma_bounds!r}")
    (eps, k), rss = _linear_fit(x, y, gamma)
    if k <= 0:
        raise ValueError(f"the best fit has k = {k:.4g} <= 0: error does not fall as loss falls")
    return DownstreamLaw(epsilon=float(eps), k=float(k), gamma=gamma, rmse=float(np.sqrt(rss / n)))


def average_error(evals: pd.DataFrame, tasks: tuple[str, ...] | list[str] = GADRE_SUBSET_TASKS) -> pd.Series:
    """Average top-1 error per model: ``1 - mean accuracy`` over ``tasks`` (each task weighted
    equally, as Gadre et al. average).

    evals: columns ``model``, ``task``, ``accuracy`` (as :func:`~smallest_loss.datasets.gadre2024.load_gadre_evals`).
    Returns a Series indexed by model [fraction]. ``ValueError`` naming a model that lacks a task.
    """
    for col in ("model", "task", "accuracy"):
        if col not in evals.columns:
            raise ValueError(f"evals: missing column {col!r}")
    tasks = list(tasks)
    if not tasks:
        raise ValueError("tasks is empty")
    sel = evals[evals["task"].isin(tasks)]
    table = sel.pivot_table(index="model", columns="task", values="accuracy", aggfunc="first")
    missing = [t for t in tasks if t not in table.columns]
    if missing:
        raise ValueError(f"no model has task {missing[0]!r}")
    gaps = table[tasks].isna()
    if gaps.any().any():
        model = gaps.any(axis=1).idxmax()
        task = gaps.loc[model].idxmax()
        raise ValueError(f"model {model!r} has no accuracy for task {task!r}")
    return (1.0 - table[tasks].mean(axis=1)).rename("error")


GADRE_LOSS_FIT_CONFIGS: tuple[str, ...] = ("d=96_l=8_h=4", "d=512_l=8_h=4", "d=576_l=24_h=8",
                                           "d=1024_l=24_h=8")
"""The four small OpenLM configurations (11M to 411M parameters) of Gadre et al.'s default loss
fit (``fit_models`` in ``scaling/shared.py::fit_ds``)."""


def gadre_loss_fit_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The five runs of Gadre et al.'s default loss fit, from rows of one training corpus and one
    validation set (as :func:`~smallest_loss.datasets.gadre2024.load_gadre_models` returns them, filtered).

    The configurations of :data:`GADRE_LOSS_FIT_CONFIGS` at ``multiplier`` 1 (20 tokens per
    parameter) and the smallest, ``d=96_l=8_h=4``, at ``multiplier`` 16 (320 tokens per parameter)
    (``scaling/shared.py::fit_ds``). ``ValueError`` for a missing column or when the selection is
    not exactly five distinct runs.
    """
    for col in ("config", "multiplier", "model"):
        if col not in runs.columns:
            raise ValueError(f"runs: missing column {col!r}")
    at20 = runs["config"].isin(GADRE_LOSS_FIT_CONFIGS) & (runs["multiplier"] == 1.0)
    over = (runs["config"] == GADRE_LOSS_FIT_CONFIGS[0]) & (runs["multiplier"] == 16.0)
    chosen = runs[at20 | over]
    if len(chosen) != 5 or chosen["model"].nunique() != 5:
        raise ValueError(f"runs: Gadre et al.'s fit set needs 5 distinct runs, found {len(chosen)} rows "
                         f"({chosen['model'].nunique()} models); filter to one corpus and one val_set")
    return chosen


@dataclass(frozen=True)
class SharedExponentFit:
    """A fitted ``L = E + A N^-eta + B D^-eta`` (Gadre et al. 2024's loss law; module docstring).

    law: the fit as a :class:`~smallest_loss.laws.chinchilla.ChinchillaLaw` with
    ``alpha = beta = eta``; eta: the shared exponent [dimensionless]; rmse: root-mean-square
    residual [nats/token]; n_points: runs fitted.
    """

    law: ChinchillaLaw
    eta: float
    rmse: float
    n_points: int


def _linear_loss_fit(n: NDArray[np.float64], d: NDArray[np.float64], y: NDArray[np.float64],
                     eta: float) -> tuple[NDArray[np.float64], float]:
    """Least-squares ``(E, A, B)`` for a fixed ``eta``, and the residual sum of squares."""
    design = np.column_stack([np.ones_like(n), n ** -eta, d ** -eta])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    return coef, float(resid @ resid)


def fit_shared_exponent_law(params: ArrayLike, tokens: ArrayLike, loss: ArrayLike, *,
                            eta_bounds: tuple[float, float] = (0.01, 2.0),
                            n_grid: int = 400) -> SharedExponentFit:
    """Least-squares fit of ``L = E + A N^-eta + B D^-eta`` (one exponent for both terms).

    Gadre et al. (2024), ``scaling/laws.py::powlaw_ours`` (module docstring); they minimise the
    squared loss residuals with scipy's ``curve_fit`` from 128 starts, and the least-squares optimum
    is the same. params: N [parameters]; tokens: D [tokens]; loss: L [nats/token]; 1-D, same
    length, at least 5 points (4 constants). For fixed ``eta`` the model is linear in
    ``(E, A, B)``; the residual sum of squares is profiled over ``eta`` on a log grid of ``n_grid``
    points within ``eta_bounds`` and refined by golden-section search, so the fit is deterministic.
    ``ValueError`` for bad input, an ``eta`` at a bound, or a constant ``E, A, B`` that is not
    positive.
    """
    n = positive_array("params", params)
    d = positive_array("tokens", tokens)
    y = positive_array("loss", loss)
    if n.ndim != 1 or d.ndim != 1 or y.ndim != 1:
        raise ValueError("params, tokens and loss must be 1-D arrays")
    count = same_length(params=n, tokens=d, loss=y)
    if count < 5:
        raise ValueError(f"fit_shared_exponent_law needs at least 5 points, got {count}")
    lo, hi = (positive_scalar("eta_bounds[0]", eta_bounds[0]),
              positive_scalar("eta_bounds[1]", eta_bounds[1]))
    if lo >= hi:
        raise ValueError(f"eta_bounds = {eta_bounds!r} is not an increasing pair")
    grid = np.geomspace(lo, hi, int(n_grid))
    sse = np.array([_linear_loss_fit(n, d, y, g)[1] for g in grid])
    i = int(np.argmin(sse))
    a, b = np.log(grid[max(i - 1, 0)]), np.log(grid[min(i + 1, grid.size - 1)])
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    for _ in range(100):  # golden-section search on log eta
        c, e = b - ratio * (b - a), a + ratio * (b - a)
        if _linear_loss_fit(n, d, y, np.exp(c))[1] <= _linear_loss_fit(n, d, y, np.exp(e))[1]:
            b = e
        else:
            a = c
    eta = float(np.exp(0.5 * (a + b)))
    if eta <= lo * (1 + 1e-6) or eta >= hi * (1 - 1e-6):
        raise ValueError(f"the best eta {eta:.4g} is at a bound of eta_bounds = {eta_bounds!r}")
    (E, A, B), rss = _linear_loss_fit(n, d, y, eta)
    for name, value in (("E", E), ("A", A), ("B", B)):
        if not value > 0:
            raise ValueError(f"the best fit has {name} = {value:.4g} <= 0: the runs do not follow the law")
    law = ChinchillaLaw(E=float(E), A=float(A), B=float(B), alpha=eta, beta=eta, name="shared-exponent fit",
                        source=f"Gadre et al. 2024's form (one exponent), least squares on {count} runs")
    return SharedExponentFit(law=law, eta=eta, rmse=float(np.sqrt(rss / count)), n_points=count)
