"""The data-constrained scaling law of Muennighoff et al. (2023) and its compute-optimal allocation.

Muennighoff et al. 2023 ("Scaling Data-Constrained Language Models", arXiv:2305.16264; the
derivation and fitted constants in the paper's appendix "Derivation of Data-Constrained Scaling
Laws", the constants to full precision also in the authors' repository huggingface/datablations,
README section "Parametric Fit") replace the tokens ``D`` and parameters ``N`` of Hoffmann et al.'s
law ``L = E + A N^-alpha + B D^-beta`` by *effective* counts:

    D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)),   R_D = D / U_D - 1          [tokens]
    N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*)),   R_N = N / U_N - 1          [parameters]

``U_D`` is the number of unique tokens, ``R_D`` the number of *repetitions* (epochs beyond the
first), and ``R_D*`` the decay constant: a repeated token is worth ``exp(-k / R_D*)`` of a new one
after ``k`` repetitions, so ``D'`` can never exceed ``U_D (1 + R_D*)``; at ``R_D = R_D*`` the
repeated tokens are worth on average ``1 - 1/e`` of fresh ones. For parameters, ``U_N`` is
the compute-optimal model size for ``U_D`` tokens under the base law (``min(N, N_opt(U_D))``) and
parameters beyond it decay the same way with ``R_N*``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..counting import training_tokens
from ..validation import broadcast, positive_array, positive_int, positive_scalar
from .chinchilla import ChinchillaLaw

__all__ = [
    "MUENNIGHOFF_R_D_STAR",
    "MUENNIGHOFF_R_N_STAR",
    "DataConstrainedLaw",
    "MUENNIGHOFF2023",
    "repetitions",
    "effective_data",
    "effective_params",
    "optimal_params_for_tokens",
    "data_constrained_loss",
    "DataConstrainedAllocation",
    "plan_data_constrained",
]

MUENNIGHOFF_R_D_STAR = 15.387756
"""``R_D*`` of Muennighoff et al. 2023 (paper appendix "Derivation of Data-Constrained Scaling
Laws", fitted on 182 runs; also the datablations README; rounded to 15.4 in the paper's final
formula): repetitions after which the next repeated token is worth 1/e of a new one."""

MUENNIGHOFF_R_N_STAR = 5.309743
"""``R_N*`` of Muennighoff et al. 2023 (same sources; rounded to 5.3 in the final formula): the decay constant of
excess parameters, in multiples of the compute-optimal size for the unique data."""


def repetitions(unique: ArrayLike, total: ArrayLike, name: str = "tokens") -> NDArray[np.float64]:
    """``R = total / min(unique, total) - 1``: repetitions beyond the first pass (dimensionless).

    Zero while ``total <= unique`` (nothing has been seen twice yet). ``name`` labels errors.
    """
    u = positive_array(f"unique_{name}", unique)
    t = positive_array(name, total)
    u, t = broadcast(**{f"unique_{name}": u, name: t})
    return t / np.minimum(u, t) - 1.0


def _effective(unique: NDArray[np.float64], total: NDArray[np.float64], r_star: float) -> NDArray[np.float64]:
    u_seen = np.minimum(unique, total)
    r = total / u_seen - 1.0
    return u_seen + u_seen * r_star * (-np.expm1(-r / r_star))


def effective_data(unique_tokens: ArrayLike, tokens: ArrayLike,
                   R_D_star: float = MUENNIGHOFF_R_D_STAR) -> NDArray[np.float64]:
    """Effective training tokens ``D' = U_D + U_D R_D* (1 - exp(-R_D/R_D*))`` [tokens].

    Muennighoff et al. 2023 (arXiv:2305.16264; form and constants from the authors'
    repository). unique_tokens: ``U_D``, distinct tokens available [tokens]; tokens: ``D``, tokens
    seen in training [tokens]; R_D_star: decay constant (dimensionless, default 15.387756). Before
    the first epoch ends (``D <= U_D``) ``D' = D``; as ``D -> inf``, ``D' -> U_D (1 + R_D*)``.
    Broadcasts over arrays.
    """
    r_star = positive_scalar("R_D_star", R_D_star)
    u = positive_array("unique_tokens", unique_tokens)
    d = positive_array("tokens", tokens)
    u, d = broadcast(unique_tokens=u, tokens=d)
    return _effective(u, d, r_star)


def effective_params(unique_params: ArrayLike, params: ArrayLike,
                     R_N_star: float = MUENNIGHOFF_R_N_STAR) -> NDArray[np.float64]:
    """Effective parameters ``N' = U_N + U_N R_N* (1 - exp(-R_N/R_N*))`` [parameters].

    Muennighoff et al. 2023 (arXiv:2305.16264). unique_params: ``U_N``, the
    parameters the unique data can use, normally :func:`optimal_params_for_tokens` of ``U_D``
    [parameters]; params: ``N`` [parameters]; R_N_star: decay constant (default 5.309743).
    ``N' = N`` while ``N <= U_N``. Broadcasts over arrays.
    """
    r_star = positive_scalar("R_N_star", R_N_star)
    u = positive_array("unique_params", unique_params)
    n = positive_array("params", params)
    u, n = broadcast(unique_params=u, params=n)
    return _effective(u, n, r_star)


@dataclass(frozen=True)
class DataConstrainedLaw:
    """``L = E + A / N'^alpha + B / D'^beta`` with the effective counts of Muennighoff et al. 2023.

    base: the single-epoch law (E, A, B [nats/token]; alpha, beta); R_D_star, R_N_star: decay
    constants (dimensionless). ``name`` and ``source`` say which fit this is.
    """

    base: ChinchillaLaw
    R_D_star: float
    R_N_star: float
    name: str = "custom"
    source: str = ""

    def __post_init__(self) -> None:
        positive_scalar("R_D_star", self.R_D_star)
        positive_scalar("R_N_star", self.R_N_star)
        if not isinstance(self.base, ChinchillaLaw):
            raise ValueError(f"base = {self.base!r} is not a ChinchillaLaw")


MUENNIGHOFF2023 = DataConstrainedLaw(
    base=ChinchillaLaw(E=float(np.exp(0.6254804)), A=float(np.exp(6.255414)), B=float(np.exp(7.3049974)),
                       alpha=0.3526596, beta=0.3526596, name="muennighoff2023-base",
                       source="Muennighoff et al. 2023, huggingface/datablations README (C4 fit)"),
    R_D_star=MUENNIGHOFF_R_D_STAR,
    R_N_star=MUENNIGHOFF_R_N_STAR,
    name="muennighoff2023",
    source="Muennighoff et al. 2023, arXiv:2305.16264; constants from huggingface/datablations README",
)
"""The published fit: E = e^0.6254804 ~ 1.87, A = e^6.255414 ~ 521, B = e^7.3049974 ~ 1488,
alpha = beta = 0.3526596, R_D* = 15.387756, R_N* = 5.309743 (losses on C4, GPT-2 tokenizer)."""


def optimal_params_for_tokens(law: ChinchillaLaw, tokens: ArrayLike) -> NDArray[np.float64]:
    """The compute-optimal model size for ``tokens`` training tokens under ``law`` [parameters].

    From Hoffmann et al. 2022, Eq. 4 (``D_opt = G^-1 (C/6)^b``, ``N_opt = G (C/6)^a``):
    ``N = G (G D)^(beta/alpha)``; Muennighoff et al. 2023 take ``U_N`` as this of ``U_D``.
    """
    d = positive_array("tokens", tokens)
    return law.G * (law.G * d) ** (law.beta / law.alpha)


def data_constrained_loss(law: DataConstrainedLaw, params: ArrayLike, tokens: ArrayLike,
                          unique_tokens: ArrayLike) -> NDArray[np.float64]:
    """Predicted loss [nats/token] of ``params`` parameters trained on ``tokens`` tokens drawn
    (with repetition) from ``unique_tokens`` distinct tokens (Muennighoff et al. 2023).

    ``U_N = min(N, optimal_params_for_tokens(U_D))``. With ``unique_tokens >= tokens`` and
    ``N <= U_N`` it is the base law. Broadcasts over arrays.
    """
    n = positive_array("params", params)
    d = positive_array("tokens", tokens)
    u = positive_array("unique_tokens", unique_tokens)
    n, d, u = broadcast(params=n, tokens=d, unique_tokens=u)
    b = law.base
    u_n = np.minimum(n, optimal_params_for_tokens(b, np.minimum(u, d)))
    n_eff = _effective(u_n, n, law.R_N_star)
    d_eff = _effective(u, d, law.R_D_star)
    return b.E + b.A * n_eff ** (-b.alpha) + b.B * d_eff ** (-b.beta)


@dataclass(frozen=True)
class DataConstrainedAllocation:
    """Loss-minimising split of a budget when unique tokens are capped.

    flops [FLOP], unique_tokens [tokens], params [parameters], tokens (seen, repeats included)
    [tokens], loss [nats/token]; ``epochs = tokens / unique_tokens`` (below 1: the cap does not bind).
    """

    flops: NDArray[np.float64]
    unique_tokens: NDArray[np.float64]
    params: NDArray[np.float64]
    tokens: NDArray[np.float64]
    loss: NDArray[np.float64]

    @property
    def epochs(self) -> NDArray[np.float64]:
        """Passes over the unique data, ``tokens / unique_tokens`` (dimensionless)."""
        return self.tokens / self.unique_tokens

    @property
    def tokens_per_param(self) -> NDArray[np.float64]:
        """``tokens / params`` [tokens per parameter]."""
        return self.tokens / self.params


def plan_data_constrained(flops: ArrayLike, unique_tokens: ArrayLike,
                          law: DataConstrainedLaw = MUENNIGHOFF2023,
                          span: float = 1e3, grid: int = 401, rounds: int = 4) -> DataConstrainedAllocation:
    """Compute-optimal parameters, tokens, epochs and loss for a budget and a unique-token cap.

    Minimises :func:`data_constrained_loss` along the isoFLOP curve ``D = C / (6 N)`` (the
    allocation question of Muennighoff et al. 2023, who grid-search it) by a grid in ``log N`` over ``span`` either side of the
    unconstrained optimum of ``law.base`` (Hoffmann et al. 2022, Eq. 4), zoomed ``rounds`` times
    (relative precision about ``(2 ln span / grid)^(rounds+1)`` in N). flops [FLOP] and
    unique_tokens [tokens] broadcast together. The optimum is interior when the loss along the
    isoFLOP is unimodal in log N, which holds for the published constants.
    """
    c = positive_array("flops", flops)
    u = positive_array("unique_tokens", unique_tokens)
    c, u = broadcast(flops=c, unique_tokens=u)
    span = positive_scalar("span", span)
    if span <= 1:
        raise ValueError(f"span = {span!r} must exceed 1")
    grid = positive_int("grid", grid)
    if grid < 5:
        raise ValueError(f"grid = {grid!r} must be at least 5")
    rounds = positive_int("rounds", rounds) if rounds else 0
    b = law.base
    shape = c.shape
    cf, uf = c.ravel(), u.ravel()
    centre = np.log(b.G * (cf / 6.0) ** b.a)
    half = np.full_like(centre, np.log(span))
    steps = np.linspace(-1.0, 1.0, grid)
    for _ in range(rounds + 1):
        log_n = centre[:, None] + half[:, None] * steps[None, :]
        n = np.exp(log_n)
        loss = data_constrained_loss(law, n, training_tokens(n, cf[:, None]), uf[:, None])
        best = np.argmin(loss, axis=1)
        centre = log_n[np.arange(len(cf)), best]
        half = half * 2.0 / (grid - 1) * 2.0
    n_opt = np.exp(centre)
    d_opt = training_tokens(n_opt, cf)
    loss = data_constrained_loss(law, n_opt, d_opt, uf)
    return DataConstrainedAllocation(flops=c, unique_tokens=u, params=n_opt.reshape(shape),
                                     tokens=d_opt.reshape(shape), loss=loss.reshape(shape))
