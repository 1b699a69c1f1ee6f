"""Hold-out forecasts: how wrong is a scaling law fitted to small runs at a budget it never saw?

The experiment (chapter 13): keep an isoFLOP study's largest budget out, fit Approaches 2 and 3
to a subset of the other runs (fewer budgets, fewer sizes per budget, final losses only or
intermediate checkpoints as well), predict the compute-optimal model size ``N_opt`` and its loss at
the held-out budget, and compare with the held-out isoFLOP's own optimum (the vertex of the
parabola in ``ln N`` through its runs, Hoffmann et al. 2022, Sec. 3.2). That vertex is itself an
estimate from a few noisy runs: :func:`target_range` gives its leave-one-run-out range, the
resolution below which a forecast error cannot be told from zero. The cost of a subset is the
training compute of the runs it uses [FLOP]: intermediate checkpoints of a run cost nothing extra,
checkpoints of a run cut short cost only the tokens seen so far.

A forecast from Approach 3 also says whether the subset identified the law
(:attr:`~smallest_loss.fit.approach3.Approach3Fit.identified`); ``smallest-loss plan`` refuses a law
that is not identified, so :func:`cheapest_within` counts only identified forecasts by default.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ..counting import training_flops
from ..laws import compute_optimal_allocation
from .approach2 import fit_approach2, isoflop_optima
from .approach3 import fit_approach3

__all__ = [
    "HoldoutTarget",
    "TargetRange",
    "Subset",
    "FORECAST_COLUMNS",
    "holdout_target",
    "target_range",
    "subset_points",
    "forecast",
    "relative_error",
    "cheapest_within",
]


@dataclass(frozen=True)
class HoldoutTarget:
    """The held-out isoFLOP's own optimum: budget [FLOP]; params_opt, tokens_opt: the vertex of
    the parabola in ``ln N`` [parameters, tokens]; loss_opt: the parabola's minimum [nats/token];
    n_runs: runs on that isoFLOP; inside: whether the vertex lies within the sampled sizes."""

    budget: float
    params_opt: float
    tokens_opt: float
    loss_opt: float
    n_runs: int
    inside: bool


@dataclass(frozen=True)
class Subset:
    """Which runs a forecast may use.

    name: a label; budgets: the isoFLOP budgets [FLOP] whose runs enter; sizes_per_budget: keep
    this many sizes per budget, spread evenly over the sorted sizes (smallest and largest always
    kept; None keeps all); checkpoints: ``"final"`` (one point per run, its final loss) or
    ``"curve"`` (every evaluation of each run from ``min_fraction`` of its tokens on, the final
    one included); min_fraction: in (0, 1], the first fraction of a run's tokens whose
    checkpoints are dropped (with ``"curve"``); stop_fraction: in (0, 1], train each run only this
    fraction of its tokens (its checkpoints up to there; the schedule was set for the whole run).
    """

    name: str
    budgets: tuple[float, ...]
    sizes_per_budget: int | None = None
    checkpoints: str = "final"
    min_fraction: float = 0.0
    stop_fraction: float = 1.0

    def __post_init__(self) -> None:
        if len(self.budgets) == 0:
            raise ValueError(f"subset {self.name!r}: budgets is empty")
        if self.sizes_per_budget is not None and self.sizes_per_budget < 2:
            raise ValueError(f"subset {self.name!r}: sizes_per_budget = {self.sizes_per_budget} "
                             "must be at least 2")
        if self.checkpoints not in ("final", "curve"):
            raise ValueError(f"subset {self.name!r}: checkpoints = {self.checkpoints!r} is not "
                             "'final' or 'curve'")
        if not 0.0 <= self.min_fraction < 1.0:
            raise ValueError(f"subset {self.name!r}: min_fraction = {self.min_fraction!r} is "
                             "outside [0, 1)")
        if not 0.0 < self.stop_fraction <= 1.0:
            raise ValueError(f"subset {self.name!r}: stop_fraction = {self.stop_fraction!r} is "
                             "outside (0, 1]")
        if self.stop_fraction < 1.0 and self.checkpoints != "curve":
            raise ValueError(f"subset {self.name!r}: stop_fraction < 1 needs checkpoints='curve'")


_RUN_COLUMNS = ("run", "params", "tokens", "flops", "loss", "budget")
_CURVE_COLUMNS = ("run", "tokens", "loss")


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame]
    if missing:
        raise ValueError(f"{what}: missing column {missing[0]!r}")
    for c in columns:
        if c == "run":
            continue
        values = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~(np.isfinite(values) & (values > 0)))
        if bad.size:
            raise ValueError(f"{what}: row {int(bad[0])} has {c} = {frame[c].iloc[bad[0]]}, "
                             "not a finite positive number")


def holdout_target(runs: pd.DataFrame, budget: float) -> HoldoutTarget:
    """The optimum of the isoFLOP at ``budget`` [FLOP]: the parabola vertex of
    :func:`~smallest_loss.fit.approach2.isoflop_optima` through the runs of ``runs`` (columns
    ``params``, ``flops``, ``loss``, ``budget``) whose ``budget`` equals it."""
    _require(runs, ("params", "flops", "loss", "budget"), "runs")
    sel = runs[np.isclose(runs["budget"].to_numpy(dtype=float), float(budget), rtol=1e-9)]
    if sel.empty:
        raise ValueError(f"budget = {budget!r}: no run has this budget")
    row = isoflop_optima(sel["params"], sel["flops"], sel["loss"], budget=sel["budget"]).iloc[0]
    return HoldoutTarget(budget=float(budget), params_opt=float(row["params_opt"]),
                         tokens_opt=float(row["tokens_opt"]), loss_opt=float(row["loss_opt"]),
                         n_runs=int(row["n_points"]), inside=bool(row["vertex_inside"]))


@dataclass(frozen=True)
class TargetRange:
    """How far the held-out optimum moves when one of its runs is left out (a jackknife range).

    budget [FLOP]; params_opt, loss_opt: the vertex from all runs [parameters, nats/token];
    params_lo, params_hi, loss_lo, loss_hi: the least and greatest vertex over the refits that
    leave one run out [parameters, nats/token] (NaN when no refit has a minimum); n_refits: refits
    made (one per run whose removal leaves 3 distinct sizes); n_failed: refits whose parabola has
    no minimum (curvature <= 0), which leave the range unbounded; inside: every refit's vertex lies
    within the sizes it was fitted to."""

    budget: float
    params_opt: float
    loss_opt: float
    params_lo: float
    params_hi: float
    loss_lo: float
    loss_hi: float
    n_refits: int
    n_failed: int
    inside: bool

    @property
    def bounded(self) -> bool:
        """At least one refit, and every refit has a minimum."""
        return self.n_refits > 0 and self.n_failed == 0

    @property
    def params_halfwidth(self) -> float:
        """Largest relative move of the optimal size, ``max |N_loo / N_opt - 1|`` (inf when not
        :attr:`bounded`)."""
        if not self.bounded:
            return float("inf")
        return float(max(abs(self.params_lo / self.params_opt - 1),
                         abs(self.params_hi / self.params_opt - 1)))

    @property
    def loss_halfwidth(self) -> float:
        """Largest relative move of the optimal loss, ``max |L_loo / L_opt - 1|`` (inf when not
        :attr:`bounded`)."""
        if not self.bounded:
            return float("inf")
        return float(max(abs(self.loss_lo / self.loss_opt - 1),
                         abs(self.loss_hi / self.loss_opt - 1)))


def target_range(runs: pd.DataFrame, budget: float) -> TargetRange:
    """The leave-one-run-out range of the held-out isoFLOP's optimum at ``budget`` [FLOP].

    Refits the parabola of :func:`holdout_target` once without each run of that budget (a run
    whose removal leaves fewer than 3 distinct sizes is kept in every refit) and reports the
    spread of the vertices. A forecast error smaller than this spread is below what the held-out
    runs can resolve. Needs at least 4 runs at the budget."""
    target = holdout_target(runs, budget)
    sel = runs[np.isclose(runs["budget"].to_numpy(dtype=float), float(budget), rtol=1e-9)]
    if len(sel) < 4:
        raise ValueError(f"budget = {budget!r}: {len(sel)} runs; leaving one out needs at least 4")
    params = sel["params"].to_numpy(dtype=float)
    flops = sel["flops"].to_numpy(dtype=float)
    loss = sel["loss"].to_numpy(dtype=float)
    n_opt, l_opt, inside, failed = [], [], True, 0
    for i in range(len(sel)):
        keep = np.arange(len(sel)) != i
        if np.unique(params[keep]).size < 3:
            continue
        row = isoflop_optima(params[keep], flops[keep], loss[keep],
                             budget=np.zeros(keep.sum())).iloc[0]
        if not row["curvature_positive"]:
            failed += 1
            continue
        n_opt.append(float(row["params_opt"]))
        l_opt.append(float(row["loss_opt"]))
        inside &= bool(row["vertex_inside"])
    n_arr, l_arr = np.asarray(n_opt), np.asarray(l_opt)
    nan = float("nan")
    return TargetRange(
        budget=float(budget), params_opt=target.params_opt, loss_opt=target.loss_opt,
        params_lo=float(n_arr.min()) if n_arr.size else nan,
        params_hi=float(n_arr.max()) if n_arr.size else nan,
        loss_lo=float(l_arr.min()) if l_arr.size else nan,
        loss_hi=float(l_arr.max()) if l_arr.size else nan,
        n_refits=len(n_opt) + failed, n_failed=failed, inside=bool(inside and n_arr.size > 0))


def _spread(n: int, k: int | None) -> NDArray[np.int64]:
    if k is None or k >= n:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, k)).astype(int))


def subset_points(runs: pd.DataFrame, curves: pd.DataFrame | None, subset: Subset
                  ) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """The data a subset gives a fit, and what it cost.

    runs: one row per run (``run, params, tokens, flops, loss, budget``); curves: one row per
    evaluation (``run, tokens, loss``; needed for ``checkpoints="curve"``). Returns
    ``(points, finals, flops_spent)``: ``points`` (``run, params, tokens, loss``) for Approach 3;
    ``finals`` (``params, flops, loss, budget``: the runs' final losses, or with ``stop_fraction``
    < 1 their last checkpoint, at the compute spent so far) for Approach 2; ``flops_spent`` [FLOP]:
    ``sum 6 N D`` over the tokens each run trained.
    """
    _require(runs, _RUN_COLUMNS, "runs")
    budgets = runs["budget"].to_numpy(dtype=float)
    chosen = []
    for b in subset.budgets:
        at = np.flatnonzero(np.isclose(budgets, float(b), rtol=1e-9))
        if at.size == 0:
            raise ValueError(f"subset {subset.name!r}: no run has budget {b!r}")
        at = at[np.argsort(runs["params"].to_numpy(dtype=float)[at], kind="stable")]
        chosen.extend(at[_spread(at.size, subset.sizes_per_budget)])
    picked = runs.iloc[np.sort(np.asarray(chosen))].reset_index(drop=True)
    if subset.checkpoints == "final":
        points = picked[["run", "params", "tokens", "loss"]].copy()
        finals = picked[["params", "flops", "loss", "budget"]].copy()
        return points, finals, float(picked["flops"].sum())
    if curves is None:
        raise ValueError(f"subset {subset.name!r}: checkpoints='curve' needs the curves table")
    _require(curves, _CURVE_COLUMNS, "curves")
    merged = curves[["run", "tokens", "loss"]].merge(
        picked[["run", "params", "tokens", "budget"]].rename(columns={"tokens": "run_tokens"}),
        on="run", how="inner")
    missing = sorted(set(picked["run"]) - set(merged["run"]))
    if missing:
        raise ValueError(f"subset {subset.name!r}: run {missing[0]!r} has no curve")
    frac = merged["tokens"].to_numpy(dtype=float) / merged["run_tokens"].to_numpy(dtype=float)
    stop = subset.stop_fraction * (1.0 + 1e-9)
    keep = (frac >= subset.min_fraction) & (frac <= stop)
    points = merged.loc[keep, ["run", "params", "tokens", "loss"]].reset_index(drop=True)
    absent = sorted(set(picked["run"]) - set(points["run"]))
    if absent:
        raise ValueError(f"subset {subset.name!r}: run {absent[0]!r} has no checkpoint between "
                         f"{subset.min_fraction:g} and {subset.stop_fraction:g} of its tokens")
    last = points.loc[points.groupby("run", sort=True)["tokens"].idxmax()]
    last = last.merge(picked[["run", "budget"]], on="run")
    spent = training_flops(last["params"].to_numpy(dtype=float), last["tokens"].to_numpy(dtype=float))
    finals = pd.DataFrame({"params": last["params"].to_numpy(dtype=float), "flops": spent,
                           "loss": last["loss"].to_numpy(dtype=float),
                           "budget": last["budget"].to_numpy(dtype=float)})
    return points, finals, float(spent.sum())


FORECAST_COLUMNS = {
    "subset": "the subset's name",
    "approach": "2 (isoFLOP parabolas) or 3 (parametric law)",
    "n_points": "points fitted (runs, or checkpoints)",
    "flops_spent": "training compute of the subset's runs [FLOP]",
    "params_pred": "predicted compute-optimal size at the held-out budget [parameters]",
    "loss_pred": "predicted loss there [nats/token] (Approach 3 only; NaN for Approach 2)",
    "identified": "Approach 3: the fit pins the law down (Approach 2: a fit was possible)",
    "params_error": "params_pred / params_opt - 1 (relative)",
    "loss_error": "loss_pred / loss_opt - 1 (relative)",
}
"""Columns of :func:`forecast`'s table, with units."""


def relative_error(predicted: ArrayLike, actual: ArrayLike) -> NDArray[np.float64]:
    """``predicted / actual - 1``, elementwise (NaN where ``predicted`` is NaN); ``actual`` must be
    finite and positive."""
    p = np.asarray(predicted, dtype=float)
    a = np.asarray(actual, dtype=float)
    if not np.all(np.isfinite(a) & (a > 0)):
        raise ValueError(f"actual = {actual!r} must be finite and positive")
    return p / a - 1.0


def forecast(runs: pd.DataFrame, curves: pd.DataFrame | None, subsets: list[Subset],
             target: HoldoutTarget, approaches: tuple[int, ...] = (2, 3)) -> pd.DataFrame:
    """Fit each subset with each of ``approaches`` and forecast the held-out optimum.

    Approach 3 (:func:`~smallest_loss.fit.approach3.fit_approach3`) predicts ``N_opt`` and the loss
    at ``target.budget`` in closed form (Hoffmann et al. 2022, Eq. 4) and needs 5 points with at
    least two distinct sizes and token counts (a fit with an exponent <= 0 forecasts nothing);
    Approach 2 (:func:`~smallest_loss.fit.approach2.fit_approach2`) predicts ``N_opt = k C^a`` and
    needs two budgets with 3 sizes each. A subset an
    approach cannot fit gives a row with NaN predictions and ``identified`` False. Returns one row
    per subset and approach with the columns of :data:`FORECAST_COLUMNS`.
    """
    if not subsets:
        raise ValueError("subsets is empty")
    names = [s.name for s in subsets]
    if len(set(names)) != len(names):
        raise ValueError(f"subset names repeat: {names}")
    for a in approaches:
        if a not in (2, 3):
            raise ValueError(f"approaches: {a!r} is not 2 or 3")
    rows = []
    for s in subsets:
        points, finals, spent = subset_points(runs, curves, s)
        for a in approaches:
            row = {"subset": s.name, "approach": a, "flops_spent": spent,
                   "params_pred": np.nan, "loss_pred": np.nan, "identified": False}
            if a == 3:
                row["n_points"] = len(points)
                distinct = (points["params"].nunique() >= 2 and points["tokens"].nunique() >= 2
                            and len(points[["params", "tokens"]].drop_duplicates()) >= 5)
                if distinct:
                    fit = fit_approach3(points["params"], points["tokens"], points["loss"])
                    try:
                        law = fit.law
                    except ValueError:  # a fitted exponent <= 0: the law plans nothing
                        law = None
                    if law is not None:
                        alloc = compute_optimal_allocation(law, target.budget)
                        row.update(params_pred=float(alloc.params), loss_pred=float(alloc.loss),
                                   identified=bool(fit.identified))
            else:
                row["n_points"] = len(finals)
                try:
                    fit2 = fit_approach2(finals["params"], finals["flops"], finals["loss"],
                                         budget=finals["budget"])
                except ValueError:
                    fit2 = None
                if fit2 is not None:
                    row.update(params_pred=float(fit2.params_opt(target.budget)), identified=True)
            rows.append(row)
    out = pd.DataFrame(rows)
    out["params_error"] = relative_error(out["params_pred"], target.params_opt)
    out["loss_error"] = relative_error(out["loss_pred"], target.loss_opt)
    return out[list(FORECAST_COLUMNS)]


def cheapest_within(table: pd.DataFrame, tolerance: float, column: str = "params_error",
                    identified_only: bool = True) -> pd.Series | None:
    """The row of a :func:`forecast` table with the least ``flops_spent`` whose ``|column|`` is
    at most ``tolerance`` (relative, e.g. 0.05), among identified forecasts unless
    ``identified_only`` is False; None when no row qualifies."""
    if not 0 < tolerance:
        raise ValueError(f"tolerance = {tolerance!r} must be positive")
    if column not in table:
        raise ValueError(f"column = {column!r} is not in the table")
    ok = np.abs(table[column].to_numpy(dtype=float)) <= tolerance
    if identified_only:
        ok &= table["identified"].to_numpy(dtype=bool)
    if not ok.any():
        return None
    hits = table[ok]
    return hits.loc[hits["flops_spent"].idxmin()]
