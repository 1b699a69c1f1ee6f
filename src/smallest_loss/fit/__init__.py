"""Estimators: Hoffmann et al. 2022's three approaches to the compute-optimal frontier, named by
number, and Kaplan et al. 2020's learning-curve fit.

``approach1``: the lower envelope of training curves (Approach 1).
``approach2``: isoFLOP parabolas (Approach 2) and their bootstrap.
``approach3``: the parametric loss law fitted with a Huber loss from 4,500 L-BFGS starts
(Approach 3) and its bootstrap.
``learning_curves``: L(N, S) fitted and inverted along one training curve.
"""

from . import (approach1, approach2, approach3, data_constrained, holdout, hparams, learning_curves,
               likelihood, schedules)
from .approach1 import Approach1Bootstrap, Approach1Fit, bootstrap_approach1, fit_approach1, loss_envelope
from .approach2 import Approach2Bootstrap, Approach2Fit, bootstrap_approach2, fit_approach2, isoflop_optima
from .approach3 import Approach3Bootstrap, Approach3Fit, bootstrap_approach3, fit_approach3
from .learning_curves import LearningCurveFit, fit_loss_of_steps

__all__ = [
    "approach1",
    "approach2",
    "approach3",
    "data_constrained",
    "holdout",
    "learning_curves",
    "likelihood",
    "Approach1Fit",
    "Approach1Bootstrap",
    "bootstrap_approach1",
    "fit_approach1",
    "loss_envelope",
    "Approach2Fit",
    "Approach2Bootstrap",
    "fit_approach2",
    "bootstrap_approach2",
    "isoflop_optima",
    "Approach3Fit",
    "Approach3Bootstrap",
    "fit_approach3",
    "bootstrap_approach3",
    "LearningCurveFit",
    "fit_loss_of_steps",
    "hparams",
    "schedules",
]
