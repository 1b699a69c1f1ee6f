"""Gadre et al.'s laws: loss -> downstream error (form, inverse, fit recovery, averaging) and the
shared-exponent over-training loss law with their five-run fit set."""

import numpy as np
import pandas as pd
import pytest

from smallest_loss.laws.downstream import (GADRE_LOSS_FIT_CONFIGS, GADRE_SUBSET_TASKS, DownstreamLaw,
                                           average_error, fit_downstream_law, fit_shared_exponent_law,
                                           gadre_loss_fit_runs)

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


# --- Gadre et al.'s over-training loss law (one exponent) and their fit set ---------------------


def test_shared_exponent_fit_recovers_known_constants():
    rng = np.random.default_rng(1)
    n = np.repeat(np.geomspace(1e7, 5e8, 5), 4)
    d = n * np.tile([10.0, 20.0, 80.0, 320.0], 5)
    true = dict(E=1.7, A=120.0, B=250.0, eta=0.26)
    loss = true["E"] + true["A"] * n ** -true["eta"] + true["B"] * d ** -true["eta"]
    fit = fit_shared_exponent_law(n, d, loss * (1 + 1e-4 * rng.standard_normal(n.size)))
    assert fit.eta == pytest.approx(true["eta"], rel=0.03)
    assert fit.law.E == pytest.approx(true["E"], abs=0.03)
    assert fit.law.alpha == fit.law.beta == fit.eta
    assert fit.n_points == 20 and fit.rmse < 1e-3
    np.testing.assert_allclose(fit.law.loss(n, d), loss, rtol=1e-3)


def test_shared_exponent_fit_exact_five_points():
    # five runs, four constants: the least-squares optimum passes (almost) through them
    n = np.array([1e7, 8e7, 1.5e8, 4e8, 1e7])
    d = n * np.array([20, 20, 20, 20, 320])
    loss = 1.5 + 110 * n ** -0.24 + 150 * d ** -0.24
    fit = fit_shared_exponent_law(n, d, loss)
    assert fit.eta == pytest.approx(0.24, rel=1e-3)
    assert (fit.law.E, fit.law.A, fit.law.B) == pytest.approx((1.5, 110, 150), rel=1e-2)


def test_shared_exponent_fit_bad_input():
    n = np.geomspace(1e7, 1e9, 6)
    with pytest.raises(ValueError, match="at least 5 points"):
        fit_shared_exponent_law(n[:4], 20 * n[:4], np.full(4, 3.0))
    with pytest.raises(ValueError, match="params"):
        fit_shared_exponent_law(-n, 20 * n, np.full(6, 3.0))
    with pytest.raises(ValueError, match="tokens"):
        fit_shared_exponent_law(n, 20 * n[:5], np.full(6, 3.0))
    with pytest.raises(ValueError, match="eta_bounds"):
        fit_shared_exponent_law(n, 20 * n, 3.0 + 1 / n ** 0.1, eta_bounds=(1.0, 0.5))
    with pytest.raises(ValueError, match="<= 0|at a bound"):
        # loss rising with size: no positive A
        fit_shared_exponent_law(n, 20 * n, 3.0 + 1e-3 * np.log(n))


def test_gadre_loss_fit_runs_selects_their_five():
    configs = list(GADRE_LOSS_FIT_CONFIGS) + ["open_lm_1b"]
    rows = [{"model": f"{c}-{m}", "config": c, "multiplier": m}
            for c in configs for m in (0.25, 1.0, 16.0)]
    runs = pd.DataFrame(rows)
    chosen = gadre_loss_fit_runs(runs)
    assert len(chosen) == 5
    assert set(chosen.loc[chosen["multiplier"] == 1.0, "config"]) == set(GADRE_LOSS_FIT_CONFIGS)
    assert chosen.loc[chosen["multiplier"] == 16.0, "config"].tolist() == ["d=96_l=8_h=4"]
    with pytest.raises(ValueError, match="5 distinct runs"):
        gadre_loss_fit_runs(pd.concat([runs, runs]))
    with pytest.raises(ValueError, match="missing column 'config'"):
        gadre_loss_fit_runs(runs.drop(columns="config"))
