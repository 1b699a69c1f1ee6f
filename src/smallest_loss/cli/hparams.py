"""``smallest-loss hparams RUNS.csv [--bootstrap B] [--seed S] [--json]``: fit one's own
learning-rate (and batch) sweep.

Per (params, tokens) cell, the loss-minimising learning rate (and batch, when a ``batch`` column is
given) is estimated by the local parabola of :mod:`smallest_loss.fit.hparams`: the best swept value
and its two neighbours, vertex kept between the neighbours, never outside the sweep; a cell whose
best value is on the edge of its sweep is flagged. Then ``lr* = k N^p D^q`` (and ``batch*``) is
fitted by least squares in logarithms across cells.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import numpy as np

from ..fit.hparams import fit_hparams
from .args import bootstrap_count, seed
from .fit import _plain
from .io import InputError, _parse_csv, _value, read_text

__all__ = ["add_parser", "run", "read_sweep", "fit_sweep", "format_sweep", "HPARAM_ALIASES", "MAX_BOOTSTRAP"]

HPARAM_ALIASES = {
    "N": "params", "D": "tokens", "L": "loss",
    "learning_rate": "lr", "eta": "lr",
    "batch_size": "batch", "batch_tokens": "batch",
}
"""Other names accepted for the columns (``batch`` is in tokens per optimizer step)."""

MAX_BOOTSTRAP = 10_000
MAX_BOOTSTRAP_RUNS = 20_000_000  # resamples x runs

_EPILOG = """\
The CSV has one row per run with columns params (alias N; model parameters), tokens (alias D;
training tokens), lr (aliases learning_rate, eta; peak learning rate), loss (alias L; final
loss) and optionally batch (aliases batch_size, batch_tokens; tokens per optimizer step). Runs
with the same params and tokens form a cell; at least 3 cells are needed, varying params and
tokens independently, and some cell must sweep at least 3 learning rates (and batches).

Estimator: in each cell, the loss at each swept learning rate is the best over batches; the best
learning rate and its two neighbours determine a parabola in ln(lr), whose vertex (kept between
the neighbours) is the optimum. Nothing is extrapolated: a cell whose best learning rate is the
smallest or largest swept is reported at that value and flagged "edge" (its optimum may lie
outside the sweep). The batch optimum is found the same way over batches.

With --bootstrap B: runs are resampled within each cell B times and everything is refitted;
--json then adds se and ci95 (95% percentile intervals) for the exponents."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "hparams", help="optimal learning rate (and batch) per cell of a sweep, and their power laws",
        description="Fit the optimal learning rate (and batch size) of a hyperparameter sweep: per "
                    "(params, tokens) cell, then lr* = k N^p D^q across cells.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", help="CSV file with columns params, tokens, lr, loss and optional batch")
    p.add_argument("--bootstrap", type=bootstrap_count(MAX_BOOTSTRAP), default=None, metavar="B",
                   help=f"resamples for standard errors and 95%% intervals (2 to {MAX_BOOTSTRAP})")
    p.add_argument("--seed", type=seed, default=0, help="seed of the bootstrap (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def read_sweep(path: str) -> dict[str, np.ndarray]:
    """The columns params, tokens, lr, loss (and batch) of a sweep CSV as arrays, or InputError."""
    source = str(path)
    header, rows, lines = _parse_csv(read_text(path), source)
    names = [HPARAM_ALIASES.get(c, c) for c in header]
    seen: dict[str, str] = {}
    for raw, name in zip(header, names):
        if name in seen:
            raise InputError(f"{source}: columns '{seen[name]}' and '{raw}' both give {name}; keep one")
        seen[name] = raw
    required = ["params", "tokens", "lr", "loss"]
    missing = [c for c in required if c not in names]
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(repr(m) for m in missing)} "
                         f"(columns found: {', '.join(header)})")
    if not rows:
        raise InputError(f"{source}: no data rows")
    wanted = required + (["batch"] if "batch" in names else [])
    out = {}
    for c in wanted:
        j = names.index(c)
        out[c] = np.array([_value(r[j], header[j], i + 1, ln, source)
                           for i, (r, ln) in enumerate(zip(rows, lines))])
    return out


def fit_sweep(data: dict[str, np.ndarray], bootstrap: int | None = None, seed: int = 0) -> dict[str, Any]:
    """The JSON-ready result of fitting ``data`` (see :func:`read_sweep`)."""
    n_runs = len(data["loss"])
    if bootstrap is not None and bootstrap * n_runs > MAX_BOOTSTRAP_RUNS:
        most = max(MAX_BOOTSTRAP_RUNS // n_runs, 2)
        raise InputError(f"--bootstrap {bootstrap} with {n_runs} runs is too much work; use at most {most}")
    fit = fit_hparams(data["params"], data["tokens"], data["lr"], data["loss"], data.get("batch"),
                      estimator="local", bootstrap=bootstrap, seed=seed)
    if bootstrap is not None and len(fit.lr_bootstrap) < 2:
        raise InputError(f"only {len(fit.lr_bootstrap)} of {bootstrap} resamples could be fitted; "
                         "the cells are too few or too sparse for a bootstrap")

    def law(pl, which):
        if pl is None:
            return None
        out = {"coef": pl.coef, "params_exponent": pl.params_exponent, "tokens_exponent": pl.tokens_exponent}
        if bootstrap is not None:
            out["se"] = fit.se(which)
            out["ci95"] = {k: list(v) for k, v in fit.interval(which).items()}
        return out

    cols = ["params", "tokens", "lr", "lr_edge", "n_lr"]
    if "batch" in data:
        cols += ["batch", "batch_edge", "n_batch"]
    cols += ["n_runs", "best_loss"]
    cells = [{c: _plain(v) for c, v in zip(cols, row)} for row in fit.cells[cols].itertuples(index=False)]
    result: dict[str, Any] = {
        "lr": law(fit.lr, "lr"),
        "batch": law(fit.batch, "batch"),
        "cells": cells,
        "n_runs": n_runs,
        "estimator": "local parabola in ln(lr) (ln(batch)) through the best swept value and its neighbours",
    }
    if bootstrap is not None:
        result["bootstrap"] = {"n": bootstrap, "n_failed": fit.n_failed, "seed": seed}
    return _finite(result)


def _finite(obj):
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return _plain(obj)


def _g(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.4g}"


def format_sweep(result: dict[str, Any]) -> str:
    lines = [f"{result['n_runs']} runs in {len(result['cells'])} cells (estimator: {result['estimator']})"]
    for key, name in (("lr", "learning rate"), ("batch", "batch [tokens]")):
        law = result[key]
        if law is None:
            continue
        lines.append(f"optimal {name} = {_g(law['coef'])} * N^{_g(law['params_exponent'])} "
                     f"* D^{_g(law['tokens_exponent'])}")
        if "ci95" in law:
            for e in ("params_exponent", "tokens_exponent"):
                lo, hi = law["ci95"][e]
                lines.append(f"  {e}: se {_g(law['se'][e])}, 95% interval {_g(lo)} to {_g(hi)}")
    lines.append("cells (params, tokens: optimum; * = on the edge of the sweep):")
    for c in result["cells"]:
        text = f"  {_g(c['params'])}, {_g(c['tokens'])}: lr {_g(c['lr'])}{'*' if c['lr_edge'] else ''}"
        if "batch" in c:
            text += f", batch {_g(c['batch'])}{'*' if c['batch_edge'] else ''}"
        lines.append(text)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> str:
    """The command's complete output; ValueError (one line) for bad input."""
    result = fit_sweep(read_sweep(args.runs), args.bootstrap, args.seed)
    return json.dumps(result, indent=2, allow_nan=False) if args.json else format_sweep(result)
