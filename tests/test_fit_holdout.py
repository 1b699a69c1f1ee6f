"""Hold-out forecasts (smallest_loss.fit.holdout): subsets, their cost, and forecasts checked on runs
drawn from a known law, where the true optimum at the held-out budget is known in closed form."""

import numpy as np
import pandas as pd
import pytest

from smallest_loss.fit import holdout
from smallest_loss.laws import LAWS, compute_optimal_allocation

LAW = LAWS["hoffmann2022"]
BUDGETS = (1e18, 3e18, 1e19, 3e19)


def _study(noise=0.0, seed=0):
    """Seven sizes from N_opt/4 to 4 N_opt per budget, losses from the law (log-normal noise);
    six log-spaced checkpoints per run, the last its final loss."""
    rng = np.random.default_rng(seed)
    rows, curves = [], []
    for b in BUDGETS:
        n_opt = float(compute_optimal_allocation(LAW, b).params)
        for i, f in enumerate(np.geomspace(0.25, 4.0, 7)):
            n = n_opt * f
            d = b / (6 * n)
            name = f"C{b:.0e}_{i}"
            ts = np.geomspace(d / 100, d, 6)
            ls = LAW.loss(n, ts) * np.exp(noise * rng.standard_normal(ts.size))
            rows.append(dict(run=name, params=n, tokens=d, flops=b, loss=float(ls[-1]), budget=b))
            curves += [dict(run=name, tokens=t, loss=float(v)) for t, v in zip(ts, ls)]
    return pd.DataFrame(rows), pd.DataFrame(curves)


RUNS, CURVES = _study()


def test_target_is_the_heldout_parabola_vertex():
    target = holdout.holdout_target(RUNS, 3e19)
    true = compute_optimal_allocation(LAW, 3e19)
    assert target.n_runs == 7 and target.inside
    # the parabola in ln N over a factor 16 of sizes is biased by about 1% on this law
    assert 0.0 < target.params_opt / float(true.params) - 1 < 0.03
    assert abs(target.loss_opt / float(true.loss) - 1) < 1e-3
    assert target.tokens_opt == pytest.approx(3e19 / (6 * target.params_opt), rel=1e-9)


def test_subset_points_cost_and_selection():
    s = holdout.Subset("two", (1e18, 3e18), sizes_per_budget=3)
    points, finals, spent = holdout.subset_points(RUNS, None, s)
    assert len(points) == 6 and len(finals) == 6
    assert spent == pytest.approx(3 * 1e18 + 3 * 3e18)
    # smallest, middle and largest size of each budget
    at = RUNS[RUNS.budget == 1e18].sort_values("params").params.to_numpy()
    assert np.allclose(np.sort(points.params.to_numpy()[:3]), at[[0, 3, 6]])


def test_subset_points_checkpoints_cost_nothing_extra_unless_cut_short():
    full = holdout.Subset("c", (1e18,), checkpoints="curve", min_fraction=0.05)
    points, finals, spent = holdout.subset_points(RUNS, CURVES, full)
    assert spent == pytest.approx(7 * 1e18)
    assert len(points) == 7 * 4  # the checkpoints at 1% and 2.5% of the tokens are dropped
    half = holdout.Subset("h", (1e18,), checkpoints="curve", stop_fraction=0.2)
    points, finals, spent = holdout.subset_points(RUNS, CURVES, half)
    last = 100 ** (-0.4)  # the checkpoint at 15.8% of the tokens is the last one kept
    assert spent == pytest.approx(7 * 1e18 * last, rel=1e-9)
    assert np.allclose(finals.flops, 1e18 * last)


def test_forecast_recovers_the_true_optimum_from_noise_free_runs():
    target = holdout.holdout_target(RUNS, 3e19)
    true = compute_optimal_allocation(LAW, 3e19)
    subsets = [holdout.Subset("all", BUDGETS[:3]), holdout.Subset("one", (1e19,))]
    table = holdout.forecast(RUNS, CURVES, subsets, target)
    assert list(table.columns) == list(holdout.FORECAST_COLUMNS)
    a3 = table[(table.subset == "all") & (table.approach == 3)].iloc[0]
    assert a3.params_pred == pytest.approx(float(true.params), rel=2e-3)
    assert a3.loss_pred == pytest.approx(float(true.loss), rel=1e-4)
    assert a3.identified
    assert a3.flops_spent == pytest.approx(7 * sum(BUDGETS[:3]))
    # Approach 2 shares the parabola's bias, so it lands on the held-out vertex itself
    a2 = table[(table.subset == "all") & (table.approach == 2)].iloc[0]
    assert abs(a2.params_error) < 1e-6
    # one budget: no power law in C for Approach 2
    one2 = table[(table.subset == "one") & (table.approach == 2)].iloc[0]
    assert np.isnan(one2.params_pred) and not one2.identified
    best = holdout.cheapest_within(table, 0.05)
    assert best is not None and best.flops_spent == pytest.approx(7e19)  # the single-budget fit
    assert holdout.cheapest_within(table, 1e-12, column="loss_error") is None


def test_relative_error():
    assert np.allclose(holdout.relative_error([1.1, np.nan], [1.0, 2.0])[0], 0.1)
    assert np.isnan(holdout.relative_error([np.nan], [2.0])[0])


@pytest.mark.parametrize("kwargs, message", [
    (dict(budgets=()), "budgets is empty"),
    (dict(budgets=(1e18,), sizes_per_budget=1), "sizes_per_budget = 1"),
    (dict(budgets=(1e18,), checkpoints="all"), "checkpoints = 'all'"),
    (dict(budgets=(1e18,), checkpoints="curve", min_fraction=1.0), "min_fraction = 1.0"),
    (dict(budgets=(1e18,), checkpoints="curve", stop_fraction=0.0), "stop_fraction = 0.0"),
    (dict(budgets=(1e18,), stop_fraction=0.5), "needs checkpoints='curve'"),
])
def test_subset_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        holdout.Subset("s", **kwargs)


def test_bad_input():
    with pytest.raises(ValueError, match="no run has this budget"):
        holdout.holdout_target(RUNS, 5e18)
    with pytest.raises(ValueError, match="no run has budget 5e"):
        holdout.subset_points(RUNS, None, holdout.Subset("s", (5e18,)))
    with pytest.raises(ValueError, match="needs the curves table"):
        holdout.subset_points(RUNS, None, holdout.Subset("s", (1e18,), checkpoints="curve"))
    bad = RUNS.assign(loss=RUNS.loss.where(RUNS.index != 3, -1.0))
    with pytest.raises(ValueError, match="row 3 has loss = -1.0"):
        holdout.holdout_target(bad, 1e18)
    with pytest.raises(ValueError, match="missing column 'budget'"):
        holdout.holdout_target(RUNS.drop(columns="budget"), 1e18)
    target = holdout.holdout_target(RUNS, 3e19)
    with pytest.raises(ValueError, match="subsets is empty"):
        holdout.forecast(RUNS, CURVES, [], target)
    with pytest.raises(ValueError, match="names repeat"):
        holdout.forecast(RUNS, CURVES, [holdout.Subset("s", (1e18,))] * 2, target)
    with pytest.raises(ValueError, match="1 is not 2 or 3"):
        holdout.forecast(RUNS, CURVES, [holdout.Subset("s", (1e18,))], target, approaches=(1,))
    with pytest.raises(ValueError, match="tolerance = 0"):
        holdout.cheapest_within(pd.DataFrame({"params_error": [0.0]}), 0)
    with pytest.raises(ValueError, match="actual"):
        holdout.relative_error([1.0], [0.0])


def _parabola_runs(n0=1e6, budget=1e19, noise=0.0, seed=0, n_runs=7):
    """Runs whose losses lie on a parabola in ln N with its vertex at n0 (plus noise)."""
    rng = np.random.default_rng(seed)
    n = n0 * np.geomspace(0.25, 4.0, n_runs)
    loss = 2.0 + 0.05 * np.log(n / n0) ** 2 + noise * rng.standard_normal(n_runs)
    return pd.DataFrame(dict(run=[f"r{i}" for i in range(n_runs)], params=n,
                             tokens=budget / (6 * n), flops=budget, loss=loss, budget=budget))


def test_target_range_of_an_exact_parabola_is_its_vertex():
    spread = holdout.target_range(_parabola_runs(), 1e19)
    assert spread.params_opt == pytest.approx(1e6, rel=1e-9)
    assert spread.loss_opt == pytest.approx(2.0, rel=1e-12)
    assert spread.params_lo == pytest.approx(1e6, rel=1e-9)
    assert spread.params_hi == pytest.approx(1e6, rel=1e-9)
    assert spread.params_halfwidth < 1e-8 and spread.loss_halfwidth < 1e-12
    assert spread.n_refits == 7 and spread.n_failed == 0 and spread.bounded and spread.inside


def test_target_range_widens_with_noise_and_brackets_the_vertex():
    quiet = holdout.target_range(_parabola_runs(noise=0.002), 1e19)
    loud = holdout.target_range(_parabola_runs(noise=0.02), 1e19)
    for s in (quiet, loud):
        assert s.params_lo <= s.params_opt <= s.params_hi
        assert s.loss_lo <= s.loss_opt <= s.loss_hi
        assert s.params_halfwidth == pytest.approx(
            max(s.params_hi / s.params_opt - 1, 1 - s.params_lo / s.params_opt))
    # ten times the noise, about ten times the range (seeded draws)
    assert 0 < quiet.params_halfwidth < 0.02
    assert 5 * quiet.params_halfwidth < loud.params_halfwidth < 0.2
    # the runs of the known law: the range is a few percent (the parabola's own misfit)
    law = holdout.target_range(RUNS, 3e19)
    assert law.bounded and 0 < law.params_halfwidth < 0.05


def test_target_range_without_a_minimum_is_unbounded():
    runs = _parabola_runs(n_runs=4)
    runs.loc[1, "loss"] = 2.5  # dropping a run leaves a parabola that opens downward
    spread = holdout.target_range(runs, 1e19)
    assert spread.n_failed >= 1 and not spread.bounded
    assert spread.params_halfwidth == float("inf") and spread.loss_halfwidth == float("inf")


def test_target_range_bad_input():
    with pytest.raises(ValueError, match="leaving one out needs at least 4"):
        holdout.target_range(_parabola_runs(n_runs=3), 1e19)
    with pytest.raises(ValueError, match="no run has this budget"):
        holdout.target_range(_parabola_runs(), 3e19)
