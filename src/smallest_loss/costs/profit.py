"""The profit-maximising model: a stated revenue model minus training and inference cost, under a
latency constraint.

Everything here is an **assumption** made explicit as an argument:

* **Revenue.** ``Q`` queries over the model's life, each worth ``v`` dollars when answered
  correctly; a query is answered correctly with probability ``1 - Err(L)``, the average downstream
  accuracy that a :class:`~smallest_loss.laws.downstream.DownstreamLaw` predicts from the loss
  ``L(N, D)`` of a Chinchilla-form law. Revenue ``= Q v (1 - Err(L(N, D)))`` [USD].
* **Training cost.** ``6 N D`` FLOPs at ``dollars_per_training_flop`` [USD/FLOP] (chapter 10:
  price per accelerator-hour over 3,600 s x peak x MFU).
* **Inference cost.** Each query generates ``tokens_per_query`` tokens, each in a decoding step
  whose time obeys the roofline of :mod:`smallest_loss.costs.inference`; the server batches as many
  sequences as the per-token **latency target** and the memory allow (real-valued batch, at least 1),
  and pays ``price_per_hour`` per accelerator-hour for the time. The key-value cache per sequence
  is that of ``context_tokens`` tokens for the shape assumed by
  :func:`~smallest_loss.costs.inference.kv_cache_bytes_per_token`. Prompt processing (prefill) is
  not charged. A model whose weights and one sequence's cache do not meet the target is infeasible.

Profit ``= revenue - training cost - inference cost`` [USD] is maximised over ``N`` and ``D`` on a
log grid, then refined by coordinate-wise golden-section search in ``(log N, log D)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..counting import training_flops
from ..laws.chinchilla import ChinchillaLaw
from ..laws.downstream import DownstreamLaw
from ..validation import positive_array, positive_scalar
from .compute import SECONDS_PER_HOUR
from .inference import decode_step, kv_cache_bytes_per_token, largest_batch_for_latency

__all__ = ["ServingHardware", "ProfitModel", "ProfitBreakdown", "profit", "profit_optimum"]


@dataclass(frozen=True)
class ServingHardware:
    """The accelerator a model is served on (``chips`` of them sharing the model ideally).

    memory_bandwidth [bytes/s], peak_flops [FLOP/s], memory_bytes [bytes], price_per_hour
    [USD per accelerator-hour] of one chip; bytes_per_param: bytes per stored weight;
    utilization: fraction of peak the decoding matrix products reach; chips: accelerators per
    model replica (bandwidth, peak, memory and price all scale with it).
    """

    memory_bandwidth: float
    peak_flops: float
    memory_bytes: float
    price_per_hour: float
    bytes_per_param: float = 2.0
    utilization: float = 0.5
    chips: int = 1

    def __post_init__(self) -> None:
        for name in ("memory_bandwidth", "peak_flops", "memory_bytes", "price_per_hour", "bytes_per_param"):
            positive_scalar(name, getattr(self, name))
        u = positive_scalar("utilization", self.utilization)
        if u > 1:
            raise ValueError(f"utilization = {self.utilization!r} is above 1")
        if isinstance(self.chips, bool) or not isinstance(self.chips, (int, np.integer)) or self.chips < 1:
            raise ValueError(f"chips = {self.chips!r} is not a positive integer")


@dataclass(frozen=True)
class ProfitModel:
    """The stated economics of one model's life (module docstring).

    law: loss law L(N, D); downstream: error law Err(L) on the same loss; queries: Q over the
    model's life; value_per_query: v [USD per correct answer]; tokens_per_query: generated tokens
    per query; latency_s: per-token latency target [s]; context_tokens: average context held in
    the key-value cache while decoding [tokens]; dollars_per_training_flop [USD/FLOP];
    hardware: :class:`ServingHardware`; aspect_ratio, kv_head_fraction: the assumed shape of
    :func:`~smallest_loss.costs.inference.kv_cache_bytes_per_token`.
    """

    law: ChinchillaLaw
    downstream: DownstreamLaw
    queries: float
    value_per_query: float
    tokens_per_query: float
    latency_s: float
    context_tokens: float
    dollars_per_training_flop: float
    hardware: ServingHardware
    aspect_ratio: float = 128.0
    kv_head_fraction: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.law, ChinchillaLaw):
            raise ValueError(f"law: expected a ChinchillaLaw, got {type(self.law).__name__}")
        if not isinstance(self.downstream, DownstreamLaw):
            raise ValueError(f"downstream: expected a DownstreamLaw, got {type(self.downstream).__name__}")
        if not isinstance(self.hardware, ServingHardware):
            raise ValueError(f"hardware: expected a ServingHardware, got {type(self.hardware).__name__}")
        for name in ("queries", "value_per_query", "tokens_per_query", "latency_s", "context_tokens",
                     "dollars_per_training_flop", "aspect_ratio", "kv_head_fraction"):
            positive_scalar(name, getattr(self, name))

    def with_(self, **changes) -> "ProfitModel":
        """A copy with some fields changed (``hardware`` fields may be given by name too)."""
        hw_fields = {k: changes.pop(k) for k in list(changes) if k in ServingHardware.__dataclass_fields__}
        hardware = replace(self.hardware, **hw_fields) if hw_fields else self.hardware
        return replace(self, hardware=hardware, **changes)


@dataclass(frozen=True)
class ProfitBreakdown:
    """Revenue, costs and profit [USD] of models ``params`` x ``tokens`` (arrays, broadcast).

    loss [nats/token]; error [fraction]; batch: sequences decoded together [real-valued];
    tokens_per_s: generated tokens per second per replica; feasible: the latency target and the
    memory admit a batch of at least one sequence (profit is -inf where not).
    """

    params: NDArray[np.float64]
    tokens: NDArray[np.float64]
    loss: NDArray[np.float64]
    error: NDArray[np.float64]
    batch: NDArray[np.float64]
    tokens_per_s: NDArray[np.float64]
    revenue: NDArray[np.float64]
    training_dollars: NDArray[np.float64]
    inference_dollars: NDArray[np.float64]
    feasible: NDArray[np.bool_]

    @property
    def profit(self) -> NDArray[np.float64]:
        p = self.revenue - self.training_dollars - self.inference_dollars
        return np.where(self.feasible, p, -np.inf)

    @property
    def tokens_per_param(self) -> NDArray[np.float64]:
        return self.tokens / self.params


def _serving(model: ProfitModel, n: NDArray[np.float64]):
    hw = model.hardware
    kv = model.context_tokens * kv_cache_bytes_per_token(
        n, aspect_ratio=model.aspect_ratio, kv_head_fraction=model.kv_head_fraction)
    kw = dict(bytes_per_param=hw.bytes_per_param, memory_bandwidth=hw.memory_bandwidth * hw.chips,
              peak_flops=hw.peak_flops * hw.chips, utilization=hw.utilization)
    b = largest_batch_for_latency(n, model.latency_s, kv_bytes_per_sequence=kv,
                                  memory_bytes=hw.memory_bytes * hw.chips, **kw)
    feasible = b >= 1.0
    step = decode_step(n, np.maximum(b, 1.0), kv_bytes_per_sequence=kv, **kw)
    return np.maximum(b, 1.0), step.tokens_per_s, feasible


def profit(model: ProfitModel, params: ArrayLike, tokens: ArrayLike) -> ProfitBreakdown:
    """Revenue, training and inference cost and profit of ``params`` [parameters] trained on
    ``tokens`` [tokens] under ``model`` (module docstring). Arrays broadcast."""
    n = positive_array("params", params)
    d = positive_array("tokens", tokens)
    n, d = np.broadcast_arrays(n, d)
    n, d = np.array(n, dtype=float), np.array(d, dtype=float)
    loss = model.law.loss(n, d)
    err = model.downstream.error(loss)
    batch, tps, feasible = _serving(model, n)
    hw = model.hardware
    seconds = model.queries * model.tokens_per_query / tps
    inference = seconds / SECONDS_PER_HOUR * hw.price_per_hour * hw.chips
    return ProfitBreakdown(
        params=n, tokens=d, loss=loss, error=err, batch=batch, tokens_per_s=tps,
        revenue=model.queries * model.value_per_query * (1.0 - err),
        training_dollars=training_flops(n, d) * model.dollars_per_training_flop,
        inference_dollars=inference, feasible=feasible,
    )


def _golden(f, a: float, b: float, steps: int = 60) -> float:
    """Maximiser of a unimodal ``f`` on ``[a, b]`` by golden-section search."""
    r = (np.sqrt(5.0) - 1.0) / 2.0
    for _ in range(steps):
        c, d = b - r * (b - a), a + r * (b - a)
        if f(c) >= f(d):
            b = d
        else:
            a = c
    return 0.5 * (a + b)


def profit_optimum(model: ProfitModel, *, params_range: tuple[float, float] = (1e7, 1e13),
                   tokens_range: tuple[float, float] = (1e8, 1e15), n_grid: int = 121) -> ProfitBreakdown:
    """The profit-maximising ``N`` and ``D`` (a scalar :class:`ProfitBreakdown`).

    A log grid of ``n_grid`` x ``n_grid`` points over ``params_range`` x ``tokens_range`` locates
    the best cell; golden-section searches in ``log D`` and ``log N`` (alternating, within one grid
    cell of it) refine it. ``ValueError`` if no grid point is feasible or the optimum lies on the
    edge of a range (widen it), or if every model loses money (the answer would be not to build
    one).
    """
    lo_n, hi_n = (positive_scalar("params_range[0]", params_range[0]),
                  positive_scalar("params_range[1]", params_range[1]))
    lo_d, hi_d = (positive_scalar("tokens_range[0]", tokens_range[0]),
                  positive_scalar("tokens_range[1]", tokens_range[1]))
    if lo_n >= hi_n or lo_d >= hi_d:
        raise ValueError("params_range and tokens_range must be increasing pairs")
    ln = np.linspace(np.log(lo_n), np.log(hi_n), n_grid)
    ld = np.linspace(np.log(lo_d), np.log(hi_d), n_grid)
    grid = profit(model, np.exp(ln)[:, None], np.exp(ld)[None, :]).profit
    if not np.isfinite(grid).any():
        raise ValueError("no model in params_range meets the latency target on this hardware")
    i, j = np.unravel_index(int(np.argmax(grid)), grid.shape)
    if not grid[i, j] > 0:
        raise ValueError(f"every model in the ranges loses money (best profit {grid[i, j]:.4g} USD)")
    if j in (0, n_grid - 1) or (i == 0):
        raise ValueError(f"the best grid point (N = {np.exp(ln[i]):.3g}, D = {np.exp(ld[j]):.3g}) "
                         "lies on the edge of the ranges; widen them")
    step_n, step_d = ln[1] - ln[0], ld[1] - ld[0]
    x, y = ln[i], ld[j]
    n_hi = ln[-1]
    feas = np.isfinite(grid[:, j])
    if i == n_grid - 1 or not feas[min(i + 1, n_grid - 1)]:
        n_hi = ln[i] + step_n  # the latency bound: search up to the next grid point
    for _ in range(4):
        y = _golden(lambda t: float(profit(model, np.exp(x), np.exp(t)).profit), y - step_d, y + step_d)
        x = _golden(lambda t: float(profit(model, np.exp(t), np.exp(y)).profit),
                    x - step_n, min(x + step_n, n_hi))
    best = profit(model, np.exp(x), np.exp(y))
    return best
