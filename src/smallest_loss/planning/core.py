"""Plans from any scaling law: the optimal run for a budget and the cheapest run for a target loss.

Three kinds of law answer the same two questions through :class:`PlanningLaw`:

* a Chinchilla-form law ``L = E + A N^-alpha + B D^-beta`` (Hoffmann et al. 2022, Eq. 2): a named
  constant set of ``smallest_loss.laws.LAWS``, a :class:`~smallest_loss.laws.chinchilla.ChinchillaLaw` or
  an Approach 3 fit written by ``smallest-loss fit --json``. With the bootstrap draws of such a
  fit (``fit --bootstrap B --json``) every answer carries 95% percentile intervals;
* Kaplan et al.'s (2020) compute-efficient frontier, in non-embedding parameters;
* a power law ``N_opt = k C^a`` from an Approach 1 or 2 fit: it allocates a budget but has no loss
  model, so it cannot answer for a target loss.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..counting import training_tokens
from ..laws import LAWS, ChinchillaLaw, compute_optimal_allocation
from ..laws.inference import _solve_data_share, inference_optimal
from ..validation import positive_array

__all__ = [
    "Plan",
    "PlanningLaw",
    "ChinchillaPlanningLaw",
    "KaplanPlanningLaw",
    "PowerLawPlanningLaw",
    "LAW_NAMES",
    "load_law",
    "plan_for_flops",
    "plan_for_loss",
    "plan_for_dollars",
    "gpu_peak_flops",
    "DEFAULT_CHECKPOINT_HOURS",
    "DEFAULT_RESTART_HOURS",
]

LAW_NAMES: tuple[str, ...] = (*LAWS.keys(), "kaplan2020")
"""The named laws :func:`load_law` accepts (besides a fit JSON file, a dict or a ChinchillaLaw)."""

CONSTANTS = ("E", "A", "B", "alpha", "beta")

DEFAULT_CHECKPOINT_HOURS = 5.0 / 60.0
"""Assumed time to write one checkpoint [hours] for spot planning when none is given: 5 minutes.
An assumption of this book, not a measured value; pass your own."""

DEFAULT_RESTART_HOURS = 10.0 / 60.0
"""Assumed time to restart after a preemption [hours] when none is given: 10 minutes (obtain an
instance, load the checkpoint). An assumption of this book, not a measured value; pass your own."""

Number = float | NDArray[np.float64]


def _out(x: ArrayLike) -> Number:
    arr = np.asarray(x, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


@dataclass(frozen=True)
class Plan:
    """One plan: how to spend a budget, or the cheapest way to reach a loss.

    flops: training compute C = 6ND [FLOP]; params: N [parameters]; tokens: D [training tokens];
    tokens_per_param: D/N; loss: predicted loss [nats/token] (None for a law without a loss model);
    law: the law's name or file; note: what to keep in mind (None if nothing). ci95: 95% bootstrap
    percentile intervals ``{quantity: (low, high)}`` when the law carries draws, else None (an end
    that failed or infeasible draws decide is 0 or inf). Dollar plans add dollars [USD],
    price_per_gpu_hour [USD per GPU-hour], peak_flops_per_s [FLOP/s], mfu, spot_cost_factor
    (dollars per useful spot GPU-hour relative to on-demand; None without spot) and gpu_hours
    [useful GPU-hours]. Loss plans add inference_tokens [tokens], training_flops (= flops),
    inference_flops (2 N T) and total_flops [FLOP]. Each numeric field is a float, or an array
    when the budget or loss given was an array.
    """

    flops: Number
    params: Number
    tokens: Number
    tokens_per_param: Number
    loss: Number | None
    law: str
    note: str | None = None
    ci95: dict[str, tuple[Number, Number]] | None = None
    ci95_draws: int | None = None
    dollars: Number | None = None
    price_per_gpu_hour: Number | None = None
    peak_flops_per_s: Number | None = None
    mfu: Number | None = None
    spot_cost_factor: Number | None = None
    gpu_hours: Number | None = None
    inference_tokens: Number | None = None
    training_flops: Number | None = None
    inference_flops: Number | None = None
    total_flops: Number | None = None

    _ALWAYS = ("flops", "law", "params", "tokens", "tokens_per_param", "loss")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``flops, law, params, tokens, tokens_per_param, loss`` always (in that
        order), then each other field that is set. Non-finite numbers become None (JSON null);
        arrays become lists; intervals become ``[low, high]`` lists."""
        out: dict[str, Any] = {k: _json(getattr(self, k)) for k in self._ALWAYS}
        for f in fields(self):
            if f.name in self._ALWAYS:
                continue
            value = getattr(self, f.name)
            if value is None:
                continue
            if f.name == "ci95":
                out["ci95"] = {k: [_json(lo), _json(hi)] for k, (lo, hi) in value.items()}
            else:
                out[f.name] = _json(value)
        return out


def _json(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return [_json(v) for v in value.tolist()]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


# --- percentile intervals of bootstrap draws ----------------------------------------------------

def _percentile(sorted_vals: NDArray[np.float64], q: float) -> NDArray[np.float64]:
    """Linear-interpolation percentile along axis 0 of sorted values that may hold ``inf``: an end
    that interpolates towards ``inf`` is ``inf``."""
    n = sorted_vals.shape[0]
    pos = q / 100.0 * (n - 1)
    i = int(np.floor(pos))
    j = min(i + 1, n - 1)
    frac = pos - i
    a, b = sorted_vals[i], sorted_vals[j]
    with np.errstate(invalid="ignore", over="ignore"):
        mixed = a + frac * (b - a)
    return np.where(np.isinf(a), a, np.where(np.isinf(b) & (frac > 0), b, np.where(frac == 0, a, mixed)))


def _interval(values: NDArray[np.float64], n_failed: int, level: float = 0.95) -> tuple[Number, Number]:
    """Percentile interval over axis 0 of per-draw ``values``; ``n_failed`` refits that failed are
    counted at 0 for the lower end and at ``inf`` for the upper end (as the fit's own intervals)."""
    tail = (1.0 - level) / 2.0 * 100.0
    rest = values.shape[1:]
    lo_vals = np.sort(np.concatenate([np.zeros((n_failed, *rest)), values]), axis=0)
    hi_vals = np.sort(np.concatenate([values, np.full((n_failed, *rest), np.inf)]), axis=0)
    return _out(_percentile(lo_vals, tail)), _out(_percentile(hi_vals, 100.0 - tail))


# --- the laws ---------------------------------------------------------------------------------------

class PlanningLaw:
    """A scaling law that plans: :meth:`for_flops` always, :meth:`for_loss` where it has a loss model.

    name: how plans name the law; has_loss_model: whether :meth:`for_loss` can answer.
    """

    name: str = "law"
    has_loss_model: bool = False

    def for_flops(self, flops: ArrayLike) -> Plan:
        """The optimal run for a training budget ``flops`` [FLOP]."""
        raise NotImplementedError

    def for_loss(self, loss: ArrayLike, inference_tokens: ArrayLike = 0.0) -> Plan:
        """The cheapest run whose predicted loss is ``loss`` [nats/token], serving
        ``inference_tokens`` tokens over its life."""
        raise ValueError(f"{self.name}: a power law N_opt = k C^a has no loss model, so it cannot plan "
                         "for a target loss; use an approach 3 fit or a named law")


@dataclass(frozen=True)
class ChinchillaPlanningLaw(PlanningLaw):
    """A Chinchilla-form law (Hoffmann et al. 2022, Eq. 2), optionally with bootstrap draws.

    law: the point estimate. draws: ``{E, A, B, alpha, beta}`` arrays of equal length, one entry per
    bootstrap refit that did not fail (from ``fit --bootstrap B --json``); n_failed: refits that
    failed, counted at the domain edges of the intervals. name: how plans name it.
    """

    law: ChinchillaLaw
    draws: Mapping[str, NDArray[np.float64]] | None = field(default=None, repr=False)
    n_failed: int = 0
    name: str = ""
    has_loss_model: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.law, ChinchillaLaw):
            raise ValueError(f"law: expected a ChinchillaLaw, got {type(self.law).__name__}")
        if not self.name:
            object.__setattr__(self, "name", self.law.name)
        if self.draws is not None:
            object.__setattr__(self, "draws", _check_draws(self.draws, self.name))
        if isinstance(self.n_failed, bool) or not isinstance(self.n_failed, (int, np.integer)) or self.n_failed < 0:
            raise ValueError(f"n_failed = {self.n_failed!r} must be a non-negative integer")

    def _draw_constants(self, ndim: int) -> dict[str, NDArray[np.float64]]:
        assert self.draws is not None
        return {k: np.asarray(v, dtype=float).reshape((-1,) + (1,) * ndim) for k, v in self.draws.items()}

    def _n_draws(self) -> int:
        return 0 if self.draws is None else int(np.asarray(self.draws["E"]).size)

    def for_flops(self, flops: ArrayLike) -> Plan:
        """Hoffmann et al. 2022, Eq. 4 at ``flops`` [FLOP]; with draws, intervals of params, tokens,
        tokens_per_param and loss from the same closed form at each draw."""
        c = positive_array("flops", flops)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            alloc = compute_optimal_allocation(self.law, c)
        ci = None
        if self.draws is not None:
            k = self._draw_constants(c.ndim)
            with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
                a, b = k["beta"] / (k["alpha"] + k["beta"]), k["alpha"] / (k["alpha"] + k["beta"])
                g = (k["alpha"] * k["A"] / (k["beta"] * k["B"])) ** (1.0 / (k["alpha"] + k["beta"]))
                n = g * (c / 6.0) ** a
                d = (c / 6.0) ** b / g
                lo = k["E"] + k["A"] * n ** -k["alpha"] + k["B"] * d ** -k["beta"]
            ci = {"params": _interval(n, self.n_failed), "tokens": _interval(d, self.n_failed),
                  "tokens_per_param": _interval(d / n, self.n_failed), "loss": _interval(lo, self.n_failed)}
        return Plan(flops=_out(c), params=_out(alloc.params), tokens=_out(alloc.tokens),
                    tokens_per_param=_out(alloc.tokens_per_param), loss=_out(alloc.loss), law=self.name,
                    ci95=ci, ci95_draws=self._n_draws() if ci else None)

    def for_loss(self, loss: ArrayLike, inference_tokens: ArrayLike = 0.0) -> Plan:
        """Sardana et al. 2024's optimum (:func:`~smallest_loss.laws.inference.inference_optimal`):
        least ``6ND + 2NT`` at predicted loss ``loss``. With draws, intervals of params, tokens,
        tokens_per_param, training flops and total flops; a draw whose ``E`` is at or above the
        target cannot reach it and counts as infinite."""
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            res = inference_optimal(self.law, loss, inference_tokens)
        ci = None
        if self.draws is not None:
            s_all = np.asarray(res.loss, dtype=float)
            t = np.asarray(res.inference_tokens, dtype=float)
            k = self._draw_constants(s_all.ndim)
            with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
                s = s_all - k["E"]
                feasible = s > 0
                s_safe = np.where(feasible, s, 1.0)
                v = _solve_data_share(k["A"], k["B"], k["alpha"], k["beta"], s_safe, t)
                n = np.where(feasible, (k["A"] / ((1.0 - v) * s_safe)) ** (1.0 / k["alpha"]), np.inf)
                d = np.where(feasible, (k["B"] / (v * s_safe)) ** (1.0 / k["beta"]), np.inf)
                train = 6.0 * n * d
                total = train + 2.0 * n * t
                tpp = np.where(feasible, d / n, np.nan)
            ci = {"params": _interval(n, self.n_failed), "tokens": _interval(d, self.n_failed),
                  "training_flops": _interval(train, self.n_failed),
                  "total_flops": _interval(total, self.n_failed)}
            if np.all(feasible):
                ci["tokens_per_param"] = _interval(tpp, self.n_failed)
        return Plan(flops=_out(res.training_flops), params=_out(res.params), tokens=_out(res.tokens),
                    tokens_per_param=_out(res.tokens_per_param), loss=_out(res.loss), law=self.name,
                    ci95=ci, ci95_draws=self._n_draws() if ci else None,
                    inference_tokens=_out(res.inference_tokens), training_flops=_out(res.training_flops),
                    inference_flops=_out(res.inference_flops), total_flops=_out(res.total_flops))


@dataclass(frozen=True)
class KaplanPlanningLaw(PlanningLaw):
    """Kaplan et al. 2020's compute-efficient frontier (Eq. 6.1) with its loss ``L(C_min)`` (Eq. 1.3).

    Training at the critical batch size spends ``C = 2 C_min`` (Eq. 5.5), so a budget C is planned at
    ``C_min = C/2``. Parameters are non-embedding; losses are on WebText2 and not comparable with
    Chinchilla-form losses.
    """

    name: str = "kaplan2020"
    has_loss_model: bool = True

    NOTE = ("Kaplan et al. 2020 frontier (Eq. 6.1) at C_min = C/2: non-embedding parameters; "
            "loss from Eq. 1.3 on WebText2, not comparable with Chinchilla losses")

    def for_flops(self, flops: ArrayLike) -> Plan:
        from ..laws import kaplan

        c = positive_array("flops", flops)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
            c_min = c / 2.0  # training at the critical batch size costs C = 2 C_min (Kaplan Eq. 5.5)
            params = kaplan.optimal_params(c_min)
            finite = np.isfinite(params) & (params > 0)
            tokens = np.where(finite, training_tokens(np.where(finite, params, 1.0), c), np.nan)
            loss = kaplan.loss_of_compute_min(c_min)
        return Plan(flops=_out(c), params=_out(params), tokens=_out(tokens),
                    tokens_per_param=_out(tokens / params), loss=_out(loss), law=self.name, note=self.NOTE)

    def for_loss(self, loss: ArrayLike, inference_tokens: ArrayLike = 0.0) -> Plan:
        """The frontier budget whose ``L(C_min)`` is ``loss``: ``C_min = C_c^min L^(-1/alpha_C^min)``
        (Kaplan et al. 2020, Eq. 1.3 solved for C_min), planned at ``C = 2 C_min``. Inference-aware
        planning needs a joint law L(N, D): ``inference_tokens`` must be 0."""
        from ..costs import PF_DAY
        from ..laws.kaplan import KAPLAN2020

        t = np.asarray(inference_tokens, dtype=float)
        if np.any(t != 0):
            raise ValueError("kaplan2020: inference-aware planning needs a Chinchilla-form law L(N, D); "
                             "give inference_tokens = 0 or another law")
        lo = positive_array("loss", loss)
        with np.errstate(over="ignore", divide="ignore"):
            c_min = KAPLAN2020.C_c_min_pf_days * PF_DAY * lo ** (-1.0 / KAPLAN2020.alpha_C_min)
        plan = self.for_flops(2.0 * c_min)
        return replace(plan, loss=_out(lo), inference_tokens=0.0, training_flops=plan.flops,
                       inference_flops=0.0, total_flops=plan.flops)


@dataclass(frozen=True)
class PowerLawPlanningLaw(PlanningLaw):
    """``N_opt = k_params C^a`` from an Approach 1 or 2 fit (Hoffmann et al. 2022, Sec. 3.1-3.2), with
    ``D = C / (6 N)``. No loss model. a: exponent; k_params [parameters per FLOP^a]."""

    a: float
    k_params: float
    approach: str = "1/2"
    name: str = "power law"
    has_loss_model: bool = False

    def for_flops(self, flops: ArrayLike) -> Plan:
        c = positive_array("flops", flops)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
            params = self.k_params * c ** self.a
            finite = np.isfinite(params) & (params > 0)
            tokens = np.where(finite, training_tokens(np.where(finite, params, 1.0), c), np.nan)
        return Plan(flops=_out(c), params=_out(params), tokens=_out(tokens),
                    tokens_per_param=_out(tokens / params), loss=None, law=self.name,
                    note=f"power law N_opt = k C^a from an approach {self.approach} fit: no loss model")


# --- loading a law ----------------------------------------------------------------------------------

def _number(source: str, data: Mapping[str, Any], key: str, positive: bool = True) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{source}: '{key}' = {str(value)[:40]!r} is not a number")
    try:
        value = float(value)
    except OverflowError:  # a JSON integer too large for a float
        raise ValueError(f"{source}: '{key}' is too large for a float") from None
    if not math.isfinite(value) or (positive and value <= 0):
        raise ValueError(f"{source}: '{key}' = {value!r} is not a finite positive number")
    return value


def _check_draws(draws: Mapping[str, Any], source: str) -> dict[str, NDArray[np.float64]]:
    if not isinstance(draws, Mapping) or any(k not in draws for k in CONSTANTS):
        raise ValueError(f"{source}: bootstrap draws need arrays E, A, B, alpha, beta")
    out = {}
    for k in CONSTANTS:
        values = draws[k]
        if not isinstance(values, (list, tuple, np.ndarray)) or any(
                isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating))
                for v in np.ravel(np.asarray(values, dtype=object))):
            raise ValueError(f"{source}: bootstrap draws of '{k}' must be a list of numbers")
        try:
            arr = np.asarray(values, dtype=float).ravel()
        except OverflowError:
            raise ValueError(f"{source}: a bootstrap draw of '{k}' is too large for a float") from None
        bad = ~np.isfinite(arr) | (arr < 0 if k == "E" else arr <= 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{source}: bootstrap draw {i} of '{k}' = {float(arr[i])!r} is not a finite "
                             f"{'non-negative' if k == 'E' else 'positive'} number")
        out[k] = arr
    sizes = {v.size for v in out.values()}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(f"{source}: bootstrap draws of E, A, B, alpha, beta must be non-empty and of equal length")
    return out


def _read_json(path: Path) -> dict[str, Any]:
    from ..cli.io import read_text  # one reader of user files: size, encoding and binary checks

    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise ValueError(f"{path}: not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object written by 'smallest-loss fit --json'")
    return data


def _law_from_mapping(data: Mapping[str, Any], source: str) -> PlanningLaw:
    if data.get("identified") is False:
        raise ValueError(f"{source}: the fit is not identified ({str(data.get('identification', ''))[:200]}); "
                         "it does not single out one law to plan with")
    if all(k in data for k in CONSTANTS):
        values = {k: _number(source, data, k) for k in CONSTANTS}
        try:
            law = ChinchillaLaw(**values, name=source)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{source}: {exc}") from None
        boot = data.get("bootstrap")
        draws, n_failed = None, 0
        if isinstance(boot, Mapping) and "draws" in boot:
            draws = _check_draws(boot["draws"], source)
            n_failed = boot.get("n_failed", 0)
            if isinstance(n_failed, bool) or not isinstance(n_failed, int) or n_failed < 0:
                raise ValueError(f"{source}: bootstrap 'n_failed' = {str(n_failed)[:40]!r} is not a "
                                 "non-negative integer")
        return ChinchillaPlanningLaw(law=law, draws=draws, n_failed=n_failed, name=source)
    if all(k in data for k in ("a", "k_params")):
        a, k = _number(source, data, "a", positive=False), _number(source, data, "k_params")
        return PowerLawPlanningLaw(a=a, k_params=k, approach=str(data.get("approach", "1/2")), name=source)
    raise ValueError(f"{source}: needs E, A, B, alpha, beta (an approach 3 fit) or a, k_params (approach 1/2)")


def load_law(spec: str | Path | Mapping[str, Any] | ChinchillaLaw | PlanningLaw) -> PlanningLaw:
    """A :class:`PlanningLaw` from a name in :data:`LAW_NAMES`, the path of a JSON file written by
    ``smallest-loss fit --json`` (with ``--bootstrap``: its draws), the same content as a dict, a
    :class:`~smallest_loss.laws.chinchilla.ChinchillaLaw`, or a PlanningLaw (returned as is).

    A fit whose ``identified`` is false is refused: it does not single out one law. ``ValueError``
    (one line, naming the file and key) for an unknown name or a malformed file.
    """
    if isinstance(spec, PlanningLaw):
        return spec
    if isinstance(spec, ChinchillaLaw):
        return ChinchillaPlanningLaw(law=spec)
    if isinstance(spec, Mapping):
        return _law_from_mapping(spec, str(spec.get("name", "custom")))
    if isinstance(spec, str) and spec == "kaplan2020":
        return KaplanPlanningLaw()
    if isinstance(spec, str) and spec in LAWS:
        return ChinchillaPlanningLaw(law=LAWS[spec])
    if not isinstance(spec, (str, Path)):
        raise ValueError(f"law: expected a name, a path, a dict or a ChinchillaLaw, got {type(spec).__name__}")
    path = Path(spec)
    if not path.exists():
        raise ValueError(f"unknown law {str(spec)!r}: give one of {', '.join(LAW_NAMES)} or a JSON file "
                         "from 'fit --json'")
    return _law_from_mapping(_read_json(path), str(spec))


# --- the four planning functions --------------------------------------------------------------------

def plan_for_flops(law: Any, flops: ArrayLike) -> Plan:
    """The optimal run for a training budget ``flops`` [FLOP] under ``law`` (anything
    :func:`load_law` accepts): params, tokens, tokens per parameter and loss; ``ci95`` with draws."""
    return load_law(law).for_flops(flops)


def plan_for_loss(law: Any, loss: ArrayLike, inference_tokens: ArrayLike = 0.0) -> Plan:
    """The cheapest run reaching ``loss`` [nats/token] while serving ``inference_tokens`` [tokens]:
    least training plus inference compute ``6ND + 2NT`` (Sardana et al. 2024); with
    ``inference_tokens = 0`` the compute-optimal model for that loss. ``ValueError`` for a law
    without a loss model or a loss at or below its ``E``."""
    return load_law(law).for_loss(loss, inference_tokens)


def _fraction(name: str, value: ArrayLike, low_open: bool = True) -> NDArray[np.float64]:
    arr = np.asarray(value, dtype=float) if not isinstance(value, str) else None
    if arr is None:
        raise ValueError(f"{name}: not numeric ({value!r})")
    flat = np.ravel(arr)
    bad = ~np.isfinite(flat) | (flat <= 0 if low_open else flat < 0) | (flat > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = f"[{i}]" if arr.ndim else ""
        raise ValueError(f"{name}{where} = {float(flat[i])!r} is outside (0, 1]; give a fraction such as 0.4")
    return arr


def plan_for_dollars(
    law: Any,
    dollars: ArrayLike,
    price_per_gpu_hour: ArrayLike,
    peak_flops_per_s: ArrayLike,
    mfu: ArrayLike,
    spot_discount: ArrayLike = 0.0,
    preemptions_per_hour: ArrayLike = 0.0,
    checkpoint_hours: ArrayLike = DEFAULT_CHECKPOINT_HOURS,
    restart_hours: ArrayLike = DEFAULT_RESTART_HOURS,
) -> Plan:
    """The optimal run that ``dollars`` [USD] buy.

    Useful GPU-hours = dollars / (price_per_gpu_hour x f), where f = 1 on demand and, with a spot
    discount or preemptions, f = :func:`smallest_loss.costs.spot.spot_cost_factor` (expected spot
    dollars per useful GPU-hour relative to on-demand, at the optimal checkpoint interval); then
    C = GPU-hours x 3600 s/h x peak_flops_per_s [FLOP/s per GPU] x mfu
    (:func:`smallest_loss.costs.compute.flops_from_gpu_hours`) and the plan for C. mfu: model FLOPs
    utilization in (0, 1]. spot_discount in [0, 1); preemptions_per_hour >= 0; checkpoint_hours,
    restart_hours [hours] (defaults are stated assumptions, ``DEFAULT_CHECKPOINT_HOURS``,
    ``DEFAULT_RESTART_HOURS``).
    """
    from ..costs import flops_from_gpu_hours

    usd = positive_array("dollars", dollars)
    price = positive_array("price_per_gpu_hour", price_per_gpu_hour)
    peak = positive_array("peak_flops_per_s", peak_flops_per_s)
    u = _fraction("mfu", mfu)
    on_demand = np.all(np.asarray(spot_discount, dtype=float) == 0) and np.all(
        np.asarray(preemptions_per_hour, dtype=float) == 0)
    factor = None
    if not on_demand:
        from ..costs.spot import spot_cost_factor

        factor = np.asarray(spot_cost_factor(spot_discount, preemptions_per_hour, checkpoint_hours,
                                             restart_hours), dtype=float)
    gpu_hours = usd / (price * (1.0 if factor is None else factor))
    flops = flops_from_gpu_hours(gpu_hours, peak, u)
    plan = load_law(law).for_flops(flops)
    return replace(plan, dollars=_out(usd), price_per_gpu_hour=_out(price), peak_flops_per_s=_out(peak),
                   mfu=_out(u), spot_cost_factor=None if factor is None else _out(factor),
                   gpu_hours=_out(gpu_hours))


CHIP_DTYPES = {"fp64": "fp64_flops", "fp32": "fp32_flops", "tf32": "tf32_flops", "bf16": "bf16_flops",
               "fp16": "bf16_flops", "fp8": "fp8_flops", "int8": "int8_ops"}
"""Data types :func:`gpu_peak_flops` knows, and the column of the chip table each reads (the table
lists tensor FP16 and BF16 together)."""


def gpu_peak_flops(name: str, dtype: str = "bf16") -> float:
    """Dense peak throughput [FLOP/s] of accelerator ``name`` for ``dtype`` (one of
    ``CHIP_DTYPES``), from Epoch AI's chip table (:func:`smallest_loss.datasets.epoch_costs.load_chip_table`).

    ``name`` is matched without regard to case or surrounding spaces. ``ValueError`` for an
    unknown name (listing the closest names in the table), an unknown dtype, or a chip the table
    gives no peak for in that dtype.
    """
    from ..datasets.epoch_costs import load_chip_table

    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"gpu: expected an accelerator name such as 'NVIDIA H100 SXM5 80GB', got {name!r}")
    column = CHIP_DTYPES.get(str(dtype).lower())
    if column is None:
        raise ValueError(f"dtype = {dtype!r} is not one of {', '.join(CHIP_DTYPES)}")
    table = load_chip_table()
    key = " ".join(name.split()).casefold()
    folded = table["chip"].str.casefold()
    hit = table[folded == key]
    if hit.empty:
        names = table["chip"].tolist()
        by_fold = {n.casefold(): n for n in names}
        close = difflib.get_close_matches(key, list(by_fold), n=5, cutoff=0.5)
        contains = [n for n in names if key in n.casefold()][:5]
        suggestions = list(dict.fromkeys([by_fold[c] for c in close] + contains))[:5]
        hint = f"; close matches: {', '.join(suggestions)}" if suggestions else ""
        raise ValueError(f"unknown GPU {name!r}: not in Epoch AI's chip table{hint}")
    value = float(hit.iloc[0][column])
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"GPU {hit.iloc[0]['chip']!r}: the chip table gives no {dtype} peak; "
                         "give --peak-flops or another dtype")
    return value
