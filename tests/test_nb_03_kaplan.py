"""Chapter 3 run with small parameters; its glued numbers checked against Kaplan et al. 2020 and
Hoffmann et al. 2022."""

import pytest

from nbrun import run_notebook

NOTEBOOK = "notebooks/03_kaplan.md"
pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def glued():
    _, values = run_notebook(NOTEBOOK, {"n_seeds": 6, "n_fractions": 3})
    return values


def test_frontier_at_1e21_flop_is_hoffmann_appendix_d4(glued):
    # Hoffmann et al. 2022, App. D.4: Kaplan's frontier gives 4.68B parameters at 1e21 FLOP
    # (Kaplan et al. 2020, Table 6, with C_min = C/2).
    assert glued["kaplan_1e21_params_b"] == pytest.approx(4.68, rel=0.01)
    assert glued["kaplan_1e21_params_full_budget_b"] == pytest.approx(7.77, abs=0.01)
    assert glued["chinchilla_1e21_params_b"] == pytest.approx(2.217, abs=0.002)
    assert glued["frontier_ratio_1e25"] > glued["frontier_ratio_1e21"] > 2


def test_table6_tokens_and_figure14_growth(glued):
    # Table 6: D_e = 2e10 tokens; Eq. 6.7 prints 4e10, which its own formula does not give.
    assert glued["kaplan_d_e"] == pytest.approx(2.215e10, rel=1e-3)
    assert glued["kaplan_model_growth"] == pytest.approx(10 ** 0.73)   # Fig. 14: "5x"
    assert glued["kaplan_data_growth"] == pytest.approx(10 ** 0.27)    # Fig. 14: "2x"
    assert glued["predicted_alpha_c"] == pytest.approx(0.052, abs=6e-4)  # Eq. B.7


def test_stopping_ratio_about_ten_percent(glued):
    # Eq. B.5: alpha_N / alpha_S = 0.077 / 0.76; the numerical minimisation agrees.
    assert glued["stop_ratio_analytic"] == pytest.approx(0.077 / 0.76)
    assert glued["stop_ratio_numeric"] == pytest.approx(glued["stop_ratio_analytic"], abs=1e-6)
    assert glued["stop_ratio_numeric_spread"] < 1e-6
    assert glued["stop_ratio_analytic"] == pytest.approx(0.10, abs=0.005)


def test_appendix_b3_and_b4(glued):
    assert glued["b3_params_ratio"] == pytest.approx(2.7, abs=0.05)     # App. B.3
    assert glued["b3_steps_ratio"] == pytest.approx(0.13, abs=0.005)
    assert glued["b3_compute_saving"] == pytest.approx(65, abs=1)      # "65% less compute"
    assert glued["excess_at_0_6"] < 1.2 and glued["excess_at_2_2"] == pytest.approx(1.2, abs=0.01)


def test_overfitting_rule_eq_4_4(glued):
    assert glued["overfit_exponent"] == pytest.approx(0.74, abs=0.005)
    assert glued["overfit_coefficient"] == pytest.approx(5.52e3, rel=0.01)  # paper prints 5e3
    assert glued["overfit_coefficient_excess_pct"] == pytest.approx(10.4, abs=0.3)
    assert glued["ex_overfit_1b_tokens_b"] == pytest.approx(22.9, abs=0.1)


def test_critical_batch(glued):
    assert glued["bcrit_steps_ratio"] == pytest.approx(2.0)
    assert glued["bcrit_compute_ratio"] == pytest.approx(2.0)
    assert glued["bcrit_doubling_drop"] == pytest.approx(13.5, abs=0.1)  # Fig. 10: "13%"
    assert glued["ex_bcrit_tokens_m"] == pytest.approx(1.069, abs=0.001)


def test_learning_curve_extrapolation(glued):
    # Seed 0, first 15% of the run: the end point within 0.02 nats, residuals at the noise level.
    assert abs(glued["curve_end_error"]) < 0.02
    assert glued["curve_late_rmse"] == pytest.approx(0.01, rel=0.2)
    assert glued["curve_fit_alpha_s"] == pytest.approx(0.76, rel=0.1)
    assert glued["curve_fit_loss_inf"] == pytest.approx(glued["curve_true_loss_inf"], abs=0.02)
    assert glued["median_end_error_15"] < 0.01
    assert glued["n_seeds_used"] == 6


def test_per_decade_drops(glued):
    assert glued["drop_per_decade_N"] == pytest.approx(100 * (1 - 10 ** -0.076))
    assert glued["drop_per_decade_C_min"] == pytest.approx(100 * (1 - 10 ** -0.050))


def test_frontier_crossing_and_intersection(glued):
    # Kaplan (C_min = C/2) and Chinchilla (unrounded) frontiers cross near 6.5e19 FLOP.
    assert glued["frontier_cross_e19"] == pytest.approx(6.49, abs=0.02)
    # Exercise on Eq. 6.8: with Table 6's data rate D* is ~3e11 tokens, below the paper's 1e12.
    assert glued["ex_d_star_t"] == pytest.approx(0.306, abs=0.002)
    assert glued["curve_fit_pct"] == 15 and glued["curve_noise_sigma"] == 0.01


def test_prose_numbers_typeset_and_exercise_answers(glued):
    # Prose numbers are typeset (x 10^n), never Python e-notation.
    assert glued["kaplan_d_e_text"] == "2.22 × 10¹⁰"
    assert glued["frontier_cross_text"] == "6.49 × 10¹⁹"
    assert glued["overfit_coefficient_text"] == "5,520"
    # Exercise on a tenfold budget: Kaplan grows N by 10^0.73, Chinchilla by 10^a (a ~ 0.46).
    assert glued["ex_tenfold_kaplan_n"] == pytest.approx(10 ** 0.73, rel=1e-9)
    assert glued["ex_tenfold_kaplan_n"] * glued["ex_tenfold_kaplan_d"] == pytest.approx(10)
    assert glued["ex_tenfold_chin_n"] * glued["ex_tenfold_chin_d"] == pytest.approx(10)
    assert 2.7 < glued["ex_tenfold_chin_n"] < 3.0
    # Exercise on Eq. 4.4 at 1e9 parameters: the exact solution lies above the rounded rule
    # (coefficient 5.52e3 against 5e3), and 22B tokens leave a penalty near 2%.
    assert glued["ex_overfit_1b_exact_b"] == pytest.approx(24.1, abs=0.1)
    assert glued["ex_overfit_1b_penalty"] == pytest.approx(0.0218, abs=5e-4)
    # Eq. 6.8 orders of magnitude: C* ~ 1e4 PF-days, N* ~ 1e12, L* ~ 1.7.
    assert 1e4 < glued["ex_c_star"] < 3e4 and 1e12 < glued["ex_n_star"] < 3e12
    assert glued["ex_l_star"] == pytest.approx(1.63, abs=0.01)


def test_lever_nd_split(glued):
    import smallest_loss as sl
    from smallest_loss import levers

    assert glued["nd_split_1e21"] == pytest.approx(levers.nd_split(sl.HOFFMANN2022, 1e21).multiplier,
                                                   rel=1e-9)
    assert glued["lever_nd_split"] == pytest.approx(levers.nd_split().multiplier, rel=1e-9)
