"""Chapter 11 run with small parameters; its glued numbers checked against Sardana et al.'s
published cases, the roofline formulas and independent recomputation."""

import math

import pytest

from nbrun import run_notebook

NOTEBOOK = "notebooks/11_inference.md"
pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def glued():
    _, values = run_notebook(NOTEBOOK, {"n_grid": 61, "n_sweep": 3})
    return values


def test_sardana_cases(glued):
    # Sardana et al. 2024, Fig. 1: 13B Chinchilla-style, 2T inference tokens -> 7B, 1.7e22 FLOPs (17%)
    assert round(glued["sardana_params_13b_2t"] / 1e9) == 7
    assert glued["sardana_saved_flops_13b_2t"] == pytest.approx(1.7e22, abs=0.05e22)
    assert round(100 * glued["sardana_saved_fraction_13b_2t"]) == 17
    assert glued["sardana_tokens_per_param_13b_2t"] == pytest.approx(
        glued["sardana_tokens_13b_2t"] / glued["sardana_params_13b_2t"])
    assert 150 < glued["sardana_tokens_per_param_13b_2t"] < 200
    # the authors' README case: loss 1.947 -> 2.418e10 parameters, 2.657e12 tokens
    assert round(glued["sardana_loss_70b_1t"], 3) == 1.947
    assert glued["sardana_params_70b_case"] == pytest.approx(2.418e10, rel=5e-4)
    assert glued["sardana_tokens_70b_case"] == pytest.approx(2.657e12, rel=5e-4)


def test_overtraining_check(glued):
    assert glued["overtrain_n_models"] == 104
    # the naive fit (Chinchilla form, every run at <= 20 tokens/param) fails, always optimistic
    assert 0.3 < glued["overtrain_max_abs_error_lo"] <= glued["overtrain_max_abs_error"] \
        <= glued["overtrain_max_abs_error_hi"] < 1.5
    assert glued["overtrain_below_fraction"] == 1.0
    assert glued["overtrain_naive_E_lo"] < glued["overtrain_naive_E_hi"]
    # two C4-trained runs at 5 tokens/param end before their warmup does (376 < 400, 1,963 < 2,000
    # steps: tokens / (global batch x 2,048) from the released hyperparameters)
    assert glued["n_warmup_longer_than_run"] == 2
    assert glued["warmup_share_max_5tpp"] == pytest.approx(400 / (394570240 / (512 * 2048)))
    # without them the error shrinks; Gadre et al.'s recipe predicts within a few percent
    assert glued["overtrain_repaired_max_abs_error"] < glued["overtrain_max_abs_error_lo"] / 2
    assert glued["gadre_max_rel_error"] < 0.05
    # their scaling_explorer.ipynb: 0.7103% (1.4B, M=640) and 0.7320% (6.9B, M=20), RedPajama
    assert 100 * glued["gadre_rel_error_1b_rpj"] == pytest.approx(0.7103, abs=0.005)
    assert 100 * glued["gadre_rel_error_7b_rpj"] == pytest.approx(0.7320, abs=0.005)
    assert 0.15 < glued["gadre_eta_c4"] < 0.35


def test_latency(glued):
    assert glued["h100_ridge_flops_per_byte"] == pytest.approx(9.894e14 / 3.35e12)
    assert glued["h100_ridge_batch_bf16"] == pytest.approx(9.894e14 / 3.35e12)
    assert glued["h100_largest_params_20ms_bf16"] == pytest.approx(0.02 * 3.35e12 / 2)
    assert glued["h100_largest_params_20ms_int4"] == pytest.approx(0.02 * 3.35e12 / 0.5)
    assert glued["h100_price_per_hour"] == pytest.approx(4.40)
    # batch 1: 14 GB of weights plus one cache read at 3.35 TB/s
    lat = (14e9 + glued["kv7_bytes"]) / 3.35e12
    assert glued["latency_7b_batch1_ms"] == pytest.approx(lat * 1e3)
    assert glued["cost_per_mtok_7b_batch1"] == pytest.approx(1e6 * 4.40 / 3600 * lat)
    assert glued["batch_max_7b_80gb"] == math.floor((80e9 - 14e9) / glued["kv7_bytes"])
    assert glued["cost_per_mtok_7b_batch_max"] == pytest.approx(
        glued["cost_per_mtok_7b_batch1"] / glued["cost_ratio_batch1_over_max"])
    assert glued["cost_ratio_batch1_over_max"] > 5


def test_downstream(glued):
    assert glued["downstream_n_tasks"] == 17
    assert 0.3 < glued["downstream_gamma"] < 3
    assert abs(glued["downstream_epsilon"] - glued["downstream_random_error"]) < 0.1
    assert glued["downstream_rmse"] < 0.03
    assert 0 < glued["downstream_floor"] <= glued["downstream_floor_hi"] \
        < glued["downstream_best_observed"]
    assert glued["gadre_law_n_runs"] == 30 and glued["gadre_law_identified"] == 0
    assert glued["gadre_law_E_lo"] <= glued["gadre_law_E"] <= glued["gadre_law_E_hi"]


def test_profit(glued):
    assert 1e8 < glued["profit_opt_params"] < 1e12
    assert glued["profit_opt_tokens_per_param"] == pytest.approx(
        glued["profit_opt_tokens"] / glued["profit_opt_params"])
    assert glued["profit_opt_tokens_per_param"] > 20
    assert glued["profit_opt_profit"] > 0
    assert glued["profit_lifetime_tokens"] == pytest.approx(5e11)
    assert glued["profit_params_high_queries"] > glued["profit_params_low_queries"]
    assert glued["profit_tpp_high_queries"] > glued["profit_tpp_low_queries"]
    assert glued["profit_params_tight_latency"] < glued["profit_params_loose_latency"]
    assert glued["ex_dear_params"] < glued["profit_opt_params"]
    # the loss law's fitted range, and the flagged extrapolation at high volume
    assert glued["profit_fitted_tpp_max"] == pytest.approx(640)
    assert glued["profit_fitted_params_max"] == pytest.approx(6889410560)
    assert glued["profit_tpp_high_queries"] > glued["profit_fitted_tpp_max"]
    assert 1 <= glued["profit_n_outside"] <= glued["profit_n_settings"]


def test_exercises(glued):
    assert glued["ex_demand_100"] > 0
    assert glued["ex_4090_n50"] == pytest.approx(0.02 * 1.008e12 / 0.5)
    assert glued["ex_4090_n20"] == pytest.approx(24e9 / 0.5)


def test_lever_matches_chapter_14(glued):
    from smallest_loss import levers

    assert glued["lever_inference_aware"] == pytest.approx(levers.inference_aware(1e12).multiplier,
                                                           rel=1e-9)
