"""Chapter 10 run with small parameters; its glued numbers checked against independent
recomputation from the data and the library, and against the issue's worked example."""

import numpy as np
import pytest

from nbrun import run_notebook

NOTEBOOK = "notebooks/10_dollars.md"
pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def glued():
    _, values = run_notebook(NOTEBOOK, {"n_bootstrap": 8, "n_bootstrap_trend": 200})
    return values


def test_mfu_median_matches_the_data(glued):
    from smallest_loss.datasets import epoch_costs
    mfu = epoch_costs.load_notable_models().mfu.dropna()
    assert glued["n_mfu_models"] == len(mfu) == 62
    assert glued["mfu_median"] == pytest.approx(float(np.median(mfu)))
    assert glued["mfu_median"] == pytest.approx(0.38105)


def test_spot(glued):
    from smallest_loss.costs import spot
    r = glued["spot_breakeven_preemptions_per_hour"]
    assert spot.spot_cost_factor(0.6, r, 0.1, 0.25) == pytest.approx(1.0, abs=1e-8)
    assert glued["spot_breakeven_mtbf_minutes"] == pytest.approx(60 / r)
    assert glued["tau_young_hours"] == pytest.approx(np.sqrt(2 * 0.1 / 0.1))
    assert glued["tau_exact_hours"] < glued["tau_young_hours"]


def test_hardware_trend(glued):
    lo, mid, hi = (glued[f"flops_per_dollar_doubling_years{s}"] for s in ("_lo", "", "_hi"))
    assert lo < mid < hi
    assert 2.2 < mid < 3.0          # least squares: 2.59 years on the pinned table
    assert glued["wait_run_years"] == pytest.approx(mid / np.log(2))
    assert (glued["first_gpu_year"], glued["last_gpu_year"]) == (2003, 2023)
    assert glued["first_gpu_year_text"] == "2003"           # a year, no thousands separator
    from smallest_loss.datasets import epoch_costs
    longest = epoch_costs.load_notable_models().training_hours.max() / (24 * 365.25)
    assert glued["longest_training_years"] == pytest.approx(longest)
    assert glued["longest_training_years"] < glued["wait_run_years"] / 2


def test_wrong_denominator(glued):
    assert glued["n_implied"] == 46 and glued["n_fp32_rows"] == 35
    assert glued["n_fp32_above_one"] == 34
    assert glued["h100_vendor_spread"] > 1 / (1 - glued["three_year_saving"])


def test_energy(glued):
    # Meta's Llama 3 model card: 1.3M / 6.4M H100 GPU-hours at 700 W (PUE included), 390 / 1900 t
    assert glued["llama3_8b_mwh"] == pytest.approx(1.3e6 * 700 / 1e6)
    assert glued["llama3_70b_mwh"] == pytest.approx(6.4e6 * 700 / 1e6)
    assert glued["llama3_8b_intensity"] == pytest.approx(390 / 910)
    assert glued["llama3_70b_intensity"] == pytest.approx(1900 / 4480)
    assert glued["llama3_intensity"] == pytest.approx(2290 / 5390)
    assert glued["llama3_intensity_gap"] < 0.02      # 1.1% on the card's rounded figures
    # Epoch AI's table: the same 6.4M chip-hours; its 7.861e24 FLOP at the H100's dense peak
    from smallest_loss.datasets import epoch_costs
    chips = epoch_costs.load_chip_table().set_index("chip")
    peak = chips.loc["NVIDIA H100 SXM5 80GB", "bf16_flops"]
    assert glued["llama3_70b_epoch_chip_hours"] == 6.4e6
    assert glued["llama3_70b_implied_mfu"] == pytest.approx(7.861e24 / (6.4e6 * 3600 * peak))


def test_dollar_plan(glued):
    # the example: $1e6 at $2/h, 989e12 FLOP/s, MFU 0.4 -> 5e5 GPU-hours, 7.12e23 FLOP
    assert glued["plan_1e6_gpu_hours"] == pytest.approx(5e5)
    assert glued["plan_1e6_flops"] == pytest.approx(7.12e23, rel=1e-3)
    from smallest_loss.datasets.registry import load_chinchilla
    from smallest_loss.fit import approach3
    from smallest_loss.laws import compute_optimal_allocation
    runs = load_chinchilla()
    runs = runs[~runs.besiroglu_excluded]
    fit = approach3.fit_approach3(runs.params.to_numpy(), runs.tokens.to_numpy(), runs.loss.to_numpy())
    best = compute_optimal_allocation(fit.law, glued["plan_1e6_flops"])
    assert glued["plan_1e6_params"] == pytest.approx(best.params.item(), rel=1e-6)
    assert glued["plan_1e6_tokens"] == pytest.approx(best.tokens.item(), rel=1e-6)
    assert glued["plan_1e6_loss"] == pytest.approx(best.loss.item(), rel=1e-9)
    assert glued["plan_1e6_params"] * glued["plan_1e6_tokens"] * 6 == pytest.approx(glued["plan_1e6_flops"])
    assert glued["plan_1e6_loss_lo"] <= glued["plan_1e6_loss"] <= glued["plan_1e6_loss_hi"]
    assert glued["plan_1e6_params_lo"] <= glued["plan_1e6_params"] <= glued["plan_1e6_params_hi"]
    assert glued["plan_1e6_tokens_lo"] <= glued["plan_1e6_tokens"] <= glued["plan_1e6_tokens_hi"]
    assert glued["plan_n_draws"] + glued["plan_n_failed"] == 8


def test_spot_plan(glued):
    # spot at one preemption a day: useful hours = on-demand hours / spot cost factor
    from smallest_loss.costs import spot
    f = spot.spot_cost_factor(0.6, 1 / 24, 0.1, 0.25)
    assert glued["spot_plan_gpu_hours"] == pytest.approx(5e5 / f)
    assert glued["spot_plan_compute_ratio"] == pytest.approx(1 / f)
    assert glued["spot_factor_daily"] == pytest.approx(f)
    assert glued["spot_plan_loss_drop"] > 0


def test_exercises(glued):
    assert glued["ex_job_rate"] == pytest.approx(0.32)
    assert glued["ex_job_factor"] < 1
    assert glued["ex_peak_real"] == pytest.approx(2 * glued["ex_peak_quoted"])
    assert glued["ex_carbon_mwh"] == pytest.approx(700 * 5e5 * 1.1 / 1e6)
    assert glued["ex_carbon_t"] == pytest.approx(700 * 5e5 * 1.1 / 1e6 * 2290 / 5390)
    assert glued["ex_carbon_t_clean"] == pytest.approx(glued["ex_carbon_t"] / 10)


def test_levers_match_chapter_14(glued):
    from smallest_loss import levers

    assert [glued[f"lever_{k}"] for k in ("spot", "utilization", "vendor", "commitment")] == pytest.approx(
        [levers.spot().multiplier, levers.utilization().multiplier, levers.vendor().multiplier,
         levers.commitment().multiplier], rel=1e-9)
