"""Chapter 7 run with small parameters; its glued numbers checked against the data and the papers."""

import pytest

from nbrun import run_notebook

NOTEBOOK = "notebooks/07_architecture.md"
pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def glued():
    _, values = run_notebook(NOTEBOOK, {"n_budget_grid": 11, "grow_budget": 2e10, "grow_seeds": 2})
    return values


def test_shape_grid(glued):
    assert glued["grid_n_runs"] == 435 and glued["grid_n_shapes"] == 50
    assert glued["grid_tokens_per_param"] == 20.0 and glued["grid_vocab"] == "50,432"
    assert (glued["grid_batches_small"], glued["grid_batch_common"]) == ("8 or 16", 64)
    assert (glued["band_layers_lo"], glued["band_layers_hi"], glued["wide_layers"]) == (4, 24, 4)
    # A broad optimum near aspect ratio 60 (shapes of batch 64, 15-200M non-embedding parameters)
    assert glued["aspect_best"] == pytest.approx(62.8, abs=1.0)
    assert glued["aspect_loss_spread_pct"] == pytest.approx(3.34, abs=0.05)
    assert (glued["band_lo_m"], glued["band_hi_m"]) == (15.0, 200.0)
    assert glued["pair_tol_pct"] == pytest.approx(15.0)
    assert (glued["aspect_window_lo"], glued["aspect_window_hi"]) == (12.0, 256.0)
    assert glued["deep_resid"] > 0 and glued["wide_resid"] > 0      # both extremes above the fit
    # ... but below the worst shape of the window: the grid shows no breakdown at its ends
    assert glued["deep_resid"] == pytest.approx(1.60, abs=0.05)
    assert glued["wide_resid"] == pytest.approx(1.20, abs=0.05)
    assert glued["window_resid_max"] == pytest.approx(1.91, abs=0.05)
    assert glued["grid_params_min"] == 10_126_176 and glued["grid_params_max"] == 411_616_256
    assert glued["grid_lr"] == pytest.approx(3e-3)
    assert glued["small_flops_lo"] == pytest.approx(1.23e16, rel=0.01)
    assert glued["small_flops_hi"] == pytest.approx(2.02e17, rel=0.01)
    assert glued["n_compute_pairs"] == 22 and glued["n_deeper_wins"] == 16
    # deeper holds more non-embedding parameters in 19 pairs and wins 16 of them; 0 of the other 3
    assert (glued["n_deeper_more_n"], glued["n_deeper_more_n_wins"]) == (19, 16)
    assert (glued["n_deeper_less_n"], glued["n_deeper_less_n_wins"]) == (3, 0)
    assert glued["warm_median_range"] < glued["aspect_loss_spread_pct"]
    assert glued["warm_vs_shape_pct"] == pytest.approx(
        100 * glued["warm_median_range"] / glued["aspect_loss_spread_pct"])
    assert glued["warm_big_2000"] == glued["warm_big_n"] == 5
    assert glued["warmups_text"] == "100, 200, 400 and 2,000" and glued["warm_longest"] == "2,000"


def test_moe_counts_and_runs(glued):
    assert glued["mixtral_total_params"] == 46_702_792_704
    assert glued["mixtral_active_params"] == 12_879_925_248
    assert glued["moe_best_active_fraction"] == pytest.approx(0.5757, abs=1e-4)
    assert (glued["moe_n_runs"], glued["moe_n_setups"], glued["moe_n_data"]) == (708, 4, 4)
    assert glued["moe_frac_lo_pct"] == pytest.approx(8.74, abs=0.01)
    assert glued["moe_frac_hi_pct"] == pytest.approx(57.57, abs=0.01)
    assert glued["steplaw_n_boot"] == "1,000"
    assert glued["lr_grid_step"] == pytest.approx(2**0.5, abs=1e-3)
    assert glued["moe_gain_from_sparsest"] == pytest.approx(0.1212, abs=1e-3)
    # Step Law's printed constants (laws.hparams.STEPLAW2025) against the best cells
    assert glued["lr_steps_total_median"] == pytest.approx(0.54, abs=0.05)
    assert glued["lr_steps_active_median"] == pytest.approx(-2.52, abs=0.05)
    assert glued["lr_steps_total_maxabs"] == pytest.approx(2.56, abs=0.05)
    assert glued["lr_total_max_factor"] == pytest.approx(2**(0.5 * 2.558), rel=0.02)
    assert glued["batch_ratio_lo"] == pytest.approx(0.50, abs=0.01)
    assert glued["batch_ratio_hi"] == pytest.approx(2.21, abs=0.01)


def test_dense_equivalent_multiplier(glued):
    # Krajewski et al. 2024 state 20x at 1e20 FLOP and more than 40x above 1e25 (Sec. 1).
    assert (glued["reported_mult_1e20"], glued["reported_mult_1e25"]) == (20.0, 40.0)
    # Our recomputation from their Table 1 laws (smallest_loss.laws.moe).
    assert glued["mult_1e20"] == pytest.approx(21.28, rel=2e-3)
    assert glued["mult_1e25"] == pytest.approx(32.0, rel=2e-3)
    assert glued["mult_growth"] == pytest.approx(1.504, rel=3e-3) and glued["reported_growth"] == 2.0
    assert glued["moe_G_1e20"] == 16 and glued["mem_ratio_1e20"] == pytest.approx(10.74, rel=2e-3)
    assert glued["krajewski_row_flops"] == pytest.approx(1.934e20, rel=5e-4)   # printed 1.93e20
    assert glued["krajewski_row_loss"] == pytest.approx(2.471, abs=0.002)     # printed 2.491


def test_retrieval_and_exercises(glued):
    assert glued["retro_equiv_params"] == pytest.approx(7e9)
    assert glued["gpt3_params"] == pytest.approx(175e9)
    assert glued["retro_factor"] == 25.0 and glued["retro_db_tokens"] == pytest.approx(2e12)
    assert glued["ex_active_pct"] == pytest.approx(12.14, abs=0.01)
    assert (glued["ex_active_experts"], glued["ex_all_experts"]) == (8, 66)
    assert (glued["ex_budget_d"], glued["ex_budget_l"]) == (1024, 24)


def test_growth_demonstration(glued):
    """Width doubling mid-run (study.grow) at equal compute; the small parameters train 1/5 of the
    chapter's budget, so only what holds at any budget is asserted here."""
    from smallest_loss.study import MarkovSource
    from smallest_loss.study.model import model_shape, param_counts

    assert glued["grow_flops"] == 2e10 and glued["grow_n_seeds"] == 2
    assert glued["grow_params_small"] == param_counts(model_shape(2, 24, 3, 32, 64))[0] == 16_248
    assert glued["grow_params_large"] == param_counts(model_shape(2, 48, 6, 32, 64))[0] == 60_144
    assert glued["grow_bayes_loss"] == pytest.approx(MarkovSource().bayes_loss(64), rel=1e-12)
    assert glued["grow_flops_max_dev_pct"] < 2
    assert glued["grow_max_jump"] < 1e-4                     # the growth preserves the loss
    # equal compute: steps = C / (6 N T) for each static model, T = 2,048 tokens per step
    assert glued["grow_steps_small"] == round(2e10 / (6 * 16_248 * 2048))
    assert glued["grow_steps_large"] == round(2e10 / (6 * 60_144 * 2048))
    assert glued["grow_at"] == round(0.5 * 2e10 / (6 * 16_248 * 2048))
    bayes = glued["grow_bayes_loss"]
    for k in ("grow_loss_static_small", "grow_loss_static_large", "grow_loss_grown"):
        assert bayes < glued[k] < 3.47                       # learnt something, above the Bayes loss
    assert glued["grow_gap_small"] == pytest.approx(
        abs(glued["grow_loss_static_small"] - glued["grow_loss_grown"]))
    assert glued["grow_vs_small_word"] in ("above", "below") and glued["grow_seed_spread"] >= 0
    assert glued["ex_grow_tpp_1e12"] == pytest.approx(10 * glued["ex_grow_tpp_1e11"], rel=0.02)


def test_levers_match_chapter_14(glued):
    from smallest_loss import levers

    assert glued["lever_mixture_of_experts"] == pytest.approx(levers.mixture_of_experts().multiplier,
                                                              rel=1e-9)
    assert glued["lever_shape"] == pytest.approx(levers.shape().multiplier, rel=1e-9)
    assert glued["aspect_window_flops"] == pytest.approx(levers.shape().measured_flops, rel=1e-9)
