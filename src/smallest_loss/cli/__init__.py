"""``smallest-loss``: fit scaling laws to your own training runs, and plan a run for a budget.

    smallest-loss fit RUNS.csv --approach {1,2,3} [--bootstrap B] [--seed S] [--json]
    smallest-loss plan --flops C [--law NAME|FIT.json] [--json]

Bad input ends the program with exit status 2 and one line on standard error naming the problem;
nothing is written to standard output in that case.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import __version__
from ..counting import training_flops, training_tokens
from ..laws import LAWS, ChinchillaLaw, compute_optimal_allocation

__all__ = ["main", "read_runs", "InputError"]

ALIASES = {"N": "params", "D": "tokens", "C": "flops", "L": "loss"}
LAW_NAMES = (*LAWS.keys(), "kaplan2020")
CONSTANTS = ("E", "A", "B", "alpha", "beta", "a", "b")


class InputError(ValueError):
    """A problem with the user's input, reported in one line (exit status 2)."""


# --- reading runs ---------------------------------------------------------------------------------


def _numeric_column(df: pd.DataFrame, name: str, source: str) -> np.ndarray:
    """Column ``name`` as floats; every value finite and > 0, else InputError naming the row."""
    raw = df[name]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    for i, (text, value) in enumerate(zip(raw, values)):
        row = i + 1  # data rows counted from 1; the file line is row + 1 (header on line 1)
        if isinstance(text, str) and text.strip() == "" or (text is None) or (
            isinstance(text, float) and math.isnan(text)
        ):
            raise InputError(f"{source}: column '{name}', row {row} (line {row + 1}): value is missing")
        if math.isnan(value) and str(text).strip().lower() not in {"nan", "+nan", "-nan"}:
            raise InputError(f"{source}: column '{name}', row {row} (line {row + 1}): {text!r} is not numeric")
        if math.isnan(value):
            raise InputError(f"{source}: column '{name}', row {row} (line {row + 1}): value is NaN")
        if not math.isfinite(value) or value <= 0:
            raise InputError(
                f"{source}: column '{name}', row {row} (line {row + 1}): {text!r} is not a finite positive number"
            )
    return values


def read_runs(path: str | Path, *, need_run: bool = False) -> pd.DataFrame:
    """Read a runs CSV into a DataFrame with ``params, tokens, flops, loss`` (+ ``budget``, ``run``).

    Columns ``params``, ``tokens``, ``flops`` (aliases ``N``, ``D``, ``C``) — any two of the three,
    the third from ``C = 6 N D`` — and ``loss`` (alias ``L``) [nats/token]. Optional ``budget``
    (groups runs into isoFLOP budgets) and ``run`` (names each training curve; required when
    ``need_run``). Raises :class:`InputError` with a one-line message for every problem.
    """
    source = str(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{source}: not a readable CSV file ({first})") from None
    df.columns = [str(c).strip() for c in df.columns]
    renamed = {c: ALIASES.get(c, c) for c in df.columns}
    for alias, canonical in ALIASES.items():
        if alias in df.columns and canonical in df.columns:
            raise InputError(f"{source}: columns '{alias}' and '{canonical}' both given; keep one")
    df = df.rename(columns=renamed)
    if "loss" not in df.columns:
        raise InputError(f"{source}: missing column 'loss' (columns found: {', '.join(df.columns) or 'none'})")
    present = [c for c in ("params", "tokens", "flops") if c in df.columns]
    if len(present) < 2:
        missing = [c for c in ("params", "tokens", "flops") if c not in df.columns]
        raise InputError(
            f"{source}: need two of the columns params, tokens, flops (or N, D, C); missing {', '.join(missing)}"
        )
    if need_run and "run" not in df.columns:
        raise InputError(f"{source}: missing column 'run' (approach 1 needs one id per training curve)")
    if len(df) == 0:
        raise InputError(f"{source}: no data rows")
    out = pd.DataFrame(index=df.index)
    for c in present + ["loss"]:
        out[c] = _numeric_column(df, c, source)
    if "params" not in out:
        out["params"] = out["flops"] / (6.0 * out["tokens"])
    if "tokens" not in out:
        out["tokens"] = training_tokens(out["params"], out["flops"])
    if "flops" not in out:
        out["flops"] = training_flops(out["params"], out["tokens"])
    for extra in ("budget", "run"):
        if extra in df.columns:
            blank = df[extra].astype(str).str.strip() == ""
            if blank.any():
                row = int(np.flatnonzero(blank.to_numpy())[0]) + 1
                raise InputError(f"{source}: column '{extra}', row {row} (line {row + 1}): value is missing")
            out[extra] = df[extra].astype(str).str.strip()
    return out[[c for c in ("params", "tokens", "flops", "loss", "budget", "run") if c in out]]


# --- fitting --------------------------------------------------------------------------------------


def _budget_labels(runs: pd.DataFrame) -> np.ndarray | None:
    if "budget" not in runs:
        return None
    numeric = pd.to_numeric(runs["budget"], errors="coerce")
    return numeric.to_numpy(dtype=float) if numeric.notna().all() else runs["budget"].to_numpy()


def _plain(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    return [{c: _plain(v) for c, v in zip(columns, row)} for row in frame[list(columns)].itertuples(index=False)]


def fit_runs(runs: pd.DataFrame, approach: int, n_bootstrap: int | None, seed: int) -> dict[str, Any]:
    """Fit ``runs`` with Hoffmann et al.'s Approach 1, 2 or 3; return a JSON-ready dict."""
    result: dict[str, Any] = {"approach": approach, "n_points": int(len(runs))}
    if approach == 3:
        from ..fit.approach3 import bootstrap_approach3, fit_approach3

        if len(runs) < 5:
            raise InputError(f"approach 3 needs at least 5 runs, got {len(runs)}")
        fit = fit_approach3(runs.params, runs.tokens, runs.loss)
        result.update(fit.as_dict())
        result["objective"] = float(fit.objective)
        if n_bootstrap:
            boot = bootstrap_approach3(runs.params, runs.tokens, runs.loss, n_bootstrap=n_bootstrap,
                                       seed=seed, full_fit=fit)
            result["se"] = {k: _plain(v) for k, v in boot.se().items()}
            result["ci95"] = {k: [_plain(lo), _plain(hi)] for k, (lo, hi) in boot.ci(0.95).items()}
        order = ["E", "A", "B", "alpha", "beta", "a", "b", "objective", "n_points", "approach"]
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
            result["se"] = {k: _plain(v) for k, v in boot.se().items()}
            result["ci95"] = {k: [_plain(lo), _plain(hi)] for k, (lo, hi) in boot.ci(0.95).items()}
        order = ["a", "b", "k_params", "k_tokens", "n_budgets_used", "n_points", "approach", "optima"]
    else:
        from ..fit.approach1 import fit_approach1

        if n_bootstrap:
            raise InputError("--bootstrap is available for approaches 2 and 3")
        fit = fit_approach1(runs.run, runs.params, runs.tokens, runs.loss)
        result.update(a=fit.a, b=fit.b, k_params=fit.k_params, k_tokens=fit.k_tokens)
        env = fit.envelope[fit.envelope["used"]] if "used" in fit.envelope else fit.envelope
        result["optima"] = _records(env, ["flops", "params", "tokens", "loss", "run"])
        order = ["a", "b", "k_params", "k_tokens", "n_points", "approach", "optima"]
    ordered = {k: _plain(result[k]) if not isinstance(result[k], (list, dict)) else result[k]
               for k in order if k in result}
    for k in ("se", "ci95"):
        if k in result:
            ordered[k] = result[k]
    return ordered


def _format_fit(result: dict[str, Any]) -> str:
    lines = [f"Approach {result['approach']} fit to {result['n_points']} runs"]
    keys = [k for k in ("E", "A", "B", "alpha", "beta", "a", "b", "k_params", "k_tokens", "objective")
            if k in result]
    has_se = "se" in result
    header = f"  {'':<10}{'value':>14}" + (f"{'std. err.':>14}{'95% interval':>30}" if has_se else "")
    lines.append(header)
    for k in keys:
        line = f"  {k:<10}{result[k]:>14.6g}"
        if has_se and k in result["se"]:
            lo, hi = result["ci95"][k]
            line += f"{result['se'][k]:>14.4g}{f'[{lo:.4g}, {hi:.4g}]':>30}"
        lines.append(line)
    if result.get("optima") and result["approach"] == 2:
        lines.append("  per-budget optima:")
        lines.append(f"  {'flops':>12}{'runs':>6}{'N*':>12}{'D*':>12}{'loss*':>9}  used")
        for o in result["optima"]:
            lines.append(
                f"  {o['flops']:>12.4g}{o['n_points']:>6}{_g(o['params_opt'])}{_g(o['tokens_opt'])}"
                f"{_g(o['loss_opt'], 9, '.4f')}  {'yes' if o['used'] else 'no'}"
            )
    elif result.get("optima"):
        lines.append(f"  envelope: {len(result['optima'])} points")
    return "\n".join(lines)


def _g(value: Any, width: int = 12, spec: str = ".4g") -> str:
    return f"{'—':>{width}}" if value is None else f"{value:>{width}{spec}}"


# --- planning -------------------------------------------------------------------------------------


def _law_from_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object written by 'smallest-loss fit --json'")
    return data


def plan(flops: float, law: str) -> dict[str, Any]:
    """Compute-optimal parameters, tokens, tokens per parameter and loss for a budget [FLOP].

    ``law``: a name in :data:`LAW_NAMES` or the path of a JSON file written by ``fit --json``.
    """
    out: dict[str, Any] = {"flops": flops, "law": law}
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
        if not path.is_file():
            raise InputError(f"unknown law {law!r}: give one of {', '.join(LAW_NAMES)} or a JSON file from 'fit --json'")
        data = _law_from_json(path)
        if all(k in data for k in ("E", "A", "B", "alpha", "beta")):
            try:
                chosen = ChinchillaLaw(**{k: float(data[k]) for k in ("E", "A", "B", "alpha", "beta")},
                                       name=str(path))
            except (TypeError, ValueError) as exc:
                raise InputError(f"{path}: {exc}") from None
        elif all(k in data for k in ("a", "k_params")):
            try:
                a, k = float(data["a"]), float(data["k_params"])
            except (TypeError, ValueError):
                raise InputError(f"{path}: 'a' and 'k_params' must be numbers") from None
            params = k * flops**a
            tokens = float(training_tokens(params, flops))
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


def _format_plan(p: dict[str, Any]) -> str:
    lines = [f"Compute-optimal run for C = {p['flops']:.4g} FLOP ({p['law']})",
             f"  parameters        {p['params']:.4g}",
             f"  tokens            {p['tokens']:.4g}",
             f"  tokens/parameter  {p['tokens_per_param']:.2f}",
             f"  loss              {'—' if p['loss'] is None else format(p['loss'], '.4f')} nats/token"]
    if "note" in p:
        lines.append(f"  note: {p['note']}")
    return "\n".join(lines)


# --- command line ---------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit status 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite positive number")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="smallest-loss", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    fit = sub.add_parser("fit", help="fit a scaling law to training runs in a CSV file")
    fit.add_argument("runs", help="CSV with columns params, tokens, flops (two of them), loss; "
                                  "optional budget (approach 2) and run (approach 1)")
    fit.add_argument("--approach", type=int, choices=(1, 2, 3), required=True,
                     help="Hoffmann et al. 2022: 1 envelope of curves, 2 isoFLOP profiles, 3 parametric fit")
    fit.add_argument("--bootstrap", type=_positive_int, default=None, metavar="B",
                     help="resamples for standard errors and 95%% intervals")
    fit.add_argument("--seed", type=_int, default=0, help="seed of the bootstrap (default 0)")
    fit.add_argument("--json", action="store_true", help="print one JSON object")
    pl = sub.add_parser("plan", help="compute-optimal parameters and tokens for a budget")
    pl.add_argument("--flops", type=_positive_float, required=True, metavar="C", help="training budget [FLOP]")
    pl.add_argument("--law", default="hoffmann2022",
                    help=f"one of {', '.join(LAW_NAMES)}, or a JSON file written by 'fit --json'")
    pl.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "fit":
            runs = read_runs(args.runs, need_run=args.approach == 1)
            result = fit_runs(runs, args.approach, args.bootstrap, args.seed)
            text = json.dumps(result, indent=2) if args.json else _format_fit(result)
        else:
            result = plan(args.flops, args.law)
            text = json.dumps({k: _plain(v) for k, v in result.items()}, indent=2) if args.json else _format_plan(result)
    except ValueError as exc:  # InputError and the library's own validation errors
        message = " ".join(str(exc).split())
        print(f"smallest-loss: error: {message}", file=sys.stderr)
        return 2
    print(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
