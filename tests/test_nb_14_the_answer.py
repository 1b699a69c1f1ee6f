"""Chapter 14 run as a test: each lever's glued multiplier equals the value recomputed here, and the
worked example's plan equals the library's and chapter 10's numbers."""

import numpy as np
import pytest
from scipy.optimize import brentq

from nbrun import run_notebook

NOTEBOOK = "notebooks/14_the_answer.md"
pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def glued():
    _, values = run_notebook(NOTEBOOK, {"inference_tokens": 1e12})
    return values


def test_every_lever_row_matches_its_function(glued):
    from smallest_loss import levers

    names = glued["lever_names"]
    assert len(names) == 14 and len(set(names)) == 14 and glued["n_levers"] == 14
    for lv in levers.all_levers():
        assert glued[f"lever_{lv.name}"] == pytest.approx(lv.multiplier, rel=1e-9), lv.name
        assert glued[f"lever_{lv.name}_low"] == pytest.approx(lv.low, rel=1e-9), lv.name
        assert glued[f"lever_{lv.name}_high"] == pytest.approx(lv.high, rel=1e-9), lv.name
    assert [glued[f"lever_{n}"] for n in names] == sorted((glued[f"lever_{n}"] for n in names),
                                                           reverse=True)


def test_levers_recomputed_independently(glued):
    from smallest_loss.costs.spot import spot_cost_factor
    from smallest_loss.datasets.epoch_costs import load_chip_table, load_notable_models
    from smallest_loss.laws import kaplan, moe

    from smallest_loss.datasets.epoch_costs import cloud_price_summary, load_hardware_prices

    c = glued["reference_flops"]
    h100 = load_hardware_prices()
    h100 = h100[(h100.chip == "NVIDIA H100 SXM5 80GB") & h100.on_demand.notna()]
    per_vendor = h100.groupby("vendor").on_demand.median()
    assert glued["example_price"] == pytest.approx(float(per_vendor.median()), rel=1e-12)
    assert per_vendor.min() < glued["example_price"] < per_vendor.max()
    assert c == pytest.approx(1e6 / per_vendor.median() * 3600 * 989.4e12 * 0.4, rel=1e-3)
    # vendor: median over cheapest; the dearest at the top of the range
    assert glued["lever_vendor"] == pytest.approx(per_vendor.median() / per_vendor.min())
    assert glued["lever_vendor_high"] == pytest.approx(per_vendor.max() / per_vendor.min())
    # commitment: median saving over vendors selling three-year terms
    s = cloud_price_summary(load_hardware_prices(),
                            ["NVIDIA H100 SXM5 80GB", "NVIDIA A100 SXM4 80 GB"]).dropna(
        subset=["three_year"])
    saving = np.median(1 - s.three_year / s.on_demand)
    assert glued["lever_commitment"] == pytest.approx(1 / (1 - saving))
    # spot (chapter 10's assumptions: 60% off, 0.1 h checkpoint, 0.25 h restart, one preemption a day)
    assert glued["lever_spot"] == pytest.approx(1 / spot_cost_factor(0.6, 1 / 24, 0.1, 0.25))
    assert glued["lever_spot_high"] == pytest.approx(1 / 0.4, rel=1e-6)
    # mixture of experts (chapter 7's glued mult_1e20 is the low end)
    assert glued["lever_mixture_of_experts"] == pytest.approx(moe.dense_equivalent_multiplier(c))
    assert glued["lever_mixture_of_experts_low"] == pytest.approx(moe.dense_equivalent_multiplier(1e20))
    # bf16 over tf32 on an H100 (chapter 8's h100_bf16_over_tf32), up to bf16 over fp32
    h100 = load_chip_table().set_index("chip").loc["NVIDIA H100 SXM5 80GB"]
    assert glued["lever_precision_bf16"] == pytest.approx(h100.bf16_flops / h100.tf32_flops)
    assert glued["lever_precision_bf16_high"] == pytest.approx(h100.bf16_flops / h100.fp32_flops)
    # MFU spread (chapter 10's mfu_p90 / mfu_p10)
    q10, q90 = load_notable_models().mfu.dropna().quantile([0.1, 0.9])
    assert glued["lever_utilization"] == pytest.approx(q90 / q10)
    # N-D split under chapter 4's law, by an independent root in log10 C
    from smallest_loss import levers

    law = levers.reference_law()
    target = law.E + (glued["reference_loss"] - law.E)

    def gap(x):
        cc = 10**x
        n = float(kaplan.optimal_params(cc / 2))
        return law.E + law.A * n**-law.alpha + law.B * (cc / (6 * n)) ** -law.beta - target

    root = 10 ** brentq(gap, np.log10(c), np.log10(c) + 8, xtol=1e-13) / c
    assert glued["lever_nd_split"] == pytest.approx(root, rel=1e-6)


def test_worked_example(glued):
    from smallest_loss import levers
    from smallest_loss.laws import compute_optimal_allocation

    law = levers.reference_law()
    alloc = compute_optimal_allocation(law, glued["example_flops"])
    assert glued["example_gpu_hours"] == pytest.approx(1e6 / glued["example_price"])
    assert glued["example_flops"] == pytest.approx(glued["reference_flops"], rel=1e-12)
    # ranges over chapter 4's three laws
    from smallest_loss.laws import BESIROGLU2024, HOFFMANN2022

    allocs = [compute_optimal_allocation(lw, glued["example_flops"])
              for lw in (law, HOFFMANN2022, BESIROGLU2024)]
    for k in ("params", "tokens", "loss"):
        vals = [float(getattr(a, k)) for a in allocs]
        assert glued[f"example_{k}_low"] == pytest.approx(min(vals), rel=1e-9)
        assert glued[f"example_{k}_high"] == pytest.approx(max(vals), rel=1e-9)
    # the extrapolation: the largest fitted Chinchilla run is far below the plan
    assert 1e22 < glued["chinchilla_max_flops"] < 2e22
    assert glued["reference_over_fitted"] > 10
    # the loss the mixture of experts would buy
    moe = compute_optimal_allocation(law, glued["example_flops"] * glued["lever_mixture_of_experts"])
    assert glued["example_moe_loss"] == pytest.approx(float(moe.loss), rel=1e-9)
    assert glued["example_moe_loss"] < glued["example_loss"]
    assert glued["example_params"] == pytest.approx(float(alloc.params), rel=1e-9)
    assert glued["example_loss"] == pytest.approx(float(alloc.loss), rel=1e-12)
    assert glued["example_inf_params"] < glued["example_params"]
    naive = glued["example_flops"] + 2 * glued["example_params"] * 1e12
    assert naive / glued["example_inf_total_flops"] == pytest.approx(glued["lever_inference_aware"], rel=1e-6)


def _relative(law, c, p):
    from smallest_loss.laws import compute_optimal_allocation

    l0 = float(compute_optimal_allocation(law, c).loss)
    return (1 - p * l0 / (l0 - law.E)) ** -(1 / law.alpha + 1 / law.beta)


def test_penalties_priced_where_measured(glued):
    from smallest_loss import levers
    from smallest_loss.datasets.registry import load_datablations

    law, c_ref = levers.reference_law(), glued["reference_flops"]
    # chapter 9's runs at 4 epochs, recomputed from the curves: mean penalty 0.80% of the loss
    curves = load_datablations()
    final = curves.sort_values("tokens").groupby("run").tail(1)
    one = final[final.epochs == 1].set_index(["data", "params"])["loss"]
    final = final.assign(penalty=final.loss / one.loc[list(zip(final.data, final.params))].to_numpy() - 1)
    four = final[final.epochs == 4]
    c_runs = float(np.exp(np.log(four.flops).mean()))
    assert glued["lever_data_repetition_flops"] == pytest.approx(c_runs, rel=1e-9)
    assert glued["lever_data_repetition"] == pytest.approx(
        _relative(law, c_runs, four.penalty.mean()), rel=1e-9)
    assert glued["lever_data_repetition_at_reference"] == pytest.approx(
        _relative(law, c_ref, four.penalty.mean()), rel=1e-9)
    assert glued["lever_data_repetition"] < glued["lever_data_repetition_at_reference"]
    # shape: chapter 7's spread at the grid's compute; far larger at the reference budget
    s = levers.shape_spread()
    assert 0 < s.spread_pct < 6
    assert glued["lever_shape"] == pytest.approx(
        _relative(law, glued["lever_shape_flops"], s.spread_pct / 100), rel=1e-6)
    assert 1e17 < glued["lever_shape_flops"] < 1e19 and glued["lever_shape"] < 2
    assert glued["lever_shape_at_reference"] > 10
    # Fig. 14.1's end points: the repetition mean and the shape spread
    assert glued["scale_m_rep_ref"] == pytest.approx(
        _relative(law, c_ref, four.penalty.mean()), rel=1e-9)
    assert glued["scale_m_shape_lo"] == pytest.approx(
        _relative(law, 1e17, s.spread_pct / 100), rel=1e-9)


def test_ranking_groups_and_independent_levers(glued):
    """Independent recomputation of the chapter-6 and data-quality rows, and the ranking groups
    the prose walks through."""
    from smallest_loss.datasets import load_multipowerlaw, load_steplaw
    from smallest_loss.datasets.dclm import DCLM_1B_PARAMS, DCLM_1B_TOKENS, load_dclm_models

    # learning rate off by 2: median loss cost over Step Law's cells, priced by the plane's slope
    runs = load_steplaw()
    costs = []
    for _, cell in runs.groupby(["params", "tokens"]):
        prof = cell.groupby("lr_grid").smooth_loss.min()
        best = prof.idxmin()
        for f in (2.0, 0.5):
            hit = [lr for lr in prof.index if abs(lr / (best * f) - 1) < 1e-9]
            if hit:
                costs.append(prof[hit[0]] - prof.min())
    best = runs.groupby(["params", "tokens"]).smooth_loss.min().reset_index()
    x = np.column_stack([np.ones(len(best)), np.log(best.params), np.log(best.tokens)])
    slope = np.linalg.lstsq(x, best.smooth_loss.to_numpy(), rcond=None)[0][2]
    assert glued["lever_lr_factor2"] == pytest.approx(np.exp(np.median(costs) / abs(slope)), rel=1e-6)
    assert glued["lr2_median_cost"] == pytest.approx(np.median(costs), rel=1e-9)
    # schedule: steps a constant rate needs to reach WSD's final loss, median over the sizes
    curves = load_multipowerlaw()
    mult = []
    for size in ("25M", "100M", "400M"):
        ref = curves[(curves["size"] == size) & (curves.schedule == "wsd_20000_24000")]
        target = ref.sort_values("step").loss.iloc[-1]
        c = curves[(curves["size"] == size) & (curves.schedule == "constant_72000")].sort_values("step")
        smooth = c.loss.rolling(5, center=True, min_periods=1).median()
        mult.append(c.step.to_numpy()[np.argmax(smooth.to_numpy() <= target)] / 24000)
    assert glued["lever_schedule_no_decay"] == pytest.approx(np.median(mult), rel=0.02)
    # data quality: 10 ** (decile gap / CORE-per-decade slope)
    dclm = load_dclm_models()
    same = dclm[(dclm.params == DCLM_1B_PARAMS) & (dclm.tokens == DCLM_1B_TOKENS)].dropna(subset=["core"])
    same = same[same.core >= 0.05]
    base = dclm[dclm.dataset.isin(["c4_original", "rw_original", "rpj_original"])].dropna(subset=["core"])
    slope_core = np.polyfit(np.log10(base.flops), base.core, 1)[0]
    gap = same.core.quantile(0.9) - same.core.quantile(0.1)
    assert glued["lever_data_quality"] == pytest.approx(10 ** (gap / slope_core), rel=1e-6)
    # ranking groups of the prose
    m = {n: glued[f"lever_{n}"] for n in glued["lever_names"]}
    top = max(m, key=m.get)
    assert top == "mixture_of_experts"
    second = sorted(m, key=m.get, reverse=True)[1:3]
    assert set(second) == {"data_quality", "nd_split"}
    assert min(m[n] for n in ("schedule_no_decay", "utilization", "spot", "commitment",
                              "precision_bf16")) > max(m[n] for n in ("vendor", "shape",
                                                                      "data_repetition",
                                                                      "hparam_transfer",
                                                                      "lr_factor2"))
    assert glued["lever_names"][-1] == "inference_aware"


def test_penalty_conversion_and_exercises(glued):
    from smallest_loss import levers
    from smallest_loss.laws import HOFFMANN2022

    law = levers.reference_law()
    s0 = glued["reference_loss"] - law.E
    assert glued["penalty_001_multiplier"] == pytest.approx(
        (1 - glued["example_penalty"] / s0) ** -(1 / law.alpha + 1 / law.beta), rel=1e-6)
    assert glued["example_penalty"] == 0.01
    # the N-D split grows with the budget: chapter 3's 1e21 value (Hoffmann's constants) is below
    assert glued["nd_split_1e21"] == pytest.approx(levers.nd_split(HOFFMANN2022, 1e21).multiplier, rel=1e-9)
    assert 1e19 < glued["split_cross"] < 1e21
    assert glued["lever_nd_split"] < glued["split_ours_1e25"]
    assert levers.nd_split(law, 1e25).multiplier == pytest.approx(glued["split_ours_1e25"], rel=1e-9)
    assert glued["ex_split_twice"] < glued["reference_flops"]
    assert levers.nd_split(law, glued["ex_split_twice"]).multiplier == pytest.approx(2.0, rel=1e-6)
    assert levers.spot(preemptions_per_hour=glued["ex_spot_rate"]).multiplier == pytest.approx(1.5)
    assert glued["ex_inf_multiplier"] > glued["lever_inference_aware"] > 1
