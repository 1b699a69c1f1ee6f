"""Reconciling Kaplan et al. (2020) and Hoffmann et al. (2022): N_opt ∝ C^0.73 versus C^0.50.

Three groups of tools, one per explanation studied in chapter 5:

* **Estimators of the isoFLOP minimum** on measured runs (Porian et al. 2024). The library's
  Approach 2 (:mod:`smallest_loss.fit.approach2`) fits one parabola in ``ln N`` to every point of a
  budget; here :func:`local_window` selects the runs around the observed minimum for a *local*
  parabola, and :func:`akima_isoflop_optima` re-implements the interpolation estimator of Porian et
  al. (Akima spline through ``(ln N, ln L)``, minimum on a fine grid).
* **The embedding-parameter bias** of Pearce & Song (2024): a Chinchilla law in *total*
  parameters, read in Kaplan's *non-embedding* parameters, with
  ``N_total = N_nonemb + gamma N_nonemb^(1/3)`` (:func:`total_from_non_embedding`,
  :func:`fit_embedding_gamma`, :func:`non_embedding_frontier`, :func:`non_embedding_optimal_params`,
  :func:`non_embedding_local_exponent`, :func:`kaplan_range_exponent`).
* **A stated model of reading losses mid-schedule** (Hoffmann et al. 2022, Sec. 2 and App. B,
  Figure A1): :func:`cosine_lr_fraction`, :func:`mid_schedule_loss`, :func:`grid_isoflop_optima`.

Units: parameters, tokens, FLOP, loss in nats/token; logarithms are natural unless a name says
otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.interpolate import Akima1DInterpolator
from scipy.optimize import minimize_scalar

from .counting import training_flops, training_tokens
from .fit.approach2 import budget_codes, isoflop_runs
from .laws import ChinchillaLaw
from .validation import (
    finite_array, one_dimensional, positive_array, positive_int, positive_scalar, same_length,
)

__all__ = [
    "AKIMA_COLUMNS",
    "KAPLAN2020_PARAMS_RANGE",
    "KAPLAN2020_HORIZON_TOKENS",
    "PEARCE2024_GAMMA",
    "PEARCE2024_FLOPS_RANGE",
    "local_window",
    "akima_isoflop_optima",
    "compute_optimal_exponent",
    "step_shares",
    "total_from_non_embedding",
    "fit_embedding_gamma",
    "NonEmbeddingFrontier",
    "non_embedding_frontier",
    "non_embedding_optimal_params",
    "non_embedding_local_exponent",
    "local_exponent_limits",
    "KaplanRangeFit",
    "kaplan_range_exponent",
    "cosine_lr_fraction",
    "mid_schedule_loss",
    "grid_isoflop_optima",
]

KAPLAN2020_PARAMS_RANGE: tuple[float, float] = (768.0, 1.5e9)
"""Kaplan et al. 2020, Sec. 3: models "from 768 to 1.5 billion non-embedding parameters"."""

KAPLAN2020_HORIZON_TOKENS: float = 2.5e5 * 512 * 1024
"""Tokens of Kaplan et al.'s one cosine schedule (Sec. 2.2: 2.5 x 10^5 steps of 512 sequences of
1024 tokens, about 1.3 x 10^11 tokens), through which every model ran and from which intermediate
losses were read."""

PEARCE2024_GAMMA: float = 47491.0
"""``gamma`` of ``N_T = N_nonemb + gamma N_nonemb^(1/3)`` in Pearce & Song's analysis script
(``script_analysis_kaplan_chinchilla.py``: ``gamma = 47491``, hard-coded and labelled "Fit" in the
plot of Chinchilla's model configurations; the aspect-ratio formula left in a comment,
``(aspect_ratio/12)^(1/3) * vocab_size`` with aspect ratio 39.2 and vocabulary 32,000, gives 47,481,
and a commented-out alternative uses 52,960)."""

PEARCE2024_FLOPS_RANGE: tuple[float, float] = (10**12.95, 10**20.7)
"""Range of non-embedding compute ``C = 6 N_nonemb D`` [FLOP] over which Pearce & Song's script fits
the simulated frontier (``c_range_bounds = [12.95, 20.7]``, log10 FLOP)."""


# --- Part 1: estimators of the isoFLOP minimum on measured runs -----------------------------------


def local_window(
    params: ArrayLike,
    flops: ArrayLike,
    loss: ArrayLike,
    budget: ArrayLike | None = None,
    n_neighbours: int = 2,
) -> NDArray[np.bool_]:
    """Runs within ``n_neighbours`` model sizes of each budget's observed minimum (a boolean mask).

    Per budget (grouped as in :func:`smallest_loss.fit.approach2.isoflop_optima`), the distinct model
    sizes are ranked; the size with the lowest observed loss and the ``n_neighbours`` sizes on
    either side of it are kept (fewer at the edge of the sampled range). Fitting a parabola to
    these runs only is the common *local* variant of Hoffmann et al.'s Approach 2: a parabola is a
    Taylor expansion about the minimum, so points far from it, where isoFLOP curves are asymmetric,
    are left out. A budget whose best run is its smallest or largest size keeps its edge and will
    usually be flagged by the vertex check of :func:`smallest_loss.fit.approach2.isoflop_optima`; if
    that leaves fewer than three sizes, the three sizes at that edge are kept so a parabola can
    still be fitted (and flagged).

    params [parameters], flops [FLOP], loss [nats/token]: one value per run; n_neighbours >= 1.
    """
    n, c, y = isoflop_runs(params, flops, loss)
    k = positive_int("n_neighbours", n_neighbours)
    codes, _ = budget_codes(budget, c)
    keep = np.zeros(n.size, dtype=bool)
    for g in np.unique(codes):
        idx = np.flatnonzero(codes == g)
        sizes, rank = np.unique(n[idx], return_inverse=True)
        best = int(rank[np.argmin(y[idx])])
        lo, hi = best - k, best + k
        if sizes.size >= 3 and min(hi, sizes.size - 1) - max(lo, 0) < 2:
            # best size at an edge with a narrow window: keep the three sizes at that edge
            lo, hi = (0, 2) if best < sizes.size // 2 else (sizes.size - 3, sizes.size - 1)
        keep[idx] = (rank >= lo) & (rank <= hi)
    return keep


AKIMA_COLUMNS: dict[str, str] = {
    "budget": "budget label",
    "flops": "training budget C [FLOP]",
    "n_sizes": "distinct model sizes in the budget",
    "params_opt": "N* at the minimum of the Akima interpolant [parameters]",
    "loss_opt": "interpolated loss at N* [nats/token]",
    "valid": "the minimum is inside the sampled size range, not at either end",
}


def akima_isoflop_optima(
    params: ArrayLike,
    flops: ArrayLike,
    loss: ArrayLike,
    budget: ArrayLike | None = None,
    points_per_interval: int = 25,
) -> pd.DataFrame:
    """IsoFLOP minima by Akima interpolation, the estimator of Porian et al. 2024 (without noise).

    Per budget: the lowest loss at each distinct size is kept; an Akima spline is drawn through
    ``(ln N, ln L)``; its minimum is taken on a grid of ``(n_sizes - 1) * points_per_interval``
    sizes spaced evenly in ``ln N`` between the smallest and largest sampled size. A minimum at
    either end of the grid is flagged ``valid = False`` (the authors drop such budgets). Porian et
    al. (code ``analysis.py``, ``interpolation`` and ``vectorized_interp_with_seed_noise``) also
    repeat this on 1,000 copies with Gaussian noise added to the losses and take the median; that
    step is left out here (see chapter 5 for its size).

    Needs three sizes per budget. Returns one row per budget with the columns of
    ``AKIMA_COLUMNS``.
    """
    n, c, y = isoflop_runs(params, flops, loss)
    per = positive_int("points_per_interval", points_per_interval)
    codes, labels = budget_codes(budget, c)
    rows = []
    for g, label in enumerate(labels):
        sel = codes == g
        frame = pd.DataFrame({"n": n[sel], "y": y[sel]}).groupby("n", sort=True)["y"].min()
        if frame.size < 3:
            raise ValueError(
                f"budget {label!r}: needs at least 3 distinct model sizes, got {frame.size}"
            )
        x = np.log(frame.index.to_numpy(dtype=float))
        spline = Akima1DInterpolator(x, np.log(frame.to_numpy(dtype=float)))
        grid = np.linspace(x[0], x[-1], (x.size - 1) * per)
        values = spline(grid)
        i = int(np.argmin(values))
        cs = c[sel]
        rows.append({
            "budget": label,
            "flops": float(np.exp(np.mean(np.log(cs)))),
            "n_sizes": int(x.size),
            "params_opt": float(np.exp(grid[i])),
            "loss_opt": float(np.exp(values[i])),
            "valid": bool(0 < i < grid.size - 1),
        })
    return pd.DataFrame(rows, columns=list(AKIMA_COLUMNS))


def compute_optimal_exponent(
    flops: ArrayLike, params_opt: ArrayLike, log_sd: ArrayLike | None = None
) -> tuple[float, float]:
    """Least-squares line ``ln N* = ln k + a ln C``; returns ``(a, k)``.

    flops: budgets C [FLOP]; params_opt: compute-optimal sizes N* [parameters] (at least two
    distinct budgets). Without ``log_sd`` the unweighted log-log fit of Hoffmann et al. 2022
    (Sec. 3.2) and of Porian et al. 2024 (their "basic" fit); with ``log_sd`` (the standard deviation
    of each ln N*, positive) each budget is weighted by ``1 / log_sd**2``, the weighting of the fits
    Porian et al. 2024 print.
    """
    c = one_dimensional("flops", positive_array("flops", flops))
    n = one_dimensional("params_opt", positive_array("params_opt", params_opt))
    same_length(flops=c, params_opt=n)
    if np.unique(c).size < 2:
        raise ValueError(f"flops: needs at least 2 distinct budgets, got {np.unique(c).size}")
    if log_sd is None:
        a, ln_k = np.polyfit(np.log(c), np.log(n), 1)
    else:
        sd = one_dimensional("log_sd", positive_array("log_sd", log_sd))
        same_length(flops=c, log_sd=sd)
        a, ln_k = np.polyfit(np.log(c), np.log(n), 1, w=1.0 / sd)   # polyfit weights are 1/sigma
    return float(a), float(np.exp(ln_k))


def step_shares(values: ArrayLike) -> NDArray[np.float64]:
    """Share of each step in the total change of a chain ``v_0 -> v_1 -> ... -> v_m``.

    Returns ``(v_i - v_{i-1}) / (v_m - v_0)`` for i = 1..m (they sum to one). values: at least two
    finite numbers whose first and last differ.
    """
    v = one_dimensional("values", finite_array("values", values))
    if v.size < 2:
        raise ValueError(f"values: needs at least 2 entries, got {v.size}")
    total = v[-1] - v[0]
    if total == 0:
        raise ValueError("values: first and last entries are equal, so shares are undefined")
    return np.diff(v) / total


# --- Part 2: embedding parameters (Pearce & Song 2024) --------------------------------------------


def total_from_non_embedding(n_nonemb: ArrayLike, gamma: float) -> NDArray[np.float64]:
    """``N_T = N_nonemb + gamma N_nonemb^(1/3)`` [parameters] (Pearce & Song 2024, Sec. 3).

    The embedding matrix has ``V d_model`` parameters, and for a fixed depth-to-width ratio
    ``d_model ∝ N_nonemb^(1/3)`` (``N_nonemb ≈ 12 n_layer d_model^2``), hence the cube root.
    n_nonemb: non-embedding parameters (> 0); gamma: > 0 [parameters^(2/3)].
    """
    n = positive_array("n_nonemb", n_nonemb)
    g = positive_scalar("gamma", gamma)
    return n + g * np.cbrt(n)


def _d_ln_total(n: NDArray[np.float64], gamma: float) -> NDArray[np.float64]:
    """d ln N_T / d ln N_nonemb."""
    c = np.cbrt(n)
    return (n + gamma / 3.0 * c) / (n + gamma * c)


def fit_embedding_gamma(total_params: ArrayLike, non_embedding_params: ArrayLike) -> float:
    """``gamma`` of :func:`total_from_non_embedding` by least squares in ``ln N_T``.

    Minimises ``sum_i (ln N_T,i - ln(N_nonemb,i + gamma N_nonemb,i^(1/3)))^2`` over gamma (a
    one-dimensional bounded search between the smallest and largest per-model values
    ``(N_T - N_nonemb) / N_nonemb^(1/3)``, which bracket the minimiser). Fitting in ``ln N_T``
    weights every model's relative error in total parameters equally, which is what enters the loss.
    total_params > non_embedding_params > 0, one value per model (at least two models).
    """
    t = one_dimensional("total_params", positive_array("total_params", total_params))
    n = one_dimensional("non_embedding_params", positive_array("non_embedding_params", non_embedding_params))
    same_length(total_params=t, non_embedding_params=n)
    if t.size < 2:
        raise ValueError(f"total_params: needs at least 2 models, got {t.size}")
    bad = t <= n
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"total_params[{i}] = {float(t[i])!r} is not larger than "
            f"non_embedding_params[{i}] = {float(n[i])!r}"
        )
    per_model = np.log((t - n) / np.cbrt(n))
    lo, hi = float(per_model.min()), float(per_model.max())
    if hi - lo < 1e-12:
        return float(np.exp(lo))

    def sse(ln_gamma: float) -> float:
        return float(np.sum((np.log(t) - np.log(n + np.exp(ln_gamma) * np.cbrt(n))) ** 2))

    res = minimize_scalar(sse, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
    return float(np.exp(res.x))


_CONVENTIONS = ("non_embedding", "total")


def _convention(compute: str) -> str:
    if compute not in _CONVENTIONS:
        raise ValueError(f"compute = {compute!r}; expected one of {_CONVENTIONS}")
    return compute


@dataclass(frozen=True)
class NonEmbeddingFrontier:
    """Points of the compute-optimal frontier, indexed by the non-embedding size on it.

    params_nonemb N_nonemb [parameters]; params_total N_T [parameters]; tokens D [tokens];
    flops C [FLOP] in the stated ``compute`` convention (``non_embedding``: ``C = 6 N_nonemb D``,
    Kaplan's; ``total``: ``C = 6 N_T D``, Hoffmann's); loss L(N_T, D) [nats/token].
    """

    params_nonemb: NDArray[np.float64]
    params_total: NDArray[np.float64]
    tokens: NDArray[np.float64]
    flops: NDArray[np.float64]
    loss: NDArray[np.float64]
    compute: str


def non_embedding_frontier(
    law: ChinchillaLaw, n_nonemb: ArrayLike, gamma: float, compute: str = "non_embedding"
) -> NonEmbeddingFrontier:
    """The budget at which each non-embedding size ``n_nonemb`` is compute-optimal.

    The loss is the Chinchilla law in *total* parameters, ``L(N_T, D)`` with
    ``N_T = N_nonemb + gamma N_nonemb^(1/3)``. With ``compute="non_embedding"`` the budget is
    Kaplan's ``C = 6 N_nonemb D`` (Kaplan et al. 2020, Sec. 2.1; Pearce & Song 2024 and their
    script's ``C_nonE_approx``); setting ``dL/dN_nonemb = 0`` along ``D = C / (6 N_nonemb)`` gives

        beta B D^-beta = alpha A N_T^-alpha (N_nonemb N_T' / N_T),   N_T' = 1 + (gamma/3) N_nonemb^(-2/3),

    solved here for D in closed form. With ``compute="total"`` (``C = 6 N_T D``) the optimum in N_T
    is Hoffmann et al.'s Eq. 4 and ``alpha A N_T^-alpha = beta B D^-beta``. Returns a
    :class:`NonEmbeddingFrontier`.
    """
    n = positive_array("n_nonemb", n_nonemb)
    g = positive_scalar("gamma", gamma)
    conv = _convention(compute)
    nt = total_from_non_embedding(n, g)
    ratio = _d_ln_total(n, g) if conv == "non_embedding" else np.ones_like(n)
    d = (law.beta * law.B / (law.alpha * law.A * ratio) * nt**law.alpha) ** (1.0 / law.beta)
    c = training_flops(n if conv == "non_embedding" else nt, d)
    return NonEmbeddingFrontier(
        params_nonemb=n, params_total=nt, tokens=d, flops=c, loss=law.loss(nt, d), compute=conv,
    )


def non_embedding_optimal_params(
    law: ChinchillaLaw, flops: ArrayLike, gamma: float, compute: str = "non_embedding"
) -> NDArray[np.float64]:
    """Compute-optimal non-embedding size N*_nonemb [parameters] at budgets ``flops`` [FLOP].

    Inverts :func:`non_embedding_frontier` (the budget increases strictly with N_nonemb) by
    bisection in ``ln N_nonemb`` to relative precision about 1e-12. Budgets whose optimum lies
    outside 1e-6 to 1e18 parameters raise ``ValueError``.
    """
    c = positive_array("flops", flops)
    g = positive_scalar("gamma", gamma)
    conv = _convention(compute)
    lo = np.full(c.shape, np.log(1e-6))
    hi = np.full(c.shape, np.log(1e18))

    def ln_c(ln_n):
        return np.log(non_embedding_frontier(law, np.exp(ln_n), g, conv).flops)

    target = np.log(c)
    out_of_range = (ln_c(lo) > target) | (ln_c(hi) < target)
    if np.any(out_of_range):
        i = int(np.flatnonzero(np.ravel(out_of_range))[0])
        raise ValueError(
            f"flops[{i}] = {float(np.ravel(c)[i])!r}: the optimum lies outside 1e-6 to 1e18 parameters"
        )
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        above = ln_c(mid) > target
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return np.exp(0.5 * (lo + hi))


def non_embedding_local_exponent(
    law: ChinchillaLaw, n_nonemb: ArrayLike, gamma: float, compute: str = "non_embedding"
) -> NDArray[np.float64]:
    """Local exponent ``d ln N*_nonemb / d ln C`` on the frontier at size ``n_nonemb`` (analytic).

    With ``r1 = d ln N_T / d ln N_nonemb`` and ``r2 = d ln(N_nonemb N_T') / d ln N_nonemb``, the
    frontier of :func:`non_embedding_frontier` has, for ``compute="non_embedding"``,
    ``d ln C / d ln N_nonemb = 1 + ((1 + alpha) r1 - r2) / beta`` (Pearce & Song's ``g``), and for
    ``compute="total"``, ``d ln C / d ln N_nonemb = r1 / a`` with ``a = beta / (alpha + beta)``.
    The exponent is the reciprocal. Its limits are in :func:`local_exponent_limits`.
    """
    n = positive_array("n_nonemb", n_nonemb)
    g = positive_scalar("gamma", gamma)
    conv = _convention(compute)
    r1 = _d_ln_total(n, g)
    if conv == "total":
        return law.a / r1
    c = np.cbrt(n)
    r2 = (n + g / 9.0 * c) / (n + g / 3.0 * c)
    return 1.0 / (1.0 + ((1.0 + law.alpha) * r1 - r2) / law.beta)


def local_exponent_limits(law: ChinchillaLaw, compute: str = "non_embedding") -> tuple[float, float]:
    """Limits of :func:`non_embedding_local_exponent` for small and large N_nonemb: ``(small, large)``.

    Large models: ``beta / (alpha + beta)``, Hoffmann et al.'s ``a``, in both conventions. Small
    models (embeddings dominate, ``N_T ≈ gamma N_nonemb^(1/3)``): ``beta / (alpha/3 + beta)`` with
    Kaplan's compute (Pearce & Song's script) and ``3 a`` with total compute.
    """
    conv = _convention(compute)
    small = law.beta / (law.alpha / 3.0 + law.beta) if conv == "non_embedding" else 3.0 * law.a
    return float(small), float(law.a)


@dataclass(frozen=True)
class KaplanRangeFit:
    """Power law ``N*_nonemb = k C^a`` fitted to the simulated frontier over a compute range.

    a: exponent; k [parameters / FLOP^a]; flops_range: (C_lo, C_hi) [FLOP]; params_range: N*_nonemb
    at the two ends [parameters]; flops, params_opt: the budgets and optima that were fitted;
    gamma; compute: the compute convention.
    """

    a: float
    k: float
    flops_range: tuple[float, float]
    params_range: tuple[float, float]
    flops: NDArray[np.float64]
    params_opt: NDArray[np.float64]
    gamma: float
    compute: str


def kaplan_range_exponent(
    law: ChinchillaLaw,
    gamma: float,
    params_range: tuple[float, float] | None = KAPLAN2020_PARAMS_RANGE,
    flops_range: tuple[float, float] | None = None,
    n_budgets: int = 200,
    compute: str = "non_embedding",
) -> KaplanRangeFit:
    """Exponent a of ``N*_nonemb ∝ C^a`` fitted over Kaplan's range (Pearce & Song's simulation).

    The budgets are ``n_budgets`` values spaced evenly in ``ln C``, either over ``flops_range``
    [FLOP] when given, or over the budgets at which the optimum runs from ``params_range[0]`` to
    ``params_range[1]`` non-embedding parameters (default: Kaplan's 768 to 1.5e9). At each budget the
    exact optimum :func:`non_embedding_optimal_params` is taken (no grid of model sizes), and a line
    is fitted by least squares to ``(ln C, ln N*_nonemb)``.
    """
    g = positive_scalar("gamma", gamma)
    conv = _convention(compute)
    m = positive_int("n_budgets", n_budgets)
    if m < 2:
        raise ValueError(f"n_budgets = {n_budgets!r} must be at least 2")
    if flops_range is not None:
        c_lo, c_hi = (positive_scalar("flops_range", v) for v in flops_range)
    elif params_range is not None:
        p = positive_array("params_range", params_range)
        ends = non_embedding_frontier(law, p, g, conv).flops
        c_lo, c_hi = float(ends[0]), float(ends[-1])
    else:
        raise ValueError("give params_range or flops_range")
    if not c_hi > c_lo:
        raise ValueError(f"empty compute range ({c_lo!r}, {c_hi!r})")
    c = np.geomspace(c_lo, c_hi, m)
    n = non_embedding_optimal_params(law, c, g, conv)
    a, k = compute_optimal_exponent(c, n)
    return KaplanRangeFit(
        a=a, k=k, flops_range=(c_lo, c_hi), params_range=(float(n[0]), float(n[-1])),
        flops=c, params_opt=n, gamma=g, compute=conv,
    )


# --- Part 3: a stated model of reading losses mid-schedule ----------------------------------------


def cosine_lr_fraction(progress: ArrayLike, final_fraction: float = 0.0) -> NDArray[np.float64]:
    """Learning rate as a fraction of its peak along a cosine schedule (warmup ignored).

    ``f + (1 - f) (1 + cos(pi s)) / 2`` at progress ``s`` in [0, 1] (tokens seen / schedule
    length), and ``f`` afterwards. Kaplan et al. 2020 (Sec. 2.2) decay to zero (``f = 0``);
    Hoffmann et al. 2022 (App. B) decay by 10x (``f = 0.1``). progress >= 0; 0 <= f < 1.
    """
    s = finite_array("progress", progress)
    if np.any(s < 0):
        i = int(np.flatnonzero(np.ravel(s) < 0)[0])
        raise ValueError(f"progress[{i}] = {float(np.ravel(s)[i])!r} is negative")
    f = float(final_fraction)
    if not (0.0 <= f < 1.0):
        raise ValueError(f"final_fraction = {final_fraction!r} must be in [0, 1)")
    sc = np.clip(s, 0.0, 1.0)
    return f + (1.0 - f) * 0.5 * (1.0 + np.cos(np.pi * sc))


_PENALTIES = ("additive", "data_term")


def mid_schedule_loss(
    law: ChinchillaLaw,
    params: ArrayLike,
    tokens: ArrayLike,
    horizon_tokens: ArrayLike,
    kappa: float,
    penalty: str = "additive",
    final_fraction: float = 0.0,
) -> NDArray[np.float64]:
    """A *model* of the loss read after ``tokens`` tokens of a cosine schedule ``horizon_tokens`` long.

    ``L_read = L(N, D) + P``, where ``L`` is the Chinchilla law (the loss at the end of a schedule
    matched to D, Hoffmann et al. 2022 Eq. 2) and the penalty P is proportional to how far the
    learning rate still is above its final value, ``lambda = (eta(s) - eta(1)) / (eta(0) - eta(1))``
    at ``s = D / horizon`` (1 at the start, 0 at the end; :func:`cosine_lr_fraction`):

    * ``penalty="additive"``: ``P = kappa lambda`` [nats/token], a constant excess loss while the
      rate is high (a noise floor proportional to the step size);
    * ``penalty="data_term"``: ``P = kappa lambda B / D^beta``, the data-limited part of the loss
      inflated by the factor ``1 + kappa lambda`` (training at a high rate as if on fewer tokens).

    Both vanish at the end of the schedule, where the read loss equals the matched-schedule loss,
    and both are assumptions motivated by Hoffmann et al.'s Figure A1 (a cosine cycle longer than
    the run gives a higher loss at the target step); they are not fitted to data.
    tokens must not exceed horizon_tokens (a loss is only read inside the schedule).
    """
    n = positive_array("params", params)
    d = positive_array("tokens", tokens)
    t = positive_array("horizon_tokens", horizon_tokens)
    k = float(kappa)
    if not np.isfinite(k) or k < 0:
        raise ValueError(f"kappa = {kappa!r} must be a finite non-negative number")
    if penalty not in _PENALTIES:
        raise ValueError(f"penalty = {penalty!r}; expected one of {_PENALTIES}")
    n, d, t = np.broadcast_arrays(n, d, t)
    s = d / t
    if np.any(s > 1 + 1e-12):
        i = int(np.flatnonzero(np.ravel(s) > 1 + 1e-12)[0])
        raise ValueError(
            f"tokens[{i}] = {float(np.ravel(d)[i])!r} exceeds horizon_tokens = {float(np.ravel(t)[i])!r}"
        )
    f = float(final_fraction)
    lam = (cosine_lr_fraction(s, f) - f) / (1.0 - f)
    base = law.loss(n, d)
    if penalty == "additive":
        return base + k * lam
    return base + k * lam * law.B * d ** (-law.beta)


def grid_isoflop_optima(
    loss_fn: Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]],
    flops: ArrayLike,
    params_grid: ArrayLike,
) -> NDArray[np.float64]:
    """Loss-minimising size [parameters] at each budget by search over ``params_grid``.

    ``loss_fn(params, tokens)`` is evaluated on the grid for every budget with ``D = C / (6 N)``
    (arrays of shape (budgets, sizes)); non-finite values are skipped. The grid minimum is refined by
    a parabola through it and its two neighbours in ``ln N`` (exact for a locally quadratic loss). A
    minimum on the edge of the grid raises ``ValueError`` naming the budget.
    """
    c = one_dimensional("flops", positive_array("flops", flops))
    grid = one_dimensional("params_grid", positive_array("params_grid", params_grid))
    if grid.size < 3 or np.any(np.diff(grid) <= 0):
        raise ValueError("params_grid: needs at least 3 strictly increasing sizes")
    n = grid[None, :]
    loss = np.asarray(loss_fn(np.broadcast_to(n, (c.size, grid.size)), training_tokens(n, c[:, None])), float)
    loss = np.where(np.isfinite(loss), loss, np.inf)
    i = np.argmin(loss, axis=1)
    edge = (i == 0) | (i == grid.size - 1)
    if edge.any():
        j = int(np.flatnonzero(edge)[0])
        raise ValueError(f"flops[{j}] = {float(c[j])!r}: the minimum is at the edge of params_grid")
    x = np.log(grid)
    rows = np.arange(c.size)
    x0, x1, x2 = x[i - 1], x[i], x[i + 1]
    y0, y1, y2 = loss[rows, i - 1], loss[rows, i], loss[rows, i + 1]
    den = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / den
    b = (x2**2 * (y0 - y1) + x1**2 * (y2 - y0) + x0**2 * (y1 - y2)) / den
    with np.errstate(divide="ignore", invalid="ignore"):
        xv = np.where(a > 0, -b / (2.0 * a), x1)
    return np.exp(np.clip(xv, x0, x2))
