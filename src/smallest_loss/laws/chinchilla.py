"""The parametric loss law of Hoffmann et al. (2022) and its compute-optimal allocation.

The law (Hoffmann et al. 2022, Eq. 2) models the final training loss of a model with ``N``
parameters trained on ``D`` tokens as

    L(N, D) = E + A / N**alpha + B / D**beta        [nats per token]

Under the compute constraint ``C = 6 N D`` (FLOPs) the loss-minimising allocation has a closed form
(Hoffmann et al. 2022, Eq. 4): ``N_opt = G (C/6)**a``, ``D_opt = G**-1 (C/6)**b`` with
``G = (alpha A / (beta B))**(1/(alpha+beta))``, ``a = beta/(alpha+beta)`` and ``b = alpha/(alpha+beta)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..counting import training_tokens
from ..validation import broadcast, positive_array, positive_scalar

__all__ = [
    "ChinchillaLaw",
    "AllocationExponents",
    "Allocation",
    "HOFFMANN2022",
    "HOFFMANN2022_PRINTED",
    "BESIROGLU2024",
    "LAWS",
    "compute_optimal_allocation",
    "params_exponent",
    "tokens_exponent",
    "budget_for_optimal_params",
]


def params_exponent(alpha: ArrayLike, beta: ArrayLike) -> NDArray[np.float64]:
    """``a = beta / (alpha + beta)``, the exponent of ``N_opt ∝ C^a`` (Hoffmann et al. 2022, Eq. 4)."""
    al, be = np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float)
    return be / (al + be)


def tokens_exponent(alpha: ArrayLike, beta: ArrayLike) -> NDArray[np.float64]:
    """``b = alpha / (alpha + beta)``, the exponent of ``D_opt ∝ C^b`` (Hoffmann et al. 2022, Eq. 4)."""
    al, be = np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float)
    return al / (al + be)


class AllocationExponents:
    """The allocation exponents of any object with ``alpha`` and ``beta`` (a law, a fit)."""

    alpha: float
    beta: float

    @property
    def a(self) -> float:
        """Exponent of ``N_opt ∝ C^a``: ``beta / (alpha + beta)`` (Hoffmann et al. 2022, Eq. 4)."""
        return float(params_exponent(self.alpha, self.beta))

    @property
    def b(self) -> float:
        """Exponent of ``D_opt ∝ C^b``: ``alpha / (alpha + beta)`` (Hoffmann et al. 2022, Eq. 4)."""
        return float(tokens_exponent(self.alpha, self.beta))


@dataclass(frozen=True)
class ChinchillaLaw(AllocationExponents):
    """``L(N, D) = E + A N^-alpha + B D^-beta`` (Hoffmann et al. 2022, Eq. 2).

    E: irreducible loss [nats/token]; A, B: scale constants [nats/token]; alpha, beta: exponents
    (dimensionless). ``name`` and ``source`` say which published fit this is.
    """

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    name: str = "custom"
    source: str = ""

    def __post_init__(self) -> None:
        for field in ("A", "B", "alpha", "beta"):
            positive_scalar(field, getattr(self, field))
        e = float(self.E)
        if not np.isfinite(e) or e < 0:
            raise ValueError(f"E = {self.E!r} must be a finite non-negative number")

    @property
    def G(self) -> float:
        """``G = (alpha A / (beta B))^(1/(alpha+beta))`` of Hoffmann et al. 2022, Eq. 4."""
        return (self.alpha * self.A / (self.beta * self.B)) ** (1.0 / (self.alpha + self.beta))

    def loss(self, params: ArrayLike, tokens: ArrayLike) -> NDArray[np.float64]:
        """Predicted loss [nats/token] for ``params`` parameters trained on ``tokens`` tokens."""
        n = positive_array("params", params)
        d = positive_array("tokens", tokens)
        n, d = broadcast(params=n, tokens=d)
        return self.E + self.A * n ** (-self.alpha) + self.B * d ** (-self.beta)

    def loss_at_compute(self, params: ArrayLike, flops: ArrayLike) -> NDArray[np.float64]:
        """Loss along an isoFLOP curve: ``params`` trained on ``D = C / (6 N)`` tokens."""
        return self.loss(params, training_tokens(params, flops))

    def with_rounded(self, name: str | None = None) -> "ChinchillaLaw":
        """Return a copy with constants rounded as Hoffmann et al. printed them (E, alpha, beta
        to 2 decimals, A and B to 1)."""
        return ChinchillaLaw(
            E=round(self.E, 2), A=round(self.A, 1), B=round(self.B, 1),
            alpha=round(self.alpha, 2), beta=round(self.beta, 2),
            name=name or f"{self.name} (rounded)", source=self.source,
        )


@dataclass(frozen=True)
class Allocation:
    """Compute-optimal allocation of a training budget.

    flops: budget C [FLOP]; params: N_opt [parameters]; tokens: D_opt [tokens];
    loss: L(N_opt, D_opt) [nats/token].
    """

    flops: NDArray[np.float64]
    params: NDArray[np.float64]
    tokens: NDArray[np.float64]
    loss: NDArray[np.float64]

    @property
    def tokens_per_param(self) -> NDArray[np.float64]:
        """``D_opt / N_opt`` [tokens per parameter]."""
        return self.tokens / self.params


def compute_optimal_allocation(law: ChinchillaLaw, flops: ArrayLike) -> Allocation:
    """Loss-minimising parameters and tokens for a training budget.

    Closed form for ``L = E + A N^-alpha + B D^-beta`` under ``C = 6 N D`` (Hoffmann et al. 2022,
    Eq. 4): ``N_opt = G (C/6)^a`` and ``D_opt = G^-1 (C/6)^b``.
    flops: training FLOPs (scalar or array). Returns an :class:`Allocation` (loss in nats/token).
    """
    c = positive_array("flops", flops)
    params = law.G * (c / 6.0) ** law.a
    tokens = (c / 6.0) ** law.b / law.G
    return Allocation(flops=c, params=params, tokens=tokens, loss=law.loss(params, tokens))


def budget_for_optimal_params(law: ChinchillaLaw, params: ArrayLike) -> NDArray[np.float64]:
    """The training budget [FLOP] at which ``params`` parameters are compute-optimal.

    The inverse of :func:`compute_optimal_allocation`: ``C = 6 (N / G)^(1/a)`` (Hoffmann et al.
    2022, Eq. 4 solved for C); the way Tables 3 and A3 of that paper go from a model size to a
    budget and ``D = C / (6 N)`` tokens.
    """
    n = positive_array("params", params)
    return 6.0 * (n / law.G) ** (1.0 / law.a)


# --- Published constant sets -------------------------------------------------------------------

HOFFMANN2022 = ChinchillaLaw(
    E=1.69337, A=406.401, B=410.723, alpha=0.33917, beta=0.28491,
    name="hoffmann2022",
    source=(
        "Hoffmann et al. 2022, Approach 3, unrounded estimates behind Eq. 10: Epoch AI's "
        "replication code (epoch-research/analyzing-chinchilla, data_analysis.ipynb, true_params), "
        "which Besiroglu et al. 2024 attribute to the paper's TeX source"
    ),
)
"""Hoffmann et al.'s Approach 3 fit with more digits than Eq. 10 prints.

Epoch AI's notebook stores ``true_params = [6.0073404, 6.0179186, 0.5267228, 0.33917084, 0.2849083]``
as (ln A, ln B, ln E, alpha, beta); the constants here are those values (A, B, E exponentiated)
to six significant digits. This set reproduces the 40B Gopher-budget size of Hoffmann et al.'s
Figure 4 but none of the Approach 3 rows of their Table A3: at each row's parameter count it asks
for 6-19% more tokens than the row prints (chapter 1), so the tables were computed with constants
or a procedure the paper does not print.
"""

HOFFMANN2022_PRINTED = ChinchillaLaw(
    E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28,
    name="hoffmann2022-printed",
    source="Hoffmann et al. 2022, Eq. 10 (Approach 3, constants as printed)",
)

BESIROGLU2024 = ChinchillaLaw(
    E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658,
    name="besiroglu2024",
    source=(
        "Besiroglu et al. 2024, Approach 3 refit on 240 points digitized from Hoffmann et al. Fig. 4 "
        "(the five values Pearce & Song 2024's analysis script quotes for it; the authors' notebook "
        "epoch-research/analyzing-chinchilla prints E 1.81686, A 482.0057, B 2085.434, alpha 0.34781, "
        "beta 0.36585)"
    ),
)
"""Besiroglu et al.'s published Approach 3 estimates, to the digits the paper quotes for A, B, alpha
and beta. They maximise a Huber likelihood with a free scale (``fit.likelihood``), not the Huber sum
of Hoffmann et al.'s Eq. 3; their plain Huber-sum fit is chapter 4's (E 1.81724, A 477.84)."""

LAWS: dict[str, ChinchillaLaw] = {
    law.name: law for law in (HOFFMANN2022, HOFFMANN2022_PRINTED, BESIROGLU2024)
}
