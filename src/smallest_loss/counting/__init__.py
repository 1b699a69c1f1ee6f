"""Counting: parameters and FLOPs of a transformer under every convention the book uses
(Kaplan et al. 2020, Hoffmann et al. 2022 Appendix F, GPT-2), C = 6ND, routed
(mixture-of-experts) layers with total against active parameters, and training memory (bytes per
parameter by precision and optimizer, ZeRO, offload, activations)."""

from . import memory, moe, transformer
from .memory import *  # noqa: F403
from .memory import __all__ as _memory_all
from .moe import *  # noqa: F403
from .moe import __all__ as _moe_all
from .transformer import *  # noqa: F403
from .transformer import __all__ as _transformer_all

__all__ = ["transformer", "moe", "memory", *_transformer_all, *_moe_all, *_memory_all]
