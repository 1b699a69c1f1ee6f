"""Chapter 6 run with small parameters; its recomputed numbers checked against the papers."""

import math

import pytest

from nbrun import run_notebook

NOTEBOOK = "notebooks/06_hyperparameters.md"
pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def glued():
    # n_bootstrap as in the book: the 95% intervals it prints are asserted below.
    _, values = run_notebook(NOTEBOOK, {"n_bootstrap": 400, "n_bootstrap_authors": 100,
                                        "schedule_starts": 4})
    return values


def test_published_step_law_reproduced_from_stored_fits(glued):
    # Li et al. 2025: eta* = 1.79 N^-0.713 D^0.307, B* = 0.58 D^0.571 (tokens)
    assert glued["steplaw_lr_params_exponent"] == pytest.approx(-0.713, abs=5e-4)
    assert glued["steplaw_lr_tokens_exponent"] == pytest.approx(0.307, abs=5e-4)
    assert glued["steplaw_batch_tokens_exponent"] == pytest.approx(0.571, abs=5e-4)
    assert glued["steplaw_lr_coef"] == pytest.approx(1.79, abs=0.01)
    assert glued["steplaw_batch_coef"] == pytest.approx(0.58, abs=0.005)
    assert glued["steplaw_n_runs"] == 1911 and glued["steplaw_n_cells"] == 17
    # diverged runs: a gap between 1.2 and 1.7 times the cell's best loss
    assert glued["steplaw_valley_ratio_max"] < 1.25 < 1.6 < glued["steplaw_diverged_ratio_min"]
    assert glued["steplaw_n_diverged"] == 181


def test_rerun_of_authors_procedure_differs(glued):
    assert glued["rerun_n_selected"] == 129
    assert glued["rerun_lr_tokens_exponent"] == pytest.approx(0.201, abs=0.02)
    assert glued["rerun_lr_params_exponent"] == pytest.approx(-0.762, abs=0.02)
    assert glued["rerun_batch_tokens_exponent"] == pytest.approx(0.61, abs=0.02)


def test_estimators(glued):
    assert glued["argmin_lr_params_exponent"] == pytest.approx(-0.823, abs=2e-3)
    assert glued["argmin_lr_tokens_exponent"] == pytest.approx(0.288, abs=2e-3)
    assert glued["parabola_lr_params_exponent"] == pytest.approx(-0.612, abs=2e-3)
    assert glued["parabola_lr_tokens_exponent"] == pytest.approx(0.188, abs=2e-3)
    assert glued["local_lr_params_exponent"] == pytest.approx(-0.860, abs=2e-3)
    assert glued["local_lr_tokens_exponent"] == pytest.approx(0.297, abs=2e-3)
    assert glued["local_lr_tokens_lo"] < 0.307 < glued["local_lr_tokens_hi"]
    # the published N exponent -0.713 inside the local interval (about -0.967 to -0.697)
    assert glued["local_lr_params_lo"] < -0.713 < glued["local_lr_params_hi"]
    assert glued["local_lr_params_lo"] == pytest.approx(-0.967, abs=0.01)
    assert glued["local_lr_params_hi"] == pytest.approx(-0.697, abs=0.01)
    # the estimator moves the exponents by more than twice their bootstrap standard errors
    assert glued["estimator_spread_params"] > 2 * glued["local_lr_params_se"]
    assert glued["estimator_spread_tokens"] > 2 * glued["local_lr_tokens_se"]
    assert glued["estimator_spread_params"] > 0.5 * glued["local_lr_params_width"]
    assert glued["estimator_spread_params"] == pytest.approx(0.248, abs=3e-3)
    assert glued["local_n_edge"] == 0


def test_fixed_batch_sign_and_batch_law(glued):
    assert glued["fixedbatch_d_small_max"] < 0 < glued["fixedbatch_d_large_min"]
    assert glued["fixedbatch_d_64"] == pytest.approx(-0.342, abs=2e-3)
    assert glued["local_batch_params_exponent"] == pytest.approx(-0.336, abs=2e-3)
    assert glued["local_batch_params_hi"] < 0
    # over a factor of 5 in N the batch shrinks by 5^0.336 = 1.72, less than the 2x grid step
    assert glued["steplaw_n_span"] == pytest.approx(5.0, abs=0.01)
    assert glued["batch_shrink_over_n"] == pytest.approx(5.0 ** 0.336, abs=0.01)
    assert glued["batch_shrink_over_n"] < glued["batch_grid_coarsest_step"] == 2.0


def test_penalties(glued):
    assert 0 < glued["penalty_median_steplaw"] < glued["penalty_median_deepseek"]
    assert glued["penalty_median_steplaw"] == pytest.approx(0.0015, abs=5e-4)
    assert glued["penalty_median_deepseek"] == pytest.approx(0.0192, abs=1e-3)
    assert glued["penalty_median_kaplan"] == pytest.approx(0.0513, abs=1e-3)
    # doubling or halving the best learning rate: a median of about 0.009 nats
    assert glued["lr_factor2_cost_median"] == pytest.approx(0.0091, abs=5e-4)
    # compute-equivalents through dL/dlnD = -0.091 at fixed N: exp(penalty / 0.091)
    assert glued["steplaw_dl_dlnd"] == pytest.approx(0.0911, abs=1e-3)
    for key in ("steplaw", "deepseek", "kaplan"):
        expected = math.exp(glued[f"penalty_median_{key}"] / glued["steplaw_dl_dlnd"])
        assert glued[f"penalty_compute_{key}"] == pytest.approx(expected, rel=1e-9)
    assert glued["penalty_compute_kaplan"] == pytest.approx(1.76, abs=0.02)


def test_critical_batch(glued):
    # McCandlish B_crit = B_noise for the 85M model, in tokens (sequences of 512)
    assert glued["cbs_bcrit_tokens_85m"] == pytest.approx(1.1216e6, rel=1e-3)
    # Zhang et al.'s printed CBS reproduced from the same fit
    assert glued["cbs_reproduced_max_rel_err"] < 1e-5
    assert glued["cbs_authors_tokens_85m"] == pytest.approx(745.32 * 512, rel=1e-4)
    assert 2.9 < glued["cbs_ratio_min"] < glued["cbs_ratio_max"] < 4.5
    assert glued["cbs_theirs_params_slope"] == pytest.approx(0.468, abs=1e-3)
    assert 1.2 < glued["cbs_theirs_data_min"] < glued["cbs_theirs_data_max"] < 1.4


def test_schedules(glued):
    assert glued["schedule_final_loss_400m_wsd"] == pytest.approx(2.7222, abs=1e-4)
    assert glued["schedule_final_loss_400m_cosine"] == pytest.approx(2.7396, abs=1e-4)
    assert glued["schedule_final_loss_400m_constant"] == pytest.approx(2.8167, abs=1e-4)
    assert glued["cosine_long_excess_min"] > 0.03
    # multi-power law fitted on 3 schedules, 6 held out per size: largest final error ~0.022
    assert 0.005 < glued["schedule_heldout_max_final_error"] < 0.03
    assert glued["schedule_heldout_max_curve_rmse"] < 0.025
    assert glued["schedule_n_heldout"] == 18
    # settings read from the released learning rates
    assert glued["sched_first_step"] == 2160 and glued["sched_two_drop"] == 8000
    assert glued["sched_two_rates"] == "3, 9 and 18"
    # compute-equivalents read off the curves (steps to reach a reference's final loss / 24,000)
    assert glued["sched_compute_cosine_long_min"] == pytest.approx(1.32, abs=0.02)
    assert glued["sched_compute_cosine_long_max"] == pytest.approx(1.43, abs=0.02)
    assert glued["sched_compute_no_decay_wsd_min"] == pytest.approx(2.26, abs=0.02)
    assert glued["sched_compute_no_decay_wsd_max"] == pytest.approx(2.76, abs=0.02)


def test_exercises(glued):
    assert glued["ex_fixed_factor"] == pytest.approx(4 ** -0.342, abs=0.005)
    assert 1 < glued["ex_cbs_data_ratio"] < 2


def test_levers_match_chapter_14(glued):
    from smallest_loss import levers

    assert (glued["lever_hparam_transfer"], glued["lever_lr_factor2"], glued["lever_schedule_no_decay"]) \
        == pytest.approx((levers.hparam_transfer().multiplier, levers.lr_factor2().multiplier,
                          levers.schedule_no_decay().multiplier), rel=1e-9)
