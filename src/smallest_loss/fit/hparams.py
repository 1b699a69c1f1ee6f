"""Optimal learning rate and batch size from a hyperparameter sweep, and their power laws.

A sweep is a set of runs, each with its model size N (``params``), token count D (``tokens``),
peak learning rate, optionally its batch [tokens], and final loss. Runs with the same (N, D) form a
*cell*. In each cell the loss-minimising learning rate (and batch) is estimated by one of

``local`` (the default, and the one to trust)
    the profile ``min over batch of loss`` at each swept learning rate; its best point and its two
    neighbours determine a parabola in ln(lr) whose vertex is the estimate, kept inside the
    neighbours' interval. It never extrapolates outside the swept range and diverged runs far from
    the optimum cannot move it. A best point on the edge of the sweep is returned as is and
    flagged (``lr_edge``): the true optimum may lie outside.
``argmin``
    the best run of the cell (its learning rate and batch); quantised to the grid.
``parabola``
    one parabola in ln(lr) through the whole profile; bends toward whatever the far points do
    (diverged runs, asymmetric valleys), and can land outside the sweep.

The batch optimum uses the same estimators on the profile ``min over learning rate`` at each batch.
Across cells, ``ln y* = ln k + p ln N + q ln D`` is fitted by least squares (:func:`fit_power_law`);
the bootstrap resamples runs within every cell and refits everything.

:func:`steplaw_procedure` is the procedure of Li et al. 2025 (Step Law): keep every run within a
relative 0.25% of its cell's best smoothed loss, regress ln(lr) on ln N and ln D and ln(B) on ln D
over those runs, and average the coefficients of bootstrap refits.
:func:`fit_critical_batch` fits McCandlish et al.'s S = S_min (1 + B_noise / B);
:func:`zhang2025_critical_batch` turns its B_noise into Zhang et al. 2025's critical batch.
:func:`compute_multiplier` converts a loss penalty into the factor of compute that buys it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..validation import positive_array, positive_int

__all__ = [
    "ESTIMATORS",
    "PowerLawFit",
    "HparamFit",
    "profile_optimum",
    "cell_optima",
    "fit_power_law",
    "fit_hparams",
    "steplaw_procedure",
    "loss_penalty",
    "CriticalBatchFit",
    "fit_critical_batch",
    "ZHANG2025_CBS_OVERHEAD",
    "ZHANG2025_CBS_OFFSET_SEQS",
    "zhang2025_critical_batch",
    "compute_multiplier",
]

ESTIMATORS = ("local", "argmin", "parabola")
MIN_VALUES = 3  # learning rates (or batches) a cell needs for a parabola
MIN_CELLS = 3


@dataclass(frozen=True)
class PowerLawFit:
    """``y = coef N^params_exponent D^tokens_exponent`` (``params_exponent`` is 0 and not fitted
    when ``with_params`` is False)."""

    coef: float
    params_exponent: float
    tokens_exponent: float
    with_params: bool = True

    def __call__(self, params: ArrayLike, tokens: ArrayLike) -> np.ndarray:
        n = positive_array("params", params)
        d = positive_array("tokens", tokens)
        return self.coef * n ** self.params_exponent * d ** self.tokens_exponent


@dataclass
class HparamFit:
    """Power laws for the optimal learning rate (and batch) with the per-cell optima behind them.

    ``lr_bootstrap`` / ``batch_bootstrap``: arrays (B, 3) of (ln coef, params exponent, tokens
    exponent) from the resamples; empty without a bootstrap. ``n_failed``: resamples whose fit
    could not be made (too few distinct cells left).
    """

    lr: PowerLawFit
    batch: PowerLawFit | None
    cells: pd.DataFrame
    n_runs: int
    estimator: str
    lr_bootstrap: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    batch_bootstrap: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    n_failed: int = 0

    def interval(self, which: str = "lr", level: float = 0.95) -> dict[str, tuple[float, float]]:
        """Percentile intervals of the exponents over the bootstrap resamples."""
        reps = self.lr_bootstrap if which == "lr" else self.batch_bootstrap
        if len(reps) < 2:
            raise ValueError(f"interval: no bootstrap for {which!r}; fit with bootstrap >= 2")
        q = [(1 - level) / 2, (1 + level) / 2]
        return {"params_exponent": tuple(float(v) for v in np.quantile(reps[:, 1], q)),
                "tokens_exponent": tuple(float(v) for v in np.quantile(reps[:, 2], q))}

    def se(self, which: str = "lr") -> dict[str, float]:
        reps = self.lr_bootstrap if which == "lr" else self.batch_bootstrap
        if len(reps) < 2:
            raise ValueError(f"se: no bootstrap for {which!r}; fit with bootstrap >= 2")
        return {"params_exponent": float(np.std(reps[:, 1], ddof=1)),
                "tokens_exponent": float(np.std(reps[:, 2], ddof=1))}


def profile_optimum(x: ArrayLike, y: ArrayLike, estimator: str = "local") -> tuple[float, bool]:
    """Optimum of a one-dimensional profile: ``x`` the log of the swept values (distinct, any
    order), ``y`` the loss at each. Returns ``(x_opt, on_edge)``; ``x_opt`` is NaN when the
    ``parabola`` estimator finds no minimum (the fitted parabola opens downward)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator = {estimator!r}; choose one of {', '.join(ESTIMATORS)}")
    order = np.argsort(x)
    x, y = x[order], y[order]
    i = int(np.argmin(y))
    edge = i == 0 or i == len(x) - 1
    if estimator == "argmin" or len(x) < MIN_VALUES:
        return float(x[i]), edge
    if estimator == "parabola":
        a, b, _ = np.polyfit(x, y, 2)
        return (float(-b / (2 * a)) if a > 0 else float("nan")), edge
    if edge:
        return float(x[i]), True
    xs, ys = x[i - 1:i + 2], y[i - 1:i + 2]
    # vertex of the parabola through three points (divided differences)
    d1 = (ys[1] - ys[0]) / (xs[1] - xs[0])
    d2 = (ys[2] - ys[1]) / (xs[2] - xs[1])
    curv = (d2 - d1) / (xs[2] - xs[0])
    if not curv > 0:  # flat valley: the best point
        return float(xs[1]), False
    vertex = 0.5 * (xs[0] + xs[1]) - d1 / (2 * curv)
    return float(np.clip(vertex, xs[0], xs[2])), False


def _arrays(params, tokens, lr, loss, batch):
    n = positive_array("params", params)
    d = positive_array("tokens", tokens)
    r = positive_array("lr", lr)
    lo = positive_array("loss", loss)
    arrays = {"params": n, "tokens": d, "lr": r, "loss": lo}
    if batch is not None:
        arrays["batch"] = positive_array("batch", batch)
    for name, arr in arrays.items():
        if arr.ndim != 1:
            raise ValueError(f"{name}: expected a one-dimensional array, got shape {arr.shape}")
        if len(arr) != len(n):
            raise ValueError(f"{name}: {len(arr)} values but params has {len(n)}")
    return pd.DataFrame(arrays)


def _cell_table(df: pd.DataFrame, estimator: str) -> pd.DataFrame:
    has_batch = "batch" in df
    rows = []
    for (n, d), cell in df.groupby(["params", "tokens"], sort=True):
        prof = cell.groupby("lr")["loss"].min()
        best = cell.loc[cell["loss"].idxmin()]
        if estimator == "argmin":
            x_opt, edge = float(np.log(best["lr"])), bool(best["lr"] in (prof.index.min(), prof.index.max()))
        else:
            x_opt, edge = profile_optimum(np.log(prof.index.to_numpy()), prof.to_numpy(), estimator)
        row = {"params": n, "tokens": d, "lr": float(np.exp(x_opt)), "lr_edge": edge,
               "n_lr": int(len(prof)), "n_runs": int(len(cell)), "best_loss": float(best["loss"])}
        if has_batch:
            bprof = cell.groupby("batch")["loss"].min()
            if estimator == "argmin":
                bx, bedge = float(np.log(best["batch"])), bool(best["batch"] in (bprof.index.min(), bprof.index.max()))
            else:
                bx, bedge = profile_optimum(np.log(bprof.index.to_numpy()), bprof.to_numpy(), estimator)
            row.update({"batch": float(np.exp(bx)), "batch_edge": bedge, "n_batch": int(len(bprof))})
        rows.append(row)
    return pd.DataFrame(rows)


def cell_optima(params: ArrayLike, tokens: ArrayLike, lr: ArrayLike, loss: ArrayLike,
                batch: ArrayLike | None = None, estimator: str = "local") -> pd.DataFrame:
    """Per-(N, D) cell optimum: columns ``params``, ``tokens``, ``lr`` (and ``batch``), the
    edge flags ``lr_edge`` (``batch_edge``), ``n_lr`` (``n_batch``), ``n_runs`` and ``best_loss``.
    See the module docstring for the estimators. ``lr`` is NaN where ``parabola`` finds no minimum."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator = {estimator!r}; choose one of {', '.join(ESTIMATORS)}")
    return _cell_table(_arrays(params, tokens, lr, loss, batch), estimator)


def _design(n: np.ndarray, d: np.ndarray, with_params: bool) -> np.ndarray:
    cols = [np.ones_like(n), np.log(n), np.log(d)] if with_params else [np.ones_like(n), np.log(d)]
    return np.column_stack(cols)


def _lstsq(n, d, y, with_params):
    X = _design(n, d, with_params)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        what = "params and tokens" if with_params else "tokens"
        raise ValueError(f"cannot fit the power law: the cells do not vary {what} independently "
                         f"({len(np.unique(n))} distinct params, {len(np.unique(d))} distinct tokens)")
    coef = np.linalg.lstsq(X, np.log(y), rcond=None)[0]
    return coef if with_params else np.array([coef[0], 0.0, coef[1]])


def fit_power_law(params: ArrayLike, tokens: ArrayLike, target: ArrayLike,
                  with_params: bool = True) -> PowerLawFit:
    """Least squares ``ln target = ln coef + p ln N + q ln D`` (``p = 0`` when not ``with_params``)."""
    n = positive_array("params", params)
    d = positive_array("tokens", tokens)
    y = positive_array("target", target)
    if not (len(n) == len(d) == len(y)):
        raise ValueError(f"params, tokens, target: lengths {len(n)}, {len(d)}, {len(y)} differ")
    if len(n) < MIN_CELLS:
        raise ValueError(f"need at least {MIN_CELLS} cells for a power law, got {len(n)}")
    c = _lstsq(n, d, y, with_params)
    return PowerLawFit(float(np.exp(c[0])), float(c[1]), float(c[2]), with_params)


def _fit_cells(cells: pd.DataFrame, col: str) -> np.ndarray:
    ok = cells[col].notna().to_numpy()
    n, d, y = (cells.loc[ok, c].to_numpy(float) for c in ("params", "tokens", col))
    if len(n) < MIN_CELLS:
        raise ValueError(f"need at least {MIN_CELLS} cells with an optimum, got {len(n)}")
    return _lstsq(n, d, y, True)


def fit_hparams(params: ArrayLike, tokens: ArrayLike, lr: ArrayLike, loss: ArrayLike,
                batch: ArrayLike | None = None, estimator: str = "local",
                bootstrap: int | None = None, seed: int = 0) -> HparamFit:
    """Per-cell optima and the power laws ``lr* = k N^p D^q`` (and ``batch* = k' N^p' D^q'``).

    Needs at least 3 cells, each with at least 3 distinct learning rates (and batches, when given),
    and cells that vary N and D independently. With ``bootstrap`` B >= 2, runs are resampled with
    replacement within every cell B times and everything refitted (seeded by ``seed``).
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator = {estimator!r}; choose one of {', '.join(ESTIMATORS)}")
    df = _arrays(params, tokens, lr, loss, batch)
    cells = _cell_table(df, estimator)
    if len(cells) < MIN_CELLS:
        raise ValueError(f"need at least {MIN_CELLS} (params, tokens) cells, got {len(cells)}")
    for col, what in (("n_lr", "learning rates"), ("n_batch", "batches")):
        if col in cells and (cells[col] < MIN_VALUES).all():
            raise ValueError(f"every cell has fewer than {MIN_VALUES} distinct {what} "
                             f"(at most {int(cells[col].max())}); sweep at least {MIN_VALUES}")
    c_lr = _fit_cells(cells, "lr")
    lr_law = PowerLawFit(float(np.exp(c_lr[0])), float(c_lr[1]), float(c_lr[2]))
    batch_law = None
    if batch is not None:
        c_b = _fit_cells(cells, "batch")
        batch_law = PowerLawFit(float(np.exp(c_b[0])), float(c_b[1]), float(c_b[2]))
    result = HparamFit(lr_law, batch_law, cells, int(len(df)), estimator)
    if bootstrap is not None:
        b = positive_int("bootstrap", bootstrap)
        if b < 2:
            raise ValueError(f"bootstrap = {b}: need at least 2 resamples")
        rng = np.random.default_rng(seed)
        groups = [idx.to_numpy() for _, idx in df.groupby(["params", "tokens"], sort=True).groups.items()]
        lr_reps, b_reps, failed = [], [], 0
        for _ in range(b):
            pick = np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups])
            try:
                rc = _cell_table(df.iloc[pick].reset_index(drop=True), estimator)
                r_lr = _fit_cells(rc, "lr")
                r_b = _fit_cells(rc, "batch") if batch is not None else None
            except ValueError:
                failed += 1
                continue
            lr_reps.append(r_lr)
            if r_b is not None:
                b_reps.append(r_b)
        result.lr_bootstrap = np.array(lr_reps).reshape(-1, 3)
        result.batch_bootstrap = np.array(b_reps).reshape(-1, 3)
        result.n_failed = failed
    return result


def steplaw_procedure(params: ArrayLike, tokens: ArrayLike, lr: ArrayLike, batch: ArrayLike,
                      smooth_loss: ArrayLike, threshold: float = 0.0025, bootstrap: int = 1000,
                      seed: int = 0) -> dict:
    """Li et al. 2025's fit: runs within ``threshold`` (relative) of their cell's best loss,
    ``ln lr ~ ln N + ln D`` and ``ln B ~ ln D`` by least squares over those runs, averaged over
    ``bootstrap`` resamples of them. Returns ``lr`` and ``batch`` (:class:`PowerLawFit`, from the
    mean coefficients; the coefficient is exp of the mean intercept), ``n_selected``, and the
    replicate arrays ``lr_bootstrap`` (B, 3) and ``batch_bootstrap`` (B, 2: intercept, D exponent).
    """
    df = _arrays(params, tokens, lr, smooth_loss, batch)
    if not 0 < threshold < 1:
        raise ValueError(f"threshold = {threshold!r}: expected a relative tolerance in (0, 1)")
    b = positive_int("bootstrap", bootstrap)
    best = df.groupby(["params", "tokens"])["loss"].transform("min")
    q = df[(df["loss"] / best - 1).abs() < threshold]
    n, d, r, bb = (q[c].to_numpy(float) for c in ("params", "tokens", "lr", "batch"))
    X = _design(n, d, True)
    X2 = _design(n, d, False)
    rng = np.random.default_rng(seed)
    lr_reps, b_reps = [], []
    for _ in range(b):
        i = rng.integers(0, len(q), len(q))
        lr_reps.append(np.linalg.lstsq(X[i], np.log(r[i]), rcond=None)[0])
        b_reps.append(np.linalg.lstsq(X2[i], np.log(bb[i]), rcond=None)[0])
    lr_reps, b_reps = np.array(lr_reps), np.array(b_reps)
    ml, mb = lr_reps.mean(axis=0), b_reps.mean(axis=0)
    return {"lr": PowerLawFit(float(np.exp(ml[0])), float(ml[1]), float(ml[2])),
            "batch": PowerLawFit(float(np.exp(mb[0])), 0.0, float(mb[1]), with_params=False),
            "n_selected": int(len(q)), "lr_bootstrap": lr_reps, "batch_bootstrap": b_reps}


def loss_penalty(cell: pd.DataFrame, lr: float, batch: float) -> dict:
    """Loss lost in one cell by running at (``lr``, ``batch``) instead of the cell's best run.

    ``cell`` has columns ``lr``, ``batch``, ``loss`` (one cell's runs). The prediction is read at
    the nearest swept run in (log2 lr, log2 batch); nothing is extrapolated, and ``outside`` says
    whether the prediction lies outside the swept box (then the penalty is a lower bound).
    Returns ``penalty`` [nats/token], ``lr_run``, ``batch_run`` and ``outside``.
    """
    lr = float(positive_array("lr", lr))
    batch = float(positive_array("batch", batch))
    x = np.log2(cell["lr"].to_numpy(float))
    y = np.log2(cell["batch"].to_numpy(float))
    loss = cell["loss"].to_numpy(float)
    dist = (x - np.log2(lr)) ** 2 + (y - np.log2(batch)) ** 2
    j = int(np.argmin(dist))
    outside = not (x.min() <= np.log2(lr) <= x.max() and y.min() <= np.log2(batch) <= y.max())
    return {"penalty": float(loss[j] - loss.min()), "lr_run": float(2 ** x[j]),
            "batch_run": float(2 ** y[j]), "outside": bool(outside)}


@dataclass(frozen=True)
class CriticalBatchFit:
    """``S = s_min (1 + b_noise / B)``: ``s_min`` [steps], ``b_noise`` in the units of the batch
    given; ``e_min = s_min b_noise`` is the least data that reaches the target, and McCandlish et
    al.'s critical batch ``B_crit = e_min / s_min`` equals ``b_noise``."""

    s_min: float
    b_noise: float

    @property
    def e_min(self) -> float:
        return self.s_min * self.b_noise

    @property
    def b_crit(self) -> float:
        return self.b_noise

    def steps(self, batch: ArrayLike) -> np.ndarray:
        return self.s_min * (1.0 + self.b_noise / positive_array("batch", batch))

    def batch_at_overhead(self, overhead: float) -> float:
        """Batch where the data needed exceeds ``e_min`` by ``overhead`` (0.2 for 20%): B = overhead B_noise.
        Also where the steps exceed perfect linear scaling from small batches, S = E_min / B, by that
        fraction."""
        if not overhead > 0:
            raise ValueError(f"overhead = {overhead!r}: expected a positive fraction")
        return float(overhead * self.b_noise)


def fit_critical_batch(batch: ArrayLike, steps: ArrayLike) -> CriticalBatchFit:
    """Fit ``ln S = ln(S_min + S_min B_noise / B)`` by least squares in ln S (relative errors in
    steps), as Zhang et al. 2025 fit the same form; needs at least 3 batches."""
    from scipy.optimize import least_squares

    b = positive_array("batch", batch)
    s = positive_array("steps", steps)
    if b.ndim != 1 or len(b) != len(s):
        raise ValueError(f"batch and steps: expected two 1-d arrays of one length, got {b.shape}, {s.shape}")
    if len(np.unique(b)) < 3:
        raise ValueError(f"need at least 3 distinct batch sizes, got {len(np.unique(b))}")
    # start: S linear in 1/B
    slope, intercept = np.polyfit(1.0 / b, s, 1)
    a0 = max(intercept, s.min() * 0.1)
    c0 = max(slope, a0 * b.min())

    def resid(p):
        return np.log(np.exp(p[0]) + np.exp(p[1]) / b) - np.log(s)

    fit = least_squares(resid, [np.log(a0), np.log(c0)], method="lm", xtol=1e-14, ftol=1e-14)
    a, c = np.exp(fit.x)
    return CriticalBatchFit(float(a), float(c / a))


ZHANG2025_CBS_OVERHEAD = 0.2
"""Zhang et al. 2025's critical batch: where steps exceed perfect linear scaling by 20%."""

ZHANG2025_CBS_OFFSET_SEQS = 1.2 * 256
"""The offset [sequences] their analysis notebook adds to ``overhead * B_noise`` (see below)."""


def zhang2025_critical_batch(b_noise: ArrayLike) -> np.ndarray:
    """Zhang et al. 2025's critical batch [sequences] from McCandlish's ``b_noise`` [sequences].

    Their analysis notebook (``chinchilla.ipynb`` of arXiv:2410.21676, the cell that builds
    ``cbs_list``) fits ``ln S = ln(a + b / B)`` and solves ``b - 5 a cbs + 5 a 1.2 256 = 0``, i.e.
    ``cbs = (b / a) / 5 + 1.2 * 256 = 0.2 B_noise + 307.2`` sequences: the 20%-overhead batch of
    :meth:`CriticalBatchFit.batch_at_overhead` plus an offset the notebook does not explain.
    """
    b = positive_array("b_noise", b_noise)
    return ZHANG2025_CBS_OVERHEAD * b + ZHANG2025_CBS_OFFSET_SEQS


def compute_multiplier(penalty: ArrayLike, slope: float) -> np.ndarray:
    """Compute-equivalent of a loss penalty: ``exp(penalty / |slope|)``.

    ``slope`` is dL/d ln C [nats per e-fold of compute] of the tuned runs near the budget (negative;
    its sign is ignored), ``penalty`` [nats/token] >= 0. To first order in ln C, a run that loses
    ``penalty`` reaches the tuned run's loss only with this factor more compute, and a tuned run
    reaches the mistaken run's loss with this factor less.
    """
    pen = np.asarray(penalty, dtype=float)
    if not np.all(np.isfinite(pen)) or np.any(pen < 0):
        raise ValueError(f"penalty = {penalty!r}: expected finite values >= 0")
    s = float(slope)
    if not np.isfinite(s) or s == 0:
        raise ValueError(f"slope = {slope!r}: expected a finite non-zero dL/dlnC")
    return np.exp(pen / abs(s))
