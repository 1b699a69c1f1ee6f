"""Published constants of the retrieval comparison in RETRO (Borgeaud et al. 2021, arXiv:2112.04426).

Borgeaud et al. state in their abstract that the Retrieval-Enhanced Transformer, with a database
of 2 trillion tokens, performs comparably to GPT-3 and Jurassic-1 on the Pile while using 25 times
fewer parameters. GPT-3's size, 175 billion parameters, is the largest model of Brown et al. 2020
(arXiv:2005.14165), Table 2.1. Read as a parameter multiplier at equal quality on that benchmark,
the claim says that a model of ``GPT3_PARAMS / RETRO_PARAM_FACTOR`` parameters with retrieval does
the work of GPT-3 there; it is not a compute multiplier (the database must be built, stored and
searched, and the compared models saw different data).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from ..validation import positive_scalar

__all__ = ["GPT3_PARAMS", "RETRO_PARAM_FACTOR", "RETRO_DATABASE_TOKENS", "SOURCES",
           "retrieval_equivalent_params"]

GPT3_PARAMS = 175e9
"""Parameters of GPT-3 175B (Brown et al. 2020, Table 2.1) [parameters]."""
RETRO_PARAM_FACTOR = 25.0
"""'25x fewer parameters' than GPT-3 and Jurassic-1 at comparable Pile performance (Borgeaud et
al. 2021, abstract)."""
RETRO_DATABASE_TOKENS = 2e12
"""Size of RETRO's retrieval database, '2 trillion tokens' (Borgeaud et al. 2021, abstract) [tokens]."""

SOURCES: Mapping[str, str] = MappingProxyType({
    "GPT3_PARAMS": "Brown et al. 2020, arXiv:2005.14165, Table 2.1 (GPT-3 175B)",
    "RETRO_PARAM_FACTOR": "Borgeaud et al. 2021, arXiv:2112.04426, abstract (25x fewer parameters)",
    "RETRO_DATABASE_TOKENS": "Borgeaud et al. 2021, arXiv:2112.04426, abstract (2 trillion token database)",
})


def retrieval_equivalent_params(dense_params: float = GPT3_PARAMS,
                                factor: float = RETRO_PARAM_FACTOR) -> float:
    """Parameters of a retrieval model that matches a dense model of ``dense_params`` when
    retrieval is worth a parameter ``factor`` (default: RETRO against GPT-3) [parameters].
    ValueError if either argument is not a finite positive number, or ``factor`` is below 1."""
    n = positive_scalar("dense_params", dense_params)
    f = positive_scalar("factor", factor)
    if f < 1.0:
        raise ValueError(f"factor must be at least 1 (a parameter saving), got {f!r}")
    return n / f
