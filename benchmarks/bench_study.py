"""Speed of the study's training loop against the machine's dense matmul peak, in one run.

    python benchmarks/bench_study.py [--preset laptop] [--threads 1] [--seconds 3] [--corpus shakespeare]

1. The matmul peak: the best FLOP/s of square float32 ``torch.matmul`` (n = 512, 1024, 2048;
   bf16 on CUDA) with the same thread count as the runs.
2. For each model size of the preset: the training loop of the study (:func:`measure_throughput`:
   batches drawn, forward, backward, clipping, AdamW) for about ``--seconds`` seconds, its tokens/s
   and model FLOP/s ``6 N tokens/s`` (N = total parameters), and the ratio to the peak (the CPU
   "MFU": model FLOPs utilisation).
3. The preset's estimated wall time: each run's FLOPs at its size's measured rate, spread over
   the local pool's workers (one per core / threads).

The 6N count leaves out the attention over the context (``2 n_layer n_ctx d_model`` per token
forward) and the optimizer, which the machine also spends time on: small models, whose matrices
are narrow, sit further below the peak.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
MIRROR = ROOT.parent / "shared" / "data" / "external"
if not os.environ.get("SMALLEST_LOSS_DATA_MIRROR") and MIRROR.is_dir():
    os.environ["SMALLEST_LOSS_DATA_MIRROR"] = str(MIRROR)

import torch  # noqa: E402

from smallest_loss.study import PRESETS, design, load_source, measure_throughput  # noqa: E402
from smallest_loss.study.sweep import available_cores  # noqa: E402
from smallest_loss.study.train import device_kind  # noqa: E402


def matmul_peak(threads: int, kind: str, seconds: float = 1.0) -> tuple[float, int]:
    """Best dense matmul FLOP/s over a few sizes, and the size that reached it."""
    torch.set_num_threads(threads)
    dtype = torch.bfloat16 if kind == "cuda" else torch.float32
    best = (0.0, 0)
    for n in (512, 1024, 2048, 4096) if kind == "cuda" else (512, 1024, 2048):
        a = torch.randn(n, n, dtype=dtype, device=kind)
        b = torch.randn(n, n, dtype=dtype, device=kind)
        for _ in range(3):
            a @ b
        if kind == "cuda":
            torch.cuda.synchronize()
        k, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            a @ b
            k += 1
            if kind == "cuda":
                torch.cuda.synchronize()
        rate = 2.0 * n**3 * k / (time.perf_counter() - t0)
        best = max(best, (rate, n))
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="laptop", choices=list(PRESETS))
    ap.add_argument("--corpus", default="shakespeare", choices=["shakespeare", "synthetic"])
    ap.add_argument("--threads", type=int, default=None, help="CPU threads per run (default: the preset's)")
    ap.add_argument("--seconds", type=float, default=3.0, help="timed seconds per model size")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    args = ap.parse_args(argv)
    preset = PRESETS[args.preset]
    threads = args.threads or preset.threads
    kind = device_kind(args.device)
    source = load_source(args.corpus, 0)
    specs = design(preset, args.corpus, 0, vocab_size=source.vocab_size)
    peak, n_peak = matmul_peak(threads, kind)
    print(f"device {kind}, {threads} thread(s) per run, torch {torch.__version__}")
    print(f"dense matmul peak: {peak / 1e9:,.1f} GFLOP/s ({'bf16' if kind == 'cuda' else 'float32'}, n = {n_peak})")
    print(f"{'size':<10} {'params':>10} {'tokens/s':>10} {'6N tok/s [GFLOP/s]':>20} {'ratio to peak':>14}")
    rate_by_size = {}
    sizes = sorted({(s.n_layer, s.d_model, s.n_heads) for s in specs}, key=lambda t: t[1])
    for n_layer, d_model, n_heads in sizes:
        spec = next(s for s in specs if (s.n_layer, s.d_model, s.n_heads) == (n_layer, d_model, n_heads))
        spec = replace(spec, threads=threads, device=args.device, steps=10**6)
        m = measure_throughput(spec, source, seconds=args.seconds)
        rate_by_size[(n_layer, d_model)] = m["flops_per_s"]
        print(f"L{n_layer}_D{d_model:<5} {spec.params:>10,} {m['tokens_per_s']:>10,.0f} "
              f"{m['flops_per_s'] / 1e9:>20,.2f} {m['flops_per_s'] / peak:>14.2f}", flush=True)
    workers = max(1, available_cores() // threads) if kind == "cpu" else 1
    busy = sum(s.flops / rate_by_size[(s.n_layer, s.d_model)] for s in specs)
    print(f"preset {args.preset}: {len(specs)} runs, {sum(s.flops for s in specs):.3g} FLOP; estimated "
          f"{busy / 60:.1f} worker-minutes, about {busy / workers / 60:.1f} minutes on {workers} worker(s) "
          "(evaluations not included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
