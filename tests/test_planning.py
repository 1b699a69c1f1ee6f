"""The planning layer: one law interface, plans in FLOPs, dollars and loss, bootstrap intervals."""

import json

import numpy as np
import pytest

from smallest_loss.costs import flops_from_gpu_hours
from smallest_loss.laws import HOFFMANN2022, ChinchillaLaw, compute_optimal_allocation, kaplan
from smallest_loss.laws.inference import compute_optimal_for_loss, inference_optimal
from smallest_loss.planning import (ChinchillaPlanningLaw, KaplanPlanningLaw, Plan, PowerLawPlanningLaw,
                                    gpu_peak_flops, load_law, plan_for_dollars, plan_for_flops,
                                    plan_for_loss)


def synthetic_draws(n=400, seed=0):
    """Draws scattered around Hoffmann et al.'s constants (log-normal, 3% on A and B, 2% on the
    exponents, 1% on E)."""
    rng = np.random.default_rng(seed)
    base = {k: getattr(HOFFMANN2022, k) for k in ("E", "A", "B", "alpha", "beta")}
    spread = {"E": 0.01, "A": 0.03, "B": 0.03, "alpha": 0.02, "beta": 0.02}
    return {k: base[k] * np.exp(rng.normal(0, spread[k], n)) for k in base}


def test_named_laws_match_the_closed_forms():
    plan = plan_for_flops("hoffmann2022", 5.76e23)
    alloc = compute_optimal_allocation(HOFFMANN2022, 5.76e23)
    assert isinstance(plan, Plan) and plan.law == "hoffmann2022" and plan.ci95 is None
    assert plan.params == pytest.approx(float(alloc.params), rel=1e-14)
    assert plan.loss == pytest.approx(float(alloc.loss), rel=1e-14)
    kap = plan_for_flops("kaplan2020", 1e21)
    assert kap.params == pytest.approx(float(kaplan.optimal_params(5e20)), rel=1e-14)
    assert kap.tokens * kap.params * 6 == pytest.approx(1e21, rel=1e-12) and "non-embedding" in kap.note


def test_every_spec_kind_loads():
    assert isinstance(load_law("besiroglu2024"), ChinchillaPlanningLaw)
    assert isinstance(load_law("kaplan2020"), KaplanPlanningLaw)
    assert isinstance(load_law(HOFFMANN2022), ChinchillaPlanningLaw)
    power = load_law({"a": 0.5, "k_params": 0.1, "approach": 2})
    assert isinstance(power, PowerLawPlanningLaw) and not power.has_loss_model
    plan = power.for_flops(1e20)
    assert plan.params == pytest.approx(1e9) and plan.tokens == pytest.approx(1e20 / 6e9) and plan.loss is None


def test_arrays_of_budgets():
    plan = plan_for_flops("hoffmann2022", np.array([1e20, 1e22, 1e24]))
    assert plan.params.shape == (3,) and np.all(np.diff(plan.params) > 0)


def test_dollars_example_of_the_issue():
    plan = plan_for_dollars("hoffmann2022", 1e6, 2.0, 989e12, 0.4)
    assert plan.gpu_hours == pytest.approx(5e5, rel=1e-15)
    assert plan.flops == pytest.approx(7.1208e23, rel=1e-12)
    same = plan_for_flops("hoffmann2022", 7.1208e23)
    assert plan.params == pytest.approx(same.params, rel=1e-12)
    assert plan.tokens == pytest.approx(same.tokens, rel=1e-12)
    assert plan.spot_cost_factor is None and plan.dollars == 1e6
    assert plan.flops == pytest.approx(float(flops_from_gpu_hours(5e5, 989e12, 0.4)), rel=1e-15)


def test_spot_buys_more_hours_when_the_discount_outweighs_preemptions():
    from smallest_loss.costs.spot import spot_cost_factor

    on_demand = plan_for_dollars("hoffmann2022", 1e6, 2.0, 989e12, 0.4)
    spot = plan_for_dollars("hoffmann2022", 1e6, 2.0, 989e12, 0.4, spot_discount=0.6,
                            preemptions_per_hour=0.05, checkpoint_hours=0.1, restart_hours=0.2)
    factor = spot_cost_factor(0.6, 0.05, 0.1, 0.2)
    assert spot.spot_cost_factor == pytest.approx(factor, rel=1e-15) and 0.4 < factor < 1
    assert spot.gpu_hours == pytest.approx(5e5 / factor, rel=1e-12)
    assert spot.params > on_demand.params
    # without preemptions the factor is exactly 1 - discount
    plain = plan_for_dollars("hoffmann2022", 1e6, 2.0, 989e12, 0.4, spot_discount=0.5)
    assert plain.gpu_hours == pytest.approx(1e6, rel=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    ({"price_per_gpu_hour": 0.0}, "price_per_gpu_hour = 0.0 is not positive"),
    ({"price_per_gpu_hour": -2.0}, "price_per_gpu_hour = -2.0 is not positive"),
    ({"mfu": 1.2}, r"mfu = 1.2 is outside \(0, 1\]"),
    ({"mfu": 0.0}, r"mfu = 0.0 is outside \(0, 1\]"),
    ({"dollars": -1.0}, "dollars = -1.0 is not positive"),
    ({"peak_flops_per_s": np.nan}, "peak_flops_per_s = nan is NaN"),
    ({"spot_discount": 1.0, "preemptions_per_hour": 0.1}, r"discount = 1.0 is outside \[0, 1\)"),
])
def test_dollar_plans_refuse_bad_input(kwargs, message):
    args = {"dollars": 1e6, "price_per_gpu_hour": 2.0, "peak_flops_per_s": 989e12, "mfu": 0.4} | kwargs
    with pytest.raises(ValueError, match=message):
        plan_for_dollars("hoffmann2022", **args)


def test_loss_plans():
    zero = plan_for_loss("hoffmann2022", 2.0)
    alloc = compute_optimal_for_loss(HOFFMANN2022, 2.0)
    assert zero.params == pytest.approx(float(alloc.params), rel=1e-12)
    assert zero.flops == zero.training_flops == zero.total_flops and zero.inference_flops == 0
    again = plan_for_flops("hoffmann2022", zero.flops)
    assert again.params == pytest.approx(zero.params, rel=1e-10) and again.loss == pytest.approx(2.0, rel=1e-12)
    busy = plan_for_loss("hoffmann2022", 2.0, 1e13)
    ref = inference_optimal(HOFFMANN2022, 2.0, 1e13)
    assert busy.params == pytest.approx(float(ref.params), rel=1e-14) and busy.params < zero.params
    assert busy.inference_flops == pytest.approx(2 * busy.params * 1e13, rel=1e-14)
    kap = plan_for_loss("kaplan2020", 2.5)
    assert kap.loss == 2.5
    assert float(kaplan.loss_of_compute_min(kap.flops / 2)) == pytest.approx(2.5, rel=1e-12)


def test_loss_plans_refuse_what_they_cannot_answer():
    with pytest.raises(ValueError, match="has no loss model"):
        plan_for_loss({"a": 0.5, "k_params": 0.1}, 2.0)
    with pytest.raises(ValueError, match="loss = 1.6 is not above the law's irreducible loss"):
        plan_for_loss("hoffmann2022", 1.6)
    with pytest.raises(ValueError, match="kaplan2020: inference-aware planning needs"):
        plan_for_loss("kaplan2020", 2.5, 1e12)


def test_bootstrap_draws_give_intervals_around_the_point():
    law = ChinchillaPlanningLaw(law=HOFFMANN2022, draws=synthetic_draws())
    plan = law.for_flops(1e23)
    assert plan.ci95_draws == 400
    for k in ("params", "tokens", "tokens_per_param", "loss"):
        lo, hi = plan.ci95[k]
        assert lo < getattr(plan, k) < hi, k
    # the interval is the percentile of the per-draw closed form
    d = synthetic_draws()
    params = [float(compute_optimal_allocation(ChinchillaLaw(**{k: d[k][i] for k in d}), 1e23).params)
              for i in range(400)]
    assert plan.ci95["params"][0] == pytest.approx(np.percentile(params, 2.5), rel=1e-10)
    assert plan.ci95["params"][1] == pytest.approx(np.percentile(params, 97.5), rel=1e-10)
    vec = law.for_flops(np.array([1e21, 1e23]))
    assert vec.ci95["params"][0][1] == pytest.approx(plan.ci95["params"][0], rel=1e-12)


def test_bootstrap_intervals_for_a_loss_match_a_per_draw_solve():
    d = synthetic_draws(n=60, seed=1)
    law = ChinchillaPlanningLaw(law=HOFFMANN2022, draws=d)
    plan = law.for_loss(2.1, 1e12)
    per_draw = [float(inference_optimal(ChinchillaLaw(**{k: d[k][i] for k in d}), 2.1, 1e12).params)
                for i in range(60)]
    assert plan.ci95["params"][0] == pytest.approx(np.percentile(per_draw, 2.5), rel=1e-9)
    assert plan.ci95["params"][1] == pytest.approx(np.percentile(per_draw, 97.5), rel=1e-9)
    assert plan.ci95["params"][0] < plan.params < plan.ci95["params"][1]


def test_failed_and_infeasible_draws_land_at_the_edges():
    d = synthetic_draws(n=40)
    law = ChinchillaPlanningLaw(law=HOFFMANN2022, draws=d, n_failed=10)
    lo, hi = law.for_flops(1e23).ci95["params"]
    assert lo == 0 and hi == np.inf  # 10 of 50 failed: both tails decided by failures
    d["E"][:5] = 5.0  # five draws cannot reach a loss of 2.1
    hi_loss = ChinchillaPlanningLaw(law=HOFFMANN2022, draws=d).for_loss(2.1).ci95["params"][1]
    assert hi_loss == np.inf
    assert json.loads(json.dumps(Plan(1.0, 1.0, 1.0, 1.0, None, "x", ci95={"params": (0.0, np.inf)}).to_dict()))[
        "ci95"]["params"] == [0.0, None]


def test_fit_json_with_draws(tmp_path):
    d = synthetic_draws(n=50)
    data = {k: getattr(HOFFMANN2022, k) for k in ("E", "A", "B", "alpha", "beta")}
    data["bootstrap"] = {"n": 52, "n_failed": 2, "interval_determined": True,
                         "draws": {k: v.tolist() for k, v in d.items()}}
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(data))
    law = load_law(str(path))
    assert isinstance(law, ChinchillaPlanningLaw) and law.n_failed == 2 and law.name == str(path)
    plan = plan_for_flops(path, 1e22)
    assert plan.ci95 is not None and plan.ci95_draws == 50
    data["bootstrap"]["draws"]["alpha"][3] = -0.1
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="bootstrap draw 3 of 'alpha' = -0.1 is not a finite positive"):
        load_law(path)
    data["bootstrap"]["draws"]["alpha"] = [0.3]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="must be non-empty and of equal length"):
        load_law(path)


@pytest.mark.parametrize("spec, message", [
    ("chinchilla", "unknown law 'chinchilla': give one of hoffmann2022"),
    ({"E": 1.7}, "needs E, A, B, alpha, beta"),
    ({"E": 1.7, "A": 400, "B": 400, "alpha": 0.3, "beta": 0.3, "identified": False}, "not identified"),
    ({"E": "x", "A": 400, "B": 400, "alpha": 0.3, "beta": 0.3}, "'E' = 'x' is not a number"),
    (3.0, "law: expected a name, a path, a dict or a ChinchillaLaw"),
])
def test_bad_laws(spec, message):
    with pytest.raises(ValueError, match=message):
        load_law(spec)


def test_gpu_peak_flops_from_the_chip_table():
    assert gpu_peak_flops("NVIDIA H100 SXM5 80GB") == pytest.approx(9.894e14)
    assert gpu_peak_flops("  nvidia   a100 sxm4 80 gb ") == pytest.approx(3.12e14)
    assert gpu_peak_flops("NVIDIA H100 SXM5 80GB", "tf32") == pytest.approx(4.947e14)
    with pytest.raises(ValueError, match="unknown GPU 'H100'.*close matches: .*NVIDIA H100 SXM5 80GB"):
        gpu_peak_flops("H100")
    with pytest.raises(ValueError, match="dtype = 'fp4' is not one of"):
        gpu_peak_flops("NVIDIA H100 SXM5 80GB", "fp4")
    with pytest.raises(ValueError, match="gives no bf16 peak"):
        gpu_peak_flops("NVIDIA H100 NVL")
