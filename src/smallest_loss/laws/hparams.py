"""Published laws for the optimisation hyperparameters: learning rate, batch size, critical batch.

* Step Law (Li et al. 2025, arXiv:2503.04715): ``lr* = 1.79 N^-0.713 D^0.307`` and
  ``B* = 0.58 D^0.571`` with N non-embedding parameters, D training tokens and B in tokens. The
  constants are the means of the authors' 1,000 bootstrap fits (their file
  ``1004_fitted_lr_bs_scaling_model_parameters.csv``; natural-log regression).
* DeepSeek LLM (DeepSeek-AI 2024, arXiv:2401.02954): ``lr_opt = 0.3118 C^-0.1250`` and
  ``B_opt = 0.2920 C^0.3271`` with C = M D, M the non-embedding FLOPs per token, and B in tokens.
* McCandlish et al. 2018 (arXiv:1812.06162): steps and examples to reach a fixed loss,
  ``S = S_min (1 + B_noise / B)`` and ``E = E_min (1 + B / B_noise)``, whose product gives
  ``B_crit = E_min / S_min = B_noise``.

Kaplan et al. 2020's critical batch B_crit(L) lives in :mod:`smallest_loss.laws.kaplan`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..validation import broadcast, positive_array

__all__ = [
    "StepLaw",
    "STEPLAW2025",
    "DeepSeekHparams",
    "DEEPSEEK2024",
    "SOURCES",
    "steplaw_lr",
    "steplaw_batch",
    "deepseek_lr",
    "deepseek_batch",
    "deepseek_flops_per_token",
    "steps_to_target",
    "examples_to_target",
]

SOURCES = {
    "steplaw": "Li et al. 2025, arXiv:2503.04715 (eta = 1.79 N^-0.713 D^0.307, B = 0.58 D^0.571); "
               "the means of the repository's 1004_fitted_lr_bs_scaling_model_parameters.csv",
    "deepseek": "DeepSeek-AI 2024, arXiv:2401.02954, hyperparameter scaling (eta_opt = 0.3118 C^-0.1250, "
                "B_opt = 0.2920 C^0.3271); C = M D with M non-embedding FLOPs/token",
    "mccandlish": "McCandlish et al. 2018, arXiv:1812.06162 (S/S_min - 1 = (E/E_min - 1)^-1, "
                  "B_crit = E_min/S_min)",
}


@dataclass(frozen=True)
class StepLaw:
    """``lr* = lr_coef N^lr_params_exponent D^lr_tokens_exponent``; ``B* = batch_coef D^batch_tokens_exponent`` [tokens]."""

    lr_coef: float = 1.79
    lr_params_exponent: float = -0.713
    lr_tokens_exponent: float = 0.307
    batch_coef: float = 0.58
    batch_tokens_exponent: float = 0.571


STEPLAW2025 = StepLaw()


@dataclass(frozen=True)
class DeepSeekHparams:
    """``lr_opt = lr_coef C^lr_exponent``; ``B_opt = batch_coef C^batch_exponent`` [tokens], C [FLOP]."""

    lr_coef: float = 0.3118
    lr_exponent: float = -0.1250
    batch_coef: float = 0.2920
    batch_exponent: float = 0.3271


DEEPSEEK2024 = DeepSeekHparams()


def steplaw_lr(params: ArrayLike, tokens: ArrayLike, law: StepLaw = STEPLAW2025) -> NDArray[np.float64]:
    """Step Law's optimal peak learning rate for N non-embedding ``params`` and D ``tokens``."""
    n, d = broadcast(params=positive_array("params", params), tokens=positive_array("tokens", tokens))
    return law.lr_coef * n ** law.lr_params_exponent * d ** law.lr_tokens_exponent


def steplaw_batch(tokens: ArrayLike, law: StepLaw = STEPLAW2025) -> NDArray[np.float64]:
    """Step Law's optimal batch [tokens] for D ``tokens`` (independent of N)."""
    d = positive_array("tokens", tokens)
    return law.batch_coef * d ** law.batch_tokens_exponent


def deepseek_lr(flops: ArrayLike, law: DeepSeekHparams = DEEPSEEK2024) -> NDArray[np.float64]:
    """DeepSeek LLM's optimal learning rate at compute ``flops`` C = M D [FLOP]."""
    c = positive_array("flops", flops)
    return law.lr_coef * c ** law.lr_exponent


def deepseek_batch(flops: ArrayLike, law: DeepSeekHparams = DEEPSEEK2024) -> NDArray[np.float64]:
    """DeepSeek LLM's optimal batch [tokens] at compute ``flops`` C = M D [FLOP]."""
    c = positive_array("flops", flops)
    return law.batch_coef * c ** law.batch_exponent


def deepseek_flops_per_token(params: ArrayLike, n_layers: ArrayLike, d_model: ArrayLike,
                             seq_len: ArrayLike) -> NDArray[np.float64]:
    """Non-embedding FLOPs per token M = 6 N + 12 n_layer d_model l_seq.

    DeepSeek writes M = 72 n_layer d_model^2 + 12 n_layer d_model l_seq for a transformer whose
    non-embedding parameters are N = 12 n_layer d_model^2; writing the first term as 6 N carries
    it over to other feed-forward widths (the attention term does not depend on them).
    """
    n, layers, d, seq = broadcast(params=positive_array("params", params),
                                  n_layers=positive_array("n_layers", n_layers),
                                  d_model=positive_array("d_model", d_model),
                                  seq_len=positive_array("seq_len", seq_len))
    return 6.0 * n + 12.0 * layers * d * seq


def steps_to_target(batch: ArrayLike, s_min: float, b_noise: float) -> NDArray[np.float64]:
    """McCandlish et al.'s ``S = S_min (1 + B_noise / B)``: optimizer steps to a fixed loss at ``batch``."""
    b = positive_array("batch", batch)
    s = float(positive_array("s_min", s_min))
    bn = float(positive_array("b_noise", b_noise))
    return s * (1.0 + bn / b)


def examples_to_target(batch: ArrayLike, s_min: float, b_noise: float) -> NDArray[np.float64]:
    """``E = B S = E_min (1 + B / B_noise)`` with ``E_min = S_min B_noise``: data to the same loss."""
    b = positive_array("batch", batch)
    return b * steps_to_target(b, s_min, b_noise)
