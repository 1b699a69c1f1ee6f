"""Counting: parameters and FLOPs of a transformer under every convention the book uses
(Kaplan et al. 2020, Hoffmann et al. 2022 Appendix F, GPT-2), and C = 6ND."""

from . import transformer
from .transformer import *  # noqa: F403
from .transformer import __all__ as _transformer_all

__all__ = ["transformer", *_transformer_all]
