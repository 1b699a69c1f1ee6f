"""The cheapest model that reaches a target loss, with and without inference (Sardana et al. 2024).

Sardana, Portes, Doubov & Frankle (2024), "Beyond Chinchilla-Optimal: Accounting for Inference in
Language Model Scaling Laws" (ICML 2024, arXiv:2401.00448), ask for the parameters ``N`` and
training tokens ``D`` of a model of a given quality ``ℓ`` that will serve ``T`` tokens of inference,
minimising lifetime compute:

    minimise   6 N D + 2 N T            [FLOP: training 6ND, inference 2N per token]
    subject to L(N, D) = E + A N^-alpha + B D^-beta = ℓ      (Hoffmann et al. 2022, Eq. 2)

Derivation (written here, not copied): along the iso-loss curve write the two reducible terms as
``x = A N^-alpha`` and ``y = B D^-beta`` with ``x + y = s = ℓ - E``. Differentiating the constraint,
``dD/dN = -(alpha x D) / (beta y N)``, so the stationarity condition of the cost is

    alpha x / (beta y) = 1 + T / (3 D).                                            (1)

With ``T = 0`` it reads ``alpha x = beta y``: the same split as the closed-form compute-optimal
allocation (Hoffmann et al. 2022, Eq. 4), since minimising compute at fixed loss and minimising
loss at fixed compute have the same Lagrangian stationary points. With ``v = y / s`` the share of
the data term, (1) becomes one equation in ``v``,

    h(v) = alpha (1 - v) / beta - v - (T / 3) v (v s / B)^(1/beta) = 0,

whose left side falls strictly from ``alpha/beta`` at ``v -> 0`` to ``<= 0`` at
``v = alpha/(alpha+beta)``: exactly one root, bracketed, found by bisection on ``log v``.
Then ``N = (A / ((1 - v) s))^(1/alpha)`` and ``D = (B / (v s))^(1/beta)``.

Sardana et al. solve the same problem numerically (Newton's method); they count pre-training
compute as ``6 N D`` and inference as ``2 N`` FLOP per token, as here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..validation import as_float_array, broadcast
from .chinchilla import Allocation, ChinchillaLaw

__all__ = ["InferenceAllocation", "inference_optimal", "compute_optimal_for_loss"]

_BISECTION_STEPS = 200
"""Bisection halvings of the ``log v`` bracket (width under 750): far past double precision."""


@dataclass(frozen=True)
class InferenceAllocation:
    """Lifetime-compute-optimal model for a target loss and an inference demand.

    loss: target loss ℓ [nats/token]; inference_tokens: T [tokens served over the model's life];
    params: N [parameters]; tokens: D [training tokens]; tokens_per_param: D/N;
    training_flops: 6ND, inference_flops: 2NT, total_flops: their sum [FLOP]. Arrays broadcast
    over ``loss`` and ``inference_tokens``.
    """

    loss: NDArray[np.float64]
    inference_tokens: NDArray[np.float64]
    params: NDArray[np.float64]
    tokens: NDArray[np.float64]
    tokens_per_param: NDArray[np.float64]
    training_flops: NDArray[np.float64]
    inference_flops: NDArray[np.float64]
    total_flops: NDArray[np.float64]


def _reducible_loss(law: ChinchillaLaw, loss: ArrayLike) -> NDArray[np.float64]:
    """``s = loss - E`` [nats/token], checked to be finite and positive."""
    if not isinstance(law, ChinchillaLaw):
        raise ValueError(f"law: expected a ChinchillaLaw, got {type(law).__name__}")
    lo = as_float_array("loss", loss)
    flat = np.ravel(lo)
    bad = ~np.isfinite(flat) | (flat <= law.E)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = f"[{i}]" if lo.ndim else ""
        raise ValueError(f"loss{where} = {float(flat[i])!r} is not above the law's irreducible loss "
                         f"E = {law.E:.6g}; no finite model reaches it")
    return lo - law.E


def _inference_tokens(values: ArrayLike) -> NDArray[np.float64]:
    t = as_float_array("inference_tokens", values)
    flat = np.ravel(t)
    bad = ~np.isfinite(flat) | (flat < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = f"[{i}]" if t.ndim else ""
        raise ValueError(f"inference_tokens{where} = {float(flat[i])!r} is not a finite number >= 0")
    return t


def _allocation_from_share(law: ChinchillaLaw, s: NDArray[np.float64], v: NDArray[np.float64]):
    """``N, D`` on the iso-loss curve ``x + y = s`` where the data term is ``y = v s``."""
    params = (law.A / ((1.0 - v) * s)) ** (1.0 / law.alpha)
    tokens = (law.B / (v * s)) ** (1.0 / law.beta)
    return params, tokens


def _solve_data_share(A: ArrayLike, B: ArrayLike, alpha: ArrayLike, beta: ArrayLike,
                      s: ArrayLike, t: ArrayLike) -> NDArray[np.float64]:
    """The share ``v`` of the data term in the reducible loss ``s`` at the optimum of
    :func:`inference_optimal`: the root of ``h(v)`` (module docstring), by bisection on ``log v``;
    ``alpha / (alpha + beta)`` exactly where ``t = 0``. Every argument broadcasts (the constants of
    many bootstrap draws at once); inputs are not validated here."""
    A, B, al, be, s, t = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (A, B, alpha, beta, s, t)))
    v_chin = al / (al + be)

    def h(log_v: NDArray[np.float64]) -> NDArray[np.float64]:
        v = np.exp(log_v)
        with np.errstate(over="ignore", under="ignore"):
            return al * (1.0 - v) / be - v - (t / 3.0) * v * (v * s / B) ** (1.0 / be)

    lo = np.full(s.shape, -745.0)  # v = exp(-745): the smallest positive double; h > 0 there
    hi = np.log(v_chin)  # h <= 0 here, = 0 when t = 0
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        positive = h(mid) > 0
        lo = np.where(positive, mid, lo)
        hi = np.where(positive, hi, mid)
    return np.where(t > 0, np.exp(0.5 * (lo + hi)), v_chin)


def compute_optimal_for_loss(law: ChinchillaLaw, loss: ArrayLike) -> Allocation:
    """The cheapest training run (least ``C = 6ND``) whose predicted loss is ``loss`` [nats/token].

    On ``L = E + A N^-alpha + B D^-beta`` (Hoffmann et al. 2022, Eq. 2) the optimum splits the
    reducible loss ``s = loss - E`` as ``A N^-alpha = beta s / (alpha + beta)`` and
    ``B D^-beta = alpha s / (alpha + beta)`` (the condition of Eq. 4), so
    ``N = (A (alpha+beta) / (beta s))^(1/alpha)`` and ``D = (B (alpha+beta) / (alpha s))^(1/beta)``.
    It is the compute-optimal allocation of :func:`~smallest_loss.laws.chinchilla.compute_optimal_allocation`
    at the budget ``6ND`` it returns, and :func:`inference_optimal` with no inference.
    Returns an :class:`~smallest_loss.laws.chinchilla.Allocation` (flops [FLOP], params, tokens, loss).
    ``ValueError`` when a loss is not above ``E``.
    """
    s = _reducible_loss(law, loss)
    v = np.full_like(s, law.alpha / (law.alpha + law.beta))
    params, tokens = _allocation_from_share(law, s, v)
    return Allocation(flops=6.0 * params * tokens, params=params, tokens=tokens, loss=s + law.E)


def inference_optimal(law: ChinchillaLaw, loss: ArrayLike, inference_tokens: ArrayLike) -> InferenceAllocation:
    """Parameters and training tokens minimising training plus inference compute at a fixed loss.

    Minimises ``6 N D + 2 N T`` [FLOP] subject to ``L(N, D) = loss`` on a Chinchilla-form law
    (Sardana et al. 2024, arXiv:2401.00448, Sec. 2; law of Hoffmann et al. 2022, Eq. 2). loss:
    target loss [nats/token], above ``law.E``; inference_tokens: ``T`` >= 0 [tokens]; both broadcast.
    With ``T = 0`` the answer is :func:`compute_optimal_for_loss`. Solved by bisection on the
    share of the data term in the reducible loss (module docstring, Eq. 1), vectorised.
    ``ValueError`` when a loss is at or below ``E`` or a token count is negative or not finite.
    """
    s = _reducible_loss(law, loss)
    t = _inference_tokens(inference_tokens)
    s, t = broadcast(loss=s, inference_tokens=t)
    s, t = np.asarray(s, dtype=float), np.asarray(t, dtype=float)
    v = _solve_data_share(law.A, law.B, law.alpha, law.beta, s, t)
    params, tokens = _allocation_from_share(law, s, v)
    training = 6.0 * params * tokens
    inference = 2.0 * params * t
    return InferenceAllocation(
        loss=s + law.E, inference_tokens=t, params=params, tokens=tokens,
        tokens_per_param=tokens / params, training_flops=training, inference_flops=inference,
        total_flops=training + inference,
    )
