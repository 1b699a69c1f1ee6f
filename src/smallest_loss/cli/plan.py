"""``smallest-loss plan``: compute-optimal parameters and tokens for a budget, from a named law or a
``fit --json`` file."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..counting import training_tokens
from ..laws import LAWS, ChinchillaLaw, compute_optimal_allocation
from .io import InputError, read_text

__all__ = ["plan", "format_plan", "LAW_NAMES"]

LAW_NAMES = (*LAWS.keys(), "kaplan2020")


def _law_from_json(path: Path) -> dict[str, Any]:
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise InputError(f"{path}: not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object written by 'smallest-loss fit --json'")
    return data


def _number(path: Path, data: dict[str, Any], key: str, positive: bool = True) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{path}: '{key}' = {str(value)[:40]!r} is not a number")
    try:
        value = float(value)
    except OverflowError:  # a JSON integer too large for a float
        raise InputError(f"{path}: '{key}' is too large for a float") from None
    if not math.isfinite(value) or (positive and value <= 0):
        raise InputError(f"{path}: '{key}' = {value!r} is not a finite positive number")
    return value


def _finite_plan(out: dict[str, Any]) -> dict[str, Any]:
    for k in ("params", "tokens", "tokens_per_param", "loss"):
        v = out.get(k)
        if v is not None and not (math.isfinite(v) and v > 0):
            raise InputError(f"flops = {out['flops']:.4g}: the compute-optimal {k} is {v!r}, out of the "
                             "floating-point range; give a budget the law can be evaluated at")
    return out


def plan(flops: float, law: str) -> dict[str, Any]:
    """Compute-optimal parameters, tokens, tokens per parameter and loss for a budget [FLOP].

    ``law``: a name in :data:`LAW_NAMES` or the path of a JSON file written by ``fit --json``. A fit
    whose ``identified`` is false is refused: it does not single out one law to plan with.
    """
    out: dict[str, Any] = {"flops": flops, "law": law}
    with np.errstate(all="ignore"):
        return _finite_plan(_plan(flops, law, out))


def _plan(flops: float, law: str, out: dict[str, Any]) -> dict[str, Any]:
    if law == "kaplan2020":
        from ..laws import kaplan

        c_min = flops / 2.0  # training at the critical batch size costs C = 2 C_min (Kaplan Eq. 5.5)
        params = float(kaplan.optimal_params(c_min)[()])
        tokens = float(training_tokens(params, flops))
        out.update(params=params, tokens=tokens, tokens_per_param=tokens / params,
                   loss=float(kaplan.loss_of_compute_min(c_min)[()]),
                   note=("Kaplan et al. 2020 frontier (Eq. 6.1) at C_min = C/2: non-embedding parameters; "
                         "loss from Eq. 1.3 on WebText2, not comparable with Chinchilla losses"))
        return out
    if law in LAWS:
        chosen: ChinchillaLaw = LAWS[law]
    else:
        path = Path(law)
        if not path.exists():
            raise InputError(f"unknown law {law!r}: give one of {', '.join(LAW_NAMES)} or a JSON file from 'fit --json'")
        data = _law_from_json(path)
        if data.get("identified") is False:
            raise InputError(f"{path}: the fit is not identified ({str(data.get('identification', ''))[:200]}); "
                             "it does not single out one law to plan with")
        if all(k in data for k in ("E", "A", "B", "alpha", "beta")):
            values = {k: _number(path, data, k) for k in ("E", "A", "B", "alpha", "beta")}
            try:
                chosen = ChinchillaLaw(**values, name=str(path))
            except (TypeError, ValueError) as exc:
                raise InputError(f"{path}: {exc}") from None
        elif all(k in data for k in ("a", "k_params")):
            a, k = _number(path, data, "a", positive=False), _number(path, data, "k_params")
            params = k * flops**a
            tokens = float(training_tokens(params, flops)) if math.isfinite(params) and params > 0 else math.nan
            out.update(params=params, tokens=tokens, tokens_per_param=tokens / params, loss=None,
                       note=f"power law N_opt = k C^a from an approach {data.get('approach', '1/2')} fit: no loss model")
            return out
        else:
            raise InputError(
                f"{path}: needs E, A, B, alpha, beta (an approach 3 fit) or a, k_params (approach 1/2)"
            )
    alloc = compute_optimal_allocation(chosen, flops)
    out.update(params=float(alloc.params), tokens=float(alloc.tokens),
               tokens_per_param=float(alloc.tokens_per_param), loss=float(alloc.loss))
    return out


def format_plan(p: dict[str, Any]) -> str:
    """Plain-text report of :func:`plan`'s result."""
    lines = [f"Compute-optimal run for C = {p['flops']:.4g} FLOP ({p['law']})",
             f"  parameters        {p['params']:.4g}",
             f"  tokens            {p['tokens']:.4g}",
             f"  tokens/parameter  {p['tokens_per_param']:.2f}",
             f"  loss              {'—' if p['loss'] is None else format(p['loss'], '.4f')} nats/token"]
    if "note" in p:
        lines.append(f"  note: {p['note']}")
    return "\n".join(lines)
