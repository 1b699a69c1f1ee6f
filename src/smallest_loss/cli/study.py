"""``smallest-loss study``: run (or resume) a compute-optimal scaling study of tiny transformers.

    smallest-loss study --preset {tiny,laptop,gpu} --out DIR [--corpus shakespeare|synthetic]
                        [--scheduler ADDRESS [--timeout SECONDS]] [--seed S] [--workers N]
                        [--device auto|cpu|cuda] [--dry-run]

Writes DIR/study.json, DIR/runs/NAME.json (one per finished run), DIR/runs.csv and DIR/curves.csv
(see :mod:`smallest_loss.study.results`). PyTorch and Dask are imported only when the command runs.
"""

from __future__ import annotations

import argparse

from .args import bounded_int, seed

__all__ = ["add_parser", "run"]

PRESET_NAMES = ("tiny", "laptop", "gpu")
CORPUS_NAMES = ("shakespeare", "synthetic")

_DESCRIPTION = """\
Train an isoFLOP grid of small GPT-style models (PyTorch; CUDA with bf16 when present, else CPU)
and write runs.csv and curves.csv, ready for 'smallest-loss fit DIR/runs.csv --approach 3' and
'smallest-loss fit DIR/curves.csv --approach 1'."""

_EPILOG = """\
Presets: tiny (a few minutes on 2 cores; CI), laptop (the book's study, about 1 h 45 min on 2 cores),
gpu (about an hour on one GPU). Corpora: shakespeare (tinyshakespeare, characters, fixed 90/10
split) or synthetic (an order-2 Markov source whose entropy rate is known exactly; study.json
records it).

Runs execute on a local pool of worker processes (one per core), in this process with
--workers 0, or on an existing Dask cluster with --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786;
under SLURM or PBS, dask-jobqueue starts such a cluster). Each finished run is written at once;
rerunning the same command skips finished runs, so a killed study resumes where it stopped. A
folder holding another preset's, corpus's or seed's runs is refused."""


non_negative_count = bounded_int(0, too_low="must be a non-negative integer")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("study", help="run a compute-optimal scaling study of tiny transformers",
                              description=_DESCRIPTION, epilog=_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", required=True, choices=PRESET_NAMES, help="size of the study")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created; resumed when it exists)")
    p.add_argument("--corpus", default="shakespeare", choices=CORPUS_NAMES, help="token source (default shakespeare)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="address of a running Dask scheduler")
    p.add_argument("--seed", type=seed, default=0, help="seed of initialisation and data order (default 0)")
    p.add_argument("--workers", type=non_negative_count, default=None, metavar="N",
                   help="local worker processes (default: one per core; 0: run in this process)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="auto (default): CUDA when present, else CPU")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="how long to try reaching --scheduler (default 10)")
    p.add_argument("--dry-run", action="store_true", help="print the design and write nothing")
    return p


def _design_table(specs) -> str:
    lines = [f"{'run':<18} {'params':>10} {'tokens':>12} {'flops':>10} {'tokens/param':>12} {'steps':>7} {'lr':>8}"]
    for s in specs:
        lines.append(f"{s.name:<18} {s.params:>10,} {s.tokens:>12,} {s.flops:>10.3g} {s.tokens / s.params:>12.1f} "
                     f"{s.steps:>7,} {s.lr:>8.2g}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> str:
    if args.scheduler is not None and args.workers is not None:
        raise ValueError("--workers applies to the local pool; leave it out with --scheduler")
    if not (args.timeout > 0 and args.timeout < 3600):
        raise ValueError(f"--timeout {args.timeout!r} must be a number of seconds between 0 and 3600")
    from ..datasets import DatasetUnavailableError
    from ..study import design, load_source, run_study

    try:
        return _run(args, design, load_source, run_study)
    except DatasetUnavailableError as exc:  # no network and no mirror: the user's set-up, not a bug
        raise ValueError(str(exc)) from None


def _run(args, design, load_source, run_study) -> str:

    if args.dry_run:
        source = load_source(args.corpus, args.seed)
        specs = design(args.preset, args.corpus, args.seed, vocab_size=source.vocab_size)
        total = sum(s.flops for s in specs)
        return (f"preset {args.preset} on {args.corpus}: {len(specs)} runs, {total:.3g} FLOP in all\n"
                + _design_table(specs))
    res = run_study(args.preset, args.out, args.corpus, args.seed, scheduler=args.scheduler,
                    workers=args.workers, device=args.device, connect_timeout=args.timeout)
    runs = res["runs"]
    lines = [f"study {args.preset} on {args.corpus}: {len(runs)} runs in {args.out} "
             f"({res['trained']} trained, {res['skipped']} already done) in {res['wall_s']:.1f} s",
             f"  {args.out}/runs.csv    one row per run (params, tokens, flops, loss, ...)",
             f"  {args.out}/curves.csv  held-out loss at log-spaced steps",
             f"best loss {runs['loss'].min():.4f} nats/token ({runs.loc[runs['loss'].idxmin(), 'run']})",
             f"next: smallest-loss fit {args.out}/runs.csv --approach 3"]
    return "\n".join(lines)
