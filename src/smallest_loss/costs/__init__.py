"""Costs: from GPU-hours and dollars to training FLOPs and back (compute), spot instances and
checkpointing (spot), hardware price-performance over time (hardware), energy and emissions
(energy), serving latency and cost (inference), and the profit of a trained model (profit)."""

from . import compute
from .compute import *  # noqa: F403
from .compute import __all__ as _compute_all

# after compute's names: profit needs laws, and laws.kaplan needs costs.PF_DAY
from . import energy, hardware, inference, profit, spot  # noqa: E402

__all__ = ["compute", "energy", "hardware", "inference", "profit", "spot", *_compute_all]
