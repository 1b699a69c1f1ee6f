"""Published scaling laws and their constants.

``chinchilla``: the loss law L(N, D) = E + A/N^alpha + B/D^beta of Hoffmann et al. 2022, its
published constant sets and the closed-form compute-optimal allocation (re-exported here).
``kaplan``: Kaplan et al. 2020's laws L(N), L(D), L(C_min), L(N, D), L(N, S), the critical batch
size and their compute-efficient frontier, with the paper's constants.
``hparams``: published learning-rate and batch-size laws (Step Law, DeepSeek, McCandlish et al.).
``moe``: Krajewski et al. 2024's fine-grained mixture-of-experts laws L_MoE(N, D, G) and
L_dense(N, D), their FLOP and parameter counts and the dense-equivalent compute multiplier.
``precision``: the functional forms of Kumar et al. 2024's precision-aware law (every constant an
argument: the book prints no fitted value it could not verify).
``retrieval``: the published constants of RETRO's comparison with GPT-3 (Borgeaud et al. 2021,
abstract; Brown et al. 2020, Table 2.1) and the parameter multiplier they imply.
"""

from . import chinchilla, data_constrained, downstream, hparams, inference, kaplan, moe, precision, retrieval
from .chinchilla import *  # noqa: F403
from .chinchilla import __all__ as _chinchilla_all

__all__ = ["chinchilla", "data_constrained", "downstream", "kaplan", "hparams", "inference", "moe", "precision", "retrieval", *_chinchilla_all]
