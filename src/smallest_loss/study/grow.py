"""A model that changes shape during training: function-preserving width doubling of the study's
GPT, and a run that trains a small model, doubles its width mid-run and trains on (chapter 7).

**The growth.** :func:`widen` turns a model of width ``d`` with ``h`` heads into one of width
``2 d`` with ``2 h`` heads of the same ``d_head`` (layers, vocabulary and context unchanged) that
computes *the same function*. Every vector of the residual stream is duplicated, ``x -> [x, x]``:

* embeddings and positions are duplicated column-wise, ``E -> [E, E]``;
* a LayerNorm sees a vector with the same mean and variance, so its output is duplicated too when
  its weight is, ``g -> [g, g]``;
* a linear layer ``W`` (``[out, in]``) becomes the ``2 x 2`` block matrix whose blocks are
  ``W/2 + R`` and ``W/2 - R`` side by side (one ``R`` per row block, small Gaussian noise): on a
  duplicated input the noise cancels and the output is ``[W x, W x]``. This is the neuron-splitting
  step of Net2Net (Chen, Goodfellow and Shlens 2016, "Net2WiderNet": replicate units, divide their
  outgoing weights among the copies, add a little noise), applied here to the whole residual
  stream. The noise ``R`` breaks the symmetry between the copies (without it the copies receive
  equal gradients forever and the wide model stays the narrow one);
* the query, key and value blocks are widened the same way, so head ``i + h`` is a copy of head
  ``i``: with ``d_head`` unchanged, every copy computes the same attention as its original;
* the MLP's hidden layer (``4 d``, GELU) is duplicated like the residual stream;
* the output layer is tied to the embedding, and ``[z, z] . [e, e] = 2 z . e``, so the final
  LayerNorm weight is halved, ``g_f -> [g_f, g_f] / 2``.

Exact in real arithmetic; in floating point the loss before and after agree to rounding
(``tests/test_study_grow.py``). The counts of both shapes come from
:mod:`smallest_loss.counting.transformer` through :func:`smallest_loss.study.model.param_counts`.

**The run.** :func:`train_grown` trains the small model of a :class:`~smallest_loss.study.train.RunSpec`
for ``grow_step`` optimizer steps, widens it and trains the wide model to the run's last step, with
one learning-rate schedule over the whole run (:func:`~smallest_loss.study.train.lr_at`) and a fresh
AdamW state after the growth. Its compute is counted phase by phase, ``6 N_small D_1 + 6 N_large D_2``
(:func:`grown_flops`), so it can be set equal to a static run's ``6 N D``.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np

from ..counting import training_flops
from .model import model_shape, param_counts
from .train import BETAS, WEIGHT_DECAY, RunSpec, _ThreadCount, _Trainer, eval_steps

__all__ = ["widen", "wide_spec", "grown_flops", "grow_step_for_flops", "train_grown", "GROWTH_NOISE"]

GROWTH_NOISE = 1e-3
"""Standard deviation of the symmetry-breaking noise ``R`` added to the split weights (the
initial weights have standard deviation 0.02)."""


def wide_spec(spec: RunSpec) -> RunSpec:
    """The spec of the doubled model: ``2 d_model``, ``2 n_heads`` (same ``d_head``), same layers,
    vocabulary, context, batch, steps, learning rate and seed."""
    return replace(spec, d_model=2 * spec.d_model, n_heads=2 * spec.n_heads)


def grown_flops(spec: RunSpec, grow_step: int) -> float:
    """Training compute of a run that trains ``spec``'s model for ``grow_step`` steps and its
    doubled model (:func:`wide_spec`) for the remaining ``spec.steps - grow_step`` [FLOP]:
    ``6 N_small D_1 + 6 N_large D_2`` with total parameters (Chinchilla's N) and
    :func:`smallest_loss.counting.transformer.training_flops`."""
    _check_grow_step(spec, grow_step)
    n_small, n_large = spec.params, wide_spec(spec).params
    d1 = grow_step * spec.tokens_per_step
    d2 = (spec.steps - grow_step) * spec.tokens_per_step
    return sum(float(training_flops(n, d)) for n, d in ((n_small, d1), (n_large, d2)) if d > 0)


def grow_step_for_flops(spec_small: RunSpec, flops: float, fraction_before: float) -> tuple[int, int]:
    """(grow_step, total steps) of a grown run of ``flops`` FLOP that spends ``fraction_before`` of
    them on the small model: ``grow_step = round(f C / (6 N_small T))`` and the rest on the doubled
    model, ``round((1 - f) C / (6 N_large T))`` more steps (``T`` tokens per step)."""
    if not (math.isfinite(flops) and flops > 0):
        raise ValueError(f"flops = {flops!r} must be a finite positive number")
    if not 0 < fraction_before < 1:
        raise ValueError(f"fraction_before = {fraction_before!r} must lie strictly between 0 and 1")
    t = spec_small.tokens_per_step
    n_small, n_large = spec_small.params, wide_spec(spec_small).params
    g = round(fraction_before * flops / (6.0 * n_small * t))
    rest = round((1 - fraction_before) * flops / (6.0 * n_large * t))
    if g < 1 or rest < 1:
        raise ValueError(f"flops = {flops:.3g} leaves {g} steps before and {rest} after the growth; "
                         "each phase needs at least one")
    return g, g + rest


def _check_grow_step(spec: RunSpec, grow_step: int) -> None:
    if isinstance(grow_step, bool) or not isinstance(grow_step, (int, np.integer)) or not 0 <= grow_step <= spec.steps:
        raise ValueError(f"grow_step = {grow_step!r} must be an integer from 0 to steps = {spec.steps}")


def _split(w, noise: float, gen):
    """``[out, in] -> [2 out, 2 in]``: blocks ``W/2 + R_i`` (left) and ``W/2 - R_i`` (right) for
    the two row blocks ``i``; on a duplicated input it returns the duplicated output."""
    import torch

    half = w / 2
    rows = []
    for _ in range(2):
        r = torch.randn(w.shape, generator=gen, dtype=w.dtype) * noise
        rows.append(torch.cat([half + r, half - r], dim=1))
    return torch.cat(rows, dim=0)


def widen(model, noise: float = GROWTH_NOISE, seed: int = 0):
    """A new :class:`~smallest_loss.study.model.GPT` of twice the width and heads of ``model`` that
    computes the same logits (see the module docstring); ``noise`` is the standard deviation of the
    symmetry-breaking split noise (0 gives exact copies), drawn from a generator seeded by ``seed``."""
    import torch

    from .model import GPT

    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise = {noise!r} must be a finite non-negative number")
    s = model.shape
    big = GPT(model_shape(s.n_layer, 2 * s.d_model, 2 * s.n_heads, s.vocab_size, s.n_ctx))
    gen = torch.Generator().manual_seed(int(seed))
    d = s.d_model
    dup = lambda t: torch.cat([t, t], dim=-1)  # noqa: E731  (duplicate along the width)
    with torch.no_grad():
        big.tok.weight.copy_(dup(model.tok.weight.cpu()))
        big.pos.weight.copy_(dup(model.pos.weight.cpu()))
        big.ln_f.weight.copy_(dup(model.ln_f.weight.cpu()) / 2)
        for b_small, b_big in zip(model.blocks, big.blocks):
            b_big.ln1.weight.copy_(dup(b_small.ln1.weight.cpu()))
            b_big.ln2.weight.copy_(dup(b_small.ln2.weight.cpu()))
            qkv = b_small.qkv.weight.cpu()
            b_big.qkv.weight.copy_(torch.cat([_split(qkv[i * d:(i + 1) * d], noise, gen) for i in range(3)]))
            for name in ("proj", "fc", "out"):
                getattr(b_big, name).weight.copy_(_split(getattr(b_small, name).weight.cpu(), noise, gen))
    return big.to(next(model.parameters()).device)


def _optimizer(model, lr: float):
    import torch

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=BETAS, foreach=True)


def train_grown(spec: RunSpec, grow_step: int, source, noise: float = GROWTH_NOISE) -> dict:
    """Train ``spec``'s model for ``grow_step`` steps, double its width (:func:`widen`) and train
    the wide model to step ``spec.steps``; return ``{"row": {...}, "curve": [...]}`` like
    :func:`~smallest_loss.study.train.train_run`, with ``loss_before_growth`` and
    ``loss_after_growth`` (held-out loss just before and just after widening, nats/token) and the
    phase-by-phase ``flops`` in the row. The first ``grow_step`` steps are those of
    ``train_run(spec)`` exactly (same seed, data and schedule)."""
    import torch

    _check_grow_step(spec, grow_step)
    if not 1 <= grow_step < spec.steps:
        raise ValueError(f"grow_step = {grow_step} must lie from 1 to steps - 1 = {spec.steps - 1}")
    start = time.perf_counter()
    with _ThreadCount(spec.threads):
        tr = _Trainer(spec, source)
        val = torch.from_numpy(source.validation(spec.eval_seqs, spec.n_ctx)).to(tr.device)
        checkpoints = set(eval_steps(spec.steps, spec.n_eval))
        n_small, n_large = spec.params, wide_spec(spec).params
        curve, before, after = [], math.nan, math.nan
        for step in range(1, spec.steps + 1):
            tr.step(step)
            if step == grow_step:
                before = tr.evaluate(val)
                tr.model = widen(tr.model, noise, seed=spec.run_seed)
                tr.opt = _optimizer(tr.model, spec.lr)
                after = tr.evaluate(val)
            if step in checkpoints:
                tokens = step * spec.tokens_per_step
                flops = grown_flops(replace(spec, steps=step), min(step, grow_step))
                curve.append({"run": spec.name, "step": step, "tokens": tokens, "flops": flops,
                              "params": n_small if step <= grow_step else n_large,
                              "loss": tr.evaluate(val)})
    row = {"run": spec.name, "params_small": n_small, "params_large": n_large, "grow_step": int(grow_step),
           "steps": spec.steps, "tokens": spec.tokens, "flops": grown_flops(spec, grow_step),
           "loss": curve[-1]["loss"], "loss_before_growth": before, "loss_after_growth": after,
           "seed": spec.seed, "wall_s": time.perf_counter() - start}
    return {"row": row, "curve": curve}
