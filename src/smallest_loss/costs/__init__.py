"""Costs: from GPU-hours and dollars to training FLOPs and back (compute), spot instances and
checkpointing (spot), hardware price-performance over time (hardware), energy and emissions
(energy), serving latency and cost (inference), and the profit of a trained model (profit)."""

from . import compute, energy, hardware, inference, profit, spot
from .compute import *  # noqa: F403
from .compute import __all__ as _compute_all

__all__ = ["compute", "energy", "hardware", "inference", "profit", "spot", *_compute_all]
