"""Decoding latency on one accelerator: the roofline of autoregressive generation.

Generating one token for each of ``b`` sequences runs the whole model once: it reads every weight
from memory (``N w`` bytes for ``N`` parameters of ``w`` bytes each) plus each sequence's key-value
cache, and does about ``2 N`` FLOPs per sequence (one multiply-add per weight; Kaplan et al. 2020,
Sec. 2.1, count ``2N`` forward FLOPs per token). A step can go no faster than either resource
allows (the roofline model of Williams et al. 2009)::

    t_step >= max( (N w + b M_kv) / bandwidth ,  2 N b / (peak x utilization) )     [s]

At small batch the first term wins: decoding is **memory-bound** and a step costs the same
whatever ``b`` is, so larger batches are nearly free. The two terms meet where the arithmetic
intensity of the step, ``2 N b / (N w) = 2 b / w`` FLOP per byte (weights only), equals the
accelerator's **ridge point** ``peak / bandwidth`` [FLOP/byte]; beyond that batch the step is
**compute-bound** (Pope et al. 2022 analyse the same trade-off for multi-chip inference).

The key-value cache of one sequence holds a key and a value vector per layer, per key-value head
and per token of context: ``M_kv = 2 n_layer n_kv_heads d_head n_ctx x bytes`` (Pope et al. 2022,
Sec. 2). Bytes per weight are the storage sizes of the number formats of chapter 8 (4 for fp32, 2
for bf16/fp16, 1 for fp8/int8, 0.5 for int4); quantization scale factors are neglected.

Units: parameters; bytes; bytes/s; FLOP/s; seconds; USD.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..validation import broadcast, positive_array, positive_scalar
from .compute import SECONDS_PER_HOUR

__all__ = [
    "WEIGHT_BYTES",
    "weight_bytes_per_param",
    "kv_cache_bytes_per_sequence",
    "kv_cache_bytes_per_token",
    "ridge_point",
    "ridge_batch",
    "DecodeStep",
    "decode_step",
    "largest_params_for_latency",
    "largest_batch_for_latency",
    "cost_per_million_tokens",
]

WEIGHT_BYTES: dict[str, float] = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0,
                                  "int4": 0.5}
"""Bytes per stored weight by number format (scale factors of quantized formats neglected)."""


def weight_bytes_per_param(dtype: str) -> float:
    """Bytes per weight of ``dtype`` (a key of :data:`WEIGHT_BYTES`)."""
    if not isinstance(dtype, str) or dtype not in WEIGHT_BYTES:
        raise ValueError(f"dtype = {dtype!r} is not one of {', '.join(WEIGHT_BYTES)}")
    return WEIGHT_BYTES[dtype]


def _fraction(name: str, value: float) -> float:
    v = positive_scalar(name, value)
    if v > 1:
        raise ValueError(f"{name} = {value!r} is above 1; give a fraction such as 0.5")
    return v


def _nonnegative(name: str, values: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=float)
    bad = ~np.isfinite(arr) | (arr < 0)
    if np.any(bad):
        i = int(np.flatnonzero(np.ravel(bad))[0])
        raise ValueError(f"{name} = {float(np.ravel(arr)[i])!r} is not a finite non-negative number")
    return arr


def kv_cache_bytes_per_sequence(n_layer: int, n_kv_heads: int, d_head: int, context_tokens: ArrayLike,
                                bytes_per_value: float = 2.0) -> NDArray[np.float64]:
    """Key-value cache of one sequence: ``2 n_layer n_kv_heads d_head n_ctx bytes_per_value``
    [bytes] (a key and a value vector per layer, key-value head and token; Pope et al. 2022)."""
    for name, v in (("n_layer", n_layer), ("n_kv_heads", n_kv_heads), ("d_head", d_head)):
        positive_scalar(name, v)
    ctx = _nonnegative("context_tokens", context_tokens)
    b = positive_scalar("bytes_per_value", bytes_per_value)
    return 2.0 * n_layer * n_kv_heads * d_head * ctx * b


def kv_cache_bytes_per_token(params: ArrayLike, *, aspect_ratio: float = 128.0, bytes_per_value: float = 2.0,
                             kv_head_fraction: float = 1.0) -> NDArray[np.float64]:
    """Key-value cache per token of context [bytes] of a decoder of ``params`` parameters with an
    assumed shape: ``N = 12 n_layer d_model^2`` (Kaplan et al. 2020, Eq. 2.1, non-embedding) and
    ``d_model = aspect_ratio x n_layer``, so ``n_layer = (N / (12 aspect_ratio^2))^(1/3)``; then
    ``2 n_layer d_model bytes_per_value kv_head_fraction`` (``kv_head_fraction`` < 1 for grouped-query
    attention: key-value heads over query heads). A stated approximation for models whose shape
    is not given; use :func:`kv_cache_bytes_per_sequence` when it is."""
    n = positive_array("params", params)
    ar = positive_scalar("aspect_ratio", aspect_ratio)
    b = positive_scalar("bytes_per_value", bytes_per_value)
    f = _fraction("kv_head_fraction", kv_head_fraction)
    n_layer = (n / (12.0 * ar**2)) ** (1.0 / 3.0)
    return 2.0 * n_layer * (ar * n_layer) * b * f


def ridge_point(peak_flops: ArrayLike, memory_bandwidth: ArrayLike) -> NDArray[np.float64]:
    """Arithmetic intensity [FLOP/byte] at which a roofline turns from memory- to compute-bound:
    ``peak / bandwidth`` (Williams et al. 2009). peak [FLOP/s], memory_bandwidth [bytes/s]."""
    p = positive_array("peak_flops", peak_flops)
    bw = positive_array("memory_bandwidth", memory_bandwidth)
    p, bw = broadcast(peak_flops=p, memory_bandwidth=bw)
    return p / bw


def ridge_batch(bytes_per_param: float, peak_flops: ArrayLike, memory_bandwidth: ArrayLike,
                utilization: float = 1.0) -> NDArray[np.float64]:
    """Batch at which decoding turns compute-bound when the weights dominate the bytes moved:
    ``2 b / w = utilization x peak / bandwidth``, so ``b* = w x utilization x ridge / 2``
    [sequences]."""
    w = positive_scalar("bytes_per_param", bytes_per_param)
    u = _fraction("utilization", utilization)
    return w * u * ridge_point(peak_flops, memory_bandwidth) / 2.0


@dataclass(frozen=True)
class DecodeStep:
    """One decoding step of ``batch`` sequences (arrays broadcast over the inputs).

    memory_s: time to read weights and caches [s]; compute_s: time for ``2 N b`` FLOPs at
    ``utilization x peak`` [s]; latency_s: their maximum, the time per generated token of each
    sequence [s]; tokens_per_s: ``batch / latency_s`` [tokens/s per accelerator];
    memory_bound: True where reading memory takes longer than computing.
    """

    params: NDArray[np.float64]
    batch: NDArray[np.float64]
    memory_s: NDArray[np.float64]
    compute_s: NDArray[np.float64]

    @property
    def latency_s(self) -> NDArray[np.float64]:
        return np.maximum(self.memory_s, self.compute_s)

    @property
    def tokens_per_s(self) -> NDArray[np.float64]:
        return self.batch / self.latency_s

    @property
    def memory_bound(self) -> NDArray[np.bool_]:
        return self.memory_s >= self.compute_s


def decode_step(params: ArrayLike, batch: ArrayLike, *, bytes_per_param: float,
                memory_bandwidth: float, peak_flops: float, kv_bytes_per_sequence: ArrayLike = 0.0,
                utilization: float = 1.0) -> DecodeStep:
    """The roofline time of one decoding step (module docstring):
    ``memory_s = (N w + b M_kv) / bandwidth`` and ``compute_s = 2 N b / (utilization x peak)``.

    params: N [parameters]; batch: b [sequences]; bytes_per_param: w [bytes]; memory_bandwidth
    [bytes/s]; peak_flops [FLOP/s]; kv_bytes_per_sequence: M_kv [bytes]; utilization: the
    fraction of peak the matrix products reach (0, 1].
    """
    n = positive_array("params", params)
    b = positive_array("batch", batch)
    w = positive_scalar("bytes_per_param", bytes_per_param)
    bw = positive_scalar("memory_bandwidth", memory_bandwidth)
    peak = positive_scalar("peak_flops", peak_flops)
    u = _fraction("utilization", utilization)
    kv = _nonnegative("kv_bytes_per_sequence", kv_bytes_per_sequence)
    n, b, kv = broadcast(params=n, batch=b, kv_bytes_per_sequence=kv)
    return DecodeStep(params=n, batch=b, memory_s=(n * w + b * kv) / bw,
                      compute_s=2.0 * n * b / (u * peak))


def largest_params_for_latency(latency_s: ArrayLike, *, bytes_per_param: float, memory_bandwidth: float,
                               peak_flops: float, batch: float = 1.0, kv_bytes_per_sequence: float = 0.0,
                               memory_bytes: float | None = None,
                               utilization: float = 1.0) -> NDArray[np.float64]:
    """The largest model [parameters] whose decoding step of ``batch`` sequences takes at most
    ``latency_s`` [s] per token, and (if ``memory_bytes`` is given) whose weights and caches fit:

    ``N_max = min( (t bw - b M_kv) / w,  t u peak / (2 b),  (M - b M_kv) / w )``.

    0 where even the caches alone break the target. Other arguments as :func:`decode_step`.
    """
    t = positive_array("latency_s", latency_s)
    w = positive_scalar("bytes_per_param", bytes_per_param)
    bw = positive_scalar("memory_bandwidth", memory_bandwidth)
    peak = positive_scalar("peak_flops", peak_flops)
    b = positive_scalar("batch", batch)
    kv = float(_nonnegative("kv_bytes_per_sequence", kv_bytes_per_sequence))
    u = _fraction("utilization", utilization)
    n = np.minimum((t * bw - b * kv) / w, t * u * peak / (2.0 * b))
    if memory_bytes is not None:
        m = positive_scalar("memory_bytes", memory_bytes)
        n = np.minimum(n, (m - b * kv) / w)
    return np.maximum(n, 0.0)


def largest_batch_for_latency(params: ArrayLike, latency_s: float, *, bytes_per_param: float,
                              memory_bandwidth: float, peak_flops: float, kv_bytes_per_sequence: ArrayLike,
                              memory_bytes: float | None = None,
                              utilization: float = 1.0) -> NDArray[np.float64]:
    """The largest batch [sequences, real-valued] whose decoding step of a model of ``params``
    parameters stays within ``latency_s`` [s] (and within ``memory_bytes`` if given):

    ``b_max = min( (t bw - N w) / M_kv,  t u peak / (2 N),  (M - N w) / M_kv )``.

    0 where the weights alone break the target; ``kv_bytes_per_sequence`` (positive) broadcasts
    with ``params``.
    """
    n = positive_array("params", params)
    t = positive_scalar("latency_s", latency_s)
    w = positive_scalar("bytes_per_param", bytes_per_param)
    bw = positive_scalar("memory_bandwidth", memory_bandwidth)
    peak = positive_scalar("peak_flops", peak_flops)
    kv = positive_array("kv_bytes_per_sequence", kv_bytes_per_sequence)
    u = _fraction("utilization", utilization)
    n, kv = broadcast(params=n, kv_bytes_per_sequence=kv)
    b = np.minimum((t * bw - n * w) / kv, t * u * peak / (2.0 * n))
    if memory_bytes is not None:
        m = positive_scalar("memory_bytes", memory_bytes)
        b = np.minimum(b, (m - n * w) / kv)
    return np.maximum(b, 0.0)


def cost_per_million_tokens(price_per_hour: ArrayLike, tokens_per_s: ArrayLike) -> NDArray[np.float64]:
    """Dollars per million generated tokens of an accelerator rented at ``price_per_hour``
    [USD per accelerator-hour] that generates ``tokens_per_s`` [tokens/s]:
    ``1e6 x price / 3600 / tokens_per_s`` [USD per 1e6 tokens]."""
    p = positive_array("price_per_hour", price_per_hour)
    r = positive_array("tokens_per_s", tokens_per_s)
    p, r = broadcast(price_per_hour=p, tokens_per_s=r)
    return 1e6 * p / SECONDS_PER_HOUR / r
