"""Every lever of the book on one scale: the compute-equivalent multiplier.

A lever's *compute-equivalent multiplier* is how much more training compute a baseline (the run
that does not pull the lever) needs to reach the loss the lever reaches, dimensionless (> 1 when
the lever helps). Each function below redoes the computation of its source chapter through the
library, with that chapter's data and laws, and returns a :class:`Lever` whose ``low``/``high`` are
the range that chapter reports (a point, ``low == high``, only where the data pin the number).

Where a chapter measures a loss penalty instead of a multiplier, one stated law converts it:
:func:`reference_law` (chapter 4's Approach 3 fit on the digitized Chinchilla points, Hoffmann et
al. 2022, Eq. 2), evaluated at the compute of the runs that measured the penalty
(:func:`relative_penalty_multiplier`). The same penalty converted at the worked example's budget
(:func:`reference_flops`: $1e6 at the median on-demand H100 price of chapter 10's table, dense
bf16 peak, MFU 0.4) is kept as ``Lever.at_reference`` to show how much the conversion depends on
the scale: near the floor ``E`` a small penalty is worth a large multiplier.

Each lever also says what kind it is (``kind``: it buys FLOPs, lowers the loss at fixed compute,
or saves lifetime compute), what its range means (``range_kind``) and how it was put on the
compute scale (``conversion``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import pandas as pd

from .laws import BESIROGLU2024, HOFFMANN2022, ChinchillaLaw, compute_optimal_allocation
from .counting import training_flops
from .laws import kaplan
from .laws.inference import compute_optimal_for_loss, inference_optimal

__all__ = [
    "Lever",
    "EXAMPLE_DOLLARS",
    "example_price_per_gpu_hour",
    "EXAMPLE_PENALTY",
    "KINDS",
    "RANGE_KINDS",
    "EXAMPLE_GPU",
    "EXAMPLE_MFU",
    "EXAMPLE_INFERENCE_TOKENS",
    "reference_law",
    "reference_flops",
    "loss_penalty_multiplier",
    "loss_with_multiplier",
    "relative_penalty_multiplier",
    "nd_split",
    "steplaw_penalties",
    "hparam_transfer",
    "lr_factor2",
    "schedule_catch_up",
    "schedule_no_decay",
    "mixture_of_experts",
    "shape_spread",
    "shape",
    "precision_bf16",
    "repetition_penalties",
    "data_repetition",
    "data_quality",
    "utilization",
    "spot",
    "vendor",
    "commitment",
    "inference_aware",
    "all_levers",
    "lever_table",
]

EXAMPLE_DOLLARS = 1e6
"""Budget of chapter 14's worked example [USD]."""
EXAMPLE_PENALTY = 0.01
"""A loss penalty used to illustrate the conversion [nats/token]."""
EXAMPLE_GPU = "NVIDIA H100 SXM5 80GB"
"""Accelerator of the worked example, as Epoch AI's chip table names it (dense bf16 peak)."""
EXAMPLE_MFU = 0.4
"""Model FLOPs utilization of the worked example (close to the median MFU of chapter 10)."""
EXAMPLE_INFERENCE_TOKENS = 1e12
"""Tokens the worked example's model serves over its life."""


KINDS = ("flops", "loss", "lifetime")
"""Lever kinds: buys more training FLOPs per dollar; lowers the loss at fixed training compute;
saves lifetime (training + inference) compute at a fixed loss."""
RANGE_KINDS = ("uncertainty", "budget", "cases")
"""What a lever's range means: uncertainty of the estimate (intervals, competing laws); how the
multiplier moves with the budget; spread over the cases (runs, vendors, sizes) it summarises."""


@dataclass(frozen=True)
class Lever:
    """One lever on the compute scale.

    name: short identifier (glued as ``lever_<name>``); chapter: the chapter whose data and laws
    give it; multiplier: compute-equivalent multiplier (dimensionless); low, high: the range the
    chapter reports (equal to ``multiplier`` where the data pin it); baseline: the run that does
    not pull the lever; note: what the range means. For a lever priced from a loss penalty,
    measured_flops: the training compute [FLOP] at which the penalty was measured and converted,
    and at_reference: the multiplier the same relative penalty would have at
    :func:`reference_flops` (``None`` for levers that need no law). kind: one of :data:`KINDS`;
    range_kind: one of :data:`RANGE_KINDS`; conversion: how the lever was put on the compute
    scale. Levers that lower the loss through a measured penalty give ``measured_flops`` too.
    """

    name: str
    chapter: int
    multiplier: float
    low: float
    high: float
    baseline: str
    note: str = ""
    measured_flops: float | None = None
    at_reference: float | None = None
    kind: str = "loss"
    range_kind: str = "cases"
    conversion: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind = {self.kind!r}: expected one of {KINDS}")
        if self.range_kind not in RANGE_KINDS:
            raise ValueError(f"range_kind = {self.range_kind!r}: expected one of {RANGE_KINDS}")
        for field_name in ("multiplier", "low", "high", "measured_flops", "at_reference"):
            v = getattr(self, field_name)
            if v is None and field_name in ("measured_flops", "at_reference"):
                continue
            if not isinstance(v, (int, float)) or not np.isfinite(v) or v <= 0:
                raise ValueError(f"{field_name} = {v!r}: expected a finite positive number")
        if not self.low <= self.multiplier <= self.high:
            raise ValueError(f"{self.name}: multiplier {self.multiplier!r} outside "
                             f"[low, high] = [{self.low!r}, {self.high!r}]")


# --- the stated law that turns loss differences into compute ----------------------------------

@lru_cache(maxsize=1)
def reference_law() -> ChinchillaLaw:
    """Chapter 4's Approach 3 fit (Huber loss on log-loss residuals, Besiroglu et al. 2024's
    procedure) on the digitized Chinchilla points not excluded by Besiroglu et al., as a
    :class:`~smallest_loss.laws.chinchilla.ChinchillaLaw` named ``"approach3_ch4"`` [nats/token]."""
    from .datasets import load_chinchilla
    from .fit import approach3

    points = load_chinchilla()
    runs = points[~points.besiroglu_excluded]
    fit = approach3.fit_approach3(runs.params.to_numpy(), runs.tokens.to_numpy(), runs.loss.to_numpy())
    return ChinchillaLaw(E=float(fit.E), A=float(fit.A), B=float(fit.B), alpha=float(fit.alpha),
                         beta=float(fit.beta), name="approach3_ch4",
                         source="chapter 4: Approach 3 on the digitized Chinchilla points")


@lru_cache(maxsize=1)
def example_price_per_gpu_hour() -> float:
    """On-demand price of an ``EXAMPLE_GPU`` hour in the worked example [USD]: the median over
    vendors of the per-vendor median on-demand prices in Epoch AI's price table (chapter 10's
    ``h100_on_demand_median``)."""
    s = _h100_prices()
    return float(s.loc[s.chip == EXAMPLE_GPU, "on_demand"].median())


def reference_flops() -> float:
    """Training compute [FLOP] of the worked example: ``EXAMPLE_DOLLARS`` over
    :func:`example_price_per_gpu_hour` GPU-hours at the dense bf16 peak of ``EXAMPLE_GPU`` (Epoch
    AI's chip table) and ``EXAMPLE_MFU``."""
    from .costs import flops_from_gpu_hours
    from .planning import gpu_peak_flops

    gpu_hours = EXAMPLE_DOLLARS / example_price_per_gpu_hour()
    return float(flops_from_gpu_hours(gpu_hours, gpu_peak_flops(EXAMPLE_GPU, "bf16"), EXAMPLE_MFU))


def loss_penalty_multiplier(law: ChinchillaLaw, flops: float, penalty: float) -> float:
    """Compute-equivalent of a loss penalty [nats/token] at a budget ``flops`` [FLOP].

    The compute-optimal run of ``law`` at ``flops`` reaches ``L0``; a baseline that is worse by
    ``penalty`` everywhere reaches ``L0`` only where the law's optimum reaches ``L0 - penalty``:
    the multiplier is that compute (:func:`smallest_loss.laws.inference.compute_optimal_for_loss`)
    over ``flops``. ``ValueError`` for a negative penalty or one that reaches the law's ``E``.
    """
    c = float(flops)
    if not np.isfinite(c) or c <= 0:
        raise ValueError(f"flops = {flops!r}: expected a finite positive budget [FLOP]")
    p = float(penalty)
    if not np.isfinite(p) or p < 0:
        raise ValueError(f"penalty = {penalty!r}: expected a finite loss difference >= 0 [nats/token]")
    l0 = float(compute_optimal_allocation(law, c).loss)
    if l0 - p <= law.E:
        raise ValueError(f"penalty = {p!r}: L0 - penalty = {l0 - p:.4g} is not above E = {law.E:.4g}")
    return float(compute_optimal_for_loss(law, l0 - p).flops) / c


def loss_with_multiplier(law: ChinchillaLaw, flops, multiplier) -> np.ndarray:
    """Loss [nats/token] of ``law``'s compute-optimal run at ``multiplier`` times ``flops`` [FLOP]:
    what a lever worth ``multiplier`` buys at that budget, ``L_opt(m C)`` (Hoffmann et al. 2022,
    Eq. 4). Arguments broadcast; ``ValueError`` for a non-positive budget or multiplier."""
    c, m = np.broadcast_arrays(np.asarray(flops, dtype=float), np.asarray(multiplier, dtype=float))
    if not np.all(np.isfinite(c) & (c > 0)):
        raise ValueError(f"flops = {flops!r}: expected finite positive budgets [FLOP]")
    if not np.all(np.isfinite(m) & (m > 0)):
        raise ValueError(f"multiplier = {multiplier!r}: expected finite positive factors")
    return np.asarray(compute_optimal_allocation(law, c * m).loss, dtype=float)


def relative_penalty_multiplier(law: ChinchillaLaw, flops, relative_penalty) -> np.ndarray:
    """Compute-equivalent of a *relative* loss penalty measured on runs of ``flops`` [FLOP].

    A penalty of ``relative_penalty`` (fraction of the loss, dimensionless, >= 0) on runs of
    compute ``flops`` is taken as ``relative_penalty * L0(flops)`` nats/token, ``L0`` the loss of
    ``law``'s compute-optimal run at that budget (Hoffmann et al. 2022, Eq. 4), and priced by
    :func:`loss_penalty_multiplier` at the same budget, i.e.
    ``(1 - p L0 / (L0 - E)) ** -(1/alpha + 1/beta)``. Arguments broadcast; returns an array.
    """
    c, p = np.broadcast_arrays(np.asarray(flops, dtype=float), np.asarray(relative_penalty, dtype=float))
    if not np.all(np.isfinite(c) & (c > 0)):
        raise ValueError(f"flops = {flops!r}: expected finite positive budgets [FLOP]")
    if not np.all(np.isfinite(p) & (p >= 0)):
        raise ValueError(f"relative_penalty = {relative_penalty!r}: expected finite fractions >= 0")
    out = [loss_penalty_multiplier(law, ci, pi * float(compute_optimal_allocation(law, ci).loss))
           for ci, pi in zip(c.ravel(), p.ravel())]
    return np.asarray(out, dtype=float).reshape(c.shape)


_LAW_CONVERSION = "reference law at the runs' compute (relative penalty)"


def _point(name: str, chapter: int, value: float, baseline: str, note: str) -> Lever:
    v = float(value)
    return Lever(name, chapter, v, v, v, baseline, note)


def _ranged(name: str, chapter: int, value: float, values, baseline: str, note: str) -> Lever:
    vals = np.asarray(values, dtype=float)
    return Lever(name, chapter, float(value), float(min(vals.min(), value)),
                 float(max(vals.max(), value)), baseline, note)


# --- chapter 3 (and 4): the N-D split -----------------------------------------------------------

def _kaplan_split_multiplier(law: ChinchillaLaw, flops: float) -> float:
    """Compute a Kaplan-style run needs to reach the loss the law's optimum reaches with ``flops``
    [FLOP], over ``flops``. Kaplan's model at budget ``C`` is their frontier at ``C_min = C / 2``
    (chapter 3, the convention that reproduces Hoffmann et al.'s 4.68B at 1e21 FLOP), trained on
    ``D = C / (6 N)`` tokens; the budget is found by root finding in ``log C``."""
    from scipy.optimize import brentq

    target = float(compute_optimal_allocation(law, flops).loss)

    def gap(log_c: float) -> float:
        c = float(np.exp(log_c))
        return float(law.loss_at_compute(float(kaplan.optimal_params(c / 2)), c)) - target

    lo = np.log(float(flops))
    hi = lo + np.log(1e8)
    if gap(lo) <= 0:
        return 1.0
    if gap(hi) > 0:
        raise ValueError(f"flops = {flops!r}: Kaplan's allocation does not reach the optimum's loss "
                         "within 1e8 times the budget")
    return float(np.exp(brentq(gap, lo, hi, xtol=1e-12) - lo))


def nd_split(law: ChinchillaLaw | None = None, flops: float | None = None) -> Lever:
    """Kaplan-style allocation against the compute-optimal one (chapters 3 and 4).

    With ``law`` given, a point at ``flops`` [FLOP] under that law. By default the reference law at
    :func:`reference_flops`, with the range over the three Chinchilla-form laws of chapter 4 (its
    Approach 3 fit, Hoffmann et al.'s unrounded constants, Besiroglu et al.'s refit).
    """
    c = reference_flops() if flops is None else float(flops)
    base = "Kaplan et al. 2020's frontier (N at C/2, one epoch)"
    tags = dict(kind="loss", range_kind="uncertainty",
                conversion="root in C of the law's loss along Kaplan's frontier")
    if law is not None:
        return replace(_point("nd_split", 3, _kaplan_split_multiplier(law, c), base,
                              f"{law.name} at {c:.3g} FLOP"), **tags)
    values = [_kaplan_split_multiplier(lw, c) for lw in (reference_law(), HOFFMANN2022, BESIROGLU2024)]
    return replace(_ranged("nd_split", 3, values[0], values, base,
                           "range over chapter 4's fit, Hoffmann et al.'s and Besiroglu et al.'s "
                           "constants"), **tags)


# --- chapter 6: hyperparameters and schedules ---------------------------------------------------

_STEPLAW_CONVERSION = "local slope dL/d ln C of Step Law's grid (chapter 6)"
_STEPLAW_LAWS = ("Step Law", "DeepSeek", "Kaplan batch", "our local fit")


@dataclass(frozen=True)
class SteplawPenalties:
    """Chapter 6's penalties on Step Law's grid. penalty: per (N, D) cell, the loss penalty
    [nats/token] of each law's prediction against the cell's best run; double_cost: loss cost of
    doubling or halving each cell's best learning rate [nats/token]; slope: dL/d ln D of the plane
    through the cells' best losses at fixed N (= dL/d ln C) [nats per e-fold]; flops: geometric
    mean of the cells' training compute 6 N D [FLOP]."""

    penalty: pd.DataFrame
    double_cost: np.ndarray
    slope: float
    flops: float = float("nan")


@lru_cache(maxsize=1)
def steplaw_penalties() -> SteplawPenalties:
    """Chapter 6's computation on Li et al. 2025's released runs (Step Law grid): the loss each
    learning-rate/batch law gives up, the cost of a factor-2 learning-rate error, and the slope that
    prices both (:func:`smallest_loss.fit.hparams.compute_multiplier`). Our local fit is the
    chapter's ``hp.fit_hparam_laws(..., estimator="local")`` point estimate (its bootstrap does not
    move the point)."""
    from .datasets import load_steplaw
    from .datasets.registry import STEPLAW_SEQ_LEN
    from .fit import hparams as hp
    from .laws import hparams as hl

    runs = load_steplaw()
    ours = _local_hparam_fit(runs)
    shape = runs.groupby(["params", "tokens"])[["n_layers", "d_model"]].first()
    rows = []
    for (n, d), cell in runs.groupby(["params", "tokens"]):
        cell = cell.assign(loss=cell.smooth_loss, lr=cell.lr_grid)
        layers, width = shape.loc[(n, d)]
        c = hl.deepseek_flops_per_token(n, layers, width, STEPLAW_SEQ_LEN) * d
        preds = {"Step Law": (hl.steplaw_lr(n, d), hl.steplaw_batch(d)),
                 "DeepSeek": (hl.deepseek_lr(c), hl.deepseek_batch(c)),
                 "our local fit": (ours.lr(n, d), ours.batch(n, d))}
        row = {"N": n, "D": d}
        for name, (lr, b) in preds.items():
            row[name] = hp.loss_penalty(cell, float(lr), float(b))["penalty"]
        b_kaplan = float(kaplan.critical_batch_size(cell.loss.min()))
        nearest = cell.batch.iloc[np.argmin(np.abs(np.log(cell.batch / b_kaplan)))]
        row["Kaplan batch"] = cell.loss[cell.batch == nearest].min() - cell.loss.min()
        rows.append(row)
    double_cost = []
    for _, cell in runs.groupby(["params", "tokens"]):
        prof = cell.groupby("lr_grid").smooth_loss.min()
        for factor in (2.0, 0.5):
            hit = np.isclose(prof.index, prof.idxmin() * factor, rtol=1e-9)
            if hit.any():
                double_cost.append(float(prof[hit].iloc[0] - prof.min()))
    best = runs.groupby(["params", "tokens"]).smooth_loss.min().reset_index()
    design = np.column_stack([np.ones(len(best)), np.log(best.params), np.log(best.tokens)])
    plane = np.linalg.lstsq(design, best.smooth_loss.to_numpy(), rcond=None)[0]
    c_mid = float(np.exp(np.mean(np.log(training_flops(best.params, best.tokens)))))
    return SteplawPenalties(pd.DataFrame(rows), np.asarray(double_cost), float(plane[2]), c_mid)


def _local_hparam_fit(runs: pd.DataFrame):
    from .fit import hparams as hp

    return hp.fit_hparams(runs.params, runs.tokens, runs.lr_grid, runs.smooth_loss, runs.batch,
                          estimator="local")


def hparam_transfer() -> Lever:
    """A learning-rate and batch law transferred from another setup (DeepSeek's) against the cell's
    tuned run, on Step Law's grid (chapter 6): the compute multiplier of the median penalty, range
    over the cells (least and worst penalty)."""
    from .fit import hparams as hp

    s = steplaw_penalties()
    pen = s.penalty["DeepSeek"]
    vals = hp.compute_multiplier(pen.to_numpy(), s.slope)
    lever = _ranged("hparam_transfer", 6, float(hp.compute_multiplier(pen.median(), s.slope)), vals,
                   "DeepSeek's learning rate and batch laws, not tuned on this grid",
                   "median over Step Law's cells; range: best and worst cell")
    return replace(lever, measured_flops=s.flops, range_kind="cases", conversion=_STEPLAW_CONVERSION)


def lr_factor2() -> Lever:
    """A learning rate off by a factor of two from the cell's best (chapter 6): the compute multiplier
    of the median loss cost; range over all such pairs of runs."""
    from .fit import hparams as hp

    s = steplaw_penalties()
    vals = hp.compute_multiplier(s.double_cost, s.slope)
    lever = _ranged("lr_factor2", 6, float(hp.compute_multiplier(np.median(s.double_cost), s.slope)),
                    vals, "learning rate doubled or halved from the best",
                    "median over Step Law's cells; range: every doubled or halved pair")
    return replace(lever, measured_flops=s.flops, range_kind="cases", conversion=_STEPLAW_CONVERSION)


_SCHEDULE_CASES = (("cosine_72000", "cosine_24000"), ("constant_72000", "cosine_24000"),
                   ("constant_72000", "wsd_20000_24000"))


@lru_cache(maxsize=1)
def schedule_catch_up() -> pd.DataFrame:
    """Chapter 6's catch-up table on Luo et al. 2025's curves: for each size and mistaken schedule,
    the step at which it first reaches (running median of five samples,
    :func:`smallest_loss.fit.schedules.steps_to_reach`) the final loss of a 24,000-step reference,
    and the compute multiplier ``steps / 24000`` (fixed model and batch)."""
    from .datasets import MULTIPOWERLAW_SCHEDULES, load_multipowerlaw
    from .fit import schedules as sc

    curves = load_multipowerlaw()
    final = curves.sort_values("step").groupby(["size", "schedule"]).last().reset_index()
    table = final.pivot(index="schedule", columns="size", values="loss")
    table = table.loc[list(MULTIPOWERLAW_SCHEDULES), ["25M", "100M", "400M"]]
    rows = []
    for size in ("25M", "100M", "400M"):
        for mistake, reference in _SCHEDULE_CASES:
            c = curves[(curves["size"] == size) & (curves.schedule == mistake)]
            step = sc.steps_to_reach(c.step, c.loss, table.loc[reference, size])
            rows.append({"size": size, "mistake": mistake, "reference": reference,
                         "steps to its final loss": step, "compute multiplier": step / 24000})
    return pd.DataFrame(rows)


def schedule_no_decay() -> Lever:
    """No learning-rate decay (a constant rate) against warmup-stable-decay (chapter 6): median over
    the three model sizes of Luo et al.'s curves, range smallest to largest."""
    t = schedule_catch_up()
    v = t[(t.mistake == "constant_72000") & (t.reference == "wsd_20000_24000")]["compute multiplier"]
    return replace(_ranged("schedule_no_decay", 6, float(v.median()), v,
                           "constant learning rate, never decayed",
                           "median over 25M, 100M, 400M models; range over the sizes"),
                   range_kind="cases", conversion="steps to the same loss (same model and batch)")


# --- chapter 7: mixture of experts -------------------------------------------------------------

def mixture_of_experts(flops: float | None = None) -> Lever:
    """A compute-optimal fine-grained mixture of experts against a dense model (chapter 7):
    Krajewski et al. 2024's laws as recomputed by ``laws.moe.dense_equivalent_multiplier`` at
    ``flops`` (default :func:`reference_flops`); range: the values at 1e20 and 1e25 FLOP that
    chapter 7 reports (the multiplier grows with the budget)."""
    from .laws import moe

    c = reference_flops() if flops is None else float(flops)
    m = moe.dense_equivalent_multiplier(c)
    ends = [moe.dense_equivalent_multiplier(f) for f in (1e20, 1e25)]
    return replace(_ranged("mixture_of_experts", 7, float(m), ends, "a dense model",
                           "at the reference budget; range: 1e20 to 1e25 FLOP"),
                   range_kind="budget", conversion="Krajewski et al.'s laws at the budget")


@dataclass(frozen=True)
class ShapeSpread:
    """Chapter 7's shape computation on Gadre et al. 2024's width-depth grid. window: the best run
    of each shape in the reference band (15-200M non-embedding parameters) whose aspect ratio
    lies within Kaplan et al.'s factor 40 centred on the fitted optimum, with ``resid_pct``, its
    loss above a power law in N and D [%]; spread_pct: max minus min of ``resid_pct`` [%];
    aspect_best: the parabola's optimum in log aspect; rise_pct: the parabola's rise from its
    minimum to the window's shape farthest from it [%] (the systematic part, without run noise)."""

    window: pd.DataFrame
    spread_pct: float
    aspect_best: float
    rise_pct: float


@lru_cache(maxsize=1)
def shape_spread() -> ShapeSpread:
    """Redo chapter 7's aspect-ratio window on Gadre et al. 2024's grid (batch of the largest
    runs, best run per shape, residual against ``log L = c + a log N + b log D`` by least squares,
    parabola in log aspect over the 15-200M band, window of a factor 40 around its minimum)."""
    from .datasets import load_gadre_grid

    grid = load_gadre_grid()
    b64 = grid[grid.batch_seqs == grid.batch_seqs.max()]
    best = b64.loc[b64.groupby(["d_model", "n_layer"]).loss.idxmin()].copy()
    x = np.column_stack([np.ones(len(best)), np.log(best.params_non_embedding), np.log(best.tokens)])
    coef = np.linalg.lstsq(x, np.log(best.loss), rcond=None)[0]
    best["resid_pct"] = 100 * (best.loss / np.exp(x @ coef) - 1)
    band = best[best.params_non_embedding.between(15e6, 200e6)]
    c2, c1, _ = np.polyfit(np.log(band.aspect), band.resid_pct, 2)
    aspect_best = float(np.exp(-c1 / (2 * c2)))
    half = 40**0.5
    window = band[band.aspect.between(aspect_best / half, aspect_best * half)]
    far = float(np.max(np.abs(np.log(window.aspect.to_numpy(dtype=float) / aspect_best))))
    return ShapeSpread(window, float(window.resid_pct.max() - window.resid_pct.min()), aspect_best,
                       float(c2 * far**2))


def shape() -> Lever:
    """The best shape against the worst within Kaplan et al.'s factor 40 of aspect ratios (chapter
    7, Gadre et al. 2024's grid): the spread of the size-corrected loss, a relative penalty,
    converted by :func:`relative_penalty_multiplier` at the grid's own scale (the geometric mean
    training compute of the window's runs). One run per shape, so the spread holds run-to-run
    noise too. Range: from the parabola's rise across the window (the systematic part) converted
    at the window's smallest run, to the spread converted at its largest run."""
    s = shape_spread()
    law = reference_law()
    flops = s.window.flops.to_numpy(dtype=float)
    c_mid = float(np.exp(np.log(flops).mean()))
    p = s.spread_pct / 100
    m = float(relative_penalty_multiplier(law, c_mid, p))
    ends = [float(relative_penalty_multiplier(law, flops.min(), max(s.rise_pct, 0.0) / 100)),
            float(relative_penalty_multiplier(law, flops.max(), p))]
    lever = _ranged("shape", 7, m, ends, "the worst shape within a factor 40 of aspect ratio",
                    "spread over the aspect window at the grid's compute; range: the fitted "
                    "parabola's rise (no run noise) at the smallest run to the spread at the largest")
    return replace(lever, measured_flops=c_mid, range_kind="uncertainty", conversion=_LAW_CONVERSION,
                   at_reference=float(relative_penalty_multiplier(law, reference_flops(), p)))


# --- chapter 8: precision ---------------------------------------------------------------------

def precision_bf16(chip: str = EXAMPLE_GPU) -> Lever:
    """Training in bf16 instead of a 32-bit format (chapter 8): ratios of dense peak throughputs of
    ``chip`` in Epoch AI's chip table; the same hours at the same MFU buy this factor more FLOPs.
    Central value and low end: bf16 over tf32 (fp32 training with its matrix products on the
    tensor cores); high end: bf16 over plain fp32 on the vector units. A chip without a tf32
    peak gives the fp32 ratio as a point."""
    from .datasets.epoch_costs import load_chip_table

    chips = load_chip_table().set_index("chip")
    if chip not in chips.index:
        raise ValueError(f"chip = {chip!r}: not in Epoch AI's chip table")
    row = chips.loc[chip]
    over_fp32 = float(row.bf16_flops / row.fp32_flops)
    tags = dict(kind="flops", range_kind="cases", conversion="ratio of dense peak FLOP/s")
    if not np.isfinite(row.tf32_flops):
        return replace(_point("precision_bf16", 8, over_fp32, "fp32 arithmetic",
                              f"dense peaks of {chip}"), **tags)
    over_tf32 = float(row.bf16_flops / row.tf32_flops)
    return replace(_ranged("precision_bf16", 8, over_tf32, [over_fp32],
                           "fp32 on tf32 tensor cores (plain fp32 at the top of the range)",
                           f"dense peaks of {chip}; range: bf16 over tf32 to bf16 over fp32"), **tags)


# --- chapter 9: data --------------------------------------------------------------------------

@lru_cache(maxsize=4)
def repetition_penalties(epochs: float = 4.0) -> pd.DataFrame:
    """Chapter 9's relative loss penalties of Muennighoff et al. 2023's finished isoFLOP runs
    (datablations) at ``epochs`` passes over the unique data, against the one-epoch run of the same
    corpus and size: columns run, data, params, flops [FLOP], penalty (fraction of the loss)."""
    from .datasets.registry import load_datablations

    curves = load_datablations()
    final = curves.sort_values("tokens").groupby("run").tail(1)
    one = final[final.epochs == 1].set_index(["data", "params"])["loss"]
    ref = one.loc[list(zip(final.data, final.params))].to_numpy()
    final = final.assign(penalty=final.loss / ref - 1)
    at = final[final.epochs == epochs]
    if at.empty:
        raise ValueError(f"epochs = {epochs!r}: no datablations runs at that many epochs")
    return at[["run", "data", "params", "flops", "penalty"]].reset_index(drop=True)


def data_repetition(epochs: float = 4.0) -> Lever:
    """Repeating the data ``epochs`` times against fresh data (chapter 9): the mean relative loss
    penalty of Muennighoff et al.'s isoFLOP runs at that many epochs, converted by
    :func:`relative_penalty_multiplier` at the runs' own scale (geometric mean of their training
    compute); range: each run's penalty converted at its own compute (a negative penalty counts as
    none)."""
    at = repetition_penalties(float(epochs))
    law = reference_law()
    pen = np.clip(at.penalty.to_numpy(dtype=float), 0.0, None)
    flops = at.flops.to_numpy(dtype=float)
    c_mid = float(np.exp(np.log(flops).mean()))
    mean = max(float(at.penalty.mean()), 0.0)
    lever = _ranged("data_repetition", 9, float(relative_penalty_multiplier(law, c_mid, mean)),
                    relative_penalty_multiplier(law, flops, pen),
                    f"{epochs:g} epochs over repeated data instead of fresh",
                    "mean penalty converted at the runs' compute; range: each run at its own")
    return replace(lever, measured_flops=c_mid, range_kind="cases", conversion=_LAW_CONVERSION,
                   at_reference=float(relative_penalty_multiplier(law, reference_flops(), mean)))


def data_quality() -> Lever:
    """Best-decile against worst-decile data at the same N and D (chapter 9): DCLM's same-scale
    models, CORE gap between the 90th and 10th percentiles over the CORE gain per tenfold compute
    of the original C4, RefinedWeb and RedPajama models (a local straight line):
    ``10 ** (gap / slope)``. Range: the slope's 95% interval (ordinary least squares)."""
    from .datasets.dclm import DCLM_1B_PARAMS, DCLM_1B_TOKENS, load_dclm_models

    dclm = load_dclm_models()
    same = dclm[(dclm.params == DCLM_1B_PARAMS) & (dclm.tokens == DCLM_1B_TOKENS)]
    scored = same.dropna(subset=["core"])
    ok = scored[scored.core >= 0.05]                    # one run at chance level set aside
    base = dclm[dclm.dataset.isin(["c4_original", "rw_original", "rpj_original"])].dropna(subset=["core"])
    x = np.log10(base.flops.to_numpy(dtype=float))
    (slope, _), cov = np.polyfit(x, base.core.to_numpy(dtype=float), 1, cov=True)
    gap = float(ok.core.quantile(0.9) - ok.core.quantile(0.1))
    se = float(np.sqrt(cov[0, 0]))
    lo_slope, hi_slope = slope - 1.96 * se, slope + 1.96 * se
    ends = [10 ** (gap / hi_slope)] + ([10 ** (gap / lo_slope)] if lo_slope > 0 else [np.inf])
    if not np.isfinite(ends[1]):
        raise ValueError("data_quality: the slope's interval reaches zero; the multiplier is unbounded")
    lever = _ranged("data_quality", 9, float(10 ** (gap / slope)), ends,
                    "worst-decile data of DCLM's pool", "range: 95% interval of the CORE-per-decade slope")
    return replace(lever, measured_flops=float(training_flops(DCLM_1B_PARAMS, DCLM_1B_TOKENS)),
                   range_kind="uncertainty", conversion="CORE gain per decade of compute (DCLM)")


# --- chapter 10: dollars ----------------------------------------------------------------------

def utilization() -> Lever:
    """A run at the 90th percentile of reported MFU against one at the 10th (chapter 10, Epoch AI's
    notable models): the same GPU-hours buy MFU_90 / MFU_10 times the FLOPs."""
    from .datasets.epoch_costs import load_notable_models

    mfu = load_notable_models().mfu.dropna()
    lo, hi = (float(q) for q in mfu.quantile([0.1, 0.9]))
    return replace(_point("utilization", 10, hi / lo, "a run at the 10th percentile of reported MFU",
                          "90th over 10th percentile of reported MFU"),
                   kind="flops", conversion="ratio of MFU")


SPOT_DISCOUNT = 0.6
"""Chapter 10's assumed spot discount off on-demand (an assumption, not a measurement)."""
SPOT_CHECKPOINT_HOURS = 0.1
"""Chapter 10's assumed time to write a checkpoint [hours]."""
SPOT_RESTART_HOURS = 0.25
"""Chapter 10's assumed restart time after a preemption [hours]."""
SPOT_PREEMPTIONS_PER_HOUR = 1 / 24
"""Chapter 10's worked preemption rate: one a day [1/hour]."""


def spot(discount: float = SPOT_DISCOUNT, preemptions_per_hour: float = SPOT_PREEMPTIONS_PER_HOUR,
         checkpoint_hours: float = SPOT_CHECKPOINT_HOURS, restart_hours: float = SPOT_RESTART_HOURS) -> Lever:
    """Spot instead of on-demand GPU-hours (chapter 10): the same dollars buy ``1 / f`` the useful
    hours, ``f`` the expected spot cost factor at the optimal checkpoint interval
    (:func:`smallest_loss.costs.spot.spot_cost_factor`). Range: from the break-even preemption rate
    (1) to none at all (``1 / (1 - discount)``)."""
    from .costs.spot import spot_cost_factor

    f = float(spot_cost_factor(discount, preemptions_per_hour, checkpoint_hours, restart_hours))
    lever = _ranged("spot", 10, 1.0 / f, [1.0, 1.0 / float(spot_cost_factor(discount, 0.0, checkpoint_hours,
                                                                              restart_hours))],
                   "on-demand hours",
                   f"one preemption per {1 / preemptions_per_hour:.3g} h; range: break-even to none")
    return replace(lever, kind="flops", range_kind="cases", conversion="useful hours per dollar")


def _h100_prices():
    from .datasets.epoch_costs import cloud_price_summary, load_hardware_prices

    return cloud_price_summary(load_hardware_prices(), [EXAMPLE_GPU, "NVIDIA A100 SXM4 80 GB"])


def vendor() -> Lever:
    """The cheapest vendor's on-demand H100 hour against the median vendor's (chapter 10): the same
    dollars buy the price ratio more hours. Range: from the median vendor (the point) to the
    dearest vendor over the cheapest (a single observation can set the dearest price)."""
    s = _h100_prices()
    h = s.loc[s.chip == EXAMPLE_GPU, "on_demand"]
    lever = _ranged("vendor", 10, float(h.median() / h.min()), [h.max() / h.min()],
                    "the median vendor's on-demand H100",
                    "median over cheapest vendor; range up to dearest over cheapest")
    return replace(lever, kind="flops", range_kind="cases", conversion="ratio of hourly prices")


def commitment() -> Lever:
    """A three-year commitment against on-demand (chapter 10): ``1 / (1 - saving)`` with the median
    saving over vendors that sell commitments; range over those vendors."""
    s = _h100_prices()
    major = s[s.three_year.notna()]
    saving = 1 - major.three_year / major.on_demand
    lever = _ranged("commitment", 10, float(1 / (1 - np.median(saving))), 1 / (1 - saving),
                    "on-demand hours", "median over vendors with commitments; range over them")
    return replace(lever, kind="flops", range_kind="cases", conversion="ratio of hourly prices")


# --- chapter 11: inference ---------------------------------------------------------------------

def _inference_ratio(law: ChinchillaLaw, flops: float, inference_tokens: float) -> float:
    loss = float(compute_optimal_allocation(law, flops).loss)
    chin = compute_optimal_for_loss(law, loss)
    naive = float(chin.flops) + 2.0 * float(chin.params) * inference_tokens
    best = float(inference_optimal(law, loss, inference_tokens).total_flops)
    return naive / best


def inference_aware(inference_tokens: float = EXAMPLE_INFERENCE_TOKENS, flops: float | None = None) -> Lever:
    """Sizing for lifetime compute (Sardana et al. 2024, chapter 11) against the compute-optimal
    model of the same loss that then serves ``inference_tokens``: training + inference compute
    ``6ND + 2NT`` of the latter over the former, at the loss the reference budget buys. Range over
    chapter 4's three Chinchilla-form laws."""
    t = float(inference_tokens)
    if not np.isfinite(t) or t < 0:
        raise ValueError(f"inference_tokens = {inference_tokens!r}: expected a finite count >= 0")
    c = reference_flops() if flops is None else float(flops)
    vals = [_inference_ratio(lw, c, t) for lw in (reference_law(), HOFFMANN2022, BESIROGLU2024)]
    lever = _ranged("inference_aware", 11, vals[0], vals,
                    f"the compute-optimal model serving {t:.3g} tokens",
                    "lifetime compute ratio; range over chapter 4's three laws")
    return replace(lever, kind="lifetime", range_kind="uncertainty",
                   conversion="training + inference compute at the same loss")


# --- all of them --------------------------------------------------------------------------------

def all_levers() -> list[Lever]:
    """Every lever, ranked by multiplier (largest first)."""
    levers = [nd_split(), hparam_transfer(), lr_factor2(), schedule_no_decay(), mixture_of_experts(),
              shape(), precision_bf16(), data_repetition(), data_quality(), utilization(), spot(), vendor(),
              commitment(), inference_aware()]
    return sorted(levers, key=lambda lv: -lv.multiplier)


def lever_table(levers: list[Lever] | None = None) -> pd.DataFrame:
    """The levers as a table: lever, chapter, kind, multiplier, low, high, range_kind, baseline,
    note, conversion, measured_flops and at_reference (NaN where they do not apply), and
    loss_at_reference: the reference law's optimal loss at ``multiplier`` times
    :func:`reference_flops` [nats/token] (:func:`loss_with_multiplier`; NaN for lifetime levers,
    which do not change the training loss a budget buys)."""
    rows = all_levers() if levers is None else levers
    nan = float("nan")
    law, c = reference_law(), reference_flops()
    return pd.DataFrame([{"lever": lv.name, "chapter": lv.chapter, "kind": lv.kind,
                          "multiplier": lv.multiplier, "low": lv.low, "high": lv.high,
                          "range_kind": lv.range_kind, "baseline": lv.baseline, "note": lv.note,
                          "conversion": lv.conversion,
                          "measured_flops": nan if lv.measured_flops is None else lv.measured_flops,
                          "at_reference": nan if lv.at_reference is None else lv.at_reference,
                          "loss_at_reference": nan if lv.kind == "lifetime"
                          else float(loss_with_multiplier(law, c, lv.multiplier))}
                         for lv in rows])
