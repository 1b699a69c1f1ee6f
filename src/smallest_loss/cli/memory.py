"""``smallest-loss memory --params N [--optimizer ...] [--precision ...] [--zero S --gpus G]
[--offload] [--layers L --d-model H --seq-len S --micro-batch B] [--json]``: the memory a
training run needs for its model state (and optionally its activations), per GPU and on the host.

Everything is computed by :mod:`smallest_loss.counting.memory`; see its docstring for the
accounting and its sources.
"""

from __future__ import annotations

import argparse
import json
import math

from ..counting.memory import OPTIMIZERS, RECOMPUTE, memory_plan

__all__ = ["add_parser", "run", "plan_from_args", "format_plan"]

PRECISION_CHOICES = ("fp32", "bf16-mixed", "fp16-mixed")
MAX_GPUS = 1_000_000
MAX_SHAPE = 10_000_000

_EPILOG = """\
Bytes per parameter (weights + gradients + optimizer state): bf16-mixed keeps 16-bit weights and
gradients and an fp32 master copy of the weights; adamw adds two fp32 moments (2 + 2 + 12 = 16),
adamw-8bit two 1-byte moments plus one fp32 constant per block of 2,048 values, sgd-momentum one
fp32 moment, adafactor the row and column sums of the second moment of each d_model x d_model
matrix (4096 x 4096 when --d-model is not given). --zero 1/2/3 shards the optimizer state, then
the gradients, then the weights across --gpus GPUs (Rajbhandari et al. 2020). --offload keeps the
16-bit weights on the GPU and moves gradients, master weights and moments to host memory.

With --layers, --d-model, --seq-len and --micro-batch, the activations of the decoder blocks are
added (Korthikanti et al. 2022, Eq. 1: s b h (34 + 5 a s / h) bytes per block with 16-bit
activations; --recompute selective keeps 34 s b h, full keeps the block input 2 s b h plus one
block rebuilt in the backward pass).

--json prints bytes_per_param, total_bytes (weights + gradients + optimizer state, no
activations), per_gpu_bytes (model state on each GPU), host_bytes_per_gpu, pcie_bytes_per_step,
breakdown (bytes per parameter by kind) and, with a shape, activation_bytes and
per_gpu_bytes_with_activations. Sizes are in bytes (1 GB = 1e9 bytes)."""


def _params(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a finite positive number of parameters")
    if value > 1e16:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is more than the 1e16 parameters allowed")
    return value


def _int_in(low: int, high: int, what: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not {what} from {low} to {high:,}")
        return value
    return parse


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "memory", help="GPU and host memory of a training run: model state, ZeRO, offload, activations",
        description="Memory of a training run: bytes per parameter of weights, gradients and "
                    "optimizer state, per GPU under ZeRO sharding and CPU offload, and optionally "
                    "the activations of the decoder blocks.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--params", type=_params, required=True, metavar="N", help="model parameters")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adamw", help="default adamw")
    p.add_argument("--precision", choices=PRECISION_CHOICES, default="bf16-mixed",
                   help="default bf16-mixed (fp16-mixed has the same byte counts)")
    p.add_argument("--zero", type=_int_in(0, 3, "a ZeRO stage"), default=0, metavar="{0,1,2,3}",
                   help="ZeRO stage (default 0: every GPU holds everything)")
    p.add_argument("--gpus", type=_int_in(1, MAX_GPUS, "a GPU count"), default=1, metavar="G",
                   help="data-parallel GPUs that ZeRO shards across (default 1)")
    p.add_argument("--offload", action="store_true",
                   help="gradients, master weights and optimizer moments in host memory")
    shape = _int_in(1, MAX_SHAPE, "a size")
    p.add_argument("--layers", type=shape, default=None, metavar="L", help="decoder blocks")
    p.add_argument("--d-model", type=shape, default=None, metavar="H", help="model width")
    p.add_argument("--heads", type=shape, default=None, metavar="A",
                   help="attention heads (default d_model / 128)")
    p.add_argument("--seq-len", type=shape, default=None, metavar="S", help="sequence length [tokens]")
    p.add_argument("--micro-batch", type=shape, default=None, metavar="B",
                   help="sequences per GPU per forward pass")
    p.add_argument("--recompute", choices=RECOMPUTE, default="none",
                   help="activation recomputation (default none)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def plan_from_args(args: argparse.Namespace):
    shape = {"n_layer": args.layers, "d_model": args.d_model, "seq_len": args.seq_len,
             "micro_batch": args.micro_batch}
    given = [k for k, v in shape.items() if v is not None]
    flags = {"n_layer": "--layers", "d_model": "--d-model", "seq_len": "--seq-len", "micro_batch": "--micro-batch"}
    if given and len(given) < 4:
        missing = ", ".join(flags[k] for k in shape if shape[k] is None)
        raise ValueError(f"an activation estimate needs {missing} as well")
    if not given and (args.heads is not None or args.recompute != "none"):
        raise ValueError("--heads and --recompute need a shape (--layers, --d-model, --seq-len, --micro-batch)")
    if args.heads is not None and args.d_model is not None and args.d_model % args.heads:
        raise ValueError(f"--heads {args.heads} does not divide --d-model {args.d_model}")
    return memory_plan(args.params, args.optimizer, args.precision, zero_stage=args.zero, gpus=args.gpus,
                       offload="optimizer" if args.offload else "none", n_heads=args.heads,
                       recompute=args.recompute, **(shape if given else {}))


def _result(plan) -> dict:
    b = plan.bytes_per_param
    out = {
        "params": plan.params, "optimizer": plan.optimizer, "precision": plan.precision,
        "zero": plan.zero_stage, "gpus": plan.gpus, "offload": plan.offload != "none",
        "bytes_per_param": b.total, "total_bytes": plan.total_bytes, "per_gpu_bytes": plan.per_gpu_bytes,
        "host_bytes_per_gpu": plan.host_bytes_per_gpu, "pcie_bytes_per_step": plan.pcie_bytes_per_step,
        "breakdown": {"weights": b.weights, "gradients": b.gradients, "master_weights": b.master,
                      "optimizer_moments": b.moments, "quantization_constants": b.quantization_constants},
    }
    if plan.activation_bytes is not None:
        out["activation_bytes"] = plan.activation_bytes
        out["per_gpu_bytes_with_activations"] = plan.per_gpu_bytes_with_activations
    return out


def _gb(x: float) -> str:
    return f"{x / 1e9:,.2f} GB"


def format_plan(result: dict) -> str:
    b = result["breakdown"]
    lines = [
        f"{result['params']:.4g} parameters, {result['optimizer']}, {result['precision']}, "
        f"ZeRO stage {result['zero']} on {result['gpus']} GPU(s)"
        + (", optimizer state offloaded to host" if result["offload"] else ""),
        f"bytes per parameter: {result['bytes_per_param']:.6g} (weights {b['weights']:g}, gradients "
        f"{b['gradients']:g}, fp32 master {b['master_weights']:g}, moments {b['optimizer_moments']:.4g})",
        f"model state, one copy: {_gb(result['total_bytes'])}",
        f"model state per GPU:   {_gb(result['per_gpu_bytes'])}",
    ]
    if result["offload"]:
        lines.append(f"host memory per GPU:   {_gb(result['host_bytes_per_gpu'])}; "
                     f"{_gb(result['pcie_bytes_per_step'])} over PCIe per step")
    if "activation_bytes" in result:
        lines.append(f"activations per GPU:   {_gb(result['activation_bytes'])}; with model state "
                     f"{_gb(result['per_gpu_bytes_with_activations'])}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> str:
    result = _result(plan_from_args(args))
    if args.json:
        return json.dumps(result, indent=2, allow_nan=False)
    return format_plan(result)
