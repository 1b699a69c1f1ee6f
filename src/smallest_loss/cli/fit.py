"""``smallest-loss fit``: Approaches 1-3 of Hoffmann et al. (2022) on a runs table, as a JSON-ready dict
and as plain text."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .io import InputError

__all__ = ["fit_runs", "format_fit", "MAX_BOOTSTRAP", "MAX_BOOTSTRAP_CELLS"]

MAX_BOOTSTRAP = 100_000
"""Most resamples ``--bootstrap`` accepts."""

MAX_BOOTSTRAP_CELLS = 50_000_000
"""Most resamples x runs (the size of the resample-count matrix, 8 bytes each) the bootstrap builds."""

_CONSTANTS = ("E", "A", "B", "alpha", "beta", "a", "b")


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: numpy scalars to Python ones, non-finite floats to None."""
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    return [{c: _plain(v) for c, v in zip(columns, row)} for row in frame[list(columns)].itertuples(index=False)]


def _budget_labels(runs: pd.DataFrame) -> np.ndarray | None:
    if "budget" not in runs:
        return None
    numeric = pd.to_numeric(runs["budget"], errors="coerce")
    if numeric.notna().all() and np.isfinite(numeric.to_numpy(dtype=float)).all():
        return numeric.to_numpy(dtype=float)
    return runs["budget"].to_numpy(dtype=object)


def _check_bootstrap(n_bootstrap: int | None, n_runs: int) -> None:
    if n_bootstrap is None:
        return
    if n_bootstrap * n_runs > MAX_BOOTSTRAP_CELLS:
        most = max(MAX_BOOTSTRAP_CELLS // n_runs, 1)
        raise InputError(f"--bootstrap {n_bootstrap} with {n_runs} runs needs too much memory; "
                         f"use at most {most} resamples")


def _interval(boot_ci: dict[str, tuple[float, float]]) -> dict[str, list[Any]]:
    return {k: [_plain(lo), _plain(hi)] for k, (lo, hi) in boot_ci.items()}


def _check_design_approach3(runs: pd.DataFrame) -> None:
    """Designs from which Approach 3 cannot separate the terms of the law, refused in one line."""
    n_pairs = len(runs[["params", "tokens"]].drop_duplicates())
    if n_pairs < 5:
        raise InputError(f"approach 3 needs at least 5 runs with distinct (params, tokens); "
                         f"the {len(runs)} runs have {n_pairs}")
    for col, term in (("params", "A N^-alpha"), ("tokens", "B D^-beta")):
        values = runs[col].unique()
        if values.size == 1:
            raise InputError(f"approach 3: every run has {col} = {values[0]:.6g}, so E and {term} "
                             f"cannot be told apart; vary {col}")


def fit_runs(runs: pd.DataFrame, approach: int, n_bootstrap: int | None, seed: int) -> dict[str, Any]:
    """Fit ``runs`` with Hoffmann et al.'s Approach 1, 2 or 3; return a JSON-ready dict.

    Approach 3 adds ``identified`` (bool), ``identification`` (one line saying why),
    ``near_optimal_rtol`` and ``near_optimal_ranges`` (``[low, high]`` per constant, ``null`` for an
    unbounded end). With a bootstrap: ``se``, ``ci95`` and ``bootstrap`` (``n``, ``n_failed``,
    ``interval_determined``; for approach 3 also ``draws``, the constants ``E, A, B, alpha, beta``
    of each refit that did not fail, which ``plan`` carries through); a standard error or interval end that is not determined is ``null``.
    """
    result: dict[str, Any] = {"approach": approach, "n_points": int(len(runs))}
    _check_bootstrap(n_bootstrap, len(runs))
    if approach == 3:
        from ..fit.approach3 import bootstrap_approach3, fit_approach3

        if len(runs) < 5:
            raise InputError(f"approach 3 needs at least 5 runs, got {len(runs)}")
        _check_design_approach3(runs)
        fit = fit_approach3(runs.params, runs.tokens, runs.loss)
        result.update(fit.as_dict())
        result["objective"] = float(fit.objective)
        ident = fit.identification
        result["identified"] = bool(ident.identified)
        result["identification"] = ident.reason
        result["near_optimal_rtol"] = float(ident.rtol)
        result["near_optimal_ranges"] = _interval(ident.ranges)
        if n_bootstrap:
            boot = bootstrap_approach3(runs.params, runs.tokens, runs.loss, n_bootstrap=n_bootstrap,
                                       seed=seed, full_fit=fit)
            result["se"] = {k: _plain(v) for k, v in boot.se().items()} if n_bootstrap > 1 else {
                k: None for k in _CONSTANTS}
            result["ci95"] = _interval(boot.ci(0.95))
            ok = ~boot.failed if boot.failed is not None else np.ones(boot.n_bootstrap, dtype=bool)
            result["bootstrap"] = {"n": int(n_bootstrap), "n_failed": boot.n_failed,
                                   "interval_determined": bool(boot.interval_determined(0.95)),
                                   # the refits that did not fail, for 'plan' to carry through
                                   "draws": {k: [float(v) for v in getattr(boot, k)[ok]]
                                             for k in ("E", "A", "B", "alpha", "beta")}}
        order = ["E", "A", "B", "alpha", "beta", "a", "b", "objective", "n_points", "approach",
                 "identified", "identification", "near_optimal_rtol", "near_optimal_ranges"]
    elif approach == 2:
        from ..fit.approach2 import bootstrap_approach2, fit_approach2

        budget = _budget_labels(runs)
        try:
            fit = fit_approach2(runs.params, runs.flops, runs.loss, budget=budget)
        except ValueError as exc:
            if budget is not None:
                raise
            raise InputError(f"{exc} (runs are grouped by exact flops; add a 'budget' column to "
                             "group runs whose FLOPs differ slightly)") from None
        result.update(a=fit.a, b=fit.b, k_params=fit.k_params, k_tokens=fit.k_tokens,
                      n_budgets_used=fit.n_budgets_used)
        cols = ["budget", "flops", "n_points", "params_opt", "tokens_opt", "loss_opt", "vertex_inside",
                "curvature_positive", "used"]
        result["optima"] = _records(fit.optima, cols)
        if n_bootstrap:
            boot = bootstrap_approach2(runs.params, runs.flops, runs.loss, budget=budget,
                                       n_bootstrap=n_bootstrap, seed=seed)
            ok = n_bootstrap - boot.n_failed
            result["se"] = ({k: _plain(v) for k, v in boot.se().items()} if ok >= 2
                            else {"a": None, "b": None})
            result["ci95"] = (_interval(boot.ci(0.95)) if ok >= 1 else {"a": [None, None], "b": [None, None]})
            determined = boot.n_failed <= 0.025 * n_bootstrap
            if not determined:
                result["ci95"] = {"a": [None, None], "b": [None, None]}
            result["bootstrap"] = {"n": int(n_bootstrap), "n_failed": int(boot.n_failed),
                                   "interval_determined": bool(determined)}
        order = ["a", "b", "k_params", "k_tokens", "n_budgets_used", "n_points", "approach", "optima"]
    else:
        from ..fit.approach1 import fit_approach1

        if n_bootstrap:
            raise InputError("--bootstrap is available for approaches 2 and 3")
        fit = fit_approach1(runs.run.to_numpy(dtype=object), runs.params, runs.tokens, runs.loss)
        result.update(a=fit.a, b=fit.b, k_params=fit.k_params, k_tokens=fit.k_tokens)
        env = fit.envelope[fit.envelope["used"]] if "used" in fit.envelope else fit.envelope
        result["optima"] = _records(env, ["flops", "params", "tokens", "loss", "run"])
        order = ["a", "b", "k_params", "k_tokens", "n_points", "approach", "optima"]
    for k in ("a", "b", "k_params", "k_tokens") if approach != 3 else ("E", "A", "B", "alpha", "beta"):
        if not (isinstance(result[k], (int, float)) and math.isfinite(result[k])):
            raise InputError(f"approach {approach}: the fitted {k} is not a finite number; "
                             "the runs do not follow a power law")
    ordered = {k: _plain(result[k]) if not isinstance(result[k], (list, dict)) else result[k]
               for k in order if k in result}
    for k in ("se", "ci95", "bootstrap"):
        if k in result:
            ordered[k] = result[k]
    return ordered


def _num(value: Any, spec: str = ".4g") -> str:
    if value is None:
        return "not determined"
    return format(value, spec)


def _range(lo: Any, hi: Any) -> str:
    return f"[{'0' if lo == 0 else _num(lo)}, {'inf' if hi is None else _num(hi)}]"


def format_fit(result: dict[str, Any]) -> str:
    """Plain-text report of :func:`fit_runs`' result."""
    lines = [f"Approach {result['approach']} fit to {result['n_points']} runs"]
    keys = [k for k in ("E", "A", "B", "alpha", "beta", "a", "b", "k_params", "k_tokens") if k in result]
    has_se = "se" in result
    identified = result.get("identified", True)
    ranges = result.get("near_optimal_ranges")
    if ranges is not None:
        lines.append(f"  {result['identification']}")
    if not identified:
        lines.append("  the data do not single out one law: every value in these ranges fits as well")
        lines.append(f"  {'':<10}{'near-optimal range':>28}")
        for k in keys:
            lines.append(f"  {k:<10}{_range(*ranges[k]):>28}")
        lines.append(f"  (lowest objective {result['objective']:.6g}; its constants are one point of the ranges "
                     "and are in the JSON output)")
    else:
        header = f"  {'':<10}{'value':>14}"
        if ranges is not None:
            header += f"{'near-optimal range':>26}"
        if has_se:
            header += f"{'std. err.':>16}{'95% interval':>30}"
        lines.append(header)
        for k in keys:
            line = f"  {k:<10}{result[k]:>14.6g}"
            if ranges is not None:
                line += f"{_range(*ranges[k]):>26}"
            if has_se and k in result["se"]:
                lo, hi = result["ci95"][k]
                line += f"{_num(result['se'][k]):>16}{_range(lo, hi) if lo is not None else 'not determined':>30}"
            lines.append(line)
        if "objective" in result:
            lines.append(f"  objective {result['objective']:.6g}")
    if "bootstrap" in result:
        b = result["bootstrap"]
        text = f"  bootstrap: {b['n']} resamples"
        if b["n_failed"]:
            text += (f"; {b['n_failed']} refits failed (diverged or did not converge), standard errors "
                     f"from the other {b['n'] - b['n_failed']}")
        if not b["interval_determined"]:
            text += "; too many failed: the 95% interval is not determined"
        lines.append(text)
        if not identified:
            lines.append("  (bootstrap intervals are in the JSON output; on a ridge they understate the spread)")
    if result.get("optima") and result["approach"] == 2:
        lines.append("  per-budget optima:")
        lines.append(f"  {'flops':>12}{'runs':>6}{'N*':>12}{'D*':>12}{'loss*':>9}  used")
        for o in result["optima"]:
            lines.append(
                f"  {_g(o['flops'])}{o['n_points']:>6}{_g(o['params_opt'])}{_g(o['tokens_opt'])}"
                f"{_g(o['loss_opt'], 9, '.4f')}  {_used(o)}"
            )
    elif result.get("optima"):
        lines.append(f"  envelope: {len(result['optima'])} points")
    return "\n".join(lines)


def _used(optimum: dict) -> str:
    """'yes', or 'no' with the reason a budget's vertex is left out of the power-law fit."""
    if optimum["used"]:
        return "yes"
    if not optimum["curvature_positive"]:
        return "no: the parabola opens downward (no minimum)"
    if not optimum["vertex_inside"]:
        return "no: the minimum lies outside the sampled sizes"
    return "no"


def _g(value: Any, width: int = 12, spec: str = ".4g") -> str:
    return f"{'—':>{width}}" if value is None else f"{value:>{width}{spec}}"
