"""The scaling laws of Kaplan et al. (2020), "Scaling Laws for Neural Language Models", arXiv:2001.08361.

Each formula is written once, named after the paper's quantity, with the paper's constants
(:data:`KAPLAN2020`). Conventions of the paper, kept here:

* ``N`` counts *non-embedding* parameters (Sec. 2.1, Eq. 2.1), unlike Hoffmann et al. (2022), who
  count all parameters;
* training compute is ``C ≈ 6 N B S = 6 N E`` FLOP for ``E = B S`` tokens processed (Sec. 1.3 and
  Sec. 2.1: ``C ≈ 6N`` FLOP per token, non-embedding, forward plus backward). In this module ``B``
  (``batch_size``, ``B_crit``, ``B_*``) is Kaplan's batch size in tokens and ``E`` the number of
  tokens processed ("examples"); the book writes them as calligraphic B and E because B and E
  also name the data coefficient and the irreducible loss of Hoffmann et al.'s law
  (:mod:`smallest_loss.laws.chinchilla`);
* losses are cross-entropies in nats per token (Sec. 1.3);
* the paper quotes compute in PF-days, 1 PF-day = 10^15 x 24 x 3600 = 8.64 x 10^19 FLOP (Sec. 1.3).
  Every function here takes and returns compute in FLOP and converts internally.

Constants are fitted values on WebText2 with the GPT-2 BPE tokenizer; the paper notes (after Eq. 1.3)
that ``N_c``, ``D_c`` and ``C_c`` depend on the vocabulary and tokenization and have no fundamental
meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..counting import training_tokens
from ..costs import PF_DAY  # one petaflop/s-day, 8.64e19 FLOP (Kaplan et al. 2020, Sec. 1.3)
from ..validation import PositiveFloatFields, broadcast, positive_array

__all__ = [
    "PF_DAY",
    "KaplanConstants",
    "KAPLAN2020",
    "flop_to_pf_days",
    "pf_days_to_flop",
    "training_compute",
    "loss_of_params",
    "loss_of_data",
    "loss_of_compute_min",
    "loss_of_compute",
    "loss_of_params_data",
    "loss_of_params_steps",
    "critical_batch_size",
    "minimum_steps",
    "minimum_examples",
    "minimum_compute",
    "optimal_params",
    "optimal_batch_size",
    "optimal_steps",
    "optimal_tokens",
    "predicted_compute_exponent",
    "efficient_stopping_ratio",
    "efficient_stopping_loss",
    "OVERFIT_COEFFICIENT",
    "OVERFIT_EXPONENT",
    "overfitting_data_threshold",
]


_SOURCES: dict[str, str] = {
    # Single-variable laws, Eqs. 1.1-1.3 and Appendix A, Table 5.
    "alpha_N": "Eq. 1.1 and Table 5: alpha_N ~ 0.076",
    "N_c": "Eq. 1.1 and Table 5: N_c ~ 8.8e13 non-embedding parameters",
    "alpha_D": "Eq. 1.2 and Table 5: alpha_D ~ 0.095",
    "D_c": "Eq. 1.2 and Table 5: D_c ~ 5.4e13 tokens",
    "alpha_C_min": "Eq. 1.3 and Table 5: alpha_C^min ~ 0.050",
    "C_c_min_pf_days": "Eq. 1.3 and Table 5: C_c^min ~ 3.1e8 PF-days",
    "alpha_C": "Eq. 3.3 and Table 5 (naive, fixed batch size): alpha_C ~ 0.057",
    "C_c_pf_days": "Eq. 3.3 and Table 5 (naive, fixed batch size): C_c ~ 1.6e7 PF-days",
    # Critical batch size, Eqs. 1.4 and 5.3.
    "alpha_B": "Eq. 1.4, Eq. 5.3 and Table 5: alpha_B ~ 0.21",
    "B_star": "Eq. 1.4 and Eq. 5.3: B_* ~ 2e8 tokens (Table 5 prints 2.1e8)",
    # L(N, D), Eqs. 1.5 and 4.1, Table 2.
    "nd_alpha_N": "Table 2 (fit of Eq. 1.5/4.1): alpha_N = 0.076",
    "nd_alpha_D": "Table 2 (fit of Eq. 1.5/4.1): alpha_D = 0.103",
    "nd_N_c": "Table 2 (fit of Eq. 1.5/4.1): N_c = 6.4e13 parameters",
    "nd_D_c": "Table 2 (fit of Eq. 1.5/4.1): D_c = 1.8e13 tokens",
    # L(N, S), Eqs. 1.6 and 5.6, Table 3.
    "ns_alpha_N": "Table 3 (fit of Eq. 1.6/5.6): alpha_N = 0.077",
    "ns_alpha_S": "Table 3 (fit of Eq. 1.6/5.6): alpha_S = 0.76",
    "ns_N_c": "Table 3 (fit of Eq. 1.6/5.6): N_c = 6.5e13 parameters",
    "ns_S_c": "Table 3 (fit of Eq. 1.6/5.6): S_c = 2.1e3 steps",
    # Compute-efficient frontier, Sec. 6.1 (Eqs. 6.1, 6.2), Figure 14 and Appendix A, Table 6.
    "N_e": "Table 6 and Figure 14: N_opt = N_e C_min^p_N with N_e = 1.3e9 parameters, C_min in PF-days",
    "p_N": "Table 6 and Eq. 6.1: p_N = 0.73",
    "B_e": "Table 6: B = B_e C_min^p_B with B_e = 2.0e6 tokens, C_min in PF-days",
    "p_B": "Table 6 and Sec. 6.1 (B_crit ∝ C_min^0.24): p_B = 0.24",
    "S_e": "Table 6 and Figure 14: S_min = S_e C_min^p_S with S_e = 5.4e3 steps, C_min in PF-days",
    "p_S": "Table 6 and Eq. 6.2: p_S = 0.03",
    "D_e": "Table 6: D_opt = D_e C_min^p_D with D_e = 2e10 tokens (1 epoch), C_min in PF-days",
    "p_D": "Table 6: p_D = 0.27",
}


@dataclass(frozen=True)
class KaplanConstants(PositiveFloatFields):
    """Published constants of Kaplan et al. 2020 (arXiv:2001.08361); ``sources`` cites each one.

    Exponents are dimensionless. N_c, nd_N_c, ns_N_c, N_e [non-embedding parameters]; D_c, nd_D_c,
    D_e, B_star, B_e [tokens]; ns_S_c, S_e [optimizer steps]; C_c_min_pf_days, C_c_pf_days [PF-days].
    Prefixes ``nd_`` and ``ns_`` mark the joint fits L(N, D) (Table 2) and L(N, S) (Table 3), whose
    values differ slightly from the single-variable fits (Sec. 4.2 says so).
    """

    alpha_N: float = 0.076
    N_c: float = 8.8e13
    alpha_D: float = 0.095
    D_c: float = 5.4e13
    alpha_C_min: float = 0.050
    C_c_min_pf_days: float = 3.1e8
    alpha_C: float = 0.057
    C_c_pf_days: float = 1.6e7
    alpha_B: float = 0.21
    B_star: float = 2e8
    nd_alpha_N: float = 0.076
    nd_alpha_D: float = 0.103
    nd_N_c: float = 6.4e13
    nd_D_c: float = 1.8e13
    ns_alpha_N: float = 0.077
    ns_alpha_S: float = 0.76
    ns_N_c: float = 6.5e13
    ns_S_c: float = 2.1e3
    N_e: float = 1.3e9
    p_N: float = 0.73
    B_e: float = 2.0e6
    p_B: float = 0.24
    S_e: float = 5.4e3
    p_S: float = 0.03
    D_e: float = 2e10
    p_D: float = 0.27
    name: str = "kaplan2020"
    source: str = "Kaplan et al. 2020, Scaling Laws for Neural Language Models, arXiv:2001.08361"
    sources: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType(dict(_SOURCES)), repr=False, compare=False
    )


KAPLAN2020 = KaplanConstants()
"""The published constants of Kaplan et al. 2020, as printed (see ``KAPLAN2020.sources``)."""


# --- units ------------------------------------------------------------------------------------------


def flop_to_pf_days(flops: ArrayLike) -> NDArray[np.float64]:
    """Compute in PF-days from FLOP (1 PF-day = 8.64e19 FLOP; Kaplan et al. 2020, Sec. 1.3)."""
    return positive_array("flops", flops) / PF_DAY


def pf_days_to_flop(pf_days: ArrayLike) -> NDArray[np.float64]:
    """Compute in FLOP from PF-days (1 PF-day = 8.64e19 FLOP; Kaplan et al. 2020, Sec. 1.3)."""
    return positive_array("pf_days", pf_days) * PF_DAY


def training_compute(params: ArrayLike, batch_size: ArrayLike, steps: ArrayLike) -> NDArray[np.float64]:
    """Non-embedding training compute ``C ≈ 6 N B S`` [FLOP] (Kaplan et al. 2020, Sec. 1.3 and 2.1).

    params: non-embedding parameters N; batch_size: tokens per step B; steps: optimizer steps S.
    """
    n = positive_array("params", params)
    b = positive_array("batch_size", batch_size)
    s = positive_array("steps", steps)
    n, b, s = broadcast(params=n, batch_size=b, steps=s)
    return 6.0 * n * b * s


# --- single-variable laws ---------------------------------------------------------------------------


def loss_of_params(params: ArrayLike, c: KaplanConstants = KAPLAN2020) -> NDArray[np.float64]:
    """``L(N) = (N_c / N)^alpha_N`` [nats/token]: converged loss of a model with N non-embedding
    parameters trained on ample data (Kaplan et al. 2020, Eq. 1.1; Table 5)."""
    n = positive_array("params", params)
    return (c.N_c / n) ** c.alpha_N


def loss_of_data(tokens: ArrayLike, c: KaplanConstants = KAPLAN2020) -> NDArray[np.float64]:
    """``L(D) = (D_c / D)^alpha_D`` [nats/token]: early-stopped loss of a large model trained on D
    tokens (Kaplan et al. 2020, Eq. 1.2; Table 5)."""
    d = positive_array("tokens", tokens)
    return (c.D_c / d) ** c.alpha_D


def loss_of_compute_min(c_min: ArrayLike, c: KaplanConstants = KAPLAN2020) -> NDArray[np.float64]:
    """``L(C_min) = (C_c^min / C_min)^alpha_C^min`` [nats/token] for compute-efficient training with
    minimum compute ``c_min`` [FLOP] (Kaplan et al. 2020, Eq. 1.3; Table 5; C_c^min in PF-days)."""
    cm = positive_array("c_min", c_min) / PF_DAY
    return (c.C_c_min_pf_days / cm) ** c.alpha_C_min


def loss_of_compute(flops: ArrayLike, c: KaplanConstants = KAPLAN2020) -> NDArray[np.float64]:
    """``L(C) = (C_c / C)^alpha_C`` [nats/token], the naive trend at fixed batch size for compute
    ``flops`` [FLOP] (Kaplan et al. 2020, Eq. 3.3; Table 5). The paper recommends
    :func:`loss_of_compute_min` for predictions (footnote to Eq. 1.3)."""
    cc = positive_array("flops", flops) / PF_DAY
    return (c.C_c_pf_days / cc) ** c.alpha_C


# --- joint laws -----------------------------------------------------------------------------------


def loss_of_params_data(
    params: ArrayLike, tokens: ArrayLike, c: KaplanConstants = KAPLAN2020
) -> NDArray[np.float64]:
    """``L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D`` [nats/token]: early-stopped loss of
    N non-embedding parameters trained on D tokens (Kaplan et al. 2020, Eq. 1.5 = Eq. 4.1; constants
    of Table 2)."""
    n = positive_array("params", params)
    d = positive_array("tokens", tokens)
    n, d = broadcast(params=n, tokens=d)
    return ((c.nd_N_c / n) ** (c.nd_alpha_N / c.nd_alpha_D) + c.nd_D_c / d) ** c.nd_alpha_D


def loss_of_params_steps(
    params: ArrayLike, steps_min: ArrayLike, c: KaplanConstants = KAPLAN2020
) -> NDArray[np.float64]:
    """``L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S`` [nats/token]: loss after ``steps_min``
    batch-adjusted steps (Eq. 5.4) in the infinite-data limit (Kaplan et al. 2020, Eq. 1.6 = Eq. 5.6;
    constants of Table 3)."""
    n = positive_array("params", params)
    s = positive_array("steps_min", steps_min)
    n, s = broadcast(params=n, steps_min=s)
    return (c.ns_N_c / n) ** c.ns_alpha_N + (c.ns_S_c / s) ** c.ns_alpha_S


# --- critical batch size and batch-size adjustment ---------------------------------------------------


def critical_batch_size(loss: ArrayLike, c: KaplanConstants = KAPLAN2020) -> NDArray[np.float64]:
    """``B_crit(L) = B_* / L^(1/alpha_B)`` [tokens] at loss ``loss`` [nats/token]
    (Kaplan et al. 2020, Eq. 1.4 = Eq. 5.3)."""
    lo = positive_array("loss", loss)
    return c.B_star / lo ** (1.0 / c.alpha_B)


def _batch_inputs(name: str, value: ArrayLike, batch_size: ArrayLike, loss: ArrayLike):
    v = positive_array(name, value)
    b = positive_array("batch_size", batch_size)
    lo = positive_array("loss", loss)
    return broadcast(**{name: v, "batch_size": b, "loss": lo})


def minimum_steps(
    steps: ArrayLike, batch_size: ArrayLike, loss: ArrayLike, c: KaplanConstants = KAPLAN2020
) -> NDArray[np.float64]:
    """``S_min = S / (1 + B_crit(L)/B)`` [steps]: steps that would reach loss L at ``B >> B_crit``,
    given ``steps`` S taken at ``batch_size`` B [tokens] (Kaplan et al. 2020, Eq. 5.4)."""
    s, b, lo = _batch_inputs("steps", steps, batch_size, loss)
    return s / (1.0 + critical_batch_size(lo, c) / b)


def minimum_examples(
    tokens: ArrayLike, batch_size: ArrayLike, loss: ArrayLike, c: KaplanConstants = KAPLAN2020
) -> NDArray[np.float64]:
    """``E_min = E / (1 + B/B_crit(L))`` [tokens]: tokens that would reach loss L at ``B << B_crit``,
    given ``tokens`` E = B S processed at ``batch_size`` B (Kaplan et al. 2020, Eqs. 5.1-5.2, which
    with ``B_crit = E_min/S_min`` and Eq. 5.4 give this form; ``C_min = 6 N E_min``, Eq. 5.5)."""
    e, b, lo = _batch_inputs("tokens", tokens, batch_size, loss)
    return e / (1.0 + b / critical_batch_size(lo, c))


def minimum_compute(
    flops: ArrayLike, batch_size: ArrayLike, loss: ArrayLike, c: KaplanConstants = KAPLAN2020
) -> NDArray[np.float64]:
    """``C_min = C / (1 + B/B_crit(L))`` [FLOP]: compute that would reach loss L at ``B << B_crit``,
    given ``flops`` C = 6 N B S spent at ``batch_size`` B [tokens] (Kaplan et al. 2020, Eq. 5.5).
    Training at ``B = B_crit`` spends ``C = 2 C_min`` (Sec. 5.1, after Eq. 5.2)."""
    cc, b, lo = _batch_inputs("flops", flops, batch_size, loss)
    return cc / (1.0 + b / critical_batch_size(lo, c))


# --- compute-efficient frontier -----------------------------------------------------------------------


def optimal_params(c_min: ArrayLike, c: KaplanConstants = KAPLAN2020) -> NDArray[np.float64]:
    """``N_opt = 1.3e9 (C_min / PF-day)^0.73`` [non-embedding parameters] for minimum compute
    ``c_min`` [FLOP] (Kaplan et al. 2020, Eq. 6.1, Figure 14 left, Appendix A Table 6)."""
    cm = positive_array("c_min", c_min) / PF_DAY
    return c.N_e * cm**c.p_N


def optimal_batch_size(c_min: ArrayLike, c: KaplanConstants = KAPLAN2020) -> NDArray[np.float64]:
    """``B = 2.0e6 (C_min / PF-day)^0.24`` [tokens], the critical batch size along the compute-efficient
    frontier (Kaplan et al. 2020, Sec. 6.1 and Table 6); ``c_min`` in FLOP."""
    cm = positive_array("c_min", c_min) / PF_DAY
    return c.B_e * cm**c.p_B


def optimal_steps(c_min: ArrayLike, c: KaplanConstants = KAPLAN2020) -> NDArray[np.float64]:
    """``S_min = 5.4e3 (C_min / PF-day)^0.03`` [steps] along the compute-efficient frontier
    (Kaplan et al. 2020, Eq. 6.2, Figure 14 right, Table 6); ``c_min`` in FLOP."""
    cm = positive_array("c_min", c_min) / PF_DAY
    return c.S_e * cm**c.p_S


def optimal_tokens(
    c_min: ArrayLike, at_critical_batch: bool = True, c: KaplanConstants = KAPLAN2020
) -> NDArray[np.float64]:
    """Tokens processed along the compute-efficient frontier [tokens], for ``c_min`` [FLOP].

    With ``at_critical_batch=True`` (default): ``D = 2 C_min / (6 N_opt)``, the tokens of one epoch
    trained at ``B = B_crit`` where ``C = 2 C_min`` (Kaplan et al. 2020, Eq. 6.7; this reproduces
    Table 6, ``D_opt = 2e10 (C_min/PF-day)^0.27``, since 2 x 8.64e19 / (6 x 1.3e9) = 2.2e10).
    With ``False``: ``E_min = C_min / (6 N_opt)``, the tokens at ``B << B_crit`` (Eq. 5.5), half as
    many. Either way ``D ∝ C_min^(1 - 0.73) = C_min^0.27``.
    """
    cm = positive_array("c_min", c_min)
    factor = 2.0 if at_critical_batch else 1.0
    return factor * training_tokens(optimal_params(cm, c), cm)


def predicted_compute_exponent(c: KaplanConstants = KAPLAN2020) -> float:
    """``alpha_C^min = 1 / (1/alpha_S + 1/alpha_B + 1/alpha_N)`` predicted from L(N, S) and B_crit(L)
    (Kaplan et al. 2020, Eq. 1.8 = Eq. 6.4 = Eq. B.7), with alpha_N and alpha_S of Table 3.
    Gives 0.052, the value printed at Eq. B.7 (Eq. 6.4 prints 0.054; the measured value is 0.050)."""
    return 1.0 / (1.0 / c.ns_alpha_S + 1.0 / c.alpha_B + 1.0 / c.ns_alpha_N)


def efficient_stopping_ratio(c: KaplanConstants = KAPLAN2020) -> float:
    """``L / L(N, inf) - 1 = alpha_N / alpha_S`` (dimensionless, ≈ 0.10): how far above its converged
    loss a compute-efficiently trained model stops (Kaplan et al. 2020, Eq. B.5 and Eq. B.11,
    "train to a fixed percentage alpha_N/alpha_S ≈ 10% above the converged loss").

    Derivation from L(N, S) (Eq. B.1) with ``S = C / (6 N B)``: at fixed C, setting ``∂L/∂N = 0``
    gives ``alpha_N (N_c/N)^alpha_N = alpha_S (S_c/S)^alpha_S`` (Eq. B.4), so the step term equals
    ``alpha_N/alpha_S`` times the converged loss ``L(N, inf) = (N_c/N)^alpha_N``. Uses Table 3.
    """
    return c.ns_alpha_N / c.ns_alpha_S


def efficient_stopping_loss(params: ArrayLike, c: KaplanConstants = KAPLAN2020) -> NDArray[np.float64]:
    """``L = (1 + alpha_N/alpha_S) (N_c/N)^alpha_N`` [nats/token]: the loss at which a model of N
    non-embedding parameters stops when it is the compute-efficient size for its budget
    (Kaplan et al. 2020, Eq. B.5; constants of Table 3)."""
    n = positive_array("params", params)
    return (1.0 + efficient_stopping_ratio(c)) * (c.ns_N_c / n) ** c.ns_alpha_N


# --- overfitting threshold ------------------------------------------------------------------------

OVERFIT_COEFFICIENT = 5e3
"""Coefficient of Kaplan et al. 2020's Eq. 4.4, ``D >~ 5 x 10^3 N^0.74`` [tokens], as printed (one
significant figure): the data above which the overfitting penalty stays below about 2%."""

OVERFIT_EXPONENT = 0.74
"""Exponent of Eq. 4.4, ``alpha_N / alpha_D`` rounded as printed (Kaplan et al. 2020, Sec. 4.2)."""


def overfitting_data_threshold(params: ArrayLike) -> NDArray[np.float64]:
    """Tokens above which a model of ``params`` non-embedding parameters overfits by less than about
    2%: ``D = 5 x 10^3 N^0.74`` (Kaplan et al. 2020, Eq. 4.4, printed constants). [tokens]"""
    n = positive_array("params", params)
    return OVERFIT_COEFFICIENT * n**OVERFIT_EXPONENT
