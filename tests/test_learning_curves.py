"""Tests for smallest_loss.fit.learning_curves: fitting L(S) = L_inf + (S_c/S)^alpha_S (Kaplan et al. 2020,
Eq. 5.6 at fixed N) and inverting L(N, S_min) for the steps to a target loss."""

from __future__ import annotations

import numpy as np
import pytest

from smallest_loss.laws import kaplan as k
from smallest_loss.laws.kaplan import KAPLAN2020
from smallest_loss.fit.learning_curves import LearningCurveFit, fit_loss_of_steps, steps_to_loss

STEPS = np.arange(3_000, 250_001, 500, dtype=float)   # Kaplan Sec. 2.3: 2.5e5 steps, 3000 warmup


@pytest.mark.parametrize("params", [1e6, 1e8, 1e10])
def test_recovers_table3_constants_from_noiseless_curve(params):
    loss = k.loss_of_params_steps(params, STEPS)
    fit = fit_loss_of_steps(STEPS, loss)
    # Table 3 of Kaplan et al. 2020: alpha_S = 0.76, S_c = 2.1e3; offset (N_c/N)^alpha_N.
    assert fit.alpha_S == pytest.approx(0.76, rel=1e-6)
    assert fit.S_c == pytest.approx(2.1e3, rel=1e-5)
    assert fit.loss_inf == pytest.approx((6.5e13 / params) ** 0.077, rel=1e-8)
    assert fit.rss < 1e-15 and fit.n_points == STEPS.size
    np.testing.assert_allclose(fit.predict([1e6, 1e7]), k.loss_of_params_steps(params, [1e6, 1e7]),
                               rtol=1e-8)


def test_recovers_constants_from_an_early_segment_only():
    early = STEPS[STEPS <= 25_000]
    fit = fit_loss_of_steps(early, k.loss_of_params_steps(1e8, early))
    assert fit.predict(250_000) == pytest.approx(float(k.loss_of_params_steps(1e8, 250_000)), rel=1e-7)


def test_other_exponents_and_scales_are_recovered():
    steps = np.geomspace(100, 1e5, 60)
    loss = 1.7 + (500.0 / steps) ** 0.3
    fit = fit_loss_of_steps(steps, loss)
    assert (fit.loss_inf, fit.S_c, fit.alpha_S) == pytest.approx((1.7, 500.0, 0.3), rel=1e-5)


def test_noisy_fit_is_deterministic_and_close():
    rng = np.random.default_rng(0)
    truth = k.loss_of_params_steps(1e8, STEPS)
    noisy = truth + rng.normal(0.0, 0.01, STEPS.size)
    a, b = fit_loss_of_steps(STEPS, noisy), fit_loss_of_steps(STEPS, noisy)
    assert a == b
    # With 0.01-nat noise on ~500 points the end point is predicted to a few thousandths of a nat.
    assert abs(float(a.predict(250_000)) - float(truth[-1])) < 0.005
    assert a.alpha_S == pytest.approx(0.76, rel=0.15)


def test_unordered_input_gives_the_same_fit():
    loss = k.loss_of_params_steps(1e8, STEPS)
    order = np.random.default_rng(1).permutation(STEPS.size)
    assert fit_loss_of_steps(STEPS[order], loss[order]).alpha_S == pytest.approx(0.76, rel=1e-6)


def test_fit_is_a_frozen_dataclass():
    fit = fit_loss_of_steps(STEPS, k.loss_of_params_steps(1e8, STEPS))
    assert isinstance(fit, LearningCurveFit)
    with pytest.raises(AttributeError):
        fit.alpha_S = 1.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(steps=[1, 2, -3, 4], loss=[4, 3, 2, 1]), r"steps\[2\] = -3\.0 is not positive"),
        (dict(steps=[1, 2, 3, 4], loss=[4, 3, float("nan"), 1]), r"loss\[2\] = nan is not finite"),
        (dict(steps=[1, 2, 3, 4], loss=[4, 3, 2]), r"length mismatch: steps has 4 values but loss has 3"),
        (dict(steps=[1, 2, 3], loss=[4, 3, 2]), r"steps: 3 points given; at least 4"),
        (dict(steps=[1, 1, 2, 2], loss=[4, 4, 3, 3]), r"steps: fewer than 3 distinct"),
        (dict(steps=[1, 2, 3, 4], loss=[1, 2, 3, 4]), r"loss: the curve does not decrease"),
        (dict(steps=[1, 2, 3, 4], loss=[4, 3, 2, 1], alpha_bounds=(1.0, 0.5)), r"alpha_bounds = .* 0 < low < high"),
        (dict(steps=[1, 2, 3, 4], loss=[4, 3, 2, 1], alpha_bounds=(0.0, 1.0)), r"alpha_bounds"),
        (dict(steps=[1, 2, 3, 4], loss=[4, 3, 2, 1], alpha_bounds="ab"), r"alpha_bounds = 'ab' is not a pair"),
        (dict(steps=[1, 2, 3, 4], loss=[4, 3, 2, 1], n_grid=2), r"n_grid = 2 must be an integer >= 3"),
    ],
)
def test_bad_inputs_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit_loss_of_steps(**kwargs)


def test_predict_validates_steps():
    fit = fit_loss_of_steps(STEPS, k.loss_of_params_steps(1e8, STEPS))
    with pytest.raises(ValueError, match=r"steps = 0\.0 is not positive"):
        fit.predict(0.0)


# --- steps_to_loss ------------------------------------------------------------------------------


def test_steps_to_loss_inverts_eq_5_6():
    params = np.array([1e7, 1e8, 1e9])
    steps = np.array([1e3, 3e4, 1e6])
    loss = k.loss_of_params_steps(params, steps)
    np.testing.assert_allclose(steps_to_loss(params, loss), steps, rtol=1e-10)


def test_steps_to_loss_is_c_of_n_l_of_appendix_b4():
    # Kaplan et al. 2020, App. B.4: C(N, L) = 6 B_* S_c N / L^(1/alpha_B) * (L - (N_c/N)^alpha_N)^(-1/alpha_S)
    n, loss = 1e9, 3.0
    c = KAPLAN2020
    expected = (6 * c.B_star * c.ns_S_c * n / loss ** (1 / c.alpha_B)
                * (loss - (c.ns_N_c / n) ** c.ns_alpha_N) ** (-1 / c.ns_alpha_S))
    got = k.training_compute(n, k.critical_batch_size(loss), steps_to_loss(n, loss))
    assert got == pytest.approx(expected, rel=1e-12)


def test_steps_to_loss_refuses_unreachable_losses():
    converged = (6.5e13 / 1e8) ** 0.077   # (N_c/N)^alpha_N, Table 3
    with pytest.raises(ValueError, match=r"loss = 2\.5 is not above the converged loss 2\.8028 of params"):
        steps_to_loss(1e8, 2.5)
    with pytest.raises(ValueError, match=r"loss"):
        steps_to_loss([1e8, 1e9], [converged + 0.1, -1.0])
    with pytest.raises(ValueError, match=r"params = 0\.0 is not positive"):
        steps_to_loss(0.0, 3.0)


def test_compute_to_reach_loss_is_6_n_bcrit_smin():
    from smallest_loss.laws import kaplan
    from smallest_loss.fit.learning_curves import compute_to_reach_loss, steps_to_loss

    n, loss = 1e8, 3.5
    expected = 6 * n * kaplan.critical_batch_size(loss) * steps_to_loss(n, loss)
    assert compute_to_reach_loss(n, loss) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="not above the converged loss"):
        compute_to_reach_loss(n, 1.0)
