"""smallest_loss.levers: every lever's compute-equivalent multiplier, recomputed independently."""

import numpy as np
import pytest
from scipy.optimize import brentq

from smallest_loss import levers
from smallest_loss.laws import BESIROGLU2024, HOFFMANN2022, ChinchillaLaw, compute_optimal_allocation
from smallest_loss.laws import kaplan


def test_lever_validates():
    assert levers.Lever("x", 1, 2.0, 1.0, 3.0, "b").multiplier == 2.0
    with pytest.raises(ValueError, match="outside"):
        levers.Lever("x", 1, 4.0, 1.0, 3.0, "b")
    with pytest.raises(ValueError, match="multiplier"):
        levers.Lever("x", 1, float("nan"), 1.0, 3.0, "b")
    with pytest.raises(ValueError, match="low"):
        levers.Lever("x", 1, 2.0, -1.0, 3.0, "b")
    with pytest.raises(ValueError, match="measured_flops"):
        levers.Lever("x", 1, 2.0, 1.0, 3.0, "b", measured_flops=0.0)


def test_reference_flops_is_the_worked_example():
    # median of the 12 vendors' on-demand H100 prices in Epoch AI's table: (4.40 + 4.76) / 2
    price = levers.example_price_per_gpu_hour()
    assert price == pytest.approx(4.58, abs=1e-9)
    # $1e6 / price GPU-hours x 3600 s x 989.4e12 FLOP/s x 0.4
    assert levers.reference_flops() == pytest.approx(1e6 / 4.58 * 3600 * 989.4e12 * 0.4, rel=1e-3)


def test_loss_with_multiplier():
    law = HOFFMANN2022
    assert levers.loss_with_multiplier(law, 1e22, 1.0) == pytest.approx(
        float(compute_optimal_allocation(law, 1e22).loss), rel=1e-12)
    assert levers.loss_with_multiplier(law, 1e22, 4.0) == pytest.approx(
        float(compute_optimal_allocation(law, 4e22).loss), rel=1e-12)
    with pytest.raises(ValueError, match="multiplier"):
        levers.loss_with_multiplier(law, 1e22, 0.0)
    with pytest.raises(ValueError, match="flops"):
        levers.loss_with_multiplier(law, -1.0, 2.0)


def test_lever_kind_validated():
    with pytest.raises(ValueError, match="kind"):
        levers.Lever("x", 1, 2.0, 1.0, 3.0, "b", kind="dollars")
    with pytest.raises(ValueError, match="range_kind"):
        levers.Lever("x", 1, 2.0, 1.0, 3.0, "b", range_kind="guess")


def test_reference_law_is_chapter_4_fit():
    law = levers.reference_law()
    # chapter 4 reproduces Besiroglu et al. 2024's refit (alpha 0.3478, beta 0.3658) within 0.003
    assert abs(law.alpha - 0.3478) < 0.003 and abs(law.beta - 0.3658) < 0.003
    assert 1.7 < law.E < 1.9


def test_loss_penalty_multiplier_recovers_a_known_budget():
    law = HOFFMANN2022
    c = 1e22
    # a penalty equal to the loss drop from c to 4c must cost exactly a factor 4
    drop = float(compute_optimal_allocation(law, c).loss - compute_optimal_allocation(law, 4 * c).loss)
    assert levers.loss_penalty_multiplier(law, c, drop) == pytest.approx(4.0, rel=1e-9)
    assert levers.loss_penalty_multiplier(law, c, 0.0) == pytest.approx(1.0, rel=1e-12)


def test_loss_penalty_multiplier_bad_input():
    with pytest.raises(ValueError, match="penalty"):
        levers.loss_penalty_multiplier(HOFFMANN2022, 1e22, -0.1)
    with pytest.raises(ValueError, match="flops"):
        levers.loss_penalty_multiplier(HOFFMANN2022, 0.0, 0.1)
    with pytest.raises(ValueError, match="not above E"):
        levers.loss_penalty_multiplier(HOFFMANN2022, 1e22, 5.0)


def _kaplan_budget(law, c):
    target = float(compute_optimal_allocation(law, c).loss)

    def gap(x):
        cc = 10**x
        n = float(kaplan.optimal_params(cc / 2))
        return law.E + law.A * n**-law.alpha + law.B * (cc / (6 * n)) ** -law.beta - target

    return 10 ** brentq(gap, np.log10(c), np.log10(c) + 8, xtol=1e-13) / c


@pytest.mark.parametrize("law,c", [(HOFFMANN2022, 1e21), (HOFFMANN2022, 1e24), (BESIROGLU2024, 1e23)])
def test_nd_split_against_independent_root(law, c):
    lever = levers.nd_split(law, c)
    assert lever.multiplier == pytest.approx(_kaplan_budget(law, c), rel=1e-6)
    assert lever.low == lever.high == lever.multiplier > 1


def test_nd_split_default_range():
    lever = levers.nd_split()
    assert lever.low <= lever.multiplier <= lever.high
    assert lever.high == pytest.approx(_kaplan_budget(HOFFMANN2022, levers.reference_flops()), rel=1e-6)


def test_hparam_and_lr_levers():
    from smallest_loss.fit import hparams as hp

    s = levers.steplaw_penalties()
    assert len(s.penalty) == 17                           # Step Law's 17 cells
    assert -0.12 < s.slope < -0.06                        # chapter 6's bound
    t = levers.hparam_transfer()
    assert t.multiplier == pytest.approx(np.exp(s.penalty["DeepSeek"].median() / abs(s.slope)))
    assert 1.1 < t.multiplier < 1.5
    f = levers.lr_factor2()
    assert f.multiplier == pytest.approx(float(hp.compute_multiplier(np.median(s.double_cost), s.slope)))
    assert 0.005 < np.median(s.double_cost) < 0.015       # chapter 6's bound on the median cost


def test_schedule_no_decay():
    lever = levers.schedule_no_decay()
    t = levers.schedule_catch_up()
    v = t[(t.mistake == "constant_72000") & (t.reference == "wsd_20000_24000")]["compute multiplier"]
    assert len(v) == 3 and lever.low == v.min() and lever.high == v.max() and v.min() > 2


def test_mixture_of_experts():
    from smallest_loss.laws import moe

    lever = levers.mixture_of_experts()
    assert lever.multiplier == pytest.approx(moe.dense_equivalent_multiplier(levers.reference_flops()))
    assert lever.low == pytest.approx(moe.dense_equivalent_multiplier(1e20))
    assert abs(lever.low / 20 - 1) < 0.1                  # Krajewski et al. report 20 at 1e20 FLOP


def test_precision_bf16():
    from smallest_loss.datasets.epoch_costs import load_chip_table

    lever = levers.precision_bf16()
    h100 = load_chip_table().set_index("chip").loc["NVIDIA H100 SXM5 80GB"]
    # central and low: bf16 over tf32 (989.4 / 494.7 = 2); high: bf16 over fp32 (989.4 / 66.91)
    assert lever.multiplier == lever.low == pytest.approx(2.0, rel=1e-3)
    assert lever.high == pytest.approx(h100.bf16_flops / h100.fp32_flops) and 10 < lever.high < 20
    assert "tf32" in lever.baseline
    with pytest.raises(ValueError, match="chip"):
        levers.precision_bf16("no such chip")


def test_relative_penalty_multiplier_closed_form():
    law = HOFFMANN2022
    c = np.array([1e19, 1e22, 1e24])
    p = 0.008
    l0 = compute_optimal_allocation(law, c).loss
    closed = (1 - p * l0 / (l0 - law.E)) ** -(1 / law.alpha + 1 / law.beta)
    assert levers.relative_penalty_multiplier(law, c, p) == pytest.approx(closed, rel=1e-9)
    # the same relative penalty is dearer near the floor: larger budgets, larger multipliers
    assert np.all(np.diff(levers.relative_penalty_multiplier(law, c, p)) > 0)
    with pytest.raises(ValueError, match="relative_penalty"):
        levers.relative_penalty_multiplier(law, 1e22, -0.01)
    with pytest.raises(ValueError, match="flops"):
        levers.relative_penalty_multiplier(law, [1e22, -1.0], 0.01)


def test_shape_lever():
    s = levers.shape_spread()
    assert 20 < s.aspect_best < 200 and 0 < s.rise_pct < s.spread_pct < 6   # chapter 7's bounds
    lv = levers.shape()
    law = levers.reference_law()
    flops = s.window.flops.to_numpy()
    c_mid = np.exp(np.log(flops).mean())
    assert lv.measured_flops == pytest.approx(c_mid) and 1e17 < c_mid < 1e19
    l0 = float(compute_optimal_allocation(law, c_mid).loss)
    expect = (1 - s.spread_pct / 100 * l0 / (l0 - law.E)) ** -(1 / law.alpha + 1 / law.beta)
    assert lv.multiplier == pytest.approx(expect, rel=1e-9)
    assert lv.low < lv.multiplier < lv.high < 2 < lv.at_reference   # near the floor it explodes


def test_data_levers():
    rep = levers.data_repetition()
    assert 1 < rep.low <= rep.multiplier <= rep.high
    runs = levers.repetition_penalties(4.0)
    assert len(runs) == 6 and 0 < runs.penalty.mean() < 0.02          # chapter 9: 0.80%
    law = levers.reference_law()
    c_mid = float(np.exp(np.log(runs.flops).mean()))
    l0 = float(compute_optimal_allocation(law, c_mid).loss)
    expect = (1 - runs.penalty.mean() * l0 / (l0 - law.E)) ** -(1 / law.alpha + 1 / law.beta)
    assert rep.multiplier == pytest.approx(expect, rel=1e-9) and rep.measured_flops == pytest.approx(c_mid)
    l_ref = float(compute_optimal_allocation(law, levers.reference_flops()).loss)
    at_ref = (1 - runs.penalty.mean() * l_ref / (l_ref - law.E)) ** -(1 / law.alpha + 1 / law.beta)
    assert rep.at_reference == pytest.approx(at_ref, rel=1e-9) and rep.at_reference > rep.multiplier
    with pytest.raises(ValueError, match="epochs"):
        levers.data_repetition(3.5)
    q = levers.data_quality()
    assert q.low < q.multiplier < q.high and q.multiplier > 1


def test_dollar_levers():
    from smallest_loss.costs.spot import spot_cost_factor

    s = levers.spot()
    assert s.multiplier == pytest.approx(1 / spot_cost_factor(0.6, 1 / 24, 0.1, 0.25))
    assert s.low == 1.0 and s.high == pytest.approx(1 / 0.4, rel=1e-6)
    assert levers.utilization().multiplier > 1
    v = levers.vendor()
    # H100 on demand: median 4.58, cheapest 2.45 (Cudo Compute), dearest 12.29 (AWS, n = 1)
    assert v.multiplier == pytest.approx(4.58 / 2.45, rel=1e-9)
    assert v.high == pytest.approx(12.29 / 2.45, rel=1e-9) and v.kind == "flops"
    c = levers.commitment()
    assert c.low <= c.multiplier <= c.high
    # savings of the vendors selling three-year terms (A100 and H100 rows of Epoch AI's table)
    from smallest_loss.datasets.epoch_costs import cloud_price_summary, load_hardware_prices

    s = cloud_price_summary(load_hardware_prices(), ["NVIDIA H100 SXM5 80GB",
                                                     "NVIDIA A100 SXM4 80 GB"]).dropna(subset=["three_year"])
    assert c.multiplier == pytest.approx(1 / np.median(s.three_year / s.on_demand), rel=1e-12)


def test_inference_aware_recomputed():
    from smallest_loss.laws.inference import inference_optimal

    law, c, t = levers.reference_law(), levers.reference_flops(), 1e12
    alloc = compute_optimal_allocation(law, c)
    naive = c + 2 * float(alloc.params) * t            # the budget's own optimum, then serving t
    best = float(inference_optimal(law, float(alloc.loss), t).total_flops)
    assert levers.inference_aware(t).multiplier == pytest.approx(naive / best, rel=1e-6)
    assert levers.inference_aware(0.0).multiplier == pytest.approx(1.0, rel=1e-9)
    with pytest.raises(ValueError, match="inference_tokens"):
        levers.inference_aware(-1.0)


def test_all_levers_ranked():
    table = levers.lever_table()
    assert list(table.multiplier) == sorted(table.multiplier, reverse=True)
    assert table.lever.is_unique and len(table) == 14
    priced = table.dropna(subset=["at_reference"])
    assert set(priced.lever) == {"shape", "data_repetition"}
    measured = table.dropna(subset=["measured_flops"])
    assert set(measured.lever) == {"shape", "data_repetition", "hparam_transfer", "lr_factor2",
                                   "data_quality"}
    assert set(table.kind) == set(levers.KINDS) and set(table.range_kind) == set(levers.RANGE_KINDS)
    assert table.loss_at_reference.isna().sum() == 1                    # the lifetime lever
    law = levers.reference_law()
    base = float(compute_optimal_allocation(law, levers.reference_flops()).loss)
    assert (table.dropna(subset=["loss_at_reference"]).loss_at_reference < base).all()
    # ranking groups the chapter's prose walks through
    m = table.set_index("lever").multiplier
    assert m.index[0] == "mixture_of_experts" and set(m.index[1:3]) == {"data_quality", "nd_split"}
    assert m.index[-1] == "inference_aware"
    assert (priced.measured_flops < levers.reference_flops()).all()
    assert ((table.low <= table.multiplier) & (table.multiplier <= table.high)).all()


def test_custom_law_is_accepted():
    law = ChinchillaLaw(E=1.7, A=400.0, B=400.0, alpha=0.34, beta=0.34)
    assert levers.nd_split(law, 1e22).multiplier > 1
