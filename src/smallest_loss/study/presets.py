"""The study's presets and its isoFLOP design.

An isoFLOP design crosses compute budgets with model sizes: for budget ``C`` and a model of ``N``
parameters (total, Chinchilla's convention) a run trains on ``D = C / (6 N)`` tokens, rounded to
whole steps. A (budget, size) pair is kept when ``D / N`` lies in ``[min_ratio, max_ratio]`` and the
run has at least ``min_steps`` steps, so every budget spans sizes on both sides of its optimum
without wasting runs on absurd allocations.

The rule for the other hyperparameters (stated once, the same for every run of a preset):
tokens per step are fixed (``batch`` sequences of ``n_ctx`` tokens); the peak learning rate is
``lr_ref`` for ``d_model <= d_ref`` and ``lr_ref d_ref / d_model`` above (wider models take smaller
steps); AdamW (0.9, 0.95), weight decay 0.1 on matrices, gradient clipping at 1; the schedule is
matched to each run's own length (:func:`smallest_loss.study.train.lr_at`).

Presets (times measured on the development machine's 2 cores, see the README):

* ``tiny``   -- CI and the book build: a few minutes at most on 2 cores.
* ``laptop`` -- the book's study: about 1 h 45 min on 2 cores (measured: its 3e13 budget, two thirds
  of the FLOPs, took 1 h 21 min on 2 idle cores; the whole design 3.4 CPU-hours).
* ``gpu``    -- sized for one GPU for about an hour (CUDA, bf16 autocast).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..counting import training_tokens
from .data import CORPORA
from .model import model_shape, param_counts
from .train import RunSpec

__all__ = ["Preset", "PRESETS", "design", "peak_lr", "run_name"]


@dataclass(frozen=True)
class Preset:
    """A study: ``budgets`` [FLOP] x ``sizes`` ((n_layer, d_model, n_heads) each), the data shape
    (``n_ctx``, ``batch``), the learning-rate rule (``lr_ref``, ``d_ref``), the design's filters
    and the evaluation (``n_eval`` log-spaced points of ``eval_seqs`` held-out sequences)."""

    name: str
    budgets: tuple[float, ...]
    sizes: tuple[tuple[int, int, int], ...]
    n_ctx: int
    batch: int
    lr_ref: float = 3e-3
    d_ref: int = 64
    min_ratio: float = 2.0
    max_ratio: float = 300.0
    min_steps: int = 100
    n_eval: int = 8
    eval_seqs: int = 64
    threads: int = 1
    description: str = ""


PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        name="tiny",
        budgets=(5e9, 1.5e10, 5e10),
        sizes=((1, 16, 2), (1, 24, 2), (2, 24, 2), (2, 32, 4), (2, 40, 4)),
        n_ctx=32, batch=32, min_ratio=3.0, max_ratio=300.0, min_steps=50, n_eval=6, eval_seqs=64,
        description="3 budgets from 5e9 to 5e10 FLOP, models of 5k to 43k parameters; CI and the book build"),
    "laptop": Preset(
        name="laptop",
        budgets=(3e11, 1e12, 3e12, 1e13, 3e13),
        sizes=((1, 32, 4), (2, 32, 4), (2, 40, 4), (2, 48, 4), (3, 56, 4), (3, 64, 4), (4, 72, 4), (4, 80, 4),
               (4, 96, 4), (4, 112, 4), (5, 128, 8), (5, 144, 8), (6, 160, 8)),
        # max_ratio 1000: the first runs of this preset (max_ratio 250) had their best model at the
        # window's small edge (100-215 tokens per parameter), so the window reaches further down
        n_ctx=64, batch=32, min_ratio=2.5, max_ratio=1000.0, min_steps=200, n_eval=10, eval_seqs=128,
        description="5 budgets from 3e11 to 3e13 FLOP, models of 15k to 1.2M parameters; about 1 h 45 min on 2 cores"),
    "gpu": Preset(
        name="gpu",
        budgets=(1e15, 3e15, 1e16, 3e16, 1e17),
        sizes=((4, 128, 4), (4, 192, 6), (6, 256, 8), (6, 384, 6), (8, 512, 8), (10, 640, 10), (12, 768, 12)),
        n_ctx=256, batch=64, lr_ref=3e-3, d_ref=128, min_ratio=2.0, max_ratio=300.0, min_steps=300,
        n_eval=10, eval_seqs=256, threads=4,
        description="5 budgets from 1e15 to 1e17 FLOP, models of 0.8M to 85M parameters; about an hour on one GPU"),
}


def peak_lr(preset: Preset, d_model: int) -> float:
    """The preset's learning-rate rule: ``lr_ref`` up to ``d_ref``, then ``lr_ref d_ref / d_model``."""
    return preset.lr_ref * min(1.0, preset.d_ref / d_model)


def run_name(budget: float, n_layer: int, d_model: int) -> str:
    """A run's name, e.g. ``C3.0e10_L2_D32``: budget, layers, width (a file name on every system)."""
    mantissa, exponent = f"{budget:.1e}".split("e")
    return f"C{mantissa}e{int(exponent)}_L{n_layer}_D{d_model}"


def design(preset: Preset | str, corpus: str, seed: int = 0, vocab_size: int | None = None) -> list[RunSpec]:
    """The isoFLOP runs of ``preset`` on ``corpus`` (see the module docstring), ordered by budget
    and size. ``vocab_size`` defaults to the corpus's (65 characters, or the synthetic source's 32)."""
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise ValueError(f"preset = {preset!r} is not one of {', '.join(PRESETS)}")
        preset = PRESETS[preset]
    if corpus not in CORPORA:
        raise ValueError(f"corpus = {corpus!r} is not one of {', '.join(CORPORA)}")
    if vocab_size is None:
        vocab_size = 65 if corpus == "shakespeare" else 32
    tokens_per_step = preset.batch * preset.n_ctx
    runs = []
    for budget in preset.budgets:
        for n_layer, d_model, n_heads in preset.sizes:
            n = param_counts(model_shape(n_layer, d_model, n_heads, vocab_size, preset.n_ctx))[0]
            steps = round(float(training_tokens(n, budget)) / tokens_per_step)
            ratio = steps * tokens_per_step / n
            if steps < preset.min_steps or not preset.min_ratio <= ratio <= preset.max_ratio:
                continue
            runs.append(RunSpec(
                name=run_name(budget, n_layer, d_model), corpus=corpus, budget=float(budget),
                n_layer=n_layer, d_model=d_model, n_heads=n_heads, vocab_size=vocab_size, n_ctx=preset.n_ctx,
                batch=preset.batch, steps=steps, lr=peak_lr(preset, d_model), seed=int(seed),
                n_eval=preset.n_eval, eval_seqs=preset.eval_seqs, threads=preset.threads))
    return runs
