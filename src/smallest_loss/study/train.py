"""Training one run of the study: AdamW, linear warmup then cosine decay to the run's last step,
evaluation on held-out data at logarithmically spaced steps.

A run is fully described by a :class:`RunSpec` (shape, tokens per step, steps, peak learning rate,
seed): :func:`train_run` builds the model with ``torch.manual_seed`` of the run's seed, draws its
batches with a numpy generator of the same seed, sets the CPU thread count explicitly and returns
a plain dict (the ``runs.csv`` row and the curve), so a run gives the same loss wherever it
executes -- in this process, in a local worker process or on a Dask worker elsewhere -- as long as
the device kind and thread count are the same. With CUDA present the run uses it, with bf16
autocast; nothing requires a GPU. (On CUDA some kernels, such as the backward pass of attention,
add in an order that can change from call to call, so a rerun on a GPU may differ slightly; the
CPU path is bit-reproducible, which the tests check.)
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass

import numpy as np

from ..counting import training_flops
from .model import model_shape, param_counts

__all__ = ["RunSpec", "train_run", "lr_at", "eval_steps", "measure_throughput", "device_kind",
           "WARMUP_FRACTION", "FINAL_LR_FRACTION"]

WARMUP_FRACTION = 0.02
"""Linear warmup over the first 2% of a run's steps (at least one step)."""
FINAL_LR_FRACTION = 0.1
"""The cosine decay ends at 10% of the peak learning rate exactly at the run's last step, so every
run's schedule is matched to its own token budget (chapter 6)."""
BETAS = (0.9, 0.95)
WEIGHT_DECAY = 0.1
GRAD_CLIP = 1.0


@dataclass(frozen=True)
class RunSpec:
    """One training run. ``budget``: the isoFLOP budget it belongs to [FLOP]; ``batch``: sequences
    per step of ``n_ctx`` tokens; ``lr``: peak learning rate; ``n_eval``: evaluations (log-spaced
    steps, the last one at the final step); ``eval_seqs``: held-out sequences per evaluation;
    ``threads``: CPU threads (``torch.set_num_threads``); ``device``: ``"auto"`` (CUDA when
    present), ``"cpu"`` or ``"cuda"``."""

    name: str
    corpus: str
    budget: float
    n_layer: int
    d_model: int
    n_heads: int
    vocab_size: int
    n_ctx: int
    batch: int
    steps: int
    lr: float
    seed: int = 0
    n_eval: int = 8
    eval_seqs: int = 64
    threads: int = 1
    device: str = "auto"

    def __post_init__(self) -> None:
        for f in ("n_layer", "d_model", "n_heads", "vocab_size", "n_ctx", "batch", "steps", "n_eval",
                  "eval_seqs", "threads"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"run {self.name}: {f} = {v!r} must be a positive integer")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"run {self.name}: lr = {self.lr!r} must be a finite positive number")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"run {self.name}: device = {self.device!r} is not one of auto, cpu, cuda")
        model_shape(self.n_layer, self.d_model, self.n_heads, self.vocab_size, self.n_ctx)

    @property
    def shape(self):
        return model_shape(self.n_layer, self.d_model, self.n_heads, self.vocab_size, self.n_ctx)

    @property
    def tokens_per_step(self) -> int:
        return self.batch * self.n_ctx

    @property
    def tokens(self) -> int:
        return self.steps * self.tokens_per_step

    @property
    def params(self) -> int:
        """Total parameters (embedding counted once, positions included): Chinchilla's N."""
        return param_counts(self.shape)[0]

    @property
    def params_nonembedding(self) -> int:
        """Non-embedding parameters (attention, MLP, norms): Kaplan's N plus the norms."""
        return param_counts(self.shape)[1]

    @property
    def flops(self) -> float:
        """Training compute ``C = 6 N D`` with the total N [FLOP]."""
        return float(training_flops(self.params, self.tokens))

    @property
    def run_seed(self) -> int:
        """The seed of this run: the study's seed and the run's name, hashed (stable across Python
        processes, unlike ``hash``)."""
        return (int(self.seed) * 1_000_003 + zlib.crc32(self.name.encode())) % 2**63


def lr_at(step: int, steps: int, peak: float) -> float:
    """Learning rate of optimizer step ``step`` (1-based) of ``steps``: linear warmup over
    ``max(1, round(WARMUP_FRACTION steps))`` steps, then cosine from ``peak`` down to
    ``FINAL_LR_FRACTION peak`` reached at step ``steps``."""
    warmup = max(1, round(WARMUP_FRACTION * steps))
    if step <= warmup:
        return peak * step / warmup
    if steps == warmup:
        return peak
    progress = (step - warmup) / (steps - warmup)
    return peak * (FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * 0.5 * (1 + math.cos(math.pi * progress)))


def eval_steps(steps: int, n_eval: int) -> list[int]:
    """``n_eval`` logarithmically spaced steps from 1 to ``steps`` (rounded, duplicates dropped;
    the last is always ``steps``)."""
    grid = np.unique(np.round(np.geomspace(1, steps, n_eval)).astype(int))
    return [int(s) for s in grid if s >= 1] if steps > 1 else [1]


def device_kind(device: str = "auto") -> str:
    import torch

    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ValueError("device = 'cuda' but torch finds no CUDA device")
        return "cuda"
    return "cpu"


def _device_name(kind: str) -> str:
    import torch

    if kind == "cuda":
        return f"cuda:{torch.cuda.get_device_name(0)}"
    return "cpu"


class _Trainer:
    """The model, optimizer and data stream of one run (shared by :func:`train_run` and
    :func:`measure_throughput`)."""

    def __init__(self, spec: RunSpec, source) -> None:
        import torch

        from .model import GPT

        if source.vocab_size != spec.vocab_size:
            raise ValueError(f"run {spec.name}: vocab_size {spec.vocab_size} does not match the "
                             f"{source.vocab_size} symbols of {spec.corpus}")
        self.spec, self.source = spec, source
        self.kind = device_kind(spec.device)
        self.device = torch.device(self.kind)
        torch.manual_seed(spec.run_seed)
        self.model = GPT(spec.shape).to(self.device)
        decay = [p for p in self.model.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.model.parameters() if p.dim() < 2]
        self.opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}],
            lr=spec.lr, betas=BETAS, foreach=True)
        self.rng = np.random.default_rng(np.random.SeedSequence([spec.run_seed, 1]))
        self.autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if self.kind == "cuda"
                         else torch.autocast("cpu", enabled=False))

    def loss(self, xy):
        import torch.nn.functional as F

        with self.autocast:
            logits = self.model(xy[:, :-1])
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), xy[:, 1:].reshape(-1))

    def step(self, step: int) -> None:
        import torch

        s = self.spec
        xy = torch.from_numpy(self.source.train_batch(self.rng, s.batch, s.n_ctx)).to(self.device)
        for group in self.opt.param_groups:
            group["lr"] = lr_at(step, s.steps, s.lr)
        loss = self.loss(xy)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), GRAD_CLIP, foreach=True)
        self.opt.step()

    def evaluate(self, val) -> float:
        """Mean held-out loss [nats/token] over the fixed validation sequences, in chunks of ``batch``."""
        import torch

        self.model.eval()
        total = 0.0
        with torch.no_grad():
            for i in range(0, val.shape[0], self.spec.batch):
                chunk = val[i:i + self.spec.batch]
                total += float(self.loss(chunk)) * chunk.shape[0]
        self.model.train()
        return total / val.shape[0]

    def sync(self) -> None:
        import torch

        if self.kind == "cuda":
            torch.cuda.synchronize()


class _ThreadCount:
    """Set torch's CPU threads for the duration of a run, and restore the caller's count."""

    def __init__(self, threads: int) -> None:
        self.threads = threads

    def __enter__(self):
        import torch

        self.before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        return self

    def __exit__(self, *exc) -> None:
        import torch

        torch.set_num_threads(self.before)


def train_run(spec: RunSpec | dict, source, fail_after_steps: int | None = None) -> dict:
    """Train one run; return ``{"row": {...}, "curve": [{...}, ...]}``.

    ``row`` holds the ``runs.csv`` columns of this run (the version and commit are added by the
    sweep); ``curve`` the held-out loss at each evaluation step with its tokens and FLOPs. The
    final loss is the held-out loss at the last step. ``fail_after_steps`` (tests only) raises
    ``RuntimeError`` after that many steps, as a run killed mid-way.
    """
    import torch

    if isinstance(spec, dict):
        spec = RunSpec(**spec)
    start = time.perf_counter()
    with _ThreadCount(spec.threads):
        tr = _Trainer(spec, source)
        val = torch.from_numpy(source.validation(spec.eval_seqs, spec.n_ctx)).to(tr.device)
        checkpoints = set(eval_steps(spec.steps, spec.n_eval))
        curve = []
        n = spec.params
        train_time = 0.0
        for step in range(1, spec.steps + 1):
            t0 = time.perf_counter()
            tr.step(step)
            tr.sync()
            train_time += time.perf_counter() - t0
            if fail_after_steps is not None and step >= fail_after_steps:
                raise RuntimeError(f"run {spec.name}: stopped after {step} steps (test hook)")
            if step in checkpoints:
                tokens = step * spec.tokens_per_step
                curve.append({"run": spec.name, "step": step, "tokens": tokens,
                              "flops": float(training_flops(n, tokens)), "loss": tr.evaluate(val)})
    wall = time.perf_counter() - start
    tokens_per_s = spec.tokens / train_time
    epochs = spec.tokens / source.train_tokens if hasattr(source, "train_tokens") else 0.0
    row = {
        "run": spec.name, "budget": spec.budget, "params": n, "params_nonembedding": spec.params_nonembedding,
        "tokens": spec.tokens, "flops": spec.flops, "loss": curve[-1]["loss"],
        "corpus": spec.corpus, "n_layer": spec.n_layer, "d_model": spec.d_model, "n_heads": spec.n_heads,
        "n_ctx": spec.n_ctx, "batch": spec.batch, "steps": spec.steps, "lr": spec.lr, "epochs": epochs,
        "seed": spec.seed, "device": _device_name(tr.kind), "threads": spec.threads,
        "wall_s": wall, "tokens_per_s": tokens_per_s, "flops_per_s": 6.0 * n * tokens_per_s,
    }
    return {"row": row, "curve": curve}


def measure_throughput(spec: RunSpec, source, seconds: float = 3.0, warmup_steps: int = 3) -> dict:
    """Train ``spec`` for about ``seconds`` after ``warmup_steps`` untimed steps; return tokens/s
    and the model FLOP/s ``6 N tokens/s`` (the numerator of MFU)."""
    with _ThreadCount(spec.threads):
        tr = _Trainer(spec, source)
        for k in range(warmup_steps):
            tr.step(k + 1)
        tr.sync()
        steps, t0 = 0, time.perf_counter()
        while True:
            tr.step(warmup_steps + steps + 1)
            steps += 1
            if steps >= 2 and time.perf_counter() - t0 >= seconds:
                break
        tr.sync()
        dt = time.perf_counter() - t0
    tokens_per_s = steps * spec.tokens_per_step / dt
    return {"steps": steps, "seconds": dt, "tokens_per_s": tokens_per_s,
            "flops_per_s": 6.0 * spec.params * tokens_per_s, "device": _device_name(tr.kind)}

