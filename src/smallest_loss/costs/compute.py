"""From dollars and GPU-hours to training FLOPs.

``C = n_GPU-hours x 3600 s/h x peak FLOP/s x utilization`` where utilization is the model FLOPs
utilization (MFU): the fraction of the accelerator's peak that the training run turns into model
FLOPs. Chowdhery et al. 2022 (PaLM, Appendix B) define it with the model FLOPs of forward and backward
passes, ``6N + 12 L H Q T`` per token (N parameters, L layers, H heads, head size Q, sequence length
T): the attention term is counted, recomputation (rematerialization) is not. With C = 6ND, as in
this book, the attention term is left out, so an MFU quoted in PaLM's convention slightly overstates
the 6ND FLOPs delivered for long sequences.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..validation import broadcast, positive_array

__all__ = ["SECONDS_PER_HOUR", "PF_DAY", "flops_from_gpu_hours", "flops_from_dollars", "gpu_hours_from_flops"]

SECONDS_PER_HOUR = 3600.0
PF_DAY = 1e15 * 86400.0
"""One petaflop/s-day, 8.64e19 FLOP, the compute unit of Kaplan et al. 2020 (Sec. 1.3)."""


def _utilization(values: ArrayLike) -> NDArray[np.float64]:
    u = positive_array("utilization", values)
    if np.any(u > 1):
        i = int(np.flatnonzero(np.ravel(u) > 1)[0])
        raise ValueError(f"utilization = {float(np.ravel(u)[i])!r} is above 1; give a fraction such as 0.4")
    return u


def flops_from_gpu_hours(gpu_hours: ArrayLike, peak_flops_per_s: ArrayLike, utilization: ArrayLike) -> NDArray[np.float64]:
    """Model FLOPs bought by ``gpu_hours`` [GPU-hours] at ``peak_flops_per_s`` [FLOP/s per GPU]
    and ``utilization`` (MFU, a fraction in (0, 1]). [FLOP]"""
    h = positive_array("gpu_hours", gpu_hours)
    p = positive_array("peak_flops_per_s", peak_flops_per_s)
    u = _utilization(utilization)
    h, p, u = broadcast(gpu_hours=h, peak_flops_per_s=p, utilization=u)
    return h * SECONDS_PER_HOUR * p * u


def flops_from_dollars(
    dollars: ArrayLike, price_per_gpu_hour: ArrayLike, peak_flops_per_s: ArrayLike, utilization: ArrayLike
) -> NDArray[np.float64]:
    """Model FLOPs bought by ``dollars`` [USD] at ``price_per_gpu_hour`` [USD per GPU-hour]. [FLOP]"""
    usd = positive_array("dollars", dollars)
    price = positive_array("price_per_gpu_hour", price_per_gpu_hour)
    usd, price = broadcast(dollars=usd, price_per_gpu_hour=price)
    return flops_from_gpu_hours(usd / price, peak_flops_per_s, utilization)


def gpu_hours_from_flops(flops: ArrayLike, peak_flops_per_s: ArrayLike, utilization: ArrayLike) -> NDArray[np.float64]:
    """GPU-hours needed to deliver ``flops`` [FLOP] of model compute. [GPU-hours]"""
    c = positive_array("flops", flops)
    p = positive_array("peak_flops_per_s", peak_flops_per_s)
    u = _utilization(utilization)
    c, p, u = broadcast(flops=c, peak_flops_per_s=p, utilization=u)
    return c / (SECONDS_PER_HOUR * p * u)
