"""Quantization-aware training of the study's model: weights fake-quantized to ``k`` bits during
training, and a fit of Kumar et al.'s effective-parameter form to the runs (chapter 8).

**Fake quantization.** Each weight matrix of the transformer blocks (attention ``qkv`` and
``proj``, MLP ``fc`` and ``out``) is rounded in the forward pass to a symmetric ``k``-bit integer
grid with one scale per output channel (row), its absolute maximum::

    s_r = max_j |W_rj| / (2^(k-1) - 1),    Q(W)_rj = s_r clamp(round(W_rj / s_r), -(2^(k-1) - 1), 2^(k-1) - 1)

(round half to even; a row of zeros stays zero). The backward pass treats the rounding as the
identity, the *straight-through estimator* (Bengio, Léonard and Courville 2013): the gradient
with respect to ``Q(W)`` is applied to the full-precision ``W`` that the optimizer keeps. The
embedding (tied to the output layer) and the LayerNorm weights stay in full precision, as do the
activations: only the weights of the blocks, the non-embedding matrices, are quantized.

**The law.** Kumar et al. (2024, arXiv:2411.04330) model training in low precision as a loss of
effective parameters, ``N_eff = N (1 - exp(-P_w / gamma_w))`` for weights in ``P_w`` bits
(:func:`smallest_loss.laws.precision.effective_params`). With every run on the same tokens the data
term is one constant, so the loss of a run of ``N`` non-embedding parameters and ``k``-bit weights is
``L = E' + A N_eff^-alpha``; :func:`fit_weight_precision` fits ``E', A, alpha, gamma_w`` to runs.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from ..laws.precision import effective_params
from ..validation import as_float_array, positive_array
from .train import RunSpec, _ThreadCount, _Trainer

__all__ = ["fake_quantize", "FakeQuantize", "quantize_weights", "QUANTIZED_LAYERS", "train_quantized",
           "WeightPrecisionFit", "fit_weight_precision", "MAX_BITS"]

QUANTIZED_LAYERS = ("qkv", "proj", "fc", "out")
"""The linear layers of each block whose weights are fake-quantized."""
MAX_BITS = 24
"""Largest bit width accepted (beyond it float32 rounding, not the grid, limits the precision)."""


def _check_bits(bits) -> int:
    if isinstance(bits, bool) or not isinstance(bits, numbers.Integral) or not 2 <= bits <= MAX_BITS:
        raise ValueError(f"bits = {bits!r} must be an integer from 2 to {MAX_BITS}")
    return int(bits)


def fake_quantize(w, bits: int):
    """``w`` (a 2-D torch tensor, ``[out, in]``) rounded to ``bits``-bit symmetric integers with one
    absmax scale per row, returned in ``w``'s dtype; gradients pass straight through to ``w``."""
    k = _check_bits(bits)
    if w.dim() != 2:
        raise ValueError(f"w has {w.dim()} dimensions; a 2-D weight [out, in] is needed")
    qmax = 2 ** (k - 1) - 1
    with torch.no_grad():
        scale = w.abs().amax(dim=1, keepdim=True) / qmax
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        q = torch.clamp(torch.round(w / scale), -qmax, qmax) * scale
    return w + (q - w).detach()   # forward: q; backward: identity (straight-through)


class FakeQuantize(nn.Module):
    """A ``torch.nn.utils.parametrize`` parametrization: the weight seen by the layer is
    :func:`fake_quantize` of the stored one, at ``bits`` bits."""

    def __init__(self, bits: int) -> None:
        super().__init__()
        self.bits = _check_bits(bits)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return fake_quantize(w, self.bits)

    def extra_repr(self) -> str:
        return f"bits={self.bits}"


def quantize_weights(model, bits: int) -> None:
    """Register :class:`FakeQuantize` on the :data:`QUANTIZED_LAYERS` weights of every block of
    ``model`` (in place). The stored parameters stay the same objects, so an optimizer built
    before keeps updating them."""
    from torch.nn.utils import parametrize

    _check_bits(bits)
    for block in model.blocks:
        for name in QUANTIZED_LAYERS:
            parametrize.register_parametrization(getattr(block, name), "weight", FakeQuantize(bits))


def train_quantized(spec: RunSpec | dict, bits: int | None, source) -> dict:
    """Train ``spec`` with block weights fake-quantized to ``bits`` bits (``None``: no quantization,
    the same run as :func:`~smallest_loss.study.train.train_run`); return the row ``{run, bits,
    params, params_nonembedding, tokens, flops, loss, seed, wall_s}`` with the final held-out loss
    [nats/token] (evaluated with the quantized weights)."""
    if isinstance(spec, dict):
        spec = RunSpec(**spec)
    if bits is not None:
        _check_bits(bits)
    start = time.perf_counter()
    with _ThreadCount(spec.threads):
        tr = _Trainer(spec, source)
        if bits is not None:
            quantize_weights(tr.model, bits)
        val = torch.from_numpy(source.validation(spec.eval_seqs, spec.n_ctx)).to(tr.device)
        for step in range(1, spec.steps + 1):
            tr.step(step)
        loss = tr.evaluate(val)
    return {"run": spec.name, "bits": math.inf if bits is None else int(bits), "params": spec.params,
            "params_nonembedding": spec.params_nonembedding, "tokens": spec.tokens, "flops": spec.flops,
            "loss": loss, "seed": spec.seed, "wall_s": time.perf_counter() - start}


@dataclass(frozen=True)
class WeightPrecisionFit:
    """Kumar et al.'s weight term fitted to runs at one token count: ``gamma`` [bits] in
    ``N_eff = N (1 - exp(-P / gamma))``, with the loss of an unquantized model of ``N`` parameters
    read from the highest-precision runs (``base_params``, ``base_loss``: one point per size,
    interpolated linearly in ``ln N``); ``rms`` the root-mean-square residual [nats/token]."""

    gamma: float
    rms: float
    base_bits: float
    base_params: tuple[float, ...]
    base_loss: tuple[float, ...]

    def factor(self, bits: ArrayLike) -> np.ndarray:
        """``N_eff / N = 1 - exp(-bits / gamma)``."""
        return -np.expm1(-np.asarray(bits, dtype=float) / self.gamma)

    def loss(self, params: ArrayLike, bits: ArrayLike) -> np.ndarray:
        """Predicted loss [nats/token]: the unquantized size curve at ``N_eff``, normalised so that
        the baseline runs (``base_bits``) lie on it."""
        n_eff = effective_params(params, bits, gamma_w=self.gamma) / self.factor(self.base_bits)
        return _size_curve(np.asarray(self.base_params), np.asarray(self.base_loss), n_eff)


def _size_curve(base_n: np.ndarray, base_l: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Piecewise-linear interpolation of loss in ``ln N`` through the baseline points, extended
    linearly beyond the end points."""
    x, xq = np.log(base_n), np.log(np.asarray(n, dtype=float))
    j = np.clip(np.searchsorted(x, xq) - 1, 0, x.size - 2)
    slope = (base_l[j + 1] - base_l[j]) / (x[j + 1] - x[j])
    return base_l[j] + slope * (xq - x[j])


def fit_weight_precision(params: ArrayLike, bits: ArrayLike, loss: ArrayLike) -> WeightPrecisionFit:
    """Fit ``gamma`` of ``N_eff = N (1 - exp(-P / gamma))`` (Kumar et al. 2024's weight term) to runs
    of ``params`` parameters, ``bits``-bit weights and final ``loss`` [nats/token], all on the same
    tokens. The rest of the law is fixed by the runs at the highest precision (one per size, the
    mean where several): a run of ``N`` parameters at ``P`` bits is predicted to reach the loss of
    a highest-precision run of ``N_eff`` parameters, read from those runs' loss against ``ln N``
    (so no power law in ``N`` is imposed on sizes that may not follow one). Needs at least two
    sizes, each with a highest-precision run, and one lower precision. ``gamma`` is found by a
    bounded scalar least-squares search on ``[0.05, 50]`` bits."""
    from scipy.optimize import minimize_scalar

    n = positive_array("params", params)
    p = positive_array("bits", bits)
    y = as_float_array("loss", loss)
    if not (n.shape == p.shape == y.shape and n.ndim == 1):
        raise ValueError(f"params, bits and loss must be 1-D of one length, got {n.shape}, {p.shape}, {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"loss[{int(np.flatnonzero(~np.isfinite(y))[0])}] is not finite")
    top = float(p.max())
    sizes = np.unique(n)
    if sizes.size < 2 or np.unique(p).size < 2:
        raise ValueError(f"{sizes.size} sizes and {np.unique(p).size} precisions: need at least 2 of each")
    missing = [float(s) for s in sizes if not np.any((n == s) & (p == top))]
    if missing:
        raise ValueError(f"params = {missing[0]:g} has no run at the highest precision, {top:g} bits")
    base_l = np.array([y[(n == s) & (p == top)].mean() for s in sizes])
    low = p < top

    def sse(log_gamma: float) -> float:
        fit = WeightPrecisionFit(float(np.exp(log_gamma)), 0.0, top, tuple(sizes), tuple(base_l))
        return float(np.sum((fit.loss(n[low], p[low]) - y[low]) ** 2))

    grid = np.linspace(np.log(0.05), np.log(50.0), 200)
    start = grid[int(np.argmin([sse(g) for g in grid]))]
    step = grid[1] - grid[0]
    r = minimize_scalar(sse, bounds=(max(grid[0], start - step), min(grid[-1], start + step)),
                        method="bounded", options={"xatol": 1e-10})
    gamma = float(np.exp(r.x))
    return WeightPrecisionFit(gamma, float(np.sqrt(r.fun / low.sum())), top, tuple(float(v) for v in sizes),
                              tuple(float(v) for v in base_l))
