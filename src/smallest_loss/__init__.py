"""smallest_loss: the library behind the book "The Smallest Loss Compute Can Buy".

Subpackages mirror the book's concerns:

``fit``       the estimators: Hoffmann et al.'s Approaches 1, 2, 3 (``fit.approach1`` ...), their
              bootstraps, Kaplan's learning-curve fit
``laws``      published laws and their constants (``laws.chinchilla``, ``laws.kaplan``)
``counting``  parameters and FLOPs under every convention
``costs``     dollars and GPU-hours to FLOPs
``datasets``  the pinned registry of external data, verified download or mirror, tidy loaders
``reconcile`` the reconciliation of Kaplan and Chinchilla (chapter 5)
``cli``       the ``smallest-loss`` command
``plotting``  the book's figure theme (import it explicitly)

The most used names are importable from the top level (``smallest_loss.HOFFMANN2022``,
``smallest_loss.fit_approach3`` ...).
"""

__version__ = "0.1.0"

from . import costs, counting, datasets, fit, laws, reconcile
from .counting import training_flops, training_tokens
from .fit import (
    Approach1Fit,
    Approach2Fit,
    Approach3Fit,
    bootstrap_approach2,
    bootstrap_approach3,
    fit_approach1,
    fit_approach2,
    fit_approach3,
)
from .laws import (
    BESIROGLU2024,
    HOFFMANN2022,
    HOFFMANN2022_PRINTED,
    LAWS,
    Allocation,
    ChinchillaLaw,
    budget_for_optimal_params,
    compute_optimal_allocation,
)
from .laws.kaplan import KAPLAN2020

__all__ = [
    "costs",
    "counting",
    "datasets",
    "fit",
    "laws",
    "reconcile",
    "BESIROGLU2024",
    "HOFFMANN2022",
    "HOFFMANN2022_PRINTED",
    "KAPLAN2020",
    "LAWS",
    "Allocation",
    "ChinchillaLaw",
    "compute_optimal_allocation",
    "budget_for_optimal_params",
    "training_flops",
    "training_tokens",
    "Approach1Fit",
    "Approach2Fit",
    "Approach3Fit",
    "fit_approach1",
    "fit_approach2",
    "fit_approach3",
    "bootstrap_approach2",
    "bootstrap_approach3",
    "__version__",
]
