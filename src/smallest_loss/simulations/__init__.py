"""Small numerical simulations that stand in for experiments too large to rerun.

``pruning``: the teacher-student perceptron of Sorscher et al. 2022 trained on pruned data.
"""

from . import pruning
from .pruning import PruningCurve, generalization_error, pruning_experiment, train_student

__all__ = ["pruning", "PruningCurve", "generalization_error", "pruning_experiment", "train_student"]
