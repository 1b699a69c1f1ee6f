"""Block-wise 8-bit quantization of non-negative optimizer state (Dettmers et al. 2022).

A tensor is cut into blocks of ``block_size`` values; each block is divided by its absolute
maximum (one fp32 constant per block, stored next to the 8-bit codes) and each ratio in [0, 1] is
rounded to the nearest of 256 levels. With ``block_size`` equal to the tensor's length this is
tensor-wide quantization. Two codes: ``"linear"`` (levels ``k / 255``) and a non-linear
``geometric_code`` (zero and 255 levels spaced geometrically up to 1), a simple stand-in for
Dettmers et al.'s dynamic tree code whose levels are likewise dense near zero.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["LINEAR_CODE", "geometric_code", "blockwise_quantize"]

LINEAR_CODE = np.arange(256) / 255.0
"""256 evenly spaced levels on [0, 1]."""


def geometric_code(smallest: float = 1e-7, n_levels: int = 256) -> NDArray[np.float64]:
    """Zero and ``n_levels - 1`` levels spaced geometrically from ``smallest`` to 1 (sorted)."""
    if isinstance(n_levels, bool) or not isinstance(n_levels, numbers.Integral) or n_levels < 3:
        raise ValueError(f"n_levels = {n_levels!r} is not an integer of at least 3")
    if not isinstance(smallest, numbers.Real) or not 0 < float(smallest) < 1:
        raise ValueError(f"smallest = {smallest!r} is not in (0, 1)")
    return np.concatenate([[0.0], np.geomspace(float(smallest), 1.0, int(n_levels) - 1)])


def blockwise_quantize(x: ArrayLike, block_size: int, code: ArrayLike = LINEAR_CODE) -> NDArray[np.float64]:
    """``x`` (non-negative, 1-D, length a multiple of ``block_size``) quantized block by block and
    dequantized again: each value becomes ``absmax(block) x`` the level of ``code`` nearest to
    ``value / absmax(block)`` (ties to the lower level). ``code``: sorted levels in [0, 1] that
    include 0 and 1 (:data:`LINEAR_CODE`, :func:`geometric_code`). An all-zero block stays zero."""
    v = np.asarray(x, dtype=float)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"x has shape {v.shape}; a non-empty 1-D array is needed")
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        i = int(np.flatnonzero(~np.isfinite(v) | (v < 0))[0])
        raise ValueError(f"x[{i}] = {v[i]!r} is not a finite non-negative number")
    if isinstance(block_size, bool) or not isinstance(block_size, numbers.Integral) or block_size < 1:
        raise ValueError(f"block_size = {block_size!r} is not a positive integer")
    if v.size % int(block_size):
        raise ValueError(f"block_size = {block_size} does not divide the length {v.size} of x")
    levels = np.asarray(code, dtype=float)
    if levels.ndim != 1 or levels.size < 2 or levels[0] != 0.0 or levels[-1] != 1.0 \
            or np.any(np.diff(levels) <= 0):
        raise ValueError("code is not a strictly increasing array of levels from 0 to 1")
    xb = v.reshape(-1, int(block_size))
    absmax = xb.max(axis=1, keepdims=True)
    r = np.divide(xb, absmax, out=np.zeros_like(xb), where=absmax > 0)
    i = np.clip(np.searchsorted(levels, r), 1, levels.size - 1)
    lo, hi = levels[i - 1], levels[i]
    q = np.where(r - lo <= hi - r, lo, hi)
    return (q * absmax).ravel()
