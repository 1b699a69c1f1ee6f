"""A compute-optimal scaling study you can run: tiny GPT-style models trained with PyTorch on
tinyshakespeare or on a synthetic source of known entropy, in an isoFLOP design, locally or on a
Dask cluster (the ``smallest-loss study`` command; chapter 12).

Modules: ``model`` (the transformer and its counts), ``data`` (the token sources), ``train`` (one
run), ``presets`` (the designs), ``sweep`` (running them, resumable), ``results`` (files on disk).
Importing this package imports PyTorch; ``import smallest_loss`` alone does not.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from .data import CORPORA, CharCorpus, MarkovSource, load_source
from .presets import PRESETS, Preset, design, peak_lr
from .sweep import SweepResult, run_sweep
from .train import RunSpec, measure_throughput, train_run

__all__ = ["run_study", "study_manifest", "CORPORA", "PRESETS", "Preset", "RunSpec", "CharCorpus", "MarkovSource",
           "load_source", "design", "peak_lr", "run_sweep", "train_run", "measure_throughput", "SweepResult"]


def study_manifest(preset: str, corpus: str, seed: int, source, specs: list[RunSpec]) -> dict:
    """What ``study.json`` records: preset, corpus, seed, the source (for the synthetic source its
    exact entropy rate and the Bayes loss of an evaluation window) and the design's totals."""
    info = {"preset": preset, "corpus": corpus, "seed": int(seed), "source": source.describe(),
            "n_runs": len(specs), "total_flops": float(sum(s.flops for s in specs))}
    if isinstance(source, MarkovSource) and specs:
        info["source"]["bayes_loss_window"] = source.bayes_loss(specs[0].n_ctx)
    return info


def run_study(preset: str, out: str | Path, corpus: str = "shakespeare", seed: int = 0, *,
              scheduler: str | None = None, workers: int | None = None, device: str = "auto",
              progress: bool | TextIO = True, connect_timeout: float = 10.0, **kwargs) -> SweepResult:
    """Run (or resume) the study ``preset`` on ``corpus`` into the folder ``out``; see
    :func:`smallest_loss.study.sweep.run_sweep` for where the runs execute."""
    if preset not in PRESETS:
        raise ValueError(f"preset = {preset!r} is not one of {', '.join(PRESETS)}")
    if corpus not in CORPORA:
        raise ValueError(f"corpus = {corpus!r} is not one of {', '.join(CORPORA)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed = {seed!r} must be a non-negative integer")
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device = {device!r} is not one of auto, cpu, cuda")
    from .train import device_kind

    device_kind(device)  # ValueError now, before anything is written, when CUDA is asked for but absent
    source = load_source(corpus, seed)
    specs = design(preset, corpus, seed, vocab_size=source.vocab_size)
    if device != "auto":
        from dataclasses import replace

        specs = [replace(s, device=device) for s in specs]
    manifest = study_manifest(preset, corpus, seed, source, specs)
    return run_sweep(specs, out, manifest, source=source, scheduler=scheduler, workers=workers,
                     progress=progress, label=f"study {preset}", connect_timeout=connect_timeout, **kwargs)
