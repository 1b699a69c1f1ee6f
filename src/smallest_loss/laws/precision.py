"""The functional form of Kumar et al. (2024), "Scaling Laws for Precision" (arXiv:2411.04330).

Training in low precision lowers the *effective* parameter count. With weights, activations and
the key-value cache held in ``P_w``, ``P_a`` and ``P_kv`` bits during training,

    N_eff = N (1 - exp(-P_w / gamma_w)) (1 - exp(-P_a / gamma_a)) (1 - exp(-P_kv / gamma_kv))

and the loss is Chinchilla's with ``N_eff`` in place of ``N``:
``L = A N_eff^-alpha + B D^-beta + E``. Each factor tends to 1 at high precision; ``gamma`` (in
bits) measures how sensitive each part is. Quantizing a model *after* training to ``P_post`` bits
adds a degradation that grows with the training tokens and shrinks with model size,

    delta_PTQ = C_T (D^gamma_D / N^gamma_N) exp(-P_post / gamma_post).

This module implements these forms with every constant an argument: it ships no fitted values.
Kumar et al. list theirs in their Appendix K, which no copy of the paper available to this
project contains (data/PAPER_NOTES.md, 8.7b); their main text gives the cost model
``C = (6/16) N D P`` (Sec. 4.3, Eq. 5) and the compute-optimal precision it implies with their
fits, "around 7-8 bits" (Sec. 4.3.2, Finding 3), from which :func:`sensitivity_for_optimal_precision`
recovers the mean sensitivity that the claim requires.
Two consequences follow from the forms alone and are derived here:

* with post-training quantization, the loss ``A N^-alpha + B D^-beta + E + delta_PTQ`` is smallest at
  a finite number of tokens, ``D* = [beta B N^gamma_N exp(P_post/gamma_post) / (gamma_D C_T)]^(1/(beta+gamma_D))``:
  past it, more pretraining data raises the loss of the quantized model
  (:func:`tokens_minimising_ptq_loss`);
* under Kumar et al.'s cost model for the compute-optimal precision (their Sec. 4.3: training
  cost proportional to ``N D P``, i.e. throughput that doubles whenever the bits halve) and with
  all three parts trained in ``P`` bits, the loss-minimising precision at fixed
  cost minimises ``P / prod_i (1 - exp(-P / gamma_i))``, whatever the budget and whatever ``A``,
  ``B``, ``alpha``, ``beta`` (:func:`compute_optimal_precision`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq

from ..validation import broadcast, positive_array, positive_scalar

__all__ = [
    "precision_factor",
    "effective_params",
    "ptq_degradation",
    "loss_with_ptq",
    "tokens_minimising_ptq_loss",
    "compute_optimal_precision",
    "sensitivity_for_optimal_precision",
    "loss_low_precision_training",
    "optimum_at_fixed_cost",
    "bits_for_factor",
    "KUMAR2024_COST_FLOPS_PER_PARAM_TOKEN_BIT",
]

KUMAR2024_COST_FLOPS_PER_PARAM_TOKEN_BIT = 6.0 / 16.0
"""Kumar et al. (2024), Sec. 4.3, Eq. 5: training cost ``C = (6/16) N D P`` [FLOP] for ``N``
parameters, ``D`` tokens and ``P`` bits in weights, activations and KV cache alike, so that
``P = 16`` gives Hoffmann et al.'s ``C = 6 N D``."""


def precision_factor(bits: ArrayLike, gamma: float) -> NDArray[np.float64]:
    """``1 - exp(-bits / gamma)``: the fraction of parameters left effective by one part held in
    ``bits`` bits during training (Kumar et al. 2024). ``bits`` may be ``inf`` (no quantization)."""
    p = np.asarray(bits, dtype=float)
    if np.any(np.isnan(p)) or np.any(p <= 0):
        i = int(np.flatnonzero(np.ravel(np.isnan(p) | (p <= 0)))[0])
        raise ValueError(f"bits = {float(np.ravel(p)[i])!r} is not a positive number of bits")
    g = positive_scalar("gamma", gamma)
    return -np.expm1(-p / g)


def effective_params(params: ArrayLike, bits_weights: ArrayLike = np.inf,
                     bits_activations: ArrayLike = np.inf, bits_kv: ArrayLike = np.inf, *,
                     gamma_w: float = 1.0, gamma_a: float = 1.0, gamma_kv: float = 1.0) -> NDArray[np.float64]:
    """``N_eff``: ``params`` times one precision factor per part trained in low precision."""
    n = positive_array("params", params)
    f = (precision_factor(bits_weights, gamma_w) * precision_factor(bits_activations, gamma_a)
         * precision_factor(bits_kv, gamma_kv))
    return n * f


def ptq_degradation(params: ArrayLike, tokens: ArrayLike, bits_post: ArrayLike, *, C_T: float,
                    gamma_D: float, gamma_N: float, gamma_post: float) -> NDArray[np.float64]:
    """``delta_PTQ = C_T D^gamma_D N^-gamma_N exp(-P_post / gamma_post)`` [nats/token]."""
    n = positive_array("params", params)
    d = positive_array("tokens", tokens)
    p = positive_array("bits_post", bits_post)
    c = positive_scalar("C_T", C_T)
    gd = positive_scalar("gamma_D", gamma_D)
    gn = positive_scalar("gamma_N", gamma_N)
    gp = positive_scalar("gamma_post", gamma_post)
    n, d, p = broadcast(params=n, tokens=d, bits_post=p)
    return c * d ** gd / n ** gn * np.exp(-p / gp)


def loss_with_ptq(law, params: ArrayLike, tokens: ArrayLike, bits_post: ArrayLike, **ptq) -> NDArray[np.float64]:
    """Loss of a model trained in high precision and quantized to ``bits_post`` bits afterwards:
    ``law(N, D) + delta_PTQ`` with ``law`` any object with ``E, A, B, alpha, beta`` (a
    :class:`~smallest_loss.laws.chinchilla.ChinchillaLaw`) and the degradation constants as keywords."""
    n = positive_array("params", params)
    d = positive_array("tokens", tokens)
    base = law.E + law.A / n ** law.alpha + law.B / d ** law.beta
    return base + ptq_degradation(n, d, bits_post, **ptq)


def tokens_minimising_ptq_loss(law, params: ArrayLike, bits_post: ArrayLike, *, C_T: float,
                               gamma_D: float, gamma_N: float, gamma_post: float) -> NDArray[np.float64]:
    """Training tokens past which more data raises the post-quantization loss:
    ``D* = [beta B N^gamma_N exp(P_post / gamma_post) / (gamma_D C_T)]^(1 / (beta + gamma_D))``,
    where ``d/dD (B D^-beta + delta_PTQ) = 0``. [tokens]"""
    n = positive_array("params", params)
    p = positive_array("bits_post", bits_post)
    c = positive_scalar("C_T", C_T)
    gd = positive_scalar("gamma_D", gamma_D)
    gn = positive_scalar("gamma_N", gamma_N)
    gp = positive_scalar("gamma_post", gamma_post)
    n, p = broadcast(params=n, bits_post=p)
    log_d = (np.log(law.beta * law.B / (gd * c)) + gn * np.log(n) + p / gp) / (law.beta + gd)
    return np.exp(log_d)


def compute_optimal_precision(gammas) -> float:
    """Training precision [bits] that minimises the loss at fixed cost ``C ∝ N D P`` when weights,
    activations and KV cache are all trained in ``P`` bits with sensitivities ``gammas`` [bits]:
    the minimiser of ``P / prod_i (1 - exp(-P / gamma_i))``, i.e. the root of
    ``1 / P = sum_i 1 / (gamma_i (exp(P / gamma_i) - 1))``. Needs at least two parts (with one, the
    ratio falls all the way to ``P -> 0``)."""
    g = positive_array("gammas", gammas)
    g = np.ravel(g)
    if g.size < 2:
        raise ValueError(f"gammas has {g.size} value(s); at least 2 quantized parts give an optimum")

    def slope(p: float) -> float:
        return 1.0 / p - float(np.sum(1.0 / (g * np.expm1(p / g))))

    lo, hi = 1e-6 * g.min(), 50.0 * g.max()
    return float(brentq(slope, lo, hi, xtol=1e-12, rtol=1e-12))


def sensitivity_for_optimal_precision(bits: float, parts: int = 3) -> float:
    """The common sensitivity ``gamma`` [bits] for which ``bits`` is the compute-optimal training
    precision of :func:`compute_optimal_precision` with ``parts`` equally sensitive parts (Kumar et
    al. 2024 tie weights, activations and KV cache, ``parts = 3``, and use the mean sensitivity).
    The optimum is ``P* = x* gamma`` with ``x*`` the root of ``exp(x) - 1 = parts x``, so
    ``gamma = bits / x*``."""
    b = positive_scalar("bits", bits)
    if isinstance(parts, bool) or not isinstance(parts, (int, np.integer)) or parts < 2:
        raise ValueError(f"parts = {parts!r} must be an integer of at least 2")
    return b / compute_optimal_precision([1.0] * int(parts))


def loss_low_precision_training(law, params: ArrayLike, tokens: ArrayLike, bits: ArrayLike,
                                gammas) -> NDArray[np.float64]:
    """Loss [nats/token] of ``params`` parameters trained on ``tokens`` tokens with every
    quantized part held in ``bits`` bits during training (Kumar et al. 2024, Finding 2):
    ``E + A N_eff^-alpha + B D^-beta`` with ``N_eff = N prod_i (1 - exp(-bits / gamma_i))``.
    ``law``: any object with ``loss(params, tokens)`` (a
    :class:`~smallest_loss.laws.chinchilla.ChinchillaLaw`); ``gammas``: one sensitivity per part [bits]."""
    g = np.ravel(positive_array("gammas", gammas))
    if g.size == 0:
        raise ValueError("gammas is empty; give one sensitivity per quantized part")
    n = positive_array("params", params)
    d = positive_array("tokens", tokens)
    p = positive_array("bits", bits)
    n, d, p = broadcast(params=n, tokens=d, bits=p)
    factor = np.ones_like(p)
    for gi in g:
        factor = factor * precision_factor(p, float(gi))
    return np.asarray(law.loss(n * factor, d), dtype=float)


def bits_for_factor(fraction: float, gamma: float) -> float:
    """Bits [bits] at which one part's precision factor ``1 - exp(-bits / gamma)`` reaches
    ``fraction`` (0 < fraction < 1): ``-gamma ln(1 - fraction)``."""
    f = positive_scalar("fraction", fraction)
    if f >= 1:
        raise ValueError(f"fraction = {fraction!r} must be between 0 and 1")
    return float(-positive_scalar("gamma", gamma) * np.log1p(-f))


def optimum_at_fixed_cost(law, flops: float, gammas, bits: ArrayLike, params: ArrayLike) -> tuple[float, float]:
    """Brute force: the (bits [bits], params) on the grids ``bits`` x ``params`` with the lowest
    :func:`loss_low_precision_training`, the tokens of each point set by Kumar et al.'s cost
    ``flops = (6/16) N D P`` [FLOP]. A numerical check of :func:`compute_optimal_precision`."""
    c = positive_scalar("flops", flops)
    p = np.ravel(positive_array("bits", bits))[:, None]
    n = np.ravel(positive_array("params", params))[None, :]
    loss = loss_low_precision_training(law, n, c / (KUMAR2024_COST_FLOPS_PER_PARAM_TOKEN_BIT * n * p), p, gammas)
    i, j = np.unravel_index(np.argmin(loss), loss.shape)
    return float(p[i, 0]), float(n[0, j])
