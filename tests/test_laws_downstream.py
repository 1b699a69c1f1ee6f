"""Gadre et al.'s loss -> downstream error law: form, inverse, fit recovery, averaging."""

import numpy as np
import pandas as pd
import pytest

from smallest_loss.laws.downstream import GADRE_SUBSET_TASKS, DownstreamLaw, average_error, fit_downstream_law

TRUE = DownstreamLaw(epsilon=0.85, k=3.0, gamma=0.9)


def test_form_and_inverse():
    assert float(TRUE.error(2.0)) == pytest.approx(0.85 - 3.0 * np.exp(-1.8))
    assert float(TRUE.accuracy(2.0)) == pytest.approx(1 - float(TRUE.error(2.0)))
    losses = np.array([2.0, 3.0, 4.5])
    np.testing.assert_allclose(TRUE.loss_for_error(TRUE.error(losses)), losses)
    with pytest.raises(ValueError, match="outside the law's range"):
        TRUE.loss_for_error(0.9)


def test_bad_constants():
    with pytest.raises(ValueError, match="k"):
        DownstreamLaw(0.8, -1.0, 1.0)
    with pytest.raises(ValueError, match="epsilon"):
        DownstreamLaw(float("nan"), 1.0, 1.0)


def test_fit_recovers_known_constants():
    rng = np.random.default_rng(0)
    loss = np.linspace(2.3, 6.0, 60)
    err = TRUE.error(loss) + rng.normal(0, 0.003, loss.size)
    fit = fit_downstream_law(loss, err)
    assert fit.gamma == pytest.approx(0.9, rel=0.05)
    assert fit.epsilon == pytest.approx(0.85, abs=0.01)
    assert fit.k == pytest.approx(3.0, rel=0.15)
    assert fit.rmse == pytest.approx(0.003, rel=0.3)


def test_fit_bad_input():
    with pytest.raises(ValueError, match="at least 4"):
        fit_downstream_law([2, 3, 4], [0.5, 0.6, 0.7])
    with pytest.raises(ValueError, match="length mismatch"):
        fit_downstream_law([2, 3, 4, 5], [0.5, 0.6, 0.7])
    with pytest.raises(ValueError, match="loss"):
        fit_downstream_law([2, 3, -4, 5], [0.5, 0.6, 0.7, 0.8])
    with pytest.raises(ValueError, match="k = "):  # error rising as loss falls
        fit_downstream_law(np.linspace(2, 5, 10), 0.9 - 0.1 * np.exp(-np.linspace(2, 5, 10)) * -1)


def test_average_error():
    assert len(GADRE_SUBSET_TASKS) == 17 and len(set(GADRE_SUBSET_TASKS)) == 17
    evals = pd.DataFrame({"model": ["a", "a", "b", "b"], "task": ["x", "y", "x", "y"],
                          "accuracy": [0.5, 0.7, 0.2, 0.4]})
    err = average_error(evals, ["x", "y"])
    assert err["a"] == pytest.approx(0.4) and err["b"] == pytest.approx(0.7)
    with pytest.raises(ValueError, match="model 'b' has no accuracy for task 'y'"):
        average_error(evals.iloc[:3], ["x", "y"])
    with pytest.raises(ValueError, match="no model has task 'z'"):
        average_error(evals, ["x", "z"])
