"""smallest-loss: fit scaling laws to your own training runs, and plan a run for a budget.

    smallest-loss fit RUNS.csv --approach {1,2,3} [--bootstrap B] [--seed S] [--json]
    smallest-loss plan (--flops C | --dollars USD ... | --loss L) [--law NAME|FIT.json] [--json]

Every input ends either in a result (exit status 0, the result on standard output) or in exit
status 2 with one line on standard error naming the problem (file, column, row and line, value)
and nothing on standard output. An unexpected internal error -- a bug, not bad input -- prints one
line asking for a report and exits with status 70; set SMALLEST_LOSS_DEBUG=1 to see its traceback.

Modules: io (reading runs and law files), fit (the fit command), plan (the plan command).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import warnings
from typing import Sequence

from .. import __version__
from .args import bootstrap_count, seed
from .fit import MAX_BOOTSTRAP, _plain, fit_runs, format_fit
from .io import ALIASES, InputError, read_runs, read_text
from .plan import LAW_NAMES, format_plan, plan

__all__ = ["main", "read_runs", "read_text", "fit_runs", "plan", "InputError", "build_parser",
           "ALIASES", "LAW_NAMES", "EXIT_INPUT", "EXIT_INTERNAL"]

EXIT_INPUT = 2
"""Exit status for bad input (and bad arguments, as argparse uses)."""

EXIT_INTERNAL = 70
"""Exit status for an internal error (a bug): EX_SOFTWARE of BSD's sysexits.h."""

CONSTANTS = ("E", "A", "B", "alpha", "beta", "a", "b")

EXTRA_COMMANDS: tuple[str, ...] = (
    # Modules of this package that add a subcommand: each defines ``add_parser(subparsers)``, which
    # adds its parser, and ``run(args) -> str``, which returns the complete output or raises
    # ValueError (one line, exit 2). One line per command, in the book's order.
    # Part III
    "hparams",
    "memory",
    # Part V
    "study",
)

_DESCRIPTION = """\
Fit scaling laws to your own training runs (Hoffmann et al. 2022, Approaches 1-3), and plan a
compute-optimal run for a budget.

Bad input ends with exit status 2, one line on standard error and nothing on standard output."""

_FIT_EPILOG = """\
The CSV has one row per run: two of params, tokens, flops (aliases N, D, C; the third follows
from C = 6ND) and loss [nats/token]. Approach 2 groups runs by a budget column when there is one,
else by exact flops; approach 1 needs a run column naming each training curve (one row per
checkpoint).

Approach 3 also reports whether the data identify the law: the near-optimal ranges of E, A, B,
alpha, beta, a and b are the values whose objective lies within the 95% likelihood-ratio bound of
the best fit. When a constant is unbounded there, or a ranges over more than 0.1, the fit is "not
identified" and the ranges are printed instead of a single law (--json: identified,
identification, near_optimal_rtol, near_optimal_ranges; null marks an unbounded end).

With --bootstrap B: standard errors and 95% percentile intervals from B resamples of the runs
(--json: se, ci95, and bootstrap with n, n_failed, interval_determined and draws: for approach 3
the E, A, B, alpha, beta of each refit that did not fail, which plan carries through). Refits that diverge
are counted as failed, left out of the standard errors and placed at the edges of the domain in
the intervals; an interval end that they decide is reported as not determined (null)."""

class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit status 2
        self.exit(EXIT_INPUT, f"{self.prog}: error: {' '.join(message.split())}\n")


def _approach(text: str) -> int:
    if text.strip() not in ("1", "2", "3"):
        raise argparse.ArgumentTypeError(f"invalid choice: {text[:40]!r} (choose from 1, 2, 3)")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="smallest-loss", description=_DESCRIPTION,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    fit = sub.add_parser("fit", help="fit a scaling law to training runs in a CSV file",
                         description="Fit a scaling law to training runs in a CSV file.",
                         epilog=_FIT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    fit.add_argument("runs", help="CSV file with columns params, tokens, flops (two of them), loss; "
                                  "optional budget (approach 2) and run (approach 1)")
    fit.add_argument("--approach", type=_approach, required=True, metavar="{1,2,3}",
                     help="Hoffmann et al. 2022: 1 envelope of curves, 2 isoFLOP profiles, 3 parametric fit")
    fit.add_argument("--bootstrap", type=bootstrap_count(MAX_BOOTSTRAP), default=None, metavar="B",
                     help=f"resamples for standard errors and 95%% intervals (2 to {MAX_BOOTSTRAP}; "
                          "approaches 2 and 3)")
    fit.add_argument("--seed", type=seed, default=0, help="seed of the bootstrap (default 0)")
    fit.add_argument("--json", action="store_true", help="print one JSON object")
    from .plan import add_parser as add_plan_parser, run as run_plan
    add_plan_parser(sub).set_defaults(_run=run_plan)
    for name in EXTRA_COMMANDS:
        module = importlib.import_module(f".{name}", __name__)
        module.add_parser(sub).set_defaults(_run=module.run)
    return parser


def _error_line(message: str) -> str:
    return f"smallest-loss: error: {' '.join(str(message).split())}"


def _run(args: argparse.Namespace) -> str:
    if getattr(args, "_run", None) is not None:
        return args._run(args)
    if args.command == "fit":
        runs = read_runs(args.runs, need_run=args.approach == 1)
        result = fit_runs(runs, args.approach, args.bootstrap, args.seed)
        return json.dumps(result, indent=2, allow_nan=False) if args.json else format_fit(result)
    result = plan(args.flops, args.law)
    if args.json:
        return json.dumps({k: _plain(v) for k, v in result.items()}, indent=2, allow_nan=False)
    return format_plan(result)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 result, 2 bad input, 70 internal error).

    Output goes to standard output only once it is complete; an error writes one line to standard
    error and nothing to standard output. Warnings from numerical code are not printed.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and argument errors (2, one line already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text = _run(args)
    except ValueError as exc:  # InputError, the library's one-line validation errors, UnicodeError
        print(_error_line(str(exc)), file=sys.stderr)
        return EXIT_INPUT
    except MemoryError:
        print(_error_line("not enough memory for this input; use fewer runs or resamples"), file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print(_error_line("interrupted"), file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so in one line, never dress it up as bad input
        if os.environ.get("SMALLEST_LOSS_DEBUG"):
            raise
        print(f"smallest-loss: internal error (a bug; please report it with the input): "
              f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
              f"(set SMALLEST_LOSS_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into head: the reader has gone, nothing left to say
        return 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
