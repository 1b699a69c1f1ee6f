"""``smallest-loss plan``: the optimal run for a budget in FLOPs or dollars, or the cheapest run for a
target loss (with inference), from a named law or a ``fit --json`` file. Parsing and printing only:
the planning is :mod:`smallest_loss.planning`."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from ..planning import (DEFAULT_CHECKPOINT_HOURS, DEFAULT_RESTART_HOURS, LAW_NAMES, gpu_peak_flops,
                        load_law, plan_for_dollars, plan_for_loss)
from .args import nonnegative_real, positive_real, real
from .io import InputError

__all__ = ["plan", "format_plan", "LAW_NAMES", "EPILOG", "add_parser", "run"]

EPILOG = f"""\
Laws: hoffmann2022 (unrounded constants), hoffmann2022-printed, besiroglu2024, kaplan2020
(Kaplan's own frontier, in non-embedding parameters), or a JSON file written by
'smallest-loss fit --json'. A fit that is not identified is refused. With a fit written by
'fit --approach 3 --bootstrap B --json' every answer carries 95% intervals (ci95) from the
bootstrap draws; refits that failed count at the edges (0, inf; null in JSON).

Give exactly one of --flops, --dollars, --loss.
  --dollars USD: useful GPU-hours = USD / price (on demand), or / (price x the expected spot cost
    factor at the optimal checkpoint interval) with --spot-discount or --preemptions-per-hour;
    FLOPs = GPU-hours x 3600 x peak x MFU. Checkpoint write and restart times default to
    {DEFAULT_CHECKPOINT_HOURS * 60:g} and {DEFAULT_RESTART_HOURS * 60:g} minutes (assumptions: give yours).
  --loss L [--inference-tokens T]: the least training + inference compute 6ND + 2NT that reaches
    loss L (Sardana et al. 2024); T = 0 (default) is the compute-optimal model for L. Needs a law
    with a loss model (not an approach 1/2 fit).

Examples:
  smallest-loss plan --flops 5.76e23
  smallest-loss plan --dollars 1e6 --price-per-gpu-hour 2 --peak-flops 989e12 --mfu 0.4 --json
  smallest-loss plan --dollars 1e6 --price-per-gpu-hour 4 --gpu "NVIDIA H100 SXM5 80GB" --mfu 0.4 \\
      --spot-discount 0.6 --preemptions-per-hour 0.05
  smallest-loss plan --loss 2.0 --inference-tokens 1e13 --law besiroglu2024
  smallest-loss fit runs.csv --approach 3 --bootstrap 1000 --json > fit.json
  smallest-loss plan --flops 1e22 --law fit.json"""


# --- argument types: one line naming the value, exit 2 --------------------------------------------

def _mfu(text: str) -> float:
    value = real(text)
    if not math.isfinite(value) or not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is outside (0, 1]; give a fraction such as 0.4")
    return value


def _discount(text: str) -> float:
    value = real(text)
    if not math.isfinite(value) or not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is outside [0, 1); give a fraction such as 0.6")
    return value


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``plan`` subcommand to ``sub`` (argparse subparsers) and return its parser."""
    pl = sub.add_parser("plan", help="optimal parameters and tokens for a budget (FLOPs or dollars) or a loss",
                        description="Compute-optimal parameters and tokens for a training budget in FLOPs or "
                                    "dollars, or the cheapest model for a target loss and inference demand.",
                        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = pl.add_mutually_exclusive_group(required=True)
    target.add_argument("--flops", type=positive_real, metavar="C", help="training budget [FLOP]")
    target.add_argument("--dollars", type=positive_real, metavar="USD", help="training budget [USD]")
    target.add_argument("--loss", type=positive_real, metavar="L", help="target loss [nats/token]")
    pl.add_argument("--law", default="hoffmann2022",
                    help=f"one of {', '.join(LAW_NAMES)} (default: hoffmann2022), or a JSON file written by 'fit --json'")
    money = pl.add_argument_group("dollars (with --dollars)")
    money.add_argument("--price-per-gpu-hour", type=positive_real, metavar="P", help="on-demand price [USD per GPU-hour]")
    peak = money.add_mutually_exclusive_group()
    peak.add_argument("--peak-flops", type=positive_real, metavar="F", help="dense peak of one GPU [FLOP/s]")
    peak.add_argument("--gpu", metavar="NAME", help="an accelerator of Epoch AI's chip table (its dense peak)")
    money.add_argument("--dtype", default="bf16", help="data type of the --gpu peak (default bf16)")
    money.add_argument("--mfu", type=_mfu, metavar="U", help="model FLOPs utilization, in (0, 1]")
    money.add_argument("--spot-discount", type=_discount, metavar="S", help="spot discount off on-demand, in [0, 1)")
    money.add_argument("--preemptions-per-hour", type=nonnegative_real, metavar="R", help="spot preemption rate [1/hour]")
    money.add_argument("--checkpoint-minutes", type=positive_real, metavar="M",
                       help=f"time to write a checkpoint (default {DEFAULT_CHECKPOINT_HOURS * 60:g})")
    money.add_argument("--restart-minutes", type=nonnegative_real, metavar="M",
                       help=f"time to restart after a preemption (default {DEFAULT_RESTART_HOURS * 60:g})")
    pl.add_argument("--inference-tokens", type=nonnegative_real, metavar="T",
                    help="tokens the model will serve over its life (with --loss; default 0)")
    pl.add_argument("--json", action="store_true", help="print one JSON object")
    return pl


_DOLLAR_FLAGS = ("price_per_gpu_hour", "peak_flops", "gpu", "mfu", "spot_discount", "preemptions_per_hour",
                 "checkpoint_minutes", "restart_minutes")


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _check_combination(args: argparse.Namespace) -> None:
    if args.dollars is None:
        given = [_flag(d) for d in _DOLLAR_FLAGS if getattr(args, d, None) is not None]
        if given:
            raise InputError(f"{', '.join(given)} {'goes' if len(given) == 1 else 'go'} only with --dollars")
    else:
        missing = [f for f, ok in (("--price-per-gpu-hour", args.price_per_gpu_hour is not None),
                                   ("--peak-flops or --gpu", args.peak_flops is not None or args.gpu is not None),
                                   ("--mfu", args.mfu is not None)) if not ok]
        if missing:
            raise InputError(f"--dollars needs {', '.join(missing)}")
    if args.inference_tokens is not None and args.loss is None:
        raise InputError("--inference-tokens only goes with --loss")


def _finite(out: dict[str, Any], what: str) -> dict[str, Any]:
    for k in ("params", "tokens", "tokens_per_param", "loss"):
        v = out.get(k)
        if v is not None and not (math.isfinite(v) and v > 0):
            raise InputError(f"{what}: the compute-optimal {k} is {v!r}, out of the floating-point range; "
                             "give a budget the law can be evaluated at")
    return out


def plan(flops: float, law: str) -> dict[str, Any]:
    """Compute-optimal parameters, tokens, tokens per parameter and loss for a budget [FLOP], as the
    JSON-ready dict ``plan --flops C --law L --json`` prints (``ci95`` with a bootstrap fit).

    ``law``: a name in :data:`LAW_NAMES` or the path of a JSON file written by ``fit --json``. A fit
    whose ``identified`` is false is refused: it does not single out one law to plan with.
    """
    result = load_law(law).for_flops(flops)
    out = result.to_dict()
    out["law"] = law
    return _finite(_raw(result, out), f"flops = {flops:.4g}")


def _raw(result: Any, out: dict[str, Any]) -> dict[str, Any]:
    """``out`` with the plain numbers of ``result`` (inf and NaN kept, so :func:`_finite` sees them)."""
    for k in ("params", "tokens", "tokens_per_param", "loss"):
        v = getattr(result, k)
        out[k] = None if v is None else float(v)
    return out


def _gpu_peak(name: str, dtype: str) -> float:
    """:func:`~smallest_loss.planning.gpu_peak_flops`, with a chip table that cannot be loaded
    reported as input (one line saying what to do) rather than as a bug."""
    from ..datasets.registry import DatasetUnavailableError

    try:
        return gpu_peak_flops(name, dtype)
    except DatasetUnavailableError as exc:  # no network and no mirror: input to fix, not a bug
        raise InputError(f"--gpu needs Epoch AI's chip table: {exc}; or give --peak-flops") from None


def run(args: argparse.Namespace) -> str:
    """The complete output of ``smallest-loss plan`` for parsed ``args``; ``ValueError`` (one line)
    for bad input."""
    _check_combination(args)
    if args.flops is not None:
        out = plan(args.flops, args.law)
    elif args.dollars is not None:
        peak = args.peak_flops if args.peak_flops is not None else _gpu_peak(args.gpu, args.dtype)
        result = plan_for_dollars(
            args.law, args.dollars, args.price_per_gpu_hour, peak, args.mfu,
            spot_discount=args.spot_discount or 0.0, preemptions_per_hour=args.preemptions_per_hour or 0.0,
            checkpoint_hours=(DEFAULT_CHECKPOINT_HOURS if args.checkpoint_minutes is None
                              else args.checkpoint_minutes / 60.0),
            restart_hours=DEFAULT_RESTART_HOURS if args.restart_minutes is None else args.restart_minutes / 60.0)
        out = _raw(result, {**result.to_dict(), "law": args.law})
        if args.gpu is not None:
            out["gpu"] = args.gpu
        out = _finite(out, f"dollars = {args.dollars:.4g}")
    else:
        result = plan_for_loss(args.law, args.loss, args.inference_tokens or 0.0)
        out = _raw(result, {**result.to_dict(), "law": args.law})
        out = _finite(out, f"loss = {args.loss:.4g}")
        for k in ("training_flops", "inference_flops", "total_flops"):
            if out.get(k) is None or not math.isfinite(out[k]):
                raise InputError(f"loss = {args.loss:.4g}: the {k} is out of the floating-point range; "
                                 "give a loss further above the law's E")
    if args.json:
        return json.dumps(_json_ready(out), indent=2, allow_nan=False)
    return format_plan(out)


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _num(value: Any, spec: str = ".4g") -> str:
    return "not determined" if value is None else format(value, spec)


def _ci(p: dict[str, Any], key: str, spec: str = ".4g") -> str:
    ci = p.get("ci95") or {}
    if key not in ci:
        return ""
    lo, hi = ci[key]
    return f"   95% [{_num(lo, spec) if lo else '0'}, {'inf' if hi is None else _num(hi, spec)}]"


def format_plan(p: dict[str, Any]) -> str:
    """Plain-text report of a plan dict (from :func:`plan` or :func:`run`)."""
    if "dollars" in p:
        head = f"Compute-optimal run for ${p['dollars']:.4g} ({p['law']})"
    elif "inference_tokens" in p:
        head = (f"Cheapest run reaching loss {p['loss']:.4f} nats/token with "
                f"{p['inference_tokens']:.4g} inference tokens ({p['law']})")
    else:
        head = f"Compute-optimal run for C = {p['flops']:.4g} FLOP ({p['law']})"
    lines = [head]
    if "dollars" in p:
        price = f"{p['price_per_gpu_hour']:.4g} USD/GPU-hour"
        if p.get("spot_cost_factor") is not None:
            price += f" x spot cost factor {p['spot_cost_factor']:.4f}"
        lines += [f"  price             {price}",
                  f"  GPU-hours         {p['gpu_hours']:.4g} (useful)",
                  f"  peak x MFU        {p['peak_flops_per_s']:.4g} FLOP/s x {p['mfu']:.3g}",
                  f"  training FLOPs    {p['flops']:.4g}"]
    lines += [f"  parameters        {p['params']:.4g}{_ci(p, 'params')}",
              f"  tokens            {p['tokens']:.4g}{_ci(p, 'tokens')}",
              f"  tokens/parameter  {p['tokens_per_param']:.2f}{_ci(p, 'tokens_per_param', '.2f')}"]
    if "inference_tokens" in p:
        lines += [f"  training FLOPs    {p['training_flops']:.4g}{_ci(p, 'training_flops')}",
                  f"  inference FLOPs   {p['inference_flops']:.4g}",
                  f"  total FLOPs       {p['total_flops']:.4g}{_ci(p, 'total_flops')}"]
    else:
        lines.append(f"  loss              {'—' if p['loss'] is None else format(p['loss'], '.4f')} nats/token"
                     f"{_ci(p, 'loss', '.4f')}")
    if p.get("ci95_draws"):
        lines.append(f"  intervals: 95% percentiles over {p['ci95_draws']} bootstrap draws of the law")
    if p.get("note"):
        lines.append(f"  note: {p['note']}")
    return "\n".join(lines)
