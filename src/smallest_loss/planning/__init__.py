"""Planning: how to spend a budget (FLOPs or dollars) and the cheapest run for a target loss.

Every law -- a named Chinchilla-form constant set, an Approach 3 fit (with its bootstrap draws:
95% intervals), Kaplan et al.'s frontier, or a power-law-only Approach 1/2 fit -- answers through
one interface, :class:`PlanningLaw` (``for_flops``, ``for_loss``), loaded by :func:`load_law`. The
``smallest-loss plan`` command and the chapters call the same functions.
"""

from .core import *  # noqa: F403
from .core import __all__  # noqa: F401
