"""Sorscher et al. 2022's teacher-student pruning simulation."""

import numpy as np
import pytest

from smallest_loss.simulations import pruning


def test_generalization_error():
    t = np.array([1.0, 0.0])
    assert pruning.generalization_error([1.0, 0.0], t) == pytest.approx(0.0)
    assert pruning.generalization_error([0.0, 1.0], t) == pytest.approx(0.5)
    assert pruning.generalization_error([-1.0, 0.0], t) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="zero vector"):
        pruning.generalization_error([0.0, 0.0], t)


def test_student_learns_teacher():
    rng = np.random.default_rng(0)
    t = rng.standard_normal(10)
    x = rng.standard_normal((2000, 10))
    y = np.sign(x @ t)
    assert pruning.generalization_error(pruning.train_student(x, y), t) < 0.02


def test_hard_beats_random_with_much_data_and_easy_wins_with_little():
    kept = np.array([20, 640])
    r = pruning.pruning_experiment(kept, 1.0, "random", dim=20, trials=4, seed=0)
    h = pruning.pruning_experiment(kept, 0.1, "hard", dim=20, trials=4, seed=0)
    e = pruning.pruning_experiment(kept, 0.1, "easy", dim=20, trials=4, seed=0)
    assert h.error[1] < r.error[1] / 2
    assert e.error[0] < h.error[0]
    assert r.power_law_exponent() > 0 and np.allclose(r.alpha, kept / 20)


@pytest.mark.parametrize("kwargs, message", [
    (dict(kept=[10], fraction_kept=1.5, rule="hard"), "fraction_kept"),
    (dict(kept=[10], fraction_kept=0.5, rule="middle"), "rule"),
    (dict(kept=[10.5], fraction_kept=0.5, rule="hard"), "kept"),
    (dict(kept=[10], fraction_kept=0.5, rule="hard", dim=0), "dim"),
])
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pruning.pruning_experiment(**kwargs)


def test_student_bad_labels():
    with pytest.raises(ValueError, match="labels"):
        pruning.train_student(np.ones((3, 2)), np.array([0.0, 1.0, 1.0]))
