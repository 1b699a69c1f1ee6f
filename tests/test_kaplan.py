"""Tests for smallest_loss.laws.kaplan: Kaplan et al. 2020 (arXiv:2001.08361) and its published numbers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from smallest_loss.laws import kaplan as k
from smallest_loss.laws.kaplan import KAPLAN2020, PF_DAY, KaplanConstants


def NUM(value: str) -> str:
    """Regex for a number as validation.py prints it: ``-1.0`` or numpy 2's ``np.float64(-1.0)``."""
    return rf"(?:np\.float64\()?{value}\)?"


# --- constants ------------------------------------------------------------------------------------


def test_pf_day_is_8_64e19_flop():
    assert PF_DAY == 8.64e19
    assert k.flop_to_pf_days(5e20) == pytest.approx(5.787, abs=5e-4)
    assert k.pf_days_to_flop(1.0) == pytest.approx(8.64e19)


def test_published_constants_as_printed():
    c = KAPLAN2020
    assert (c.alpha_N, c.N_c, c.alpha_D, c.D_c) == (0.076, 8.8e13, 0.095, 5.4e13)          # Eqs. 1.1-1.2
    assert (c.alpha_C_min, c.C_c_min_pf_days) == (0.050, 3.1e8)                           # Eq. 1.3
    assert (c.alpha_B, c.B_star) == (0.21, 2e8)                                           # Eq. 1.4
    assert (c.nd_alpha_N, c.nd_alpha_D, c.nd_N_c, c.nd_D_c) == (0.076, 0.103, 6.4e13, 1.8e13)  # Table 2
    assert (c.ns_alpha_N, c.ns_alpha_S, c.ns_N_c, c.ns_S_c) == (0.077, 0.76, 6.5e13, 2.1e3)    # Table 3
    assert (c.N_e, c.p_N, c.B_e, c.p_B, c.S_e, c.p_S, c.D_e, c.p_D) == (
        1.3e9, 0.73, 2.0e6, 0.24, 5.4e3, 0.03, 2e10, 0.27)                                # Table 6


def test_every_constant_has_a_source_and_instance_is_frozen():
    numeric = [f.name for f in dataclasses.fields(KaplanConstants) if f.type == "float"]
    assert set(numeric) == set(KAPLAN2020.sources)
    assert all(("Eq." in s or "Table" in s) for s in KAPLAN2020.sources.values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        KAPLAN2020.alpha_N = 0.1
    with pytest.raises(TypeError):
        KAPLAN2020.sources["alpha_N"] = "changed"
    assert "arXiv:2001.08361" in KAPLAN2020.source


def test_constants_are_validated():
    with pytest.raises(ValueError, match=r"alpha_N = " + NUM(r"-0\.1") + " is not positive"):
        KaplanConstants(alpha_N=-0.1)
    custom = dataclasses.replace(KAPLAN2020, N_e=2.6e9)
    assert k.optimal_params(PF_DAY, custom) == pytest.approx(2.6e9)


# --- compute-efficient frontier -------------------------------------------------------------------


def test_frontier_at_1e21_flop_matches_hoffmann_appendix_d4():
    # Hoffmann et al. 2022, Appendix D.4: at C = 1e21 FLOP, with C_min = C / 2 (training at B_crit,
    # Sec. 5.1), Kaplan's frontier gives N_opt ~ 4.68e9 parameters.
    c_min = 1e21 / 2
    assert c_min / PF_DAY == pytest.approx(5.787, abs=5e-4)
    assert k.optimal_params(c_min) == pytest.approx(4.68e9, rel=0.01)
    # the tokens go with it: C = 6 N D at the critical batch size, so D = 1e21 / (6 N_opt)
    assert k.optimal_tokens(c_min) == pytest.approx(1e21 / (6 * k.optimal_params(c_min)), rel=1e-12)


def test_frontier_exponents_and_table6_scales():
    c = np.array([1.0, 1e3]) * PF_DAY
    slope = lambda f: np.diff(np.log(f(c)))[0] / np.log(1e3)  # noqa: E731
    assert slope(k.optimal_params) == pytest.approx(0.73)
    assert slope(k.optimal_tokens) == pytest.approx(0.27)
    assert slope(k.optimal_batch_size) == pytest.approx(0.24)
    assert slope(k.optimal_steps) == pytest.approx(0.03)
    # Table 6: D_opt = 2e10 tokens at 1 PF-day (one significant figure): 2 PF_DAY / (6 x 1.3e9) = 2.2e10
    d1 = float(k.optimal_tokens(PF_DAY))
    assert float(f"{d1:.0e}") == 2e10
    assert k.optimal_tokens(PF_DAY, at_critical_batch=False) == pytest.approx(d1 / 2)
    assert k.optimal_batch_size(PF_DAY) == pytest.approx(2.0e6)
    assert k.optimal_steps(PF_DAY) == pytest.approx(5.4e3)


def test_predicted_compute_exponent_eq_b7():
    # 1 / (1/0.76 + 1/0.21 + 1/0.077) = 0.0525, printed as 0.052 at Eq. B.7
    assert k.predicted_compute_exponent() == pytest.approx(0.052, abs=5e-4)


# --- don't train to convergence -------------------------------------------------------------------


def test_efficient_stopping_ratio_is_about_ten_percent():
    assert k.efficient_stopping_ratio() == pytest.approx(0.077 / 0.76)
    assert k.efficient_stopping_ratio() == pytest.approx(0.10, abs=0.005)
    n = np.array([1e8, 1e9])
    np.testing.assert_allclose(
        k.efficient_stopping_loss(n), (1 + 0.077 / 0.76) * k.loss_of_params_steps(n, 1e300), rtol=1e-12
    )


@pytest.mark.parametrize("budget", [1e13, 1e15, 1e17])
def test_efficient_stopping_ratio_from_minimising_l_of_n_s(budget):
    # Eq. 5.6 at fixed compute and batch size: S = K / N with K = C / (6 B). Minimise over ln N
    # numerically; the loss then sits alpha_N / alpha_S above the converged L(N, inf) (Eq. B.5).
    def loss(ln_n):
        n = np.exp(ln_n)
        return float(k.loss_of_params_steps(n, budget / n))

    best = minimize_scalar(loss, bounds=(np.log(1e3), np.log(budget) - 1), method="bounded",
                           options={"xatol": 1e-10})
    n_opt = np.exp(best.x)
    converged = (KAPLAN2020.ns_N_c / n_opt) ** KAPLAN2020.ns_alpha_N
    assert best.fun / converged - 1 == pytest.approx(k.efficient_stopping_ratio(), rel=1e-5)


# --- loss laws ------------------------------------------------------------------------------------


def test_single_variable_laws():
    assert k.loss_of_params(8.8e13) == pytest.approx(1.0)
    assert k.loss_of_params(2e9) / k.loss_of_params(1e9) == pytest.approx(2 ** -0.076)
    assert k.loss_of_data(5.4e13) == pytest.approx(1.0)
    assert k.loss_of_data(2e10) / k.loss_of_data(1e10) == pytest.approx(2 ** -0.095)
    assert k.loss_of_compute_min(3.1e8 * PF_DAY) == pytest.approx(1.0)
    assert k.loss_of_compute_min(2 * PF_DAY) / k.loss_of_compute_min(PF_DAY) == pytest.approx(2 ** -0.05)
    assert k.loss_of_compute(1.6e7 * PF_DAY) == pytest.approx(1.0)


def test_joint_law_l_of_n_d_limits_and_overfitting_exponent():
    n, d = 1e9, 1e10
    big = 1e300
    assert k.loss_of_params_data(n, big) == pytest.approx((6.4e13 / n) ** 0.076, rel=1e-9)
    assert k.loss_of_params_data(big, d) == pytest.approx((1.8e13 / d) ** 0.103, rel=1e-9)
    # delta L depends on N^(alpha_N/alpha_D) / D only (Eq. 4.3): scale N by 8 and D by 8^0.738
    def delta(nn, dd):
        return k.loss_of_params_data(nn, dd) / k.loss_of_params_data(nn, big) - 1
    assert delta(8 * n, 8 ** (0.076 / 0.103) * d) == pytest.approx(delta(n, d), rel=1e-9)
    np.testing.assert_allclose(k.loss_of_params_data([1e8, 1e9], 1e10).shape, (2,))


def test_joint_law_l_of_n_s():
    assert k.loss_of_params_steps(6.5e13, 2.1e3) == pytest.approx(2.0)
    out = k.loss_of_params_steps([1e8, 1e9], [[1e4], [1e5]])
    assert out.shape == (2, 2)


# --- critical batch size --------------------------------------------------------------------------


def test_critical_batch_size_doubles_for_each_13_percent_drop_in_loss():
    assert k.critical_batch_size(1.0) == pytest.approx(2e8)
    ratio = k.critical_batch_size(0.87 * 3.0) / k.critical_batch_size(3.0)
    assert ratio == pytest.approx(2.0, abs=0.1)  # Figure 10 caption: "approximately doubles"


def test_batch_adjustments_eqs_5_1_to_5_5():
    loss, steps, n = 3.0, 1e4, 1e8
    b_crit = float(k.critical_batch_size(loss))
    # at B = B_crit: 2 S_min steps, 2 E_min examples, C = 2 C_min (Sec. 5.1, after Eq. 5.2)
    assert k.minimum_steps(steps, b_crit, loss) == pytest.approx(steps / 2)
    assert k.minimum_examples(b_crit * steps, b_crit, loss) == pytest.approx(b_crit * steps / 2)
    flops = k.training_compute(n, b_crit, steps)
    assert flops == pytest.approx(6 * n * b_crit * steps)
    assert k.minimum_compute(flops, b_crit, loss) == pytest.approx(flops / 2)
    # Eq. 5.1 holds for any batch size, and B_crit = E_min / S_min (Eq. 5.2)
    for b in (1e4, 3e5, 1e7):
        s_min = k.minimum_steps(steps, b, loss)
        e_min = k.minimum_examples(b * steps, b, loss)
        assert (steps / s_min - 1) * (b * steps / e_min - 1) == pytest.approx(1.0)
        assert e_min / s_min == pytest.approx(b_crit)
        assert k.minimum_compute(6 * n * b * steps, b, loss) == pytest.approx(6 * n * e_min)


# --- bad inputs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: k.loss_of_params([1e9, 0.0]), r"params\[1\] = " + NUM(r"0\.0") + " is not positive"),
        (lambda: k.loss_of_data(-1.0), r"tokens = " + NUM(r"-1\.0") + " is not positive"),
        (lambda: k.loss_of_compute_min(np.nan), r"c_min = " + NUM("nan") + " is NaN"),
        (lambda: k.optimal_params([1e20, np.inf]), r"c_min\[1\] = " + NUM("inf") + " is not finite"),
        (lambda: k.critical_batch_size(0.0), r"loss = " + NUM(r"0\.0") + " is not positive"),
        (lambda: k.minimum_steps(1e4, -5.0, 3.0), r"batch_size = " + NUM(r"-5\.0") + " is not positive"),
        (lambda: k.loss_of_params_data([1e8, 1e9], [1e9, 1e9, 1e9]), r"shape mismatch: cannot broadcast params \(2,\), tokens \(3,\)"),
        (lambda: k.training_compute(1e8, 1e5, "many"), r"steps: not numeric"),
        (lambda: k.pf_days_to_flop(-2.0), r"pf_days = " + NUM(r"-2\.0") + " is not positive"),
    ],
)
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_overfitting_data_threshold_is_eq_4_4():
    # Kaplan et al. 2020, Eq. 4.4: D >~ 5e3 N^0.74; 1e9 parameters -> 5e3 * 1e9^0.74 = 2.285e10 tokens.
    assert float(k.overfitting_data_threshold(1e9)) == pytest.approx(5e3 * 1e9**0.74, rel=1e-12)
    assert float(k.overfitting_data_threshold(1e9)) == pytest.approx(2.2854e10, rel=1e-4)
    with pytest.raises(ValueError, match="params"):
        k.overfitting_data_threshold(-1.0)
