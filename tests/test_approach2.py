"""Tests for smallest_loss.fit.approach2 (Hoffmann et al. 2022, Approach 2)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from smallest_loss.fit.approach2 import (
    HOFFMANN2022_ISOFLOP_BUDGETS,
    OPTIMA_COLUMNS,
    _weighted_parabolas,
    assign_budgets,
    bootstrap_approach2,
    fit_approach2,
    isoflop_optima,
    local_exponent,
    snap_to_budgets,
)
from smallest_loss.laws import HOFFMANN2022, compute_optimal_allocation

BUDGETS = np.array(HOFFMANN2022_ISOFLOP_BUDGETS)


def NUM(value: str) -> str:
    """Regex for a number as validation.py prints it: ``-1.0`` or numpy 2's ``np.float64(-1.0)``."""
    return rf"(?:np\.float64\()?{value}\)?"


def parabola_runs(a=0.5, k=0.1, q0=2.5, q2=0.05, n_sizes=7, half_width=1.5):
    """Loss exactly ``q0 + q2 (ln N - ln N*)^2`` with ``N* = k C^a``; grids off-centre by +0.3 ln."""
    n, c, y = [], [], []
    for cb in BUDGETS:
        ln_opt = np.log(k) + a * np.log(cb)
        x = ln_opt + 0.3 + np.linspace(-half_width, half_width, n_sizes)
        n += list(np.exp(x))
        c += [cb] * n_sizes
        y += list(q0 + q2 * (x - ln_opt) ** 2)
    return np.array(n), np.array(c), np.array(y)


def law_runs(offset_dex=0.0, noise=0.0, seed=0, n_sizes=9, half_dex=0.8):
    """IsoFLOP grids on HOFFMANN2022, each centred (up to a random offset) on the true N_opt."""
    rng = np.random.default_rng(seed)
    n, c, y = [], [], []
    for cb in BUDGETS:
        n_opt = compute_optimal_allocation(HOFFMANN2022, cb).params
        shift = rng.uniform(-offset_dex, offset_dex)
        grid = n_opt * 10 ** (np.linspace(-half_dex, half_dex, n_sizes) + shift)
        n += list(grid)
        c += [cb] * n_sizes
        y += list(HOFFMANN2022.loss_at_compute(grid, cb))
    y = np.array(y) + rng.normal(0.0, noise, len(y))
    return np.array(n), np.array(c), y


# --- per-budget parabolas -------------------------------------------------------------------------


def test_parabola_exact_data_recovers_vertex_exactly():
    n, c, y = parabola_runs(a=0.5, k=0.1, q0=2.5, q2=0.05)
    opt = isoflop_optima(n, c, y)
    assert list(opt.columns) == list(OPTIMA_COLUMNS)
    assert len(opt) == BUDGETS.size
    ln_true = np.log(0.1) + 0.5 * np.log(BUDGETS)
    np.testing.assert_allclose(opt["ln_params_opt"], ln_true, rtol=0, atol=1e-9)
    np.testing.assert_allclose(opt["params_opt"], np.exp(ln_true), rtol=1e-9)
    np.testing.assert_allclose(opt["tokens_opt"], BUDGETS / (6 * np.exp(ln_true)), rtol=1e-9)
    np.testing.assert_allclose(opt["loss_opt"], 2.5, atol=1e-10)
    np.testing.assert_allclose(opt["curvature"], 2 * 0.05, rtol=1e-8)
    np.testing.assert_array_equal(opt["flops"], BUDGETS)
    assert opt["valid"].all() and opt["vertex_inside"].all() and opt["curvature_positive"].all()
    assert (opt["n_points"] == 7).all() and (opt["n_sizes"] == 7).all()


def test_parabola_exact_data_recovers_power_laws_exactly():
    fit = fit_approach2(*parabola_runs(a=0.5, k=0.1))
    assert fit.a == pytest.approx(0.5, abs=1e-10)
    assert fit.k_params == pytest.approx(0.1, rel=1e-8)
    # D* = C / (6 N*) at every vertex, so b = 1 - a and k' = 1 / (6 k) exactly.
    assert fit.b == pytest.approx(0.5, abs=1e-10)
    assert fit.k_tokens == pytest.approx(1 / 0.6, rel=1e-8)
    assert fit.n_budgets_used == BUDGETS.size
    np.testing.assert_allclose(fit.params_opt(1e20), 0.1 * 1e10, rtol=1e-8)
    np.testing.assert_allclose(fit.tokens_opt(1e20), 1e20 / (6 * 0.1 * 1e10), rtol=1e-8)


def test_hoffmann_law_on_centred_grids_recovers_a_exactly():
    # Along an isoFLOP profile, L - E = K(C) (e^{-alpha u}/alpha + e^{beta u}/beta) with
    # u = ln(N / N_opt): the same shape at every budget, scaled by K(C). A grid fixed in u therefore
    # gives the same vertex offset at every budget (here +2.3% in N: the profile is asymmetric), so
    # the fitted exponent is exact even though the profile is not a parabola.
    fit = fit_approach2(*law_runs())
    assert fit.a == pytest.approx(HOFFMANN2022.a, abs=1e-9)
    assert HOFFMANN2022.a == pytest.approx(0.4565, abs=1e-4)
    ratio = fit.optima["params_opt"] / compute_optimal_allocation(HOFFMANN2022, BUDGETS).params
    np.testing.assert_allclose(ratio, ratio.iloc[0], rtol=1e-9)


def test_hoffmann_law_with_offsets_and_noise_recovers_a():
    # Random +-0.3 dex grid offsets per budget and 0.005 nats of noise: over 200 seeds the error of
    # a has standard deviation 0.004 and |error| <= 0.012, so 0.02 is a ~5 sigma tolerance.
    fit = fit_approach2(*law_runs(offset_dex=0.3, noise=0.005, seed=7))
    assert abs(fit.a - HOFFMANN2022.a) < 0.02
    assert abs(fit.b - HOFFMANN2022.b) < 0.02


def test_budget_labels_group_runs_and_flops_is_geometric_mean():
    n, c, y = parabola_runs()
    jitter = np.exp(np.random.default_rng(0).normal(0, 0.01, c.size))
    labels = np.repeat([f"B{i}" for i in range(BUDGETS.size)], 7)
    opt = isoflop_optima(n, c * jitter, y, budget=labels)
    assert list(opt["budget"]) == [f"B{i}" for i in range(BUDGETS.size)]
    geo = np.exp(np.log(c * jitter).reshape(BUDGETS.size, 7).mean(axis=1))
    np.testing.assert_allclose(opt["flops"], geo, rtol=1e-12)


# --- flags ----------------------------------------------------------------------------------------


def flagged_runs():
    """Seven good budgets plus one with the vertex outside the grid and one opening downward."""
    n, c, y = parabola_runs()
    keep = c <= 6e20
    n, c, y = n[keep], c[keep], y[keep]
    x = np.log(1e9) + np.linspace(-1, 1, 5)
    outside = 2.0 + 0.05 * (x - (x.max() + 2.0)) ** 2      # vertex 2 ln-units above the largest size
    concave = 2.0 - 0.05 * (x - x.mean()) ** 2
    n = np.concatenate([n, np.exp(x), np.exp(x)])
    c = np.concatenate([c, np.full(5, 1e21), np.full(5, 3e21)])
    y = np.concatenate([y, outside, concave])
    return n, c, y


def test_flags_mark_outside_vertex_and_negative_curvature():
    opt = isoflop_optima(*flagged_runs()).set_index("budget")
    assert not opt.loc[1e21, "vertex_inside"] and opt.loc[1e21, "curvature_positive"]
    assert opt.loc[3e21, "vertex_inside"] and not opt.loc[3e21, "curvature_positive"]
    assert opt.loc[3e21, "curvature"] < 0
    assert not opt.loc[1e21, "valid"] and not opt.loc[3e21, "valid"]
    assert opt.drop(index=[1e21, 3e21])["valid"].all()


def test_flagged_budgets_kept_in_table_but_excluded_from_fit_by_default():
    fit = fit_approach2(*flagged_runs())
    assert len(fit.optima) == 9
    assert fit.n_budgets_used == 7
    assert fit.optima["used"].sum() == 7
    assert fit.a == pytest.approx(0.5, abs=1e-9)
    everything = fit_approach2(*flagged_runs(), include_flagged=True)
    assert everything.n_budgets_used == 9
    assert abs(everything.a - 0.5) > 1e-3


# --- bad inputs -----------------------------------------------------------------------------------


def test_budget_with_too_few_sizes_is_named():
    n, c, y = parabola_runs()
    extra_n, extra_c, extra_y = [1e8, 1e8, 2e8], [5e22] * 3, [3.0, 3.1, 2.9]
    with pytest.raises(ValueError, match=r"budget 5e\+22: needs at least 3 runs at 3 distinct model sizes"):
        isoflop_optima(np.r_[n, extra_n], np.r_[c, extra_c], np.r_[y, extra_y])
    with pytest.raises(ValueError, match=r"budget 'tiny': .* got 2 runs at 2 sizes"):
        isoflop_optima([1e8, 2e8, 1e8, 2e8, 3e8], [1e19] * 5, [3, 2.9, 3, 2.9, 3.1],
                       budget=["tiny", "tiny", "ok", "ok", "ok"])


def test_fit_needs_two_usable_budgets():
    n, c, y = flagged_runs()
    keep = (c == 6e18) | (c >= 1e21)
    with pytest.raises(ValueError, match=r"need at least 2 usable budgets .* got 1 \(excluded by flags: \[1e\+21, 3e\+21\]\)"):
        fit_approach2(n[keep], c[keep], y[keep])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([1e8, -1.0, 3e8], [1e19] * 3, [3, 2, 3]), r"params\[1\] = " + NUM(r"-1\.0") + " is not positive"),
        (([1e8, 2e8, 3e8], [1e19, 0.0, 1e19], [3, 2, 3]), r"flops\[1\] = " + NUM(r"0\.0") + " is not positive"),
        (([1e8, 2e8, 3e8], [1e19] * 3, [3, np.nan, 3]), r"loss\[1\] = " + NUM("nan") + " is not finite"),
        (([1e8, 2e8, 3e8], [1e19] * 2, [3, 2, 3]), r"length mismatch: params has 3 values but flops has 2"),
        (([[1e8, 2e8, 3e8]], [[1e19] * 3], [[3, 2, 3]]), r"params: expected a 1-D array"),
        (([], [], []), r"params: is empty"),
        (([1e8, 2e8, 3e8], [1e19] * 3, ["a", 2, 3]), r"loss: not numeric"),
    ],
)
def test_bad_inputs(args, message):
    with pytest.raises(ValueError, match=message):
        isoflop_optima(*args)


def test_bad_budget_argument():
    with pytest.raises(ValueError, match=r"length mismatch: flops has 3 values but budget has 2"):
        isoflop_optima([1e8, 2e8, 3e8], [1e19] * 3, [3, 2, 3], budget=[1, 1])
    with pytest.raises(ValueError, match=r"budget\[2\] = nan is not finite"):
        isoflop_optima([1e8, 2e8, 3e8], [1e19] * 3, [3, 2, 3], budget=[1.0, 1.0, np.nan])


# --- bootstrap ------------------------------------------------------------------------------------


def test_weighted_parabolas_match_least_squares():
    rng = np.random.default_rng(3)
    x = np.linspace(-1, 1, 8)
    y = 2 + 0.3 * x + 0.7 * x**2 + rng.normal(0, 0.01, 8)
    w = rng.integers(0, 3, size=(5, 8)).astype(float)
    w[:, :3] += 1  # at least three distinct x in every row
    c0, c1, c2, ok = _weighted_parabolas(x, y, w)
    assert ok.all()
    for i in range(5):
        sw = np.sqrt(w[i])
        coef = np.linalg.lstsq(np.vander(x, 3, increasing=True) * sw[:, None], y * sw, rcond=None)[0]
        np.testing.assert_allclose([c0[i], c1[i], c2[i]], coef, rtol=1e-9, atol=1e-12)


def test_bootstrap_matches_explicit_resampling():
    n, c, y = law_runs(offset_dex=0.3, noise=0.01, seed=1)
    boot = bootstrap_approach2(n, c, y, n_bootstrap=12, seed=5)
    rng = np.random.default_rng(5)
    counts = [rng.multinomial(9, np.full(9, 1 / 9), size=12) for _ in BUDGETS]
    for r in range(12):
        idx = np.concatenate([
            np.repeat(np.flatnonzero(c == cb), counts[g][r]) for g, cb in enumerate(BUDGETS)
        ])
        try:
            expected = fit_approach2(n[idx], c[idx], y[idx])
        except ValueError:
            continue  # a budget with < 3 sizes: bootstrap drops it, fit_approach2 refuses
        assert boot.a[r] == pytest.approx(expected.a, abs=1e-9)
        assert boot.b[r] == pytest.approx(expected.b, abs=1e-9)
        assert boot.k_params[r] == pytest.approx(expected.k_params, rel=1e-7)
        assert boot.n_budgets_used[r] == expected.n_budgets_used


def test_bootstrap_is_deterministic_for_a_seed():
    n, c, y = law_runs(offset_dex=0.3, noise=0.01, seed=2)
    one = bootstrap_approach2(n, c, y, n_bootstrap=300, seed=11)
    two = bootstrap_approach2(n, c, y, n_bootstrap=300, seed=11)
    other = bootstrap_approach2(n, c, y, n_bootstrap=300, seed=12)
    np.testing.assert_array_equal(one.a, two.a)
    np.testing.assert_array_equal(one.b, two.b)
    np.testing.assert_array_equal(one.n_dropped_flags, two.n_dropped_flags)
    assert one.se() == two.se() and one.ci() == two.ci()
    assert not np.array_equal(one.a, other.a)


def test_bootstrap_summaries_and_speed():
    n, c, y = law_runs(offset_dex=0.3, noise=0.01, seed=2)
    start = time.perf_counter()
    boot = bootstrap_approach2(n, c, y, n_bootstrap=4000, seed=0)
    assert time.perf_counter() - start < 5.0
    assert boot.n_bootstrap == 4000 and boot.seed == 0
    se, ci = boot.se(), boot.ci(0.95)
    assert set(se) == {"a", "b"} and set(ci) == {"a", "b"}
    assert se["a"] == pytest.approx(se["b"], rel=1e-9)  # b = 1 - a in every resample
    assert 0 < se["a"] < 0.05
    lo, hi = ci["a"]
    assert lo < boot.point.a < hi
    assert boot.ci(0.5)["a"][0] > lo and boot.ci(0.5)["a"][1] < hi
    # Honest bookkeeping: every budget missing from a resample is counted once, as sparse or flagged.
    missing = (len(boot.budgets) - boot.n_budgets_used).sum()
    assert missing == boot.n_dropped_sparse.sum() + boot.n_dropped_flags.sum()


def test_bootstrap_drops_sparse_budgets_and_counts_them():
    n, c, y = parabola_runs(n_sizes=7)
    keep = np.ones(c.size, dtype=bool)
    first = np.flatnonzero(c == 6e18)
    keep[first[3:]] = False  # the 6e18 budget keeps only three runs at three sizes
    boot = bootstrap_approach2(n[keep], c[keep], y[keep], n_bootstrap=2000, seed=4)
    # P(three draws from three runs hit all three) = 3!/3^3 = 2/9, so the budget drops ~7/9 of the time.
    frac = boot.n_dropped_sparse[0] / 2000
    assert frac == pytest.approx(7 / 9, abs=0.04)
    # a 7-run budget resampled to <= 2 distinct sizes: (21 * 126 + 7) / 7^7 = 0.3% of resamples
    assert (boot.n_dropped_sparse[1:] < 0.01 * 2000).all()
    assert boot.n_failed == 0
    np.testing.assert_allclose(boot.a, 0.5, atol=1e-9)  # noiseless: every resample is exact


def test_bootstrap_bad_arguments():
    n, c, y = parabola_runs()
    with pytest.raises(ValueError, match=r"n_bootstrap = 0 must be at least 1"):
        bootstrap_approach2(n, c, y, n_bootstrap=0)
    with pytest.raises(ValueError, match=r"n_bootstrap = 2\.5 is not an integer"):
        bootstrap_approach2(n, c, y, n_bootstrap=2.5)
    boot = bootstrap_approach2(n, c, y, n_bootstrap=10, seed=0)
    with pytest.raises(ValueError, match=r"level = 1\.0 must be between 0 and 1"):
        boot.ci(1.0)
    with pytest.raises(ValueError, match=r"level = " + NUM(r"0\.0") + " is not positive"):
        boot.ci(0.0)


# --- budget helpers -------------------------------------------------------------------------------


def test_assign_budgets_groups_nearly_equal_values():
    flops = np.array([5.9e18, 6.0e18, 6.1e18, 1.0e19, 1.02e19, 3e19])
    out = assign_budgets(flops, rel_tol=0.05)
    assert np.unique(out).size == 3
    assert out[0] == out[1] == out[2] == pytest.approx(np.exp(np.log([5.9e18, 6e18, 6.1e18]).mean()))
    assert out[3] == out[4] and out[5] == 3e19
    assert np.unique(assign_budgets(flops, rel_tol=0.001)).size == 6
    with pytest.raises(ValueError, match=r"rel_tol = " + NUM(r"-0\.1") + " is not positive"):
        assign_budgets(flops, rel_tol=-0.1)


def test_snap_to_budgets_maps_digitised_values_to_nominal():
    flops = np.array([5.9e18, 6.0e18, 1.04e19, 2.9e19, 6.2e20, 9.7e20, 3.1e21])
    np.testing.assert_array_equal(
        snap_to_budgets(flops), [6e18, 6e18, 1e19, 3e19, 6e20, 1e21, 3e21]
    )
    np.testing.assert_array_equal(snap_to_budgets([1.1e20], budgets=[1e20, 1e21], tol_dex=0.1), [1e20])


def test_snap_to_budgets_refuses_points_far_from_every_budget():
    with pytest.raises(ValueError, match=r"flops\[1\] = 2e\+20 is 0\.176 dex from the nearest budget 3e\+20 \(tolerance 0\.05 dex\)"):
        snap_to_budgets([6e18, 2e20])
    with pytest.raises(ValueError, match=r"budgets\[0\] = " + NUM(r"-1\.0") + " is not positive"):
        snap_to_budgets([6e18], budgets=[-1.0])
    with pytest.raises(ValueError, match=r"tol_dex = " + NUM(r"0\.0") + " is not positive"):
        snap_to_budgets([6e18], tol_dex=0.0)


# --- local exponents ------------------------------------------------------------------------------


def test_local_exponent_of_power_law_and_quadratic():
    lx = np.log(np.logspace(0, 3, 13))
    np.testing.assert_allclose(local_exponent(lx, 0.7 * lx + 1.0), 0.7, rtol=1e-12)
    # central differences are exact for a quadratic on an even grid (interior points)
    x = np.linspace(0, 2, 11)
    np.testing.assert_allclose(local_exponent(x, 0.5 * x**2)[1:-1], x[1:-1], rtol=1e-12)
    uneven = np.array([0.0, 0.1, 0.4, 1.0, 1.1])
    np.testing.assert_allclose(local_exponent(uneven, 3 * uneven), 3.0, rtol=1e-12)


def test_local_exponent_bad_inputs():
    with pytest.raises(ValueError, match=r"log_x\[2\] = 1\.0 is not greater than log_x\[1\] = 1\.0"):
        local_exponent([0.0, 1.0, 1.0], [1, 2, 3])
    with pytest.raises(ValueError, match=r"length mismatch: log_x has 3 values but log_y has 2"):
        local_exponent([0.0, 1.0, 2.0], [1, 2])
    with pytest.raises(ValueError, match=r"log_x: needs at least 2 points, got 1"):
        local_exponent([0.0], [1.0])
    with pytest.raises(ValueError, match=r"log_y\[1\] = " + NUM("inf") + " is not finite"):
        local_exponent([0.0, 1.0], [1.0, np.inf])


def test_nearest_budget_returns_signed_offsets():
    from smallest_loss.fit.approach2 import nearest_budget

    nominal, offset = nearest_budget([5.9e18, 1.1e19, 2e20])
    np.testing.assert_allclose(nominal, [6e18, 1e19, 3e20])
    np.testing.assert_allclose(offset, np.log10([5.9e18 / 6e18, 1.1e19 / 1e19, 2e20 / 3e20]))
    with pytest.raises(ValueError, match=r"flops\[0\] = -1\.0 is not positive"):
        nearest_budget([-1.0])
