"""Counting: parameters and FLOPs of a transformer under every convention the book uses
(Kaplan et al. 2020, Hoffmann et al. 2022 Appendix F, GPT-2), C = 6ND, and routed
(mixture-of-experts) layers: total against active parameters."""

from . import moe, transformer
from .moe import *  # noqa: F403
from .moe import __all__ as _moe_all
from .transformer import *  # noqa: F403
from .transformer import __all__ as _transformer_all

__all__ = ["transformer", "moe", *_transformer_all, *_moe_all]
