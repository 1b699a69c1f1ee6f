"""The fine-grained mixture-of-experts laws of Krajewski et al. (2024), arXiv:2402.07871.

Krajewski et al. ("Scaling Laws for Fine-Grained Mixture of Experts") fit, on routed transformers
with a fixed *expansion rate* ``R_exp`` (total expert parameters over the parameters of one dense
feed-forward layer; 64 in their runs, Sec. 5) and a *granularity* ``G`` (experts ``G`` times smaller
than the dense feed-forward layer, ``G`` times more of them routed per token; ``n_exp = R_exp G``
experts per layer), the losses (Sec. 5, Eq. 8 and Table 1)

    L_MoE(N, D, G) = c + (g / G^gamma + a) N^-alpha + b D^-beta
    L_dense(N, D)  = c + a_d N^-alpha_d + b_d D^-beta_d          [nats per token]

with ``N`` non-embedding parameters and ``D`` training tokens. To find compute-optimal models
(Sec. 6 and App. E) they tie the width to the depth, ``d_model = 64 n_blocks``, count
``N = d_model^2 (8 R_exp + 4) n_blocks`` parameters (attention ``4 d^2`` and ``R_exp`` feed-forward
layers of ``8 d^2`` per block) and training FLOPs

    F = (12 d_model^2 c_f + d_model R_exp G c_r) D n_blocks,    c_f = 6, c_r = 14,

the first term the dense part (``6 N_act D`` with ``N_act = 12 d_model^2 n_blocks`` active
parameters), the second the router. A dense model of ``N`` non-embedding parameters costs the
usual ``6 N D``.

Every constant is in :data:`KRAJEWSKI2024` and cited in ``KRAJEWSKI2024.sources``. Units: losses in
nats per token, compute in FLOP, parameters and tokens as counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq, minimize_scalar

from ..validation import PositiveFloatFields, broadcast, positive_array, positive_scalar
from .chinchilla import ChinchillaLaw, compute_optimal_allocation

__all__ = [
    "GranularityLaw",
    "KRAJEWSKI2024",
    "REPORTED_MULTIPLIERS",
    "MoEOptimum",
    "DenseOptimum",
    "moe_loss",
    "dense_loss",
    "dense_law",
    "d_model_of_blocks",
    "moe_params",
    "moe_active_params",
    "blocks_for_active_params",
    "moe_training_flops",
    "compute_optimal_moe",
    "compute_optimal_dense",
    "dense_compute_for_loss",
    "dense_equivalent_multiplier",
]

_SOURCES: dict[str, str] = {
    "c": "Table 1: c = 0.47 (irreducible loss, shared by the MoE and dense fits)",
    "a": "Table 1, MoE: a = 18.1",
    "alpha": "Table 1, MoE: alpha = 0.115",
    "b": "Table 1, MoE: b = 30.8",
    "beta": "Table 1, MoE: beta = 0.147",
    "g": "Table 1, MoE: g = 2.1",
    "gamma": "Table 1, MoE: gamma = 0.58",
    "dense_a": "Table 1, dense: a = 16.3",
    "dense_alpha": "Table 1, dense: alpha = 0.126",
    "dense_b": "Table 1, dense: b = 26.7",
    "dense_beta": "Table 1, dense: beta = 0.127",
    "expansion_rate": "Sec. 5: expansion rate E = 64 in the runs the law is fitted to",
    "c_f": "Sec. 6.1 and App. E: c_f = 6 FLOPs per parameter and token, forward plus backward",
    "c_r": "Sec. 6.1 and App. E: c_r = 14 router FLOPs per d_model E G and token",
    "width_per_block": "Sec. 6.1: d_model = 64 n_blocks",
}


@dataclass(frozen=True)
class GranularityLaw(PositiveFloatFields):
    """Published constants of Krajewski et al. 2024 (arXiv:2402.07871); ``sources`` cites each one.

    c, a, b, g, dense_a, dense_b [nats/token]; alpha, beta, gamma, dense_alpha, dense_beta
    (dimensionless exponents); expansion_rate R_exp (dimensionless); c_f, c_r [FLOP per parameter
    and token]; width_per_block [d_model per transformer block].
    """

    c: float = 0.47
    a: float = 18.1
    alpha: float = 0.115
    b: float = 30.8
    beta: float = 0.147
    g: float = 2.1
    gamma: float = 0.58
    dense_a: float = 16.3
    dense_alpha: float = 0.126
    dense_b: float = 26.7
    dense_beta: float = 0.127
    expansion_rate: float = 64.0
    c_f: float = 6.0
    c_r: float = 14.0
    width_per_block: float = 64.0
    name: str = "krajewski2024"
    source: str = "Krajewski et al. 2024, Scaling Laws for Fine-Grained Mixture of Experts, arXiv:2402.07871"
    sources: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType(dict(_SOURCES)), repr=False, compare=False
    )


KRAJEWSKI2024 = GranularityLaw()
"""The published constants of Krajewski et al. 2024, as printed (see ``KRAJEWSKI2024.sources``)."""

REPORTED_MULTIPLIERS: Mapping[float, float] = MappingProxyType({1e20: 20.0, 1e25: 40.0})
"""Krajewski et al. 2024, Sec. 1: a compute-optimal routed model at 1e20 FLOP matches a dense model
trained with 20 times the compute, and at budgets above 1e25 FLOP with more than 40 times (a lower
bound). Keys: training compute [FLOP]; values: dense-equivalent compute multiplier."""


# --- losses ------------------------------------------------------------------------------------------


def moe_loss(params: ArrayLike, tokens: ArrayLike, granularity: ArrayLike,
             law: GranularityLaw = KRAJEWSKI2024) -> NDArray[np.float64]:
    """``L_MoE(N, D, G) = c + (g / G^gamma + a) N^-alpha + b D^-beta`` [nats/token]
    (Krajewski et al. 2024, Eq. 8 and Table 1; fitted at expansion rate 64).

    params: non-embedding parameters N (experts included); tokens: training tokens D;
    granularity: G (1 = experts as wide as the dense feed-forward layer).
    """
    n, d, g = broadcast(params=positive_array("params", params),
                        tokens=positive_array("tokens", tokens),
                        granularity=positive_array("granularity", granularity))
    return law.c + (law.g / g**law.gamma + law.a) * n**-law.alpha + law.b * d**-law.beta


def dense_law(law: GranularityLaw = KRAJEWSKI2024) -> ChinchillaLaw:
    """Krajewski et al.'s dense fit (Table 1) as a :class:`~smallest_loss.laws.chinchilla.ChinchillaLaw`, ``E + A N^-alpha + B D^-beta``."""
    return ChinchillaLaw(E=law.c, A=law.dense_a, B=law.dense_b, alpha=law.dense_alpha,
                         beta=law.dense_beta, name=f"{law.name}-dense",
                         source=f"{law.source}, Table 1 (dense)")


def dense_loss(params: ArrayLike, tokens: ArrayLike,
               law: GranularityLaw = KRAJEWSKI2024) -> NDArray[np.float64]:
    """``L_dense(N, D) = c + a N^-alpha + b D^-beta`` [nats/token] with the dense constants of
    Krajewski et al. 2024, Table 1. params: non-embedding parameters N; tokens: D."""
    n, d = broadcast(params=positive_array("params", params), tokens=positive_array("tokens", tokens))
    return law.c + law.dense_a * n**-law.dense_alpha + law.dense_b * d**-law.dense_beta


# --- shapes, parameters and FLOPs (Sec. 6.1, App. E) -----------------------------------------------


def d_model_of_blocks(n_blocks: ArrayLike, law: GranularityLaw = KRAJEWSKI2024) -> NDArray[np.float64]:
    """``d_model = 64 n_blocks`` (Krajewski et al. 2024, Sec. 6.1)."""
    return law.width_per_block * positive_array("n_blocks", n_blocks)


def moe_params(n_blocks: ArrayLike, law: GranularityLaw = KRAJEWSKI2024) -> NDArray[np.float64]:
    """Non-embedding parameters ``N = d_model^2 (8 R_exp + 4) n_blocks`` of the routed model
    (Krajewski et al. 2024, Sec. 6.1); independent of the granularity."""
    n = positive_array("n_blocks", n_blocks)
    d = d_model_of_blocks(n, law)
    return d**2 * (8.0 * law.expansion_rate + 4.0) * n


def moe_active_params(n_blocks: ArrayLike, law: GranularityLaw = KRAJEWSKI2024) -> NDArray[np.float64]:
    """Active non-embedding parameters per token ``N_act = 12 d_model^2 n_blocks`` (the size of the
    dense model of the same shape; Krajewski et al. 2024, Sec. 6.1 and Table 2)."""
    n = positive_array("n_blocks", n_blocks)
    return 12.0 * d_model_of_blocks(n, law) ** 2 * n


def blocks_for_active_params(active_params: ArrayLike,
                             law: GranularityLaw = KRAJEWSKI2024) -> NDArray[np.float64]:
    """The (real-valued) number of blocks with ``active_params`` active parameters: the inverse of
    :func:`moe_active_params`, ``n_blocks = (N_act / (12 * 64^2))^(1/3)``."""
    n_act = positive_array("active_params", active_params)
    return (n_act / (12.0 * law.width_per_block**2)) ** (1.0 / 3.0)


def moe_training_flops(n_blocks: ArrayLike, tokens: ArrayLike, granularity: ArrayLike,
                       law: GranularityLaw = KRAJEWSKI2024) -> NDArray[np.float64]:
    """Training FLOPs ``F = (12 d^2 c_f + d R_exp G c_r) D n_blocks`` of a routed model
    (Krajewski et al. 2024, Sec. 6.1 and App. E; d = d_model = 64 n_blocks, c_f = 6, c_r = 14)."""
    n, d_tok, g = broadcast(n_blocks=positive_array("n_blocks", n_blocks),
                            tokens=positive_array("tokens", tokens),
                            granularity=positive_array("granularity", granularity))
    d = d_model_of_blocks(n, law)
    return (12.0 * d**2 * law.c_f + d * law.expansion_rate * g * law.c_r) * d_tok * n


# --- compute-optimal models and the dense-equivalent multiplier -------------------------------------

_GRANULARITIES = (1, 2, 4, 8, 16, 32, 64, 128)
_BLOCKS_RANGE = (1.0, 1e4)   # n_blocks searched: d_model from 64 to 640,000


@dataclass(frozen=True)
class MoEOptimum:
    """The compute-optimal routed model for a budget: flops [FLOP], loss [nats/token], granularity G,
    n_blocks (real-valued), params N and active_params [parameters], tokens D."""

    flops: float
    loss: float
    granularity: float
    n_blocks: float
    params: float
    active_params: float
    tokens: float


@dataclass(frozen=True)
class DenseOptimum:
    """The compute-optimal dense model for a budget: flops [FLOP], loss [nats/token], params N
    [non-embedding parameters], tokens D."""

    flops: float
    loss: float
    params: float
    tokens: float


def _moe_loss_at(log_blocks: float, flops: float, g: float, law: GranularityLaw) -> float:
    n = np.exp(log_blocks)
    tokens = flops / float(moe_training_flops(n, 1.0, g, law))
    return float(moe_loss(moe_params(n, law), tokens, g, law))


def compute_optimal_moe(flops: float, granularities=_GRANULARITIES,
                        law: GranularityLaw = KRAJEWSKI2024) -> MoEOptimum:
    """The routed model of least ``L_MoE`` for a training budget ``flops`` [FLOP], at expansion rate
    ``law.expansion_rate``: for each granularity the number of blocks is optimised (bounded search in
    log n_blocks, 1 to 10^4 blocks), the data being what the budget leaves,
    ``D = F / ((12 d^2 c_f + d R_exp G c_r) n_blocks)`` (Krajewski et al. 2024, Sec. 6 and App. E).
    The granularity is searched over ``granularities`` (default powers of two from 1 to 128).
    """
    f = positive_scalar("flops", flops)
    grans = positive_array("granularities", granularities)
    if grans.ndim != 1 or grans.size == 0:
        raise ValueError(f"granularities = {granularities!r} must be a non-empty sequence")
    best: MoEOptimum | None = None
    lo, hi = np.log(_BLOCKS_RANGE[0]), np.log(_BLOCKS_RANGE[1])
    for g in grans:
        r = minimize_scalar(_moe_loss_at, bounds=(lo, hi), args=(f, float(g), law),
                            method="bounded", options={"xatol": 1e-9})
        if best is None or r.fun < best.loss:
            n = float(np.exp(r.x))
            tokens = f / float(moe_training_flops(n, 1.0, g, law))
            best = MoEOptimum(flops=f, loss=float(r.fun), granularity=float(g), n_blocks=n,
                              params=float(moe_params(n, law)),
                              active_params=float(moe_active_params(n, law)), tokens=tokens)
    return best


def compute_optimal_dense(flops: float, law: GranularityLaw = KRAJEWSKI2024) -> DenseOptimum:
    """The dense model of least ``L_dense`` for ``flops`` [FLOP] under ``F = 6 N D``: the closed form
    of Hoffmann et al. 2022, Eq. 4, applied to Krajewski et al.'s dense fit (Table 1)."""
    alloc = compute_optimal_allocation(dense_law(law), positive_scalar("flops", flops))
    return DenseOptimum(flops=float(alloc.flops), loss=float(alloc.loss),
                        params=float(alloc.params), tokens=float(alloc.tokens))


def dense_compute_for_loss(loss: float, law: GranularityLaw = KRAJEWSKI2024) -> float:
    """The training compute [FLOP] a compute-optimal dense model needs to reach ``loss`` [nats/token]
    under Krajewski et al.'s dense law: the inverse of :func:`compute_optimal_dense` (root in log F
    between 1e6 and 1e60 FLOP; the optimal loss falls monotonically with compute)."""
    target = float(loss)
    if not np.isfinite(target) or target <= law.c:
        raise ValueError(f"loss = {loss!r} must be finite and above the irreducible loss c = {law.c}")
    lo, hi = np.log(1e6), np.log(1e60)

    def gap(log_f: float) -> float:
        return compute_optimal_dense(float(np.exp(log_f)), law).loss - target

    if gap(lo) < 0 or gap(hi) > 0:
        raise ValueError(f"loss = {loss!r} is not reached by a dense model between 1e6 and 1e60 FLOP")
    return float(np.exp(brentq(gap, lo, hi, xtol=1e-12, rtol=1e-14)))


def dense_equivalent_multiplier(flops: float, granularities=_GRANULARITIES,
                                law: GranularityLaw = KRAJEWSKI2024) -> float:
    """``m(F)``: the compute a compute-optimal dense model needs to reach the loss of the
    compute-optimal routed model of budget ``flops`` [FLOP], divided by ``flops`` (dimensionless).
    Both from Krajewski et al. 2024's fitted laws (Table 1), who report ``m`` of 20 at 1e20 FLOP and
    more than 40 above 1e25 FLOP (Sec. 1; :data:`REPORTED_MULTIPLIERS`)."""
    moe = compute_optimal_moe(flops, granularities, law)
    return dense_compute_for_loss(moe.loss, law) / moe.flops
