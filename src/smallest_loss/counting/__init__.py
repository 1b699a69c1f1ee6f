"""Counting: parameters and FLOPs of a transformer under every convention the book uses
(Kaplan et al. 2020, Hoffmann et al. 2022 Appendix F, GPT-2), C = 6ND, routed
(mixture-of-experts) layers with total against active parameters, and training memory (bytes per
parameter by precision and optimizer, ZeRO, offload, activations, offloaded throughput) and
block-wise 8-bit quantization of optimizer state."""

from . import memory, moe, quantization, transformer
from .memory import *  # noqa: F403
from .memory import __all__ as _memory_all
from .moe import *  # noqa: F403
from .moe import __all__ as _moe_all
from .quantization import *  # noqa: F403
from .quantization import __all__ as _quantization_all
from .transformer import *  # noqa: F403
from .transformer import __all__ as _transformer_all

__all__ = ["transformer", "moe", "memory", "quantization", *_transformer_all, *_moe_all, *_memory_all,
           *_quantization_all]
