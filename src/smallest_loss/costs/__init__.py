"""Costs: from GPU-hours and dollars to training FLOPs and back."""

from . import compute
from .compute import *  # noqa: F403
from .compute import __all__ as _compute_all

__all__ = ["compute", *_compute_all]
